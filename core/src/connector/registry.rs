//! Which connector serves which system: the one place that names them all.

use super::{Connector, Timeouts};
use crate::config::{parse_netsuite_secret, parse_secret, parse_zendesk_secret, SystemKind};
use crate::net::Network;
use serde_json::Value;
use std::sync::Arc;

/// Where a sync's remote system is, as its config says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub system: SystemKind,
    /// The account's base URL (the org's instance, the Zendesk subdomain, the NetSuite
    /// REST host).
    pub instance_url: Option<String>,
    /// NetSuite's account id: the TBA realm, and the REST host when `instance_url` is
    /// not given.
    pub account_id: Option<String>,
    /// Where tokens come from, when that is elsewhere.
    pub login_url: Option<String>,
    /// The API version the config asks for (`59.0` for Salesforce; ignored elsewhere).
    pub api_version: String,
}

/// How a connector should behave on this machine.
#[derive(Debug, Clone)]
pub struct Options {
    /// Threads that share it: its connection pool keeps that many idle connections.
    pub parallelism: usize,
    pub timeouts: Timeouts,
    /// What the network edge allows (`hubsync.allow_http`, `hubsync.max_response_size`).
    pub network: Network,
    /// Sent where the system records which client made a change (Salesforce's
    /// `changeOrigin`), so hubsync recognises its own writes.
    pub client_name: String,
}

/// A connector for `endpoint` with the connection's stored `secret`; `Err` says what is
/// wrong with the configuration or the secrets (never repeating a secret).
pub fn connect(
    endpoint: &Endpoint,
    secret: &Value,
    options: Options,
) -> Result<Arc<dyn Connector>, String> {
    match endpoint.system {
        SystemKind::Salesforce => {
            let secret = parse_secret(secret)
                .map_err(|problems| format!("stored credentials are invalid: {}", problems[0]))?;
            let client = crate::salesforce::connector::client(endpoint, secret, options)
                .map_err(|e| format!("cannot reach Salesforce with this configuration: {e}"))?;
            Ok(Arc::new(client))
        }
        SystemKind::Netsuite => {
            let secret = parse_netsuite_secret(secret)
                .map_err(|problems| format!("stored credentials are invalid: {}", problems[0]))?;
            let client = crate::netsuite::connector::client(endpoint, secret, options)
                .map_err(|e| format!("cannot reach NetSuite with this configuration: {e}"))?;
            Ok(Arc::new(client))
        }
        SystemKind::Zendesk => {
            let secret = parse_zendesk_secret(secret)
                .map_err(|problems| format!("stored credentials are invalid: {}", problems[0]))?;
            let client = crate::zendesk::connector::client(endpoint, secret, options)
                .map_err(|e| format!("cannot reach Zendesk with this configuration: {e}"))?;
            Ok(Arc::new(client))
        }
        other => Err(format!(
            "hubsync has no connector for {} yet",
            other.label()
        )),
    }
}
