//! hubsync's SQL API called the way a client calls it: values travel as bind parameters.

use postgres::error::DbError;
use postgres::{Client, Error};
use serde_json::Value;
use std::fmt::Debug;

/// `hubsync.create_sync(config)`: the new sync's name.
pub fn create_sync(db: &mut Client, config: &Value) -> Result<String, Error> {
    db.query_one("SELECT hubsync.create_sync($1)", &[config])
        .map(|row| row.get(0))
}

/// `hubsync.alter_sync(name, patch)`.
pub fn alter_sync(db: &mut Client, name: &str, patch: &Value) -> Result<(), Error> {
    db.execute("SELECT hubsync.alter_sync($1, $2)", &[&name, patch])
        .map(drop)
}

/// `hubsync.<function>(name)` for the functions that take only a sync's name:
/// `drop_sync`, `pause_sync`, `resume_sync`, `retry_all`.
pub fn on_sync(db: &mut Client, function: &str, name: &str) -> Result<(), Error> {
    db.execute(&format!("SELECT hubsync.{function}($1)"), &[&name])
        .map(drop)
}

/// `hubsync.set_credentials(connection, secret)`.
pub fn set_credentials(db: &mut Client, connection: &str, secret: &Value) -> Result<(), Error> {
    db.execute(
        "SELECT hubsync.set_credentials($1, $2)",
        &[&connection, secret],
    )
    .map(drop)
}

/// One row of `hubsync.check_config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub problem: String,
    pub sqlstate: String,
}

/// `hubsync.check_config(config)`: every problem of the config, in order.
pub fn check_config(db: &mut Client, config: &Value) -> Vec<Problem> {
    db.query(
        "SELECT path, problem, sqlstate FROM hubsync.check_config($1)",
        &[config],
    )
    .expect("check_config never fails on a bad config")
    .iter()
    .map(|row| Problem {
        path: row.get(0),
        problem: row.get(1),
        sqlstate: row.get(2),
    })
    .collect()
}

/// The server's error for a call that must fail; panics (naming `what`) if it succeeded.
pub fn refused<T: Debug>(result: Result<T, Error>, what: &str) -> DbError {
    match result {
        Ok(value) => panic!("{what}: expected an error, got {value:?}"),
        Err(error) => error
            .as_db_error()
            .unwrap_or_else(|| panic!("{what}: not an error from the server: {error}"))
            .clone(),
    }
}

/// Message, detail and hint of an error: everything a user reads.
pub fn full_text(error: &DbError) -> String {
    format!(
        "{}\n{}\n{}",
        error.message(),
        error.detail().unwrap_or_default(),
        error.hint().unwrap_or_default()
    )
}
