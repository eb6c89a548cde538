//! OAuth 2.0 access tokens, shared by all of the worker's HTTP threads.
//!
//! One token serves every thread. When it is rejected, exactly one thread asks for a new
//! one while the others wait and then use it, so a burst of 401s costs one token request,
//! and a refused grant is reported to all waiters instead of being retried by each.

use super::jwt::JwtSigner;
use crate::config::{Grant, OAuthSecret, Secret};
use crate::connector::error::{CallError, Scrubber};
pub(crate) use crate::connector::http::base_url;
use crate::connector::http::Http;
use crate::net::Network;
use crate::retry::Operation;
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};
use url::Url;

/// An access token and the org URL it is valid for.
pub(crate) struct Token {
    pub access: Secret,
    /// Where REST calls go: the token response's `instance_url`, else the configured one.
    pub instance_url: Url,
    /// Tells tokens apart, so a thread can ask "replace *this* rejected token".
    serial: u64,
}

/// The fields of a token response that hubsync uses.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    instance_url: Option<String>,
}

/// Token acquisition and the shared token cache.
pub(crate) struct Auth {
    secret: OAuthSecret,
    grant: Option<Grant>,
    token_url: Url,
    configured_instance: Option<Url>,
    /// `aud` of JWT assertions.
    audience: String,
    signer: Option<JwtSigner>,
    /// Checks the `instance_url` a token response names before the token goes there.
    network: Network,
    current: Mutex<Option<Arc<Token>>>,
    /// Held while a token is being fetched; remembers the last attempt's failure.
    refreshing: Mutex<Option<CallError>>,
    /// Token requests started; read before waiting for `refreshing`.
    attempts: AtomicU64,
    serials: AtomicU64,
}

impl Auth {
    /// Checks that the secrets can yield a token and where to ask for it.
    pub(crate) fn new(
        secret: OAuthSecret,
        instance_url: Option<Url>,
        login_url: Option<Url>,
        network: Network,
    ) -> Result<Auth, String> {
        let grant = secret.grant();
        let given = secret.access_token.clone();
        if grant.is_none() && (given.is_none() || instance_url.is_none()) {
            return Err(
                "the credentials allow no OAuth grant; give client_id with client_secret, \
                 refresh_token, username + password, or username + private_key (or an \
                 access_token together with instance_url)"
                    .into(),
            );
        }
        let host = login_url
            .clone()
            .or_else(|| instance_url.clone())
            .ok_or("set instance_url (or login_url) so hubsync knows where to get a token")?;
        let token_url = host
            .join("/services/oauth2/token")
            .map_err(|e| format!("login_url cannot hold the token path: {e}"))?;
        let signer = match (grant, &secret.private_key) {
            (Some(Grant::JwtBearer), Some(key)) => Some(JwtSigner::from_pem(key.expose())?),
            _ => None,
        };
        let serials = AtomicU64::new(0);
        let current = match (given, &instance_url) {
            (Some(access), Some(instance)) => Some(Arc::new(Token {
                access,
                instance_url: instance.clone(),
                serial: serials.fetch_add(1, Ordering::Relaxed),
            })),
            _ => None,
        };
        Ok(Auth {
            audience: jwt_audience(login_url.as_ref(), instance_url.as_ref()),
            secret,
            grant,
            token_url,
            configured_instance: instance_url,
            signer,
            network,
            current: Mutex::new(current),
            refreshing: Mutex::new(None),
            attempts: AtomicU64::new(0),
            serials,
        })
    }

