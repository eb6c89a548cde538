//! Streaming pulls: one subscriber thread per sync that streams (Salesforce Change Data
//! Capture for `ongoing_sync.mode: real_time`), feeding events to the main thread.
//!
//! The subscriber thread never touches Postgres: it sends what it hears over the engine's
//! channel and rings the main thread. The main thread turns events into batches (the
//! decisions are `hubsync_core::connector::stream`'s): hubsync's own changes are skipped,
//! deletions applied as they are, other records read by id on an HTTP thread; each batch
//! is then applied like a polled page (`apply`), and the stream's position is stored in
//! the same transaction. A crash therefore repeats events (applying them again changes
//! nothing) and never skips one. When the stream ends (a gap, an expired replay id, the
//! allocation used up, an object without events, repeated failures) the sync polls from
//! its watermark at once and tries streaming again later; while it streams, a slow safety
//! poll runs beside (`ongoing_sync.safety_poll_seconds`).

use super::pull::Page;
use super::runtime::Runtime;
use super::wait::Waiter;
use super::{jobs, xact, Outcome};
use crossbeam_channel::Sender;
use hubsync_core::connector::stream::next_batch;
use hubsync_core::connector::{ChangePage, Connector, StreamEnd, StreamEvent, StreamMessage};
use hubsync_core::mapping::Mapper;
use hubsync_core::pull::{Mode, Phase};
use hubsync_core::pull_mode::{poll_interval, wants_stream, PullMode};
use hubsync_core::timestamp::Timestamp;
use pgrx::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Most events held unapplied; beyond, the subscriber is stopped and a new one hears them
/// again from the stored position once the backlog is applied.
const MAX_PENDING: usize = 10_000;

/// Tells apart the subscribers of one worker, so a stopped one's last words are ignored.
static GENERATIONS: AtomicU64 = AtomicU64::new(1);

/// What a subscriber thread reports.
pub struct Heard {
    pub sync_id: i32,
    generation: u64,
    what: Report,
}

enum Report {
    Message(StreamMessage),
    Ended(StreamEnd),
}

/// The streaming side of a sync between rounds.
pub struct StreamRuntime {
    pub mode: PullMode,
    /// The label last written to `pull_state.pull_mode`.
    reported: Option<String>,
    /// The live subscriber: its generation and stop flag.
    live: Option<(u64, Arc<AtomicBool>)>,
    /// Events heard and not yet applied, in position order.
    pending: Vec<StreamEvent>,
    /// When streaming may be tried again after a fallback.
    retry_at: Option<Instant>,
    /// Subscribed at the tip: streaming is shown once a read of changes started after this
    /// many reads has been applied (it covers what changed before the subscription).
    catch_up_after: Option<u64>,
}

impl Default for StreamRuntime {
    fn default() -> Self {
        StreamRuntime {
            mode: PullMode::Polling,
            reported: None,
            live: None,
            pending: Vec::new(),
            retry_at: None,
            catch_up_after: None,
        }
    }
}

impl StreamRuntime {
    fn stop(&mut self) {
        if let Some((_, stop)) = self.live.take() {
            stop.store(true, Ordering::Relaxed);
        }
        self.pending.clear();
    }
}

