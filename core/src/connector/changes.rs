//! Reading a remote object: a full load, then changes since a durable cursor, page by page.
//!
//! The engine stores the cursor (a time watermark and, for systems that hand out their own,
//! an opaque resume cursor) and the locator of the next page, and moves them only in the
//! transaction that applied the page. A crash therefore repeats a page, so connectors may
//! return a record twice (same-second changes, overlapping windows); applying it again
//! changes nothing.

use super::Record;
use crate::timestamp::Timestamp;

/// Where a read starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadFrom {
    /// Every live record (the initial full load); deletions are not needed.
    Everything,
    /// Records changed (or deleted) at or after `since`, or after `cursor` where the system
    /// hands out its own (then `since` is only a fallback for the first read).
    ChangedSince {
        since: Timestamp,
        cursor: Option<String>,
    },
    /// The page after one that said [`ChangePage::more`].
    More(String),
}

/// One remote record as a read saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The record's remote id, as text.
    pub id: String,
    /// When the system last changed it, for the watermark.
    pub modified: Option<Timestamp>,
    /// The record was deleted (its fields may be empty).
    pub deleted: bool,
    /// Its fields in the system's names, ids and references as text.
    pub record: Record,
}

/// One page of a read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChangePage {
    pub changes: Vec<Change>,
    /// Where the next page is, if this read has more; fetch it right away with
    /// [`ReadFrom::More`].
    pub more: Option<String>,
    /// Where the next read of changes continues, for systems with their own cursor (stored
    /// durably once the read is complete).
    pub resume: Option<String>,
    /// How many records the whole read matches, when the system says.
    pub total: Option<u64>,
}
