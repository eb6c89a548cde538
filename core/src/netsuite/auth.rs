//! How every NetSuite request is authorised, shared by all of the worker's HTTP threads.
//!
//! Token-Based Authentication signs each request anew (fresh nonce and timestamp over
//! the exact URL sent), so there is nothing to renew: a 401 means the secrets are wrong.
//! OAuth 2.0 M2M buys a 60-minute bearer token with a signed JWT assertion (no refresh
//! token exists in this flow); one token serves every thread, it is renewed shortly
//! before it expires, and when NetSuite rejects it exactly one thread buys the next while
//! the others wait and use it — a burst of 401s costs one token request.

use super::m2m::{self, M2mCredentials};
use super::tba::{self, Stamp, TokenCredentials};
use crate::config::{NetsuiteSecret, Secret};
use crate::connector::error::{CallError, Scrubber};
use crate::connector::http::Http;
use crate::retry::Operation;
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use url::Url;

/// A token is renewed when less than this is left of its life, so a request never
/// leaves with a token that expires on the way.
const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// The lifetime NetSuite documents, when its answer names none.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// The `Authorization` of one request, and which bearer token it carried (to renew
/// exactly that one if it is rejected).
pub(crate) struct Authorization {
    pub header: String,
    pub bearer: Option<u64>,
}

/// The sign-in method of a client.
pub(crate) enum Auth {
    Tba(TokenCredentials),
    M2m(Box<Bearers>),
}

/// M2M credentials and the shared token.
pub(crate) struct Bearers {
    credentials: M2mCredentials,
    token_url: Url,
    current: Mutex<Option<Arc<Bearer>>>,
    /// Held while a token is bought.
    buying: Mutex<()>,
    serials: AtomicU64,
    bought: AtomicU64,
}

struct Bearer {
    access: Secret,
    renew_at: Instant,
    serial: u64,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    /// A string (`"3600"`) in NetSuite's documented answers, a number in others.
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

impl Auth {
    /// The method `secret` names; `realm` (the account id) is needed by TBA only.
    pub(crate) fn new(
        secret: NetsuiteSecret,
        base: &Url,
        realm: Option<String>,
    ) -> Result<Auth, String> {
        match secret {
            NetsuiteSecret::Tba {
                consumer_key,
                consumer_secret,
                token_id,
                token_secret,
            } => {
                let realm = realm.ok_or(
                    "token-based authentication needs the account id for its realm; set \
                     account_id in the connection (beside instance_url)",
                )?;
                Ok(Auth::Tba(TokenCredentials {
                    realm,
                    consumer_key: consumer_key.expose().to_string(),
                    consumer_secret,
                    token_id: token_id.expose().to_string(),
                    token_secret,
                }))
            }
            NetsuiteSecret::M2m {
                client_id,
                certificate_id,
                private_key,
            } => Ok(Auth::M2m(Box::new(Bearers {
                credentials: M2mCredentials::new(
                    &client_id,
                    &certificate_id,
                    private_key.expose(),
                )?,
                token_url: m2m::token_url(base)?,
                current: Mutex::new(None),
                buying: Mutex::new(()),
                serials: AtomicU64::new(0),
                bought: AtomicU64::new(0),
            }))),
        }
    }

    /// The `Authorization` for `method url`. With M2M, `rejected` names a token NetSuite
    /// refused: another one is used (bought unless another thread already did).
    pub(crate) fn authorize(
        &self,
        http: &Http,
        method: &str,
        url: &Url,
        rejected: Option<u64>,
        op: Operation,
        scrub: &Scrubber,
    ) -> Result<Authorization, CallError> {
        match self {
            Auth::Tba(credentials) => {
                let stamp = Stamp::fresh(now_secs()).map_err(|e| {
                    CallError::broken(
                        op,
                        crate::retry::TransportError::ConnectionRefused,
                        false,
                        &e,
                    )
                })?;
                Ok(Authorization {
                    header: tba::authorization(credentials, method, url, &stamp),
                    bearer: None,
                })
            }
            Auth::M2m(bearers) => {
                let token = bearers.token(http, rejected, op, scrub)?;
                Ok(Authorization {
                    header: format!("Bearer {}", token.access.expose()),
                    bearer: Some(token.serial),
                })
            }
        }
    }

