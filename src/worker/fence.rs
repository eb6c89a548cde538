//! Fencing: work planned for a sync touches the database only while the sync still is what
//! the work was planned for.
//!
//! A page or an answer can arrive after `drop_sync`, `alter_sync` or `pause_sync` changed
//! the sync under it. Every worker transaction that writes for a sync therefore starts by
//! locking the sync's catalog row `FOR SHARE`, and those functions lock it `FOR UPDATE`
//! before they change anything: the two never interleave, and a worker transaction that
//! finds the sync gone (or, for work that depends on the config, changed) drops its work
//! before it writes anything.
//!
//! Invariant: nothing is written to a user's table or to a sync's bookkeeping for a sync
//! that no longer exists; a pulled page is applied only under the config it was read with.

use pgrx::prelude::*;
use pgrx::spi::SpiResult;

/// What the work needs of the sync.
#[derive(Debug, Clone, Copy)]
pub enum Planned<'a> {
    /// Only that it still exists: an answer to a request already sent is settled under any
    /// later config (its outcome must not be lost).
    Exists,
    /// That it is still at this stamp (`updated_at`): a page mapped with an older config
    /// is read again instead.
    At(&'a str),
}

/// Whether the sync still holds for `planned`; its row stays locked until the transaction
/// ends, so `drop_sync` and `alter_sync` wait for the work to commit.
pub fn holds(sync_id: i32, planned: Planned<'_>) -> SpiResult<bool> {
    let current = crate::catalog::optional(Spi::get_one_with_args::<String>(
        "SELECT updated_at::text FROM hubsync.sync WHERE id = $1 FOR SHARE",
        &[sync_id.into()],
    ))?;
    Ok(match (current, planned) {
        (None, _) => false,
        (Some(_), Planned::Exists) => true,
        (Some(now), Planned::At(stamp)) => now == stamp,
    })
}
