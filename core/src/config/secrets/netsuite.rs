//! NetSuite's secrets: Token-Based Authentication (four values, each request signed) or
//! OAuth 2.0 client credentials (M2M: a client id, the certificate id of the uploaded key
//! pair, and its private key). Exactly one of the two sets, complete, or a problem that
//! names what is missing; a value is never repeated in a problem.

use super::Secret;
use crate::config::scalars::SecretText;
use crate::config::walker::{Obj, Problems};
use crate::problem::Problem;
use serde_json::Value;

/// The keys of Token-Based Authentication.
pub const TBA_KEYS: &[&str] = &[
    "consumer_key",
    "consumer_secret",
    "token_id",
    "token_secret",
];

/// The keys of OAuth 2.0 client credentials (M2M).
pub const M2M_KEYS: &[&str] = &["client_id", "certificate_id", "private_key"];

/// Every key of a NetSuite secret object (moved out of configs, accepted by
/// `set_credentials`): [`TBA_KEYS`] then [`M2M_KEYS`].
pub const NETSUITE_SECRET_KEYS: &[&str] = &[
    "consumer_key",
    "consumer_secret",
    "token_id",
    "token_secret",
    "client_id",
    "certificate_id",
    "private_key",
];

/// How hubsync signs in to a NetSuite account. Debug prints every value as `***` but the
/// M2M client and certificate ids, which are not secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetsuiteSecret {
    /// Token-Based Authentication (OAuth 1.0a, HMAC-SHA256): every request signed.
    Tba {
        /// The integration record's consumer key (`oauth_consumer_key`).
        consumer_key: Secret,
        /// Half of the signing key; never sent.
        consumer_secret: Secret,
        /// The access token's id (`oauth_token`).
        token_id: Secret,
        /// The other half of the signing key; never sent.
        token_secret: Secret,
    },
    /// OAuth 2.0 client credentials: a signed JWT assertion buys a 60-minute token.
    M2m {
        /// The integration's client id (`iss` of the assertion).
        client_id: String,
        /// The id NetSuite gave the uploaded certificate (`kid` of the assertion).
        certificate_id: String,
        /// PEM RSA private key of the certificate uploaded in NetSuite's M2M setup.
        private_key: Secret,
    },
}

impl NetsuiteSecret {
    /// Every secret value, for scrubbing error texts.
    pub fn secrets(&self) -> Vec<Secret> {
        match self {
            NetsuiteSecret::Tba {
                consumer_key,
                consumer_secret,
                token_id,
                token_secret,
            } => vec![
                consumer_key.clone(),
                consumer_secret.clone(),
                token_id.clone(),
                token_secret.clone(),
            ],
            NetsuiteSecret::M2m { private_key, .. } => vec![private_key.clone()],
        }
    }
}

/// Reads and checks a NetSuite secret object for `hubsync.set_credentials`.
pub fn parse_netsuite_secret(json: &Value) -> Result<NetsuiteSecret, Vec<Problem>> {
    let mut problems = Problems::default();
    let keys = [NETSUITE_SECRET_KEYS, super::ENDPOINT_KEYS].concat();
    let Some(obj) = Obj::open(json, "", &keys, &mut problems) else {
        return Err(problems.into_vec());
    };
    let text = |key: &str, problems: &mut Problems| {
        obj.get::<SecretText>(key, problems)
            .map(|s| s.0)
            .unwrap_or_default()
    };
    let tba = TBA_KEYS.iter().any(|k| obj.has(k));
    let m2m = M2M_KEYS.iter().any(|k| obj.has(k));
    let (set, keys) = match (tba, m2m) {
        (true, true) => {
            problems.invalid(
                obj.path(),
                "give either token-based authentication (consumer_key, consumer_secret, \
                 token_id, token_secret) or OAuth 2.0 M2M (client_id, certificate_id, \
                 private_key), not both",
            );
            return Err(problems.into_vec());
        }
        (true, false) => ("token-based authentication", TBA_KEYS),
        (false, true) => ("OAuth 2.0 M2M", M2M_KEYS),
        (false, false) => {
            problems.invalid(
                obj.path(),
                "no NetSuite credentials; give consumer_key, consumer_secret, token_id and \
                 token_secret (token-based authentication) or client_id, certificate_id and \
                 private_key (OAuth 2.0 M2M)",
            );
            return Err(problems.into_vec());
        }
    };
    for key in keys {
        if !obj.has(key) {
            problems.invalid(
                &obj.at(key),
                format!("{set} needs {key} as well (it needs {})", keys.join(", ")),
            );
        }
    }
    let parsed = if tba {
        NetsuiteSecret::Tba {
            consumer_key: Secret::new(text("consumer_key", &mut problems)),
            consumer_secret: Secret::new(text("consumer_secret", &mut problems)),
            token_id: Secret::new(text("token_id", &mut problems)),
            token_secret: Secret::new(text("token_secret", &mut problems)),
        }
    } else {
        NetsuiteSecret::M2m {
            client_id: text("client_id", &mut problems),
            certificate_id: text("certificate_id", &mut problems),
            private_key: Secret::new(text("private_key", &mut problems)),
        }
    };
    problems.finish(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_either_set_and_prints_no_value() {
        let tba = parse_netsuite_secret(&json!({
            "consumer_key": "ck-1", "consumer_secret": "cs-2", "token_id": "ti-3", "token_secret": "ts-4"
        }))
        .unwrap();
        assert!(matches!(tba, NetsuiteSecret::Tba { .. }));
        let printed = format!("{tba:?}");
        for value in ["ck-1", "cs-2", "ti-3", "ts-4"] {
            assert!(!printed.contains(value), "{printed}");
        }
        assert_eq!(tba.secrets().len(), 4);
        let m2m = parse_netsuite_secret(&json!({
            "client_id": "hubsync-demo-m2m", "certificate_id": "cert", "private_key": "-----BEGIN…"
        }))
        .unwrap();
        assert!(!format!("{m2m:?}").contains("BEGIN"));
        assert!(
            matches!(m2m, NetsuiteSecret::M2m { ref client_id, .. } if client_id == "hubsync-demo-m2m")
        );
    }

    #[test]
    fn incomplete_mixed_or_foreign_secrets_are_refused_with_their_path() {
        let paths = |v: Value| -> Vec<String> {
            parse_netsuite_secret(&v)
                .unwrap_err()
                .into_iter()
                .map(|p| p.path)
                .collect()
        };
        assert_eq!(
            paths(json!({"consumer_key": "a", "consumer_secret": "b", "token_id": "c"})),
            ["token_secret"]
        );
        assert_eq!(paths(json!({"consumer_key": "a", "client_id": "b"})), [""]);
        assert_eq!(paths(json!({})), [""]);
        assert_eq!(paths(json!({"client_secret": "x"})), ["client_secret", ""]);
        let problems = parse_netsuite_secret(
            &json!({"client_id": "a", "certificate_id": "b", "private_key": 42}),
        )
        .unwrap_err();
        assert_eq!(problems[0].path, "private_key");
        assert!(!problems[0].message.contains("42"));
    }
}
