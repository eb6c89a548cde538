//! Where notifications go: the secret object stored with `hubsync.set_credentials` under a
//! notification connection (by default `notifications`, or the one named by
//! `error_handling.notification(s).connection`).
//!
//! ```json
//! {"slack": {"webhook_url": "https://hooks.slack.com/services/T0/B0/XXXX"},
//!  "email": {"host": "smtp.acme.example", "port": 587, "tls": "starttls",
//!            "username": "alerts", "password": "...", "from": "hubsync <alerts@acme.example>"}}
//! ```
//!
//! Slack takes an incoming-webhook URL (the channel is the webhook's) or a bot token with
//! `chat.postMessage` to the sync's `notifications.slack` channel (or `channel` here);
//! `api_url` points it elsewhere than `https://slack.com/api`. E-mail goes over SMTP:
//! `tls` is `starttls` (default, port 587), `implicit` (port 465) or `none` (local relays
//! only); AUTH only with `username` and `password`; recipients are the sync's
//! `notifications.email`, else `to` here. Webhook URLs, tokens and passwords are
//! [`Secret`]s: they print as `***`.

use crate::config::Secret;
use crate::problem::Problem;
use serde_json::{Map, Value};

/// The connection name notifications use when the config names none.
pub const DEFAULT_CONNECTION: &str = "notifications";
/// Slack's Web API base, for `chat.postMessage`.
pub const SLACK_API: &str = "https://slack.com/api";

/// How a message reaches Slack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlackRoute {
    /// An incoming webhook: the URL is the secret, the channel fixed when it was installed.
    Webhook(Secret),
    /// `chat.postMessage` with a bot token, to a channel name or id.
    Bot { token: Secret, api_url: String },
}

/// A Slack destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slack {
    pub route: SlackRoute,
    /// Channel for `chat.postMessage` when the sync's config names none.
    pub channel: Option<String>,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// Plain connection upgraded with `STARTTLS` (required; port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No TLS at all: only for a relay on the same host or a test sink.
    None,
}

/// An SMTP server and who the mail is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// `From:` mailbox, e.g. `hubsync <alerts@acme.example>`.
    pub from: String,
    /// Recipients when the sync's config names none.
    pub to: Vec<String>,
}

/// Every destination a notification connection holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Destinations {
    pub slack: Option<Slack>,
    pub email: Option<Email>,
}

/// Whether a secret object describes notification destinations (rather than a remote
/// system's credentials): it has a `slack` key, or an `email` key without the
/// `api_token` that makes it Zendesk credentials (`{"email": …, "api_token": …}`).
pub fn is_destination_secret(value: &Value) -> bool {
    value.as_object().is_some_and(|o| {
        o.contains_key("slack") || (o.contains_key("email") && !o.contains_key("api_token"))
    })
}

/// Reads a notification connection's secret; every problem names its path and never
/// repeats a secret value.
pub fn parse(value: &Value) -> Result<Destinations, Vec<Problem>> {
    let mut problems = Vec::new();
    let Some(root) = value.as_object() else {
        return Err(vec![Problem::invalid(
            "",
            "expected an object with \"slack\" and/or \"email\"",
        )]);
    };
    unknown_keys(root, "", &["slack", "email"], &mut problems);
    let slack = root
        .get("slack")
        .and_then(|v| object(v, "slack", &mut problems))
        .and_then(|o| slack(o, &mut problems));
    let email = root
        .get("email")
        .and_then(|v| object(v, "email", &mut problems))
        .and_then(|o| email(o, &mut problems));
    if problems.is_empty() {
        Ok(Destinations { slack, email })
    } else {
        Err(problems)
    }
}

fn slack(o: &Map<String, Value>, problems: &mut Vec<Problem>) -> Option<Slack> {
    unknown_keys(
        o,
        "slack.",
        &["webhook_url", "bot_token", "channel", "api_url"],
        problems,
    );
    let webhook = text(o, "slack.", "webhook_url", problems);
    let token = text(o, "slack.", "bot_token", problems);
    let channel = text(o, "slack.", "channel", problems);
    let api_url = text(o, "slack.", "api_url", problems);
    if let Some(url) = &webhook {
        if !url.starts_with("https://") && !url.starts_with("http://") {
            problems.push(Problem::invalid(
                "slack.webhook_url",
                "expected the webhook's URL (https://hooks.slack.com/services/...)",
            ));
        }
    }
    let route = match (webhook, token) {
        (Some(url), None) => SlackRoute::Webhook(Secret::new(url)),
        (None, Some(token)) => SlackRoute::Bot {
            token: Secret::new(token),
            api_url: api_url
                .unwrap_or_else(|| SLACK_API.to_string())
                .trim_end_matches('/')
                .to_string(),
        },
        (Some(_), Some(_)) => {
            problems.push(Problem::invalid(
                "slack",
                "give either webhook_url or bot_token, not both",
            ));
            return None;
        }
        (None, None) => {
            problems.push(Problem::invalid(
                "slack",
                "give webhook_url (an incoming webhook) or bot_token (chat.postMessage)",
            ));
            return None;
        }
    };
    Some(Slack { route, channel })
}

