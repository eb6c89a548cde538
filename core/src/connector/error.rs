//! What a failed call to a remote system tells the worker, in a form that is safe to log.
//!
//! Every failure carries a [`Failure`] so [`crate::retry::classify`] alone decides what
//! happens next, plus what the system said (status, per-record errors, OAuth error) for the
//! review queue. Text that came from the network is scrubbed of secrets and tokens before
//! it is stored, so neither `Display` nor `Debug` of an error can leak one.

use crate::config::Secret;
use crate::retry::{self, Class, Failure, Operation, TransportError};
use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::sync::LazyLock;

/// One error about a record or request, as the remote system coded it. (Salesforce's REST
/// errors call the code `errorCode`, its sObject Collections results `statusCode`; both
/// read into `status_code`; other connectors build it from their own bodies.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordError {
    /// `REQUIRED_FIELD_MISSING`, `UNABLE_TO_LOCK_ROW`, …: what [`retry::classify`] reads.
    #[serde(rename = "statusCode", alias = "errorCode")]
    pub status_code: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub message: String,
    /// API names of the fields the error is about (may be empty).
    #[serde(default, deserialize_with = "null_as_default")]
    pub fields: Vec<String>,
    /// For systems that write each record with a request of its own (NetSuite): how that
    /// request failed, so the record is classified exactly as a failed call would be (a
    /// 429 backs off the connection, a create whose answer was lost is looked up).
    #[serde(skip)]
    pub call: Option<Failure>,
}

impl RecordError {
    /// The failure to classify for this record's error: its own request's failure when
    /// it had one, else the error inside a successful (200) collections call:
    /// `retry::classify(&error.failure(Operation::Create))`.
    pub fn failure(&self, op: Operation) -> Failure {
        match &self.call {
            Some(failure) => failure.clone(),
            None => Failure::Response {
                op,
                status: 200,
                code: Some(self.status_code.clone()),
            },
        }
    }

    /// One record's share of a batch written record by record: the error of the call
    /// that wrote it, keeping that call's failure for classification.
    pub fn from_call(error: &CallError) -> RecordError {
        let first = error.errors.first();
        RecordError {
            status_code: first.map_or_else(
                || match error.status {
                    Some(status) => format!("HTTP_{status}"),
                    None => "NO_ANSWER".into(),
                },
                |e| e.status_code.clone(),
            ),
            message: error.to_string(),
            fields: first.map(|e| e.fields.clone()).unwrap_or_default(),
            call: Some(error.failure.clone()),
        }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status_code, self.message)?;
        if !self.fields.is_empty() {
            write!(f, " (fields: {})", self.fields.join(", "))?;
        }
        Ok(())
    }
}

/// Reads JSON `null` as the type's default, as Salesforce sends `null` for empty lists.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// The token endpoint's refusal (RFC 6749 shape), e.g. `invalid_grant` /
/// `authentication failure`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthError {
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
}

/// A call to a remote system that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    /// What failed, for [`retry::classify`]; see [`CallError::class`].
    pub failure: Failure,
    /// The HTTP status the system answered with; `None` when no answer arrived or hubsync
    /// refused to send the request.
    pub status: Option<u16>,
    /// The system's per-request errors (empty when there were none).
    pub errors: Vec<RecordError>,
    /// The token endpoint's error when getting an access token failed.
    pub oauth: Option<Box<OAuthError>>,
    /// What happened, scrubbed of secrets.
    pub(crate) message: String,
}

impl CallError {
    /// What the worker should do: retry, review, refresh, back off, treat as done, or
    /// look the record up.
    pub fn class(&self) -> Class {
        retry::classify(&self.failure)
    }

