//! The OAuth 2.0 JWT bearer grant: an RS256 assertion signed with the private key
//! whose certificate the connected app holds, checked the way Salesforce checks it
//! (signature, `iss` = consumer key, `sub` = the user, `aud` = a login host, `exp` no
//! more than a few minutes ahead and not past).

use crate::keys::PublicKey;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value as Json;

/// How far ahead `exp` may be: Salesforce allows three minutes, plus clock skew.
const MAX_AHEAD_SECS: i64 = 5 * 60;

/// The key `--jwt-certificate` gives, if any: the RSA key of a PEM certificate (as
/// uploaded to a connected app), `RSA PUBLIC KEY` or `PUBLIC KEY`.
pub fn key(options: &crate::EmulatorOptions) -> Result<Option<PublicKey>, String> {
    let Some(pem) = options.jwt_certificate_pem.as_deref() else {
        return Ok(None);
    };
    match PublicKey::from_pem(pem) {
        Ok(key @ PublicKey::Rsa(_)) => Ok(Some(key)),
        Ok(PublicKey::Ec(_)) => Err(
            "the JWT key is an EC key; the JWT bearer grant signs with RS256, so give an RSA \
             certificate or public key"
                .into(),
        ),
        Err(e) => Err(format!("the JWT certificate is not readable: {e}")),
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
pub fn verify(
    key: Option<&PublicKey>,
    assertion: &str,
    expected: &Expected,
) -> Result<(), Refused> {
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
    if key
        .verify("RS256", &assertion.as_bytes()[..signed], &signature)
        .is_err()
    {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(pem: &str) -> Result<Option<PublicKey>, String> {
        key(&crate::EmulatorOptions {
            jwt_certificate_pem: Some(pem.into()),
            ..Default::default()
        })
    }

    #[test]
    fn takes_rsa_keys_in_every_pem_form_and_refuses_ec_keys() {
        assert!(key(&crate::EmulatorOptions::default()).unwrap().is_none());
        for rsa in [
            include_str!("../../tests/data/jwt_test_cert.pem"),
            include_str!("../../tests/data/jwt_test_rsa_public.pem"),
            include_str!("../keys/testdata/rsa.pub"),
        ] {
            assert!(matches!(key_of(rsa), Ok(Some(PublicKey::Rsa(_)))), "{rsa}");
        }
        let ec = key_of(include_str!("../keys/testdata/ec.crt"))
            .err()
            .unwrap();
        assert!(ec.contains("EC key"), "{ec}");
        let broken = key_of("not pem").err().unwrap();
        assert!(
            broken.starts_with("the JWT certificate is not readable"),
            "{broken}"
        );
    }
}
