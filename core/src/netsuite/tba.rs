//! The `Authorization: OAuth …` header of NetSuite Token-Based Authentication.
//!
//! Signature = Base64(HMAC-SHA256(key = pct(consumer_secret) & pct(token_secret),
//! msg = base string)), where the base string is
//! `UPPER(method) & pct(scheme://host[:port]/path) & pct(k=v&… sorted)` over the URL's
//! query parameters (form-decoded) and the `oauth_*` parameters, each name and value
//! percent-encoded with only `A-Za-z0-9-._~` left bare (RFC 5849 §3.4, RFC 3986 §2.3).
//! JSON bodies are not signed. The scheme and host are lower-cased and a default port
//! dropped, so the URL must be the one the request is really sent to.

use crate::config::Secret;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use url::Url;

/// RFC 3986 unreserved characters stay; everything else is `%XX` (space is `%20`).
const RESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn pct(text: &str) -> String {
    utf8_percent_encode(text, RESERVED).to_string()
}

/// The four TBA secrets and the account's realm. Debug hides the secrets.
#[derive(Debug, Clone)]
pub struct TokenCredentials {
    /// The account id in realm form (`1234567_SB1`; see [`super::realm`]).
    pub realm: String,
    /// The integration record's consumer key (`oauth_consumer_key`).
    pub consumer_key: String,
    /// Half of the HMAC key; never sent.
    pub consumer_secret: Secret,
    /// The access token's id (`oauth_token`).
    pub token_id: String,
    /// The other half of the HMAC key; never sent.
    pub token_secret: Secret,
}

/// The per-request inputs that make a signature unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// 6–64 letters and digits, never reused within the timestamp window.
    pub nonce: String,
    /// Seconds since the epoch.
    pub timestamp: u64,
}

impl Stamp {
    /// A fresh 20-character alphanumeric nonce at `now_secs`.
    pub fn fresh(now_secs: u64) -> Result<Stamp, String> {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut bytes = [0u8; 20];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| "no randomness for the OAuth nonce".to_string())?;
        let nonce = bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
            .collect();
        Ok(Stamp {
            nonce,
            timestamp: now_secs,
        })
    }
}

/// The `oauth_*` parameters of a request, sorted by name (signature excluded).
fn oauth_params(credentials: &TokenCredentials, stamp: &Stamp) -> [(&'static str, String); 6] {
    [
        ("oauth_consumer_key", credentials.consumer_key.clone()),
        ("oauth_nonce", stamp.nonce.clone()),
        ("oauth_signature_method", "HMAC-SHA256".into()),
        ("oauth_timestamp", stamp.timestamp.to_string()),
        ("oauth_token", credentials.token_id.clone()),
        ("oauth_version", "1.0".into()),
    ]
}

/// The signature base string of `method url` signed with these `oauth_*` parameters.
pub fn base_string(method: &str, url: &Url, oauth: &[(&str, String)]) -> String {
    let mut origin = format!(
        "{}://{}",
        url.scheme().to_ascii_lowercase(),
        url.host_str().unwrap_or_default().to_ascii_lowercase()
    );
    // `Url::port` is None for the scheme's default port.
    if let Some(port) = url.port() {
        origin.push_str(&format!(":{port}"));
    }
    let mut params: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (pct(&k), pct(&v)))
        .chain(oauth.iter().map(|(k, v)| (pct(k), pct(v))))
        .collect();
    params.sort();
    let joined: Vec<String> = params.into_iter().map(|(k, v)| k + "=" + &v).collect();
    [
        method.to_ascii_uppercase(),
        pct(&format!("{origin}{}", url.path())),
        pct(&joined.join("&")),
    ]
    .join("&")
}

/// The Base64 HMAC-SHA256 signature of a base string.
pub fn signature(base: &str, consumer_secret: &str, token_secret: &str) -> String {
    let key = hmac::Key::new(
        hmac::HMAC_SHA256,
        format!("{}&{}", pct(consumer_secret), pct(token_secret)).as_bytes(),
    );
    STANDARD.encode(hmac::sign(&key, base.as_bytes()).as_ref())
}

