//! How a sync learns of remote changes: by streaming them (Change Data Capture) or by
//! polling, and why. One typed state with the label `hubsync.status.pull_mode` shows.

use crate::config::OngoingMode;
use crate::connector::StreamEnd;
use crate::timestamp::Timestamp;
use std::time::Duration;

/// Where a sync's pulls come from right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullMode {
    /// The sync does not pull.
    Off,
    /// Polling, because the config asks for it (`mode: polling`) or the system offers no
    /// stream.
    Polling,
    /// A stream is wanted and being opened; polling goes on meanwhile.
    Starting,
    /// Changes arrive as events; a slow safety poll runs beside.
    Streaming,
    /// Polling after the stream ended, until `retry_at`.
    Fallback { reason: String, retry_at: Timestamp },
}

impl PullMode {
    /// The mode as `hubsync.status.pull_mode` shows it, e.g. `polling (gap event;
    /// streaming again at 2026-01-01T12:00:00.000Z)`.
    pub fn label(&self) -> String {
        match self {
            PullMode::Off => "off".into(),
            PullMode::Polling => "polling".into(),
            PullMode::Starting => "polling (stream starting)".into(),
            PullMode::Streaming => "streaming".into(),
            PullMode::Fallback { reason, retry_at } => {
                format!("polling ({reason}; streaming again at {retry_at})")
            }
        }
    }

    /// The mode after a stream ended for `end` at `now`.
    pub fn after(end: &StreamEnd, now: Timestamp) -> PullMode {
        let wait = end.retry_after().as_millis() as i64;
        PullMode::Fallback {
            reason: end.reason().to_string(),
            retry_at: Timestamp::from_millis(now.millis().saturating_add(wait)),
        }
    }

    /// Whether a poll is the only way changes arrive (so polls run at the polling interval,
    /// not the safety interval).
    pub fn polls(&self) -> bool {
        !matches!(self, PullMode::Streaming)
    }
}

/// Whether a sync should stream: it pulls, its config asks for real time and its system
/// can stream.
pub fn wants_stream(mode: OngoingMode, pulls: bool, system_streams: bool) -> bool {
    pulls && mode == OngoingMode::RealTime && system_streams
}

/// Time between incremental polls: the polling interval while polling, the safety
/// interval while streaming (a poll that catches whatever a stream could have missed).
pub fn poll_interval(mode: &PullMode, polling_seconds: f64, safety_seconds: f64) -> Duration {
    let seconds = if mode.polls() {
        polling_seconds
    } else {
        safety_seconds
    };
    Duration::from_secs_f64(seconds.max(0.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_say_which_and_why() {
        assert_eq!(PullMode::Streaming.label(), "streaming");
        assert_eq!(PullMode::Polling.label(), "polling");
        let fallback = PullMode::after(&StreamEnd::Gap, Timestamp::from_millis(0));
        assert_eq!(
            fallback.label(),
            "polling (gap event; streaming again at 1970-01-01T00:01:00.000Z)"
        );
        assert!(fallback.polls());
        assert!(!PullMode::Streaming.polls());
    }

    #[test]
    fn only_real_time_pulls_from_a_streaming_system_stream() {
        assert!(wants_stream(OngoingMode::RealTime, true, true));
        assert!(!wants_stream(OngoingMode::Polling, true, true));
        assert!(!wants_stream(OngoingMode::RealTime, false, true));
        assert!(!wants_stream(OngoingMode::RealTime, true, false));
    }

    #[test]
    fn polls_run_at_the_safety_interval_only_while_streaming() {
        let secs = |mode: &PullMode| poll_interval(mode, 30.0, 300.0).as_secs();
        assert_eq!(secs(&PullMode::Streaming), 300);
        assert_eq!(secs(&PullMode::Starting), 30);
        assert_eq!(secs(&PullMode::Polling), 30);
    }
}
