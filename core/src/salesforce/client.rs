//! The Salesforce REST client the worker's HTTP threads share.
//!
//! Blocking, `Send + Sync`, one per connection, shared through an `Arc`: the worker's
//! main thread (the only one touching Postgres) hands owned requests to a pool of plain
//! threads that call these methods. Every call carries `Sforce-Call-Options:
//! client=<name>` so hubsync recognises its own changes when they come back, refreshes an
//! expired token once transparently, and records the org's API usage from the answer.

use super::auth::{base_url, Auth, Token};
use super::soql::api_name;
use crate::config::OAuthSecret;
use crate::connector::error::{CallError, Scrubber};
pub(crate) use crate::connector::http::Request;
use crate::connector::http::{Http, Reply, Timeouts};
use crate::net::Network;
use crate::retry::{ApiUsage, Operation};
use serde::de::DeserializeOwned;
use url::Url;

/// Everything a client needs to reach one org.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The org's base URL (`https://acme.my.salesforce.com`); a token response's
    /// `instance_url` replaces it. Required with a bare `access_token`.
    pub instance_url: Option<String>,
    /// Where to get tokens (`https://login.salesforce.com`); defaults to `instance_url`.
    pub login_url: Option<String>,
    /// REST API version, `59.0` (a leading `v` is accepted).
    pub api_version: String,
    pub secret: OAuthSecret,
    pub timeouts: Timeouts,
    /// How many threads share the client: the connection pool keeps that many idle
    /// connections.
    pub parallelism: usize,
    /// Sent as `Sforce-Call-Options: client=<name>`; Change Data Capture reports it in
    /// `changeOrigin`, which is how echoes of hubsync's own writes are recognised.
    pub client_name: String,
    /// Which URLs may carry credentials and how big an answer may be: checked here for
    /// `instance_url` and `login_url`, and for the `instance_url` of every token response.
    pub network: Network,
}

/// A configuration the client cannot work with; the message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ClientConfigError(String);

/// A blocking Salesforce REST client; see the module docs.
pub struct SalesforceClient {
    http: Http,
    auth: Auth,
    /// `/services/data/vXX.X`.
    data_root: String,
    call_options: String,
    scrub: Scrubber,
    /// How long a Streaming API poll may be held: under the HTTP deadline.
    long_poll_ms: u64,
}

/// Longest a Streaming API server holds a poll (reference §9.3).
const SERVER_POLL_MS: u64 = 110_000;

impl SalesforceClient {
    /// Checks the configuration and prepares the connection pool; no request is made
    /// until the first call.
    pub fn new(config: ClientConfig) -> Result<SalesforceClient, ClientConfigError> {
        let bad = ClientConfigError;
        let network = config.network;
        let url = |key: &str, text: &Option<String>| {
            let Some(text) = text.as_deref() else {
                return Ok(None);
            };
            let url = base_url(text).map_err(bad)?;
            network
                .check(&url)
                .map_err(|e| bad(format!("{key}: {e}")))?;
            Ok(Some(url))
        };
        let instance_url = url("instance_url", &config.instance_url)?;
        let login_url = url("login_url", &config.login_url)?;
        let version = api_version(&config.api_version).map_err(bad)?;
        let client_name = client_name(&config.client_name).map_err(bad)?;
        let auth = Auth::new(config.secret, instance_url, login_url, network).map_err(bad)?;
        let deadline = config.timeouts.read.as_millis() as u64;
        Ok(SalesforceClient {
            long_poll_ms: deadline.saturating_sub(5_000).clamp(1_000, SERVER_POLL_MS),
            http: Http::new(
                config.timeouts,
                config.parallelism,
                network.max_response_bytes,
            ),
            scrub: Scrubber::new(auth.secrets()),
            auth,
            data_root: format!("/services/data/v{version}"),
            call_options: format!("client={client_name}"),
        })
    }

    /// The org's API usage from the latest answer's `Sforce-Limit-Info`, for the budget
    /// governor ([`crate::retry::api_budget_state`]); `None` until an answer carried it.
    pub fn api_usage(&self) -> Option<ApiUsage> {
        self.http.api_usage()
    }

    /// REST requests this client has sent (each counts against the org's daily limit;
    /// token requests do not and are not counted).
    pub fn api_calls(&self) -> u64 {
        self.http.api_calls()
    }