/// The `Authorization` header value for `method url`: realm first, then the `oauth_*`
/// parameters with the percent-encoded signature.
pub fn authorization(
    credentials: &TokenCredentials,
    method: &str,
    url: &Url,
    stamp: &Stamp,
) -> String {
    let oauth = oauth_params(credentials, stamp);
    let base = base_string(method, url, &oauth);
    let signed = signature(
        &base,
        credentials.consumer_secret.expose(),
        credentials.token_secret.expose(),
    );
    let mut header = format!("OAuth realm=\"{}\"", pct(&credentials.realm));
    for (name, value) in oauth.iter().chain([&("oauth_signature", signed)]) {
        header.push_str(&format!(", {name}=\"{}\"", pct(value)));
    }
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_credentials() -> TokenCredentials {
        TokenCredentials {
            realm: "1234567".into(),
            consumer_key: "ef40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4".into(),
            consumer_secret: Secret::new(
                "d26ad321a4b2f23b0741c8d38392ce01c3e23e109df6c96eac6d099e9ab9e8b5",
            ),
            token_id: "2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc".into(),
            token_secret: Secret::new(
                "c29a677df7d5439a458c063654187e3d678d73aca8e3c9d8bea1478a3eb0d295",
            ),
        }
    }

    fn reference_stamp() -> Stamp {
        Stamp {
            nonce: "fjaLirsIcCGVZWzBX0pg".into(),
            timestamp: 1_508_242_306,
        }
    }

    /// The reference's signature vectors: (method, URL, signature).
    const VECTORS: [(&str, &str, &str); 4] = [
        (
            "POST",
            "https://1234567.restlets.api.netsuite.com/app/site/hosting/restlet.nl?script=6&deploy=1&customParam=someValue&testParam=someOtherValue",
            "i7MEtGwhCTIZbTsTrNGw9LdcERn4wsjt5C7TxmKWIfU=",
        ),
        (
            "GET",
            "https://1234567.suitetalk.api.netsuite.com/services/rest/record/v1/customer/107",
            "oBSvvd9y4lIPupAwcQEsCAlhwxxikV22vSGm4eoTWjo=",
        ),
        (
            "POST",
            "https://1234567.suitetalk.api.netsuite.com/services/rest/query/v1/suiteql?limit=1000&offset=0",
            "TR53mUcDAdBUaEBtQpvG7cH/n7G2ZvK3Ri/N3J+Zd4k=",
        ),
        (
            "GET",
            "http://127.0.0.1:8099/services/rest/record/v1/customer?q=email START_WITH \"a\"&limit=2",
            "0n9bYnT1wrq4fbw5OganpzX0xiG5DOjDYJnYk7pGAuo=",
        ),
    ];

    #[test]
    fn signs_the_reference_vectors() {
        let credentials = reference_credentials();
        for (method, url, expected) in VECTORS {
            let url = Url::parse(url).unwrap();
            let header = authorization(&credentials, method, &url, &reference_stamp());
            let encoded = pct(expected);
            assert!(
                header.ends_with(&format!("oauth_signature=\"{encoded}\"")),
                "{method} {url}: {header}"
            );
        }
    }

    #[test]
    fn builds_the_reference_base_string() {
        let credentials = reference_credentials();
        let url = Url::parse(
            "https://1234567.SuiteTalk.api.netsuite.com:443/services/rest/record/v1/customer/107",
        )
        .unwrap();
        let base = base_string("get", &url, &oauth_params(&credentials, &reference_stamp()));
        assert_eq!(
            base,
            "GET&https%3A%2F%2F1234567.suitetalk.api.netsuite.com%2Fservices%2Frest%2Frecord%2Fv1%2Fcustomer%2F107&oauth_consumer_key%3Def40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4%26oauth_nonce%3DfjaLirsIcCGVZWzBX0pg%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1508242306%26oauth_token%3D2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc%26oauth_version%3D1.0"
        );
    }

    #[test]
    fn normalizes_parameters_and_writes_the_header() {
        // Encoded names and values sort byte-wise; `+` in a query is a space (%20).
        let url = Url::parse("http://h:8080/p?b=2&a=x+y&a=%7E&c=%2B").unwrap();
        let base = base_string("POST", &url, &[]);
        assert_eq!(
            base,
            "POST&http%3A%2F%2Fh%3A8080%2Fp&a%3Dx%2520y%26a%3D~%26b%3D2%26c%3D%252B"
        );
        let header = authorization(&reference_credentials(), "GET", &url, &reference_stamp());
        assert!(header.starts_with("OAuth realm=\"1234567\", oauth_consumer_key=\"ef40"));
        assert!(header.contains("oauth_signature_method=\"HMAC-SHA256\""));
        assert!(!format!("{:?}", reference_credentials()).contains("d26ad321"));
        let stamp = Stamp::fresh(7).unwrap();
        assert_eq!(stamp.nonce.len(), 20);
        assert!(stamp.nonce.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(Stamp::fresh(7).unwrap(), stamp);
    }
}
