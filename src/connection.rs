//! A Salesforce client for a sync's connection, built the same way for the worker, for
//! `hubsync.remote_query`, and for the check `create_sync` makes against the remote object.

use hubsync_core::config::{OAuthSecret, SyncConfig};
use hubsync_core::connector::Timeouts;
use hubsync_core::net::Network;
use hubsync_core::salesforce::{ClientConfig, ClientConfigError, SalesforceClient};
use std::time::Duration;

/// A client for `config`'s remote end with `secret`, sized for `parallelism` threads, each
/// request bounded by `timeout` (connecting by at most 10 s of it).
pub fn client(
    config: &SyncConfig,
    secret: OAuthSecret,
    parallelism: usize,
    timeout: Duration,
) -> Result<SalesforceClient, ClientConfigError> {
    SalesforceClient::new(ClientConfig {
        instance_url: config.remote.instance_url.clone(),
        login_url: config.remote.login_url.clone(),
        api_version: config.remote.api_version.clone(),
        secret,
        timeouts: Timeouts {
            connect: timeout.min(Duration::from_secs(10)),
            read: timeout,
        },
        parallelism,
        client_name: "hubsync".to_string(),
        network: network(),
    })
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
