//! Who may reach the dashboard: where it listens ([`Listen`]) and the access token every
//! request must carry ([`Token`]).
//!
//! Policies: the dashboard is off unless an address is given; names other than
//! `localhost` are refused (an address is what gets bound, nothing is resolved); a token
//! is required, at least [`MIN_TOKEN_LEN`] printable characters, and is compared in
//! constant time through its SHA-256 digest, which is all that is kept of it. Whether a
//! non-loopback address may be used at all is decided by who may set the setting
//! (superusers only); [`Listen::loopback`] lets the worker say so in its log.

use ring::digest::{digest, SHA256};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Shortest token accepted: guessing 24 random characters is hopeless.
pub const MIN_TOKEN_LEN: usize = 24;

/// The address the dashboard listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen(pub SocketAddr);

impl Listen {
    /// `hubsync.dashboard_listen`: empty means off (`Ok(None)`); else `host:port` with an
    /// IP address (`[::1]:9187` for IPv6) or `localhost`.
    pub fn parse(text: &str) -> Result<Option<Listen>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if let Ok(addr) = text.parse::<SocketAddr>() {
            return Ok(Some(Listen(addr)));
        }
        let port = text
            .strip_prefix("localhost:")
            .and_then(|p| p.parse::<u16>().ok());
        match port {
            Some(port) => Ok(Some(Listen(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                port,
            )))),
            None => Err(format!(
                "hubsync.dashboard_listen must be an IP address and port such as 127.0.0.1:9187 \
                 or [::1]:9187 (or localhost:PORT), not \"{text}\""
            )),
        }
    }

    /// Only this machine can connect.
    pub fn loopback(&self) -> bool {
        self.0.ip().is_loopback()
    }
}

/// The access token, kept as its digest (equal tokens have equal digests).
#[derive(Clone, PartialEq, Eq)]
pub struct Token([u8; 32]);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

impl Token {
    /// The token in `text` (a token file's content; surrounding whitespace ignored).
    /// The error never quotes the text.
    pub fn new(text: &str) -> Result<Token, String> {
        let text = text.trim();
        if text.chars().count() < MIN_TOKEN_LEN {
            return Err(format!(
                "the dashboard token must be at least {MIN_TOKEN_LEN} characters long \
                 (e.g. the output of `openssl rand -hex 32`)"
            ));
        }
        if !text.chars().all(|c| c.is_ascii_graphic()) {
            return Err("the dashboard token must be printable ASCII without spaces".into());
        }
        Ok(Token(hash(text)))
    }

    /// Whether a request carries the token: `Authorization: Bearer <token>`, or
    /// `token=<token>` in the query string (for opening the page in a browser).
    pub fn admits(&self, authorization: Option<&str>, query: Option<&str>) -> bool {
        let bearer = authorization.and_then(|h| {
            let (scheme, value) = h.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| value.trim())
        });
        let queried = query.and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v.into_owned())
        });
        let presented = [bearer.map(str::to_string), queried];
        // Both are checked whatever the first gives, so timing tells nothing either.
        presented
            .iter()
            .flatten()
            .fold(false, |ok, t| self.matches(t) | ok)
    }

    fn matches(&self, presented: &str) -> bool {
        let other = hash(presented);
        self.0
            .iter()
            .zip(other.iter())
            .fold(0u8, |d, (a, b)| d | (a ^ b))
            == 0
    }
}

fn hash(text: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, text.as_bytes()).as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn listen_addresses() {
        // (setting, "off" / "refused" / the address bound, loopback)
        let cases = [
            ("", "off", false),
            ("  ", "off", false),
            ("127.0.0.1:9187", "127.0.0.1:9187", true),
            ("localhost:9187", "127.0.0.1:9187", true),
            ("[::1]:9187", "[::1]:9187", true),
            ("0.0.0.0:9187", "0.0.0.0:9187", false),
            ("10.1.2.3:80", "10.1.2.3:80", false),
            ("example.com:9187", "refused", false),
            ("127.0.0.1", "refused", false),
            ("localhost:99999", "refused", false),
        ];
        for (text, expected, loopback) in cases {
            match Listen::parse(text) {
                Ok(None) => assert_eq!(expected, "off", "{text}"),
                Ok(Some(l)) => {
                    assert_eq!(l.0.to_string(), expected, "{text}");
                    assert_eq!(l.loopback(), loopback, "{text}");
                }
                Err(e) => {
                    assert_eq!(expected, "refused", "{text}: {e}");
                    assert!(e.contains("127.0.0.1:9187"), "{e}");
                }
            }
        }
    }

    #[test]
    fn tokens_must_be_long_and_printable_and_are_never_quoted() {
        assert!(Token::new(&format!("  {T}\n")).is_ok());
        let short = Token::new("s3cret").unwrap_err();
        assert!(!short.contains("s3cret"), "{short}");
        let spaced = format!("{T} {T}");
        assert!(!Token::new(&spaced).unwrap_err().contains(T));
        assert_eq!(format!("{:?}", Token::new(T).unwrap()), "Token(…)");
    }

    #[test]
    fn a_request_needs_the_token_as_bearer_or_query() {
        let token = Token::new(T).unwrap();
        let bearer = format!("Bearer {T}");
        let lower = format!("bearer  {T} ");
        let query = format!("x=1&token={T}");
        let table: Vec<(Option<String>, Option<String>, bool)> = vec![
            (None, None, false),
            (Some(bearer.clone()), None, true),
            (Some(lower), None, true),
            (None, Some(query.clone()), true),
            (Some("Bearer wrong".into()), Some(query), true),
            (Some(bearer), Some("token=wrong".into()), true),
            (
                Some("Bearer wrong".into()),
                Some("token=wrong".into()),
                false,
            ),
            (Some(format!("Basic {T}")), None, false),
            (Some(T.into()), None, false),
            (None, Some(format!("token={}", &T[1..])), false),
            (None, Some(format!("token={}%21", T)), false),
        ];
        for (auth, query, admitted) in table {
            assert_eq!(
                token.admits(auth.as_deref(), query.as_deref()),
                admitted,
                "{auth:?} {query:?}"
            );
        }
    }
}
