//! Change capture: the row trigger that fills `hubsync.outbox` in the user's transaction,
//! the TRUNCATE guard, and the commit-time wake-up of the worker.

pub mod encode;
pub mod guard;
pub mod install;
pub mod origin;
mod tests;
pub mod trigger;
pub mod wake;
