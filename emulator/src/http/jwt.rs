//! The OAuth 2.0 JWT bearer grant: an RS256 assertion signed with the private key
//! whose certificate the connected app holds, checked the way Salesforce checks it
//! (signature, `iss` = consumer key, `sub` = the user, `aud` = a login host, `exp` no
//! more than a few minutes ahead and not past).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde_json::Value as Json;

/// How far ahead `exp` may be: Salesforce allows three minutes, plus clock skew.
const MAX_AHEAD_SECS: i64 = 5 * 60;

/// The key that verifies assertions: a certificate (as uploaded to a connected app)
/// or a PKCS#1 RSA public key.
pub enum JwtKey {
    Certificate(CertificateDer<'static>),
    RsaPublicKey(Vec<u8>),
}

impl JwtKey {
    /// The key `--jwt-certificate` gives, if any.
    pub fn from_options(options: &crate::EmulatorOptions) -> Result<Option<JwtKey>, String> {
        options
            .jwt_certificate_pem
            .as_deref()
            .map(JwtKey::from_pem)
            .transpose()
    }

    /// Reads `BEGIN CERTIFICATE` or `BEGIN RSA PUBLIC KEY` PEM text.
    pub fn from_pem(pem: &str) -> Result<JwtKey, String> {
        if pem.contains("BEGIN CERTIFICATE") {
            let cert = CertificateDer::from_pem_slice(pem.as_bytes())
                .map_err(|e| format!("the JWT certificate is not readable PEM ({e})"))?;
            webpki::EndEntityCert::try_from(&cert)
                .map_err(|e| format!("the JWT certificate is not an X.509 certificate ({e})"))?;
            return Ok(JwtKey::Certificate(cert));
        }
        if pem.contains("BEGIN RSA PUBLIC KEY") {
            let body: String = pem
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<Vec<_>>()
                .concat();
            let der = base64::engine::general_purpose::STANDARD
                .decode(body.trim())
                .map_err(|e| format!("the JWT public key is not readable PEM ({e})"))?;
            return Ok(JwtKey::RsaPublicKey(der));
        }
        Err(
            "the JWT key must be a PEM certificate (BEGIN CERTIFICATE) or an RSA public key \
             (BEGIN RSA PUBLIC KEY; openssl rsa -pubin -RSAPublicKey_out converts a PUBLIC KEY)"
                .into(),
        )
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            JwtKey::Certificate(der) => webpki::EndEntityCert::try_from(der).is_ok_and(|cert| {
                cert.verify_signature(webpki::ring::RSA_PKCS1_2048_8192_SHA256, message, signature)
                    .is_ok()
            }),
            JwtKey::RsaPublicKey(der) => ring::signature::UnparsedPublicKey::new(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                der,
            )
            .verify(message, signature)
            .is_ok(),
        }
    }
}

/// Why an assertion was refused: the OAuth `error` and `error_description`.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused(pub &'static str, pub &'static str);

/// What the grant checks an assertion against.
pub struct Expected<'a> {
    pub client_id: &'a str,
    pub username: &'a str,
    /// Accepted `aud` values (login hosts and the emulator's own URL).
    pub audiences: &'a [&'a str],
    pub now_secs: i64,
}

/// Verifies a compact JWS assertion.
pub fn verify(key: Option<&JwtKey>, assertion: &str, expected: &Expected) -> Result<(), Refused> {
    let invalid = Refused("invalid_grant", "invalid assertion");
    let mut parts = assertion.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid);
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok();
    let json = |part: &str| decode(part).and_then(|b| serde_json::from_slice::<Json>(&b).ok());
    let (Some(header), Some(claims), Some(signature)) =
        (json(header), json(claims), decode(signature))
    else {
        return Err(invalid);
    };
    if header.get("alg").and_then(Json::as_str) != Some("RS256") {
        return Err(invalid);
    }
    let claim = |name: &str| claims.get(name).and_then(Json::as_str);
    if claim("iss") != Some(expected.client_id) {
        return Err(Refused("invalid_client_id", "client identifier invalid"));
    }
    let audience_ok = match claims.get("aud") {
        Some(Json::String(aud)) => expected.audiences.contains(&aud.trim_end_matches('/')),
        Some(Json::Array(list)) => list.iter().any(|a| {
            a.as_str()
                .is_some_and(|a| expected.audiences.contains(&a.trim_end_matches('/')))
        }),
        _ => false,
    };
    if !audience_ok {
        return Err(Refused("invalid_grant", "audience is invalid"));
    }
    let Some(exp) = claims.get("exp").and_then(Json::as_i64) else {
        return Err(invalid);
    };
    if exp < expected.now_secs || exp > expected.now_secs + MAX_AHEAD_SECS {
        return Err(Refused("invalid_grant", "expired authorization code"));
    }
    let Some(key) = key else {
        return Err(invalid);
    };
    let signed = assertion.len() - assertion.rsplit('.').next().map_or(0, str::len) - 1;
    if !key.verify(&assertion.as_bytes()[..signed], &signature) {
        return Err(invalid);
    }
    if claim("sub") != Some(expected.username) {
        return Err(Refused(
            "invalid_grant",
            "user hasn't approved this consumer",
        ));
    }
    Ok(())
}