fn email(o: &Map<String, Value>, problems: &mut Vec<Problem>) -> Option<Email> {
    unknown_keys(
        o,
        "email.",
        &["host", "port", "tls", "username", "password", "from", "to"],
        problems,
    );
    let tls = match text(o, "email.", "tls", problems).as_deref() {
        None | Some("starttls") => Tls::StartTls,
        Some("implicit") => Tls::Implicit,
        Some("none") => Tls::None,
        Some(_) => {
            problems.push(Problem::invalid(
                "email.tls",
                "expected starttls, implicit or none",
            ));
            Tls::StartTls
        }
    };
    let port = match o.get("port") {
        None => match tls {
            Tls::Implicit => 465,
            _ => 587,
        },
        Some(v) => match v.as_u64().and_then(|p| u16::try_from(p).ok()) {
            Some(p) if p > 0 => p,
            _ => {
                problems.push(Problem::invalid(
                    "email.port",
                    "expected a port number (587 for STARTTLS, 465 for implicit TLS)",
                ));
                0
            }
        },
    };
    let host = text(o, "email.", "host", problems);
    let from = text(o, "email.", "from", problems);
    let username = text(o, "email.", "username", problems);
    let password = text(o, "email.", "password", problems).map(Secret::new);
    if username.is_some() != password.is_some() {
        problems.push(Problem::invalid(
            "email",
            "give both username and password for SMTP AUTH, or neither",
        ));
    }
    if let Some(f) = &from {
        if f.parse::<lettre::message::Mailbox>().is_err() {
            problems.push(Problem::invalid(
                "email.from",
                "expected a mailbox such as \"hubsync <alerts@acme.example>\"",
            ));
        }
    }
    let to = match o.get("to") {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(_) => {
            problems.push(Problem::invalid(
                "email.to",
                "expected an address or a list of addresses",
            ));
            Vec::new()
        }
    };
    for (i, address) in to.iter().enumerate() {
        if address.parse::<lettre::message::Mailbox>().is_err() {
            problems.push(Problem::invalid(
                format!("email.to[{i}]"),
                "expected an e-mail address",
            ));
        }
    }
    let (Some(host), Some(from)) = (host, from) else {
        problems.push(Problem::invalid(
            "email",
            "give the SMTP server's host and the from address",
        ));
        return None;
    };
    Some(Email {
        host,
        port,
        tls,
        username,
        password,
        from,
        to,
    })
}

fn object<'a>(
    v: &'a Value,
    path: &str,
    problems: &mut Vec<Problem>,
) -> Option<&'a Map<String, Value>> {
    let o = v.as_object();
    if o.is_none() {
        problems.push(Problem::invalid(path, "expected an object"));
    }
    o
}

/// A non-empty string at `key`; a problem (naming the key, never the value) otherwise.
fn text(
    o: &Map<String, Value>,
    prefix: &str,
    key: &str,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    match o.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(_) => {
            problems.push(Problem::invalid(
                format!("{prefix}{key}"),
                "expected a non-empty string",
            ));
            None
        }
    }
}

fn unknown_keys(o: &Map<String, Value>, prefix: &str, known: &[&str], problems: &mut Vec<Problem>) {
    for key in o.keys().filter(|k| !known.contains(&k.as_str())) {
        problems.push(Problem::invalid(
            format!("{prefix}{key}"),
            format!("unknown key; expected one of: {}", known.join(", ")),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_webhook_and_a_starttls_relay() {
        let d = parse(&json!({
            "slack": {"webhook_url": "https://hooks.slack.com/services/T/B/X"},
            "email": {"host": "smtp.acme.example", "username": "u", "password": "p",
                      "from": "hubsync <alerts@acme.example>"}}))
        .unwrap();
        let slack = d.slack.unwrap();
        assert!(matches!(slack.route, SlackRoute::Webhook(_)));
        assert!(!format!("{slack:?}").contains("hooks.slack.com"));
        let email = d.email.unwrap();
        assert_eq!((email.port, email.tls), (587, Tls::StartTls));
        assert!(!format!("{email:?}").contains("\"p\""));
    }

    #[test]
    fn a_bot_token_defaults_to_slacks_api_and_implicit_tls_to_465() {
        let d = parse(&json!({
            "slack": {"bot_token": "xoxb-1", "api_url": "http://127.0.0.1:9/api/"},
            "email": {"host": "h", "tls": "implicit", "from": "a@b.example", "to": "c@d.example"}}))
        .unwrap();
        assert_eq!(
            d.slack.unwrap().route,
            SlackRoute::Bot {
                token: Secret::new("xoxb-1"),
                api_url: "http://127.0.0.1:9/api".into()
            }
        );
        let email = d.email.unwrap();
        assert_eq!(
            (email.port, email.tls, email.to.len()),
            (465, Tls::Implicit, 1)
        );
    }

    #[test]
    fn mistakes_name_their_path_and_never_the_secret() {
        let problems = parse(&json!({
            "slack": {"webhook_url": "xoxb-not-a-url", "bot_token": "xoxb-secret"},
            "email": {"host": "h", "from": "nobody", "password": "hunter2", "tls": "ssl"},
            "sms": {}}))
        .unwrap_err();
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        let all = text.join("\n");
        for path in [
            "sms",
            "slack.webhook_url",
            "email.tls",
            "email.from",
            "email:",
        ] {
            assert!(all.contains(path), "{path} in {all}");
        }
        assert!(
            !all.contains("hunter2") && !all.contains("xoxb-secret"),
            "{all}"
        );
    }

    #[test]
    fn destination_secrets_are_told_from_oauth_ones() {
        assert!(is_destination_secret(&json!({"slack": {}})));
        assert!(!is_destination_secret(&json!({"client_id": "x"})));
        assert!(is_destination_secret(&json!({"email": {"host": "h"}})));
        assert!(!is_destination_secret(
            &json!({"email": "agent@acme.example", "api_token": "t"})
        ));
    }
}
