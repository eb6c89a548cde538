//! Reading Postgres' catalog and hubsync's own tables.

pub mod credentials;
pub mod keys;
pub mod local_table;
pub mod review;
pub mod syncs;