    /// Token requests this client has sent: one at start, one per expiry however many
    /// threads saw it expire.
    pub fn token_requests(&self) -> u64 {
        self.auth.requests()
    }

    /// Gets an access token now unless one is held, so bad secrets show before any call.
    pub fn sign_in(&self) -> Result<(), CallError> {
        self.auth
            .token(&self.http, Operation::Read, &self.scrub)
            .map(drop)
    }

    /// The name hubsync's writes carry (`Sforce-Call-Options: client=<name>`).
    pub(crate) fn client_name(&self) -> &str {
        self.call_options.trim_start_matches("client=")
    }

    /// How long a Streaming API poll may be held, in milliseconds.
    pub(crate) fn long_poll_ms(&self) -> u64 {
        self.long_poll_ms
    }

    /// Posts Bayeux messages to the Streaming API (`/cometd/<version>`) and returns the
    /// answer's messages. Polls are not API calls: the Streaming API has its own
    /// allocation, so they are not counted.
    pub(crate) fn bayeux(
        &self,
        messages: &serde_json::Value,
    ) -> Result<Vec<serde_json::Value>, CallError> {
        let version = self.data_root.trim_start_matches("/services/data/v");
        let request = Request::json("POST", format!("/cometd/{version}"), messages).uncounted();
        self.call(Operation::Read, &request)
    }

    /// The versioned data root, `/services/data/vXX.X`.
    pub(crate) fn data_root(&self) -> &str {
        &self.data_root
    }

    /// Sends a request and decodes a successful answer's JSON.
    pub(crate) fn call<T: DeserializeOwned>(
        &self,
        op: Operation,
        request: &Request,
    ) -> Result<T, CallError> {
        let reply = self.execute(op, request)?;
        serde_json::from_slice(&reply.body)
            .map_err(|e| CallError::unreadable(op, reply.status, &format!("unexpected JSON ({e})")))
    }

    /// Sends a request with the current token; on 401 gets a new token (one thread for
    /// all) and resends once.
    pub(crate) fn execute(&self, op: Operation, request: &Request) -> Result<Reply, CallError> {
        let token = self.auth.token(&self.http, op, &self.scrub)?;
        let reply = self.send(op, &token, request)?;
        if reply.status != 401 {
            return self.check(op, &token, reply);
        }
        if !self.auth.can_refresh() {
            return Err(CallError::no_grant(op));
        }
        let token = self.auth.refresh(&token, &self.http, op, &self.scrub)?;
        let reply = self.send(op, &token, request)?;
        self.check(op, &token, reply)
    }

    fn send(&self, op: Operation, token: &Token, request: &Request) -> Result<Reply, CallError> {
        let url = self.url(&token.instance_url, request);
        let bearer = format!("Bearer {}", token.access.expose());
        let mut headers: Vec<(&str, &str)> = vec![
            ("Authorization", &bearer),
            ("Sforce-Call-Options", &self.call_options),
        ];
        headers.extend(request.headers.iter().map(|(k, v)| (*k, v.as_str())));
        if request.counted {
            self.http
                .call(op, request.method, &url, &headers, &request.body)
        } else {
            self.http
                .exchange(op, request.method, &url, &headers, &request.body)
        }
    }

    fn url(&self, instance: &Url, request: &Request) -> Url {
        let mut url = instance.clone();
        if request.path.starts_with('/') {
            url.set_path(&request.path);
        } else {
            url.set_path(&format!("{}/{}", self.data_root, request.path));
        }
        request.add_query(&mut url);
        url
    }

    fn check(&self, op: Operation, token: &Token, reply: Reply) -> Result<Reply, CallError> {
        if (200..300).contains(&reply.status) {
            return Ok(reply);
        }
        let scrub = self.scrub.with(token.access.clone());
        Err(CallError::rejected(op, reply.status, &reply.body, &scrub))
    }
}

/// An object or field name checked before it goes into a URL path, refused the way
/// Salesforce would refuse an unknown type.
pub(crate) fn checked_name(op: Operation, text: &str) -> Result<&str, CallError> {
    api_name(text).map_err(|e| CallError::refused(op, "INVALID_TYPE", e.to_string()))
}

