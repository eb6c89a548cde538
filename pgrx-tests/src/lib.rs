//! End-to-end test support: a private PostgreSQL 15 cluster with hubsync preloaded, the
//! Salesforce emulator in-process, and the brief's `accounts` sync between them.

mod accounts;
pub mod api;
mod cluster;
#[path = "../../core/tests/common/fixtures.rs"]
pub mod fixtures;
mod remote;

pub use accounts::{accounts_sync, accounts_sync_with, fixture_sync, AccountsSync, SYNC};
pub use cluster::{Cluster, DATABASE};
pub use remote::Remote;

use std::time::{Duration, Instant};

/// Polls `check` until it returns `Some`, failing with `what` after `timeout`.
/// Tests wait for conditions, never for fixed times.
pub fn wait_until<T>(timeout: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
