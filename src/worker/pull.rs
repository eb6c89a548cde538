//! Pull, first half: deciding when to read the remote system and what (the decisions are
//! `hubsync_core::pull`'s). A full load pages through the whole object once; after it,
//! incremental pulls read every record changed at or after the watermark (deletions
//! included), one page at a time. Progress only moves in the transaction that applied the
//! page, so a crash repeats a page, and applying a page twice changes nothing. The page
//! after one that has more is fetched while that one waits and is applied (one page ahead);
//! it is applied only if it continues where the stored progress stands. A full load of
//! more than `performance_settings.bulk_threshold` records goes through the connector's bulk
//! API where it has one; its pages and stored locator look like any other read's.

use super::pool::Job;
use super::runtime::Runtime;
use super::Outcome;
use hubsync_core::config::InitialSync;
use hubsync_core::connector::{CallError, ChangePage, Connector, ReadFrom};
use hubsync_core::mapping::Mapper;
use hubsync_core::pull::{self, Mode, Progress};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The pull side of a sync between rounds.
#[derive(Default)]
pub struct PullRuntime {
    pub state: Progress,
    /// Someone called `hubsync.pull_now`.
    pub requested: bool,
    /// A request for a page is out.
    pub fetching: bool,
    /// Pages fetched but not applied yet, oldest first (they wait for pushes in flight to
    /// settle); at most the page being applied and the one fetched ahead of it.
    pub waiting: VecDeque<Page>,
    /// When the next incremental pull is due.
    pub due: Option<Instant>,
    /// The full load under way started into an empty table (no rows, no record state of
    /// the sync) and its pages so far went in as plain inserts
    /// (`hubsync_core::pull::inserts_only`). Not known after a restart: then pages merge.
    pub blank_load: bool,
    /// Reads of changes started so far (each numbers its pages, see [`Page::poll`]).
    pub polls: u64,
}

/// A fetched page, as an HTTP thread reports it.
pub struct Page {
    pub sync_id: i32,
    /// The config stamp the page was read under: it is applied only under the same one.
    pub stamp: String,
    pub mode: Mode,
    /// The locator this page continues (`None` for the first page of a read): it is applied
    /// only while the stored progress still continues there.
    pub after: Option<String>,
    /// The read of changes the page belongs to (`PullRuntime::polls` when it started).
    pub poll: u64,
    pub result: Result<ChangePage, CallError>,
}

impl Page {
    /// Whether this page is the next one for `progress` (`hubsync_core::pull::continues`).
    pub fn continues(&self, progress: &Progress) -> bool {
        pull::continues(self.after.as_deref(), progress)
    }
}

/// Whether the sync should read the remote system now.
pub fn due(rt: &Runtime) -> bool {
    let pull = &rt.pull;
    if !rt.config.direction.pull || pull.fetching || !pull.waiting.is_empty() {
        return false;
    }
    pull::is_due(
        &pull.state,
        rt.config.initial_sync == InitialSync::FullLoad,
        pull.requested,
        pull.due.is_none_or(|t| Instant::now() >= t),
    )
}

/// The request for what [`due`] said is due.
pub fn next_fetch(rt: &mut Runtime, client: &Arc<dyn Connector>, mapper: &Mapper) -> Job<Outcome> {
    let (mode, from) = pull::next_read(&rt.pull.state);
    if matches!(from, ReadFrom::ChangedSince { .. }) {
        rt.pull.polls += 1;
        rt.pull.requested = false;
        rt.pull.due = Some(Instant::now() + interval(rt));
    }
    fetch(rt, client, mapper, mode, from)
}

/// The request for the page after `page`, while `page` waits to be applied; `None` when it
/// was the read's last page.
pub fn fetch_ahead(
    rt: &mut Runtime,
    client: &Arc<dyn Connector>,
    mapper: &Mapper,
    page: &Page,
) -> Option<Job<Outcome>> {
    let from = pull::read_ahead(page.result.as_ref().ok()?)?;
    Some(fetch(rt, client, mapper, page.mode, from))
}

fn fetch(
    rt: &mut Runtime,
    client: &Arc<dyn Connector>,
    mapper: &Mapper,
    mode: Mode,
    from: ReadFrom,
) -> Job<Outcome> {
    rt.pull.fetching = true;
    let after = match &from {
        ReadFrom::More(locator) => Some(locator.clone()),
        _ => None,
    };
    let (client, sync_id, stamp, poll) = (client.clone(), rt.id, rt.stamp.clone(), rt.pull.polls);
    let object = rt.config.remote.object.clone();
    let fields = mapper.select_fields();
    let bulk_above = rt.config.performance.bulk_threshold;
    Box::new(move || {
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        let result = match from {
            ReadFrom::Everything => client.read_everything(&object, &fields, bulk_above),
            from => client.read(&object, &fields, &from),
        };
        Outcome::Pulled(Box::new(Page {
            sync_id,
            stamp,
            mode,
            after,
            poll,
            result,
        }))
    })
}

/// How often incremental pulls run: the polling interval, or the safety interval while
/// changes are streamed.
fn interval(rt: &Runtime) -> Duration {
    let ongoing = &rt.config.ongoing;
    hubsync_core::pull_mode::poll_interval(
        &rt.stream.mode,
        ongoing.polling_interval_seconds,
        ongoing.safety_poll_seconds,
    )
}
