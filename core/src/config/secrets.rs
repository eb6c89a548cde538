//! Remote-system secrets: kept apart from the config and never printed.
//!
//! A config may carry OAuth secrets in `source.credentials` (the brief puts credentials
//! there); the extension stores the config *without* them and the secrets in a table only
//! the extension owner can read. Everything that holds a secret prints `***` instead.

mod netsuite;

pub use netsuite::{parse_netsuite_secret, NetsuiteSecret, NETSUITE_SECRET_KEYS};

use super::model::SystemKind;
use super::scalars::SecretText;
use super::walker::{Obj, Problems};
use crate::problem::Problem;
use serde_json::{Map, Value};
use std::fmt;

/// Credential keys that are secrets of the remote end (moved out of the config).
pub const SECRET_KEYS: &[&str] = &[
    "client_id",
    "client_secret",
    "refresh_token",
    "username",
    "password",
    "private_key",
    "access_token",
    "security_token",
];

/// The keys of a Zendesk connection's secret object: an agent's `email` with an
/// `api_token`, or an OAuth `access_token`. (The email is not secret, but it is half of the
/// credential, so it is kept with the token.)
pub const ZENDESK_SECRET_KEYS: &[&str] = &["email", "api_token", "access_token"];

/// The credential keys moved out of a config's `credentials` for a remote end of this
/// system: Zendesk and NetSuite have their own, everything else OAuth's.
pub fn secret_keys(system: SystemKind) -> &'static [&'static str] {
    match system {
        SystemKind::Zendesk => ZENDESK_SECRET_KEYS,
        SystemKind::Netsuite => NETSUITE_SECRET_KEYS,
        _ => SECRET_KEYS,
    }
}

/// Where the account is, which a connection's stored credentials may say (a hub's objects
/// take it from there when the hub block does not): not secret, never moved out of configs.
/// `account_id` is NetSuite's.
pub const ENDPOINT_KEYS: &[&str] = &["instance_url", "login_url", "account_id"];

/// A secret string whose Debug and Display print `***`, so it cannot leak into logs or errors.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one place that must send it (the token request).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How a secret lets hubsync obtain an access token (Salesforce OAuth 2.0 grants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// `client_id` + `username` + `private_key`: a signed JWT assertion.
    JwtBearer,
    /// `client_id` + `refresh_token` (+ `client_secret`).
    RefreshToken,
    /// `client_id` + `client_secret` + `username` + `password` (+ `security_token`).
    Password,
    /// `client_id` + `client_secret`, on the org's My Domain host.
    ClientCredentials,
}

/// The secret object of a connection, as `hubsync.set_credentials` receives it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OAuthSecret {
    /// Consumer key of the connected app (not secret, but useless without the rest).
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub refresh_token: Option<Secret>,
    /// The Salesforce user for the password and JWT grants (not secret).
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// Appended to `password` for the password grant, as Salesforce requires from untrusted IPs.
    pub security_token: Option<Secret>,
    /// PEM private key signing JWT assertions.
    pub private_key: Option<Secret>,
    /// A current access token, used until it expires.
    pub access_token: Option<Secret>,
}

impl OAuthSecret {
    /// The grant these secrets allow, preferring the ones that need no password.
    pub fn grant(&self) -> Option<Grant> {
        let id = self.client_id.is_some();
        if id && self.username.is_some() && self.private_key.is_some() {
            Some(Grant::JwtBearer)
        } else if id && self.refresh_token.is_some() {
            Some(Grant::RefreshToken)
        } else if id
            && self.client_secret.is_some()
            && self.username.is_some()
            && self.password.is_some()
        {
            Some(Grant::Password)
        } else if id && self.client_secret.is_some() {
            Some(Grant::ClientCredentials)
        } else {
            None
        }
    }
}