/// `59.0` from `59.0` or `v59.0`.
fn api_version(text: &str) -> Result<&str, String> {
    let version = text.trim().trim_start_matches(['v', 'V']);
    let (major, minor) = version.split_once('.').unwrap_or((version, ""));
    let digits = |s: &str, len: std::ops::RangeInclusive<usize>| {
        len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    if digits(major, 2..=3) && digits(minor, 1..=1) {
        Ok(version)
    } else {
        Err(format!(
            "api_version {text:?} is not a Salesforce REST API version; write it like 59.0"
        ))
    }
}

/// A client name safe inside the `Sforce-Call-Options` header.
fn client_name(text: &str) -> Result<&str, String> {
    let ok = !text.is_empty()
        && text.len() <= 100
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:".contains(c));
    if ok {
        Ok(text)
    } else {
        Err(format!(
            "client_name {text:?} must be 1-100 letters, digits or _-./: (it goes into the \
             Sforce-Call-Options header)"
        ))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::Secret;

    pub(crate) fn config() -> ClientConfig {
        ClientConfig {
            instance_url: Some("https://acme.my.salesforce.com".into()),
            login_url: None,
            api_version: "59.0".into(),
            secret: OAuthSecret {
                client_id: Some("ck".into()),
                client_secret: Some(Secret::new("cs-secret")),
                ..Default::default()
            },
            timeouts: Timeouts::default(),
            parallelism: 4,
            client_name: "hubsync".into(),
            network: Network::default(),
        }
    }

    #[test]
    fn the_client_is_shareable_across_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<SalesforceClient>();
    }

    #[test]
    fn builds_urls_below_the_versioned_root() {
        let client = SalesforceClient::new(ClientConfig {
            api_version: "v60.0".into(),
            ..config()
        })
        .unwrap();
        let instance = Url::parse("http://127.0.0.1:8080").unwrap();
        let request =
            Request::new("GET", "query").param("q", "SELECT Id FROM Account WHERE Name = 'a&b'");
        assert_eq!(
            client.url(&instance, &request).as_str(),
            "http://127.0.0.1:8080/services/data/v60.0/query?q=SELECT+Id+FROM+Account+WHERE+Name+%3D+%27a%26b%27"
        );
        let more = Request::new("GET", "/services/data/v60.0/query/01gxx-2000");
        assert_eq!(
            client.url(&instance, &more).as_str(),
            "http://127.0.0.1:8080/services/data/v60.0/query/01gxx-2000"
        );
    }

    #[test]
    fn rejects_bad_configurations_with_advice() {
        let err = |config: ClientConfig| SalesforceClient::new(config).err().unwrap().to_string();
        assert!(err(ClientConfig {
            api_version: "latest".into(),
            ..config()
        })
        .contains("like 59.0"));
        assert!(err(ClientConfig {
            client_name: "hub sync".into(),
            ..config()
        })
        .contains("client_name"));
        assert!(err(ClientConfig {
            client_name: "a;b".into(),
            ..config()
        })
        .contains("client_name"));
        assert!(err(ClientConfig {
            instance_url: Some("acme".into()),
            ..config()
        })
        .contains("not a URL"));
        assert!(err(ClientConfig {
            instance_url: None,
            ..config()
        })
        .contains("instance_url"));
        let plain = err(ClientConfig {
            login_url: Some("http://login.salesforce.com".into()),
            ..config()
        });
        assert!(
            plain.contains("login_url") && plain.contains("https"),
            "{plain}"
        );
        assert!(err(ClientConfig {
            instance_url: Some("http://acme.my.salesforce.com".into()),
            ..config()
        })
        .contains("instance_url"));
        for allowed in [
            ClientConfig {
                instance_url: Some("http://127.0.0.1:9".into()),
                ..config()
            },
            ClientConfig {
                instance_url: Some("http://acme.internal".into()),
                network: Network {
                    allow_http: true,
                    ..Network::default()
                },
                ..config()
            },
        ] {
            assert!(SalesforceClient::new(allowed).is_ok());
        }
        let msg = err(ClientConfig {
            secret: OAuthSecret::default(),
            ..config()
        });
        assert!(msg.contains("no OAuth grant"));
        assert!(!format!("{:?}", config()).contains("cs-secret"));
        assert_eq!(api_version("59.0"), Ok("59.0"));
        assert!(api_version("59").is_err());
        assert!(api_version("59.0/../x").is_err());
    }
}