    /// Why [`CallError::class`] decided so, for logs and the review queue.
    pub fn reason(&self) -> &'static str {
        retry::reason(&self.failure)
    }

    /// What happened, without the classification's advice.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The operation the failed call was for.
    pub fn operation(&self) -> Operation {
        match self.failure {
            Failure::Response { op, .. } | Failure::Transport { op, .. } => op,
        }
    }

    /// The system answered with an error status; `errors` are what its body said, already
    /// scrubbed, and `message` describes the exchange for people (scrubbed too).
    pub(crate) fn answered(
        op: Operation,
        status: u16,
        errors: Vec<RecordError>,
        message: String,
    ) -> Self {
        CallError {
            failure: Failure::Response {
                op,
                status,
                code: errors.first().map(|e| e.status_code.clone()),
            },
            status: Some(status),
            errors,
            oauth: None,
            message,
        }
    }

    /// The same error as seen by a call for `op` (a token failure shared by several
    /// threads is reported to each for its own operation).
    pub(crate) fn for_op(mut self, new_op: Operation) -> Self {
        match &mut self.failure {
            Failure::Response { op, .. } | Failure::Transport { op, .. } => *op = new_op,
        }
        self
    }

    /// The exchange broke before a complete answer arrived.
    pub(crate) fn broken(
        op: Operation,
        error: TransportError,
        request_sent: bool,
        detail: &str,
    ) -> Self {
        let when = if request_sent {
            "after the request was sent"
        } else {
            "before the request was sent"
        };
        CallError {
            failure: Failure::Transport {
                op,
                error,
                request_sent,
            },
            status: None,
            errors: Vec::new(),
            oauth: None,
            message: format!("the {} failed {when}: {detail}", name(op)),
        }
    }

    /// A success status whose body cannot be read: the answer is lost, so it counts as a
    /// connection that broke after sending (a create's outcome is then unknown).
    pub(crate) fn unreadable(op: Operation, status: u16, what: &str) -> Self {
        CallError {
            status: Some(status),
            message: format!(
                "the {} got HTTP {status} but the answer is unreadable: {what}",
                name(op)
            ),
            ..CallError::broken(op, TransportError::ConnectionReset, true, "")
        }
    }

    /// hubsync refused to send a request the system would reject; `code` is the error code
    /// it would have answered with, so classification is the same.
    pub(crate) fn refused(op: Operation, code: &str, message: String) -> Self {
        CallError {
            failure: Failure::Response {
                op,
                status: 400,
                code: Some(code.into()),
            },
            status: None,
            errors: Vec::new(),
            oauth: None,
            message: format!("the {} was not sent: {message}", name(op)),
        }
    }
}

impl CallError {
    /// `system`'s OAuth token endpoint refused to issue an access token; the RFC 6749
    /// `error` becomes the failure's code (so `invalid_client` reads as bad secrets).
    pub(crate) fn token_refused_by(
        system: &str,
        op: Operation,
        status: u16,
        body: &[u8],
        scrub: &Scrubber,
    ) -> Self {
        let oauth = serde_json::from_slice::<OAuthError>(body).ok().map(|e| {
            Box::new(OAuthError {
                error: scrub.scrub(&e.error),
                error_description: e.error_description.map(|d| scrub.scrub(&d)),
            })
        });
        let said = match oauth.as_deref() {
            Some(OAuthError {
                error,
                error_description: Some(d),
            }) => format!("{error}: {d}"),
            Some(OAuthError {
                error,
                error_description: None,
            }) => error.clone(),
            None => format!("no OAuth error ({})", snippet(body, scrub)),
        };
        CallError {
            failure: Failure::Response {
                op,
                status,
                code: oauth.as_ref().map(|e| e.error.clone()),
            },
            status: Some(status),
            errors: Vec::new(),
            message: format!(
                "{system} refused an access token for the {} (HTTP {status}): {said}",
                name(op)
            ),
            oauth,
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.reason())
    }
}

impl std::error::Error for CallError {}

/// The operation as a noun for messages.
pub(crate) fn name(op: Operation) -> &'static str {
    match op {
        Operation::Read => "read",
        Operation::Create => "create",
        Operation::Update => "update",
        Operation::Upsert => "upsert",
        Operation::Delete => "delete",
    }
}

