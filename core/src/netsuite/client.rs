//! The NetSuite REST client the worker's HTTP threads share: record calls and SuiteQL
//! against one account, each signed (TBA) or carrying the shared bearer token (M2M).
//!
//! NetSuite governs concurrency, not rate: the account allows a fixed number of requests
//! in flight and answers 429 to one more. So the client admits at most `parallelism` of
//! its requests at a time, however many threads call it — the batch's own threads and
//! the worker's alike — and a 429 still seen (other integrations share the limit) is
//! classified as rate limiting, which backs the whole connection off.

use super::auth::Auth;
use super::describe::{self, Described};
use super::suiteql::PAGE_LIMIT;
use super::{account_base_url, host_slug, realm};
use crate::config::NetsuiteSecret;
use crate::connector::error::{CallError, Scrubber};
use crate::connector::http::{Body, Http, Reply, Timeouts};
use crate::net::Network;
use crate::retry::Operation;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use url::Url;

/// Everything a client needs to reach one account.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The account id (`1234567`, `1234567_SB1`): the TBA realm, and the host when no
    /// `instance_url` is given.
    pub account_id: Option<String>,
    /// An explicit REST base URL (scheme and host), e.g. the emulator's.
    pub instance_url: Option<String>,
    /// How every request is authorised (TBA or M2M).
    pub secret: NetsuiteSecret,
    /// Limits of every request, so a stuck account never holds a worker thread.
    pub timeouts: Timeouts,
    /// Requests this client keeps in flight at most (`performance_settings.parallelism`).
    pub parallelism: usize,
    /// Which URLs may carry credentials and how big an answer may be.
    pub network: Network,
}

/// A configuration the client cannot work with; the message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ClientConfigError(String);

/// A blocking NetSuite client; see the module docs.
pub struct NetsuiteClient {
    http: Http,
    base: Url,
    auth: Auth,
    scrub: Scrubber,
    gate: Gate,
    parallelism: usize,
    /// Describes already read, by record type: writes and reads need field types.
    described: Mutex<HashMap<String, Arc<Described>>>,
}

/// One SuiteQL page.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SuiteqlPage {
    /// The rows: lower-case columns, every value text, null columns left out.
    #[serde(default)]
    pub items: Vec<Map<String, Value>>,
    /// Another page follows.
    #[serde(default)]
    pub has_more: bool,
    /// Rows the whole query matches.
    #[serde(default)]
    pub total_results: Option<u64>,
}

impl NetsuiteClient {
    /// Checks the configuration; no request is made until the first call.
    pub fn new(config: ClientConfig) -> Result<NetsuiteClient, ClientConfigError> {
        let bad = ClientConfigError;
        let base =
            match (&config.instance_url, &config.account_id) {
                (Some(url), _) => crate::salesforce::auth::base_url(url).map_err(|_| {
                    bad(format!(
                        "instance_url {url:?} is not a base URL; give scheme and host only, e.g. \
                     https://1234567.suitetalk.api.netsuite.com"
                    ))
                })?,
                (None, Some(account)) => account_base_url(account).map_err(bad)?,
                (None, None) => return Err(bad(
                    "set account_id (or instance_url) in the connection so hubsync knows which \
                     NetSuite account to reach"
                        .into(),
                )),
            };
        config
            .network
            .check(&base)
            .map_err(|e| bad(format!("instance_url: {e}")))?;
        let realm = config
            .account_id
            .as_deref()
            .map(realm)
            .or_else(|| account_of_host(&base).map(|slug| realm(&slug)));
        let scrub = Scrubber::new(config.secret.secrets());
        let auth = Auth::new(config.secret, &base, realm).map_err(bad)?;
        let parallelism = config.parallelism.max(1);
        Ok(NetsuiteClient {
            http: Http::new(
                config.timeouts,
                parallelism,
                config.network.max_response_bytes,
            ),
            base,
            auth,
            scrub,
            gate: Gate::new(parallelism),
            parallelism,
            described: Mutex::new(HashMap::new()),
        })
    }

