//! hubsync-core: every decision hubsync makes, as pure functions with fast tests.
//!
//! The extension (`src/`) only moves data between Postgres and these functions;
//! the HTTP edge lives in the connectors ([`salesforce`], [`zendesk`]). Nothing here links against Postgres.

pub mod alerts;
pub mod coalesce;
pub mod config;
pub mod conflict;
pub mod connection_state;
pub mod connector;
pub mod dashboard;
pub mod hub;
pub mod latency;
pub mod loops;
pub mod mapping;
pub mod net;
pub mod netsuite;
pub mod notify;
pub mod placement;
pub mod problem;
pub mod pull;
pub mod pull_mode;
pub mod retry;
pub mod salesforce;
pub mod schema;
pub mod serving;
pub mod timestamp;
pub mod zendesk;
