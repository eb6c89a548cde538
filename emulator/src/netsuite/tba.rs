//! Token-Based Authentication as NetSuite checks it: OAuth 1.0a (RFC 5849) with
//! HMAC-SHA256 only. The verifier rebuilds the signature base string from the request
//! as it arrived — `METHOD & pct(scheme://host[:port]/path) & pct(sorted params)`, where
//! the params are the query's (form-decoded) and the header's `oauth_*` except
//! `oauth_signature` — and compares MACs in constant time. A nonce is accepted once per
//! timestamp window; a realm that is not the account id is refused.

use super::Call;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::Sha256;
use std::collections::{HashMap, VecDeque};

/// RFC 3986 §2.3: everything but `A-Za-z0-9-._~` is escaped.
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Nonces seen within the timestamp window, oldest first.
#[derive(Default)]
pub struct Nonces {
    seen: VecDeque<(i64, String)>,
}

impl Nonces {
    /// Records `key` at `timestamp`; false when it was already used. Forgets entries
    /// older than `window` seconds before `now`.
    fn first_use(&mut self, key: String, timestamp: i64, now: i64, window: i64) -> bool {
        while self.seen.front().is_some_and(|(t, _)| *t < now - window) {
            self.seen.pop_front();
        }
        if self.seen.iter().any(|(_, k)| *k == key) {
            return false;
        }
        self.seen.push_back((timestamp, key));
        true
    }

    /// Forgets every nonce.
    pub fn clear(&mut self) {
        self.seen.clear();
    }
}

/// Why a TBA header was refused (for tests; clients only see `INVALID_LOGIN`).
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    NotOAuth,
    Malformed,
    Missing(&'static str),
    SignatureMethod,
    Version,
    Realm,
    UnknownKey,
    Timestamp,
    Nonce,
    Replay,
    Signature,
}

/// The `name="value"` pairs of an `Authorization: OAuth …` header, values decoded.
fn header_params(value: &str) -> Result<HashMap<String, String>, Refusal> {
    let rest = value
        .trim()
        .strip_prefix("OAuth ")
        .ok_or(Refusal::NotOAuth)?;
    let mut params = HashMap::new();
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, quoted) = part.split_once('=').ok_or(Refusal::Malformed)?;
        let raw = quoted
            .trim()
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or(Refusal::Malformed)?;
        let decoded = percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| Refusal::Malformed)?;
        if params
            .insert(name.trim().to_string(), decoded.into_owned())
            .is_some()
        {
            return Err(Refusal::Malformed);
        }
    }
    Ok(params)
}

fn escape(text: &str) -> String {
    utf8_percent_encode(text, ESCAPED).to_string()
}

/// The signature base string of a request to `origin` + `path` with `query`, signed
/// with the header's `oauth_*` params.
pub fn base_string(
    method: &str,
    origin: &str,
    path: &str,
    query: &str,
    oauth: &HashMap<String, String>,
) -> String {
    let (scheme, host) = origin.split_once("://").unwrap_or(("http", origin));
    let scheme = scheme.to_ascii_lowercase();
    let mut host = host.to_ascii_lowercase();
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    if let Some(bare) = host.strip_suffix(default_port) {
        host = bare.to_string();
    }
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (escape(&k), escape(&v)))
        .chain(
            oauth
                .iter()
                .filter(|(k, _)| k.starts_with("oauth_") && *k != "oauth_signature")
                .map(|(k, v)| (escape(k), escape(v))),
        )
        .collect();
    pairs.sort();
    let normalized = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        escape(&format!("{scheme}://{host}{path}")),
        escape(&normalized)
    )
}

/// Checks `signature` (base64) over `base` with the two secrets.
pub fn signature_matches(
    base: &str,
    consumer_secret: &str,
    token_secret: &str,
    signature: &str,
) -> bool {
    let Ok(presented) = STANDARD.decode(signature) else {
        return false;
    };
    let key = format!("{}&{}", escape(consumer_secret), escape(token_secret));
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(base.as_bytes());
    mac.verify_slice(&presented).is_ok()
}

