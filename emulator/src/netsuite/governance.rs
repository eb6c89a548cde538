//! The account's concurrency governance: NetSuite limits requests *in flight*, not a
//! rate. A request over the limit gets 429 at once (no queue, no `Retry-After`). A gate
//! the admin API can close holds admitted requests in flight, so tests reach the limit
//! by a condition instead of by timing.

use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::watch;

/// In-flight requests against the limit, and the test gate.
pub struct Governor {
    limit: AtomicUsize,
    in_flight: AtomicUsize,
    open: watch::Sender<bool>,
}

/// One admitted request; dropping it frees the slot.
pub struct Slot<'a>(&'a Governor);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Governor {
    /// A limit of `limit` concurrent requests, gate open.
    pub fn new(limit: usize) -> Governor {
        Governor {
            limit: AtomicUsize::new(limit),
            in_flight: AtomicUsize::new(0),
            open: watch::Sender::new(true),
        }
    }

    /// A slot, or `None` when `limit` requests are already in flight.
    pub fn acquire(&self) -> Option<Slot<'_>> {
        let limit = self.limit.load(Ordering::SeqCst);
        self.in_flight
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < limit).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(self))
    }

    /// Waits while the gate is closed.
    pub async fn wait_open(&self) {
        let mut open = self.open.subscribe();
        let _ = open.wait_for(|open| *open).await;
    }

    /// Opens or closes the gate.
    pub fn set_open(&self, open: bool) {
        self.open.send_replace(open);
    }

    /// Changes the limit.
    pub fn set_limit(&self, limit: usize) {
        self.limit.store(limit, Ordering::SeqCst);
    }

    /// (limit, in flight, gate open).
    pub fn state(&self) -> (usize, usize, bool) {
        (
            self.limit.load(Ordering::SeqCst),
            self.in_flight.load(Ordering::SeqCst),
            *self.open.borrow(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_the_limit_and_frees_slots() {
        let g = Governor::new(2);
        let a = g.acquire().unwrap();
        let b = g.acquire().unwrap();
        assert!(g.acquire().is_none());
        drop(a);
        assert!(g.acquire().is_some());
        drop(b);
        assert_eq!(g.state().1, 0);
        g.set_limit(0);
        assert!(g.acquire().is_none());
    }
}
