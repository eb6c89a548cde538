//! Conditional requests: `If-Modified-Since` / `If-None-Match` on GET (describe and
//! records) answer 304 when nothing changed; `If-Unmodified-Since` / `If-Match` on
//! PATCH answer 412 when the record changed, checked under the same lock as the write
//! so no change can slip between the check and the save.

use crate::errors::{ApiError, SfError};
use crate::store::Record;
use base64::Engine;
use sha2::{Digest, Sha256};
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// `Thu, 08 Sep 2022 15:54:11 GMT` (RFC 1123, the form HTTP dates take).
const HTTP_DATE: &[FormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// The default error code of a 412. Salesforce's documentation does not show the body
/// of a failed precondition; this is the reference's best guess, and
/// `--precondition-failed-code` changes it.
pub const PRECONDITION_FAILED: &str = "PRECONDITION_FAILED";

/// The conditional headers of one request.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    /// The `errorCode` a 412 carries (empty: [`PRECONDITION_FAILED`]).
    pub failed_code: &'static str,
    pub if_modified_since: Option<i64>,
    pub if_unmodified_since: Option<i64>,
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    /// A date header that could not be read (a write then answers 400).
    pub unreadable: Option<String>,
}

/// Parses an HTTP date into epoch milliseconds.
pub fn parse_http_date(text: &str) -> Option<i64> {
    let parsed = PrimitiveDateTime::parse(text.trim(), HTTP_DATE).ok()?;
    Some((parsed.assume_utc().unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Formats epoch milliseconds as an HTTP date (for `Last-Modified`).
pub fn http_date(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(HTTP_DATE).ok())
        .unwrap_or_default()
}

/// The `ETag` of a record version (Salesforce sends one for Account records).
pub fn etag(record: &Record) -> String {
    let mut digest = Sha256::new();
    digest.update(record.id.as_str());
    digest.update(record.seq.to_le_bytes());
    let hash = base64::engine::general_purpose::STANDARD.encode(digest.finalize());
    format!("\"{hash}--gzip\"")
}

fn etag_matches(list: &str, etag: &str) -> bool {
    list.split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate == etag)
}

impl Conditions {
    /// Reads the headers (`name` → value) of a request; a failed precondition will
    /// answer with `failed_code`.
    pub fn read<'a>(
        mut header: impl FnMut(&str) -> Option<&'a str>,
        failed_code: &'static str,
    ) -> Conditions {
        let mut out = Conditions {
            failed_code,
            ..Conditions::default()
        };
        let mut date = |name: &str, out: &mut Conditions| {
            let text = header(name)?;
            let parsed = parse_http_date(text);
            if parsed.is_none() {
                out.unreadable = Some(format!("{name}: {text}"));
            }
            parsed
        };
        out.if_modified_since = date("if-modified-since", &mut out);
        out.if_unmodified_since = date("if-unmodified-since", &mut out);
        out.if_match = header("if-match").map(str::to_string);
        out.if_none_match = header("if-none-match").map(str::to_string);
        out
    }

    /// For a GET: the resource last modified at `modified_ms` (with `etag`, when it has
    /// one) has not changed in the client's eyes, so the answer is 304.
    pub fn not_modified(&self, modified_ms: i64, etag: Option<&str>) -> bool {
        if let (Some(list), Some(etag)) = (&self.if_none_match, etag) {
            return etag_matches(list, etag);
        }
        self.if_modified_since
            .is_some_and(|since| modified_ms <= since)
    }

    /// For a write: refuses it with 412 when the record changed after the client's date
    /// or no longer has the client's `ETag`; 400 for an unreadable date.
    pub fn check_write(&self, modified_ms: i64, etag: Option<&str>) -> Result<(), ApiError> {
        if let Some(header) = &self.unreadable {
            return Err(ApiError::bad_request(
                "INVALID_HEADER_VALUE",
                format!("Unable to parse the conditional header {header}; use an HTTP date such as Thu, 08 Sep 2022 15:54:11 GMT"),
            ));
        }
        let failed = |what: &str| {
            Err(ApiError::new(
                412,
                SfError::new(
                    if self.failed_code.is_empty() {
                        PRECONDITION_FAILED
                    } else {
                        self.failed_code
                    },
                    format!("The precondition {what} failed: the record was modified"),
                ),
            ))
        };
        if let (Some(list), Some(etag)) = (&self.if_match, etag) {
            if !etag_matches(list, etag) {
                return failed("If-Match");
            }
        }
        if self
            .if_unmodified_since
            .is_some_and(|since| modified_ms > since)
        {
            return failed("If-Unmodified-Since");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_round_trip() {
        let ms = parse_http_date("Thu, 08 Sep 2022 15:54:11 GMT").unwrap();
        assert_eq!(ms, 1_662_652_451_000);
        assert_eq!(http_date(ms), "Thu, 08 Sep 2022 15:54:11 GMT");
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn decides_304_and_412() {
        let c = Conditions {
            if_modified_since: Some(1000),
            if_unmodified_since: Some(1000),
            ..Default::default()
        };
        assert!(c.not_modified(1000, None));
        assert!(!c.not_modified(2000, None));
        assert!(c.check_write(1000, None).is_ok());
        assert_eq!(c.check_write(2000, None).unwrap_err().status, 412);
        let tagged = Conditions {
            if_match: Some("\"a\"".into()),
            if_none_match: Some("\"a\", \"b\"".into()),
            ..Default::default()
        };
        assert!(tagged.not_modified(0, Some("\"b\"")));
        assert!(tagged.check_write(0, Some("\"a\"")).is_ok());
        assert_eq!(
            tagged.check_write(0, Some("\"c\"")).unwrap_err().status,
            412
        );
    }
}
