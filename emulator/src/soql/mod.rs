//! SOQL: the subset a sync and a person use — field lists and `COUNT()`, `WHERE` with
//! comparisons, `IN`, `LIKE`, `AND`/`OR`/`NOT`, literals of every kind (including
//! relative dates), `ORDER BY`, `LIMIT`, `OFFSET` — parsed by hand (recursive descent),
//! checked against the schema, and run over a table.

mod ast;
mod eval;
mod lexer;
mod parser;
mod relations;

pub use eval::{compile, execute, Plan};
pub use parser::parse;
pub use relations::{relate, Column, ParentKind, Related, USER_FIELDS};

/// A SOQL failure with Salesforce's error code and message (the multi-line
/// "ERROR at Row:…:Column:…" form when it points into the query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoqlError {
    pub code: &'static str,
    pub message: String,
}

impl SoqlError {
    /// An error pointing at character `pos` of `text`.
    pub fn at(code: &'static str, text: &str, pos: usize, message: impl AsRef<str>) -> SoqlError {
        let before = &text[..pos.min(text.len())];
        let row = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = before[line_start..].chars().count() + 1;
        let line = text[line_start..].lines().next().unwrap_or_default();
        SoqlError {
            code,
            message: format!(
                "\n{line}\n{}^\nERROR at Row:{row}:Column:{column}\n{}",
                " ".repeat(column - 1),
                message.as_ref()
            ),
        }
    }
}
