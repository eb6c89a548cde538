//! Recursive-descent parser for the supported SOQL subset.

use super::ast::{Cond, Item, Lit, Literal, Name, Op, OrderItem, Query, Relative, Select};
use super::lexer::{tokenize, Tok, Token};
use super::SoqlError;

/// Parses a query.
pub fn parse(text: &str) -> Result<Query, SoqlError> {
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        text,
        tokens,
        at: 0,
    };
    let query = parser.query()?;
    parser.expect_end()?;
    Ok(query)
}

const RESERVED: &[&str] = &[
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "LIMIT", "OFFSET",
    "ASC", "DESC", "NULLS", "NULL", "TRUE", "FALSE", "GROUP", "HAVING", "INCLUDES", "EXCLUDES",
];

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.tokens[self.at]
    }

    fn next(&mut self) -> Token {
        let token = self.tokens[self.at].clone();
        if self.at + 1 < self.tokens.len() {
            self.at += 1;
        }
        token
    }

    fn keyword_is(&self, word: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s.eq_ignore_ascii_case(word))
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        let found = self.keyword_is(word);
        if found {
            self.next();
        }
        found
    }

    fn unexpected(&self) -> SoqlError {
        let token = self.peek();
        let shown = match &token.tok {
            Tok::End => {
                return SoqlError::at(
                    "MALFORMED_QUERY",
                    self.text,
                    token.pos,
                    "unexpected token: <EOF>",
                )
            }
            Tok::Ident(s) | Tok::Number(s) => s.clone(),
            Tok::Text(s) => format!("'{s}'"),
            Tok::Op(op) => op.to_string(),
            Tok::Comma => ",".into(),
            Tok::LParen => "(".into(),
            Tok::RParen => ")".into(),
            Tok::Colon => ":".into(),
            Tok::Date(_) | Tok::DateTime(_) => self.text[token.pos..]
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string(),
        };
        SoqlError::at(
            "MALFORMED_QUERY",
            self.text,
            token.pos,
            format!("unexpected token: '{shown}'"),
        )
    }

    fn expect_keyword(&mut self, word: &str) -> Result<(), SoqlError> {
        if self.eat_keyword(word) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn expect(&mut self, tok: Tok) -> Result<(), SoqlError> {
        if self.peek().tok == tok {
            self.next();
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn expect_end(&self) -> Result<(), SoqlError> {
        if self.peek().tok == Tok::End {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn name(&mut self) -> Result<Name, SoqlError> {
        match &self.peek().tok {
            Tok::Ident(s) if !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s)) => {
                let token = self.next();
                let Tok::Ident(text) = token.tok else {
                    unreachable!("checked above")
                };
                Ok(Name {
                    text,
                    pos: token.pos,
                })
            }
            _ => Err(self.unexpected()),
        }
    }

    fn query(&mut self) -> Result<Query, SoqlError> {
        self.expect_keyword("SELECT")?;
        let select = self.select_list()?;
        self.expect_keyword("FROM")?;
        let from = self.name()?;
        let filter = if self.eat_keyword("WHERE") {
            Some(self.condition()?)
        } else {
            None
        };
        let mut order_by = Vec::new();
        if self.eat_keyword("ORDER") {
            self.expect_keyword("BY")?;
            loop {
                order_by.push(self.order_item()?);
                if self.peek().tok != Tok::Comma {
                    break;
                }
                self.next();
            }
        }
        let limit = if self.eat_keyword("LIMIT") {
            Some(self.integer()?.0)
        } else {
            None
        };
        let offset = if self.eat_keyword("OFFSET") {
            Some(self.integer()?)
        } else {
            None
        };
        Ok(Query {
            select,
            from,
            filter,
            order_by,
            limit,
            offset,
        })
    }

    fn select_list(&mut self) -> Result<Select, SoqlError> {
        if self.keyword_is("COUNT")
            && self.tokens.get(self.at + 1).map(|t| &t.tok) == Some(&Tok::LParen)
        {
            self.next();
            self.next();
            if self.peek().tok != Tok::RParen {
                return Err(SoqlError::at(
                    "MALFORMED_QUERY",
                    self.text,
                    self.peek().pos,
                    "only COUNT() is supported by this emulator; aggregate functions with a field are not",
                ));
            }
            self.next();
            return Ok(Select::CountAll);
        }
        let mut items = vec![self.item()?];
        while self.peek().tok == Tok::Comma {
            self.next();
            items.push(self.item()?);
        }
        Ok(Select::Fields(items))
    }

    fn item(&mut self) -> Result<Item, SoqlError> {
        if self.peek().tok != Tok::LParen {
            return self.name().map(Item::Field);
        }
        self.next();
        let query = self.query()?;
        self.expect(Tok::RParen)?;
        Ok(Item::Subquery(Box::new(query)))
    }

    fn order_item(&mut self) -> Result<OrderItem, SoqlError> {
        let field = self.name()?;
        let descending = if self.eat_keyword("DESC") {
            true
        } else {
            self.eat_keyword("ASC");
            false
        };
        let nulls_first = if self.eat_keyword("NULLS") {
            if self.eat_keyword("FIRST") {
                true
            } else {
                self.expect_keyword("LAST")?;
                false
            }
        } else {
            !descending
        };
        Ok(OrderItem {
            field,
            descending,
            nulls_first,
        })
    }

    fn integer(&mut self) -> Result<(u64, usize), SoqlError> {
        let token = self.peek().clone();
        match &token.tok {
            Tok::Number(n) if n.parse::<u64>().is_ok() => {
                self.next();
                Ok((n.parse().expect("checked"), token.pos))
            }
            _ => Err(self.unexpected()),
        }
    }

    /// `a AND b AND c` or `a OR b OR c`; mixing needs parentheses, as in SOQL.
    fn condition(&mut self) -> Result<Cond, SoqlError> {
        let first = self.unary()?;
        let joiner = if self.keyword_is("AND") {
            "AND"
        } else if self.keyword_is("OR") {
            "OR"
        } else {
            return Ok(first);
        };
        let mut parts = vec![first];
        while self.eat_keyword(joiner) {
            parts.push(self.unary()?);
        }
        if self.keyword_is("AND") || self.keyword_is("OR") {
            return Err(self.unexpected());
        }
        Ok(if joiner == "AND" {
            Cond::And(parts)
        } else {
            Cond::Or(parts)
        })
    }

    fn unary(&mut self) -> Result<Cond, SoqlError> {
        if self.eat_keyword("NOT") {
            return Ok(Cond::Not(Box::new(self.unary()?)));
        }
        if self.peek().tok == Tok::LParen {
            self.next();
            let inner = self.condition()?;
            self.expect(Tok::RParen)?;
            return Ok(inner);
        }
        let field = self.name()?;
        if self.eat_keyword("LIKE") {
            let pattern = self.literal()?;
            return Ok(Cond::Like { field, pattern });
        }
        let negated = if self.keyword_is("NOT")
            && self
                .tokens
                .get(self.at + 1)
                .is_some_and(|t| matches!(&t.tok, Tok::Ident(s) if s.eq_ignore_ascii_case("IN")))
        {
            self.next();
            true
        } else {
            false
        };
        if self.eat_keyword("IN") {
            self.expect(Tok::LParen)?;
            let mut values = vec![self.literal()?];
            while self.peek().tok == Tok::Comma {
                self.next();
                values.push(self.literal()?);
            }
            self.expect(Tok::RParen)?;
            return Ok(Cond::In {
                field,
                negated,
                values,
            });
        }
        let op = match self.peek().tok {
            Tok::Op("=") => Op::Eq,
            Tok::Op("!=") => Op::Ne,
            Tok::Op("<") => Op::Lt,
            Tok::Op("<=") => Op::Le,
            Tok::Op(">") => Op::Gt,
            Tok::Op(">=") => Op::Ge,
            _ => return Err(self.unexpected()),
        };
        self.next();
        let value = self.literal()?;
        Ok(Cond::Compare { field, op, value })
    }

    fn literal(&mut self) -> Result<Lit, SoqlError> {
        let token = self.peek().clone();
        let value = match &token.tok {
            Tok::Text(s) => Literal::Text(s.clone()),
            Tok::Number(n) => Literal::Number(n.clone()),
            Tok::Date(d) => Literal::Date(*d),
            Tok::DateTime(ms) => Literal::DateTime(*ms),
            Tok::Ident(word) => {
                let upper = word.to_ascii_uppercase();
                match upper.as_str() {
                    "NULL" => Literal::Null,
                    "TRUE" => Literal::Bool(true),
                    "FALSE" => Literal::Bool(false),
                    _ => {
                        self.next();
                        let relative = self.relative(&upper, token.pos)?;
                        return Ok(Lit {
                            value: Literal::Relative(relative),
                            pos: token.pos,
                        });
                    }
                }
            }
            _ => return Err(self.unexpected()),
        };
        self.next();
        Ok(Lit {
            value,
            pos: token.pos,
        })
    }

    /// A relative date literal; the word has been consumed.
    fn relative(&mut self, upper: &str, pos: usize) -> Result<Relative, SoqlError> {
        let fixed = match upper {
            "TODAY" => Some(Relative::Today),
            "YESTERDAY" => Some(Relative::Yesterday),
            "TOMORROW" => Some(Relative::Tomorrow),
            "LAST_WEEK" => Some(Relative::LastWeek),
            "THIS_WEEK" => Some(Relative::ThisWeek),
            "NEXT_WEEK" => Some(Relative::NextWeek),
            "LAST_MONTH" => Some(Relative::LastMonth),
            "THIS_MONTH" => Some(Relative::ThisMonth),
            "NEXT_MONTH" => Some(Relative::NextMonth),
            "LAST_90_DAYS" => Some(Relative::Last90Days),
            "NEXT_90_DAYS" => Some(Relative::Next90Days),
            "LAST_YEAR" => Some(Relative::LastYear),
            "THIS_YEAR" => Some(Relative::ThisYear),
            "NEXT_YEAR" => Some(Relative::NextYear),
            _ => None,
        };
        if let Some(relative) = fixed {
            return Ok(relative);
        }
        let with_n: Option<fn(i64) -> Relative> = match upper {
            "LAST_N_DAYS" => Some(Relative::LastNDays),
            "NEXT_N_DAYS" => Some(Relative::NextNDays),
            "N_DAYS_AGO" => Some(Relative::NDaysAgo),
            "LAST_N_WEEKS" => Some(Relative::LastNWeeks),
            "NEXT_N_WEEKS" => Some(Relative::NextNWeeks),
            "LAST_N_MONTHS" => Some(Relative::LastNMonths),
            "NEXT_N_MONTHS" => Some(Relative::NextNMonths),
            "LAST_N_YEARS" => Some(Relative::LastNYears),
            "NEXT_N_YEARS" => Some(Relative::NextNYears),
            _ => None,
        };
        let Some(make) = with_n else {
            return Err(SoqlError::at(
                "MALFORMED_QUERY",
                self.text,
                pos,
                format!("unexpected token: '{upper}'"),
            ));
        };
        self.expect(Tok::Colon)?;
        let (n, _) = self.integer()?;
        Ok(make(n as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_query_case_insensitively() {
        let q = parse(
            "select Id, Name from Account where (Name like 'A%' or Industry in ('Banking','Energy')) \
             and not AnnualRevenue < 100 and CreatedDate >= LAST_N_DAYS:7 \
             order by Name desc nulls first, Id limit 10 offset 5",
        )
        .unwrap();
        assert_eq!(q.from.text, "Account");
        let Select::Fields(fields) = &q.select else {
            panic!("fields")
        };
        assert_eq!(fields.len(), 2);
        let Some(Cond::And(parts)) = &q.filter else {
            panic!("and")
        };
        assert_eq!(parts.len(), 3);
        assert!(matches!(&parts[0], Cond::Or(or) if or.len() == 2));
        assert!(matches!(&parts[1], Cond::Not(_)));
        assert!(matches!(
            &parts[2],
            Cond::Compare {
                value: Lit {
                    value: Literal::Relative(Relative::LastNDays(7)),
                    ..
                },
                ..
            }
        ));
        assert_eq!(q.order_by.len(), 2);
        assert!(q.order_by[0].descending && q.order_by[0].nulls_first);
        assert!(!q.order_by[1].descending && q.order_by[1].nulls_first);
        assert_eq!(q.limit, Some(10));
        assert_eq!(q.offset.map(|o| o.0), Some(5));
    }

    #[test]
    fn count_and_not_in() {
        let q = parse("SELECT COUNT() FROM Contact WHERE Email NOT IN ('a@b.c', null)").unwrap();
        assert_eq!(q.select, Select::CountAll);
        assert!(matches!(q.filter, Some(Cond::In { negated: true, .. })));
    }

    #[test]
    fn malformed_queries_point_at_the_token() {
        let err = parse("SELECT Id FRM Account").unwrap_err();
        assert_eq!(err.code, "MALFORMED_QUERY");
        assert_eq!(err.message, "\nSELECT Id FRM Account\n          ^\nERROR at Row:1:Column:11\nunexpected token: 'FRM'");
        assert!(parse("SELECT Id FROM Account WHERE a = 1 AND b = 2 OR c = 3").is_err());
        assert!(parse("SELECT FROM Account").is_err());
        assert!(parse("SELECT Id FROM Account LIMIT").is_err());
        assert!(parse("SELECT Id FROM Account WHERE CreatedDate > LAST_N_DAYS").is_err());
        assert!(parse("SELECT Id FROM Account WHERE Name = BOGUS").is_err());
    }
}
