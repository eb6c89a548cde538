//! The `q` parameter of record listing: `field OPERATOR value`, combined with `AND`,
//! `OR` and parentheses, operators by field type as the reference lists them. Text
//! matches ignore case; date literals use the user's date format (whole days in the
//! user's time zone). A field or operator it does not know is refused, never ignored.

use super::errors::NsError;
use super::schema::{FieldType, RecordType, Schema};
use super::store::Record;
use super::{timefmt, Options};
use serde_json::Value as Json;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Open,
    Close,
    OpenList,
    CloseList,
    Comma,
}

fn lex(q: &str) -> Result<Vec<Tok>, NsError> {
    let mut out = Vec::new();
    let mut chars = q.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' | ',' => {
                chars.next();
                out.push(match c {
                    '(' => Tok::Open,
                    ')' => Tok::Close,
                    '[' => Tok::OpenList,
                    ']' => Tok::CloseList,
                    _ => Tok::Comma,
                });
            }
            '"' => {
                chars.next();
                let mut text = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some(c) => text.push(c),
                        None => {
                            return Err(NsError::search("Unterminated string in the q parameter."))
                        }
                    }
                }
                out.push(Tok::Quoted(text));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || "()[],\"".contains(c) {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                out.push(Tok::Word(word));
            }
        }
    }
    Ok(out)
}

/// A parsed `q` filter.
#[derive(Debug)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Cond {
        field: String,
        kind: FieldType,
        op: Op,
        negate: bool,
        values: Vec<String>,
    },
}

/// An operator without its `_NOT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Empty,
    Is,
    StartWith,
    Contain,
    EndWith,
    Equal,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
    AnyOf,
    Between,
    After,
    Before,
    On,
    OnOrAfter,
    OnOrBefore,
}

impl Op {
    fn parse(word: &str) -> Option<(Op, bool)> {
        let upper = word.to_ascii_uppercase();
        let (base, negate) = match upper.strip_suffix("_NOT") {
            Some(base) => (base.to_string(), true),
            None => (upper, false),
        };
        let op = match base.as_str() {
            "EMPTY" => Op::Empty,
            "IS" => Op::Is,
            "START_WITH" => Op::StartWith,
            "CONTAIN" => Op::Contain,
            "END_WITH" => Op::EndWith,
            "EQUAL" => Op::Equal,
            "GREATER" => Op::Greater,
            "GREATER_OR_EQUAL" => Op::GreaterOrEqual,
            "LESS" => Op::Less,
            "LESS_OR_EQUAL" => Op::LessOrEqual,
            "ANY_OF" => Op::AnyOf,
            "BETWEEN" => Op::Between,
            "AFTER" => Op::After,
            "BEFORE" => Op::Before,
            "ON" => Op::On,
            "ON_OR_AFTER" => Op::OnOrAfter,
            "ON_OR_BEFORE" => Op::OnOrBefore,
            _ => return None,
        };
        Some((op, negate))
    }

    /// Whether the operator applies to a field type.
    fn fits(self, kind: FieldType) -> bool {
        use Op::*;
        match kind {
            _ if self == Empty => true,
            FieldType::Text => matches!(self, Is | StartWith | Contain | EndWith),
            FieldType::Bool => self == Is,
            FieldType::Integer | FieldType::Float => {
                matches!(
                    self,
                    Equal | Greater | GreaterOrEqual | Less | LessOrEqual | AnyOf | Between
                )
            }
            FieldType::Ref(_) => matches!(self, AnyOf | Equal),
            FieldType::Date | FieldType::DateTime | FieldType::Stamp => {
                matches!(self, After | Before | On | OnOrAfter | OnOrBefore)
            }
        }
    }
}

