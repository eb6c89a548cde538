//! The worker's rounds: settle what the HTTP threads answered, follow config changes,
//! then give every active sync its next piece of work. Every SQL step is its own short
//! transaction; no transaction is open while a request is in flight.

use super::fence::{self, Planned};
use super::push::{self, Chunk};
use super::reconcile::Lookup;
use super::runtime::{self, Health, Runtime, SyncRow};
use super::serve::Member;
use super::wait::Waiter;
use super::{jobs, outbox, reconcile, settle, stats, xact, Outcome};
use crate::shared;
use crossbeam_channel::{unbounded, Receiver, Sender};
use hubsync_core::config::InitialSync;
use hubsync_core::connection_state::ConnectionState;
use hubsync_core::connector::{CallError, Connector, ObjectDescribe};
use hubsync_core::mapping::Mapper;
use hubsync_core::pull::{Mode, Phase};
use hubsync_core::retry::Class;
use pgrx::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the list of syncs is re-read for changes.
const REFRESH_EVERY: Duration = Duration::from_millis(250);

/// All syncs the worker runs, and the channel their HTTP threads answer on.
pub struct Engine {
    /// The worker's place in its database's pool: which syncs are its own.
    me: Member,
    runtimes: BTreeMap<i32, Runtime>,
    /// Syncs that could not be built, by the version that failed (retried when it changes).
    broken: HashMap<i32, String>,
    sender: Sender<Outcome>,
    results: Receiver<Outcome>,
    pub waiter: Waiter,
    refreshed: Option<Instant>,
    /// `shared::pull_requests()` when last seen.
    pull_requests: u64,
    statistics: super::planner_stats::Freshness,
    /// Sends the notification outbox (absent if its threads could not start).
    notifier: Option<super::notify::Notifier>,
}

impl Engine {
    /// A new engine; abandons leases a previous run of this pool member left behind (the
    /// other members' leases are theirs: they may be in flight right now).
    pub fn start(me: Member) -> std::io::Result<Engine> {
        let (sender, results) = unbounded();
        // The worker's own bookkeeping commits asynchronously: a crash can only lose its
        // last moments, which claims outbox rows again (reconciled, never sent blindly) or
        // re-applies a pulled page (a no-op). Users' transactions keep full durability.
        if let Err(e) = xact::run_spi(|| {
            Spi::run("SET synchronous_commit TO off")?;
            outbox::expire_leases(me.size, me.index)
        }) {
            warning!("hubsync worker: could not reclaim leases: {e}");
        }
        let waiter = Waiter::new()?;
        // Notifications are the database's, not a sync's: one member sends them all.
        let notifier = if me.runs_singletons() {
            super::notify::Notifier::start(&waiter)
                .inspect_err(|e| warning!("hubsync worker: cannot start notification threads: {e}"))
                .ok()
        } else {
            None
        };
        Ok(Engine {
            me,
            notifier,
            runtimes: BTreeMap::new(),
            broken: HashMap::new(),
            sender,
            results,
            waiter,
            refreshed: None,
            pull_requests: shared::pull_requests(me.slot),
            statistics: Default::default(),
        })
    }

    /// One round of work. A failure of one sync is recorded in its status and does not
    /// stop the others; only a failure to read the catalog itself is returned.
    pub fn round(&mut self) -> Result<(), xact::XactError> {
        self.settle_results();
        if self.refreshed.is_none_or(|t| t.elapsed() >= REFRESH_EVERY) {
            self.refresh()?;
        }
        let requests = shared::pull_requests(self.me.slot);
        if requests != self.pull_requests {
            self.pull_requests = requests;
            self.runtimes
                .values_mut()
                .for_each(|rt| rt.pull.requested = true);
        }
        self.refresh_statistics();
        let ids: Vec<i32> = self.runtimes.keys().copied().collect();
        for id in ids {
            if let Err(error) = self.advance(id) {
                report(self.me.slot, id, &error);
            }
        }
        if let Some(notifier) = &mut self.notifier {
            if let Err(error) = notifier.round() {
                super::notify::survive(&error);
            }
        }
        Ok(())
    }

