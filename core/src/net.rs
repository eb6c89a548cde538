//! The network edge: where hubsync may send secrets, tokens and record values, and how
//! much of an answer it reads.
//!
//! A sync posts its client secret, password or JWT assertion to its `login_url`, and its
//! access token and record values to its `instance_url` (or the `instance_url` a token
//! response names). Over plain `http` anyone on the path reads them, so every such URL must
//! be `https` — except a loopback host (127.0.0.0/8, `::1`, `localhost`), where a local
//! emulator or proxy listens and nothing crosses a network. A superuser may allow plain
//! `http` everywhere (`hubsync.allow_http`), e.g. behind a TLS-terminating proxy on a
//! private network.
//!
//! Invariant: no request carrying a credential leaves the process for a non-loopback
//! `http` URL unless [`Network::allow_http`] is set; configs are refused when created or
//! altered ([`check_endpoints`]) and the client refuses again as the last line.

use crate::config::RemoteEndpoint;
use crate::problem::Problem;
use std::net::IpAddr;
use url::{Host, Url};

/// Default cap on one HTTP answer's body: far above any Salesforce page (2,000 records)
/// or collections answer (200 results), far below what would hurt the server's memory.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// What the network edge allows; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    /// Plain `http` to any host, not only loopback (`hubsync.allow_http`).
    pub allow_http: bool,
    /// Largest answer body read, in bytes (`hubsync.max_response_size`); a bigger answer
    /// is refused as soon as it is known to be bigger, never read whole.
    pub max_response_bytes: u64,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            allow_http: false,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

impl Network {
    /// Whether a request carrying credentials may go to `url`; the error says why not and
    /// what to do, naming only scheme and host (a URL may carry userinfo).
    pub fn check(&self, url: &Url) -> Result<(), String> {
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.allow_http || is_loopback(url) => Ok(()),
            "http" => Err(format!(
                "refusing to send credentials over plain http to {}: use an https URL (plain \
                 http is allowed only to a loopback address such as 127.0.0.1, e.g. a local \
                 emulator; a superuser can allow it everywhere with hubsync.allow_http = on)",
                url.host_str().unwrap_or("an unnamed host")
            )),
            other => Err(format!(
                "{other}: URLs cannot reach Salesforce; use an https URL"
            )),
        }
    }

    /// [`Network::check`] for a URL still in text form; text that is not a URL passes
    /// (the config parser reports it with its own message).
    pub fn check_text(&self, text: &str) -> Result<(), String> {
        match Url::parse(text.trim()) {
            Ok(url) => self.check(&url),
            Err(_) => Ok(()),
        }
    }
}

/// Whether `url`'s host is the loopback interface: an address in 127.0.0.0/8, `::1`
/// (also as an IPv4-mapped address), or the name `localhost`. Other names are not
/// resolved: a DNS answer could point anywhere.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.');
            name.eq_ignore_ascii_case("localhost")
                || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        None => false,
    }
}

/// The problems of a remote end's URLs under `network`, located by JSON path
/// (`source.credentials.instance_url`), each 22023 with what to do.
pub fn check_endpoints(remote: &RemoteEndpoint, network: &Network) -> Vec<Problem> {
    [
        ("instance_url", &remote.instance_url),
        ("login_url", &remote.login_url),
    ]
    .into_iter()
    .filter_map(|(key, url)| {
        let error = network.check_text(url.as_deref()?).err()?;
        Some(Problem::invalid(
            format!("{}.credentials.{key}", remote.path),
            error,
        ))
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::ProblemKind;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn loopback_hosts_are_recognised_without_resolving_names() {
        for yes in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://[::1]:9",
            "http://[::ffff:127.0.0.1]",
            "http://localhost:1234",
            "http://LOCALHOST.",
        ] {
            assert!(is_loopback(&url(yes)), "{yes}");
        }
        for no in [
            "http://10.0.0.1",
            "http://128.0.0.1",
            "http://[::2]",
            "http://localhost.evil.example",
            "http://127.0.0.1.nip.io",
            "http://my.salesforce.com",
        ] {
            assert!(!is_loopback(&url(no)), "{no}");
        }
    }

    #[test]
    fn https_always_passes_http_only_to_loopback_unless_allowed() {
        let strict = Network::default();
        assert!(strict.check(&url("https://acme.my.salesforce.com")).is_ok());
        assert!(strict.check(&url("http://127.0.0.1:41234")).is_ok());
        let refused = strict
            .check(&url("http://user:pw@acme.my.salesforce.com/x"))
            .unwrap_err();
        assert!(refused.contains("acme.my.salesforce.com"), "{refused}");
        assert!(refused.contains("https"), "{refused}");
        assert!(refused.contains("hubsync.allow_http"), "{refused}");
        assert!(!refused.contains("pw"), "userinfo leaked: {refused}");
        assert!(strict.check(&url("ftp://x.example")).is_err());
        let open = Network {
            allow_http: true,
            ..Network::default()
        };
        assert!(open.check(&url("http://acme.internal")).is_ok());
        assert!(open.check(&url("ftp://x.example")).is_err());
        assert!(strict.check_text("not a url").is_ok());
    }

    #[test]
    fn endpoint_problems_name_their_json_path() {
        let remote = RemoteEndpoint {
            system: crate::config::SystemKind::Salesforce,
            object: "Account".into(),
            instance_url: Some("http://acme.my.salesforce.com".into()),
            account_id: None,
            login_url: Some("http://login.salesforce.com".into()),
            auth_type: crate::config::AuthType::Oauth2,
            api_version: "59.0".into(),
            path: "source".into(),
        };
        let problems = check_endpoints(&remote, &Network::default());
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "source.credentials.instance_url",
                "source.credentials.login_url"
            ]
        );
        assert!(problems.iter().all(|p| p.kind == ProblemKind::InvalidValue));
        let allowed = Network {
            allow_http: true,
            ..Network::default()
        };
        assert!(check_endpoints(&remote, &allowed).is_empty());
        let local = RemoteEndpoint {
            instance_url: Some("http://127.0.0.1:9".into()),
            login_url: None,
            ..remote
        };
        assert!(check_endpoints(&local, &Network::default()).is_empty());
    }
}
