//! Pull, first half: deciding when to read the remote system and what (the decisions are
//! `hubsync_core::pull`'s). A full load pages through the whole object once; after it,
//! incremental pulls read every record changed at or after the watermark (deletions
//! included), one page at a time. Progress only moves in the transaction that applied the
//! page, so a crash repeats a page, and applying a page twice changes nothing.

use super::pool::Job;
use super::runtime::Runtime;
use super::Outcome;
use hubsync_core::config::InitialSync;
use hubsync_core::connector::{CallError, ChangePage, Connector, ReadFrom};
use hubsync_core::mapping::Mapper;
use hubsync_core::pull::{self, Mode, Progress};
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
    /// A page fetched but not applied yet (it waits for pushes in flight to settle).
    pub waiting: Option<Page>,
    /// When the next incremental pull is due.
    pub due: Option<Instant>,
    /// Reads of changes started so far (each numbers its pages, see [`Page::poll`]).
    pub polls: u64,
}

/// A fetched page, as an HTTP thread reports it.
pub struct Page {
    pub sync_id: i32,
    /// The config stamp the page was read under: it is applied only under the same one.
    pub stamp: String,
    pub mode: Mode,
    /// The read of changes the page belongs to (`PullRuntime::polls` when it started).
    pub poll: u64,
    pub result: Result<ChangePage, CallError>,
}

/// Whether the sync should read the remote system now.
pub fn due(rt: &Runtime) -> bool {
    let pull = &rt.pull;
    if !rt.config.direction.pull || pull.fetching || pull.waiting.is_some() {
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
    rt.pull.fetching = true;
    if matches!(from, ReadFrom::ChangedSince { .. }) {
        rt.pull.polls += 1;
        rt.pull.requested = false;
        rt.pull.due = Some(Instant::now() + interval(rt));
    }
    let (client, sync_id, stamp, poll) = (client.clone(), rt.id, rt.stamp.clone(), rt.pull.polls);
    let object = rt.config.remote.object.clone();
    let fields = mapper.select_fields();
    Box::new(move || {
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        Outcome::Pulled(Box::new(Page {
            sync_id,
            stamp,
            mode,
            poll,
            result: client.read(&object, &fields, &from),
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
