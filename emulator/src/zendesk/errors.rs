//! Zendesk's error answers: `{"error": CODE, "description": TEXT}` with optional
//! per-field `details`, the 401 `{"error": "Couldn't authenticate you"}`, and the
//! plain-text 429. Shapes from reference §2.

use serde_json::{json, Map, Value as Json};

/// One field-level problem inside `details`: `{"description", "error"}` under a field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// The attribute, e.g. `name`, `email`, `external_id`.
    pub field: String,
    /// The `error` code, e.g. `DuplicateValue`, `BlankValue`, `InvalidFormat`.
    pub code: &'static str,
    /// The sentence, e.g. `Name: Acme has already been taken`.
    pub description: String,
}

impl FieldError {
    /// A problem with `field`.
    pub fn new(field: &str, code: &'static str, description: impl Into<String>) -> FieldError {
        FieldError {
            field: field.to_string(),
            code,
            description: description.into(),
        }
    }
}

/// A failed call: an HTTP status and its body.
#[derive(Debug, Clone, PartialEq)]
pub enum ZdError {
    /// `{"error", "description"}` with optional `details` and `max_count`.
    Api {
        status: u16,
        error: &'static str,
        description: String,
        details: Vec<FieldError>,
        max_count: Option<u16>,
    },
    /// 401 `{"error": "Couldn't authenticate you"}`.
    Unauthenticated,
    /// 429 with `Retry-After` and a plain-text body.
    RateLimited { retry_after: u64, text: String },
}

impl ZdError {
    /// A plain `{"error", "description"}` answer.
    pub fn new(status: u16, error: &'static str, description: impl Into<String>) -> ZdError {
        ZdError::Api {
            status,
            error,
            description: description.into(),
            details: Vec::new(),
            max_count: None,
        }
    }

    /// 404 `RecordNotFound` (unknown id).
    pub fn not_found() -> ZdError {
        ZdError::new(404, "RecordNotFound", "Not found")
    }

    /// 404 `InvalidEndpoint` (a path Zendesk does not serve).
    pub fn invalid_endpoint() -> ZdError {
        ZdError::new(404, "InvalidEndpoint", "Not found")
    }

    /// 422 `RecordInvalid` with per-field details.
    pub fn invalid(details: Vec<FieldError>) -> ZdError {
        ZdError::Api {
            status: 422,
            error: "RecordInvalid",
            description: "Record validation errors".into(),
            details,
            max_count: None,
        }
    }

    /// 400 `InvalidValue` for a parameter or body that cannot be read.
    pub fn bad_value(description: impl Into<String>) -> ZdError {
        ZdError::new(400, "InvalidValue", description)
    }

    /// 400 `TooManyValues`: more than 100 ids or records in one call. Organizations
    /// and users word it differently (both recorded, note the double space).
    pub fn too_many(users: bool) -> ZdError {
        if users {
            ZdError::new(
                400,
                "TooManyValues",
                "Maximum 100 users may be created per call",
            )
        } else {
            ZdError::Api {
                status: 400,
                error: "TooManyValues",
                description: "Parameter  cannot specify more than 100 values".into(),
                details: Vec::new(),
                max_count: Some(100),
            }
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            ZdError::Api { status, .. } => *status,
            ZdError::Unauthenticated => 401,
            ZdError::RateLimited { .. } => 429,
        }
    }

    /// The JSON body (`None` for the plain-text 429).
    pub fn body(&self) -> Option<String> {
        match self {
            ZdError::Api {
                error,
                description,
                details,
                max_count,
                ..
            } => {
                let mut out = Map::new();
                out.insert("error".into(), json!(error));
                out.insert("description".into(), json!(description));
                if !details.is_empty() {
                    out.insert("details".into(), details_json(details));
                }
                if let Some(max) = max_count {
                    out.insert("max_count".into(), json!(max));
                }
                Some(Json::Object(out).to_string())
            }
            ZdError::Unauthenticated => {
                Some(json!({"error": "Couldn't authenticate you"}).to_string())
            }
            ZdError::RateLimited { .. } => None,
        }
    }
}

/// `details` as Zendesk writes it: `{"field": [{"description", "error"}, ...]}`.
pub fn details_json(details: &[FieldError]) -> Json {
    let mut out = Map::new();
    for d in details {
        let list = out
            .entry(d.field.clone())
            .or_insert_with(|| Json::Array(Vec::new()));
        if let Json::Array(items) = list {
            items.push(json!({"description": d.description, "error": d.code}));
        }
    }
    Json::Object(out)
}

/// The one sentence of a job result's `details` string: the descriptions joined.
pub fn details_text(details: &[FieldError]) -> String {
    details
        .iter()
        .map(|d| d.description.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
