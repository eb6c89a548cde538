//! The dashboard (`monitoring.dashboard_enabled`): a read-only web page and a Prometheus
//! `/metrics` endpoint served by the hubsync worker itself, off unless
//! `hubsync.dashboard_listen` is set.
//!
//! The split that keeps it from ever delaying a sync: the worker's main thread reads a
//! [`snapshot::Reading`] from SQL now and then (at most [`REFRESH_SHARE`] of its time,
//! [`refresh_interval`]) and publishes it on a [`snapshot::Board`]; the server's own
//! threads ([`server`]) answer every request from the board, never from Postgres.

pub mod access;
pub mod page;
pub mod prometheus;
pub mod server;
pub mod snapshot;

use std::time::Duration;

/// Shortest pause between two refreshes.
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);
/// Largest share of the main thread's time refreshes may take.
pub const REFRESH_SHARE: u32 = 20;

/// The pause before the next refresh after one that took `took`: [`REFRESH_EVERY`], or
/// `took × REFRESH_SHARE` when that is longer, so refreshing costs at most one part in
/// [`REFRESH_SHARE`] of the worker's time however large the catalog grows.
pub fn refresh_interval(took: Duration) -> Duration {
    took.saturating_mul(REFRESH_SHARE).max(REFRESH_EVERY)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Polls `done` until it holds; fails after a generous deadline.
    pub fn wait_for(mut done: impl FnMut() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !done() {
            assert!(std::time::Instant::now() < deadline, "condition never held");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn slow_refreshes_come_less_often() {
        assert_eq!(refresh_interval(Duration::from_millis(5)), REFRESH_EVERY);
        assert_eq!(
            refresh_interval(Duration::from_millis(500)),
            Duration::from_secs(10)
        );
        assert_eq!(refresh_interval(Duration::MAX), Duration::MAX);
    }
}
