//! Acting as the role a step serves, never as the role hubsync runs as.
//!
//! The worker runs as the bootstrap superuser and the API functions as the extension owner.
//! Every statement they run on a user's table runs instead as the role the sync serves, with
//! `SECURITY_RESTRICTED_OPERATION` (as `ANALYZE` and `REFRESH MATERIALIZED VIEW` do) and
//! `search_path` pinned to `pg_catalog, pg_temp`: the table's triggers, defaults, check
//! constraints, column privileges and row-level security policies apply exactly as if that
//! role had run the statement, and nothing they call can change the session (`SET ROLE`,
//! temporary objects, prepared statements) or find a function through a path a user chose.
//!
//! Invariant: the previous role, security context and settings are back in place when the
//! body returns or fails; a failure is then raised again unchanged.

use pgrx::pg_sys;
use pgrx::PgTryBuilder;
use std::panic::AssertUnwindSafe;

/// The only `search_path` privileged code resolves names with: nothing a user created is on it.
const PINNED_PATH: &std::ffi::CStr = c"pg_catalog, pg_temp";

/// Runs `body` as `role`, restricted, with the pinned `search_path`.
pub fn as_role<R>(role: pg_sys::Oid, body: impl FnOnce() -> R) -> R {
    let (mut user, mut context) = (pg_sys::InvalidOid, 0);
    // SAFETY: reading and setting the backend's user id and security context is what
    // SECURITY DEFINER calls and ANALYZE do; the `finally` below restores both on every path.
    unsafe {
        pg_sys::GetUserIdAndSecContext(&mut user, &mut context);
        pg_sys::SetUserIdAndSecContext(
            role,
            context
                | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32
                | pg_sys::SECURITY_RESTRICTED_OPERATION as i32,
        );
    }
    let restore = move || unsafe { pg_sys::SetUserIdAndSecContext(user, context) };
    let body = AssertUnwindSafe(body);
    PgTryBuilder::new(move || {
        let body = body;
        pinned(body.0)
    })
    .finally(restore)
    .execute()
}

/// Runs `body` with `search_path` set to `pg_catalog, pg_temp`, for code that resolves names
/// in a session whose path someone else chose (a trigger, the worker's database settings).
pub fn pinned<R>(body: impl FnOnce() -> R) -> R {
    // SAFETY: a GUC nest level is the mechanism Postgres itself uses for function-local
    // settings (`proconfig`); `AtEOXact_GUC(false, level)` undoes exactly what was set in it,
    // and an error unwinds it with the (sub)transaction.
    let level = unsafe {
        let level = pg_sys::NewGUCNestLevel();
        pg_sys::set_config_option(
            c"search_path".as_ptr(),
            PINNED_PATH.as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GucAction::GUC_ACTION_SAVE,
            true,
            0,
            false,
        );
        level
    };
    let body = AssertUnwindSafe(body);
    PgTryBuilder::new(move || {
        let body = body;
        (body.0)()
    })
    .finally(move || unsafe { pg_sys::AtEOXact_GUC(false, level) })
    .execute()
}

/// Whether the current role has the rights of `owner` (is it, a member of it, or a
/// superuser): who may manage a sync, use a connection, or speak for a sync's origin.
pub fn acts_for(owner: pg_sys::Oid) -> bool {
    // SAFETY: a catalog lookup through the syscache, valid in any transaction.
    unsafe { pg_sys::has_privs_of_role(pg_sys::GetUserId(), owner) }
}
