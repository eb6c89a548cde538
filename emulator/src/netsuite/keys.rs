//! Public keys of M2M certificates: PEM `PUBLIC KEY` (SubjectPublicKeyInfo),
//! `RSA PUBLIC KEY` (PKCS#1) or `CERTIFICATE` (X.509, its key is used), read with a
//! minimal DER walk so `ring` can verify PS256/RS256/ES256/ES384 signatures.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ring::signature::{self, UnparsedPublicKey};

/// A verification key.
#[derive(Debug, Clone)]
pub enum PublicKey {
    /// PKCS#1 `RSAPublicKey` DER.
    Rsa(Vec<u8>),
    /// An uncompressed EC point on P-256 or P-384 (told apart by its length).
    Ec(Vec<u8>),
}

const RSA_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const EC_OID: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

impl PublicKey {
    /// Reads the first PEM block of `pem`.
    pub fn from_pem(pem: &str) -> Result<PublicKey, String> {
        let begin = pem
            .find("-----BEGIN ")
            .ok_or("not PEM (no -----BEGIN line)")?;
        let rest = &pem[begin + 11..];
        let (label, rest) = rest.split_once("-----").ok_or("a broken BEGIN line")?;
        let end = rest.find("-----END").ok_or("no -----END line")?;
        let text: String = rest[..end].split_whitespace().collect();
        let der = STANDARD
            .decode(text)
            .map_err(|e| format!("the PEM body is not base64: {e}"))?;
        match label {
            "RSA PUBLIC KEY" => Ok(PublicKey::Rsa(der)),
            "PUBLIC KEY" => from_spki(&der),
            "CERTIFICATE" => from_spki(&certificate_spki(&der)?),
            other => Err(format!(
                "a {other} block; give a PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE"
            )),
        }
    }

    /// Checks `signature` over `message` for the JWS `alg`.
    pub fn verify(&self, alg: &str, message: &[u8], sig: &[u8]) -> Result<(), String> {
        let algorithm: &dyn signature::VerificationAlgorithm = match (self, alg) {
            (PublicKey::Rsa(_), "PS256") => &signature::RSA_PSS_2048_8192_SHA256,
            (PublicKey::Rsa(_), "PS384") => &signature::RSA_PSS_2048_8192_SHA384,
            (PublicKey::Rsa(_), "PS512") => &signature::RSA_PSS_2048_8192_SHA512,
            (PublicKey::Rsa(_), "RS256") => &signature::RSA_PKCS1_2048_8192_SHA256,
            (PublicKey::Ec(p), "ES256") if p.len() == 65 => &signature::ECDSA_P256_SHA256_FIXED,
            (PublicKey::Ec(p), "ES384") if p.len() == 97 => &signature::ECDSA_P384_SHA384_FIXED,
            _ => return Err(format!("alg {alg} does not fit the configured key")),
        };
        let key = match self {
            PublicKey::Rsa(der) | PublicKey::Ec(der) => der,
        };
        UnparsedPublicKey::new(algorithm, key)
            .verify(message, sig)
            .map_err(|_| "the signature does not verify".to_string())
    }
}

/// One DER element: (tag, contents, the rest after it).
fn element(der: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
    let broken = || "broken DER".to_string();
    let (&tag, rest) = der.split_first().ok_or_else(broken)?;
    let (&first, rest) = rest.split_first().ok_or_else(broken)?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err(broken());
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(broken());
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

/// The key inside a SubjectPublicKeyInfo.
fn from_spki(der: &[u8]) -> Result<PublicKey, String> {
    let (_, spki, _) = element(der)?;
    let (_, algorithm, rest) = element(spki)?;
    let (_, oid, _) = element(algorithm)?;
    let (tag, bits, _) = element(rest)?;
    if tag != 0x03 || bits.first() != Some(&0) {
        return Err("the key is not a BIT STRING".into());
    }
    let key = bits[1..].to_vec();
    match oid {
        RSA_OID => Ok(PublicKey::Rsa(key)),
        EC_OID => Ok(PublicKey::Ec(key)),
        _ => Err("neither an RSA nor an EC key".into()),
    }
}

/// The SubjectPublicKeyInfo of an X.509 certificate, as DER.
fn certificate_spki(der: &[u8]) -> Result<Vec<u8>, String> {
    let (_, certificate, _) = element(der)?;
    let (_, mut tbs, _) = element(certificate)?;
    // [0] version (optional), serial, signature, issuer, validity, subject, spki.
    if tbs.first() == Some(&0xa0) {
        tbs = element(tbs)?.2;
    }
    for _ in 0..5 {
        tbs = element(tbs)?.2;
    }
    let (_, _, after) = element(tbs)?;
    Ok(tbs[..tbs.len() - after.len()].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EC_CERTIFICATE: &str = include_str!("testdata/ec.crt");
    const EC_SPKI: &str = include_str!("testdata/ec.pub");
    const RSA_SPKI: &str = include_str!("testdata/rsa.pub");
    const RSA_PKCS1: &str = include_str!("testdata/rsa1.pub");

    fn der(key: &PublicKey) -> (&'static str, &[u8]) {
        match key {
            PublicKey::Rsa(d) => ("rsa", d),
            PublicKey::Ec(d) => ("ec", d),
        }
    }

    #[test]
    fn reads_every_pem_form_of_one_key_alike() {
        let from_certificate = PublicKey::from_pem(EC_CERTIFICATE).unwrap();
        let from_spki = PublicKey::from_pem(EC_SPKI).unwrap();
        assert_eq!(der(&from_certificate), der(&from_spki));
        assert_eq!(der(&from_spki).1.len(), 65, "an uncompressed P-256 point");
        let spki = PublicKey::from_pem(RSA_SPKI).unwrap();
        let pkcs1 = PublicKey::from_pem(RSA_PKCS1).unwrap();
        assert_eq!(der(&spki), der(&pkcs1));
        assert!(
            spki.verify("ES256", b"x", b"y").is_err(),
            "alg must fit the key"
        );
        assert!(from_spki.verify("ES256", b"x", &[0; 64]).is_err());
        for bad in [
            "no pem here",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
            "-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----",
            "-----BEGIN PUBLIC KEY-----\nMAMCAQA=\n-----END PUBLIC KEY-----",
        ] {
            assert!(PublicKey::from_pem(bad).is_err(), "{bad}");
        }
    }
}
