//! One mapping, resolved against the table and the describe: both types, the compiled
//! transform and rules, and which ways it flows. Converting a value is then only
//! decode → transform → encode, with nothing left to look up per record.

use super::datum::{split_list, Datum};
use super::local_type::LocalType;
use super::remote_type::{self, RemoteKind, RemoteType};
use super::rules::Rule;
use super::temporal;
use super::transform::Compiled;
use crate::config::{Side, TimestampFormat};
use serde_json::Value;

/// Which way a value travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// Local row → Salesforce.
    Push,
    /// Salesforce record → local row.
    Pull,
}

impl Way {
    fn origin(self) -> Side {
        match self {
            Way::Push => Side::Local,
            Way::Pull => Side::Remote,
        }
    }
}

/// A conversion failure: the transform's name or `coercion`, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub rule: &'static str,
    pub message: String,
}

fn coercion(message: String) -> FieldError {
    FieldError {
        rule: "coercion",
        message,
    }
}

/// A mapping ready to convert values.
#[derive(Debug, Clone)]
pub struct FieldPlan {
    /// Remote field name in Salesforce's canonical case.
    pub remote: String,
    pub local: String,
    pub remote_type: RemoteType,
    pub local_type: LocalType,
    pub transform: Compiled,
    /// The side the transform reads from.
    pub source: Side,
    /// Written when creating a Salesforce record.
    pub push_create: bool,
    /// Written when updating a Salesforce record.
    pub push_update: bool,
    /// Written into the local row on pull.
    pub pull: bool,
    /// Rules on this column, in config order.
    pub rules: Vec<Rule>,
    /// The `Id` mapping (the local column holds the remote id).
    pub is_id: bool,
    /// The remote field is the upsert key.
    pub external_id: bool,
    /// The local column is NOT NULL.
    pub local_not_null: bool,
}

impl FieldPlan {
    /// True when the mapping pushes at all.
    pub fn pushes(&self) -> bool {
        self.push_create || self.push_update
    }

    /// Decodes a value read on `side`.
    fn decode(&self, side: Side, value: &Value, format: TimestampFormat) -> Result<Datum, String> {
        match side {
            Side::Local => self.local_type.decode(value, format),
            Side::Remote => self.remote_type.decode(value, format),
        }
    }

    /// Reads a value on the way's origin side and applies the transform (forward when the
    /// value travels from the mapping's source, inverse otherwise).
    pub fn carry(
        &self,
        way: Way,
        value: &Value,
        format: TimestampFormat,
    ) -> Result<Datum, FieldError> {
        let datum = self.decode(way.origin(), value, format).map_err(coercion)?;
        let transformed = if way.origin() == self.source {
            self.transform.forward(datum, format)
        } else {
            self.transform.inverse(datum, format)
        };
        transformed.map_err(|e| FieldError {
            rule: e.rule,
            message: e.message,
        })
    }

    /// Writes a value for the way's destination side.
    pub fn write(
        &self,
        way: Way,
        datum: Datum,
        format: TimestampFormat,
    ) -> Result<Value, FieldError> {
        match way {
            Way::Push => self.remote_type.encode(datum, format),
            Way::Pull => self.local_type.encode(datum, format),
        }
        .map_err(coercion)
    }

    /// The whole conversion of one value.
    pub fn convert(
        &self,
        way: Way,
        value: &Value,
        format: TimestampFormat,
    ) -> Result<Value, FieldError> {
        let datum = self.carry(way, value, format)?;
        self.write(way, datum, format)
    }

    /// Whether a local and a remote value hold the same information under this mapping.
    ///
    /// The source value is carried to the target side (transform applied, rounded and
    /// formatted as the target stores it) and compared with the target value in the
    /// target's terms: numbers by value at the coarser of the two scales, datetimes to the
    /// second, multi-select picklists as sets, record ids by their 15-character form,
    /// phone numbers (under `format_phone`) by their E.164 form. Salesforce stores an empty
    /// text as null and an unchecked box as false, so those agree with null too.
    pub fn agree(&self, local: &Value, remote: &Value, format: TimestampFormat) -> bool {
        let (way, source_value, target_value, target_side) = match self.source {
            Side::Local => (Way::Push, local, remote, Side::Remote),
            Side::Remote => (Way::Pull, remote, local, Side::Local),
        };
        let expected = self
            .convert(way, source_value, format)
            .and_then(|v| self.decode(target_side, &v, format).map_err(coercion));
        let actual = self.decode(target_side, target_value, format);
        match (expected, actual) {
            (Ok(a), Ok(b)) => self.comparable(a) == self.comparable(b),
            _ => local == remote,
        }
    }

    /// Brings a target-side value to the form in which equal information compares equal.
    fn comparable(&self, datum: Datum) -> Datum {
        let multipicklist = matches!(self.remote_type.kind, RemoteKind::MultiPicklist { .. });
        let datum = match self.transform.agreement_form(datum) {
            Datum::Text(s) if multipicklist => Datum::List(split_list(&s)),
            other => other,
        };
        match datum {
            Datum::Text(s) if s.is_empty() => Datum::Null,
            Datum::Text(s) if self.remote_type.kind == RemoteKind::Id => {
                Datum::Text(remote_type::record_key(&s).to_string())
            }
            Datum::List(items) if items.is_empty() => Datum::Null,
            Datum::List(mut items) if multipicklist => {
                items.sort();
                items.dedup();
                Datum::List(items)
            }
            Datum::Null if self.remote_type.kind == RemoteKind::Bool => Datum::Bool(false),
            Datum::Number(n) => match self.agreement_scale() {
                Some(scale) => Datum::Number(n.round(scale)),
                None => Datum::Number(n),
            },
            Datum::DateTime(t) => Datum::DateTime(temporal::to_second(&t)),
            other => other,
        }
    }

    /// The coarser of the two sides' scales: both sides round to it, so it decides equality.
    fn agreement_scale(&self) -> Option<u32> {
        match (self.local_type.scale(), self.remote_type.scale()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
