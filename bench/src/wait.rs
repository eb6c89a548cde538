//! Waiting for a condition with a deadline, never a blind sleep.

use crate::BenchResult;
use std::time::{Duration, Instant};

/// Checks `done` every `every` until it holds (`true`) or `deadline` passes (`false`).
pub fn poll_until(
    deadline: Duration,
    every: Duration,
    mut done: impl FnMut() -> BenchResult<bool>,
) -> BenchResult<bool> {
    let end = Instant::now() + deadline;
    loop {
        if done()? {
            return Ok(true);
        }
        if Instant::now() >= end {
            return Ok(false);
        }
        std::thread::sleep(every);
    }
}

/// Milliseconds since the Unix epoch, the clock the emulator stamps changes with.
pub fn epoch_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or_default()
}
