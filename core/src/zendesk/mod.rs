//! Zendesk Support API v2, Organizations and Users: the blocking client the worker's
//! HTTP threads share and its [`crate::connector::Connector`] implementation.
//!
//! The facts it follows are in `shared/reference/zendesk-api.md`; the local emulator
//! (`hubsync-emulator zendesk`) serves the same API for the tests. One module per
//! concern: [`object`] (the two objects and their records), [`describe`], `client` (auth
//! and the HTTP exchange), `writes` (plain requests and bulk jobs), `reads` (exports,
//! lists, lookups), `error` (Zendesk's error bodies).

pub mod client;
pub(crate) mod connector;
pub mod describe;
mod error;
pub mod object;
mod reads;
mod writes;

pub use client::{ClientConfig, ClientConfigError, ZendeskClient};
pub use writes::MAX_BATCH;
