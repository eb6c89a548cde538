//! Streaming changes: a system that pushes change events (Salesforce Change Data Capture)
//! instead of being polled, in terms that name no system.
//!
//! A subscriber runs on its own thread and blocks; it hands what it hears to a sink the
//! engine supplies. Every event carries a position (Salesforce's replay id) that only grows;
//! the engine stores the position of the last event it *applied*, in the transaction that
//! applied it, and resubscribes from there, so a crash repeats events and loses none.
//! Events name records, not values: the engine reads the records' current values (one call
//! per batch of ids) and applies them through the same path as polled pages.

use crate::timestamp::Timestamp;
use std::time::Duration;

/// What happened to the records of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Create,
    Update,
    Delete,
    Undelete,
    /// The system could not describe the change (Salesforce `GAP_*` events): whatever
    /// happened must be read by polling.
    Gap,
}

/// One change event.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEvent {
    /// Where the stream stands after this event (resubscribe from here).
    pub position: i64,
    pub kind: EventKind,
    /// The records it changed (several when one transaction changed many).
    pub record_ids: Vec<String>,
    /// The change was made by hubsync itself (its client name in the event's origin): its
    /// values are already on both sides, so it needs no read.
    pub own: bool,
    /// When the system committed it.
    pub committed: Option<Timestamp>,
}

/// What a subscriber tells the engine while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamMessage {
    /// Subscribed. `from_now` says it started at the stream's tip rather than at a stored
    /// position, so changes made before it must be read once by polling.
    Listening { from_now: bool },
    /// Events in position order (possibly none: the subscriber is alive and asks whether
    /// to go on).
    Events(Vec<StreamEvent>),
}

/// Why a subscriber stopped. Every reason but [`StreamEnd::Stopped`] means "poll instead
/// for a while".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEnd {
    /// The engine asked it to stop.
    Stopped,
    /// The system offers no stream for this object or account.
    NotOffered,
    /// A gap event: changes happened that no event describes.
    Gap,
    /// The stored position is no longer (or never was) retained by the system.
    PositionExpired,
    /// The account's event allowance is used up.
    AllowanceExhausted,
    /// The object does not publish change events (not enabled for it).
    ObjectDisabled,
    /// The stream kept failing; the message says how.
    Failing(String),
}

impl StreamEnd {
    /// A short reason, shown in `hubsync.status.pull_mode`.
    pub fn reason(&self) -> &str {
        match self {
            StreamEnd::Stopped => "stream stopped",
            StreamEnd::NotOffered => "no stream for this object",
            StreamEnd::Gap => "gap event",
            StreamEnd::PositionExpired => "replay id expired",
            StreamEnd::AllowanceExhausted => "daily event allocation exhausted",
            StreamEnd::ObjectDisabled => "change events not enabled for the object",
            StreamEnd::Failing(_) => "stream failing",
        }
    }

    /// How long to poll before streaming is tried again: long where only the system's
    /// side can change (an allowance renews over a day, enablement is an admin's act),
    /// short where a new subscription fixes it.
    pub fn retry_after(&self) -> Duration {
        const MINUTE: u64 = 60;
        Duration::from_secs(match self {
            StreamEnd::Stopped => 0,
            StreamEnd::Gap | StreamEnd::PositionExpired | StreamEnd::Failing(_) => MINUTE,
            StreamEnd::ObjectDisabled | StreamEnd::NotOffered => 10 * MINUTE,
            StreamEnd::AllowanceExhausted => 60 * MINUTE,
        })
    }

    /// Whether the stored position must be forgotten (the next subscription starts at the
    /// tip, and a poll covers the time between). A gap keeps it: the gap event itself is
    /// delivered and applied (as nothing to read), so the position moves past it.
    pub fn forgets_position(&self) -> bool {
        matches!(self, StreamEnd::PositionExpired)
    }
}

/// What one batch of events asks of the engine.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventBatch {
    /// Records to read now (created, updated or undeleted by someone else).
    pub read: Vec<String>,
    /// Records deleted (by anyone, hubsync included: deleting twice is a no-op).
    pub deleted: Vec<String>,
    /// The position to store once the batch is applied.
    pub position: Option<i64>,
    /// The newest commit time in the batch.
    pub newest: Option<Timestamp>,
}