struct Parser<'a> {
    toks: Vec<Tok>,
    at: usize,
    schema: &'a Schema,
    kind: RecordType,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(word)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Filter, NsError> {
        self.joined("OR", Self::and, Filter::Or)
    }

    fn and(&mut self) -> Result<Filter, NsError> {
        self.joined("AND", Self::atom, Filter::And)
    }

    /// `part (word part)*`; a single part stands alone.
    fn joined(
        &mut self,
        word: &str,
        part: fn(&mut Self) -> Result<Filter, NsError>,
        all: fn(Vec<Filter>) -> Filter,
    ) -> Result<Filter, NsError> {
        let mut parts = vec![part(self)?];
        while self.keyword(word) {
            parts.push(part(self)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            all(parts)
        })
    }

    fn value(&mut self) -> Result<String, NsError> {
        match self.next() {
            Some(Tok::Word(w) | Tok::Quoted(w)) => Ok(w),
            _ => Err(NsError::search("A value is missing in the q parameter.")),
        }
    }

    fn atom(&mut self) -> Result<Filter, NsError> {
        if self.peek() == Some(&Tok::Open) {
            self.at += 1;
            let inner = self.or()?;
            if self.next() != Some(Tok::Close) {
                return Err(NsError::search(
                    "Unbalanced parentheses in the q parameter.",
                ));
            }
            return Ok(inner);
        }
        let name = match self.next() {
            Some(Tok::Word(w)) => w,
            _ => {
                return Err(NsError::search(
                    "A field name is missing in the q parameter.",
                ))
            }
        };
        let kind = if name == "id" {
            FieldType::Integer
        } else {
            self.schema
                .field(self.kind, &name)
                .map(|f| f.kind)
                .ok_or_else(|| NsError::search(format!("Field '{name}' not found.")))?
        };
        let op_word = match self.next() {
            Some(Tok::Word(w)) => w,
            _ => {
                return Err(NsError::search(format!(
                    "An operator is missing after '{name}'."
                )))
            }
        };
        let (op, negate) = Op::parse(&op_word)
            .filter(|(op, _)| op.fits(kind))
            .ok_or_else(|| {
                NsError::search(format!(
                    "Operator '{op_word}' is not valid for field '{name}'."
                ))
            })?;
        let values = match op {
            Op::Empty => Vec::new(),
            Op::AnyOf | Op::Between if self.peek() == Some(&Tok::OpenList) => {
                self.at += 1;
                let mut values = vec![self.value()?];
                while self.peek() == Some(&Tok::Comma) {
                    self.at += 1;
                    values.push(self.value()?);
                }
                if self.next() != Some(Tok::CloseList) {
                    return Err(NsError::search("Unbalanced brackets in the q parameter."));
                }
                values
            }
            _ => vec![self.value()?],
        };
        if op == Op::Between && values.len() != 2 {
            return Err(NsError::search("BETWEEN takes two values."));
        }
        Ok(Filter::Cond {
            field: name,
            kind,
            op,
            negate,
            values,
        })
    }
}

/// Parses `q` for a record type.
pub fn parse(q: &str, schema: &Schema, kind: RecordType) -> Result<Filter, NsError> {
    let mut parser = Parser {
        toks: lex(q)?,
        at: 0,
        schema,
        kind,
    };
    let filter = parser.or()?;
    if parser.at < parser.toks.len() {
        return Err(NsError::search(
            "Unexpected text at the end of the q parameter.",
        ));
    }
    Ok(filter)
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse().ok()
}

impl Filter {
    /// Whether `record` passes.
    pub fn matches(&self, record: &Record, options: &Options) -> bool {
        match self {
            Filter::And(parts) => parts.iter().all(|p| p.matches(record, options)),
            Filter::Or(parts) => parts.iter().any(|p| p.matches(record, options)),
            Filter::Cond {
                field,
                kind,
                op,
                negate,
                values,
            } => {
                let value = match (field.as_str(), kind) {
                    ("id", _) => Some(Json::from(record.id)),
                    ("dateCreated", _) => Some(Json::from(record.created_ms)),
                    ("lastModifiedDate", _) => Some(Json::from(record.modified_ms)),
                    _ => record.values.get(field).cloned(),
                };
                test(*op, *kind, value.as_ref(), values, options) != *negate
            }
        }
    }
}

