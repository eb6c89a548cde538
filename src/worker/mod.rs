//! The background worker: a launcher that waits for the configured database, and the
//! serving worker it starts there, which pushes and pulls.

mod apply;
mod dashboard;
mod engine;
mod events;
mod fence;
mod guard;
mod jobs;
pub mod launcher;
mod link;
mod monitor;
mod notify;
mod outbox;
mod planner_stats;
mod pool;
mod pull;
mod push;
mod reconcile;
mod runtime;
pub mod serve;
mod settle;
mod state;
mod stats;
mod stream;
mod subxact;
mod wait;
pub mod xact;

use hubsync_core::connector::{CallError, ObjectDescribe};

/// A message from an HTTP thread to the main thread.
pub enum Outcome {
    /// The remote object's describe, needed before the first push.
    Described {
        sync_id: i32,
        result: Result<ObjectDescribe, CallError>,
    },
    /// The answer to one batch of writes.
    Pushed(Box<settle::Pushed>),
    /// A bulk write's job, created and uploaded but not yet applied: its id is recorded
    /// before the job is finished.
    BulkOpened(Box<jobs::Opened>),
    /// Natural-key lookups of creates whose outcome was unknown.
    Reconciled(Box<reconcile::Reconciled>),
    /// A page of remote records for a pull.
    Pulled(Box<pull::Page>),
    /// What a sync's stream subscriber heard.
    Streamed(Box<stream::Heard>),
}