    /// How long the main thread may sleep: until the nearest backoff ends, at most `cap`.
    pub fn sleep_for(&self, cap: Duration) -> Duration {
        self.runtimes
            .values()
            .filter_map(|r| match &r.health {
                Health::Waiting { until, .. } => {
                    Some(until.saturating_duration_since(Instant::now()))
                }
                _ => None,
            })
            .fold(cap, Duration::min)
    }

    /// Keeps the plans of the worker's own queries fit for the tables' current sizes.
    fn refresh_statistics(&mut self) {
        if !self.statistics.due() {
            return;
        }
        let mut tables = vec!["hubsync.outbox".to_string(), "hubsync.record_state".into()];
        tables.extend(
            self.runtimes
                .values()
                .filter(|rt| rt.config.direction.pull)
                .map(|rt| rt.table.qualified.clone()),
        );
        if let Err(e) = xact::run_spi(|| self.statistics.refresh(&tables)) {
            warning!("hubsync worker: could not refresh planner statistics: {e}");
        }
    }

    fn refresh(&mut self) -> Result<(), xact::XactError> {
        let me = self.me;
        let rows = xact::run_spi(|| runtime::load_rows(me.size, me.index))?;
        self.refreshed = Some(Instant::now());
        self.runtimes
            .retain(|id, _| rows.iter().any(|r| r.id == *id));
        let ids: Vec<i32> = rows.iter().map(|r| r.id).collect();
        shared::serving(me.slot, &ids);
        for row in rows {
            if let Some(rt) = self.runtimes.get_mut(&row.id) {
                rt.active = row.active;
            }
            let current = self.runtimes.get(&row.id).map(|r| r.version.clone());
            if current.as_deref() == Some(row.version.as_str())
                || self.broken.get(&row.id) == Some(&row.version)
            {
                continue;
            }
            self.rebuild(&row)?;
        }
        Ok(())
    }

    fn rebuild(&mut self, row: &SyncRow) -> Result<(), xact::XactError> {
        let (sender, waiter) = (&self.sender, &self.waiter);
        match xact::run(|| Runtime::build(row, sender, waiter)).unwrap_or_else(|e| {
            Err(runtime::Refusal {
                state: ConnectionState::Invalid,
                problem: e.to_string(),
            })
        }) {
            Ok(mut fresh) => {
                if let Some(old) = self.runtimes.remove(&row.id) {
                    fresh.inherit(old);
                }
                self.broken.remove(&row.id);
                let (state, problem) = (fresh.health_label(), fresh.problem().map(str::to_string));
                xact::run_spi(|| stats::health(row.id, state, problem.as_deref()))?;
                self.runtimes.insert(row.id, fresh);
            }
            Err(refusal) => {
                warning!(
                    "hubsync sync \"{}\" cannot run: {}",
                    row.name,
                    refusal.problem
                );
                // A runtime it replaces sends nothing more; answers already on their way
                // are still settled (or refused by the table, if the owner lost a right).
                if let Some(old) = self.runtimes.get_mut(&row.id) {
                    old.health = Health::Blocked {
                        state: refusal.state,
                        problem: refusal.problem.clone(),
                    };
                    // Whatever changes next (even back to what it was) rebuilds the sync.
                    old.version = row.version.clone();
                }
                self.broken.insert(row.id, row.version.clone());
                xact::run_spi(|| {
                    stats::health(row.id, refusal.state.label(), Some(&refusal.problem))
                })?;
            }
        }
        Ok(())
    }

