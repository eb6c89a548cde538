//! The worker's side of `hubsync.outbox`: claiming batches under a lease, settling them.

use hubsync_core::coalesce::{Change, ChangeKind, Values};
use hubsync_core::config::SystemKind;
use hubsync_core::conflict::Writer;
use pgrx::prelude::*;
use pgrx::spi::SpiResult;
use pgrx::JsonB;
use serde_json::Value;

/// One claimed outbox row.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    /// The local primary key as a JSON array.
    pub pk: Value,
    pub change: ChangeKind,
    /// When the statement that made the change ran (epoch ms; for latency and last-write-wins).
    pub changed_at_ms: i64,
    /// Attempts including this one.
    pub attempts: i32,
    /// Claimed before by a worker that never settled it (crash): a create may have been sent.
    pub abandoned: bool,
    /// The remote id the row's id column held (updates and deletes), if captured.
    pub remote_id: Option<String>,
    /// The spoke whose sync wrote the change into the table (`None`: a local write).
    pub writer: Option<Writer>,
}

impl Claimed {
    /// The coalescer's view of this row.
    pub fn change(&self) -> Change {
        Change {
            outbox_id: self.id,
            kind: self.change.clone(),
        }
    }
}

/// Where the next claim starts: after the newest row claimed so far, so claims do not walk
/// past the dead rows of settled ones. Rows below it (given back for a retry, or committed
/// late by a long transaction) are found by a claim from the start, made after any row was
/// given back and at least once per sweep interval.
#[derive(Default)]
pub struct Cursor {
    after: i64,
    rescanned: Option<std::time::Instant>,
}

impl Cursor {
    /// The id the next claim starts after.
    pub fn start(&mut self, sweep: std::time::Duration) -> i64 {
        if self.rescanned.is_none_or(|t| t.elapsed() >= sweep) {
            self.rescanned = Some(std::time::Instant::now());
            return 0;
        }
        self.after
    }

    /// Moves past what was just claimed.
    pub fn advance(&mut self, claimed: &[Claimed]) {
        self.after = claimed.iter().map(|c| c.id).fold(self.after, i64::max);
    }

    /// Rows were given back: the next claim starts from the beginning.
    pub fn rewind(&mut self) {
        self.rescanned = None;
    }
}

/// A worker that starts owns nothing yet: whatever a previous run of the same pool member
/// (`index` of `size`) had claimed is abandoned. Marks such leases expired so they are
/// reclaimed (and reconciled) at once; other members' leases stay theirs.
pub fn expire_leases(size: i32, index: i32) -> SpiResult<()> {
    Spi::run_with_args(
        "UPDATE hubsync.outbox SET claimed_until = '-infinity' \
         WHERE claimed_until IS NOT NULL AND claimed_until > '-infinity' \
           AND sync_id % $1 = $2",
        &[size.into(), index.into()],
    )
}

/// Whether more than `threshold` rows of the sync wait in the outbox (counting stops at
/// `threshold + 1`, so a huge backlog costs no more than the threshold): what decides
/// whether a claim goes through the connector's bulk API.
pub fn backlog_exceeds(sync_id: i32, threshold: u64) -> SpiResult<bool> {
    let limit = i64::try_from(threshold).unwrap_or(i64::MAX - 1) + 1;
    let count = Spi::get_one_with_args::<i64>(
        "SELECT count(*) FROM (SELECT 1 FROM hubsync.outbox WHERE sync_id = $1 LIMIT $2) b",
        &[sync_id.into(), limit.into()],
    )?;
    Ok(count.unwrap_or_default() >= limit)
}

