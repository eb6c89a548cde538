//! `hubsync.guard_truncate()`: TRUNCATE removes rows without row triggers, so the deletes
//! would never reach the remote system. Refuse it while the sync is active.

use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

#[pg_trigger]
fn guard_truncate<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByPostgres>>, pgrx::PgTriggerError> {
    let args = trigger.extra_args()?;
    let sync_id: i32 = args.first().and_then(|a| a.parse().ok()).unwrap_or(0);
    let active = crate::privilege::pinned(|| {
        crate::catalog::optional(Spi::get_two_with_args::<String, String>(
            "SELECT name, state FROM hubsync.sync WHERE id = $1",
            &[sync_id.into()],
        ))
    });
    if let Ok((Some(name), Some(state))) = active {
        if state == "active" {
            crate::error::raise(
                PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                format!(
                    "cannot truncate \"{}\": it is synced by hubsync sync \"{name}\"",
                    trigger.table_name()?
                ),
                format!(
                    "Use DELETE so the deletions are synced, or pause the sync first with \
                     SELECT hubsync.pause_sync('{name}') (the truncation will then not reach the remote system)."
                ),
            );
        }
    }
    Ok(None)
}
