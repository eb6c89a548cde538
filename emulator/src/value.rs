//! Stored field values and their JSON rendering.

use crate::ids::Id;
use crate::number::write_java_double;
use crate::timefmt;
use std::cmp::Ordering;
use std::fmt::Write;

/// A stored field value. Datetimes are epoch ms, dates epoch days, times ms of day.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Text(Box<str>),
    Int(i64),
    Double(f64),
    Date(i64),
    DateTime(i64),
    Time(i64),
    Id(Id),
}

impl Value {
    /// Null or an empty string: what Salesforce treats as "blank".
    pub fn is_blank(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Text(t) => t.is_empty(),
            _ => false,
        }
    }

    /// The value as text, for transforms, indexes and messages.
    pub fn to_text(&self) -> Option<String> {
        let mut out = String::new();
        match self {
            Value::Null => return None,
            Value::Text(t) => out.push_str(t),
            Value::Id(id) => out.push_str(id.as_str()),
            other => other.write_json_scalar(&mut out),
        }
        if let Some(inner) = out.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            return Some(inner.to_string());
        }
        Some(out)
    }

    /// Appends the value as JSON the way the REST API writes it.
    pub fn write_json_scalar(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Text(t) => write_json_string(out, t),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Double(d) => write_java_double(out, *d),
            Value::Date(days) => {
                out.push('"');
                timefmt::write_date(out, *days);
                out.push('"');
            }
            Value::DateTime(ms) => {
                out.push('"');
                timefmt::write_datetime(out, *ms);
                out.push('"');
            }
            Value::Time(ms) => {
                out.push('"');
                timefmt::write_time(out, *ms);
                out.push('"');
            }
            Value::Id(id) => {
                out.push('"');
                out.push_str(id.as_str());
                out.push('"');
            }
        }
    }

    /// Orders two non-null values of the same field kind (text case-insensitively, as SOQL
    /// compares text).
    pub fn compare(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Text(a), Value::Text(b)) => compare_text(a, b),
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Double(a), Value::Double(b)) => a.total_cmp(b),
            (Value::Int(a), Value::Double(b)) => (*a as f64).total_cmp(b),
            (Value::Double(a), Value::Int(b)) => a.total_cmp(&(*b as f64)),
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Date(a), Value::Date(b))
            | (Value::DateTime(a), Value::DateTime(b))
            | (Value::Time(a), Value::Time(b)) => a.cmp(b),
            (Value::Id(a), Value::Id(b)) => a.cmp(b),
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => Ordering::Less,
            (_, Value::Null) => Ordering::Greater,
            _ => Ordering::Equal,
        }
    }

    /// The key a unique or external-id index files this value under.
    pub fn index_key(&self, case_sensitive: bool) -> Option<String> {
        let text = self.to_text()?;
        Some(if case_sensitive {
            text
        } else {
            text.to_lowercase()
        })
    }
}

/// Case-insensitive text order without allocating.
pub fn compare_text(a: &str, b: &str) -> Ordering {
    a.chars()
        .flat_map(char::to_lowercase)
        .cmp(b.chars().flat_map(char::to_lowercase))
}

/// Appends `text` as a JSON string literal.
pub fn write_json_string(out: &mut String, text: &str) {
    out.reserve(text.len() + 2);
    out.push('"');
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        let escape: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        out.push_str(&text[start..i]);
        match escape {
            Some(e) => out.push_str(e),
            None => {
                let _ = write!(out, "\\u{b:04x}");
            }
        }
        start = i + 1;
    }
    out.push_str(&text[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(v: &Value) -> String {
        let mut s = String::new();
        v.write_json_scalar(&mut s);
        s
    }

    #[test]
    fn renders_values_like_the_rest_api() {
        assert_eq!(json(&Value::Double(1.5e7)), "1.5E7");
        assert_eq!(json(&Value::Int(120)), "120");
        assert_eq!(
            json(&Value::DateTime(0)),
            "\"1970-01-01T00:00:00.000+0000\""
        );
        assert_eq!(
            json(&Value::Text("a\"b\\\n\u{1}".into())),
            r#""a\"b\\\n\u0001""#
        );
        let parsed: String =
            serde_json::from_str(&json(&Value::Text("x\u{7}y\tz".into()))).unwrap();
        assert_eq!(parsed, "x\u{7}y\tz");
    }

    #[test]
    fn text_compares_case_insensitively() {
        assert_eq!(compare_text("apple", "APPLE"), Ordering::Equal);
        assert_eq!(compare_text("apple", "Banana"), Ordering::Less);
        assert_eq!(Value::Text("Acme".into()).index_key(false).unwrap(), "acme");
        assert_eq!(Value::Double(2.0).to_text().unwrap(), "2.0");
    }
}
