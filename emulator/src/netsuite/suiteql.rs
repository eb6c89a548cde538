//! SuiteQL (`POST /services/rest/query/v1/suiteql`) over `customer`, `contact` and
//! `deletedrecord`: `SELECT [TOP n] cols|* FROM table [alias] [WHERE …] [ORDER BY …]`
//! with comparisons, `AND`/`OR`/`NOT`, `IS [NOT] NULL`, `[NOT] IN`, `[NOT] LIKE`,
//! `BETWEEN`, and `TO_TIMESTAMP`, `TO_DATE`, `TO_CHAR`, `UPPER`, `LOWER`, `NVL`.
//! Answers follow NetSuite: lower-case column names, every value a string, booleans
//! `T`/`F`, null columns omitted, `limit` ≤ 1000 with `offset` paging.
//!
//! Invariant: anything outside that subset (joins, grouping, sub-queries, other
//! functions, comparing a date with a string) is refused with 400 `USER_ERROR`
//! "Invalid search query." — never answered with a guess.

use super::errors::NsError;
use super::records::{page_links, paging};
use super::schema::{FieldType, RecordType};
use super::store::{Record, Store};
use super::{timefmt, Call, DeletedTypeCase};
use crate::http::typed_response;
use axum::body::Body;
use axum::http::Response;
use serde_json::{json, Map, Value as Json};
use std::cmp::Ordering;

fn unsupported(what: impl std::fmt::Display) -> NsError {
    NsError::search(format!(
        "Invalid or unsupported search: {what} (the hubsync emulator answers SELECT … FROM customer|contact|deletedrecord [WHERE …] [ORDER BY …] only)."
    ))
}

// ---- lexer ----

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Sym(&'static str),
}

fn lex(text: &str) -> Result<Vec<Tok>, NsError> {
    const SYMBOLS: [&str; 14] = [
        "<>", "!=", "<=", ">=", "||", "=", "<", ">", "(", ")", ",", "*", ".", "-",
    ];
    let mut out = Vec::new();
    let mut rest = text;
    'outer: while let Some(c) = rest.chars().next() {
        if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '\'' {
            let mut value = String::new();
            let mut chars = rest[1..].char_indices();
            loop {
                match chars.next() {
                    Some((i, '\'')) => {
                        if rest[1 + i + 1..].starts_with('\'') {
                            value.push('\'');
                            chars.next();
                        } else {
                            rest = &rest[1 + i + 1..];
                            break;
                        }
                    }
                    Some((_, c)) => value.push(c),
                    None => return Err(NsError::search("Unterminated string literal.")),
                }
            }
            out.push(Tok::Str(value));
            continue;
        }
        if c.is_ascii_digit() {
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            out.push(Tok::Num(rest[..end].to_string()));
            rest = &rest[end..];
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
                .unwrap_or(rest.len());
            out.push(Tok::Ident(rest[..end].to_string()));
            rest = &rest[end..];
            continue;
        }
        for symbol in SYMBOLS {
            if rest.starts_with(symbol) {
                out.push(Tok::Sym(symbol));
                rest = &rest[symbol.len()..];
                continue 'outer;
            }
        }
        return Err(unsupported(format!("the character {c:?}")));
    }
    Ok(out)
}

// ---- syntax ----

#[derive(Debug, Clone)]
enum Expr {
    Col(String),
    Str(String),
    Num(f64),
    Null,
    Func(String, Vec<Expr>),
    Cmp(&'static str, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    IsNull(Box<Expr>, bool),
    In(Box<Expr>, Vec<Expr>, bool),
    Like(Box<Expr>, Box<Expr>, bool),
    Between(Box<Expr>, Box<Expr>, Box<Expr>, bool),
}

struct Query {
    top: Option<usize>,
    /// The table's alias in `FROM table alias`.
    alias: Option<String>,
    /// `None`: `SELECT *`.
    items: Option<Vec<(Expr, Option<String>)>>,
    table: String,
    filter: Option<Expr>,
    order: Vec<(Expr, bool)>,
}

const RESERVED: [&str; 16] = [
    "select", "from", "where", "order", "by", "and", "or", "not", "join", "group", "having",
    "union", "on", "inner", "left", "as",
];

struct Parser {
    toks: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn is_kw(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case(word))
    }

