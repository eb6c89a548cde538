//! Which Salesforce field types a local column type can hold, decided at config time so a
//! sync that could only fail on every record is refused up front (SQLSTATE 42804).
//!
//! A pair is allowed when every value of the field has a faithful form in the column and
//! back; values that *may* not fit (a long text in a short varchar, a huge number) are
//! still allowed and fail per record.

use super::local_type::{LocalKind, LocalType};
use super::remote_type::{RemoteKind, RemoteType};
use crate::config::TimestampFormat;

/// Why the pair cannot sync, naming both types and what would work; `Ok` when it can.
pub fn check(
    remote: &RemoteType,
    local: &LocalType,
    format: TimestampFormat,
) -> Result<(), String> {
    if fits(&remote.kind, &local.kind, format) {
        return Ok(());
    }
    Err(format!(
        "a Salesforce {} field cannot be stored in a {} column; use {}",
        remote.label,
        local.label,
        suggestions(&remote.kind, format)
    ))
}

/// Like [`check`], for a mapping that only pushes: any local value has a text form, so a
/// text field accepts every column (e.g. an integer key into a text External ID).
pub fn check_push(
    remote: &RemoteType,
    local: &LocalType,
    format: TimestampFormat,
) -> Result<(), String> {
    match remote.kind {
        RemoteKind::Text { .. } => Ok(()),
        _ => check(remote, local, format),
    }
}

fn fits(remote: &RemoteKind, local: &LocalKind, format: TimestampFormat) -> bool {
    use LocalKind as L;
    let text = matches!(local, L::Text { .. });
    let epoch = matches!(
        format,
        TimestampFormat::UnixSeconds | TimestampFormat::UnixMillis
    );
    match remote {
        RemoteKind::Text { .. } => text || matches!(local, L::Uuid | L::Json),
        // Ids are 18 characters; a shorter column could never hold one.
        RemoteKind::Id => {
            matches!(local, L::Text { max_chars, .. } if max_chars.is_none_or(|n| n >= 18))
        }
        RemoteKind::MultiPicklist { .. } => text || matches!(local, L::TextArray),
        RemoteKind::Bool => text || matches!(local, L::Bool),
        RemoteKind::Integer { .. } => {
            text || matches!(local, L::Integer { .. } | L::Numeric { .. } | L::Float)
        }
        RemoteKind::Decimal { scale, .. } => {
            text || matches!(local, L::Numeric { .. } | L::Float)
                || (*scale == 0 && matches!(local, L::Integer { .. }))
        }
        RemoteKind::Date => text || matches!(local, L::Date),
        RemoteKind::DateTime => {
            text || matches!(local, L::Timestamp | L::Timestamptz)
                || (epoch && matches!(local, L::Numeric { .. }))
                || (epoch && matches!(local, L::Integer { max, .. } if *max == i64::MAX as i128))
        }
        RemoteKind::Time => text || matches!(local, L::Time),
        RemoteKind::Compound => text || matches!(local, L::Json),
    }
}

