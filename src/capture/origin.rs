//! The origin tag: which sync (or which remote system) a transaction's writes come from.
//!
//! A row written by sync S — a pulled change, an id written back, a merge, a resolved
//! conflict — carries the transaction-local tag `sync:<S's id>`. The capture trigger of S
//! skips it (it came from S's system, so pushing it back would echo), while every other
//! sync of the table captures it: a change pulled from one spoke reaches every other spoke,
//! including a second org of the same system. A person may set the tag to a system's name
//! (`SET LOCAL hubsync.origin = 'salesforce'`) to keep a write from every sync of that
//! system. Either way, the tag counts only for roles acting for the sync's owner.

use pgrx::prelude::*;
use pgrx::spi::SpiResult;
use std::ffi::CString;

/// The tag a sync's own writes carry.
pub fn of_sync(sync_id: i32) -> CString {
    CString::new(format!("sync:{sync_id}")).expect("no NUL in a number")
}

/// Tags the rest of the current transaction's writes as coming from sync `sync_id`.
pub fn set(sync_id: i32) -> SpiResult<()> {
    let tag = of_sync(sync_id).to_string_lossy().into_owned();
    Spi::run_with_args(
        "SELECT set_config('hubsync.origin', $1, true)",
        &[tag.as_str().into()],
    )
}
