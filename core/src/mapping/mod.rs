//! The mapping engine: how a local row becomes Salesforce fields and a Salesforce record
//! becomes local column values, with transformations, validation rules, field selection
//! and type coercion — pure code, used by the worker in both directions.
//!
//! Build a [`Mapper`] once per sync (it resolves every mapping against the table and the
//! describe and compiles transforms and rules), then call [`Mapper::to_remote`] /
//! [`Mapper::to_local`] per record. Per-record problems come back as data in a
//! [`RecordOutcome`]. `docs/mapping.md` is the user-facing reference.

mod build;
mod compat;
mod datum;
mod decimal;
mod indexes;
mod limits;
mod local_type;
mod mapper;
mod outcome;
mod phone;
mod plan;
pub(crate) mod remote_type;
mod rules;
mod selection;
mod temporal;
#[cfg(test)]
pub(crate) mod testkit;
mod transform;

pub use indexes::{quote_ident, recommend_indexes};
pub use mapper::{ExternalId, Mapper};
pub use outcome::{FieldIssue, PushOp, RecordOutcome, Rejection, Warning};
pub use selection::captured_columns;
pub use transform::check_transforms;

#[cfg(test)]
mod agreement_tests;
#[cfg(test)]
mod coercion_tests;
#[cfg(test)]
mod record_tests;
#[cfg(test)]
mod validation_tests;
