//! Alerts from `monitoring.alerting`: which thresholds a sync is over right now.
//!
//! The worker measures (latency, error rate, consecutive failures) and asks [`evaluate`];
//! an alert is raised when a condition starts and resolved when it ends, so a person is
//! told once per incident, not once per record.

use crate::config::{Alerting, Severity};

/// What the worker measured for one sync.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Observations {
    /// Highest commit-to-acknowledged latency in the current minute (ms).
    pub max_latency_ms: f64,
    /// Records that failed in the recent window.
    pub errors: u64,
    /// Records attempted (succeeded or failed) in the recent window.
    pub attempts: u64,
    /// Requests or records that failed in a row since the last success.
    pub consecutive_failures: u32,
}

/// A condition an alert can be about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Condition {
    Latency,
    ErrorRate,
    ConsecutiveFailures,
    /// The sync cannot run: credentials refused, config invalid, owner lost a right, or
    /// the org's API limit reached (see [`crate::notify::incidents`]).
    Stopped,
    /// Records wait in the review queue for a person.
    Review,
    /// The backlog keeps growing: changes arrive faster than they leave, or none leave.
    Backlog,
}

impl Condition {
    /// The name stored in `hubsync.alerts.kind`.
    pub fn kind(self) -> &'static str {
        match self {
            Condition::Latency => "latency",
            Condition::ErrorRate => "error_rate",
            Condition::ConsecutiveFailures => "consecutive_failures",
            Condition::Stopped => "stopped",
            Condition::Review => "review",
            Condition::Backlog => "backlog",
        }
    }

    /// How serious it is, compared with `notification.threshold`: slow is a warning,
    /// failing or waiting records an error, nothing getting through (or a sync that
    /// stopped) is critical.
    pub fn severity(self) -> Severity {
        match self {
            Condition::Latency => Severity::Warning,
            Condition::ErrorRate | Condition::Review | Condition::Backlog => Severity::Error,
            Condition::ConsecutiveFailures | Condition::Stopped => Severity::Critical,
        }
    }

    /// The condition stored under `kind` in `hubsync.alert`.
    pub fn from_kind(kind: &str) -> Option<Condition> {
        [
            Condition::Latency,
            Condition::ErrorRate,
            Condition::ConsecutiveFailures,
            Condition::Stopped,
            Condition::Review,
            Condition::Backlog,
        ]
        .into_iter()
        .find(|c| c.kind() == kind)
    }

    /// A few words for a person: the title of a notification.
    pub fn title(self) -> &'static str {
        match self {
            Condition::Latency => "sync latency above its threshold",
            Condition::ErrorRate => "error rate above its threshold",
            Condition::ConsecutiveFailures => "nothing gets through",
            Condition::Stopped => "sync stopped",
            Condition::Review => "records wait in the review queue",
            Condition::Backlog => "backlog keeps growing",
        }
    }
}

/// A condition that holds now, with the words for the alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub condition: Condition,
    pub message: String,
}

/// The conditions over their thresholds; every other condition is resolved.
pub fn evaluate(alerting: &Alerting, seen: &Observations) -> Vec<Firing> {
    let mut firing = Vec::new();
    if let Some(limit) = alerting.latency_threshold_ms {
        if seen.max_latency_ms > limit as f64 {
            firing.push(Firing {
                condition: Condition::Latency,
                message: format!(
                    "sync latency reached {:.0} ms, above the {limit} ms threshold",
                    seen.max_latency_ms
                ),
            });
        }
    }
    if let Some(limit) = alerting.error_rate_threshold {
        if seen.attempts > 0 {
            let rate = seen.errors as f64 / seen.attempts as f64;
            if rate > limit {
                firing.push(Firing {
                    condition: Condition::ErrorRate,
                    message: format!(
                        "{} of {} records failed ({:.1}%), above the {:.1}% threshold",
                        seen.errors,
                        seen.attempts,
                        rate * 100.0,
                        limit * 100.0
                    ),
                });
            }
        }
    }
    if let Some(limit) = alerting.consecutive_failures_threshold {
        if seen.consecutive_failures >= limit && limit > 0 {
            firing.push(Firing {
                condition: Condition::ConsecutiveFailures,
                message: format!(
                    "{} failures in a row (threshold {limit}); nothing is getting through",
                    seen.consecutive_failures
                ),
            });
        }
    }
    firing
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brief() -> Alerting {
        Alerting {
            latency_threshold_ms: Some(5000),
            error_rate_threshold: Some(0.01),
            consecutive_failures_threshold: Some(3),
        }
    }

    #[test]
    fn quiet_when_under_every_threshold() {
        let seen = Observations {
            max_latency_ms: 120.0,
            errors: 0,
            attempts: 500,
            consecutive_failures: 0,
        };
        assert!(evaluate(&brief(), &seen).is_empty());
    }

    #[test]
    fn each_threshold_fires_on_its_own() {
        let slow = Observations {
            max_latency_ms: 7000.0,
            ..Observations::default()
        };
        assert_eq!(evaluate(&brief(), &slow)[0].condition, Condition::Latency);
        let failing = Observations {
            errors: 2,
            attempts: 100,
            ..Observations::default()
        };
        let fired = evaluate(&brief(), &failing);
        assert_eq!(fired[0].condition, Condition::ErrorRate);
        assert!(fired[0].message.contains("2 of 100"));
        let stuck = Observations {
            consecutive_failures: 3,
            ..Observations::default()
        };
        assert_eq!(
            evaluate(&brief(), &stuck)[0].condition,
            Condition::ConsecutiveFailures
        );
    }

    #[test]
    fn a_rate_at_the_threshold_or_without_traffic_does_not_fire() {
        let at = Observations {
            errors: 1,
            attempts: 100,
            ..Observations::default()
        };
        assert!(evaluate(&brief(), &at).is_empty());
        let idle = Observations::default();
        assert!(evaluate(&brief(), &idle).is_empty());
    }

    #[test]
    fn unset_thresholds_never_fire() {
        let none = Alerting {
            latency_threshold_ms: None,
            error_rate_threshold: None,
            consecutive_failures_threshold: None,
        };
        let bad = Observations {
            max_latency_ms: 1e9,
            errors: 10,
            attempts: 10,
            consecutive_failures: 100,
        };
        assert!(evaluate(&none, &bad).is_empty());
    }

    #[test]
    fn severities_rank_as_notification_thresholds_expect() {
        assert!(Condition::ConsecutiveFailures.severity() > Condition::ErrorRate.severity());
        assert!(Condition::ErrorRate.severity() > Condition::Latency.severity());
    }
}
