//! `hubsync.bulk_job`: bulk writes sent but not settled yet. A job's id is recorded, with
//! the outbox rows it carries, before the remote system may apply the job, and forgotten
//! in the transaction that settles it. A worker that stopped in between is therefore
//! succeeded by one that finishes and settles the same job, instead of sending its rows
//! a second time.

use pgrx::prelude::*;
use pgrx::spi::SpiResult;

/// One recorded job.
pub struct Recorded {
    pub job: String,
    /// The outbox rows the job carries.
    pub outbox_ids: Vec<i64>,
}

/// Records a job before it may be applied; the caller's transaction must commit
/// synchronously (a lost record would leave the job's rows to be sent again).
pub fn record(sync_id: i32, job: &str, outbox_ids: &[i64]) -> SpiResult<()> {
    Spi::run_with_args(
        "INSERT INTO hubsync.bulk_job (sync_id, job_id, outbox_ids) VALUES ($1, $2, $3) \
         ON CONFLICT (sync_id, job_id) DO UPDATE SET outbox_ids = EXCLUDED.outbox_ids",
        &[sync_id.into(), job.into(), outbox_ids.to_vec().into()],
    )
}

/// Forgets a job whose outcome is settled.
pub fn forget(sync_id: i32, job: &str) -> SpiResult<()> {
    Spi::run_with_args(
        "DELETE FROM hubsync.bulk_job WHERE sync_id = $1 AND job_id = $2",
        &[sync_id.into(), job.into()],
    )
}

/// The sync's jobs not settled yet, oldest first.
pub fn unsettled(sync_id: i32) -> SpiResult<Vec<Recorded>> {
    Spi::connect(|client| {
        client
            .select(
                "SELECT job_id, outbox_ids FROM hubsync.bulk_job WHERE sync_id = $1 \
                 ORDER BY created_at",
                None,
                &[sync_id.into()],
            )?
            .map(|row| {
                Ok(Recorded {
                    job: row.get(1)?.unwrap_or_default(),
                    outbox_ids: row.get(2)?.unwrap_or_default(),
                })
            })
            .collect()
    })
}
