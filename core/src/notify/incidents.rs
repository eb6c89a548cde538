//! Which conditions hold for a sync now: the `monitoring.alerting` thresholds
//! ([`crate::alerts::evaluate`]) and the ones every sync has, thresholds or not.
//!
//! | condition | holds while | severity |
//! |---|---|---|
//! | `stopped` | the connection state is `unauthorized`, `invalid` or `forbidden`, or `backing off` (API limit, 429) for at least [`LIMIT_HELD_S`] | critical |
//! | `review` | the review queue holds records of the sync | error |
//! | `backlog` | the backlog keeps growing ([`super::trend`]) | error |
//! | `latency`, `error_rate`, `consecutive_failures` | over their `monitoring.alerting` thresholds (none by default) | warning, error, critical |
//!
//! So the brief's blocks as written are told when a sync stops or nothing gets through
//! (`threshold: critical`), and with the default threshold (`error`) also about records
//! waiting for review and a backlog that keeps growing.

use crate::alerts::{evaluate, Condition, Firing, Observations};
use crate::config::Alerting;
use crate::connection_state::ConnectionState;

/// A rate limit must last this long to count as a stop (a 429 now and then is routine).
pub const LIMIT_HELD_S: f64 = 60.0;

/// What the worker saw of one sync, beyond the alerting observations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Situation {
    pub observed: Observations,
    /// `hubsync.status.connection_state`.
    pub connection_state: ConnectionState,
    /// How long the connection state has held (seconds).
    pub state_held_s: f64,
    /// `hubsync.status.problem`: why the sync cannot run, if it cannot.
    pub problem: Option<String>,
    /// Open review items.
    pub review: u64,
    /// Outbox rows waiting.
    pub backlog: u64,
    /// Whether the backlog keeps growing ([`super::trend::Trend::growing`]).
    pub backlog_growing: bool,
}

/// Whether a connection state stops the sync (until a person acts or the limit resets).
pub fn stops(state: ConnectionState, held_s: f64) -> bool {
    state.needs_a_person() || (state == ConnectionState::BackingOff && held_s >= LIMIT_HELD_S)
}

/// Every condition that holds now, with the words for it.
pub fn evaluate_all(alerting: &Alerting, seen: &Situation) -> Vec<Firing> {
    let mut firing = evaluate(alerting, &seen.observed);
    if stops(seen.connection_state, seen.state_held_s) {
        let why = seen.problem.as_deref().unwrap_or("no reason given");
        firing.push(Firing {
            condition: Condition::Stopped,
            message: format!("the sync is {}: {why}", seen.connection_state.label()),
        });
    }
    if seen.review > 0 {
        firing.push(Firing {
            condition: Condition::Review,
            message: format!(
                "{} record{} wait{} in the review queue",
                seen.review,
                plural(seen.review),
                if seen.review == 1 { "s" } else { "" }
            ),
        });
    }
    if seen.backlog_growing {
        firing.push(Firing {
            condition: Condition::Backlog,
            message: format!(
                "{} changes wait to be pushed and the backlog has kept growing for {} minutes",
                seen.backlog,
                (super::trend::WINDOW_S / 60.0) as u64
            ),
        });
    }
    firing
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> Alerting {
        Alerting {
            latency_threshold_ms: None,
            error_rate_threshold: None,
            consecutive_failures_threshold: None,
        }
    }

    fn kinds(f: &[Firing]) -> Vec<&'static str> {
        f.iter().map(|f| f.condition.kind()).collect()
    }

    #[test]
    fn a_healthy_sync_raises_nothing_without_thresholds() {
        let seen = Situation {
            connection_state: ConnectionState::Ok,
            backlog: 40,
            ..Situation::default()
        };
        assert!(evaluate_all(&none(), &seen).is_empty());
    }

    #[test]
    fn refused_credentials_stop_at_once_a_rate_limit_after_a_minute() {
        let mut seen = Situation {
            connection_state: ConnectionState::Unauthorized,
            problem: Some("INVALID_LOGIN: authentication failure".into()),
            ..Situation::default()
        };
        let fired = evaluate_all(&none(), &seen);
        assert_eq!(kinds(&fired), ["stopped"]);
        assert!(fired[0].message.contains("unauthorized: INVALID_LOGIN"));
        seen.connection_state = ConnectionState::BackingOff;
        seen.state_held_s = 5.0;
        assert!(evaluate_all(&none(), &seen).is_empty());
        seen.state_held_s = LIMIT_HELD_S;
        assert_eq!(kinds(&evaluate_all(&none(), &seen)), ["stopped"]);
        assert!(
            !stops(ConnectionState::Unreachable, 1e6),
            "hubsync retries by itself"
        );
    }

    #[test]
    fn parked_records_and_a_growing_backlog_count_what_waits() {
        let seen = Situation {
            connection_state: ConnectionState::Ok,
            review: 1,
            backlog: 1200,
            backlog_growing: true,
            ..Situation::default()
        };
        let fired = evaluate_all(&none(), &seen);
        assert_eq!(kinds(&fired), ["review", "backlog"]);
        assert_eq!(fired[0].message, "1 record waits in the review queue");
        assert!(fired[1].message.starts_with("1200 changes wait"));
    }
}