impl Drop for StreamRuntime {
    /// A runtime replaced or removed stops its subscriber; the next one resubscribes from
    /// the stored position, so events heard and not applied are heard again.
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts or stops the sync's subscriber as its config, phase and last fallback say, and
/// shows the mode in `hubsync.status.pull_mode`.
pub fn keep(
    rt: &mut Runtime,
    client: &Arc<dyn Connector>,
    results: &Sender<Outcome>,
    waiter: &Waiter,
) -> Result<(), xact::XactError> {
    let config = &rt.config;
    let wanted =
        rt.active && wants_stream(config.ongoing.mode, config.direction.pull, client.streams());
    if !wanted {
        rt.stream.stop();
        rt.stream.mode = if config.direction.pull {
            PullMode::Polling
        } else {
            PullMode::Off
        };
    } else if rt.stream.live.is_none()
        && rt.pull.state.phase == Phase::Incremental
        && rt.stream.retry_at.is_none_or(|t| Instant::now() >= t)
    {
        match spawn(rt, client, results, waiter) {
            Ok(live) => {
                rt.stream.live = Some(live);
                rt.stream.retry_at = None;
                rt.stream.mode = PullMode::Starting;
                if rt.pull.state.replay_id.is_some() && rt.pull.due.is_none() {
                    // Resuming from a stored position replays what was missed: the first
                    // poll of a (re)started worker waits for the safety interval.
                    let ongoing = &rt.config.ongoing;
                    rt.pull.due = Some(
                        Instant::now()
                            + poll_interval(
                                &PullMode::Streaming,
                                ongoing.polling_interval_seconds,
                                ongoing.safety_poll_seconds,
                            ),
                    );
                }
            }
            Err(e) => {
                warning!("hubsync sync {}: cannot start a stream thread: {e}", rt.id);
                fell_back(rt, &StreamEnd::Failing(e.to_string()))?;
            }
        }
    }
    report(rt)
}

/// Starts a subscriber thread from the stored position.
fn spawn(
    rt: &Runtime,
    client: &Arc<dyn Connector>,
    results: &Sender<Outcome>,
    waiter: &Waiter,
) -> std::io::Result<(u64, Arc<AtomicBool>)> {
    let generation = GENERATIONS.fetch_add(1, Ordering::Relaxed);
    let stop = Arc::new(AtomicBool::new(false));
    let (client, results, ringer) = (client.clone(), results.clone(), waiter.ringer()?);
    let (sync_id, object, from) = (
        rt.id,
        rt.config.remote.object.clone(),
        rt.pull.state.replay_id,
    );
    let flag = stop.clone();
    crate::threads::with_signals_blocked(|| {
        std::thread::Builder::new()
            .name(format!("hubsync-{sync_id}-stream"))
            .spawn(move || {
                let send = |what: Report| {
                    let heard = Heard {
                        sync_id,
                        generation,
                        what,
                    };
                    let sent = results.send(Outcome::Streamed(Box::new(heard))).is_ok();
                    ringer.ring();
                    sent
                };
                let mut sink = |message: StreamMessage| {
                    if flag.load(Ordering::Relaxed) {
                        return false;
                    }
                    let quiet = matches!(&message, StreamMessage::Events(e) if e.is_empty());
                    (quiet || send(Report::Message(message))) && !flag.load(Ordering::Relaxed)
                };
                let end = client.subscribe(&object, from, &mut sink);
                if !flag.load(Ordering::Relaxed) {
                    send(Report::Ended(end));
                }
            })
            .map(drop)
    })?;
    Ok((generation, stop))
}

/// What a subscriber heard, taken in on the main thread.
pub fn heard(rt: &mut Runtime, heard: Heard) -> Result<(), xact::XactError> {
    if rt.stream.live.as_ref().map(|(g, _)| *g) != Some(heard.generation) {
        return Ok(());
    }
    match heard.what {
        Report::Message(StreamMessage::Listening { from_now: false }) => {
            rt.stream.mode = PullMode::Streaming;
        }
        Report::Message(StreamMessage::Listening { from_now: true }) => {
            // Subscribed at the tip: what changed before is read once by polling, and the
            // sync counts as streaming once that read is applied.
            rt.pull.requested = true;
            rt.stream.catch_up_after = Some(rt.pull.polls);
        }
        Report::Message(StreamMessage::Events(events)) => {
            rt.stream.pending.extend(events);
            if rt.stream.pending.len() > MAX_PENDING {
                restart(rt);
            }
        }
        Report::Ended(end) => {
            rt.stream.live = None;
            fell_back(rt, &end)?;
        }
    }
    report(rt)
}

/// A page of a read of changes was applied (`last`: the read's last page): if it was the
/// read that catches up after a subscription at the tip, the sync now streams.
pub fn poll_applied(rt: &mut Runtime, poll: u64, last: bool) -> Result<(), xact::XactError> {
    let caught_up = rt.stream.live.is_some()
        && last
        && rt.stream.catch_up_after.is_some_and(|after| poll > after);
    if caught_up {
        rt.stream.catch_up_after = None;
        rt.stream.mode = PullMode::Streaming;
    }
    report(rt)
}

/// Polls at once from the watermark, and streams again after the end's pause.
fn fell_back(rt: &mut Runtime, end: &StreamEnd) -> Result<(), xact::XactError> {
    let detail = match end {
        StreamEnd::Failing(why) => format!(": {why}"),
        _ => String::new(),
    };
    log!(
        "hubsync sync {}: polling instead of streaming ({}{detail})",
        rt.id,
        end.reason()
    );
    rt.stream.mode = PullMode::after(end, Timestamp::from_millis(jobs::now_ms()));
    rt.stream.catch_up_after = None;
    rt.stream.retry_at = Some(Instant::now() + end.retry_after());
    rt.pull.requested = true;
    if end.forgets_position() {
        rt.pull.state.replay_id = None;
        xact::run_spi(|| crate::catalog::pull_state::forget_replay(rt.id))?;
    }
    Ok(())
}

/// Writes the mode to `pull_state.pull_mode` when its label changed.
fn report(rt: &mut Runtime) -> Result<(), xact::XactError> {
    let label = rt.stream.mode.label();
    if rt.stream.reported.as_deref() == Some(label.as_str()) {
        return Ok(());
    }
    xact::run_spi(|| crate::catalog::pull_state::set_mode(rt.id, &label))?;
    rt.stream.reported = Some(label);
    Ok(())
}

/// Drops the subscriber and its unapplied events (a read of theirs failed, or their page
/// was not applied): the next round resubscribes from the stored position and hears them
/// again.
pub fn restart(rt: &mut Runtime) {
    rt.stream.stop();
}

/// Whether events wait to be applied.
pub fn has_pending(rt: &Runtime) -> bool {
    !rt.stream.pending.is_empty()
}

/// The next batch of pending events as a page to apply: deletions as they are; records
/// others changed read by id on an HTTP thread (the job returned), or at once when there
/// is nothing to read (the page is then left waiting in `rt.pull.waiting`).
pub fn next_page(
    rt: &mut Runtime,
    client: &Arc<dyn Connector>,
    mapper: &Mapper,
) -> Option<super::pool::Job<Outcome>> {
    let batch = next_batch(&mut rt.stream.pending, client.max_batch());
    let position = batch.position?;
    let deleted = batch
        .deleted
        .into_iter()
        .map(|id| hubsync_core::connector::Change {
            id,
            modified: batch.newest,
            deleted: true,
            record: Default::default(),
        });
    let mut page = Page {
        sync_id: rt.id,
        stamp: rt.stamp.clone(),
        mode: Mode::Stream(position),
        // Events move only the replay id: the page applies wherever a paged read stands.
        after: rt.pull.state.next_locator.clone(),
        poll: rt.pull.polls,
        result: Ok(ChangePage {
            changes: deleted.collect(),
            ..ChangePage::default()
        }),
    };
    rt.pull.fetching = true;
    if batch.read.is_empty() {
        rt.pull.fetching = false;
        rt.pull.waiting.push_back(page);
        return None;
    }
    let (client, object, fields) = (
        client.clone(),
        rt.config.remote.object.clone(),
        mapper.select_fields(),
    );
    let ids = batch.read;
    Some(Box::new(move || {
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        page.result = page.result.and_then(|mut read| {
            read.changes
                .extend(client.changes_of(&object, &ids, &fields)?);
            Ok(read)
        });
        Outcome::Pulled(Box::new(page))
    }))
}