    /// How many requests this client keeps in flight at most.
    pub fn parallelism(&self) -> usize {
        self.parallelism
    }

    /// Requests sent so far (token requests excluded).
    pub fn api_calls(&self) -> u64 {
        self.http.api_calls()
    }

    /// OAuth 2.0 token requests sent so far: one at start, one per expiry or rejection
    /// however many threads saw it.
    pub fn token_requests(&self) -> u64 {
        self.auth.token_requests()
    }

    /// A URL below the account's REST root (`/services/rest/…`).
    pub(crate) fn url(&self, path: &str, query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        url.set_path(&format!("/services/rest/{path}"));
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in query {
                pairs.append_pair(key, value);
            }
        }
        url
    }

    /// Sends one request inside the concurrency bound; with M2M, a rejected token is
    /// replaced and the request resent once.
    pub(crate) fn execute(
        &self,
        op: Operation,
        method: &str,
        url: &Url,
        headers: &[(&str, &str)],
        body: &Body,
    ) -> Result<Reply, CallError> {
        let _slot = self.gate.enter();
        let auth = self
            .auth
            .authorize(&self.http, method, url, None, op, &self.scrub)?;
        let reply = self.send(op, method, url, &auth.header, headers, body)?;
        let reply = match (reply.status, auth.bearer) {
            (401, Some(rejected)) => {
                let auth = self.auth.authorize(
                    &self.http,
                    method,
                    url,
                    Some(rejected),
                    op,
                    &self.scrub,
                )?;
                self.send(op, method, url, &auth.header, headers, body)?
            }
            _ => reply,
        };
        if (200..300).contains(&reply.status) {
            Ok(reply)
        } else {
            Err(CallError::netsuite_rejected(
                op,
                reply.status,
                &reply.body,
                &self.scrub,
            ))
        }
    }

    fn send(
        &self,
        op: Operation,
        method: &str,
        url: &Url,
        authorization: &str,
        headers: &[(&str, &str)],
        body: &Body,
    ) -> Result<Reply, CallError> {
        let mut all: Vec<(&str, &str)> = vec![("Authorization", authorization)];
        all.extend_from_slice(headers);
        self.http.call(op, method, url, &all, body)
    }

    /// Decodes a successful answer's JSON.
    pub(crate) fn decode<T: serde::de::DeserializeOwned>(
        op: Operation,
        reply: &Reply,
    ) -> Result<T, CallError> {
        serde_json::from_slice(&reply.body)
            .map_err(|e| CallError::unreadable(op, reply.status, &format!("unexpected JSON ({e})")))
    }

    /// One SuiteQL page (`limit` ≤ 1000, offset 0: the connector pages by key).
    pub(crate) fn suiteql(&self, query: &str) -> Result<SuiteqlPage, CallError> {
        let op = Operation::Read;
        let url = self.url(
            "query/v1/suiteql",
            &[("limit", PAGE_LIMIT.to_string()), ("offset", "0".into())],
        );
        let body = Body::Json(json!({ "q": query }).to_string());
        let reply = self.execute(op, "POST", &url, &[("Prefer", "transient")], &body)?;
        Self::decode(op, &reply)
    }

    /// Reads a record type's metadata and keeps it for later writes and reads.
    pub(crate) fn describe_fresh(
        &self,
        object: &str,
        record_type: &str,
    ) -> Result<Arc<Described>, CallError> {
        let op = Operation::Read;
        let url = self.url(&format!("record/v1/metadata-catalog/{record_type}"), &[]);
        let reply = self.execute(
            op,
            "GET",
            &url,
            &[("Accept", "application/schema+json")],
            &Body::Empty,
        )?;
        let schema: Value = Self::decode(op, &reply)?;
        let described = describe::from_schema(object, &schema)
            .map(Arc::new)
            .map_err(|e| CallError::unreadable(op, reply.status, &e))?;
        lock(&self.described).insert(record_type.to_string(), Arc::clone(&described));
        Ok(described)
    }

    /// The kept describe of a record type, read first if there is none.
    pub(crate) fn described(
        &self,
        object: &str,
        record_type: &str,
    ) -> Result<Arc<Described>, CallError> {
        let kept = lock(&self.described).get(record_type).cloned();
        match kept {
            Some(described) => Ok(described),
            None => self.describe_fresh(object, record_type),
        }
    }
}

