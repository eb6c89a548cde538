//! Splits SOQL text into tokens. Keywords are recognised by the parser (they are
//! case-insensitive identifiers); date and datetime literals are unquoted, so the
//! lexer recognises them by shape.

use super::SoqlError;
use crate::timefmt;

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    Number(String),
    Text(String),
    Date(i64),
    DateTime(i64),
    Comma,
    LParen,
    RParen,
    Colon,
    Op(&'static str),
    End,
}

/// A token with its character offset.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub pos: usize,
}

/// Punctuation and comparison operators, each two-character one before its prefix.
const SYMBOLS: [(&[u8], Tok); 11] = [
    (b"!=", Tok::Op("!=")),
    (b"<>", Tok::Op("!=")),
    (b"<=", Tok::Op("<=")),
    (b">=", Tok::Op(">=")),
    (b"<", Tok::Op("<")),
    (b">", Tok::Op(">")),
    (b"=", Tok::Op("=")),
    (b",", Tok::Comma),
    (b"(", Tok::LParen),
    (b")", Tok::RParen),
    (b":", Tok::Colon),
];

/// Tokenises a whole query.
pub fn tokenize(text: &str) -> Result<Vec<Token>, SoqlError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if let Some((symbol, tok)) = SYMBOLS.iter().find(|(s, _)| bytes[i..].starts_with(s)) {
            tokens.push(Token {
                tok: tok.clone(),
                pos: start,
            });
            i += symbol.len();
            continue;
        }
        let tok = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'\'' => {
                let (value, next) = string_literal(text, i)?;
                i = next;
                Tok::Text(value)
            }
            b'0'..=b'9' | b'-' | b'+' | b'.' => {
                let (tok, next) = number_or_date(text, i)?;
                i = next;
                tok
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.')
                {
                    i += 1;
                }
                Tok::Ident(text[start..i].to_string())
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(SoqlError::at(
                    "MALFORMED_QUERY",
                    text,
                    i,
                    format!("unexpected token: '{ch}'"),
                ));
            }
        };
        tokens.push(Token { tok, pos: start });
    }
    tokens.push(Token {
        tok: Tok::End,
        pos: text.len(),
    });
    Ok(tokens)
}

/// A quoted string from `start` (the opening quote); returns the value and the offset
/// after the closing quote.
fn string_literal(text: &str, start: usize) -> Result<(String, usize), SoqlError> {
    let mut value = String::new();
    let mut chars = text[start + 1..].char_indices();
    while let Some((offset, c)) = chars.next() {
        match c {
            '\'' => return Ok((value, start + 1 + offset + 1)),
            '\\' => {
                let Some((_, escaped)) = chars.next() else {
                    break;
                };
                match escaped {
                    'n' | 'N' => value.push('\n'),
                    'r' | 'R' => value.push('\r'),
                    't' | 'T' => value.push('\t'),
                    'b' | 'B' => value.push('\u{8}'),
                    'f' | 'F' => value.push('\u{c}'),
                    '"' => value.push('"'),
                    '\'' => value.push('\''),
                    '\\' => value.push_str("\\\\"),
                    '%' => value.push_str("\\%"),
                    '_' => value.push_str("\\_"),
                    'u' => {
                        let hex: String = (0..4)
                            .filter_map(|_| chars.next().map(|(_, h)| h))
                            .collect();
                        let code = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                        match code {
                            Some(ch) if hex.len() == 4 => value.push(ch),
                            _ => return Err(illegal_escape(text, start, &format!("\\u{hex}"))),
                        }
                    }
                    other => return Err(illegal_escape(text, start, &format!("\\{other}"))),
                }
            }
            c => value.push(c),
        }
    }
    Err(SoqlError::at(
        "MALFORMED_QUERY",
        text,
        start,
        "unexpected token: unterminated string literal",
    ))
}