    /// Takes every answer waiting on the channel; the push answers of each sync are settled
    /// together, in one transaction.
    fn settle_results(&mut self) {
        let mut pushed: BTreeMap<i32, Vec<settle::Pushed>> = BTreeMap::new();
        while let Ok(outcome) = self.results.try_recv() {
            let (sync_id, result) = match outcome {
                Outcome::Pulled(page) => (page.sync_id, self.fetched(*page)),
                Outcome::Described { sync_id, result } => {
                    (sync_id, self.described(sync_id, result))
                }
                Outcome::Pushed(answer) => {
                    pushed
                        .entry(answer.chunk.sync_id)
                        .or_default()
                        .push(*answer);
                    continue;
                }
                Outcome::BulkOpened(opened) => (opened.chunk.sync_id, self.bulk_opened(*opened)),
                Outcome::Reconciled(found) => (found.sync_id, self.reconciled(*found)),
                Outcome::Streamed(heard) => (heard.sync_id, self.streamed(*heard)),
            };
            if let Err(error) = result {
                report(self.me.slot, sync_id, &error);
            }
        }
        for (sync_id, answers) in pushed {
            if let Err(error) = self.pushed(sync_id, answers) {
                report(self.me.slot, sync_id, &error);
            }
        }
    }

    fn described(
        &mut self,
        sync_id: i32,
        result: Result<ObjectDescribe, CallError>,
    ) -> Result<(), xact::XactError> {
        let Some(rt) = self.runtimes.get_mut(&sync_id) else {
            return Ok(());
        };
        rt.describing = false;
        match result {
            Ok(describe) => match Mapper::new(&rt.config, &rt.table.table, &describe) {
                Ok(mapper) if rt.config.direction.pull && mapper.id_column().is_none() => {
                    rt.health = Health::Blocked {
                        state: ConnectionState::Invalid,
                        problem: "a sync that pulls needs a mapping of the remote record id to a unique local column, \
                                  e.g. {\"source\": \"Id\", \"target\": \"sf_id\"}"
                            .into(),
                    };
                }
                Ok(mapper) => {
                    rt.mapper = Some(Arc::new(mapper));
                    rt.health = Health::Ok;
                }
                Err(problems) => {
                    let all: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
                    rt.health = Health::Blocked {
                        state: ConnectionState::Invalid,
                        problem: format!(
                            "the mapping does not fit {}: {}",
                            rt.config.remote.object,
                            all.join("; ")
                        ),
                    };
                }
            },
            Err(error) => {
                settle::back_off(rt, settle::connection_class(&error), &error.to_string())
            }
        }
        let (state, problem) = (rt.health_label(), rt.problem().map(str::to_string));
        xact::run_spi(|| stats::health(sync_id, state, problem.as_deref()))
    }

    /// A page arrived: keep it for [`apply_waiting_page`], or back off if the query failed.
    fn fetched(&mut self, page: super::pull::Page) -> Result<(), xact::XactError> {
        let Some(rt) = self.runtimes.get_mut(&page.sync_id) else {
            return Ok(());
        };
        rt.outstanding = rt.outstanding.saturating_sub(1);
        rt.pull.fetching = false;
        let Err(error) = &page.result else {
            // No push is in flight while a page is read or waits (see `advance`), so the
            // next page is read now, while this one waits and is applied.
            if let (Some(client), Some(mapper)) = (rt.client.clone(), rt.mapper.clone()) {
                if let Some(job) = super::pull::fetch_ahead(rt, &client, &mapper, &page) {
                    match rt.pool.try_submit(job) {
                        Ok(()) => rt.outstanding += 1,
                        Err(_) => rt.pull.fetching = false,
                    }
                }
            }
            rt.pull.waiting.push_back(page);
            return Ok(());
        };
        if matches!(page.mode, Mode::Stream(_)) {
            // The events' records could not be read: hear them again after the back-off.
            super::stream::restart(rt);
        }
        if error
            .errors
            .iter()
            .any(|e| e.status_code == "INVALID_QUERY_LOCATOR")
        {
            // The cursor expired: the pull starts over (applying twice is harmless).
            rt.pull.state.next_locator = None;
            if rt.pull.state.phase == Phase::FullLoad {
                rt.pull.state.phase = Phase::Pending;
            }
        }
        if settle::connection_class(error) == Class::Permanent {
            // The query itself is refused (a field renamed or removed): describe again.
            rt.mapper = None;
        }
        settle::back_off(rt, settle::connection_class(error), &error.to_string());
        let (state, problem) = (rt.health_label(), rt.problem().map(str::to_string));
        xact::run_spi(|| stats::health(rt.id, state, problem.as_deref()))
    }

