//! Rolling 24-hour allocations (Bulk jobs and batches, CDC event delivery): amounts
//! used with the emulator time they were used, forgotten a day later.

use crate::timefmt::DAY_MS;
use std::collections::VecDeque;

/// Usage over the last 24 hours of the emulator's clock.
#[derive(Debug, Default)]
pub struct Rolling(VecDeque<(i64, u64)>);

impl Rolling {
    /// Amount used in the 24 hours before `now`.
    pub fn used(&mut self, now: i64) -> u64 {
        while self.0.front().is_some_and(|(at, _)| *at <= now - DAY_MS) {
            self.0.pop_front();
        }
        self.0.iter().map(|(_, n)| n).sum()
    }

    /// Records `amount` used at `now`.
    pub fn add(&mut self, now: i64, amount: u64) {
        self.0.push_back((now, amount));
    }

    /// Forgets all usage.
    pub fn clear(&mut self) {
        self.0.clear();
    }
}
