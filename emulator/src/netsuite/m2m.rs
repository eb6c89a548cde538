//! `POST /services/rest/auth/oauth2/v1/token`: OAuth 2.0 client credentials with a
//! signed JWT assertion (M2M). The assertion must name the integration (`iss`), the
//! mapping's certificate (`kid`), the token URL (`aud`), the `rest_webservices` scope,
//! live for at most an hour, and verify with the configured public key. The answer is a
//! 60-minute bearer token and no refresh token; errors are RFC 6749 `{"error": …}`.

use super::Ns;
use crate::http::{apply_faults, json_response, ConnKill};
use axum::body::{Body, Bytes};
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::sync::Arc;

const TOKEN_PATH: &str = "/services/rest/auth/oauth2/v1/token";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A refused grant: status, RFC 6749 `error`, and a description.
#[derive(Debug)]
struct Refused(u16, &'static str, String);

fn refused(error: &'static str, description: impl Into<String>) -> Refused {
    let status = if error == "invalid_client" { 401 } else { 400 };
    Refused(status, error, description.into())
}

/// The token endpoint.
pub async fn token(
    State(ns): State<Arc<Ns>>,
    Extension(conn): Extension<ConnKill>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let fail = |kind| super::errors::fault(kind).response();
    let response = match apply_faults(&ns.faults, &ns.counters, "token", &conn, fail).await {
        Err(failure) => failure,
        Ok(_) => match grant(&ns, &headers, &body) {
            Ok(answer) => json_response(200, answer.to_string()),
            Err(Refused(status, error, description)) => json_response(
                status,
                json!({"error": error, "error_description": description}).to_string(),
            ),
        },
    };
    ns.counters.status(response.status().as_u16());
    response
}

fn grant(ns: &Ns, headers: &HeaderMap, body: &[u8]) -> Result<Json, Refused> {
    let form: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "client_credentials" {
        return Err(refused(
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        ));
    }
    if field("client_assertion_type") != ASSERTION_TYPE {
        return Err(refused(
            "invalid_request",
            format!("client_assertion_type must be {ASSERTION_TYPE}"),
        ));
    }
    let now_ms = ns.clock.now_ms();
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    check_assertion(ns, field("client_assertion"), host, super::wall_secs())?;
    let token = format!("ns.{}", crate::http::oauth::random_text(64));
    let lifetime = ns.options.token_lifetime_secs;
    ns.bearer
        .lock()
        .insert(token.clone(), now_ms + lifetime * 1000);
    let expires_in = if ns.options.expires_in_number {
        json!(lifetime)
    } else {
        json!(lifetime.to_string())
    };
    Ok(json!({"access_token": token, "expires_in": expires_in, "token_type": "bearer"}))
}

fn decode_part(part: &str, what: &str) -> Result<Json, Refused> {
    URL_SAFE_NO_PAD
        .decode(part)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| {
            refused(
                "invalid_request",
                format!("the assertion's {what} is not base64url JSON"),
            )
        })
}

/// Audiences an assertion may name: the token URL as reached, or the account's real one.
fn audiences(ns: &Ns, host: &str) -> [String; 2] {
    let slug = ns.options.account.to_ascii_lowercase().replace('_', "-");
    [
        format!("http://{host}{TOKEN_PATH}"),
        format!("https://{slug}.suitetalk.api.netsuite.com{TOKEN_PATH}"),
    ]
}

fn check_assertion(ns: &Ns, jwt: &str, host: &str, now: i64) -> Result<(), Refused> {
    let options = &ns.options;
    let parts: Vec<&str> = jwt.split('.').collect();
    let [head, claims_part, signature] = parts[..] else {
        return Err(refused(
            "invalid_request",
            "client_assertion is not a compact JWS",
        ));
    };
    let header = decode_part(head, "header")?;
    let claims = decode_part(claims_part, "payload")?;
    let alg = header["alg"].as_str().unwrap_or_default();
    if ![
        "PS256", "PS384", "PS512", "RS256", "ES256", "ES384", "ES512",
    ]
    .contains(&alg)
    {
        return Err(refused(
            "invalid_request",
            format!("unsupported alg {alg:?}"),
        ));
    }
    if claims["iss"].as_str() != Some(options.m2m_client_id.as_str()) {
        return Err(refused("invalid_client", "iss is not a known integration"));
    }
    if header["kid"].as_str() != Some(options.m2m_certificate_id.as_str()) {
        return Err(refused(
            "invalid_client",
            "kid names no certificate of this integration",
        ));
    }
    let aud = claims["aud"].as_str().unwrap_or_default();
    if !audiences(ns, host).iter().any(|a| a == aud) {
        return Err(refused("invalid_request", "aud is not this token endpoint"));
    }
    let scopes: Vec<String> = match &claims["scope"] {
        Json::String(s) => s.split([',', ' ']).map(|p| p.trim().to_string()).collect(),
        Json::Array(items) => items
            .iter()
            .filter_map(|s| s.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    };
    if !scopes.iter().any(|s| s == "rest_webservices") {
        return Err(refused(
            "invalid_scope",
            "scope must include rest_webservices",
        ));
    }
    let (Some(iat), Some(exp)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
        return Err(refused("invalid_request", "iat and exp must be numbers"));
    };
    if exp <= iat || exp - iat > 3600 {
        return Err(refused(
            "invalid_request",
            "exp must be after iat, by at most 60 minutes",
        ));
    }
    if exp <= now || iat > now + 60 {
        return Err(refused(
            "invalid_grant",
            "the assertion is expired or not yet valid",
        ));
    }
    let key = ns.m2m_key.as_ref().ok_or_else(|| {
        refused(
            "invalid_client",
            "no certificate is mapped (start with --m2m-public-key)",
        )
    })?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| refused("invalid_request", "the signature is not base64url"))?;
    key.verify(alg, format!("{head}.{claims_part}").as_bytes(), &signature)
        .map_err(|e| refused("invalid_grant", e))
}
