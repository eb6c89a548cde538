//! A sync's connector, built the same way for the worker, for `hubsync.remote_query`, and for
//! the check `create_sync` makes against the remote object.

use hubsync_core::config::{OAuthSecret, SyncConfig};
use hubsync_core::connector::{self, Connector, Endpoint, Options, Timeouts};
use hubsync_core::net::Network;
use hubsync_core::salesforce::{ClientConfigError, SalesforceClient};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// The connector for `config`'s remote system with the stored `secret`, sized for
/// `parallelism` threads, each request bounded by `timeout`; `Err` says what to fix.
pub fn connector(
    config: &SyncConfig,
    secret: &Value,
    parallelism: usize,
    timeout: Duration,
) -> Result<Arc<dyn Connector>, String> {
    connector_at(&endpoint(config), secret, parallelism, timeout)
}

/// The worker's connector for sync `sync_id`: like [`connector`], but its writes carry a
/// client name of the sync's own (`hubsync-<id>`), so the sync recognises its own changes
/// in Change Data Capture events and still hears those of other syncs on the same org.
pub fn sync_connector(
    sync_id: i32,
    config: &SyncConfig,
    secret: &Value,
    parallelism: usize,
    timeout: Duration,
) -> Result<Arc<dyn Connector>, String> {
    let options = Options {
        client_name: format!("{CLIENT_NAME}-{sync_id}"),
        ..options(parallelism, timeout)
    };
    connector::connect(&endpoint(config), secret, options)
}

/// The client name hubsync's calls carry (`Sforce-Call-Options: client=…`).
const CLIENT_NAME: &str = "hubsync";

/// The connector for an endpoint no sync names yet (a hub describing its objects).
pub fn connector_at(
    endpoint: &Endpoint,
    secret: &Value,
    parallelism: usize,
    timeout: Duration,
) -> Result<Arc<dyn Connector>, String> {
    connector::connect(endpoint, secret, options(parallelism, timeout))
}

/// A Salesforce client for `remote_query`, which sends SOQL as written.
pub fn salesforce_client(
    config: &SyncConfig,
    secret: OAuthSecret,
    timeout: Duration,
) -> Result<SalesforceClient, ClientConfigError> {
    hubsync_core::salesforce::connector::client(&endpoint(config), secret, options(1, timeout))
}

fn endpoint(config: &SyncConfig) -> Endpoint {
    Endpoint {
        system: config.remote.system,
        instance_url: config.remote.instance_url.clone(),
        account_id: config.remote.account_id.clone(),
        login_url: config.remote.login_url.clone(),
        api_version: config.remote.api_version.clone(),
    }
}

fn options(parallelism: usize, timeout: Duration) -> Options {
    Options {
        parallelism,
        timeouts: Timeouts {
            connect: timeout.min(Duration::from_secs(10)),
            read: timeout,
        },
        network: network(),
        client_name: CLIENT_NAME.to_string(),
    }
}

/// What the network edge allows now: `hubsync.allow_http` and `hubsync.max_response_size`.
pub fn network() -> Network {
    Network {
        allow_http: crate::guc::ALLOW_HTTP.get(),
        max_response_bytes: u64::try_from(crate::guc::MAX_RESPONSE_SIZE_KB.get())
            .unwrap_or(1)
            .max(1)
            * 1024,
    }
}

/// `hubsync.http_timeout` as a duration.
pub fn http_timeout() -> Duration {
    Duration::from_secs(crate::guc::HTTP_TIMEOUT_S.get().max(1) as u64)
}
