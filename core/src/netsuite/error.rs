//! NetSuite's error envelope (`type`, `title`, `status`, `o:errorDetails[{detail,
//! o:errorCode, o:errorPath}]`) read into the connector's [`CallError`]: the first
//! `o:errorCode` is the failure's code, so `retry::classify` decides by it (429
//! `CONCURRENCY_LIMIT_EXCEEDED` backs off, `INVALID_LOGIN` is a credential problem,
//! `USER_ERROR` needs a person, `NONEXISTENT_ID` on a delete means done).

use crate::connector::error::{name, snippet, CallError, RecordError, Scrubber};
use crate::retry::Operation;
use serde::Deserialize;

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    title: Option<String>,
    #[serde(rename = "o:errorDetails", default)]
    details: Vec<Detail>,
}

#[derive(Deserialize)]
struct Detail {
    #[serde(default)]
    detail: Option<String>,
    #[serde(rename = "o:errorCode", default)]
    code: Option<String>,
    #[serde(rename = "o:errorPath", default)]
    path: Option<String>,
}

impl CallError {
    /// NetSuite answered a REST or SuiteQL call with an error status.
    pub(crate) fn netsuite_rejected(
        op: Operation,
        status: u16,
        body: &[u8],
        scrub: &Scrubber,
    ) -> Self {
        let envelope = serde_json::from_slice::<Envelope>(body).ok();
        let errors: Vec<RecordError> = envelope
            .as_ref()
            .map(|e| e.details.iter().map(|d| record_error(d, scrub)).collect())
            .unwrap_or_default();
        let said = if errors.is_empty() {
            format!("no error details ({})", snippet(body, scrub))
        } else {
            let parts: Vec<String> = errors.iter().map(ToString::to_string).collect();
            parts.join("; ")
        };
        let title = envelope
            .and_then(|e| e.title)
            .filter(|t| t.ends_with('.'))
            .map(|t| format!(" ({})", scrub.scrub(&t)))
            .unwrap_or_default();
        let message = format!(
            "NetSuite answered the {} with HTTP {status}{title}: {said}",
            name(op)
        );
        CallError::answered(op, status, errors, message)
    }
}

/// One detail; `o:errorPath` (`subsidiary`, `item.items[0].item`) names its field.
fn record_error(detail: &Detail, scrub: &Scrubber) -> RecordError {
    let field = detail.path.as_deref().and_then(|p| {
        p.split(['.', '['])
            .next()
            .filter(|f| !f.is_empty())
            .map(str::to_string)
    });
    RecordError {
        status_code: scrub.scrub(detail.code.as_deref().unwrap_or("UNKNOWN")),
        message: scrub.scrub(detail.detail.as_deref().unwrap_or_default()),
        fields: field.into_iter().collect(),
        call: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use crate::retry::Class;

    fn rejected(op: Operation, status: u16, body: &str) -> CallError {
        CallError::netsuite_rejected(
            op,
            status,
            body.as_bytes(),
            &Scrubber::new([Secret::new("hubsync-demo-token-secret")]),
        )
    }

    fn envelope(status: u16, code: &str, detail: &str) -> String {
        serde_json::json!({"type": "https://www.rfc-editor.org/rfc/rfc9110.html", "title": "x", "status": status,
                           "o:errorDetails": [{"detail": detail, "o:errorCode": code}]})
        .to_string()
    }

    #[test]
    fn classifies_netsuite_codes() {
        let cases = [
            (
                Operation::Create,
                429,
                "CONCURRENCY_LIMIT_EXCEEDED",
                Class::RateLimited,
            ),
            (Operation::Read, 401, "INVALID_LOGIN", Class::Auth),
            (Operation::Create, 400, "USER_ERROR", Class::Permanent),
            (Operation::Update, 400, "INVALID_CONTENT", Class::Permanent),
            (Operation::Delete, 404, "NONEXISTENT_ID", Class::Gone),
            (Operation::Update, 404, "NONEXISTENT_ID", Class::Permanent),
            (Operation::Update, 500, "UNEXPECTED_ERROR", Class::Retryable),
            (
                Operation::Create,
                500,
                "UNEXPECTED_ERROR",
                Class::UnknownOutcome,
            ),
            (
                Operation::Upsert,
                503,
                "SERVICE_UNAVAILABLE",
                Class::Retryable,
            ),
            (Operation::Create, 429, "SOMETHING_ELSE", Class::RateLimited),
        ];
        for (op, status, code, class) in cases {
            let e = rejected(op, status, &envelope(status, code, "d"));
            assert_eq!(e.class(), class, "{op:?} {status} {code}");
            assert_eq!(e.errors[0].status_code, code);
        }
    }

    #[test]
    fn reads_the_envelope_into_messages_and_fields() {
        let body = r#"{"type":"t","title":"Bad Request","status":400,"o:errorDetails":[{"detail":"You have entered an Invalid Field Value 9 for the following field: subsidiary","o:errorCode":"INVALID_CONTENT","o:errorPath":"subsidiary"}]}"#;
        let e = rejected(Operation::Create, 400, body);
        assert_eq!(e.errors[0].fields, vec!["subsidiary"]);
        assert!(e.to_string().contains(
            "NetSuite answered the create with HTTP 400: INVALID_CONTENT: You have entered"
        ));
        let query = r#"{"title":"Invalid search query.","status":400,"o:errorDetails":[{"detail":"Search error occurred: Field 'foo' not found.","o:errorCode":"USER_ERROR"}]}"#;
        assert!(rejected(Operation::Read, 400, query)
            .message()
            .contains("HTTP 400 (Invalid search query.): USER_ERROR: Search error occurred"));
        let bare = rejected(Operation::Read, 502, "<html>bad gateway</html>");
        assert!(bare.errors.is_empty());
        assert!(bare.message().contains("body: <html>bad gateway</html>"));
        let echo = rejected(
            Operation::Read,
            401,
            &envelope(
                401,
                "INVALID_LOGIN",
                "token hubsync-demo-token-secret refused",
            ),
        );
        assert!(!format!("{echo} {echo:?}").contains("hubsync-demo-token-secret"));
    }
}