fn test(
    op: Op,
    kind: FieldType,
    value: Option<&Json>,
    wanted: &[String],
    options: &Options,
) -> bool {
    let Some(value) = value else {
        return op == Op::Empty;
    };
    let first = wanted.first().map(String::as_str).unwrap_or_default();
    match kind {
        _ if op == Op::Empty => value.as_str() == Some(""),
        FieldType::Text => {
            let (have, want) = (
                value.as_str().unwrap_or_default().to_lowercase(),
                first.to_lowercase(),
            );
            match op {
                Op::Is => have == want,
                Op::StartWith => have.starts_with(&want),
                Op::EndWith => have.ends_with(&want),
                _ => have.contains(&want),
            }
        }
        FieldType::Bool => value.as_bool() == Some(first.eq_ignore_ascii_case("true")),
        FieldType::Ref(_) => wanted.iter().any(|w| value.as_str() == Some(w.trim())),
        FieldType::Integer | FieldType::Float => {
            let Some(have) = value.as_f64() else {
                return false;
            };
            let want: Vec<f64> = wanted.iter().filter_map(|w| number(w)).collect();
            let w = want.first().copied().unwrap_or(f64::NAN);
            match op {
                Op::Equal => have == w,
                Op::Greater => have > w,
                Op::GreaterOrEqual => have >= w,
                Op::Less => have < w,
                Op::LessOrEqual => have <= w,
                Op::AnyOf => want.contains(&have),
                _ => want.len() == 2 && have >= want[0] && have <= want[1],
            }
        }
        FieldType::Date | FieldType::DateTime | FieldType::Stamp => {
            let tz = options.timezone_offset_minutes;
            let day_of = |ms: i64| timefmt::format(ms, "YYYY-MM-DD", tz).ok();
            let have = match value {
                Json::String(s) if kind == FieldType::DateTime => {
                    timefmt::parse_iso(s).and_then(day_of)
                }
                Json::String(s) => Some(s.clone()),
                other => other.as_i64().and_then(day_of),
            };
            let want = timefmt::parse(first, &options.date_format, tz)
                .ok()
                .and_then(day_of);
            let (Some(have), Some(want)) = (have, want) else {
                return false;
            };
            match op {
                Op::After => have > want,
                Op::Before => have < want,
                Op::On => have == want,
                Op::OnOrAfter => have >= want,
                _ => have <= want,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn record(values: Json) -> Record {
        Record {
            id: 107,
            values: serde_json::from_value::<BTreeMap<String, Json>>(values).unwrap(),
            created_ms: 1_705_312_931_000,
            modified_ms: 1_705_312_931_000,
        }
    }

    #[test]
    fn filters_by_type_and_operator() {
        let schema = Schema::default();
        let options = Options::default();
        let r = record(
            serde_json::json!({"email": "Ann@Globex.example", "companyName": "Globex Inc", "isPerson": false, "subsidiary": "1"}),
        );
        let cases = [
            ("email START_WITH ann", true),
            ("email START_WITH \"bob\"", false),
            ("email START_WITH_NOT bob", true),
            ("companyName IS \"Globex Inc\"", true),
            ("companyName CONTAIN glob AND isPerson IS false", true),
            (
                "(email END_WITH .org OR companyName IS x) AND id EQUAL 107",
                false,
            ),
            ("email END_WITH .org OR id GREATER_OR_EQUAL 107", true),
            ("id ANY_OF [1, 107]", true),
            ("id BETWEEN [100, 106]", false),
            ("phone EMPTY", true),
            ("email EMPTY_NOT", true),
            ("subsidiary ANY_OF [1]", true),
            ("lastModifiedDate ON \"1/15/2024\"", true),
            ("lastModifiedDate AFTER \"1/15/2024\"", false),
            ("dateCreated ON_OR_AFTER 1/14/2024", true),
        ];
        for (q, expected) in cases {
            let filter =
                parse(q, &schema, RecordType::Customer).unwrap_or_else(|e| panic!("{q}: {e:?}"));
            assert_eq!(filter.matches(&r, &options), expected, "{q}");
        }
        for bad in [
            "nope IS 1",
            "email GREATER 1",
            "email IS",
            "(email IS a",
            "email IS a b",
            "isPerson START_WITH t",
        ] {
            let err = parse(bad, &schema, RecordType::Customer).unwrap_err();
            assert_eq!(err.code, "USER_ERROR", "{bad}");
        }
    }
}
