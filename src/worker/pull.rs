//! Pull, first half: deciding when to read Salesforce and what. A full load pages through
//! the whole object once; after it, incremental pulls read every record whose
//! `SystemModstamp` is at or after the watermark (through `queryAll`, so deletions come
//! too), one page at a time. The watermark only moves in the transaction that applied the
//! page, so a crash repeats a page, and applying a page twice changes nothing.

use super::pool::Job;
use super::runtime::Runtime;
use super::Outcome;
use hubsync_core::config::InitialSync;
use hubsync_core::connector::CallError;
use hubsync_core::mapping::Mapper;
use hubsync_core::salesforce::{soql, QueryPage, SalesforceClient};
use hubsync_core::timestamp::Timestamp;
use pgrx::prelude::*;
use pgrx::spi::SpiResult;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which pull a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The first copy of every remote record (`initial_sync.strategy: full_load`).
    FullLoad,
    /// Changes since the watermark.
    Incremental,
}

/// The stored progress of a sync's pulls (`hubsync.pull_state`).
#[derive(Debug, Clone, Default)]
pub struct PullState {
    pub phase: String,
    /// Records changed at or after this time (epoch ms) are read next.
    pub watermark: Option<Timestamp>,
    /// Where the current pull continues (`nextRecordsUrl`), if it has more pages.
    pub next_locator: Option<String>,
    /// Someone called `hubsync.pull_now`.
    pub requested: bool,
}

/// The pull side of a sync between rounds.
#[derive(Default)]
pub struct PullRuntime {
    pub state: PullState,
    /// A request for a page is out.
    pub fetching: bool,
    /// A page fetched but not applied yet (it waits for pushes in flight to settle).
    pub waiting: Option<Page>,
    /// When the next incremental pull is due.
    pub due: Option<Instant>,
}

/// A fetched page, as an HTTP thread reports it.
pub struct Page {
    pub sync_id: i32,
    /// The config stamp the page was read under: it is applied only under the same one.
    pub stamp: String,
    pub mode: Mode,
    pub result: Result<QueryPage, CallError>,
}

/// Reads a sync's pull progress.
pub fn load_state(sync_id: i32) -> SpiResult<PullState> {
    Spi::connect(|client| {
        let rows = client.select(
            "SELECT phase, (extract(epoch FROM watermark) * 1000)::int8, next_locator \
             FROM hubsync.pull_state WHERE sync_id = $1",
            None,
            &[sync_id.into()],
        )?;
        if rows.is_empty() {
            return Ok(PullState::default());
        }
        let row = rows.first();
        Ok(PullState {
            phase: row.get(1)?.unwrap_or_default(),
            watermark: row.get::<i64>(2)?.map(Timestamp::from_millis),
            next_locator: row.get(3)?,
            requested: false,
        })
    })
}

/// Whether the sync should read Salesforce now: the next page of a pull under way, the
/// first page of the full load, or an incremental pull whose interval has passed.
pub fn due(rt: &Runtime) -> bool {
    let pull = &rt.pull;
    if !rt.config.direction.pull || pull.fetching || pull.waiting.is_some() {
        return false;
    }
    match pull.state.phase.as_str() {
        _ if pull.state.next_locator.is_some() => true,
        "pending" => rt.config.initial_sync == InitialSync::FullLoad,
        _ => pull.state.requested || pull.due.is_none_or(|t| Instant::now() >= t),
    }
}

/// The request for what [`due`] said is due.
pub fn next_fetch(
    rt: &mut Runtime,
    client: &Arc<SalesforceClient>,
    mapper: &Mapper,
) -> Option<Job<Outcome>> {
    let fields = mapper.select_fields();
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    let object = &rt.config.remote.object;
    let state = &rt.pull.state;
    let (mode, request) = match (state.phase.as_str(), &state.next_locator) {
        ("full_load", Some(url)) => (Mode::FullLoad, Request::More(url.clone())),
        (_, Some(url)) => (Mode::Incremental, Request::More(url.clone())),
        ("pending", None) => (
            Mode::FullLoad,
            Request::Start(soql::full_load(object, &fields).ok()?, false),
        ),
        (_, None) => {
            let since = state.watermark.unwrap_or(Timestamp::from_millis(0));
            let query = soql::incremental_pull(object, &fields, since).ok()?;
            (Mode::Incremental, Request::Start(query, true))
        }
    };
    rt.pull.fetching = true;
    if mode == Mode::Incremental && rt.pull.state.next_locator.is_none() {
        rt.pull.state.requested = false;
        rt.pull.due = Some(Instant::now() + interval(rt));
    }
    Some(fetch(
        client.clone(),
        rt.id,
        rt.stamp.clone(),
        mode,
        request,
    ))
}

/// How often incremental pulls run.
fn interval(rt: &Runtime) -> Duration {
    Duration::from_secs_f64(rt.config.ongoing.polling_interval_seconds.max(0.1))
}

enum Request {
    /// A new query; `true` to include deleted records (`queryAll`).
    Start(String, bool),
    /// The next page of a query under way.
    More(String),
}

/// The HTTP thread's part: run the query (or fetch its next page).
fn fetch(
    client: Arc<SalesforceClient>,
    sync_id: i32,
    stamp: String,
    mode: Mode,
    request: Request,
) -> Job<Outcome> {
    Box::new(move || {
        let result = match request {
            Request::Start(query, true) => client.query_all(&query),
            Request::Start(query, false) => client.query(&query),
            Request::More(url) => client.query_more(&url),
        };
        Outcome::Pulled(Box::new(Page {
            sync_id,
            stamp,
            mode,
            result,
        }))
    })
}
