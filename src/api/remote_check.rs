//! Checking a new or changed sync against the remote object while the user waits, when
//! the remote system can be reached: every mapped field exists, can be written as the direction
//! needs, and fits its column. When it cannot be reached (no credentials yet, network down),
//! the worker makes the same check at first contact and shows problems in `hubsync.status`.

use crate::connection;
use crossbeam_channel::bounded;
use hubsync_core::config::SyncConfig;
use hubsync_core::connector::{CallError, Connector, ObjectDescribe};
use hubsync_core::mapping::Mapper;
use hubsync_core::problem::{Problem, ProblemKind};
use hubsync_core::retry::Class;
use hubsync_core::schema::LocalTable;
use pgrx::prelude::*;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// How long `create_sync` waits for the remote system before leaving the check to the worker.
pub const WAIT: Duration = Duration::from_secs(5);

/// Problems the remote object has with the sync; empty when fine or when it cannot be
/// reached now (a NOTICE says so).
pub fn problems(config: &SyncConfig, table: &LocalTable, secret: Option<&Value>) -> Vec<Problem> {
    let Some(secret) = secret else {
        return Vec::new();
    };
    let Ok(client) = connection::connector(config, secret, 1, WAIT) else {
        return Vec::new();
    };
    match describe_now(client, &config.remote.object) {
        Ok(describe) => Mapper::new(config, table, &describe)
            .err()
            .unwrap_or_default(),
        Err(Some(error)) if error.class() == Class::Permanent && error.status == Some(404) => {
            vec![Problem::new(
                ProblemKind::UndefinedObject,
                format!("{}.object", config.remote.path),
                format!(
                    "{} has no object \"{}\": {error}",
                    config.remote.system.label(),
                    config.remote.object
                ),
            )]
        }
        Err(Some(error)) => later(&error.to_string()),
        Err(None) => later("no answer within 5 seconds"),
    }
}

/// Describes `object` on an HTTP thread while the caller waits at most [`WAIT`] (and a
/// second); `Err(None)` when no answer came in time.
pub fn describe_now(
    client: Arc<dyn Connector>,
    object: &str,
) -> Result<ObjectDescribe, Option<CallError>> {
    let (tx, rx) = bounded(1);
    let object = object.to_string();
    let spawned = crate::threads::with_signals_blocked(|| {
        std::thread::Builder::new()
            .name("hubsync-describe".into())
            .spawn(move || {
                let _ = tx.send(client.describe(&object));
            })
    });
    if spawned.is_err() {
        return Err(None);
    }
    match rx.recv_timeout(WAIT + Duration::from_secs(1)) {
        Ok(answer) => answer.map_err(Some),
        Err(_) => Err(None),
    }
}

fn later(why: &str) -> Vec<Problem> {
    notice!(
        "hubsync could not check the mapping against the remote system now ({why}); \
         the worker checks it at first contact and reports problems in hubsync.status"
    );
    Vec::new()
}
