//! Sync configuration: the product brief's JSON, parsed and validated.

pub mod model;

pub use model::*;