fn suggestions(remote: &RemoteKind, format: TimestampFormat) -> String {
    let list: &[&str] = match remote {
        RemoteKind::Text { .. } => &["text", "varchar", "uuid", "jsonb"],
        RemoteKind::Id => &["varchar(18)", "text"],
        RemoteKind::MultiPicklist { .. } => &["text[]", "text"],
        RemoteKind::Bool => &["boolean", "text"],
        RemoteKind::Integer { .. } => &["integer", "bigint", "numeric", "text"],
        RemoteKind::Decimal { scale: 0, .. } => &["numeric", "bigint", "double precision", "text"],
        RemoteKind::Decimal { .. } => &["numeric with the same scale", "double precision", "text"],
        RemoteKind::Date => &["date", "text"],
        RemoteKind::DateTime => match format {
            TimestampFormat::UnixSeconds | TimestampFormat::UnixMillis => {
                &["timestamptz", "timestamp", "bigint", "numeric", "text"]
            }
            _ => &[
                "timestamptz",
                "timestamp",
                "text (or bigint with timestamp_format unix_seconds/unix_millis)",
            ],
        },
        RemoteKind::Time => &["time", "text"],
        RemoteKind::Compound => &["jsonb", "text"],
    };
    list.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::describe::{FieldDescribe, FieldType};
    use crate::mapping::testkit::column;

    fn remote(field_type: FieldType, scale: u32) -> RemoteType {
        let json = serde_json::json!({"name": "F", "type": field_type, "precision": 18, "scale": scale, "length": 255});
        RemoteType::of(&serde_json::from_value::<FieldDescribe>(json).unwrap())
    }

    fn local(format_type: &str) -> LocalType {
        LocalType::of(&column("c", format_type))
    }

    fn ok(sf: FieldType, scale: u32, pg: &str, format: TimestampFormat) -> bool {
        check(&remote(sf, scale), &local(pg), format).is_ok()
    }

    const ISO: TimestampFormat = TimestampFormat::Iso8601;

    #[test]
    fn the_matrix() {
        use FieldType::*;
        let allowed = [
            (String, 0, "character varying(255)"),
            (Textarea, 0, "text"),
            (Email, 0, "text"),
            (Phone, 0, "character varying(40)"),
            (Url, 0, "text"),
            (Picklist, 0, "character varying(100)"),
            (String, 0, "uuid"),
            (Textarea, 0, "jsonb"),
            (Id, 0, "character varying(18)"),
            (Reference, 0, "text"),
            (Multipicklist, 0, "text[]"),
            (Multipicklist, 0, "text"),
            (Boolean, 0, "boolean"),
            (Int, 0, "integer"),
            (Int, 0, "bigint"),
            (Int, 0, "smallint"),
            (Long, 0, "numeric"),
            (Double, 2, "numeric(18,2)"),
            (Currency, 2, "numeric(18,2)"),
            (Percent, 2, "double precision"),
            (Currency, 0, "bigint"),
            (Date, 0, "date"),
            (Datetime, 0, "timestamp without time zone"),
            (Datetime, 0, "timestamp with time zone"),
            (Datetime, 0, "text"),
            (Time, 0, "time without time zone"),
            (Address, 0, "jsonb"),
        ];
        for (sf, scale, pg) in allowed {
            assert!(ok(sf, scale, pg, ISO), "{sf:?} -> {pg} refused");
        }
        let refused = [
            (Boolean, 0, "date"),
            (String, 0, "numeric"),
            (Currency, 2, "integer"),
            (Currency, 2, "boolean"),
            (Id, 0, "character varying(15)"),
            (Id, 0, "uuid"),
            (Multipicklist, 0, "jsonb"),
            (Date, 0, "timestamp without time zone"),
            (Datetime, 0, "bigint"),
            (Datetime, 0, "date"),
            (Time, 0, "integer"),
            (Picklist, 0, "text[]"),
        ];
        for (sf, scale, pg) in refused {
            assert!(!ok(sf, scale, pg, ISO), "{sf:?} -> {pg} allowed");
        }
    }

    #[test]
    fn epoch_columns_need_a_unix_timestamp_format() {
        assert!(ok(
            FieldType::Datetime,
            0,
            "bigint",
            TimestampFormat::UnixMillis
        ));
        assert!(ok(
            FieldType::Datetime,
            0,
            "numeric",
            TimestampFormat::UnixSeconds
        ));
        assert!(!ok(
            FieldType::Datetime,
            0,
            "integer",
            TimestampFormat::UnixSeconds
        ));
    }

    #[test]
    fn the_message_names_both_types_and_a_way_out() {
        let err = check(&remote(FieldType::Currency, 2), &local("boolean"), ISO).unwrap_err();
        assert_eq!(
            err,
            "a Salesforce currency(18,2) field cannot be stored in a boolean column; \
             use numeric with the same scale, double precision, text"
        );
    }
}