/// Verifies the TBA header of `call`, then remembers its nonce.
pub fn verify(call: &Call, path: &str, query: &str, header: &str) -> Result<(), Refusal> {
    let options = &call.ns.options;
    let params = header_params(header)?;
    let get = |name: &'static str| {
        params
            .get(name)
            .map(String::as_str)
            .ok_or(Refusal::Missing(name))
    };
    if get("oauth_signature_method")? != "HMAC-SHA256" {
        return Err(Refusal::SignatureMethod);
    }
    if params.get("oauth_version").is_some_and(|v| v != "1.0") {
        return Err(Refusal::Version);
    }
    let realm = get("realm")?;
    let realm_ok = if options.realm_case_sensitive {
        realm == options.account
    } else {
        realm.eq_ignore_ascii_case(&options.account)
    };
    if !realm_ok {
        return Err(Refusal::Realm);
    }
    let consumer = get("oauth_consumer_key")?;
    let token = get("oauth_token")?;
    if consumer != options.consumer_key || token != options.token_id {
        return Err(Refusal::UnknownKey);
    }
    let timestamp: i64 = get("oauth_timestamp")?
        .parse()
        .map_err(|_| Refusal::Timestamp)?;
    let now = super::wall_secs();
    let window = options.timestamp_window_secs;
    if (timestamp - now).abs() > window {
        return Err(Refusal::Timestamp);
    }
    let nonce = get("oauth_nonce")?;
    if !(6..=64).contains(&nonce.len()) || !nonce.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Refusal::Nonce);
    }
    let base = base_string(call.method.as_str(), &call.origin, path, query, &params);
    let signature = get("oauth_signature")?;
    if !signature_matches(
        &base,
        &options.consumer_secret,
        &options.token_secret,
        signature,
    ) {
        return Err(Refusal::Signature);
    }
    let key = format!("{consumer}\n{token}\n{nonce}\n{timestamp}");
    if !call.ns.nonces.lock().first_use(key, timestamp, now, window) {
        return Err(Refusal::Replay);
    }
    Ok(())
}

