//! Signed JWT assertions for Salesforce's OAuth 2.0 JWT bearer grant (and, through
//! [`JwtSigner::sign`], NetSuite's M2M client assertions).
//!
//! The grant needs no password and no stored refresh token: a connected app trusts a
//! certificate, and hubsync proves itself by signing a short-lived assertion with the
//! matching private key (RS256; NetSuite wants PS256).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{RsaEncoding, RsaKeyPair, RSA_PKCS1_SHA256};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivateKeyDer;
use serde_json::json;

/// How long an assertion is valid; Salesforce allows at most three minutes.
const LIFETIME_SECS: u64 = 180;

/// An RSA private key ready to sign assertions. Its Debug prints nothing of the key.
pub(crate) struct JwtSigner {
    key: RsaKeyPair,
}

impl std::fmt::Debug for JwtSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtSigner(***)")
    }
}

impl JwtSigner {
    /// Reads a PEM RSA key (`BEGIN PRIVATE KEY` or `BEGIN RSA PRIVATE KEY`). The error
    /// never quotes the key.
    pub(crate) fn from_pem(pem: &str) -> Result<JwtSigner, String> {
        let unreadable = |_| {
            "private_key is not a PEM RSA private key (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY)"
                .to_string()
        };
        let der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(unreadable)?;
        let key = match &der {
            PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
            _ => {
                return Err(
                    "private_key is not an RSA key; the JWT bearer grant signs with RS256".into(),
                )
            }
        }
        .map_err(|e| {
            format!("private_key is not a usable RSA key ({e}); use a 2048-bit or larger RSA key")
        })?;
        Ok(JwtSigner { key })
    }

    /// A compact JWS: `iss` = the connected app's consumer key, `sub` = the user,
    /// `aud` = the login host, `exp` = three minutes after `now_secs`.
    pub(crate) fn assertion(
        &self,
        client_id: &str,
        username: &str,
        audience: &str,
        now_secs: u64,
    ) -> Result<String, String> {
        let header = json!({"alg": "RS256", "typ": "JWT"});
        let claims = json!({
            "iss": client_id,
            "sub": username,
            "aud": audience,
            "exp": now_secs + LIFETIME_SECS,
        });
        self.sign(&header, &claims, &RSA_PKCS1_SHA256)
    }

    /// A compact JWS of `claims` under `header`, signed with `encoding` (which must be
    /// the one `header.alg` names: `RSA_PKCS1_SHA256` for RS256, `RSA_PSS_SHA256` for PS256).
    pub(crate) fn sign(
        &self,
        header: &serde_json::Value,
        claims: &serde_json::Value,
        encoding: &'static dyn RsaEncoding,
    ) -> Result<String, String> {
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                encoding,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "signing the JWT assertion failed".to_string())?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }

    /// The public half as PKCS#1 DER (tests hand it to the emulator).
    #[cfg(test)]
    pub(crate) fn public_key_der(&self) -> Vec<u8> {
        use ring::signature::KeyPair;
        self.key.public_key().as_ref().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{KeyPair, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};

    const PKCS8: &str = include_str!("testdata/jwt_test_key.pem");
    const PKCS1: &str = include_str!("testdata/jwt_test_key_pkcs1.pem");

    #[test]
    fn signs_an_assertion_salesforce_can_verify() {
        for pem in [PKCS8, PKCS1] {
            let signer = JwtSigner::from_pem(pem).unwrap();
            let jwt = signer
                .assertion(
                    "ck",
                    "user@example.com",
                    "https://login.salesforce.com",
                    1_000,
                )
                .unwrap();
            let parts: Vec<&str> = jwt.split('.').collect();
            assert_eq!(parts.len(), 3);
            let claims: serde_json::Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
            assert_eq!(
                claims,
                json!({"iss": "ck", "sub": "user@example.com",
                       "aud": "https://login.salesforce.com", "exp": 1_180})
            );
            let header: serde_json::Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
            assert_eq!(header["alg"], "RS256");
            let public = signer.key.public_key().as_ref().to_vec();
            let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
            let signed = format!("{}.{}", parts[0], parts[1]);
            UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public)
                .verify(signed.as_bytes(), &signature)
                .expect("signature verifies");
        }
    }

    #[test]
    fn rejects_keys_it_cannot_use_without_quoting_them() {
        let err = JwtSigner::from_pem("not a key at all").unwrap_err();
        assert!(err.contains("not a PEM RSA private key"));
        let truncated: String = PKCS8
            .lines()
            .filter(|l| !l.contains("MII"))
            .collect::<Vec<_>>()
            .join("\n");
        let err = JwtSigner::from_pem(&truncated).unwrap_err();
        assert!(!err.contains("-----BEGIN"));
        assert!(format!("{:?}", JwtSigner::from_pem(PKCS8).unwrap()).contains("***"));
    }
}