/// The account slug of a `{slug}.suitetalk.api.netsuite.com` host.
fn account_of_host(base: &Url) -> Option<String> {
    base.host_str()?
        .strip_suffix(".suitetalk.api.netsuite.com")
        .map(host_slug)
}

/// A counting semaphore: at most `limit` holders at once; the rest wait.
struct Gate {
    limit: usize,
    held: Mutex<usize>,
    freed: Condvar,
}

/// One admitted request; leaving frees its place.
struct Slot<'a>(&'a Gate);

impl Gate {
    fn new(limit: usize) -> Gate {
        Gate {
            limit: limit.max(1),
            held: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    fn enter(&self) -> Slot<'_> {
        let mut held = lock(&self.held);
        while *held >= self.limit {
            held = self.freed.wait(held).unwrap_or_else(|p| p.into_inner());
        }
        *held += 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *lock(&self.0.held) -= 1;
        self.0.freed.notify_one();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    pub(crate) fn config() -> ClientConfig {
        ClientConfig {
            account_id: Some("1234567_SB1".into()),
            instance_url: None,
            secret: NetsuiteSecret::Tba {
                consumer_key: Secret::new("ck"),
                consumer_secret: Secret::new("cs-secret"),
                token_id: Secret::new("ti"),
                token_secret: Secret::new("ts-secret"),
            },
            timeouts: Timeouts::default(),
            parallelism: 3,
            network: Network::default(),
        }
    }

    #[test]
    fn the_client_is_shareable_across_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<NetsuiteClient>();
    }

    #[test]
    fn finds_the_account_host_or_the_given_url() {
        let client = NetsuiteClient::new(config()).unwrap();
        assert_eq!(
            client
                .url("query/v1/suiteql", &[("limit", "1000".into())])
                .as_str(),
            "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/query/v1/suiteql?limit=1000"
        );
        let local = NetsuiteClient::new(ClientConfig {
            instance_url: Some("http://127.0.0.1:8099".into()),
            ..config()
        })
        .unwrap();
        assert_eq!(
            local.url("record/v1/customer/7", &[]).as_str(),
            "http://127.0.0.1:8099/services/rest/record/v1/customer/7"
        );
        assert_eq!(
            account_of_host(&Url::parse("https://1234567-sb1.suitetalk.api.netsuite.com").unwrap()),
            Some("1234567-sb1".into())
        );
    }

    #[test]
    fn refuses_unusable_configurations_without_echoing_secrets() {
        let err = |config: ClientConfig| NetsuiteClient::new(config).err().unwrap().to_string();
        assert!(err(ClientConfig {
            account_id: None,
            ..config()
        })
        .contains("account_id"));
        assert!(err(ClientConfig {
            instance_url: Some("http://netsuite.example.com".into()),
            ..config()
        })
        .contains("https"));
        assert!(err(ClientConfig {
            instance_url: Some("https://x.example.com/path".into()),
            ..config()
        })
        .contains("base URL"));
        let tba_without_realm = err(ClientConfig {
            account_id: None,
            instance_url: Some("http://127.0.0.1:9".into()),
            ..config()
        });
        assert!(tba_without_realm.contains("realm"), "{tba_without_realm}");
        assert!(!format!("{:?}", config()).contains("cs-secret"));
    }

    #[test]
    fn the_gate_admits_at_most_its_limit() {
        let gate = Gate::new(2);
        let a = gate.enter();
        let _b = gate.enter();
        assert_eq!(*lock(&gate.held), 2);
        drop(a);
        let _c = gate.enter();
        assert_eq!(*lock(&gate.held), 2);
    }
}