    fn streamed(&mut self, heard: super::stream::Heard) -> Result<(), xact::XactError> {
        match self.runtimes.get_mut(&heard.sync_id) {
            Some(rt) => super::stream::heard(rt, heard),
            None => Ok(()),
        }
    }

    fn pushed(
        &mut self,
        sync_id: i32,
        answers: Vec<settle::Pushed>,
    ) -> Result<(), xact::XactError> {
        let Some(rt) = self.runtimes.get_mut(&sync_id) else {
            return Ok(());
        };
        rt.outstanding = rt.outstanding.saturating_sub(answers.len());
        let lookups = xact::run_spi(|| {
            if !fence::holds(rt.id, Planned::Exists)? {
                return Ok(Vec::new());
            }
            let doubtful = settle::settle(rt, answers)?;
            super::monitor::count_calls(rt)?;
            reconcile::lookups(rt, doubtful)
        })?;
        queue_lookups(rt, lookups);
        Ok(())
    }

    /// Records a bulk chunk's new job durably, then queues the chunk to finish the job; a
    /// job that could not be opened settles as a failed write.
    fn bulk_opened(&mut self, opened: jobs::Opened) -> Result<(), xact::XactError> {
        let jobs::Opened { mut chunk, result } = opened;
        let job = match result {
            Ok(job) => job,
            Err(error) => {
                let sync_id = chunk.sync_id;
                let failed = settle::Pushed {
                    chunk,
                    result: Err(error),
                    finished_ms: jobs::now_ms(),
                    api_usage: None,
                    verdicts: Vec::new(),
                };
                return self.pushed(sync_id, vec![failed]);
            }
        };
        let slot = self.me.slot;
        let Some(rt) = self.runtimes.get_mut(&chunk.sync_id) else {
            return Ok(());
        };
        rt.outstanding = rt.outstanding.saturating_sub(1);
        let ids: Vec<i64> = chunk
            .records
            .iter()
            .flat_map(|r| r.outbox_ids.iter().copied())
            .collect();
        let recorded = xact::run_spi(|| {
            Spi::run("SET LOCAL synchronous_commit TO on")?;
            crate::catalog::bulk_jobs::record(rt.id, &job, &ids)
        });
        if let Err(error) = recorded {
            // Finished all the same: after a crash the org's job list still finds it.
            report(slot, rt.id, &error);
        }
        chunk.job = Some(job);
        rt.queued.push_front(Work::Push(chunk));
        Ok(())
    }

    fn reconciled(&mut self, found: reconcile::Reconciled) -> Result<(), xact::XactError> {
        let Some(rt) = self.runtimes.get_mut(&found.sync_id) else {
            return Ok(());
        };
        rt.outstanding = rt.outstanding.saturating_sub(1);
        let resend = xact::run_spi(|| {
            if !fence::holds(rt.id, Planned::Exists)? {
                return Ok(Vec::new());
            }
            reconcile::settle_lookups(rt, found)
        })?;
        rt.queued.extend(resend.into_iter().map(Work::Push));
        Ok(())
    }