/// Signs a request as a TBA client would (`Authorization` value), so tests and tools
/// can call the emulator without a client library. Built on the verifier's base string,
/// whose reference vectors are unit-tested below; `origin` is `scheme://host[:port]`.
#[allow(clippy::too_many_arguments)]
pub fn client_header(
    options: &super::Options,
    realm: &str,
    method: &str,
    origin: &str,
    path: &str,
    query: &str,
    nonce: &str,
    timestamp: i64,
) -> String {
    let mut params: HashMap<String, String> = [
        ("oauth_consumer_key", options.consumer_key.as_str()),
        ("oauth_token", options.token_id.as_str()),
        ("oauth_nonce", nonce),
        ("oauth_signature_method", "HMAC-SHA256"),
        ("oauth_version", "1.0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    params.insert("oauth_timestamp".into(), timestamp.to_string());
    let base = base_string(method, origin, path, query, &params);
    let key = format!(
        "{}&{}",
        escape(&options.consumer_secret),
        escape(&options.token_secret)
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(base.as_bytes());
    params.insert(
        "oauth_signature".into(),
        STANDARD.encode(mac.finalize().into_bytes()),
    );
    let mut header = format!("OAuth realm=\"{}\"", escape(realm));
    let mut names: Vec<&String> = params.keys().collect();
    names.sort();
    for name in names {
        header.push_str(&format!(", {name}=\"{}\"", escape(&params[name])));
    }
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONSUMER_KEY: &str = "ef40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4";
    const CONSUMER_SECRET: &str =
        "d26ad321a4b2f23b0741c8d38392ce01c3e23e109df6c96eac6d099e9ab9e8b5";
    const TOKEN: &str = "2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc";
    const TOKEN_SECRET: &str = "c29a677df7d5439a458c063654187e3d678d73aca8e3c9d8bea1478a3eb0d295";

    /// The reference's vectors: (method, origin, path, query, signature).
    const VECTORS: [(&str, &str, &str, &str, &str); 4] = [
        (
            "POST",
            "https://1234567.restlets.api.netsuite.com",
            "/app/site/hosting/restlet.nl",
            "script=6&deploy=1&customParam=someValue&testParam=someOtherValue",
            "i7MEtGwhCTIZbTsTrNGw9LdcERn4wsjt5C7TxmKWIfU=",
        ),
        (
            "GET",
            "https://1234567.suitetalk.api.netsuite.com",
            "/services/rest/record/v1/customer/107",
            "",
            "oBSvvd9y4lIPupAwcQEsCAlhwxxikV22vSGm4eoTWjo=",
        ),
        (
            "POST",
            "https://1234567.suitetalk.api.netsuite.com",
            "/services/rest/query/v1/suiteql",
            "limit=1000&offset=0",
            "TR53mUcDAdBUaEBtQpvG7cH/n7G2ZvK3Ri/N3J+Zd4k=",
        ),
        (
            "GET",
            "http://127.0.0.1:8099",
            "/services/rest/record/v1/customer",
            "q=email%20START_WITH%20%22a%22&limit=2",
            "0n9bYnT1wrq4fbw5OganpzX0xiG5DOjDYJnYk7pGAuo=",
        ),
    ];

    fn oauth() -> HashMap<String, String> {
        [
            ("realm", "1234567"),
            ("oauth_consumer_key", CONSUMER_KEY),
            ("oauth_token", TOKEN),
            ("oauth_nonce", "fjaLirsIcCGVZWzBX0pg"),
            ("oauth_timestamp", "1508242306"),
            ("oauth_signature_method", "HMAC-SHA256"),
            ("oauth_version", "1.0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn the_reference_vectors_verify() {
        for (method, origin, path, query, signature) in VECTORS {
            let base = base_string(method, origin, path, query, &oauth());
            assert!(
                signature_matches(&base, CONSUMER_SECRET, TOKEN_SECRET, signature),
                "{method} {origin}{path}?{query}: {base}"
            );
            assert!(!signature_matches(
                &base,
                CONSUMER_SECRET,
                "other",
                signature
            ));
        }
    }

    #[test]
    fn the_base_string_matches_the_reference() {
        let base = base_string(
            "get",
            "https://1234567.suitetalk.api.netsuite.com:443",
            "/services/rest/record/v1/customer/107",
            "",
            &oauth(),
        );
        assert_eq!(
            base,
            format!(
                "GET&https%3A%2F%2F1234567.suitetalk.api.netsuite.com%2Fservices%2Frest%2Frecord%2Fv1%2Fcustomer%2F107&oauth_consumer_key%3D{CONSUMER_KEY}%26oauth_nonce%3DfjaLirsIcCGVZWzBX0pg%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1508242306%26oauth_token%3D{TOKEN}%26oauth_version%3D1.0"
            )
        );
    }

    #[test]
    fn parses_headers_and_refuses_broken_ones() {
        let params = header_params(
            r#"OAuth realm="1234567_SB1", oauth_signature="a%2Bb%3D", oauth_nonce="n""#,
        )
        .unwrap();
        assert_eq!(params["realm"], "1234567_SB1");
        assert_eq!(params["oauth_signature"], "a+b=");
        assert_eq!(header_params("Bearer x"), Err(Refusal::NotOAuth));
        assert_eq!(header_params("OAuth realm=1"), Err(Refusal::Malformed));
        assert_eq!(
            header_params(r#"OAuth a="1", a="2""#),
            Err(Refusal::Malformed)
        );
    }

    #[test]
    fn a_nonce_is_accepted_once_per_window() {
        let mut nonces = Nonces::default();
        assert!(nonces.first_use("a".into(), 100, 100, 300));
        assert!(!nonces.first_use("a".into(), 100, 100, 300));
        assert!(nonces.first_use("b".into(), 100, 100, 300));
        // Past the window the entry is forgotten (its timestamp is refused anyway).
        assert!(nonces.first_use("a".into(), 500, 500, 300));
    }
}
