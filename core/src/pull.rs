//! Pull decisions: what to read next, whether a read is due, and how progress moves once a
//! page is applied. The worker stores [`Progress`] and moves it only in the transaction
//! that applied the page, so a crash repeats a page and never skips one.

use crate::connector::{ChangePage, ReadFrom};
use crate::timestamp::Timestamp;

/// Where a sync's pulls stand (`hubsync.pull_state.phase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    /// Nothing read yet.
    #[default]
    Pending,
    /// The first copy of every remote record is under way.
    FullLoad,
    /// Reading changes since the watermark.
    Incremental,
}

impl Phase {
    /// The phase as stored and shown.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Pending => "pending",
            Phase::FullLoad => "full_load",
            Phase::Incremental => "incremental",
        }
    }

    /// A stored label; anything unknown reads as `Pending`, which starts over safely
    /// (applying a record twice changes nothing).
    pub fn parse(label: &str) -> Phase {
        match label {
            "full_load" => Phase::FullLoad,
            "incremental" => Phase::Incremental,
            _ => Phase::Pending,
        }
    }
}

/// Which pull a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The first copy of every remote record (`initial_sync.strategy: full_load`).
    FullLoad,
    /// Changes since the watermark.
    Incremental,
    /// Records named by streamed events, read by id; the stream's position after them.
    /// Moves only that position: the watermark stays with polling, so a poll after a
    /// fallback still reads everything the stream may have missed.
    Stream(i64),
}

/// The stored progress of a sync's pulls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub phase: Phase,
    /// Records changed at or after this time are read next.
    pub watermark: Option<Timestamp>,
    /// Where the read under way continues, if it has more pages.
    pub next_locator: Option<String>,
    /// The system's own cursor for the next read of changes, where it has one.
    pub resume_cursor: Option<String>,
    /// The position of the last streamed event applied (Salesforce's replay id).
    pub replay_id: Option<i64>,
}

/// Whether a read is due now: the next page of a read under way, the first page of the
/// full load, or a read of changes once asked for or once the polling interval passed.
pub fn is_due(
    progress: &Progress,
    full_load: bool,
    requested: bool,
    interval_passed: bool,
) -> bool {
    if progress.next_locator.is_some() {
        return true;
    }
    match progress.phase {
        Phase::Pending => full_load,
        Phase::FullLoad | Phase::Incremental => requested || interval_passed,
    }
}

/// Whether local changes wait for the initial full load. A sync that links records by
/// natural key on first contact must see the remote records before it creates any, or a
/// record that exists on both sides before the sync starts would be created twice.
pub fn pushes_wait(progress: &Progress, full_load: bool, links_by_key: bool) -> bool {
    full_load && links_by_key && progress.phase != Phase::Incremental
}

/// The read to make next, and which pull it belongs to.
pub fn next_read(progress: &Progress) -> (Mode, ReadFrom) {
    match (progress.phase, &progress.next_locator) {
        (Phase::FullLoad, Some(locator)) => (Mode::FullLoad, ReadFrom::More(locator.clone())),
        (_, Some(locator)) => (Mode::Incremental, ReadFrom::More(locator.clone())),
        (Phase::Pending, None) => (Mode::FullLoad, ReadFrom::Everything),
        (_, None) => (
            Mode::Incremental,
            ReadFrom::ChangedSince {
                since: progress.watermark.unwrap_or(Timestamp::from_millis(0)),
                cursor: progress.resume_cursor.clone(),
            },
        ),
    }
}

/// The read that fetches the page after `page` while `page` waits to be applied (one page
/// ahead); `None` when `page` was the read's last. The page it brings is applied only if
/// it still [`continues`] the stored progress by then.
pub fn read_ahead(page: &ChangePage) -> Option<ReadFrom> {
    page.more.clone().map(ReadFrom::More)
}

/// Whether a page read after the locator `after` (`None`: the first page of a read) is
/// the next one for the stored progress. A page fetched ahead of one that then failed to
/// apply is not: progress starts again from what is stored, and the page is read again.
pub fn continues(after: Option<&str>, progress: &Progress) -> bool {
    after == progress.next_locator.as_deref()
}

