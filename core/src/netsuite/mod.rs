//! NetSuite: the connector for customer and contact records over SuiteTalk REST and
//! SuiteQL ([`NetsuiteClient`], which implements [`crate::connector::Connector`]).
//!
//! Pure parts first, each with its tests: the Token-Based Authentication header (OAuth
//! 1.0a, HMAC-SHA256) in [`tba`], the signed JWT assertion of OAuth 2.0 client credentials
//! (M2M) in [`m2m`], the SuiteQL the connector sends in [`suiteql`], metadata as a describe
//! in [`describe`], value shapes in [`values`], and the account-id spellings NetSuite uses
//! for realms and hosts below. I/O lives in `client` (requests, sign-in, the concurrency
//! bound) and `connector` (batches and pages).

mod auth;
pub mod client;
pub(crate) mod connector;
pub mod describe;
mod error;
/// OAuth 2.0 client credentials with a PS256 JWT assertion.
pub mod m2m;
pub mod suiteql;
/// Token-Based Authentication (OAuth 1.0a, HMAC-SHA256).
pub mod tba;
pub mod values;

pub use client::{ClientConfig, ClientConfigError, NetsuiteClient};

use url::Url;

/// The realm / OAuth spelling of an account id: upper case with `_` (`1234567_SB1`).
pub fn realm(account: &str) -> String {
    account.trim().to_ascii_uppercase().replace('-', "_")
}

/// The host spelling of an account id: lower case with `-` (`1234567-sb1`).
pub fn host_slug(account: &str) -> String {
    account.trim().to_ascii_lowercase().replace('_', "-")
}

/// The SuiteTalk REST base of an account: `https://{slug}.suitetalk.api.netsuite.com`.
pub fn account_base_url(account: &str) -> Result<Url, String> {
    let slug = host_slug(account);
    let valid = !slug.is_empty() && slug.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !valid {
        return Err(format!(
            "account_id {account:?} is not a NetSuite account id such as 1234567 or 1234567_SB1"
        ));
    }
    Url::parse(&format!("https://{slug}.suitetalk.api.netsuite.com"))
        .map_err(|e| format!("account_id {account:?} makes no URL: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spells_account_ids_for_realms_and_hosts() {
        assert_eq!(realm("1234567-sb1"), "1234567_SB1");
        assert_eq!(host_slug("1234567_SB1"), "1234567-sb1");
        assert_eq!(
            account_base_url("1234567_SB1").unwrap().as_str(),
            "https://1234567-sb1.suitetalk.api.netsuite.com/"
        );
        assert!(account_base_url("12 34").is_err());
        assert!(account_base_url("").is_err());
    }

    /// Both signers against the emulator's independent verifiers: a TBA-signed GET and
    /// an M2M token whose bearer then reads the same resource.
    #[test]
    fn the_emulator_accepts_what_core_signs() {
        use crate::config::Secret;
        use base64::Engine as _;
        let key = include_str!("../salesforce/testdata/jwt_test_key.pem");
        let m2m = m2m::M2mCredentials::new("hubsync-demo-m2m", "cert-7", key).unwrap();
        let public = base64::engine::general_purpose::STANDARD.encode(m2m.public_key_der());
        let emulator = hubsync_emulator::netsuite::start(hubsync_emulator::netsuite::Options {
            m2m_certificate_id: "cert-7".into(),
            m2m_public_key_pem: Some(format!(
                "-----BEGIN RSA PUBLIC KEY-----\n{public}\n-----END RSA PUBLIC KEY-----\n"
            )),
            ..Default::default()
        })
        .unwrap();
        let base = Url::parse(emulator.url()).unwrap();
        let url = base
            .join("/services/rest/record/v1/customer?q=email START_WITH \"a\"&limit=2")
            .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let credentials = tba::TokenCredentials {
            realm: realm("1234567"),
            consumer_key: "hubsync-demo-consumer-key".into(),
            consumer_secret: Secret::new("hubsync-demo-consumer-secret"),
            token_id: "hubsync-demo-token-id".into(),
            token_secret: Secret::new("hubsync-demo-token-secret"),
        };
        let stamp = tba::Stamp::fresh(now).unwrap();
        let header = tba::authorization(&credentials, "GET", &url, &stamp);
        let get = |auth: &str| match ureq::get(url.as_str()).set("Authorization", auth).call() {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(status, _)) => status,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(get(&header), 200);
        assert_eq!(get(&header), 401, "a replayed nonce is refused");
        let token_url = m2m::token_url(&base).unwrap();
        let form = m2m.token_form(&token_url, now).unwrap();
        let text = ureq::post(token_url.as_str())
            .set("Content-Type", "application/x-www-form-urlencoded")
            .send_string(&form)
            .unwrap()
            .into_string()
            .unwrap();
        let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["expires_in"], "3600");
        let bearer = format!("Bearer {}", answer["access_token"].as_str().unwrap());
        assert_eq!(get(&bearer), 200);
    }
}