/// The start of an unexpected body, scrubbed, for messages.
pub(crate) fn snippet(body: &[u8], scrub: &Scrubber) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "empty body".into();
    }
    let cut: String = text.chars().take(MAX).collect();
    let more = if cut.len() < text.len() { "…" } else { "" };
    format!("body: {}{more}", scrub.scrub(&cut))
}

/// Removes secrets from text that came from the network, in case a server echoes one.
#[derive(Clone, Default)]
pub(crate) struct Scrubber {
    known: Vec<Secret>,
}

/// Secrets shorter than this are not searched for: they would garble every message, and
/// nobody's real secret is that short.
const MIN_SECRET_LEN: usize = 4;

static TOKEN_SHAPES: LazyLock<[(Regex, &str); 3]> = LazyLock::new(|| {
    [
        // A Salesforce session id: 15- or 18-char org id, '!', opaque part.
        (
            Regex::new(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._\-]+").expect("valid regex"),
            "***",
        ),
        (
            Regex::new(r"(?i)\b(bearer|oauth)(\s+)[^\s\x22',;]+").expect("valid regex"),
            "$1$2***",
        ),
        (
            Regex::new(
                r#"(?i)\b(access_token|refresh_token|client_secret|password|assertion)("?\s*[:=]\s*"?)[^\s"&,;]+"#,
            )
            .expect("valid regex"),
            "$1$2***",
        ),
    ]
});

impl Scrubber {
    /// A scrubber that also removes these exact values.
    pub(crate) fn new(known: impl IntoIterator<Item = Secret>) -> Self {
        Scrubber {
            known: known
                .into_iter()
                .filter(|s| s.expose().len() >= MIN_SECRET_LEN)
                .collect(),
        }
    }

    /// This scrubber plus one more value (the access token of the failed call).
    pub(crate) fn with(&self, extra: Secret) -> Scrubber {
        Scrubber::new(self.known.iter().cloned().chain([extra]))
    }

    /// `text` with known secrets and anything shaped like a token replaced by `***`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut clean = text.to_string();
        for secret in &self.known {
            clean = clean.replace(secret.expose(), "***");
        }
        for (shape, replacement) in TOKEN_SHAPES.iter() {
            clean = shape.replace_all(&clean, *replacement).into_owned();
        }
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrubber() -> Scrubber {
        Scrubber::new([Secret::new("s3cr3t-value"), Secret::new("ab")])
    }

    #[test]
    fn reads_rest_and_collections_error_shapes() {
        let rest =
            br#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#;
        let e = CallError::rejected(Operation::Read, 401, rest, &scrubber());
        assert_eq!(e.errors[0].status_code, "INVALID_SESSION_ID");
        assert!(e.errors[0].fields.is_empty());
        assert_eq!(e.class(), Class::Auth);
        assert_eq!(e.status, Some(401));

        let fields = br#"[{"message":"Required fields are missing: [Name]","errorCode":"REQUIRED_FIELD_MISSING","fields":["Name"]}]"#;
        let e = CallError::rejected(Operation::Create, 400, fields, &scrubber());
        assert_eq!(e.errors[0].fields, vec!["Name"]);
        assert_eq!(e.class(), Class::Permanent);
        assert!(e.to_string().contains(
            "REQUIRED_FIELD_MISSING: Required fields are missing: [Name] (fields: Name)"
        ));

        let item: RecordError = serde_json::from_str(
            r#"{"statusCode":"UNABLE_TO_LOCK_ROW","message":"unable to obtain exclusive access","fields":null}"#,
        )
        .unwrap();
        assert_eq!(
            retry::classify(&item.failure(Operation::Update)),
            Class::Retryable
        );
    }

