//! The OAuth 2.0 client-credentials (M2M) grant of NetSuite: a JWT client assertion
//! signed PS256 with the private key of the certificate uploaded in "OAuth 2.0 Client
//! Credentials (M2M) Setup", and the form that trades it for a 60-minute access token
//! (there is no refresh token: the connector signs a new assertion when one expires).
//!
//! Header `{"typ":"JWT","alg":"PS256","kid":<certificate id>}`; claims
//! `{"iss":<client id>,"scope":["rest_webservices"],"aud":<token URL>,"iat":now,"exp":now+LIFETIME}`.

use crate::salesforce::jwt::JwtSigner;
use ring::signature::RSA_PSS_SHA256;
use serde_json::json;
use url::Url;

/// How long an assertion is valid; NetSuite refuses `exp − iat` of an hour or more.
pub const LIFETIME_SECS: u64 = 300;

/// The grant's `client_assertion_type`.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The M2M integration: client id, certificate id and its private key. Debug prints
/// nothing of the key.
#[derive(Debug)]
pub struct M2mCredentials {
    client_id: String,
    certificate_id: String,
    signer: JwtSigner,
}

impl M2mCredentials {
    /// Reads the PEM RSA private key; the error never quotes it.
    pub fn new(
        client_id: &str,
        certificate_id: &str,
        private_key_pem: &str,
    ) -> Result<M2mCredentials, String> {
        if client_id.trim().is_empty() || certificate_id.trim().is_empty() {
            return Err("client_id and certificate_id must not be empty".into());
        }
        Ok(M2mCredentials {
            client_id: client_id.to_string(),
            certificate_id: certificate_id.to_string(),
            signer: JwtSigner::from_pem(private_key_pem)?,
        })
    }

    /// The certificate's public key as PKCS#1 DER (tests hand it to the emulator).
    #[cfg(test)]
    pub(crate) fn public_key_der(&self) -> Vec<u8> {
        self.signer.public_key_der()
    }

    /// A signed assertion for the token endpoint `token_url`, issued at `now_secs`.
    pub fn assertion(&self, token_url: &Url, now_secs: u64) -> Result<String, String> {
        let header = json!({"typ": "JWT", "alg": "PS256", "kid": self.certificate_id});
        let claims = json!({
            "iss": self.client_id,
            "scope": ["rest_webservices"],
            "aud": token_url.as_str(),
            "iat": now_secs,
            "exp": now_secs + LIFETIME_SECS,
        });
        self.signer.sign(&header, &claims, &RSA_PSS_SHA256)
    }

    /// The form body of the token request (it holds a bearer credential; never log it).
    pub fn token_form(&self, token_url: &Url, now_secs: u64) -> Result<String, String> {
        let assertion = self.assertion(token_url, now_secs)?;
        Ok(url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_assertion_type", ASSERTION_TYPE)
            .append_pair("client_assertion", &assertion)
            .finish())
    }
}

/// The token endpoint below a SuiteTalk base URL.
pub fn token_url(base: &Url) -> Result<Url, String> {
    base.join("/services/rest/auth/oauth2/v1/token")
        .map_err(|e| format!("{base} cannot hold the token path: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use ring::signature::{UnparsedPublicKey, RSA_PSS_2048_8192_SHA256};

    const KEY: &str = include_str!("../salesforce/testdata/jwt_test_key.pem");

    #[test]
    fn signs_a_ps256_assertion_netsuite_can_verify() {
        let credentials = M2mCredentials::new("hubsync-demo-m2m", "cert-1", KEY).unwrap();
        let url = token_url(&Url::parse("https://1234567-sb1.suitetalk.api.netsuite.com").unwrap())
            .unwrap();
        let jwt = credentials.assertion(&url, 1_627_905_703).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        let decode = |part: &str| -> serde_json::Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
        };
        assert_eq!(
            decode(parts[0]),
            json!({"typ": "JWT", "alg": "PS256", "kid": "cert-1"})
        );
        assert_eq!(
            decode(parts[1]),
            json!({"iss": "hubsync-demo-m2m", "scope": ["rest_webservices"],
                   "aud": "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token",
                   "iat": 1_627_905_703, "exp": 1_627_906_003})
        );
        UnparsedPublicKey::new(&RSA_PSS_2048_8192_SHA256, credentials.public_key_der())
            .verify(
                format!("{}.{}", parts[0], parts[1]).as_bytes(),
                &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
            )
            .expect("PS256 signature verifies");
        let form = credentials.token_form(&url, 1).unwrap();
        assert!(form.starts_with("grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=ey"));
        assert!(!format!("{credentials:?}").contains("MII"));
        assert!(M2mCredentials::new("", "c", KEY).is_err());
        assert!(M2mCredentials::new("c", "k", "nope").is_err());
    }
}
