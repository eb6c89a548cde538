//! What mapping one record produces. A per-record problem is data for the review queue
//! or the log, never a panic or an error that stops a batch.

use serde::Serialize;
use serde_json::Value;

/// What kind of Salesforce write a row is mapped for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOp<'a> {
    /// A new record: every createable mapped field with a value.
    Create,
    /// An existing record: only these changed local columns, where the field is updateable.
    Update { changed: &'a [String] },
}

/// A field-level finding: which rule, on which local column, about which value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldIssue {
    /// The validation rule (`email_format`, `regex`, `required`, `max_length`, `one_of`),
    /// the transform (`format_phone`, `value_map`), `coercion` for a value the other side's
    /// type cannot hold, or `not_null` for a null in a NOT NULL column.
    pub rule: String,
    /// The local column the value belongs to (rules and conflict policies speak of columns).
    pub field: String,
    /// The offending value: the input for a conversion failure, else the value as it would
    /// have been written.
    pub value: Value,
    /// What is wrong and what to do about it.
    pub message: String,
}

/// Why a record was not written.
pub type Rejection = FieldIssue;

/// A rule that failed with `on_error: warn`; the record was written anyway.
pub type Warning = FieldIssue;

/// The mapped record and everything worth telling about it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordOutcome<T> {
    /// The mapped values; empty when `rejection` is set.
    pub value: T,
    pub warnings: Vec<Warning>,
    /// Local columns left out by `on_error: skip_field`.
    pub skipped: Vec<String>,
    /// Set when the record must not be written; it belongs in the review queue.
    pub rejection: Option<Rejection>,
}

impl<T: Default> RecordOutcome<T> {
    /// An empty outcome to fill.
    pub fn new() -> Self {
        RecordOutcome {
            value: T::default(),
            warnings: Vec::new(),
            skipped: Vec::new(),
            rejection: None,
        }
    }

    /// Marks the record rejected, dropping the values mapped so far.
    pub fn reject(mut self, rejection: Rejection) -> Self {
        self.value = T::default();
        self.rejection = Some(rejection);
        self
    }
}

impl<T: Default> Default for RecordOutcome<T> {
    fn default() -> Self {
        RecordOutcome::new()
    }
}