fn illegal_escape(text: &str, start: usize, sequence: &str) -> SoqlError {
    let literal: String = text[start..].chars().take_while(|c| *c != ' ').collect();
    SoqlError::at(
        "MALFORMED_QUERY",
        text,
        start,
        format!("Invalid string literal {literal}. Illegal character sequence '{sequence}' in string literal."),
    )
}

/// A number, date (`2024-01-01`) or datetime (`2024-01-01T00:00:00Z`, `…+02:00`).
fn number_or_date(text: &str, start: usize) -> Result<(Tok, usize), SoqlError> {
    let bytes = text.as_bytes();
    let is_date_shape = bytes.len() >= start + 10
        && bytes[start..start + 4].iter().all(u8::is_ascii_digit)
        && bytes[start + 4] == b'-'
        && bytes[start + 7] == b'-';
    if is_date_shape {
        let mut end = start + 10;
        if bytes.get(end) == Some(&b'T') || bytes.get(end) == Some(&b't') {
            while end < bytes.len()
                && (bytes[end].is_ascii_alphanumeric() || b":.+-".contains(&bytes[end]))
            {
                end += 1;
            }
            let literal = &text[start..end];
            let has_zone = literal.ends_with(['Z', 'z']) || literal[11..].contains(['+', '-']);
            return match timefmt::parse_datetime(literal) {
                Some(ms) if has_zone => Ok((Tok::DateTime(ms), end)),
                _ => Err(SoqlError::at(
                    "MALFORMED_QUERY",
                    text,
                    start,
                    format!("line 1:{start} no viable alternative at character '{literal}'"),
                )),
            };
        }
        return match timefmt::parse_date(&text[start..end]) {
            Some(days) => Ok((Tok::Date(days), end)),
            None => Err(SoqlError::at(
                "MALFORMED_QUERY",
                text,
                start,
                format!("unexpected token: '{}'", &text[start..end]),
            )),
        };
    }
    let mut end = start;
    if bytes[end] == b'-' || bytes[end] == b'+' {
        end += 1;
    }
    let digits_start = end;
    while end < bytes.len() && (bytes[end].is_ascii_digit() || bytes[end] == b'.') {
        end += 1;
    }
    if end < bytes.len() && (bytes[end] == b'e' || bytes[end] == b'E') {
        end += 1;
        if end < bytes.len() && (bytes[end] == b'-' || bytes[end] == b'+') {
            end += 1;
        }
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
    }
    let literal = &text[start..end];
    if end == digits_start || literal.parse::<f64>().is_err() {
        return Err(SoqlError::at(
            "MALFORMED_QUERY",
            text,
            start,
            format!("unexpected token: '{literal}'"),
        ));
    }
    Ok((Tok::Number(literal.to_string()), end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Tok> {
        tokenize(text).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn tokenises_operators_literals_and_escapes() {
        assert_eq!(
            toks("a<>1 AND b<=-2.5"),
            vec![
                Tok::Ident("a".into()),
                Tok::Op("!="),
                Tok::Number("1".into()),
                Tok::Ident("AND".into()),
                Tok::Ident("b".into()),
                Tok::Op("<="),
                Tok::Number("-2.5".into()),
                Tok::End
            ]
        );
        assert_eq!(
            toks(r"'Bob\'s \n\u0041\%'")[0],
            Tok::Text("Bob's \nA\\%".into())
        );
        assert_eq!(
            toks("2024-01-01")[0],
            Tok::Date(timefmt::parse_date("2024-01-01").unwrap())
        );
        assert_eq!(
            toks("2024-01-01T10:00:00+02:00")[0],
            Tok::DateTime(timefmt::parse_datetime("2024-01-01T08:00:00Z").unwrap())
        );
    }

    #[test]
    fn rejects_bad_escapes_and_zone_less_datetimes() {
        let err = tokenize(r"'a\qb'").unwrap_err();
        assert_eq!(err.code, "MALFORMED_QUERY");
        assert!(
            err.message.contains("Illegal character sequence '\\q'"),
            "{}",
            err.message
        );
        assert!(tokenize("2024-01-01T00:00:00").is_err());
        assert!(tokenize("'open").is_err());
    }
}
