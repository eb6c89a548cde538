//! The secrets table: written only through `set_credentials` / `create_sync`, read only by
//! the worker and the API functions that call the remote system. Values never leave this
//! module except towards the remote system.
//!
//! A connection's credentials belong to the role that stored them: only that role (or a
//! role acting for it) may replace them or name the connection in a sync.

use crate::error::{raise, spi};
use pgrx::prelude::*;
use pgrx::spi::SpiResult;
use pgrx::{JsonB, PgSqlErrorCode};
use serde_json::Value;

/// Raises `42501` unless `role` may use the credentials of `connection`: none are stored
/// yet, or they were stored by a role `role` acts for.
pub fn check_use(connection: &str, role: pg_sys::Oid) {
    let owner = spi(
        crate::catalog::optional(Spi::get_one_with_args::<pg_sys::Oid>(
            "SELECT owner::oid FROM hubsync.credentials WHERE connection = $1",
            &[connection.into()],
        )),
        "read hubsync.credentials",
    );
    let Some(owner) = owner else {
        return;
    };
    if !spi(
        crate::catalog::syncs::may_manage(role, owner),
        "check privileges",
    ) {
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("permission denied for connection \"{connection}\": its credentials belong to another role"),
            "Name a connection of your own (\"connection_name\") and store its secrets with \
             hubsync.set_credentials(), or ask the credentials' owner to GRANT you their role.",
        );
    }
}

/// Stores `secret` for `connection`, refusing to overwrite another role's credentials.
pub fn store(connection: &str, secret: &Value, role: pg_sys::Oid) {
    check_use(connection, role);
    spi(
        Spi::run_with_args(
            "INSERT INTO hubsync.credentials (connection, secret, owner) VALUES ($1, $2, $3::oid::regrole) \
             ON CONFLICT (connection) DO UPDATE SET secret = EXCLUDED.secret, updated_at = now()",
            &[connection.into(), JsonB(secret.clone()).into(), role.into()],
        ),
        "store the credentials",
    );
}

/// The stored secret of `connection` for a call made for `role` (raises if the credentials
/// belong to a role it does not act for); `None` when none are stored.
pub fn load(connection: &str, role: pg_sys::Oid) -> SpiResult<Option<Value>> {
    check_use(connection, role);
    Ok(crate::catalog::optional(Spi::get_one_with_args::<JsonB>(
        "SELECT secret FROM hubsync.credentials WHERE connection = $1",
        &[connection.into()],
    ))?
    .map(|j| j.0))
}