    fn kw(&mut self, word: &str) -> bool {
        let hit = self.is_kw(word);
        self.at += usize::from(hit);
        hit
    }

    fn sym(&mut self, symbol: &str) -> bool {
        let hit = matches!(self.peek(), Some(Tok::Sym(s)) if *s == symbol);
        self.at += usize::from(hit);
        hit
    }

    fn expect_sym(&mut self, symbol: &str) -> Result<(), NsError> {
        if self.sym(symbol) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn unexpected(&self) -> NsError {
        match self.peek() {
            Some(Tok::Ident(w)) | Some(Tok::Num(w)) | Some(Tok::Str(w)) => {
                unsupported(format!("unexpected '{w}'"))
            }
            Some(Tok::Sym(s)) => unsupported(format!("unexpected '{s}'")),
            None => unsupported("the query ends too early"),
        }
    }

    fn ident(&mut self) -> Result<String, NsError> {
        match self.peek() {
            Some(Tok::Ident(w)) if !RESERVED.contains(&w.to_ascii_lowercase().as_str()) => {
                let w = w.to_ascii_lowercase();
                self.at += 1;
                Ok(w)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn query(&mut self) -> Result<Query, NsError> {
        if !self.kw("select") {
            return Err(self.unexpected());
        }
        if self.is_kw("distinct") || self.is_kw("unique") {
            return Err(unsupported("DISTINCT"));
        }
        let top = if self.kw("top") {
            match self.toks.get(self.at).cloned() {
                Some(Tok::Num(n)) => {
                    self.at += 1;
                    Some(
                        n.parse()
                            .map_err(|_| unsupported("TOP needs a whole number"))?,
                    )
                }
                _ => return Err(unsupported("TOP needs a whole number")),
            }
        } else {
            None
        };
        let items = if self.sym("*") {
            None
        } else {
            let mut items = Vec::new();
            loop {
                let expr = self.expr()?;
                let named = self.kw("as")
                    || matches!(self.peek(), Some(Tok::Ident(w)) if !w.eq_ignore_ascii_case("from"));
                let alias = if named { Some(self.ident()?) } else { None };
                items.push((expr, alias));
                if !self.sym(",") {
                    break;
                }
            }
            Some(items)
        };
        if !self.kw("from") {
            return Err(self.unexpected());
        }
        let table = self.ident()?;
        let alias = if matches!(self.peek(), Some(Tok::Ident(w)) if !RESERVED.contains(&w.to_ascii_lowercase().as_str()))
        {
            Some(self.ident()?)
        } else {
            None
        };
        let filter = if self.kw("where") {
            Some(self.expr()?)
        } else {
            None
        };
        let mut order = Vec::new();
        if self.kw("order") {
            if !self.kw("by") {
                return Err(self.unexpected());
            }
            loop {
                let expr = self.expr()?;
                let desc = if self.kw("desc") {
                    true
                } else {
                    self.kw("asc");
                    false
                };
                if self.is_kw("nulls") {
                    return Err(unsupported("NULLS FIRST/LAST"));
                }
                order.push((expr, desc));
                if !self.sym(",") {
                    break;
                }
            }
        }
        if self.at < self.toks.len() {
            return Err(self.unexpected());
        }
        Ok(Query {
            top,
            alias,
            items,
            table,
            filter,
            order,
        })
    }

    fn expr(&mut self) -> Result<Expr, NsError> {
        let mut left = self.and()?;
        while self.kw("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, NsError> {
        let mut left = self.not()?;
        while self.kw("and") {
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, NsError> {
        if self.kw("not") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Expr, NsError> {
        let left = self.primary()?;
        for op in ["=", "<>", "!=", "<=", ">=", "<", ">"] {
            if self.sym(op) {
                let op = if op == "!=" { "<>" } else { op };
                return Ok(Expr::Cmp(op, Box::new(left), Box::new(self.primary()?)));
            }
        }
        if self.kw("is") {
            let negated = self.kw("not");
            if !self.kw("null") {
                return Err(self.unexpected());
            }
            return Ok(Expr::IsNull(Box::new(left), negated));
        }
        let negated = self.kw("not");
        if self.kw("in") {
            self.expect_sym("(")?;
            if self.is_kw("select") {
                return Err(unsupported("sub-queries"));
            }
            let mut list = vec![self.primary()?];
            while self.sym(",") {
                list.push(self.primary()?);
            }
            self.expect_sym(")")?;
            return Ok(Expr::In(Box::new(left), list, negated));
        }
        if self.kw("like") {
            return Ok(Expr::Like(
                Box::new(left),
                Box::new(self.primary()?),
                negated,
            ));
        }
        if self.kw("between") {
            let low = self.primary()?;
            if !self.kw("and") {
                return Err(self.unexpected());
            }
            let high = self.primary()?;
            return Ok(Expr::Between(
                Box::new(left),
                Box::new(low),
                Box::new(high),
                negated,
            ));
        }
        if negated {
            return Err(self.unexpected());
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<Expr, NsError> {
        let tok = self.toks.get(self.at).cloned();
        match tok {
            Some(Tok::Str(s)) => {
                self.at += 1;
                Ok(Expr::Str(s))
            }
            Some(Tok::Num(n)) => {
                self.at += 1;
                n.parse()
                    .map(Expr::Num)
                    .map_err(|_| unsupported(format!("the number {n}")))
            }
            Some(Tok::Sym("-")) => {
                self.at += 1;
                match self.primary()? {
                    Expr::Num(n) => Ok(Expr::Num(-n)),
                    _ => Err(unsupported("arithmetic")),
                }
            }
            Some(Tok::Sym("(")) => {
                self.at += 1;
                if self.is_kw("select") {
                    return Err(unsupported("sub-queries"));
                }
                let inner = self.expr()?;
                self.expect_sym(")")?;
                Ok(inner)
            }
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("null") => {
                self.at += 1;
                Ok(Expr::Null)
            }
            Some(Tok::Ident(_)) => {
                let mut name = self.ident()?;
                if self.sym(".") {
                    let column = self.ident()?;
                    if self.peek() == Some(&Tok::Sym("(")) {
                        return Err(unsupported(format!(
                            "the function {}.{}",
                            name.to_uppercase(),
                            column.to_uppercase()
                        )));
                    }
                    // The qualifier is checked against the FROM clause when binding.
                    name = format!("{name}.{column}");
                }
                if name == "count" && self.sym("(") {
                    if self.is_kw("distinct") {
                        return Err(unsupported("COUNT(DISTINCT …)"));
                    }
                    if self.sym("*") {
                        self.expect_sym(")")?;
                        return Ok(Expr::Func(name, Vec::new()));
                    }
                    let arg = self.expr()?;
                    self.expect_sym(")")?;
                    return Ok(Expr::Func(name, vec![arg]));
                }
                if self.sym("(") {
                    let mut args = Vec::new();
                    if !self.sym(")") {
                        loop {
                            args.push(self.expr()?);
                            if !self.sym(",") {
                                break;
                            }
                        }
                        self.expect_sym(")")?;
                    }
                    return Ok(Expr::Func(name, args));
                }
                Ok(Expr::Col(name))
            }
            _ => Err(self.unexpected()),
        }
    }
}

// ---- values and evaluation ----

#[derive(Debug, Clone, PartialEq)]
enum V {
    Null,
    Text(String),
    Num(f64),
    Bool(bool),
    Time(i64),
}

/// What a row of the queried table answers for a column.
enum Source {
    Record(RecordType),
    Deleted,
}

struct Env<'a> {
    call: &'a Call<'a>,
    /// Names a column may be qualified with: the table and its alias.
    qualifiers: Vec<String>,
    store: &'a Store,
    source: Source,
    /// The records of a record source, by row number.
    records: Vec<&'a Record>,
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
    fn has(&self, column: &str) -> bool {
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
    fn all_columns(&self) -> Vec<String> {
        match self.source {
            Source::Record(kind) => std::iter::once("id".to_string())
                .chain(self.call.ns.schema.fields(kind).iter().map(|f| f.column()))
                .collect(),
            Source::Deleted => DELETED_COLUMNS.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn value(&self, row: usize, column: &str) -> V {
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

    fn rows(&self) -> usize {
        match self.source {
            Source::Record(_) => self.records.len(),
            Source::Deleted => self.store.deleted.len(),
        }
    }

    /// Checks columns and functions of an expression before any row is read.
    fn bind(&self, expr: &Expr) -> Result<(), NsError> {
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

    fn eval(&self, row: usize, expr: &Expr) -> Result<V, NsError> {
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
    fn test(&self, row: usize, expr: &Expr) -> Result<Option<bool>, NsError> {
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

fn number_text(n: f64) -> String {
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

fn sort_key(a: &V, b: &V) -> Ordering {
    match (a, b) {
        (V::Null, V::Null) => Ordering::Equal,
        (V::Null, _) => Ordering::Greater,
        (_, V::Null) => Ordering::Less,
        _ => compare(a, b).ok().flatten().unwrap_or(Ordering::Equal),
    }
}

fn is_count(expr: &Expr) -> bool {
    matches!(expr, Expr::Func(name, _) if name == "count")
}

/// The one row of `SELECT COUNT(*) [, COUNT(col)…]` over the rows kept: `COUNT(*)`
/// counts them, `COUNT(expr)` those where `expr` is not null. Without `GROUP BY`, a
/// plain column beside a count (or an `ORDER BY`) is refused, as Oracle refuses it.
fn aggregate(
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

/// The SuiteQL endpoint.
pub fn handle(call: &Call) -> Result<Response<Body>, NsError> {
    if call.method != "POST" {
        return Err(NsError::new(
            405,
            "USER_ERROR",
            "The HTTP method is not allowed; send SuiteQL with POST.",
        ));
    }
    let transient = call.header("prefer").is_some_and(|p| {
        p.split(',')
            .any(|part| part.trim().eq_ignore_ascii_case("transient"))
    });
    if call.ns.options.require_prefer_transient && !transient {
        return Err(NsError::user(
            "The Prefer: transient header is required for SuiteQL.",
        ));
    }
    let body: Json = serde_json::from_slice(call.body).map_err(|e| {
        NsError::new(
            400,
            "INVALID_CONTENT",
            format!("Invalid JSON in the request body: {e}"),
        )
    })?;
    let text = body["q"].as_str().ok_or_else(|| {
        NsError::user("The request body must hold the query as {\"q\": \"SELECT …\"}.")
    })?;
    let (limit, offset) = paging(call)?;
    let max_rows = call.ns.options.suiteql_max_rows;
    if offset >= max_rows && offset > 0 {
        return Err(NsError::search(format!(
            "Offset {offset} is beyond the {max_rows} rows a query can page through; narrow the query instead."
        )));
    }
    let mut parser = Parser {
        toks: lex(text)?,
        at: 0,
    };
    let query = parser.query()?;
    let store = call.ns.store.read();
    let source = match (query.table.as_str(), RecordType::parse(&query.table)) {
        (_, Some(kind)) => Source::Record(kind),
        ("deletedrecord", None) => Source::Deleted,
        (other, None) => return Err(NsError::search(format!("Record '{other}' was not found."))),
    };
    let records = match source {
        Source::Record(kind) => store.table(kind).values().collect(),
        Source::Deleted => Vec::new(),
    };
    let qualifiers = std::iter::once(query.table.clone())
        .chain(query.alias.clone())
        .collect();
    let env = Env {
        call,
        qualifiers,
        store: &store,
        source,
        records,
    };
    let items: Vec<(Expr, String)> = match query.items {
        None => env
            .all_columns()
            .into_iter()
            .map(|c| (Expr::Col(c.clone()), c))
            .collect(),
        Some(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, (expr, alias))| {
                let name = alias.unwrap_or_else(|| match &expr {
                    Expr::Col(c) => c.rsplit('.').next().unwrap_or(c).to_string(),
                    _ => format!("expr{}", i + 1),
                });
                (expr, name)
            })
            .collect(),
    };
    for (expr, _) in &items {
        env.bind(expr)?;
    }
    if let Some(filter) = &query.filter {
        env.bind(filter)?;
    }
    let order: Vec<(Expr, bool)> = query
        .order
        .into_iter()
        .map(|(expr, desc)| {
            let resolved = match &expr {
                Expr::Num(n) if n.fract() == 0.0 && *n >= 1.0 && (*n as usize) <= items.len() => {
                    items[*n as usize - 1].0.clone()
                }
                Expr::Col(c) if !env.has(c) => items
                    .iter()
                    .find(|(_, name)| name == c)
                    .map(|(e, _)| e.clone())
                    .unwrap_or(expr),
                _ => expr,
            };
            (resolved, desc)
        })
        .collect();
    for (expr, _) in &order {
        env.bind(expr)?;
    }
    let mut rows = Vec::new();
    for row in 0..env.rows() {
        let keep = match &query.filter {
            Some(filter) => env.test(row, filter)? == Some(true),
            None => true,
        };
        if keep {
            let keys = order
                .iter()
                .map(|(e, _)| env.eval(row, e))
                .collect::<Result<Vec<_>, _>>()?;
            rows.push((row, keys));
        }
    }
    rows.sort_by(|(_, a), (_, b)| {
        a.iter()
            .zip(b)
            .zip(&order)
            .map(|((x, y), (_, desc))| {
                let o = sort_key(x, y);
                if *desc {
                    o.reverse()
                } else {
                    o
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    let kept: Vec<usize> = rows.into_iter().map(|(row, _)| row).collect();
    let mut results = if items.iter().any(|(e, _)| is_count(e)) {
        vec![aggregate(&env, &items, &kept, order.is_empty())?]
    } else {
        let mut results = Vec::new();
        for row in kept.iter().take(query.top.unwrap_or(usize::MAX)) {
            let values = items
                .iter()
                .map(|(expr, _)| env.eval(*row, expr))
                .collect::<Result<Vec<_>, _>>()?;
            results.push(values);
        }
        results
    };
    results.truncate(max_rows);
    let total = results.len();
    let options = &call.ns.options;
    let mut page = Vec::new();
    for values in results.into_iter().skip(offset).take(limit) {
        let mut item = Map::new();
        item.insert("links".into(), json!([]));
        for ((_, name), value) in items.iter().zip(values) {
            let text = match value {
                V::Null if options.suiteql_omit_nulls => continue,
                V::Null => Json::Null,
                V::Text(t) => Json::String(t),
                V::Num(n) => Json::String(number_text(n)),
                V::Bool(b) => Json::String(if b { "T" } else { "F" }.into()),
                V::Time(ms) => Json::String(
                    timefmt::format(ms, &options.date_format, options.timezone_offset_minutes)
                        .map_err(unsupported)?,
                ),
            };
            item.insert(name.clone(), text);
        }
        page.push(Json::Object(item));
    }
    let base = format!("{}/services/rest/query/v1/suiteql", call.origin);
    let answer = json!({
        "links": page_links(&base, "", limit, offset, total),
        "count": page.len(),
        "hasMore": offset + page.len() < total,
        "items": page,
        "offset": offset,
        "totalResults": total,
    });
    Ok(typed_response(
        200,
        "application/vnd.oracle.resource+json; type=collection; charset=UTF-8",
        answer.to_string(),
    ))
}
