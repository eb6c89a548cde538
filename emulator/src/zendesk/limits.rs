//! Per-minute request windows, as Zendesk counts them: a limit a minute, reset at the
//! top of each minute of the (movable) clock, reported by `x-rate-limit*` and
//! `ratelimit-*` headers, and `Retry-After` seconds to the reset when exhausted.

use parking_lot::Mutex;

/// One per-minute budget.
pub struct Window {
    state: Mutex<WindowState>,
}

struct WindowState {
    limit: u64,
    minute: i64,
    used: u64,
}

/// Where a window stands after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// The limit a minute.
    pub limit: u64,
    /// Requests left in this minute.
    pub remaining: u64,
    /// Seconds until the window resets (at least 1).
    pub reset: u64,
}

impl Window {
    /// A window allowing `limit` requests a minute.
    pub fn new(limit: u64) -> Window {
        Window {
            state: Mutex::new(WindowState {
                limit,
                minute: i64::MIN,
                used: 0,
            }),
        }
    }

    /// Counts one request at `now` (epoch seconds): `Ok` with the standing after it, or
    /// `Err` with the standing when the minute's budget is spent (nothing counted).
    pub fn take(&self, now: i64) -> Result<Standing, Standing> {
        let mut state = self.state.lock();
        state.roll(now);
        if state.used >= state.limit {
            return Err(state.standing(now));
        }
        state.used += 1;
        Ok(state.standing(now))
    }

    /// The standing at `now` without counting a request.
    pub fn peek(&self, now: i64) -> Standing {
        let mut state = self.state.lock();
        state.roll(now);
        state.standing(now)
    }

    /// Changes the limit and/or the requests used in this minute.
    pub fn set(&self, now: i64, limit: Option<u64>, used: Option<u64>) {
        let mut state = self.state.lock();
        state.roll(now);
        if let Some(limit) = limit {
            state.limit = limit;
        }
        if let Some(used) = used {
            state.used = used;
        }
    }
}

impl WindowState {
    fn roll(&mut self, now: i64) {
        let minute = now.div_euclid(60);
        if minute != self.minute {
            self.minute = minute;
            self.used = 0;
        }
    }

    fn standing(&self, now: i64) -> Standing {
        Standing {
            limit: self.limit,
            remaining: self.limit.saturating_sub(self.used),
            reset: (60 - now.rem_euclid(60)) as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_refuses_past_its_limit_and_resets_each_minute() {
        let window = Window::new(2);
        let t = 120 + 45;
        assert_eq!(window.take(t).unwrap().remaining, 1);
        assert_eq!(window.take(t).unwrap().remaining, 0);
        let refused = window.take(t + 1).unwrap_err();
        assert_eq!((refused.remaining, refused.reset), (0, 14));
        assert_eq!(window.take(180).unwrap().remaining, 1);
    }
}
