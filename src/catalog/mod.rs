//! Reading Postgres' catalog and hubsync's own tables.

pub mod bulk_jobs;
pub mod credentials;
pub mod keys;
pub mod local_table;
pub mod notifications;
pub mod pull_state;
pub mod review;
pub mod rows;
pub mod syncs;

use pgrx::spi::{SpiError, SpiResult};

/// A single-row query's answer where "no row" is a normal answer (pgrx reports it as an
/// invalid position).
pub fn optional<T: Default>(result: SpiResult<T>) -> SpiResult<T> {
    match result {
        Err(SpiError::InvalidPosition) => Ok(T::default()),
        other => other,
    }
}