/// A Zendesk connection's secrets, as `hubsync.set_credentials` receives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZendeskSecret {
    /// An agent's API token: Basic auth as `{email}/token:{api_token}`.
    ApiToken {
        /// The agent the token belongs to.
        email: String,
        /// The agent's API token.
        api_token: Secret,
    },
    /// An OAuth access token, sent as `Bearer`.
    OAuth {
        /// The access token.
        access_token: Secret,
    },
}

/// Reads and checks a Zendesk secret object: `email` + `api_token`, or `access_token`.
pub fn parse_zendesk_secret(json: &Value) -> Result<ZendeskSecret, Vec<Problem>> {
    let mut problems = Problems::default();
    let keys = [ZENDESK_SECRET_KEYS, ENDPOINT_KEYS].concat();
    let Some(obj) = Obj::open(json, "", &keys, &mut problems) else {
        return Err(problems.into_vec());
    };
    for key in ENDPOINT_KEYS {
        obj.get::<String>(key, &mut problems);
    }
    let text =
        |key: &str, problems: &mut Problems| obj.get::<SecretText>(key, problems).map(|s| s.0);
    let email = text("email", &mut problems);
    let api_token = text("api_token", &mut problems).map(Secret);
    let access_token = text("access_token", &mut problems).map(Secret);
    if problems.is_empty() {
        check_zendesk(&obj, &mut problems);
    }
    let secret = match (email, api_token, access_token) {
        (Some(email), Some(api_token), None) => Some(ZendeskSecret::ApiToken { email, api_token }),
        (None, None, Some(access_token)) => Some(ZendeskSecret::OAuth { access_token }),
        _ => None,
    };
    match (problems.is_empty(), secret) {
        (true, Some(secret)) => Ok(secret),
        _ => Err(problems.into_vec()),
    }
}

/// Checks that the Zendesk secret keys present in `creds` make exactly one way to sign in.
pub(crate) fn check_zendesk(creds: &Obj, problems: &mut Problems) {
    let has = |key: &str| creds.has(key);
    let token = has("email") || has("api_token");
    if token && has("access_token") {
        problems.invalid(
            &creds.at("access_token"),
            "give either email + api_token or access_token, not both",
        );
    } else if has("email") && !has("api_token") {
        problems.invalid(
            &creds.at("email"),
            "an email needs the agent's api_token (Zendesk API token auth)",
        );
    } else if has("api_token") && !has("email") {
        problems.invalid(
            &creds.at("api_token"),
            "an api_token needs the email of the agent it belongs to",
        );
    } else if !token && !has("access_token") {
        problems.invalid(
            creds.path(),
            "no usable Zendesk credentials; give email with api_token (API token), or \
             access_token (OAuth)",
        );
    }
}

/// Reads and checks a secret object for `hubsync.set_credentials`.
pub fn parse_secret(json: &Value) -> Result<OAuthSecret, Vec<Problem>> {
    let mut problems = Problems::default();
    let Some(obj) = Obj::open(
        json,
        "",
        &[SECRET_KEYS, ENDPOINT_KEYS].concat(),
        &mut problems,
    ) else {
        return Err(problems.into_vec());
    };
    let text =
        |key: &str, problems: &mut Problems| obj.get::<SecretText>(key, problems).map(|s| s.0);
    let secret = |key: &str, problems: &mut Problems| text(key, problems).map(Secret);
    let parsed = OAuthSecret {
        client_id: text("client_id", &mut problems),
        client_secret: secret("client_secret", &mut problems),
        refresh_token: secret("refresh_token", &mut problems),
        username: text("username", &mut problems),
        password: secret("password", &mut problems),
        security_token: secret("security_token", &mut problems),
        private_key: secret("private_key", &mut problems),
        access_token: secret("access_token", &mut problems),
    };
    for key in ENDPOINT_KEYS {
        obj.get::<String>(key, &mut problems);
    }
    if problems.is_empty() {
        check_grant(&obj, &mut problems);
    }
    problems.finish(parsed)
}

