//! Bulk writes as Zendesk runs them: the call answers a `job_status` at once
//! (`queued`), and a background task later applies every item and completes the job
//! with one result per item (reference §6). `GET /job_statuses/{id}` polls it.
//!
//! Jobs run one at a time in the order they were submitted, so two bulk calls touching
//! the same records end as they would if sent one after the other. The admin API can
//! hold jobs in `queued` (to test a client that polls) and release them.

use super::ops::{self, Outcome};
use super::record::{timestamp, Kind};
use super::state::Zendesk;
use super::store::{Store, WriteError};
use parking_lot::Mutex;
use serde_json::{json, Map, Value as Json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::watch;

/// What a bulk call does to each item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Create,
    Update,
    CreateOrUpdate,
    Destroy,
}

impl Op {
    fn job_type(self, kind: Kind) -> String {
        let verb = match self {
            Op::Create => "Create",
            Op::Update => "Update",
            Op::CreateOrUpdate => "Create or Update",
            Op::Destroy => "Delete",
        };
        format!("Bulk {verb} {}", kind.title())
    }
}

/// Which record an item names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The item's own body says (creates, upserts, batch updates by `id` or
    /// `external_id`).
    Body,
    Id(u64),
    ExternalId(String),
}

/// One item of a bulk call.
#[derive(Debug, Clone)]
pub struct Item {
    /// The record it names.
    pub target: Target,
    /// What to write.
    pub body: Map<String, Json>,
}

/// A bulk call to run.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Organizations or users.
    pub kind: Kind,
    /// What to do to each item.
    pub op: Op,
    /// At most 100.
    pub items: Vec<Item>,
}

#[derive(Debug, Clone)]
struct Job {
    job_type: String,
    total: usize,
    status: &'static str,
    progress: Option<usize>,
    message: Option<String>,
    results: Option<Vec<Json>>,
}

/// Every job of the account.
pub struct Jobs {
    map: Mutex<HashMap<String, Job>>,
    /// Jobs submitted so far; a job's number is its place in the run order.
    seq: AtomicU64,
    /// How many jobs have run: job n runs when this reaches n - 1.
    ran: watch::Sender<u64>,
    held: watch::Sender<bool>,
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs {
            map: Mutex::new(HashMap::new()),
            seq: AtomicU64::new(0),
            ran: watch::channel(0).0,
            held: watch::channel(false).0,
        }
    }
}

impl Jobs {
    /// Jobs queued or running.
    pub fn active(&self) -> usize {
        self.map
            .lock()
            .values()
            .filter(|j| matches!(j.status, "queued" | "working"))
            .count()
    }

    /// Holds new and queued jobs in `queued` (true) or lets them run (false).
    pub fn hold(&self, held: bool) {
        self.held.send_replace(held);
    }

    /// Forgets every job.
    pub fn reset(&self) {
        self.map.lock().clear();
    }

    /// A job as `job_status` JSON, `None` when unknown.
    pub fn to_json(&self, id: &str, base: &str) -> Option<Json> {
        let map = self.map.lock();
        let job = map.get(id)?;
        Some(json!({
            "id": id,
            "job_type": job.job_type,
            "url": format!("{base}/api/v2/job_statuses/{id}.json"),
            "total": job.total,
            "progress": job.progress,
            "status": job.status,
            "message": job.message,
            "results": job.results,
        }))
    }

    fn set(&self, id: &str, change: impl FnOnce(&mut Job)) {
        if let Some(job) = self.map.lock().get_mut(id) {
            change(job);
        }
    }
}

/// Queues a job and starts its task; answers the job id.
pub fn submit(zd: &Arc<Zendesk>, spec: Spec) -> String {
    let n = zd.jobs.seq.fetch_add(1, Ordering::Relaxed) + 1;
    let mut rng = crate::faults::SplitMix64::new(n);
    let id = format!("V3-{:016x}{:016x}", rng.next_u64(), rng.next_u64());
    zd.jobs.map.lock().insert(
        id.clone(),
        Job {
            job_type: spec.op.job_type(spec.kind),
            total: spec.items.len(),
            status: "queued",
            progress: None,
            message: None,
            results: None,
        },
    );
    tokio::spawn(run(zd.clone(), n, id.clone(), spec));
    id
}

