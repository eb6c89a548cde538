//! Problems found in user input, each tied to a JSON path and a SQLSTATE.
//!
//! Validation collects every problem at once (so `hubsync.check_config` can list
//! them all) and the SQL layer raises the first one with its SQLSTATE.

use std::fmt;

/// What kind of mistake a problem is; decides the SQLSTATE the user sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// A value of the wrong type, an unknown key or enum value (22023 invalid_parameter_value).
    InvalidValue,
    /// A local table that does not exist (42P01 undefined_table).
    UndefinedTable,
    /// A local column or remote field that does not exist (42703 undefined_column).
    UndefinedColumn,
    /// A name already taken, e.g. a second sync with the same name (42710 duplicate_object).
    DuplicateObject,
    /// A named object (sync, connection, hub) that does not exist (42704 undefined_object).
    UndefinedObject,
    /// The caller may not do this to the table (42501 insufficient_privilege).
    InsufficientPrivilege,
    /// The table's shape cannot support the sync, e.g. no primary key (42P10 invalid_column_reference).
    InvalidColumnReference,
    /// A type mismatch between a remote field and a local column (42804 datatype_mismatch).
    DatatypeMismatch,
    /// Something hubsync does not support yet (0A000 feature_not_supported).
    NotSupported,
}

impl ProblemKind {
    /// The five-character SQLSTATE for this kind of problem.
    pub fn sqlstate(self) -> &'static str {
        match self {
            ProblemKind::InvalidValue => "22023",
            ProblemKind::UndefinedTable => "42P01",
            ProblemKind::UndefinedColumn => "42703",
            ProblemKind::DuplicateObject => "42710",
            ProblemKind::UndefinedObject => "42704",
            ProblemKind::InsufficientPrivilege => "42501",
            ProblemKind::InvalidColumnReference => "42P10",
            ProblemKind::DatatypeMismatch => "42804",
            ProblemKind::NotSupported => "0A000",
        }
    }
}

/// One mistake in a config, located by its JSON path (e.g. `field_mappings[2].target`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// JSON path of the offending value; empty for the document itself.
    pub path: String,
    /// What is wrong and what is expected instead.
    pub message: String,
    /// Decides the SQLSTATE.
    pub kind: ProblemKind,
}

impl Problem {
    /// A problem of the given kind at `path`.
    pub fn new(kind: ProblemKind, path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
            kind,
        }
    }

    /// The most common kind: a bad value (22023).
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem::new(ProblemKind::InvalidValue, path, message)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Builds child JSON paths the way users read them: `a.b`, `a[2]`.
pub fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Path of the `index`-th element of the array at `parent`.
pub fn index_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_like_json() {
        assert_eq!(child_path("", "source"), "source");
        assert_eq!(
            child_path(&index_path("field_mappings", 2), "target"),
            "field_mappings[2].target"
        );
    }

    #[test]
    fn display_includes_path() {
        let p = Problem::invalid("sync_type", "expected one of: one_way, bidirectional");
        assert_eq!(
            p.to_string(),
            "sync_type: expected one of: one_way, bidirectional"
        );
        assert_eq!(p.kind.sqlstate(), "22023");
    }
}
