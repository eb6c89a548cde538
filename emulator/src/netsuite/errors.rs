//! NetSuite's REST error envelope: `type`, `title`, `status` and `o:errorDetails` with
//! `detail`, `o:errorCode` and, for a bad body value, `o:errorPath`, sent as
//! `application/vnd.oracle.resource+json; type=error`.

use crate::faults::FaultKind;
use crate::http::typed_response;
use axum::body::Body;
use axum::http::{HeaderValue, Response};
use serde_json::json;

/// The content type of every error answer.
pub const ERROR_TYPE: &str = "application/vnd.oracle.resource+json; type=error";

/// One refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsError {
    /// HTTP status, repeated in the body.
    pub status: u16,
    /// `o:errorCode`.
    pub code: String,
    /// `detail`: what a person reads.
    pub detail: String,
    /// `o:errorPath`: the body property at fault.
    pub path: Option<String>,
    /// `title` when it is not the status text (SuiteQL: "Invalid search query.").
    pub title: Option<&'static str>,
    /// `WWW-Authenticate` of a refused TBA login.
    pub authenticate: Option<String>,
}

impl NsError {
    /// An error with the status's own title.
    pub fn new(status: u16, code: &str, detail: impl Into<String>) -> NsError {
        NsError {
            status,
            code: code.to_string(),
            detail: detail.into(),
            path: None,
            title: None,
            authenticate: None,
        }
    }

    /// 400 `USER_ERROR`.
    pub fn user(detail: impl Into<String>) -> NsError {
        NsError::new(400, "USER_ERROR", detail)
    }

    /// 400 `INVALID_CONTENT` about one body property.
    pub fn content(path: &str, detail: impl Into<String>) -> NsError {
        NsError {
            path: Some(path.to_string()),
            ..NsError::new(400, "INVALID_CONTENT", detail)
        }
    }

    /// 400 `USER_ERROR` titled "Invalid search query." (SuiteQL and `q`).
    pub fn search(detail: impl Into<String>) -> NsError {
        NsError {
            title: Some("Invalid search query."),
            ..NsError::user(format!("Search error occurred: {}", detail.into()))
        }
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        let mut detail = json!({"detail": self.detail, "o:errorCode": self.code});
        if let Some(path) = &self.path {
            detail["o:errorPath"] = json!(path);
        }
        json!({
            "type": type_url(self.status),
            "title": self.title.unwrap_or_else(|| title(self.status)),
            "status": self.status,
            "o:errorDetails": [detail],
        })
        .to_string()
    }

    /// The HTTP answer.
    pub fn response(&self) -> Response<Body> {
        let mut response = typed_response(self.status, ERROR_TYPE, self.body());
        if let Some(value) = self
            .authenticate
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            response.headers_mut().insert("www-authenticate", value);
        }
        response
    }
}

fn title(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

/// The RFC section current responses name in `type` (clients must not depend on it).
fn type_url(status: u16) -> String {
    let section = match status {
        400 => "15.5.1",
        401 => "15.5.2",
        403 => "15.5.4",
        404 => "15.5.5",
        405 => "15.5.6",
        415 => "15.5.16",
        429 => return "https://www.rfc-editor.org/rfc/rfc6585.html#section-4".into(),
        503 => "15.6.4",
        _ => "15.6.1",
    };
    format!("https://www.rfc-editor.org/rfc/rfc9110.html#section-{section}")
}

const LOGIN_DETAIL: &str = "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.";

/// 401 `INVALID_LOGIN` (bearer tokens, missing credentials).
pub fn invalid_login() -> NsError {
    NsError::new(401, "INVALID_LOGIN", LOGIN_DETAIL)
}

/// 401 `INVALID_LOGIN` of a refused TBA signature, with NetSuite's `WWW-Authenticate`.
pub fn invalid_login_tba(account: &str) -> NsError {
    NsError {
        authenticate: Some(format!(
            "OAuth realm=\"{account}\", error=\"token_rejected\", error_description=\"Invalid login attempt.\""
        )),
        ..invalid_login()
    }
}

/// 404 for an id that names no record.
pub fn nonexistent(detail: &str) -> NsError {
    NsError::new(404, "NONEXISTENT_ID", detail)
}

/// 429 over the account's concurrency limit (no `Retry-After`).
pub fn concurrency(code: &str) -> NsError {
    NsError::new(
        429,
        code,
        "Concurrent request limit exceeded. Request blocked.",
    )
}

/// The answer of an injected `unavailable` or `server_error` fault.
pub fn fault(kind: FaultKind) -> NsError {
    match kind {
        FaultKind::Unavailable => NsError::new(
            503,
            "SERVICE_UNAVAILABLE",
            "The service is temporarily unavailable. Try again later.",
        ),
        _ => NsError::new(
            500,
            "UNEXPECTED_ERROR",
            "An unexpected error occurred. Error ID: kx3n5ab01ldl2ajkz0r0n",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_envelope() {
        let body: serde_json::Value =
            serde_json::from_str(&NsError::content("subsidiary", "bad").body()).unwrap();
        assert_eq!(body["status"], 400);
        assert_eq!(body["title"], "Bad Request");
        assert_eq!(body["o:errorDetails"][0]["o:errorCode"], "INVALID_CONTENT");
        assert_eq!(body["o:errorDetails"][0]["o:errorPath"], "subsidiary");
        let search: serde_json::Value =
            serde_json::from_str(&NsError::search("Field 'foo' not found.").body()).unwrap();
        assert_eq!(search["title"], "Invalid search query.");
        assert_eq!(
            search["o:errorDetails"][0]["detail"],
            "Search error occurred: Field 'foo' not found."
        );
    }
}
