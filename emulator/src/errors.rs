//! Salesforce's error shapes: the REST error array (`errorCode`), the per-record
//! SaveResult errors of sObject Collections (`statusCode`), and the HTTP status that
//! carries them.

use crate::value::write_json_string;

/// One error as Salesforce reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfError {
    pub code: &'static str,
    pub message: String,
    /// `fields` of the error; `None` when Salesforce omits the key (request-level errors).
    pub fields: Option<Vec<String>>,
}

impl SfError {
    /// An error without a `fields` key.
    pub fn new(code: &'static str, message: impl Into<String>) -> SfError {
        SfError {
            code,
            message: message.into(),
            fields: None,
        }
    }

    /// An error naming the fields it is about (an empty list is still written).
    pub fn on_fields(
        code: &'static str,
        message: impl Into<String>,
        fields: Vec<String>,
    ) -> SfError {
        SfError {
            code,
            message: message.into(),
            fields: Some(fields),
        }
    }

    /// Appends `{"message":…,"errorCode":…,"fields":[…]}` (REST style).
    pub fn write_rest(&self, out: &mut String) {
        out.push_str("{\"message\":");
        write_json_string(out, &self.message);
        out.push_str(",\"errorCode\":");
        write_json_string(out, self.code);
        if let Some(fields) = &self.fields {
            out.push_str(",\"fields\":");
            write_string_array(out, fields);
        }
        out.push('}');
    }

    /// Appends `{"statusCode":…,"message":…,"fields":[…]}` (SaveResult style).
    pub fn write_save_result(&self, out: &mut String) {
        out.push_str("{\"statusCode\":");
        write_json_string(out, self.code);
        out.push_str(",\"message\":");
        write_json_string(out, &self.message);
        out.push_str(",\"fields\":");
        write_string_array(out, self.fields.as_deref().unwrap_or_default());
        out.push('}');
    }
}

/// Appends a JSON array of strings.
pub fn write_string_array(out: &mut String, items: &[String]) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_string(out, item);
    }
    out.push(']');
}

/// A failed REST call: an HTTP status and the error array it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub errors: Vec<SfError>,
}

impl ApiError {
    /// A single-error failure.
    pub fn new(status: u16, error: SfError) -> ApiError {
        ApiError {
            status,
            errors: vec![error],
        }
    }

    /// 400 with one error.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(400, SfError::new(code, message))
    }

    /// 404 for unknown resources, records and objects.
    pub fn not_found() -> ApiError {
        ApiError::new(
            404,
            SfError::new("NOT_FOUND", "The requested resource does not exist"),
        )
    }

    /// 404 for an id or external-id field that cannot be looked up.
    pub fn external_id_not_found(value: &str) -> ApiError {
        ApiError::new(
            404,
            SfError::new(
                "NOT_FOUND",
                format!("Provided external ID field does not exist or is not accessible: {value}"),
            ),
        )
    }

    /// 404 for a record in the recycle bin.
    pub fn entity_is_deleted() -> ApiError {
        ApiError::new(404, entity_deleted())
    }

    /// 400 for a body that is not the JSON expected.
    pub fn json_parser(message: impl Into<String>) -> ApiError {
        ApiError::bad_request("JSON_PARSER_ERROR", message)
    }

    /// The error array as JSON.
    pub fn body(&self) -> String {
        let mut out = String::with_capacity(128);
        out.push('[');
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            e.write_rest(&mut out);
        }
        out.push(']');
        out
    }
}

impl From<SfError> for ApiError {
    /// A record-level error raised by a single-record call becomes a 400 (404 for
    /// deleted or missing records, as Salesforce answers).
    fn from(error: SfError) -> ApiError {
        let status = match error.code {
            "ENTITY_IS_DELETED" | "NOT_FOUND" => 404,
            _ => 400,
        };
        ApiError::new(status, error)
    }
}

/// `ENTITY_IS_DELETED` with the empty `fields` list real orgs send.
pub fn entity_deleted() -> SfError {
    SfError::on_fields("ENTITY_IS_DELETED", "entity is deleted", Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_both_error_shapes() {
        let e = SfError::on_fields(
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [Name]",
            vec!["Name".into()],
        );
        let api = ApiError::from(e.clone());
        assert_eq!(api.status, 400);
        assert_eq!(
            api.body(),
            r#"[{"message":"Required fields are missing: [Name]","errorCode":"REQUIRED_FIELD_MISSING","fields":["Name"]}]"#
        );
        let mut s = String::new();
        e.write_save_result(&mut s);
        assert_eq!(
            s,
            r#"{"statusCode":"REQUIRED_FIELD_MISSING","message":"Required fields are missing: [Name]","fields":["Name"]}"#
        );
        assert_eq!(
            ApiError::not_found().body(),
            r#"[{"message":"The requested resource does not exist","errorCode":"NOT_FOUND"}]"#
        );
        assert_eq!(ApiError::entity_is_deleted().status, 404);
    }
}