async fn run(zd: Arc<Zendesk>, n: u64, id: String, spec: Spec) {
    tokio::time::sleep(zd.options.job_delay).await;
    let mut held = zd.jobs.held.subscribe();
    let _ = held.wait_for(|held| !held).await;
    let mut ran = zd.jobs.ran.subscribe();
    let _ = ran.wait_for(|ran| *ran + 1 >= n).await;
    zd.jobs.set(&id, |job| {
        job.status = "working";
        job.progress = Some(0);
        job.message = Some(format!("{} {} #1", verb(spec.op), spec.kind.singular()));
    });
    let now = zd.now();
    let results = {
        let mut store = zd.store.write();
        spec.items
            .iter()
            .enumerate()
            .map(|(index, item)| apply(&mut store, spec.kind, spec.op, index, item, now))
            .collect::<Vec<_>>()
    };
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] +0000");
    let finished = time::OffsetDateTime::from_unix_timestamp(now)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| timestamp(now));
    zd.jobs.set(&id, |job| {
        job.status = "completed";
        job.progress = Some(job.total);
        job.message = Some(format!("Completed at {finished}"));
        job.results = Some(results);
    });
    zd.jobs.ran.send_modify(|ran| *ran = (*ran).max(n));
}

fn verb(op: Op) -> &'static str {
    match op {
        Op::Create => "Creating",
        Op::Update | Op::CreateOrUpdate => "Updating",
        Op::Destroy => "Deleting",
    }
}

/// One item's result, shaped as recorded (reference §6): creates
/// `{"id","status":"Created"}`; updates, upserts and deletes
/// `{"action","id","status","success":true}`; failures
/// `{"index","error","id"?,"details"}`.
fn apply(store: &mut Store, kind: Kind, op: Op, index: usize, item: &Item, now: i64) -> Json {
    let target = match &item.target {
        Target::Id(id) => Some(*id),
        Target::ExternalId(e) => store.by_external_id(kind, e),
        Target::Body => match item.body.get("id").and_then(Json::as_u64) {
            Some(id) => Some(id),
            None => item
                .body
                .get("external_id")
                .and_then(Json::as_str)
                .and_then(|e| store.by_external_id(kind, e)),
        },
    };
    let failed = |error: WriteError, id: Option<u64>, action: &str| {
        let code = match error {
            WriteError::NotFound => "RecordNotFound".to_string(),
            WriteError::Invalid(_) => format!("{}{action}Failed", kind.title()),
        };
        let mut out = json!({"index": index, "error": code, "details": ops::describe(&error)});
        if let Some(id) = id {
            out["id"] = json!(id);
        }
        if let Target::ExternalId(e) = &item.target {
            out["external_id"] = json!(e);
        }
        out
    };
    let done = |action: &str, id: u64, status: &str| json!({"action": action, "id": id, "status": status, "success": true});
    match op {
        Op::Create => match ops::create(store, kind, &item.body, now) {
            Ok(id) => json!({"id": id, "status": "Created"}),
            Err(e) => failed(e, None, "Create"),
        },
        Op::Update => {
            let result = match target {
                Some(id) => ops::update(store, kind, id, &item.body, now),
                None => Err(WriteError::NotFound),
            };
            match result {
                Ok(()) => done("update", target.unwrap_or_default(), "Updated"),
                Err(e) => failed(e, target, "Update"),
            }
        }
        Op::CreateOrUpdate => match ops::upsert(store, kind, &item.body, now) {
            Ok(Outcome::Created(id)) => done("create", id, "Created"),
            Ok(Outcome::Updated(id)) => done("update", id, "Updated"),
            Err(e) => failed(e, None, "CreateOrUpdate"),
        },
        Op::Destroy => {
            let result = target
                .ok_or(WriteError::NotFound)
                .and_then(|id| store.delete(kind, id, now));
            match result {
                Ok(()) => done("delete", target.unwrap_or_default(), "Deleted"),
                Err(e) => failed(e, target, "Delete"),
            }
        }
    }
}