/// Claims up to `limit` rows of a sync in commit order, skipping records waiting for a
/// retry; nothing while the sync is paused (checked here, so a pause takes effect at once). `id_column` is the local column holding the remote id, if the sync maps `Id`.
/// The claimed ids are also given as an array (`o.id = ANY (ARRAY(…))`): joined only to
/// the CTE, the planner hashes the whole outbox for each claim, which makes a backlog's
/// drain quadratic; the array makes it probe the primary key for the claimed rows.
///
/// With `only`, just those rows are claimed (a recorded bulk job's, after a restart).
pub fn claim(
    sync_id: i32,
    limit: i64,
    lease_seconds: f64,
    id_column: Option<&str>,
    after: i64,
    only: Option<&[i64]>,
) -> SpiResult<Vec<Claimed>> {
    Spi::connect_mut(|client| {
        client
            .update(
                "WITH c AS ( \
                   SELECT o.id, o.claimed_until IS NOT NULL AS abandoned, o.origin FROM hubsync.outbox o \
                   WHERE o.sync_id = $1 AND o.id > $4 AND ($5::int8[] IS NULL OR o.id = ANY($5)) \
                     AND (o.claimed_until IS NULL OR o.claimed_until < now()) \
                     AND EXISTS (SELECT 1 FROM hubsync.sync s WHERE s.id = $1 AND s.state = 'active') \
                     AND NOT EXISTS (SELECT 1 FROM hubsync.record_state r \
                                     WHERE r.sync_id = $1 AND r.pk = o.pk AND r.retry_at > now()) \
                   ORDER BY o.id LIMIT $2 FOR UPDATE SKIP LOCKED) \
                 UPDATE hubsync.outbox o \
                 SET claimed_until = clock_timestamp() + make_interval(secs => $3), attempts = o.attempts + 1 \
                 FROM c LEFT JOIN hubsync.sync w ON w.id = c.origin \
                 WHERE o.id = c.id AND o.id = ANY (ARRAY(SELECT id FROM c)) \
                 RETURNING o.id, o.op::text, o.pk, o.new, o.old, \
                           (extract(epoch FROM o.changed_at) * 1000)::int8, o.attempts, c.abandoned, \
                           w.remote_system, w.connection",
                None,
                &[
                    sync_id.into(),
                    limit.into(),
                    lease_seconds.into(),
                    after.into(),
                    only.map(<[i64]>::to_vec).into(),
                ],
            )?
            .map(|row| {
                let op: String = row.get(2)?.unwrap_or_default();
                let new = values(row.get::<JsonB>(4)?);
                let old = values(row.get::<JsonB>(5)?);
                let remote_id = match op.as_str() {
                    "U" => id_column.and_then(|c| new.get(c)),
                    "D" => id_column.and_then(|c| old.get(c)),
                    _ => None,
                }
                .and_then(Value::as_str)
                .map(str::to_string);
                let change = match op.as_str() {
                    "I" => ChangeKind::Insert { values: new },
                    "U" => ChangeKind::Update { new, old },
                    _ => ChangeKind::Delete,
                };
                Ok(Claimed {
                    id: row.get(1)?.unwrap_or_default(),
                    pk: row.get::<JsonB>(3)?.map(|j| j.0).unwrap_or(Value::Null),
                    change,
                    changed_at_ms: row.get(6)?.unwrap_or_default(),
                    attempts: row.get(7)?.unwrap_or(1),
                    abandoned: row.get(8)?.unwrap_or(false),
                    remote_id,
                    writer: writer(row.get(9)?, row.get(10)?),
                })
            })
            .collect()
    })
}

/// The spoke a change came from, as the outbox's origin sync names it (its system and
/// connection; `None` for a local write).
pub fn writer(system: Option<String>, connection: Option<String>) -> Option<Writer> {
    Some(Writer {
        system: SystemKind::from_word(&system?)?,
        connection: connection?,
    })
}

fn values(json: Option<JsonB>) -> Values {
    match json.map(|j| j.0) {
        Some(Value::Object(map)) => map.into_iter().collect(),
        _ => Values::new(),
    }
}

/// Settled rows leave the outbox.
pub fn complete(ids: &[i64]) -> SpiResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    Spi::run_with_args(
        "DELETE FROM hubsync.outbox WHERE id = ANY($1)",
        &[ids.to_vec().into()],
    )
}

/// Gives rows back for a later claim. `count_attempt: false` undoes the claim's attempt
/// (the failure was the connection's, not the record's).
pub fn release(ids: &[i64], error: Option<&str>, count_attempt: bool) -> SpiResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    Spi::run_with_args(
        "UPDATE hubsync.outbox SET claimed_until = NULL, \
             attempts = CASE WHEN $3 THEN attempts ELSE greatest(attempts - 1, 0) END, \
             last_error = coalesce($2, last_error) \
         WHERE id = ANY($1)",
        &[ids.to_vec().into(), error.into(), count_attempt.into()],
    )
}
