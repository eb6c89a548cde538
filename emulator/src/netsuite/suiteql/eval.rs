//! SuiteQL evaluation: values, the row sources (`customer`, `contact`, `deletedrecord`),
//! three-valued conditions, comparisons with Oracle's implicit conversions where they are
//! safe (numbers, `T`/`F`), functions, sorting and `COUNT`.

use super::syntax::Expr;
use super::unsupported;
use crate::netsuite::errors::NsError;
use crate::netsuite::schema::{FieldType, RecordType};
use crate::netsuite::store::{Record, Store};
use crate::netsuite::{timefmt, Call, DeletedTypeCase};
use serde_json::Value as Json;
use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum V {
    Null,
    Text(String),
    Num(f64),
    Bool(bool),
    Time(i64),
}

/// What a row of the queried table answers for a column.
pub(super) enum Source {
    Record(RecordType),
    Deleted,
}

pub(super) struct Env<'a> {
    pub(super) call: &'a Call<'a>,
    /// Names a column may be qualified with: the table and its alias.
    pub(super) qualifiers: Vec<String>,
    pub(super) store: &'a Store,
    pub(super) source: Source,
    /// The records of a record source, by row number.
    pub(super) records: Vec<&'a Record>,
}

impl Env<'_> {
    /// A column name without its qualifier; `None` when the qualifier is not the
    /// queried table or its alias.
    fn unqualified<'c>(&self, column: &'c str) -> Option<&'c str> {
        match column.split_once('.') {
            None => Some(column),
            Some((q, c)) => self.qualifiers.iter().any(|k| k == q).then_some(c),
        }
    }

    /// Checks that a column exists (so errors do not depend on the data).
    pub(super) fn has(&self, column: &str) -> bool {
        let Some(column) = self.unqualified(column) else {
            return false;
        };
        match self.source {
            Source::Record(kind) => {
                column == "id" || self.call.ns.schema.column(kind, column).is_some()
            }
            Source::Deleted => DELETED_COLUMNS.contains(&column),
        }
    }

    /// Every column, for `SELECT *`.
    pub(super) fn all_columns(&self) -> Vec<String> {
        match self.source {
            Source::Record(kind) => std::iter::once("id".to_string())
                .chain(self.call.ns.schema.fields(kind).iter().map(|f| f.column()))
                .collect(),
            Source::Deleted => DELETED_COLUMNS.iter().map(|c| c.to_string()).collect(),
        }
    }

    pub(super) fn value(&self, row: usize, column: &str) -> V {
        let column = self.unqualified(column).unwrap_or(column);
        match self.source {
            Source::Record(kind) => {
                let Some(record) = self.records.get(row) else {
                    return V::Null;
                };
                if column == "id" {
                    return V::Num(record.id as f64);
                }
                let Some(field) = self.call.ns.schema.column(kind, column) else {
                    return V::Null;
                };
                match field.kind {
                    FieldType::Stamp if field.name == "dateCreated" => V::Time(record.created_ms),
                    FieldType::Stamp => V::Time(record.modified_ms),
                    kind => match record.values.get(&field.name) {
                        None | Some(Json::Null) => V::Null,
                        Some(Json::Bool(b)) => V::Bool(*b),
                        Some(Json::Number(n)) => V::Num(n.as_f64().unwrap_or_default()),
                        Some(Json::String(s)) => match kind {
                            FieldType::Ref(_) => s.parse().map_or(V::Null, V::Num),
                            FieldType::Date => {
                                timefmt::parse(s, "YYYY-MM-DD", 0).map_or(V::Null, V::Time)
                            }
                            FieldType::DateTime => timefmt::parse_iso(s).map_or(V::Null, V::Time),
                            _ => V::Text(s.clone()),
                        },
                        Some(other) => V::Text(other.to_string()),
                    },
                }
            }
            Source::Deleted => {
                let Some(row) = self.store.deleted.get(row) else {
                    return V::Null;
                };
                match column {
                    "recordid" => V::Num(row.record_id as f64),
                    "type" => V::Text(match self.call.ns.options.deleted_type_case {
                        DeletedTypeCase::Lower => row.kind.name().to_string(),
                        DeletedTypeCase::Upper => row.kind.name().to_ascii_uppercase(),
                        DeletedTypeCase::Capitalized => {
                            let name = row.kind.name();
                            name[..1].to_ascii_uppercase() + &name[1..]
                        }
                    }),
                    "deleteddate" => V::Time(row.deleted_ms),
                    "name" => row.name.clone().map_or(V::Null, V::Text),
                    _ => V::Null,
                }
            }
        }
    }

    pub(super) fn rows(&self) -> usize {
        match self.source {
            Source::Record(_) => self.records.len(),
            Source::Deleted => self.store.deleted.len(),
        }
    }

    /// Checks columns and functions of an expression before any row is read.
    pub(super) fn bind(&self, expr: &Expr) -> Result<(), NsError> {
        match expr {
            Expr::Col(c) => {
                if self.has(c) {
                    Ok(())
                } else {
                    Err(NsError::search(format!("Field '{c}' not found.")))
                }
            }
            Expr::Str(_) | Expr::Num(_) | Expr::Null => Ok(()),
            Expr::Func(name, args) => {
                let arity = match name.as_str() {
                    "to_timestamp" | "to_date" => 2..=2,
                    "to_char" => 1..=2,
                    "upper" | "lower" => 1..=1,
                    "nvl" => 2..=2,
                    // `COUNT(*)` has no argument.
                    "count" => 0..=1,
                    _ => return Err(unsupported(format!("the function {}", name.to_uppercase()))),
                };
                if !arity.contains(&args.len()) {
                    return Err(unsupported(format!(
                        "{} with {} arguments",
                        name.to_uppercase(),
                        args.len()
                    )));
                }
                args.iter().try_for_each(|a| self.bind(a))
            }
            Expr::Cmp(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) | Expr::Like(a, b, _) => {
                self.bind(a)?;
                self.bind(b)
            }
            Expr::Not(a) | Expr::IsNull(a, _) => self.bind(a),
            Expr::In(a, list, _) => {
                self.bind(a)?;
                list.iter().try_for_each(|e| self.bind(e))
            }
            Expr::Between(a, b, c, _) => {
                self.bind(a)?;
                self.bind(b)?;
                self.bind(c)
            }
        }
    }

    pub(super) fn eval(&self, row: usize, expr: &Expr) -> Result<V, NsError> {
        let tz = self.call.ns.options.timezone_offset_minutes;
        let truth = |t: Option<bool>| t.map_or(V::Null, V::Bool);
        Ok(match expr {
            Expr::Col(c) => self.value(row, c),
            Expr::Str(s) => V::Text(s.clone()),
            Expr::Num(n) => V::Num(*n),
            Expr::Null => V::Null,
            Expr::Func(name, args) => {
                let values = args
                    .iter()
                    .map(|a| self.eval(row, a))
                    .collect::<Result<Vec<_>, _>>()?;
                function(name, &values, tz)?
            }
            Expr::Cmp(op, a, b) => {
                let ord = compare(&self.eval(row, a)?, &self.eval(row, b)?)?;
                truth(ord.map(|o| match *op {
                    "=" => o == Ordering::Equal,
                    "<>" => o != Ordering::Equal,
                    "<" => o == Ordering::Less,
                    "<=" => o != Ordering::Greater,
                    ">" => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                }))
            }
            Expr::And(a, b) => truth(match (self.test(row, a)?, self.test(row, b)?) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            }),
            Expr::Or(a, b) => truth(match (self.test(row, a)?, self.test(row, b)?) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            }),
            Expr::Not(a) => truth(self.test(row, a)?.map(|t| !t)),
            Expr::IsNull(a, negated) => V::Bool((self.eval(row, a)? == V::Null) != *negated),
            Expr::In(a, list, negated) => {
                let value = self.eval(row, a)?;
                let mut found = Some(false);
                for item in list {
                    match compare(&value, &self.eval(row, item)?)? {
                        Some(Ordering::Equal) => {
                            found = Some(true);
                            break;
                        }
                        None => found = None,
                        _ => {}
                    }
                }
                truth(found.map(|f| f != *negated))
            }
            Expr::Like(a, pattern, negated) => match (self.eval(row, a)?, self.eval(row, pattern)?)
            {
                (V::Null, _) | (_, V::Null) => V::Null,
                (V::Text(text), V::Text(pattern)) => V::Bool(like(&text, &pattern) != *negated),
                _ => return Err(unsupported("LIKE on a value that is not text")),
            },
            Expr::Between(a, low, high, negated) => {
                let value = self.eval(row, a)?;
                let above = compare(&value, &self.eval(row, low)?)?.map(|o| o != Ordering::Less);
                let below =
                    compare(&value, &self.eval(row, high)?)?.map(|o| o != Ordering::Greater);
                truth(match (above, below) {
                    (Some(a), Some(b)) => Some((a && b) != *negated),
                    _ => None,
                })
            }
        })
    }

    /// A condition's truth (`None`: unknown, as with nulls).
    pub(super) fn test(&self, row: usize, expr: &Expr) -> Result<Option<bool>, NsError> {
        match self.eval(row, expr)? {
            V::Bool(b) => Ok(Some(b)),
            V::Null => Ok(None),
            _ => Err(unsupported("a condition that is not a comparison")),
        }
    }
}