    fn advance(&mut self, id: i32) -> Result<(), xact::XactError> {
        let Some(rt) = self.runtimes.get_mut(&id) else {
            return Ok(());
        };
        if rt.monitor.due() {
            let added = xact::run_spi(|| {
                if fence::holds(rt.id, Planned::Exists)? {
                    return super::monitor::check(rt);
                }
                Ok(false)
            })?;
            if let Some(notifier) = self.notifier.as_mut().filter(|_| added) {
                notifier.added = true;
            }
        }
        let may_send = rt.may_send();
        report_health(rt)?;
        if !rt.active || !may_send {
            // A sync that may not work now does not hold a stream whose events would pile up.
            super::stream::restart(rt);
            return Ok(());
        }
        let Some(client) = rt.client.clone() else {
            return Ok(());
        };
        let Some(mapper) = rt.mapper.clone() else {
            if !rt.describing && rt.has_capacity() {
                let object = rt.config.remote.object.clone();
                if rt
                    .pool
                    .try_submit(Box::new(move || jobs::describe(client, id, object)))
                    .is_ok()
                {
                    rt.describing = true;
                }
            }
            return Ok(());
        };
        if !rt.bulk_recovered {
            recover_bulk_jobs(rt, &mapper)?;
        }
        submit_queued(rt, &client);
        super::stream::keep(rt, &client, &self.sender, &self.waiter)?;
        if !rt.pull.waiting.is_empty() {
            // A pulled page waits for pushes in flight to settle, and no new push starts
            // meanwhile: local changes are compared with remote ones at one moment. (The
            // read of the next page may be out: it is no push.)
            let pushes_out = rt.outstanding.saturating_sub(usize::from(rt.pull.fetching));
            if pushes_out > 0 || !rt.queued.is_empty() {
                return Ok(());
            }
            // Applied, the next page of the pull may be due (or here) at once.
            while !rt.pull.waiting.is_empty() {
                apply_waiting_page(rt, &mapper)?;
            }
        }
        if rt.pull.fetching {
            return Ok(());
        }
        if super::stream::has_pending(rt) {
            // Streamed events are applied like a pulled page, and wait for pushes the same way.
            if rt.outstanding == 0 && rt.queued.is_empty() {
                match super::stream::next_page(rt, &client, &mapper) {
                    Some(job) => match rt.pool.try_submit(job) {
                        Ok(()) => rt.outstanding += 1,
                        Err(_) => {
                            rt.pull.fetching = false;
                            super::stream::restart(rt);
                        }
                    },
                    None => apply_waiting_page(rt, &mapper)?,
                }
            }
            return Ok(());
        }
        if super::pull::due(rt) {
            // Pushes and pulls of a sync alternate: a page read while a push is in flight
            // could be older than that push and undo it locally.
            if rt.outstanding == 0 && rt.queued.is_empty() {
                let job = super::pull::next_fetch(rt, &client, &mapper);
                match rt.pool.try_submit(job) {
                    Ok(()) => rt.outstanding += 1,
                    Err(_) => rt.pull.fetching = false,
                }
            }
            return Ok(());
        }
        let waits_for_load = rt.config.direction.pull
            && hubsync_core::pull::pushes_wait(
                &rt.pull.state,
                rt.config.initial_sync == InitialSync::FullLoad,
                !rt.config.natural_key.is_empty(),
            );
        if rt.has_capacity() && rt.queued.is_empty() && !waits_for_load {
            claim(rt, &mapper)?;
            submit_queued(rt, &client);
        }
        Ok(())
    }
}

/// Shows the sync's connection state in `hubsync.status` when it changed in memory (a wait
/// for the API budget, a back-off ending).
fn report_health(rt: &mut Runtime) -> Result<(), xact::XactError> {
    let now = (rt.health_label(), rt.problem().map(str::to_string));
    if rt.reported_health.as_ref() == Some(&now) {
        return Ok(());
    }
    xact::run_spi(|| stats::health(rt.id, now.0, now.1.as_deref()))?;
    rt.reported_health = Some(now);
    Ok(())
}