/// Checks a secret object for `hubsync.set_credentials`: known keys, strings, and a usable
/// way to sign in — Zendesk's when the object looks like Zendesk credentials (see
/// [`is_zendesk_secret`]), NetSuite's when it has a key only NetSuite uses (see
/// [`is_netsuite_secret`]), an OAuth grant otherwise.
pub fn validate_secret(json: &Value) -> Result<(), Vec<Problem>> {
    if is_zendesk_secret(json) {
        parse_zendesk_secret(json).map(|_| ())
    } else if is_netsuite_secret(json) {
        parse_netsuite_secret(json).map(|_| ())
    } else {
        parse_secret(json).map(|_| ())
    }
}

/// Whether a secret object is meant for NetSuite: it has a key only NetSuite uses
/// (`consumer_key`, `consumer_secret`, `token_id`, `token_secret`, `certificate_id`).
pub fn is_netsuite_secret(json: &Value) -> bool {
    json.as_object().is_some_and(|o| {
        o.keys().any(|k| {
            NETSUITE_SECRET_KEYS.contains(&k.as_str()) && !SECRET_KEYS.contains(&k.as_str())
        })
    })
}

/// Whether a secret object is meant for Zendesk: it has an `email` or an `api_token`, or
/// nothing but an `access_token` (and where the account is): an OAuth grant for
/// Salesforce always has a client_id.
pub fn is_zendesk_secret(json: &Value) -> bool {
    let Some(obj) = json.as_object() else {
        return false;
    };
    let others = obj
        .keys()
        .filter(|k| !ENDPOINT_KEYS.contains(&k.as_str()) && k.as_str() != "access_token")
        .count();
    obj.contains_key("email")
        || obj.contains_key("api_token")
        || (others == 0 && obj.contains_key("access_token"))
}

/// Checks that the secret keys present in `creds` add up to at least one OAuth grant.
pub(crate) fn check_grant(creds: &Obj, problems: &mut Problems) {
    let has = |key: &str| creds.has(key);
    if has("username") && !has("password") && !has("private_key") {
        problems.invalid(
            &creds.at("username"),
            "a username needs a password (password grant) or a private_key (JWT bearer grant)",
        );
    }
    if has("password") && !has("username") {
        problems.invalid(
            &creds.at("password"),
            "a password needs the username it belongs to",
        );
    }
    if has("security_token") && !has("password") {
        problems.invalid(
            &creds.at("security_token"),
            "a security_token is only used with a password; add the password or remove it",
        );
    }
    let usable = has("client_id")
        && (has("client_secret")
            || has("refresh_token")
            || (has("username") && has("private_key")));
    if !usable {
        problems.invalid(
            creds.path(),
            "no usable OAuth credentials; give client_id with client_secret (client credentials), \
             client_id with refresh_token, client_id + client_secret + username + password \
             (password grant), or client_id + username + private_key (JWT bearer)",
        );
    }
}

/// Separates a sync config from its secrets so the config can be stored and shown safely.
///
/// Returns the config without any secret key in `source.credentials` / `target.credentials`,
/// and the remote end's secrets as one object (or `None` if the config had none). A
/// `password` given for the postgres end is dropped: hubsync runs inside the database and
/// never needs it. A `credentials` object left empty is removed.
pub fn split_secrets(config: &Value) -> (Value, Option<Value>) {
    let mut clean = config.clone();
    let mut secrets = Map::new();
    for end in ["source", "target"] {
        let Some(end) = clean.get_mut(end).and_then(Value::as_object_mut) else {
            continue;
        };
        let local = is_postgres_end(end);
        let system = end_system(end);
        let Some(creds) = end.get_mut("credentials").and_then(Value::as_object_mut) else {
            continue;
        };
        let keys: &[&str] = match system {
            _ if local => &["password"],
            Some(system) => secret_keys(system),
            None => SECRET_KEYS,
        };
        let taken: Vec<(String, Value)> = keys
            .iter()
            .filter_map(|k| creds.shift_remove_entry(*k))
            .collect();
        if creds.is_empty() {
            end.shift_remove("credentials");
        }
        if !local {
            secrets.extend(taken);
        }
    }
    let secrets = (!secrets.is_empty()).then_some(Value::Object(secrets));
    (clean, secrets)
}

