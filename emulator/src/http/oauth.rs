//! `POST /services/oauth2/token`: the password, refresh-token and client-credentials
//! grants, and the store of issued tokens.

use super::ConnKill;
use crate::app::App;
use crate::ids::{org_id, user_id};
use crate::value::write_json_string;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, Response};
use base64::Engine;
use hmac::{Hmac, Mac};
use parking_lot::RwLock;
use sha2::Sha256;
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::Arc;

/// Issued access tokens (with their expiry) and refresh tokens.
#[derive(Default)]
pub struct TokenStore {
    access: RwLock<HashMap<String, i64>>,
    refresh: RwLock<HashSet<String>>,
}

impl TokenStore {
    /// True when `token` was issued and has not expired at `now_ms`.
    pub fn valid(&self, token: &str, now_ms: i64) -> bool {
        self.access
            .read()
            .get(token)
            .is_some_and(|expires| *expires > now_ms)
    }

    /// Expires every access token now (refresh tokens stay valid, as after a session
    /// timeout).
    pub fn expire_all(&self) {
        self.access.write().clear();
    }

    fn issue(&self, expires_ms: i64) -> String {
        let token = format!("{}!{}", &org_id().as_str()[..15], random_text(96));
        self.access.write().insert(token.clone(), expires_ms);
        token
    }

    fn issue_refresh(&self) -> String {
        let token = format!("5Aep{}", random_text(80));
        self.refresh.write().insert(token.clone());
        token
    }

    fn refresh_known(&self, token: &str) -> bool {
        self.refresh.read().contains(token)
    }
}

/// Unguessable text from the process's random hash keys.
pub(crate) fn random_text(len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let mut word = RandomState::new().hash_one(out.len());
        for _ in 0..10 {
            out.push(char::from(ALPHABET[(word % 64) as usize]));
            word /= 64;
        }
    }
    out.truncate(len);
    out
}

fn oauth_error(status: u16, error: &str, description: &str) -> Response<Body> {
    let mut body = String::from("{\"error\":");
    write_json_string(&mut body, error);
    body.push_str(",\"error_description\":");
    write_json_string(&mut body, description);
    body.push('}');
    no_store(super::json_response(status, body))
}

fn no_store(mut response: Response<Body>) -> Response<Body> {
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-cache,must-revalidate,max-age=0,no-store,private"),
    );
    response
}

/// The token endpoint.
pub async fn token(
    State(app): State<Arc<App>>,
    Extension(conn): Extension<ConnKill>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let response = match super::inject_faults(&app, "token", &conn).await {
        Err(failure) => failure,
        Ok(after) => super::lose_answer(after, grant(&app, &headers, &body), &conn).await,
    };
    app.counters.status(response.status().as_u16());
    response
}

fn grant(app: &App, headers: &HeaderMap, body: &[u8]) -> Response<Body> {
    let form: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    let param = |name: &str| form.get(name).map(String::as_str);
    let (basic_id, basic_secret) = basic_credentials(headers).unzip();
    let client_id = param("client_id").map(str::to_string).or(basic_id);
    let client_secret = param("client_secret").map(str::to_string).or(basic_secret);
    let options = &app.options;
    let grant_type = param("grant_type").unwrap_or_default();
    if !matches!(
        grant_type,
        "password" | "refresh_token" | "client_credentials"
    ) {
        return oauth_error(400, "unsupported_grant_type", "grant type not supported");
    }
    if client_id.as_deref() != Some(options.client_id.as_str()) {
        return oauth_error(400, "invalid_client_id", "client identifier invalid");
    }
    let secret_ok = client_secret.as_deref() == Some(options.client_secret.as_str());
    let refresh = match grant_type {
        "password" => {
            if !secret_ok {
                return oauth_error(400, "invalid_client", "invalid client credentials");
            }
            if param("username") != Some(options.username.as_str())
                || param("password") != Some(options.password.as_str())
            {
                return oauth_error(400, "invalid_grant", "authentication failure");
            }
            Some(app.tokens.issue_refresh())
        }
        "refresh_token" => {
            if client_secret.is_some() && !secret_ok {
                return oauth_error(400, "invalid_client", "invalid client credentials");
            }
            let presented = param("refresh_token").unwrap_or_default();
            let configured =
                options.refresh_token.as_deref() == Some(presented) && !presented.is_empty();
            if !configured && !app.tokens.refresh_known(presented) {
                return oauth_error(400, "invalid_grant", "expired access/refresh token");
            }
            None
        }
        _ => {
            if !secret_ok {
                return oauth_error(400, "invalid_client", "invalid client credentials");
            }
            None
        }
    };
    no_store(super::json_response(
        200,
        token_body(app, grant_type, refresh),
    ))
}

fn token_body(app: &App, grant_type: &str, refresh: Option<String>) -> String {
    let now = app.clock.now_ms();
    let lifetime = app.options.token_lifetime.as_millis() as i64;
    let access = app.tokens.issue(now + lifetime);
    let issued_at = now.to_string();
    let id_url = format!("{}/id/{}/{}", app.base_url, org_id(), user_id());
    let mut mac = Hmac::<Sha256>::new_from_slice(app.options.client_secret.as_bytes())
        .expect("any key length");
    mac.update(id_url.as_bytes());
    mac.update(issued_at.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let mut body = serde_json::Map::new();
    body.insert("access_token".into(), access.into());
    if let Some(refresh) = refresh {
        body.insert("refresh_token".into(), refresh.into());
    }
    body.insert("signature".into(), signature.into());
    body.insert(
        "scope".into(),
        if grant_type == "password" {
            "refresh_token api"
        } else {
            "api"
        }
        .into(),
    );
    body.insert("instance_url".into(), app.base_url.clone().into());
    body.insert("id".into(), id_url.into());
    body.insert("token_type".into(), "Bearer".into());
    body.insert("issued_at".into(), issued_at.into());
    if grant_type == "client_credentials" {
        body.insert("token_format".into(), "opaque".into());
    }
    serde_json::Value::Object(body).to_string()
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}
