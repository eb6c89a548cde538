//! The blocking Zendesk Support API v2 client the worker's HTTP threads share.
//!
//! One per connection, `Send + Sync`, over the shared HTTP edge ([`Http`]). Every request
//! carries the connection's fixed `Authorization` (API-token Basic or OAuth Bearer: there
//! is no token to refresh), goes only to the account's own host — page links Zendesk
//! hands back are checked against it before credentials travel with them — and every
//! error is scrubbed of the secrets.

use super::error::rejected;
use crate::config::{Secret, ZendeskSecret};
use crate::connector::error::{CallError, Scrubber};
pub(crate) use crate::connector::http::Request;
use crate::connector::http::{base_url, Http, Reply, Timeouts};
use crate::net::Network;
use crate::retry::{Operation, TransportError};
use base64::Engine;
use serde::de::DeserializeOwned;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use url::Url;

/// Everything a client needs to reach one Zendesk account.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The account's base URL: `https://{subdomain}.zendesk.com`, or the emulator's.
    pub base_url: String,
    /// The API token or OAuth token the connection signs in with.
    pub secret: ZendeskSecret,
    /// Connect and whole-exchange deadlines; the read deadline also bounds a bulk job.
    pub timeouts: Timeouts,
    /// How many threads share the client: the connection pool keeps that many idle
    /// connections.
    pub parallelism: usize,
    /// Which URLs may carry credentials and how big an answer may be.
    pub network: Network,
}

/// A configuration the client cannot work with; the message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ClientConfigError(String);

impl From<&str> for ClientConfigError {
    fn from(message: &str) -> Self {
        ClientConfigError(message.into())
    }
}

/// A blocking Zendesk client; see the module docs.
pub struct ZendeskClient {
    http: Http,
    base: Url,
    /// The whole `Authorization` header value.
    authorization: Secret,
    scrub: Scrubber,
    /// How long a bulk job may take before its outcome counts as unknown: the call
    /// deadline, as a job is part of the call that started it.
    pub(crate) job_deadline: Duration,
    /// Until when the incremental exports' own limit (10 requests a minute) holds reads
    /// back, from the `Retry-After` of their last 429.
    pub(crate) export_pause: Mutex<Option<Instant>>,
}

impl Request {
    /// Whether this is an incremental export call, which has a rate limit of its own.
    pub(crate) fn is_export(&self) -> bool {
        self.path.contains("incremental/")
    }

    /// A GET of a page link Zendesk gave.
    pub(crate) fn link(url: impl Into<String>) -> Request {
        Request {
            link: true,
            ..Request::new("GET", url)
        }
    }
}

impl ZendeskClient {
    /// Checks the configuration; no request is made until the first call.
    pub fn new(config: ClientConfig) -> Result<ZendeskClient, ClientConfigError> {
        let bad = ClientConfigError;
        let base = base_url(&config.base_url).map_err(bad)?;
        config
            .network
            .check(&base)
            .map_err(|e| bad(format!("instance_url: {e}")))?;
        let (authorization, secrets) = match &config.secret {
            ZendeskSecret::ApiToken { email, api_token } => {
                let pair = format!("{email}/token:{}", api_token.expose());
                let encoded = base64::engine::general_purpose::STANDARD.encode(&pair);
                (
                    Secret::new(format!("Basic {encoded}")),
                    vec![api_token.clone(), Secret::new(encoded)],
                )
            }
            ZendeskSecret::OAuth { access_token } => (
                Secret::new(format!("Bearer {}", access_token.expose())),
                vec![access_token.clone()],
            ),
        };
        Ok(ZendeskClient {
            http: Http::new(
                config.timeouts,
                config.parallelism,
                config.network.max_response_bytes,
            ),
            base,
            authorization,
            scrub: Scrubber::new(secrets),
            job_deadline: config.timeouts.read,
            export_pause: Mutex::new(None),
        })
    }

    /// Requests sent so far (each counts against the account's per-minute limit).
    pub fn api_calls(&self) -> u64 {
        self.http.api_calls()
    }