const DELETED_COLUMNS: [&str; 6] = [
    "recordid",
    "type",
    "deleteddate",
    "deletedby",
    "context",
    "name",
];

fn like(text: &str, pattern: &str) -> bool {
    let escaped = regex::escape(pattern).replace('%', ".*").replace('_', ".");
    regex::Regex::new(&format!("^(?s:{escaped})$")).is_ok_and(|re| re.is_match(text))
}

pub(super) fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

fn compare(a: &V, b: &V) -> Result<Option<Ordering>, NsError> {
    let as_bool = |t: &str| match t {
        "T" => Some(true),
        "F" => Some(false),
        _ => None,
    };
    Ok(match (a, b) {
        (V::Null, _) | (_, V::Null) => None,
        (V::Num(x), V::Num(y)) => x.partial_cmp(y),
        (V::Text(x), V::Text(y)) => Some(x.cmp(y)),
        (V::Time(x), V::Time(y)) => Some(x.cmp(y)),
        (V::Bool(x), V::Bool(y)) => Some(x.cmp(y)),
        (V::Num(x), V::Text(t)) | (V::Text(t), V::Num(x)) => {
            let y: f64 = t
                .trim()
                .parse()
                .map_err(|_| NsError::search(format!("Invalid number: '{t}'.")))?;
            let ord = x.partial_cmp(&y);
            if matches!(a, V::Text(_)) {
                ord.map(Ordering::reverse)
            } else {
                ord
            }
        }
        (V::Bool(x), V::Text(t)) | (V::Text(t), V::Bool(x)) => {
            let y = as_bool(t).ok_or_else(|| {
                NsError::search(format!("Invalid boolean: '{t}'; use 'T' or 'F'."))
            })?;
            let ord = x.cmp(&y);
            Some(if matches!(a, V::Text(_)) {
                ord.reverse()
            } else {
                ord
            })
        }
        (V::Time(_), _) | (_, V::Time(_)) => {
            return Err(unsupported(
                "comparing a date with a value that is not a date (use TO_TIMESTAMP or TO_DATE)",
            ))
        }
        _ => return Err(unsupported("comparing values of different types")),
    })
}

