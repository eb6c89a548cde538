//! Zendesk's error answers read into the connector's [`CallError`]: the
//! `{"error", "description", "details"}` envelope (reference §2), per-field `details`
//! becoming one [`RecordError`] each, and the plain-text 429 with its `Retry-After`.

use crate::connector::error::{name, snippet, CallError, RecordError, Scrubber};
use crate::retry::Operation;
use serde_json::Value;

/// Zendesk answered a call with an error status.
pub(crate) fn rejected(
    op: Operation,
    status: u16,
    body: &[u8],
    retry_after: Option<u64>,
    scrub: &Scrubber,
) -> CallError {
    let (errors, said) = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(envelope)) => read_envelope(&envelope, scrub),
        _ => (Vec::new(), snippet(body, scrub)),
    };
    let wait = match (status, retry_after) {
        (429, Some(secs)) => format!(" (Retry-After: {secs} s)"),
        _ => String::new(),
    };
    let message = format!(
        "Zendesk answered the {} with HTTP {status}{wait}: {said}",
        name(op)
    );
    CallError::answered(op, status, errors, message)
}

/// The envelope's errors, and a sentence for people. `error` is a code (`RecordInvalid`)
/// or, on 401, a sentence ("Couldn't authenticate you"), which is no code.
fn read_envelope(
    envelope: &serde_json::Map<String, Value>,
    scrub: &Scrubber,
) -> (Vec<RecordError>, String) {
    let text = |key: &str| envelope.get(key).map(|v| scrub.scrub(&plain(v)));
    let error = text("error").unwrap_or_default();
    let description = text("description").unwrap_or_default();
    let said = [error.as_str(), description.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(": ");
    let mut errors = details(envelope.get("details"), scrub);
    if errors.is_empty() && is_code(&error) {
        errors.push(RecordError {
            status_code: error,
            message: description,
            fields: Vec::new(),
            call: None,
        });
    }
    let said = if errors.is_empty() {
        said
    } else {
        let parts: Vec<String> = errors.iter().map(ToString::to_string).collect();
        format!("{said} — {}", parts.join("; "))
    };
    (errors, said)
}

/// `details`: `{"name": [{"description": "Name: Acme has already been taken",
/// "error": "DuplicateValue"}]}`, one error per entry, naming its attribute.
pub(crate) fn details(details: Option<&Value>, scrub: &Scrubber) -> Vec<RecordError> {
    let Some(Value::Object(fields)) = details else {
        return Vec::new();
    };
    let mut errors = Vec::new();
    for (field, entries) in fields {
        let entries = match entries {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        for entry in entries {
            let code = entry
                .get("error")
                .map(plain)
                .filter(|c| is_code(c))
                .unwrap_or_else(|| "InvalidValue".into());
            let message = entry
                .get("description")
                .map(plain)
                .unwrap_or_else(|| plain(&entry));
            errors.push(RecordError {
                status_code: scrub.scrub(&code),
                message: scrub.scrub(&message),
                fields: vec![field.clone()],
                call: None,
            });
        }
    }
    errors
}

/// A JSON value as text: strings without quotes, anything else as JSON.
pub(crate) fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Zendesk codes are CamelCase words (`RecordNotFound`); sentences are not codes.
fn is_code(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use crate::retry::Class;

    fn scrub() -> Scrubber {
        Scrubber::new([Secret::new("hubsync-demo-token")])
    }

    #[test]
    fn reads_field_details_as_record_errors() {
        let body = br#"{"error":"RecordInvalid","description":"Record validation errors","details":{"name":[{"description":"Name: Acme has already been taken","error":"DuplicateValue"}]}}"#;
        let e = rejected(Operation::Create, 422, body, None, &scrub());
        assert_eq!(e.errors.len(), 1);
        assert_eq!(e.errors[0].status_code, "DuplicateValue");
        assert_eq!(e.errors[0].fields, ["name"]);
        assert_eq!(e.class(), Class::Permanent);
        assert!(
            e.message().contains("Name: Acme has already been taken"),
            "{e}"
        );
    }

    #[test]
    fn classifies_zendesk_answers() {
        let cases: [(Operation, u16, &[u8], Class); 6] = [
            (Operation::Read, 401, br#"{"error":"Couldn't authenticate you"}"#, Class::Auth),
            (Operation::Read, 429, b"Rate limit for API requests exceeded", Class::RateLimited),
            (Operation::Delete, 404, br#"{"error":"RecordNotFound","description":"Not found"}"#, Class::Gone),
            (Operation::Update, 404, br#"{"error":"RecordNotFound","description":"Not found"}"#, Class::Permanent),
            (Operation::Create, 503, br#"{"error":"ServiceUnavailable"}"#, Class::UnknownOutcome),
            (Operation::Upsert, 400, br#"{"error":"TooManyValues","description":"Maximum 100 users may be created per call"}"#, Class::Permanent),
        ];
        for (op, status, body, class) in cases {
            let e = rejected(op, status, body, Some(7), &scrub());
            assert_eq!(e.class(), class, "{e}");
        }
        let e = rejected(Operation::Read, 429, b"slow down", Some(7), &scrub());
        assert!(e.message().contains("Retry-After: 7 s"), "{e}");
        let e = rejected(
            Operation::Read,
            401,
            br#"{"error":"Couldn't authenticate you"}"#,
            None,
            &scrub(),
        );
        assert!(e.errors.is_empty());
        assert!(e.message().contains("Couldn't authenticate you"));
    }

    #[test]
    fn secrets_in_answers_are_scrubbed() {
        let body =
            br#"{"error":"Forbidden","description":"token hubsync-demo-token is not allowed"}"#;
        let e = rejected(Operation::Read, 403, body, None, &scrub());
        assert!(!format!("{e} {e:?}").contains("hubsync-demo-token"));
    }
}
