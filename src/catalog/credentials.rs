//! The secrets table: written only through `set_credentials` / `create_sync`, read only by
//! the worker. Values never leave this module except towards the remote system.

use crate::error::{raise, spi};
use pgrx::prelude::*;
use pgrx::spi::SpiResult;
use pgrx::{JsonB, PgSqlErrorCode};
use serde_json::Value;

/// Stores `secret` for `connection`, refusing to overwrite another role's credentials.
pub fn store(connection: &str, secret: &Value, role: pg_sys::Oid) {
    let owner = spi(
        crate::catalog::optional(Spi::get_one_with_args::<pg_sys::Oid>(
            "SELECT owner::oid FROM hubsync.credentials WHERE connection = $1",
            &[connection.into()],
        )),
        "read hubsync.credentials",
    );
    if let Some(owner) = owner {
        if !spi(
            crate::catalog::syncs::may_manage(role, owner),
            "check privileges",
        ) {
            raise(
                PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
                format!(
                    "permission denied to replace the credentials of connection \"{connection}\""
                ),
                "Only the role that stored them (or a member of it) can replace them.",
            );
        }
    }
    spi(
        Spi::run_with_args(
            "INSERT INTO hubsync.credentials (connection, secret, owner) VALUES ($1, $2, $3::oid::regrole) \
             ON CONFLICT (connection) DO UPDATE SET secret = EXCLUDED.secret, updated_at = now()",
            &[connection.into(), JsonB(secret.clone()).into(), role.into()],
        ),
        "store the credentials",
    );
}

/// The stored secret of `connection`, if any (for checks made while the user waits).
pub fn load(connection: &str) -> SpiResult<Option<Value>> {
    Ok(crate::catalog::optional(Spi::get_one_with_args::<JsonB>(
        "SELECT secret FROM hubsync.credentials WHERE connection = $1",
        &[connection.into()],
    ))?
    .map(|j| j.0))
}