/// Takes events from the front of `pending` until `max_ids` distinct records are named,
/// and says what to do with them: hubsync's own changes are skipped without a read; a
/// record's last event decides whether it is read or deleted.
pub fn next_batch(pending: &mut Vec<StreamEvent>, max_ids: usize) -> EventBatch {
    let mut batch = EventBatch::default();
    let mut last: Vec<(String, EventKind)> = Vec::new();
    let mut taken = 0;
    for event in pending.iter() {
        let fresh = event
            .record_ids
            .iter()
            .filter(|id| !last.iter().any(|(seen, _)| seen == *id))
            .count();
        if taken > 0 && last.len() + fresh > max_ids.max(1) {
            break;
        }
        taken += 1;
        batch.position = batch.position.max(Some(event.position));
        batch.newest = batch.newest.max(event.committed);
        if event.own && event.kind != EventKind::Delete {
            continue;
        }
        for id in &event.record_ids {
            match last.iter_mut().find(|(seen, _)| seen == id) {
                Some(slot) => slot.1 = event.kind,
                None => last.push((id.clone(), event.kind)),
            }
        }
    }
    pending.drain(..taken);
    for (id, kind) in last {
        match kind {
            EventKind::Delete => batch.deleted.push(id),
            EventKind::Gap => {}
            _ => batch.read.push(id),
        }
    }
    batch
}

/// Waits before the `failures`-th consecutive retry of a failing stream: 1 s doubling
/// to at most 30 s.
pub fn reconnect_delay(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(5)).min(Duration::from_secs(30))
}

/// Consecutive failures after which a stream gives up and the engine polls instead.
pub const MAX_FAILURES: u32 = 5;

#[cfg(test)]
mod tests {
    use super::*;

    fn event(position: i64, kind: EventKind, ids: &[&str], own: bool) -> StreamEvent {
        StreamEvent {
            position,
            kind,
            record_ids: ids.iter().map(|s| s.to_string()).collect(),
            own,
            committed: Some(Timestamp::from_millis(position * 1000)),
        }
    }

    #[test]
    fn own_changes_are_skipped_but_move_the_position() {
        let mut pending = vec![
            event(1, EventKind::Update, &["a"], true),
            event(2, EventKind::Create, &["b"], false),
            event(3, EventKind::Update, &["c"], true),
        ];
        let batch = next_batch(&mut pending, 100);
        assert_eq!(batch.read, vec!["b".to_string()]);
        assert!(batch.deleted.is_empty());
        assert_eq!(batch.position, Some(3));
        assert_eq!(batch.newest, Some(Timestamp::from_millis(3000)));
        assert!(pending.is_empty());
    }

    #[test]
    fn a_records_last_event_decides_between_read_and_delete() {
        let mut pending = vec![
            event(1, EventKind::Create, &["a", "b"], false),
            event(2, EventKind::Delete, &["a"], false),
            event(3, EventKind::Delete, &["c"], false),
            event(4, EventKind::Undelete, &["c"], false),
            event(5, EventKind::Delete, &["d"], true),
        ];
        let batch = next_batch(&mut pending, 100);
        assert_eq!(batch.read, vec!["b".to_string(), "c".to_string()]);
        assert_eq!(batch.deleted, vec!["a".to_string(), "d".to_string()]);
        assert_eq!(batch.position, Some(5));
    }

    #[test]
    fn a_batch_stops_before_naming_too_many_records_but_always_takes_one_event() {
        let mut pending = vec![
            event(1, EventKind::Update, &["a", "b", "c"], false),
            event(2, EventKind::Update, &["a"], false),
            event(3, EventKind::Update, &["d"], false),
        ];
        let first = next_batch(&mut pending, 2);
        assert_eq!(first.read.len(), 3, "one event is never split");
        assert_eq!(first.position, Some(1));
        let second = next_batch(&mut pending, 2);
        assert_eq!(second.read, vec!["a".to_string(), "d".to_string()]);
        assert_eq!(second.position, Some(3));
        assert_eq!(next_batch(&mut pending, 2), EventBatch::default());
    }

    #[test]
    fn gap_records_are_not_read_one_by_one() {
        let mut pending = vec![event(7, EventKind::Gap, &["a"], false)];
        let batch = next_batch(&mut pending, 10);
        assert!(batch.read.is_empty() && batch.deleted.is_empty());
        assert_eq!(batch.position, Some(7));
    }

    #[test]
    fn reconnects_back_off_to_half_a_minute() {
        assert_eq!(reconnect_delay(1), Duration::from_secs(1));
        assert_eq!(reconnect_delay(2), Duration::from_secs(2));
        assert_eq!(reconnect_delay(4), Duration::from_secs(8));
        assert_eq!(reconnect_delay(40), Duration::from_secs(30));
    }

    #[test]
    fn fallbacks_wait_by_how_soon_a_retry_can_help() {
        assert!(StreamEnd::Gap.retry_after() < StreamEnd::AllowanceExhausted.retry_after());
        assert!(StreamEnd::PositionExpired.forgets_position());
        assert!(!StreamEnd::AllowanceExhausted.forgets_position());
        assert!(!StreamEnd::Gap.forgets_position());
        assert_eq!(StreamEnd::Gap.reason(), "gap event");
    }
}