fn function(name: &str, args: &[V], tz: i32) -> Result<V, NsError> {
    let format_of = |v: &V| match v {
        V::Text(f) => Ok(f.clone()),
        _ => Err(unsupported(format!(
            "{} needs a format string",
            name.to_uppercase()
        ))),
    };
    Ok(match (name, args) {
        (_, [V::Null, ..]) => V::Null,
        ("to_timestamp" | "to_date", [V::Text(text), format]) => {
            let ms = timefmt::parse(text, &format_of(format)?, tz).map_err(NsError::search)?;
            V::Time(ms)
        }
        ("to_char", [V::Time(ms), format]) => {
            V::Text(timefmt::format(*ms, &format_of(format)?, tz).map_err(unsupported)?)
        }
        ("to_char", [V::Num(n)]) => V::Text(number_text(*n)),
        ("to_char", [V::Text(t)]) => V::Text(t.clone()),
        ("upper", [V::Text(t)]) => V::Text(t.to_uppercase()),
        ("lower", [V::Text(t)]) => V::Text(t.to_lowercase()),
        ("nvl", [value, _]) => value.clone(),
        ("count", _) => {
            return Err(unsupported(
                "COUNT beside other columns or inside a function (there is no GROUP BY)",
            ))
        }
        _ => {
            return Err(unsupported(format!(
                "{} with these arguments",
                name.to_uppercase()
            )))
        }
    })
}

pub(super) fn sort_key(a: &V, b: &V) -> Ordering {
    match (a, b) {
        (V::Null, V::Null) => Ordering::Equal,
        (V::Null, _) => Ordering::Greater,
        (_, V::Null) => Ordering::Less,
        _ => compare(a, b).ok().flatten().unwrap_or(Ordering::Equal),
    }
}

pub(super) fn is_count(expr: &Expr) -> bool {
    matches!(expr, Expr::Func(name, _) if name == "count")
}

/// The one row of `SELECT COUNT(*) [, COUNT(col)…]` over the rows kept: `COUNT(*)`
/// counts them, `COUNT(expr)` those where `expr` is not null. Without `GROUP BY`, a
/// plain column beside a count (or an `ORDER BY`) is refused, as Oracle refuses it.
pub(super) fn aggregate(
    env: &Env,
    items: &[(Expr, String)],
    kept: &[usize],
    unordered: bool,
) -> Result<Vec<V>, NsError> {
    if !unordered {
        return Err(unsupported("ORDER BY with COUNT"));
    }
    items
        .iter()
        .map(|(expr, _)| match expr {
            Expr::Func(name, args) if name == "count" => {
                let mut n = 0usize;
                for row in kept {
                    let counted = match args.first() {
                        None => true,
                        Some(arg) => env.eval(*row, arg)? != V::Null,
                    };
                    n += usize::from(counted);
                }
                Ok(V::Num(n as f64))
            }
            _ => Err(unsupported("a column beside COUNT (there is no GROUP BY)")),
        })
        .collect()
}
