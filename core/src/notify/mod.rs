//! Notifications: who is told what, when, and how it reaches Slack or an inbox.
//!
//! The worker measures each sync once a second; [`incidents`] turns what it saw into the
//! conditions that hold now (the `monitoring.alerting` thresholds, plus a sync that stopped,
//! records parked for review and a backlog that keeps growing). A condition that starts or
//! ends becomes a [`Notice`] for every channel the sync names, if it is at least as severe
//! as `notification.threshold` ([`selected`]). Notices wait in the catalog's notification
//! outbox; [`render`] words them for Slack and e-mail (several at once make one digest),
//! [`send`] delivers them from an HTTP thread and [`delivery`] decides, from the answer,
//! whether a message is sent, retried later or given up with its reason.
//!
//! Invariant: nothing here holds or prints a secret. Webhook URLs, bot tokens and SMTP
//! passwords live in [`destination::Destinations`] as [`Secret`](crate::config::Secret)s,
//! and errors that could quote them are scrubbed before they are kept.

pub mod delivery;
pub mod destination;
pub mod incidents;
pub mod pacing;
pub mod render;
pub mod send;
pub mod trend;

use crate::alerts::Condition;
use crate::config::Severity;
use serde::{Deserialize, Serialize};

/// Whether a notice of `severity` goes out under `threshold`: severities rank
/// `info` < `warning` < `error` < `critical`, and the threshold is the lowest that is told.
pub fn selected(severity: Severity, threshold: Severity) -> bool {
    severity >= threshold
}

/// The label stored and shown for a severity.
pub fn severity_label(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Error => "error",
        Severity::Critical => "critical",
    }
}

/// A condition started or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    Raised,
    Resolved,
}

/// One thing to tell a person about one sync; kept as JSON in the notification outbox
/// (no secret and no record value in it) and worded by [`render`] when it is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// The sync's name.
    pub sync: String,
    /// The sync's Salesforce connection, for the `set_credentials` advice.
    pub connection: String,
    /// The condition's `kind` (`hubsync.alerts.kind`).
    pub kind: String,
    pub severity: String,
    pub transition: Transition,
    /// What happened, in a sentence (the alert's message).
    pub message: String,
    /// When the condition started, as Postgres prints a timestamptz.
    pub since: String,
    /// When it ended, for a resolved notice.
    pub resolved_at: Option<String>,
    /// Records concerned (review items, backlog), when that is a count.
    pub records: Option<u64>,
    /// The sync's connection state when the condition was seen (`unauthorized`, ...).
    pub state: Option<String>,
}

impl Notice {
    /// The condition this notice is about (unknown kinds read as a stop, the most careful).
    pub fn condition(&self) -> Condition {
        Condition::from_kind(&self.kind).unwrap_or(Condition::Stopped)
    }

    /// One line: `[critical] accounts: sync stopped` or `[resolved] accounts: ...`.
    pub fn headline(&self) -> String {
        let tag = match self.transition {
            Transition::Raised => self.severity.as_str(),
            Transition::Resolved => "resolved",
        };
        format!("[{tag}] {}: {}", self.sync, self.condition().title())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_selects_its_severity_and_above() {
        let all = [
            Severity::Info,
            Severity::Warning,
            Severity::Error,
            Severity::Critical,
        ];
        let told: Vec<_> = all
            .iter()
            .filter(|s| selected(**s, Severity::Critical))
            .collect();
        assert_eq!(told, [&Severity::Critical]);
        let told = all
            .iter()
            .filter(|s| selected(**s, Severity::Warning))
            .count();
        assert_eq!(told, 3);
        assert!(all.iter().all(|s| selected(*s, Severity::Info)));
    }
}