    /// Token requests made so far (M2M; always 0 with TBA).
    pub(crate) fn token_requests(&self) -> u64 {
        match self {
            Auth::Tba(_) => 0,
            Auth::M2m(bearers) => bearers.bought.load(Ordering::SeqCst),
        }
    }
}

impl Bearers {
    fn token(
        &self,
        http: &Http,
        rejected: Option<u64>,
        op: Operation,
        scrub: &Scrubber,
    ) -> Result<Arc<Bearer>, CallError> {
        let usable = |token: &Option<Arc<Bearer>>| {
            token
                .as_ref()
                .filter(|t| Some(t.serial) != rejected && Instant::now() < t.renew_at)
                .cloned()
        };
        if let Some(token) = usable(&lock(&self.current)) {
            return Ok(token);
        }
        let _buying = lock(&self.buying);
        // Another thread may have bought one while this one waited.
        if let Some(token) = usable(&lock(&self.current)) {
            return Ok(token);
        }
        let token = Arc::new(self.buy(http, op, scrub)?);
        *lock(&self.current) = Some(Arc::clone(&token));
        Ok(token)
    }

    /// One client-credentials grant with a fresh assertion.
    fn buy(&self, http: &Http, op: Operation, scrub: &Scrubber) -> Result<Bearer, CallError> {
        self.bought.fetch_add(1, Ordering::SeqCst);
        let form = self
            .credentials
            .token_form(&self.token_url, now_secs())
            .map_err(|e| CallError::refused(op, "invalid_client", e))?;
        let reply = http.post_token_form(op, &self.token_url, form)?;
        if reply.status != 200 {
            return Err(CallError::token_refused_by(
                "NetSuite",
                op,
                reply.status,
                &reply.body,
                scrub,
            ));
        }
        let unusable = |what: &str| {
            CallError::unreadable(
                op,
                reply.status,
                &format!("the token endpoint's answer {what}"),
            )
        };
        let answer: TokenAnswer =
            serde_json::from_slice(&reply.body).map_err(|_| unusable("is not JSON"))?;
        let access = answer
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unusable("holds no access_token"))?;
        let lifetime = lifetime(answer.expires_in.as_ref());
        Ok(Bearer {
            access: Secret::new(access),
            renew_at: Instant::now() + lifetime.saturating_sub(RENEW_BEFORE),
            serial: self.serials.fetch_add(1, Ordering::Relaxed),
        })
    }
}

/// `expires_in` as a string or a number of seconds, else NetSuite's 60 minutes.
fn lifetime(expires_in: Option<&serde_json::Value>) -> Duration {
    let seconds = match expires_in {
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        _ => None,
    };
    seconds.map_or(DEFAULT_LIFETIME, Duration::from_secs)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Locks a mutex, carrying on after a panicked holder: the cached token stays valid.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn token_lifetimes_read_as_strings_or_numbers() {
        assert_eq!(lifetime(Some(&json!("3600"))), Duration::from_secs(3600));
        assert_eq!(lifetime(Some(&json!(1800))), Duration::from_secs(1800));
        assert_eq!(lifetime(Some(&json!("soon"))), DEFAULT_LIFETIME);
        assert_eq!(lifetime(None), DEFAULT_LIFETIME);
    }

    #[test]
    fn tba_needs_a_realm() {
        let secret = NetsuiteSecret::Tba {
            consumer_key: Secret::new("ck"),
            consumer_secret: Secret::new("cs"),
            token_id: Secret::new("ti"),
            token_secret: Secret::new("ts"),
        };
        let base = Url::parse("http://127.0.0.1:9").unwrap();
        let err = Auth::new(secret.clone(), &base, None).err().unwrap();
        assert!(err.contains("account_id"));
        assert!(Auth::new(secret, &base, Some("1234567".into())).is_ok());
    }
}
