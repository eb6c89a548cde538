//! SuiteQL text to syntax: the lexer and a recursive-descent parser of the subset the
//! emulator answers. Anything else is refused here with "Invalid search query.".

use super::unsupported;
use crate::netsuite::errors::NsError;

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

#[derive(Debug, Clone)]
pub(super) enum Expr {
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

#[derive(Debug)]
pub(super) struct Query {
    pub(super) top: Option<usize>,
    /// The table's alias in `FROM table alias`.
    pub(super) alias: Option<String>,
    /// `None`: `SELECT *`.
    pub(super) items: Option<Vec<(Expr, Option<String>)>>,
    pub(super) table: String,
    pub(super) filter: Option<Expr>,
    pub(super) order: Vec<(Expr, bool)>,
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

    /// The whole statement.
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

impl Expr {
    /// The text of a string literal.
    #[cfg(test)]
    fn text(&self) -> Option<&str> {
        match self {
            Expr::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Parses one SuiteQL statement.
pub(super) fn parse(text: &str) -> Result<Query, NsError> {
    Parser {
        toks: lex(text)?,
        at: 0,
    }
    .query()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_subset_and_refuses_the_rest() {
        let q = parse(
            "select top 5 c.id, to_char(lastmodifieddate, 'YYYY') as y from customer c \
             where not (email like '%x' or id in (1, -2)) and phone is not null \
             order by 2 desc, id",
        )
        .unwrap();
        assert_eq!(
            (q.top, q.table.as_str(), q.alias.as_deref()),
            (Some(5), "customer", Some("c"))
        );
        assert_eq!(q.items.as_ref().map(Vec::len), Some(2));
        assert_eq!(q.order.len(), 2);
        assert!(q.order[0].1, "DESC");
        assert!(parse("SELECT * FROM contact").unwrap().items.is_none());
        assert!(matches!(
            parse("SELECT COUNT(*) FROM customer").unwrap().items.unwrap()[0].0,
            Expr::Func(ref name, ref args) if name == "count" && args.is_empty()
        ));
        assert_eq!(
            parse("SELECT 'it''s' FROM customer")
                .unwrap()
                .items
                .unwrap()[0]
                .0
                .text(),
            Some("it's")
        );
        for bad in [
            "UPDATE customer SET x = 1",
            "SELECT id FROM customer ORDER BY id NULLS LAST",
            "SELECT id FROM customer WHERE name = 'unterminated",
            "SELECT id || 'x' FROM customer",
            "SELECT id FROM customer, contact",
            "SELECT id FROM customer WHERE id = 1 -- comment",
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.title, Some("Invalid search query."), "{bad}");
        }
    }
}