    /// Every secret value, for scrubbing error texts.
    pub(crate) fn secrets(&self) -> Vec<Secret> {
        let s = &self.secret;
        [
            &s.client_secret,
            &s.refresh_token,
            &s.password,
            &s.security_token,
            &s.private_key,
            &s.access_token,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect()
    }

    /// The cached token, or a new one if there is none yet.
    pub(crate) fn token(
        &self,
        http: &Http,
        op: Operation,
        scrub: &Scrubber,
    ) -> Result<Arc<Token>, CallError> {
        let cached = lock(&self.current).clone();
        match cached {
            Some(token) => Ok(token),
            None => self.replace(None, http, op, scrub),
        }
    }

    /// A token other than `rejected`: the one another thread just fetched, or a new one.
    pub(crate) fn refresh(
        &self,
        rejected: &Token,
        http: &Http,
        op: Operation,
        scrub: &Scrubber,
    ) -> Result<Arc<Token>, CallError> {
        self.replace(Some(rejected.serial), http, op, scrub)
    }

    /// Fetches a token unless another thread did while this one waited.
    fn replace(
        &self,
        rejected: Option<u64>,
        http: &Http,
        op: Operation,
        scrub: &Scrubber,
    ) -> Result<Arc<Token>, CallError> {
        let attempts_seen = self.attempts.load(Ordering::SeqCst);
        let mut last_failure = lock(&self.refreshing);
        let cached = lock(&self.current).clone();
        if let Some(token) = cached {
            if rejected != Some(token.serial) {
                return Ok(token);
            }
        }
        if self.attempts.load(Ordering::SeqCst) != attempts_seen {
            if let Some(failure) = last_failure.as_ref() {
                return Err(failure.clone().for_op(op));
            }
        }
        self.attempts.fetch_add(1, Ordering::SeqCst);
        match self.fetch(http, op, scrub) {
            Ok(token) => {
                let token = Arc::new(token);
                *lock(&self.current) = Some(Arc::clone(&token));
                *last_failure = None;
                Ok(token)
            }
            Err(failure) => {
                *last_failure = Some(failure.clone());
                Err(failure)
            }
        }
    }

    /// One token request with the grant the secrets allow.
    fn fetch(&self, http: &Http, op: Operation, scrub: &Scrubber) -> Result<Token, CallError> {
        let form = self
            .grant_form()
            .map_err(|e| CallError::bad_token(op, &e))?;
        let reply = http.post_token_form(op, &self.token_url, form)?;
        if reply.status != 200 {
            return Err(CallError::token_refused(
                op,
                reply.status,
                &reply.body,
                scrub,
            ));
        }
        let response: TokenResponse = serde_json::from_slice(&reply.body)
            .map_err(|_| CallError::bad_token(op, "not a JSON token response"))?;
        let access = response
            .access_token
            .filter(|t| !t.is_empty())
            .map(Secret::new)
            .ok_or_else(|| CallError::bad_token(op, "no access_token"))?;
        let instance_url = match response.instance_url {
            Some(url) => {
                let url = base_url(&url).map_err(|e| CallError::bad_token(op, &e))?;
                self.network
                    .check(&url)
                    .map_err(|e| CallError::bad_token(op, &format!("its instance_url: {e}")))?;
                url
            }
            None => self.configured_instance.clone().ok_or_else(|| {
                CallError::bad_token(op, "no instance_url, and none is configured")
            })?,
        };
        Ok(Token {
            access,
            instance_url,
            serial: self.serials.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// The form body of the token request (secrets inside; never logged).
    fn grant_form(&self) -> Result<String, String> {
        let s = &self.secret;
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        let client_id = s.client_id.as_deref().unwrap_or_default();
        match self.grant {
            Some(Grant::ClientCredentials) => {
                form.append_pair("grant_type", "client_credentials");
                form.append_pair("client_id", client_id);
                append_secret(&mut form, "client_secret", &s.client_secret);
            }
            Some(Grant::RefreshToken) => {
                form.append_pair("grant_type", "refresh_token");
                form.append_pair("client_id", client_id);
                append_secret(&mut form, "client_secret", &s.client_secret);
                append_secret(&mut form, "refresh_token", &s.refresh_token);
            }
            Some(Grant::Password) => {
                let password = format!(
                    "{}{}",
                    s.password.as_ref().map(Secret::expose).unwrap_or_default(),
                    s.security_token
                        .as_ref()
                        .map(Secret::expose)
                        .unwrap_or_default()
                );
                form.append_pair("grant_type", "password");
                form.append_pair("client_id", client_id);
                append_secret(&mut form, "client_secret", &s.client_secret);
                form.append_pair("username", s.username.as_deref().unwrap_or_default());
                form.append_pair("password", &password);
            }
            Some(Grant::JwtBearer) => {
                let signer = self.signer.as_ref().ok_or("no private_key to sign with")?;
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let username = s.username.as_deref().unwrap_or_default();
                let assertion = signer.assertion(client_id, username, &self.audience, now)?;
                form.append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer");
                form.append_pair("assertion", &assertion);
            }
            None => return Err("no grant".into()),
        }
        Ok(form.finish())
    }

    /// Token requests sent so far.
    pub(crate) fn requests(&self) -> u64 {
        self.attempts.load(Ordering::SeqCst)
    }

    /// Whether a rejected token can be replaced at all.
    pub(crate) fn can_refresh(&self) -> bool {
        self.grant.is_some()
    }
}

fn append_secret(
    form: &mut url::form_urlencoded::Serializer<String>,
    key: &str,
    value: &Option<Secret>,
) {
    if let Some(value) = value {
        form.append_pair(key, value.expose());
    }
}

/// The `aud` claim Salesforce expects: the login host, or the production/sandbox login
/// host when tokens come from the org's own My Domain.
fn jwt_audience(login_url: Option<&Url>, instance_url: Option<&Url>) -> String {
    if let Some(login) = login_url {
        return login.as_str().trim_end_matches('/').to_string();
    }
    let sandbox = instance_url
        .and_then(Url::host_str)
        .is_some_and(|h| h.contains(".sandbox.") || h.starts_with("test."));
    if sandbox {
        "https://test.salesforce.com".into()
    } else {
        "https://login.salesforce.com".into()
    }
}

/// Locks a mutex, carrying on after a panicked holder: the cached data stays valid.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn secret(pairs: &[(&str, &str)]) -> OAuthSecret {
        let get = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        };
        let hidden = |key: &str| get(key).map(Secret::new);
        OAuthSecret {
            client_id: get("client_id"),
            client_secret: hidden("client_secret"),
            refresh_token: hidden("refresh_token"),
            username: get("username"),
            password: hidden("password"),
            security_token: hidden("security_token"),
            private_key: hidden("private_key"),
            access_token: hidden("access_token"),
        }
    }

    fn form(auth: &Auth) -> Vec<(String, String)> {
        url::form_urlencoded::parse(auth.grant_form().unwrap().as_bytes())
            .into_owned()
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn builds_each_grant_form() {
        let acme = Some("https://acme.my.salesforce.com");
        let acme_token = "https://acme.my.salesforce.com/services/oauth2/token";
        let login = Some("https://login.salesforce.com");
        type Pairs<'a> = &'a [(&'a str, &'a str)];
        /// (secret, instance_url, login_url, the form posted, where it is posted)
        type Grant<'a> = (
            Pairs<'a>,
            Option<&'a str>,
            Option<&'a str>,
            Pairs<'a>,
            &'a str,
        );
        let cases: [Grant; 3] = [
            (
                &[("client_id", "ck"), ("client_secret", "cs&=")],
                acme,
                None,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", "ck"),
                    ("client_secret", "cs&="),
                ],
                acme_token,
            ),
            (
                &[("client_id", "ck"), ("refresh_token", "rt")],
                acme,
                None,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", "ck"),
                    ("refresh_token", "rt"),
                ],
                acme_token,
            ),
            (
                &[
                    ("client_id", "ck"),
                    ("client_secret", "cs"),
                    ("username", "u@x"),
                    ("password", "pw"),
                    ("security_token", "TOK"),
                ],
                None,
                login,
                &[
                    ("grant_type", "password"),
                    ("client_id", "ck"),
                    ("client_secret", "cs"),
                    ("username", "u@x"),
                    ("password", "pwTOK"),
                ],
                "https://login.salesforce.com/services/oauth2/token",
            ),
        ];
        for (given, instance, login, posted, token_url) in cases {
            let auth = Auth::new(
                secret(given),
                instance.map(url),
                login.map(url),
                Network::default(),
            )
            .unwrap();
            assert_eq!(form(&auth), pairs(posted), "{posted:?}");
            assert_eq!(auth.token_url.as_str(), token_url);
        }
    }

    #[test]
    fn builds_a_jwt_bearer_form() {
        let key = include_str!("testdata/jwt_test_key.pem");
        let auth = Auth::new(
            secret(&[
                ("client_id", "ck"),
                ("username", "u@x"),
                ("private_key", key),
            ]),
            Some(url("https://acme--dev.sandbox.my.salesforce.com")),
            None,
            Network::default(),
        )
        .unwrap();
        let form = form(&auth);
        assert_eq!(
            form[0],
            (
                "grant_type".into(),
                "urn:ietf:params:oauth:grant-type:jwt-bearer".into()
            )
        );
        assert_eq!(form[1].0, "assertion");
        assert_eq!(auth.audience, "https://test.salesforce.com");
        assert!(!format!("{:?}", auth.signer).contains("MII"));
    }

    #[test]
    fn a_given_access_token_is_used_first() {
        let auth = Auth::new(
            secret(&[("access_token", "00Dabc!tok")]),
            Some(url("http://127.0.0.1:1")),
            None,
            Network::default(),
        )
        .unwrap();
        let token = lock(&auth.current).clone().unwrap();
        assert_eq!(token.access.expose(), "00Dabc!tok");
        assert!(!auth.can_refresh());
        assert!(Auth::new(
            secret(&[("access_token", "t")]),
            None,
            Some(url("http://x")),
            Network::default()
        )
        .is_err());
    }

    #[test]
    fn rejects_unusable_secrets_and_urls_without_echoing_them() {
        let err = Auth::new(
            OAuthSecret::default(),
            Some(url("http://x")),
            None,
            Network::default(),
        )
        .err()
        .unwrap();
        assert!(err.contains("no OAuth grant"));
        let err = Auth::new(
            secret(&[("client_id", "ck"), ("client_secret", "cs")]),
            None,
            None,
            Network::default(),
        )
        .err()
        .unwrap();
        assert!(err.contains("instance_url"));
        let err = Auth::new(
            secret(&[
                ("client_id", "ck"),
                ("username", "u"),
                ("private_key", "garbage-key-text"),
            ]),
            Some(url("http://x")),
            None,
            Network::default(),
        )
        .err()
        .unwrap();
        assert!(!err.contains("garbage-key-text"));
        for bad in [
            "ftp://x",
            "https://x/path",
            "https://u:p@x",
            "https://x?q=1",
            "nope",
        ] {
            assert!(base_url(bad).is_err(), "{bad}");
        }
        assert_eq!(
            base_url("https://x.my.salesforce.com/").unwrap().as_str(),
            "https://x.my.salesforce.com/"
        );
    }
}