/// True when an end's `type` names postgres (the same words the parser accepts).
fn is_postgres_end(end: &Map<String, Value>) -> bool {
    end_system(end) == Some(SystemKind::Postgres)
}

/// The system an end's `type` names, if it names one.
fn end_system(end: &Map<String, Value>) -> Option<SystemKind> {
    use super::walker::Keyword;
    end.get("type")
        .and_then(Value::as_str)
        .and_then(SystemKind::named)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_never_prints_its_value() {
        let s = OAuthSecret {
            client_id: Some("ck".into()),
            client_secret: Some(Secret::new("hunter2")),
            ..Default::default()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(Secret::new("hunter2").to_string(), "***");
        assert_eq!(Secret::new("hunter2").expose(), "hunter2");
    }

    #[test]
    fn grants_follow_the_given_keys() {
        let grant = |v: Value| parse_secret(&v).unwrap().grant();
        assert_eq!(
            grant(json!({"client_id": "a", "client_secret": "b"})),
            Some(Grant::ClientCredentials)
        );
        assert_eq!(
            grant(json!({"client_id": "a", "refresh_token": "r"})),
            Some(Grant::RefreshToken)
        );
        assert_eq!(
            grant(
                json!({"client_id": "a", "client_secret": "b", "username": "u", "password": "p"})
            ),
            Some(Grant::Password)
        );
        assert_eq!(
            grant(json!({"client_id": "a", "username": "u", "private_key": "k"})),
            Some(Grant::JwtBearer)
        );
    }

    #[test]
    fn netsuite_secrets_are_told_apart_by_their_keys() {
        let tba = json!({"consumer_key": "a", "consumer_secret": "b", "token_id": "c", "token_secret": "d"});
        assert_eq!(validate_secret(&tba), Ok(()));
        let m2m = json!({"client_id": "a", "certificate_id": "b", "private_key": "k"});
        assert_eq!(validate_secret(&m2m), Ok(()));
        let half = validate_secret(&json!({"consumer_key": "a"})).unwrap_err();
        assert_eq!(half[0].path, "consumer_secret");
        let config = json!({"source": {"type": "netsuite", "object": "Customer", "credentials": {
            "account_id": "1234567", "consumer_key": "a", "consumer_secret": "b", "token_id": "c", "token_secret": "d"}}});
        let (clean, secrets) = split_secrets(&config);
        assert_eq!(
            clean["source"]["credentials"],
            json!({"account_id": "1234567"})
        );
        assert_eq!(secrets, Some(tba));
    }

    #[test]
    fn unusable_or_malformed_secrets_are_rejected_without_echo() {
        let problems = validate_secret(&json!({"client_secret": "s3cr3t"})).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "");
        assert!(problems[0].message.contains("no usable OAuth credentials"));

        let problems =
            validate_secret(&json!({"client_id": "a", "client_secret": 42})).unwrap_err();
        assert_eq!(problems[0].path, "client_secret");
        assert!(!problems[0].message.contains("42"));

        // Where the account is may be stored with the secrets (a hub reads it), as text.
        let problems =
            validate_secret(&json!({"client_id": "a", "client_secret": "b", "instance_url": 7}))
                .unwrap_err();
        assert_eq!(problems[0].path, "instance_url");
        let problems =
            validate_secret(&json!({"client_id": "a", "client_secret": "b", "token_url": "x"}))
                .unwrap_err();
        assert_eq!(problems[0].path, "token_url");

        let problems =
            validate_secret(&json!({"client_id": "a", "client_secret": "b", "username": "u"}))
                .unwrap_err();
        assert_eq!(problems[0].path, "username");

        let problems = validate_secret(&json!("token")).unwrap_err();
        assert_eq!(problems[0].message, "expected an object, got \"token\"");
    }

    #[test]
    fn split_moves_remote_secrets_and_drops_the_local_password() {
        let config = json!({
            "connection_name": "c",
            "source": {"type": "salesforce", "object": "Account", "credentials": {
                "auth_type": "oauth2", "instance_url": "https://x.salesforce.com",
                "client_id": "ck", "client_secret": "cs"}},
            "target": {"type": "Postgres", "table": "accounts", "credentials": {
                "host": "h", "password": "pg"}}
        });
        let (clean, secrets) = split_secrets(&config);
        assert_eq!(
            secrets,
            Some(json!({"client_id": "ck", "client_secret": "cs"}))
        );
        assert_eq!(
            clean["source"]["credentials"],
            json!({"auth_type": "oauth2", "instance_url": "https://x.salesforce.com"})
        );
        assert_eq!(clean["target"]["credentials"], json!({"host": "h"}));
        assert!(!clean.to_string().contains("cs\""));
        assert!(!clean.to_string().contains("pg\""));
    }

    #[test]
    fn zendesk_secrets_are_a_token_or_an_oauth_token() {
        let secret = parse_zendesk_secret(&json!({"email": "a@b.c", "api_token": "t0k3n-1"}));
        assert_eq!(
            secret,
            Ok(ZendeskSecret::ApiToken {
                email: "a@b.c".into(),
                api_token: Secret::new("t0k3n-1")
            })
        );
        assert!(!format!("{secret:?}").contains("t0k3n-1"));
        assert_eq!(
            parse_zendesk_secret(&json!({"access_token": "oauth-1"})),
            Ok(ZendeskSecret::OAuth {
                access_token: Secret::new("oauth-1")
            })
        );
        let path = |v: Value| parse_zendesk_secret(&v).unwrap_err()[0].path.clone();
        assert_eq!(path(json!({"email": "a@b.c"})), "email");
        assert_eq!(path(json!({"api_token": "t"})), "api_token");
        assert_eq!(
            path(json!({"email": "a", "api_token": "t", "access_token": "o"})),
            "access_token"
        );
        assert_eq!(path(json!({})), "");
        assert_eq!(path(json!({"client_id": "x"})), "client_id");
    }

    #[test]
    fn set_credentials_takes_either_systems_secrets() {
        assert_eq!(
            validate_secret(&json!({"email": "a@b.c", "api_token": "t"})),
            Ok(())
        );
        assert_eq!(validate_secret(&json!({"access_token": "o"})), Ok(()));
        assert_eq!(
            validate_secret(&json!({"access_token": "o", "instance_url": "https://a.zendesk.com"})),
            Ok(())
        );
        assert_eq!(
            validate_secret(&json!({"client_id": "a", "client_secret": "b"})),
            Ok(())
        );
        let problems = validate_secret(&json!({"email": "a@b.c"})).unwrap_err();
        assert_eq!(problems[0].path, "email");
        let problems = validate_secret(&json!({"client_id": "a", "api_token": "t"})).unwrap_err();
        assert_eq!(problems[0].path, "client_id");
    }

    #[test]
    fn split_moves_zendesk_secrets_by_the_ends_system() {
        let config = json!({"source": {"type": "zendesk", "object": "User", "credentials": {
            "subdomain": "acme", "email": "a@b.c", "api_token": "t"}}});
        let (clean, secrets) = split_secrets(&config);
        assert_eq!(secrets, Some(json!({"email": "a@b.c", "api_token": "t"})));
        assert_eq!(clean["source"]["credentials"], json!({"subdomain": "acme"}));
    }

    #[test]
    fn split_removes_credentials_left_empty_and_keeps_configs_without_secrets() {
        let config =
            json!({"target": {"type": "salesforce", "credentials": {"refresh_token": "r"}}});
        let (clean, secrets) = split_secrets(&config);
        assert_eq!(clean, json!({"target": {"type": "salesforce"}}));
        assert_eq!(secrets, Some(json!({"refresh_token": "r"})));
        let plain = json!({"sync_type": "one_way"});
        assert_eq!(split_secrets(&plain), (plain.clone(), None));
    }
}