    /// Checks the credentials with `GET /api/v2/users/me.json`.
    pub fn sign_in(&self) -> Result<(), CallError> {
        self.call::<serde_json::Value>(Operation::Read, &Request::new("GET", "users/me.json"))
            .map(drop)
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

    /// Sends a request; an answer that is not 2xx becomes a [`CallError`].
    pub(crate) fn execute(&self, op: Operation, request: &Request) -> Result<Reply, CallError> {
        let reply = self.exchange(op, request)?;
        if (200..300).contains(&reply.status) {
            Ok(reply)
        } else {
            Err(self.refusal(op, &reply))
        }
    }

    /// What an answer that is not 2xx says, as a [`CallError`].
    pub(crate) fn refusal(&self, op: Operation, reply: &Reply) -> CallError {
        rejected(
            op,
            reply.status,
            &reply.body,
            reply.retry_after,
            &self.scrub,
        )
    }

    /// Sends a request and reads the whole answer, whatever its status.
    pub(crate) fn exchange(&self, op: Operation, request: &Request) -> Result<Reply, CallError> {
        let url = self.url(op, request)?;
        let headers = [("Authorization", self.authorization.expose())];
        self.http
            .call(op, request.method, &url, &headers, &request.body)
    }

    /// The request's URL; a link must point at the account's own origin, or the
    /// credentials would go with it to someone else.
    fn url(&self, op: Operation, request: &Request) -> Result<Url, CallError> {
        let mut url = if request.link {
            let url = Url::parse(&request.path)
                .ok()
                .filter(|u| u.origin() == self.base.origin() && u.path().starts_with("/api/v2/"));
            url.ok_or_else(|| {
                CallError::broken(
                    op,
                    TransportError::ConnectionRefused,
                    false,
                    "Zendesk's page link leads off the account's host; not following it",
                )
            })?
        } else {
            let mut url = self.base.clone();
            url.set_path(&format!("/api/v2/{}", request.path));
            url
        };
        request.add_query(&mut url);
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn config() -> ClientConfig {
        ClientConfig {
            base_url: "https://acme.zendesk.com".into(),
            secret: ZendeskSecret::ApiToken {
                email: "a@b.c".into(),
                api_token: Secret::new("t0k3n-secret"),
            },
            timeouts: Timeouts::default(),
            parallelism: 2,
            network: Network::default(),
        }
    }

    #[test]
    fn the_client_is_shareable_across_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<ZendeskClient>();
    }

    #[test]
    fn api_token_auth_is_basic_email_slash_token() {
        let client = ZendeskClient::new(config()).unwrap();
        let expected = base64::engine::general_purpose::STANDARD.encode("a@b.c/token:t0k3n-secret");
        assert_eq!(client.authorization.expose(), format!("Basic {expected}"));
        assert!(!format!("{:?}", config()).contains("t0k3n-secret"));
        let oauth = ZendeskClient::new(ClientConfig {
            secret: ZendeskSecret::OAuth {
                access_token: Secret::new("oauth-xyz"),
            },
            ..config()
        })
        .unwrap();
        assert_eq!(oauth.authorization.expose(), "Bearer oauth-xyz");
    }

    #[test]
    fn builds_urls_below_api_v2_and_follows_only_own_links() {
        let client = ZendeskClient::new(config()).unwrap();
        let request = Request::new("GET", "organizations.json").param("page[size]", "100");
        assert_eq!(
            client.url(Operation::Read, &request).unwrap().as_str(),
            "https://acme.zendesk.com/api/v2/organizations.json?page%5Bsize%5D=100"
        );
        let own = "https://acme.zendesk.com/api/v2/incremental/users/cursor.json?cursor=abc%3D";
        assert_eq!(
            client
                .url(Operation::Read, &Request::link(own))
                .unwrap()
                .as_str(),
            own
        );
        for foreign in [
            "https://evil.example/api/v2/users.json",
            "http://acme.zendesk.com/api/v2/users.json",
            "https://acme.zendesk.com/other",
            "not a url",
        ] {
            assert!(
                client
                    .url(Operation::Read, &Request::link(foreign))
                    .is_err(),
                "{foreign}"
            );
        }
    }

    #[test]
    fn refuses_unsafe_addresses() {
        let err = |base: &str| {
            ZendeskClient::new(ClientConfig {
                base_url: base.into(),
                ..config()
            })
            .err()
            .map(|e| e.to_string())
        };
        assert!(err("http://acme.zendesk.com")
            .unwrap()
            .contains("instance_url"));
        assert!(err("https://acme.zendesk.com/api/v2")
            .unwrap()
            .contains("base URL"));
        assert_eq!(err("http://127.0.0.1:8081"), None);
    }
}
