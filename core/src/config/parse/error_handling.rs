//! `error_handling`: retry schedule, who hears about failures, and where failed records go.
//!
//! The brief writes notifications two ways (`notification` with `channels`/`threshold`,
//! `notifications` with `email`/`slack`); both are read into one [`Notifications`].

use crate::config::model::{ErrorHandling, FallbackAction, Notifications, RetryStrategy, Severity};
use crate::config::scalars::PositiveNumber;
use crate::config::walker::{convert, keywords, reconcile, text_type, FromJson, Obj, Problems};
use crate::config::words::word_for;
use serde_json::Value;

const KEYS: &[&str] = &[
    "retry_strategy",
    "notification",
    "notifications",
    "fallback",
];
const RETRY_KEYS: &[&str] = &[
    "max_attempts",
    "backoff_factor",
    "initial_delay_seconds",
    "max_delay_seconds",
];
const NOTIFY_KEYS: &[&str] = &["channels", "threshold", "email", "slack", "connection"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Slack,
    Email,
    Webhook,
}

keywords!(Channel {
    "slack" => Channel::Slack,
    "email" => Channel::Email,
    "webhook" => Channel::Webhook,
});

text_type!(
    /// An e-mail address: something@domain.
    EmailAddress,
    "an e-mail address",
    |s| s.split_once('@').is_some_and(|(user, domain)| {
        !user.is_empty() && domain.contains('.') && !s.chars().any(char::is_whitespace)
    })
);

/// One address or a list of them.
struct EmailList(Vec<String>);

impl FromJson for EmailList {
    fn from_json(value: &Value, path: &str, problems: &mut Problems) -> Option<Self> {
        let list = match value {
            Value::String(_) => EmailAddress::from_json(value, path, problems).map(|a| vec![a]),
            _ => Vec::<EmailAddress>::from_json(value, path, problems),
        };
        list.map(|l| EmailList(l.into_iter().map(|a| a.0).collect()))
    }
}

/// A backoff factor: 1 keeps the delay constant, more makes it grow.
struct Factor(f64);

impl FromJson for Factor {
    fn from_json(value: &Value, path: &str, problems: &mut Problems) -> Option<Self> {
        convert(
            value,
            path,
            problems,
            "a number of at least 1 (1 keeps the delay constant)",
            |v| {
                v.as_f64()
                    .filter(|f| *f >= 1.0 && f.is_finite())
                    .map(Factor)
            },
        )
    }
}

/// `error_handling`, defaulted.
pub(super) fn read(root: &Obj, problems: &mut Problems) -> ErrorHandling {
    let defaults = ErrorHandling::default();
    let Some(obj) = root.object("error_handling", KEYS, problems) else {
        return defaults;
    };
    ErrorHandling {
        retry: retry(&obj, problems),
        notifications: notifications(&obj, problems),
        fallback: fallback(&obj, problems).unwrap_or(defaults.fallback),
    }
}

fn retry(obj: &Obj, problems: &mut Problems) -> RetryStrategy {
    let defaults = RetryStrategy::default();
    let Some(r) = obj.object("retry_strategy", RETRY_KEYS, problems) else {
        return defaults;
    };
    let seconds = |key: &str, default: f64, problems: &mut Problems| {
        r.get::<PositiveNumber>(key, problems)
            .map_or(default, |n| n.0)
    };
    let strategy = RetryStrategy {
        max_attempts: r.get_or("max_attempts", defaults.max_attempts, problems),
        backoff_factor: r
            .get::<Factor>("backoff_factor", problems)
            .map_or(defaults.backoff_factor, |f| f.0),
        initial_delay_seconds: seconds(
            "initial_delay_seconds",
            defaults.initial_delay_seconds,
            problems,
        ),
        max_delay_seconds: seconds("max_delay_seconds", defaults.max_delay_seconds, problems),
    };
    if strategy.max_delay_seconds < strategy.initial_delay_seconds {
        let key = if r.has("max_delay_seconds") {
            "max_delay_seconds"
        } else {
            "initial_delay_seconds"
        };
        problems.invalid(
            &r.at(key),
            format!(
                "max_delay_seconds ({}) is below initial_delay_seconds ({}); raise the maximum",
                strategy.max_delay_seconds, strategy.initial_delay_seconds
            ),
        );
    }
    strategy
}

/// `notification` and `notifications` merged: lists add up, single values must agree.
fn notifications(obj: &Obj, problems: &mut Problems) -> Notifications {
    let mut out = Notifications::default();
    let (mut threshold, mut slack, mut connection) = (None, None, None);
    for key in ["notification", "notifications"] {
        let Some(shape) = obj.object(key, NOTIFY_KEYS, problems) else {
            continue;
        };
        let t = shape.located::<Severity>("threshold", problems);
        threshold = reconcile(threshold, t, PartialEq::eq, problems);
        let s = shape.located::<String>("slack", problems);
        slack = reconcile(slack, s, PartialEq::eq, problems);
        let c = shape.located::<String>("connection", problems);
        connection = reconcile(connection, c, PartialEq::eq, problems);
        let channels = shape
            .get::<Vec<Channel>>("channels", problems)
            .unwrap_or_default();
        out.channels
            .extend(channels.into_iter().map(|c| word_for(c).to_string()));
        out.email.extend(
            shape
                .get::<EmailList>("email", problems)
                .map_or_else(Vec::new, |l| l.0),
        );
    }
    out.threshold = threshold.map_or(out.threshold, |t| t.value);
    out.slack = slack.map(|s| s.value);
    out.connection = connection.map(|c| c.value);
    let implied = [
        (!out.email.is_empty(), Channel::Email),
        (out.slack.is_some(), Channel::Slack),
    ];
    out.channels.extend(
        implied
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, c)| word_for(*c).to_string()),
    );
    dedup_in_order(&mut out.channels);
    dedup_in_order(&mut out.email);
    out
}

fn dedup_in_order(list: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    list.retain(|item| seen.insert(item.clone()));
}

fn fallback(obj: &Obj, problems: &mut Problems) -> Option<FallbackAction> {
    let f = obj.object("fallback", &["action"], problems)?;
    f.require("action", "queue_for_manual_review or discard", problems)
}
