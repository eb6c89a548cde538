//! Salesforce: the describe model, request/response shapes and the blocking REST client
//! the worker's HTTP threads share.

pub(crate) mod auth;
pub mod bulk;
pub mod client;
pub mod connector;
pub mod describe;
mod error;
pub(crate) mod jwt;
mod metadata;
pub mod number;
pub mod query;
pub mod records;
pub mod replication;
pub mod soql;
pub mod streaming;

pub use client::{ClientConfig, ClientConfigError, SalesforceClient};
pub use query::{QueryOptions, QueryPage, QueryPages};
pub use records::{Record, SaveResult, UpsertResult, MAX_RECORDS, MAX_RETRIEVE_IDS};
pub use replication::{DeletedRecord, DeletedResult, UpdatedResult};