    #[test]
    fn classifies_status_only_answers() {
        let e = CallError::rejected(Operation::Update, 503, b"<html>busy</html>", &scrubber());
        assert_eq!(e.class(), Class::Retryable);
        let e = CallError::rejected(Operation::Create, 503, b"<html>busy</html>", &scrubber());
        assert_eq!(
            e.class(),
            Class::UnknownOutcome,
            "the create may have been done"
        );
        assert!(e.errors.is_empty());
        assert!(e.message().contains("body: <html>busy</html>"));
        let e = CallError::rejected(Operation::Read, 403, br#"[{"errorCode":"REQUEST_LIMIT_EXCEEDED","message":"TotalRequests Limit exceeded."}]"#, &scrubber());
        assert_eq!(e.class(), Class::RateLimited);
        let e = CallError::rejected(
            Operation::Delete,
            404,
            br#"{"errorCode":"NOT_FOUND","message":"gone"}"#,
            &scrubber(),
        );
        assert_eq!(e.class(), Class::Gone);
        let e = CallError::rejected(Operation::Read, 400, b"", &scrubber());
        assert!(e.message().contains("empty body"));
    }

    #[test]
    fn reads_oauth_errors_as_permanent() {
        let body = br#"{"error":"invalid_grant","error_description":"authentication failure"}"#;
        let e = CallError::token_refused(Operation::Upsert, 400, body, &scrubber());
        assert_eq!(e.class(), Class::Permanent);
        assert_eq!(e.oauth.as_ref().unwrap().error, "invalid_grant");
        assert!(e
            .to_string()
            .contains("invalid_grant: authentication failure"));
        assert!(e.to_string().contains("credentials"));
        let e = CallError::token_refused(Operation::Read, 503, b"down", &scrubber());
        assert_eq!(e.class(), Class::Retryable);
        assert_eq!(
            CallError::no_grant(Operation::Read).class(),
            Class::Permanent
        );
    }

    #[test]
    fn transport_failures_keep_whether_the_request_was_sent() {
        let e = CallError::broken(
            Operation::Create,
            TransportError::ConnectionReset,
            true,
            "reset",
        );
        assert_eq!(e.class(), Class::UnknownOutcome);
        let e = CallError::broken(
            Operation::Create,
            TransportError::ConnectionRefused,
            false,
            "refused",
        );
        assert_eq!(e.class(), Class::Retryable);
        assert_eq!(
            CallError::unreadable(Operation::Create, 200, "not JSON").class(),
            Class::UnknownOutcome
        );
        assert_eq!(
            CallError::unreadable(Operation::Read, 200, "not JSON").class(),
            Class::Retryable
        );
        let e = CallError::refused(Operation::Create, "EXCEEDED_ID_LIMIT", "201 records".into());
        assert_eq!((e.class(), e.status), (Class::Permanent, None));
        assert_eq!(
            e.clone().for_op(Operation::Delete).operation(),
            Operation::Delete
        );
    }

    #[test]
    fn secrets_and_tokens_never_appear_in_errors() {
        let token = "00Dxx0000000001!AQ0AQH0dMHZfz972Szmpkb58urFRkgeBGsxL";
        let echoes: Vec<Vec<u8>> = vec![
            format!(r#"[{{"message":"bad token {token} s3cr3t-value","errorCode":"INVALID_SESSION_ID"}}]"#).into(),
            format!(r#"{{"error":"invalid_client","error_description":"client_secret=s3cr3t-value Bearer {token}"}}"#).into(),
            format!("Authorization: Bearer abc.def-ghi, password: hunter22 {token}").into(),
        ];
        let scrub = scrubber();
        let errors: Vec<CallError> = echoes
            .iter()
            .flat_map(|body| {
                [
                    CallError::rejected(Operation::Read, 401, body, &scrub),
                    CallError::token_refused(Operation::Read, 400, body, &scrub),
                ]
            })
            .collect();
        for e in &errors {
            for text in [e.to_string(), format!("{e:?}")] {
                for secret in [token, "s3cr3t-value", "abc.def-ghi", "hunter22", "AQ0AQH0d"] {
                    assert!(!text.contains(secret), "{secret} leaked in {text}");
                }
            }
        }
        // Short secrets are not searched for: they would mangle ordinary words.
        assert_eq!(scrub.scrub("about"), "about");
    }
}