/// Whether a full-load page may go into the table as plain inserts, with no lookup of
/// existing rows and no merge: the load started into an empty table with no record state
/// for the sync, and every way a page's record could meet a local row is caught by the
/// insert itself. A row holding the record's id is (the id column is unique, so the insert
/// fails and the page is applied the usual way); a row to link by natural key or External ID
/// is not (such syncs always merge); nor is a local delete still to be pushed (the record
/// would come back), so any of those means the usual way.
pub fn inserts_only(
    mode: Mode,
    started_blank: bool,
    id_unique: bool,
    links_by_key: bool,
    deletes_pending: bool,
) -> bool {
    mode == Mode::FullLoad && started_blank && id_unique && !links_by_key && !deletes_pending
}

/// Progress once a page of `mode` is applied, the newest change time it held being
/// `newest`; the flag says whether that page finished the full load.
pub fn advance(
    progress: &Progress,
    mode: Mode,
    page: &ChangePage,
    newest: Option<Timestamp>,
) -> (Progress, bool) {
    if let Mode::Stream(position) = mode {
        let next = Progress {
            replay_id: progress.replay_id.max(Some(position)),
            ..progress.clone()
        };
        return (next, false);
    }
    let next_locator = page.more.clone();
    let finished_load = mode == Mode::FullLoad && next_locator.is_none();
    let phase = match mode {
        Mode::FullLoad if finished_load => Phase::Incremental,
        Mode::FullLoad => Phase::FullLoad,
        Mode::Incremental | Mode::Stream(_) => progress.phase,
    };
    let resume_cursor = page
        .resume
        .clone()
        .or_else(|| progress.resume_cursor.clone());
    let next = Progress {
        phase,
        watermark: progress.watermark.max(newest),
        next_locator,
        resume_cursor,
        replay_id: progress.replay_id,
    };
    (next, finished_load)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_with(more: Option<&str>) -> ChangePage {
        ChangePage {
            more: more.map(str::to_string),
            ..ChangePage::default()
        }
    }

    #[test]
    fn only_a_full_load_into_an_empty_table_with_a_unique_id_and_no_key_links_skips_the_merge() {
        assert!(inserts_only(Mode::FullLoad, true, true, false, false));
        // Incremental pages meet rows the load inserted.
        assert!(!inserts_only(Mode::Incremental, true, true, false, false));
        // The table held rows (or the sync had state) when the load started.
        assert!(!inserts_only(Mode::FullLoad, false, true, false, false));
        // Without a unique id column a row with the same id would not stop the insert.
        assert!(!inserts_only(Mode::FullLoad, true, false, false, false));
        // Records linked by natural key or External ID must be looked for first.
        assert!(!inserts_only(Mode::FullLoad, true, true, true, false));
        // A local delete waiting to be pushed: the record must not come back.
        assert!(!inserts_only(Mode::FullLoad, true, true, false, true));
    }

    #[test]
    fn a_page_with_more_is_followed_by_a_read_ahead_and_the_last_one_is_not() {
        assert_eq!(
            read_ahead(&page_with(Some("L2"))),
            Some(ReadFrom::More("L2".into()))
        );
        assert_eq!(read_ahead(&page_with(None)), None);
    }

    #[test]
    fn a_page_read_ahead_applies_only_where_the_stored_progress_continues() {
        let loading = Progress {
            phase: Phase::FullLoad,
            next_locator: Some("L2".into()),
            ..Progress::default()
        };
        assert!(continues(Some("L2"), &loading));
        // Fetched ahead of a page that failed to apply: progress is still at L1.
        let stuck = Progress {
            next_locator: Some("L1".into()),
            ..loading.clone()
        };
        assert!(!continues(Some("L2"), &stuck));
        // A first page belongs only where no read is under way.
        assert!(continues(None, &Progress::default()));
        assert!(!continues(None, &loading));
        assert!(!continues(Some("L2"), &Progress::default()));
    }

    fn at(ms: i64) -> Option<Timestamp> {
        Some(Timestamp::from_millis(ms))
    }

    #[test]
    fn phases_read_back_as_stored_and_unknown_ones_start_over() {
        for phase in [Phase::Pending, Phase::FullLoad, Phase::Incremental] {
            assert_eq!(Phase::parse(phase.label()), phase);
        }
        assert_eq!(Phase::parse("garbage"), Phase::Pending);
    }

    #[test]
    fn a_pending_sync_loads_everything_only_when_configured_to() {
        let pending = Progress::default();
        assert!(is_due(&pending, true, false, false));
        assert!(!is_due(&pending, false, true, true));
        assert_eq!(next_read(&pending), (Mode::FullLoad, ReadFrom::Everything));
    }

    #[test]
    fn creates_wait_for_the_full_load_only_where_records_are_linked_by_key() {
        let mut progress = Progress::default();
        assert!(pushes_wait(&progress, true, true));
        assert!(!pushes_wait(&progress, true, false));
        assert!(!pushes_wait(&progress, false, true));
        progress.phase = Phase::FullLoad;
        assert!(pushes_wait(&progress, true, true));
        progress.phase = Phase::Incremental;
        assert!(!pushes_wait(&progress, true, true));
    }

    #[test]
    fn a_read_under_way_continues_at_once() {
        let loading = Progress {
            phase: Phase::FullLoad,
            next_locator: Some("page-2".into()),
            ..Progress::default()
        };
        assert!(is_due(&loading, false, false, false));
        assert_eq!(
            next_read(&loading),
            (Mode::FullLoad, ReadFrom::More("page-2".into()))
        );
        let polling = Progress {
            phase: Phase::Incremental,
            ..loading
        };
        assert_eq!(next_read(&polling).0, Mode::Incremental);
    }

    #[test]
    fn changes_are_read_from_the_watermark_and_the_systems_own_cursor() {
        let progress = Progress {
            phase: Phase::Incremental,
            watermark: at(5_000),
            resume_cursor: Some("c1".into()),
            ..Progress::default()
        };
        assert!(!is_due(&progress, true, false, false));
        assert!(is_due(&progress, true, true, false));
        assert!(is_due(&progress, true, false, true));
        assert_eq!(
            next_read(&progress),
            (
                Mode::Incremental,
                ReadFrom::ChangedSince {
                    since: Timestamp::from_millis(5_000),
                    cursor: Some("c1".into())
                }
            )
        );
    }

    #[test]
    fn the_full_load_ends_with_its_last_page_and_the_watermark_only_grows() {
        let start = Progress::default();
        let page = ChangePage {
            more: Some("p2".into()),
            ..ChangePage::default()
        };
        let (mid, finished) = advance(&start, Mode::FullLoad, &page, at(10));
        assert!(!finished);
        assert_eq!(mid.phase, Phase::FullLoad);
        assert_eq!(mid.next_locator.as_deref(), Some("p2"));
        let (done, finished) = advance(&mid, Mode::FullLoad, &ChangePage::default(), at(5));
        assert!(finished);
        assert_eq!(done.phase, Phase::Incremental);
        assert_eq!(done.watermark, at(10));
        assert_eq!(done.next_locator, None);
    }

    #[test]
    fn a_streamed_page_moves_only_the_stream_position() {
        let progress = Progress {
            phase: Phase::Incremental,
            watermark: at(5_000),
            next_locator: Some("page-3".into()),
            replay_id: Some(10),
            ..Progress::default()
        };
        let page = ChangePage {
            more: Some("ignored".into()),
            ..ChangePage::default()
        };
        let (next, finished) = advance(&progress, Mode::Stream(14), &page, at(9_000));
        assert!(!finished);
        assert_eq!(
            next,
            Progress {
                replay_id: Some(14),
                ..progress.clone()
            }
        );
        let (same, _) = advance(&next, Mode::Stream(12), &page, None);
        assert_eq!(same.replay_id, Some(14), "a position never moves back");
        let (polled, _) = advance(&next, Mode::Incremental, &ChangePage::default(), at(6_000));
        assert_eq!(polled.replay_id, Some(14));
        assert_eq!(polled.watermark, at(6_000));
    }

    #[test]
    fn a_resume_cursor_is_kept_until_the_system_hands_out_a_new_one() {
        let progress = Progress {
            phase: Phase::Incremental,
            resume_cursor: Some("old".into()),
            ..Progress::default()
        };
        let (same, _) = advance(&progress, Mode::Incremental, &ChangePage::default(), None);
        assert_eq!(same.resume_cursor.as_deref(), Some("old"));
        let page = ChangePage {
            resume: Some("new".into()),
            ..ChangePage::default()
        };
        let (moved, finished) = advance(&progress, Mode::Incremental, &page, None);
        assert_eq!(moved.resume_cursor.as_deref(), Some("new"));
        assert!(!finished);
    }
}
