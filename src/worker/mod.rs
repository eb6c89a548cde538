//! The background worker: a launcher that waits for the configured database, and the
//! serving worker it starts there, which pushes and pulls.

pub mod launcher;
pub mod serve;
pub mod xact;
