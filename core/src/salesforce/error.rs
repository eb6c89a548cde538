//! Salesforce's error bodies: the REST error array and the OAuth token endpoint's refusal,
//! read into the connector's [`CallError`].

use crate::connector::error::{name, snippet, CallError, RecordError, Scrubber};
use crate::retry::{Failure, Operation};

impl CallError {
    /// Salesforce answered a REST call with an error status.
    pub(crate) fn rejected(op: Operation, status: u16, body: &[u8], scrub: &Scrubber) -> Self {
        let errors = parse_error_array(body, scrub);
        let said = if errors.is_empty() {
            format!("no error details ({})", snippet(body, scrub))
        } else {
            join(&errors)
        };
        let message = format!(
            "Salesforce answered the {} with HTTP {status}: {said}",
            name(op)
        );
        CallError::answered(op, status, errors, message)
    }

    /// The token endpoint refused to issue an access token.
    pub(crate) fn token_refused(op: Operation, status: u16, body: &[u8], scrub: &Scrubber) -> Self {
        CallError::token_refused_by("Salesforce", op, status, body, scrub)
    }

    /// The token endpoint answered 200 with something that is not a usable token.
    pub(crate) fn bad_token(op: Operation, what: &str) -> Self {
        CallError {
            failure: Failure::Response {
                op,
                status: 200,
                code: Some("invalid_grant".into()),
            },
            status: Some(200),
            errors: Vec::new(),
            oauth: None,
            message: format!(
                "the token endpoint's answer for the {} is unusable: {what}; check login_url",
                name(op)
            ),
        }
    }

    /// The access token was rejected and the secrets allow no way to get another.
    pub(crate) fn no_grant(op: Operation) -> Self {
        CallError {
            failure: Failure::Response {
                op,
                status: 401,
                code: Some("invalid_grant".into()),
            },
            status: Some(401),
            errors: Vec::new(),
            oauth: None,
            message: format!(
                "Salesforce rejected the access token for the {} and the connection's secrets \
                 hold no way to get a new one; give hubsync.set_credentials a client_id with a \
                 client_secret, refresh_token or username and password",
                name(op)
            ),
        }
    }
}

fn join(errors: &[RecordError]) -> String {
    let parts: Vec<String> = errors.iter().map(ToString::to_string).collect();
    parts.join("; ")
}

/// A REST error body: normally an array of errors, sometimes a single object.
fn parse_error_array(body: &[u8], scrub: &Scrubber) -> Vec<RecordError> {
    let errors = serde_json::from_slice::<Vec<RecordError>>(body)
        .or_else(|_| serde_json::from_slice::<RecordError>(body).map(|e| vec![e]))
        .unwrap_or_default();
    errors
        .into_iter()
        .map(|e| RecordError {
            status_code: scrub.scrub(&e.status_code),
            message: scrub.scrub(&e.message),
            fields: e.fields,
            call: None,
        })
        .collect()
}