/// Applies the page a pull fetched (no push of the sync is outstanding by then).
fn apply_waiting_page(rt: &mut Runtime, mapper: &Mapper) -> Result<(), xact::XactError> {
    let Some(page) = rt.pull.waiting.pop_front() else {
        return Ok(());
    };
    if !page.continues(&rt.pull.state) {
        // Fetched ahead of a page that did not apply: progress is where it was stored.
        return Ok(());
    }
    let Ok(result) = page.result else {
        return Ok(());
    };
    let streamed = matches!(page.mode, Mode::Stream(_));
    let (poll, last) = (page.poll, result.more.is_none());
    let deferred: Vec<i64> = rt.deferred.drain(..).map(|r| r.id).collect();
    rt.cursor.rewind();
    let applied = xact::run_spi(|| {
        outbox::release(&deferred, None, false)?;
        if !fence::holds(rt.id, Planned::At(&page.stamp))? {
            // Read under another config (or for a sync since dropped): read it again.
            return Ok(false);
        }
        super::apply::apply(rt, mapper, page.mode, result)?;
        super::monitor::count_calls(rt)?;
        Ok(true)
    });
    if !matches!(applied, Ok(true)) {
        // Progress moves only with a committed page: start again from what is stored.
        rt.pull.state = xact::run_spi(|| crate::catalog::pull_state::load(rt.id))?;
        if streamed {
            super::stream::restart(rt);
        }
    } else if page.mode == Mode::Incremental {
        super::stream::poll_applied(rt, poll, last)?;
    }
    applied.map(drop)
}

/// Claims the next batch and turns it into queued requests.
fn claim(rt: &mut Runtime, mapper: &Arc<Mapper>) -> Result<(), xact::XactError> {
    claim_rows(rt, mapper, None)
}

/// Takes up the bulk jobs a previous worker recorded but never settled, before anything
/// else of the sync (a pull must not see their records before they are linked).
fn recover_bulk_jobs(rt: &mut Runtime, mapper: &Arc<Mapper>) -> Result<(), xact::XactError> {
    rt.bulk_recovered = true;
    let recorded = xact::run_spi(|| crate::catalog::bulk_jobs::unsettled(rt.id))?;
    for job in recorded {
        claim_rows(rt, mapper, Some(job))?;
    }
    Ok(())
}

/// Claims rows (those of a recorded bulk job, or the next batch) and queues their requests.
/// A recorded job's rows go out as that same job: it is finished and settled, never sent
/// twice, and its creates are not "doubtful" since the job's results tell their fate.
fn claim_rows(
    rt: &mut Runtime,
    mapper: &Arc<Mapper>,
    recorded: Option<crate::catalog::bulk_jobs::Recorded>,
) -> Result<(), xact::XactError> {
    let lease = lease_seconds();
    let prepared = xact::run_spi(|| -> pgrx::spi::SpiResult<push::Prepared> {
        if !fence::holds(rt.id, Planned::At(&rt.stamp))? {
            // The runtime is about to be rebuilt (or removed) with the new config.
            return Ok(push::Prepared::default());
        }
        let mut prepared = match &recorded {
            Some(job) => {
                let bulk = rt.client.as_ref().and_then(|c| c.bulk_batch());
                let limit = job.outbox_ids.len() as i64;
                let mut claimed = outbox::claim(
                    rt.id,
                    limit,
                    lease,
                    mapper.id_column(),
                    0,
                    Some(&job.outbox_ids),
                )?;
                if bulk.is_some() {
                    // Not doubtful: the job's results tell what became of them.
                    for row in &mut claimed {
                        row.abandoned = false;
                    }
                }
                push::prepare(rt, mapper, claimed, bulk)?
            }
            None => {
                let bulk = bulk_batch(rt)?;
                let batch = (rt.config.performance.batch_size as i64).max(bulk.unwrap_or(0) as i64);
                let from = rt.cursor.start(crate::worker::serve::sweep_interval());
                let claimed = outbox::claim(rt.id, batch, lease, mapper.id_column(), from, None)?;
                rt.cursor.advance(&claimed);
                if claimed.is_empty() && rt.deferred.is_empty() {
                    return Ok(push::Prepared::default());
                }
                push::prepare(rt, mapper, claimed, bulk)?
            }
        };
        if let Some(job) = &recorded {
            // No bulk chunk came of the rows (they were settled or discarded meanwhile):
            // nothing is left to settle through the job.
            match prepared
                .chunks
                .iter_mut()
                .find(|c| c.bulk && c.job.is_none())
            {
                Some(chunk) => chunk.job = Some(job.job.clone()),
                None => crate::catalog::bulk_jobs::forget(rt.id, &job.job)?,
            }
        }
        if prepared.chunks.iter().any(|c| c.kind == push::Kind::Create) {
            // A plain create cannot be sent twice safely: its lease must survive a crash,
            // so the restarted worker looks the record up instead of creating it again.
            Spi::run("SET LOCAL synchronous_commit TO on")?;
        }
        outbox::complete(&prepared.done)?;
        if !prepared.rejected.is_empty() {
            settle::park_or_discard(rt, &prepared.rejected)?;
            outbox::complete(&prepared.rejected_ids)?;
        }
        Ok(prepared)
    })?;
    let push::Prepared {
        chunks,
        deferred,
        doubtful,
        ..
    } = prepared;
    rt.deferred.extend(deferred);
    for record in chunks
        .iter()
        .flat_map(|c| c.records.iter())
        .chain(doubtful.iter())
    {
        rt.in_flight.insert(record.key.clone());
    }
    rt.queued.extend(chunks.into_iter().map(Work::Push));
    if !doubtful.is_empty() {
        let lookups = xact::run_spi(|| reconcile::lookups(rt, doubtful))?;
        queue_lookups(rt, lookups);
    }
    Ok(())
}

