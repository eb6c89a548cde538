//! "A backlog that keeps growing": a few samples of a sync's backlog over time.
//!
//! The backlog is growing when, over the last [`WINDOW_S`] seconds, it never emptied and is
//! now larger than it was at the start of the window. Once raised, the condition holds until
//! the backlog is back at or below where the window started, or empty — a steady but large
//! backlog that drains is not an alarm, one that only grows is.

use std::collections::VecDeque;

/// How long the backlog must have been growing before anyone is told (10 minutes).
pub const WINDOW_S: f64 = 600.0;
/// Samples closer together than this are not kept (one a check is far more than needed).
const SPACING_S: f64 = 5.0;

/// Backlog sizes seen, oldest first: (seconds on any monotonic clock, backlog).
#[derive(Debug, Clone, Default)]
pub struct Trend {
    samples: VecDeque<(f64, u64)>,
}

impl Trend {
    /// Records the backlog seen at `now_s`; forgets samples older than the window needs.
    pub fn record(&mut self, now_s: f64, backlog: u64) {
        if backlog == 0 {
            // An empty backlog starts every window afresh.
            self.samples.clear();
        }
        if self
            .samples
            .back()
            .is_none_or(|(t, _)| now_s - t >= SPACING_S)
        {
            self.samples.push_back((now_s, backlog));
        }
        while self.samples.len() >= 2 && now_s - self.samples[1].0 >= WINDOW_S {
            self.samples.pop_front();
        }
    }

    /// Whether the backlog keeps growing now, given `backlog` now and whether the condition
    /// was already raised (which it then keeps until the backlog drains below the window's
    /// start).
    pub fn growing(&self, now_s: f64, backlog: u64, raised: bool) -> bool {
        let Some(&(start_t, start_backlog)) = self.samples.front() else {
            return false;
        };
        if backlog == 0 {
            return false;
        }
        if raised {
            return backlog > start_backlog || now_s - start_t < WINDOW_S;
        }
        now_s - start_t >= WINDOW_S && start_backlog > 0 && backlog > start_backlog
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(trend: &mut Trend, points: &[(f64, u64)]) {
        for (t, b) in points {
            trend.record(*t, *b);
        }
    }

    #[test]
    fn a_backlog_growing_for_a_whole_window_is_growing() {
        let mut trend = Trend::default();
        let points: Vec<(f64, u64)> = (0..=120).map(|i| (i as f64 * 5.0, 10 + i)).collect();
        feed(&mut trend, &points);
        assert!(trend.growing(600.0, 130, false));
        assert!(!trend.growing(600.0, 5, false), "below the window's start");
    }

    #[test]
    fn a_young_or_emptied_backlog_is_not() {
        let mut trend = Trend::default();
        feed(&mut trend, &[(0.0, 10), (300.0, 500)]);
        assert!(!trend.growing(300.0, 500, false), "only five minutes");
        feed(&mut trend, &[(400.0, 0), (700.0, 900)]);
        assert!(!trend.growing(700.0, 900, false), "it emptied at 400 s");
        assert!(!Trend::default().growing(1000.0, 10, false));
    }

    #[test]
    fn once_raised_it_holds_until_the_backlog_drains() {
        let mut trend = Trend::default();
        feed(&mut trend, &[(0.0, 100), (600.0, 400)]);
        assert!(trend.growing(600.0, 400, false));
        // Steady at 400: the window's start moves up to 400, so draining to it clears.
        feed(&mut trend, &[(1200.0, 400), (1300.0, 400)]);
        assert!(!trend.growing(1300.0, 400, true));
        assert!(!trend.growing(1300.0, 0, true));
    }
}