/// The most records one bulk write takes, when this claim should go through the
/// connector's bulk API: it has one, and more than `performance_settings.bulk_push_threshold`
/// rows wait (0 turns bulk pushes off).
fn bulk_batch(rt: &Runtime) -> pgrx::spi::SpiResult<Option<usize>> {
    let threshold = rt.config.performance.bulk_push_threshold;
    let Some(size) = rt.client.as_ref().and_then(|c| c.bulk_batch()) else {
        return Ok(None);
    };
    if threshold == 0 || !outbox::backlog_exceeds(rt.id, threshold)? {
        return Ok(None);
    }
    Ok(Some(size))
}

/// Hands queued work to free HTTP threads. Capacity is counted, so a submit never finds
/// the (equally sized) queue full.
fn submit_queued(rt: &mut Runtime, client: &Arc<dyn Connector>) {
    while rt.has_capacity() {
        let Some(work) = rt.queued.pop_front() else {
            break;
        };
        let (client, id) = (client.clone(), rt.id);
        let job: super::pool::Job<Outcome> = match work {
            Work::Push(chunk) => Box::new(move || jobs::push(client, chunk)),
            Work::Reconcile(lookups) => {
                let object = rt.config.remote.object.clone();
                Box::new(move || jobs::reconcile(client, id, object, lookups))
            }
        };
        if rt.pool.try_submit(job).is_err() {
            warning!(
                "hubsync worker: HTTP queue of sync {id} unexpectedly full; work will be redone"
            );
            break;
        }
        rt.outstanding += 1;
    }
}

fn queue_lookups(rt: &mut Runtime, lookups: Vec<Lookup>) {
    if lookups.is_empty() {
        return;
    }
    for lookup in &lookups {
        rt.in_flight.insert(lookup.record.key.clone());
    }
    rt.queued.push_back(Work::Reconcile(lookups));
}

/// Records a failure of one sync's work in its status (and in the worker's slot, `slot`);
/// the worker carries on.
fn report(slot: usize, sync_id: i32, error: &xact::XactError) {
    warning!("hubsync worker: sync {sync_id}: {error}");
    shared::record_error(slot, &error.to_string());
    let message = error.to_string();
    if let Err(e) = xact::run_spi(|| {
        Spi::run_with_args(
            "UPDATE hubsync.sync_stats SET last_error = $2, last_error_at = now() WHERE sync_id = $1",
            &[sync_id.into(), message.as_str().into()],
        )
    }) {
        warning!("hubsync worker: could not record that error: {e}");
    }
}

/// Leases outlive any request (several HTTP timeouts), so a live worker never loses one.
fn lease_seconds() -> f64 {
    let lease = crate::guc::LEASE_S.get() as f64;
    let timeout = crate::guc::HTTP_TIMEOUT_S.get() as f64;
    lease.max(3.0 * timeout)
}

/// Work waiting for a free HTTP thread.
pub enum Work {
    Push(Chunk),
    Reconcile(Vec<Lookup>),
}
