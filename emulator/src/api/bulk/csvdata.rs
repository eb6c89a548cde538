//! Bulk API 2.0 CSV: the job's delimiter and line ending, reading uploaded rows, and
//! writing values the way Bulk results write them (`….000Z` datetimes, Java-style
//! numbers, empty for null).

use crate::number::write_java_double;
use crate::timefmt;
use crate::value::Value;
use std::fmt::Write;

/// `columnDelimiter` of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delimiter {
    Comma,
    Tab,
    Pipe,
    Semicolon,
    Caret,
    Backquote,
}

impl Delimiter {
    /// Parses the job property (`COMMA`, `TAB`, …).
    pub fn parse(name: &str) -> Option<Delimiter> {
        Some(match name {
            "COMMA" => Delimiter::Comma,
            "TAB" => Delimiter::Tab,
            "PIPE" => Delimiter::Pipe,
            "SEMICOLON" => Delimiter::Semicolon,
            "CARET" => Delimiter::Caret,
            "BACKQUOTE" => Delimiter::Backquote,
            _ => return None,
        })
    }

    /// The job property's value.
    pub fn name(self) -> &'static str {
        match self {
            Delimiter::Comma => "COMMA",
            Delimiter::Tab => "TAB",
            Delimiter::Pipe => "PIPE",
            Delimiter::Semicolon => "SEMICOLON",
            Delimiter::Caret => "CARET",
            Delimiter::Backquote => "BACKQUOTE",
        }
    }

    fn byte(self) -> u8 {
        match self {
            Delimiter::Comma => b',',
            Delimiter::Tab => b'\t',
            Delimiter::Pipe => b'|',
            Delimiter::Semicolon => b';',
            Delimiter::Caret => b'^',
            Delimiter::Backquote => b'`',
        }
    }
}

/// `lineEnding` of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    Lf,
    Crlf,
}

impl LineEnding {
    /// Parses the job property (`LF`, `CRLF`).
    pub fn parse(name: &str) -> Option<LineEnding> {
        match name {
            "LF" => Some(LineEnding::Lf),
            "CRLF" => Some(LineEnding::Crlf),
            _ => None,
        }
    }

    /// The job property's value.
    pub fn name(self) -> &'static str {
        match self {
            LineEnding::Lf => "LF",
            LineEnding::Crlf => "CRLF",
        }
    }
}

/// Uploaded CSV: the header row and the data rows.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Csv {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Reads uploaded CSV. Data whose line endings do not match the job's setting fails
/// the whole job, with the message a real org gives.
pub fn read(data: &[u8], delimiter: Delimiter, ending: LineEnding) -> Result<Csv, String> {
    let has_crlf = data.windows(2).any(|w| w == b"\r\n");
    let foreign = ending == LineEnding::Lf && has_crlf || ending == LineEnding::Crlf && !has_crlf;
    if foreign && data.contains(&b'\n') {
        return Err(format!(
            "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is {}",
            ending.name()
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter.byte())
        .has_headers(true)
        .flexible(true)
        .from_reader(data);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("InvalidBatch : Failed to parse the CSV header: {e}"))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| format!("InvalidBatch : Failed to parse CSV: {e}"))?;
        rows.push(row.iter().map(str::to_string).collect());
    }
    Ok(Csv { header, rows })
}

/// A CSV writer with the job's delimiter and line ending, every field quoted as
/// Salesforce's result files are.
pub struct Writer {
    inner: csv::Writer<Vec<u8>>,
}

impl Writer {
    /// A writer for one result file.
    pub fn new(delimiter: Delimiter, ending: LineEnding) -> Writer {
        let terminator = match ending {
            LineEnding::Lf => csv::Terminator::Any(b'\n'),
            LineEnding::Crlf => csv::Terminator::CRLF,
        };
        Writer {
            inner: csv::WriterBuilder::new()
                .delimiter(delimiter.byte())
                .terminator(terminator)
                .quote_style(csv::QuoteStyle::Always)
                .from_writer(Vec::new()),
        }
    }

    /// Appends one row.
    pub fn row<I, S>(&mut self, fields: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        // Writing into a Vec cannot fail.
        let _ = self.inner.write_record(fields);
    }

    /// The file's text.
    pub fn finish(self) -> Vec<u8> {
        self.inner.into_inner().unwrap_or_default()
    }
}

/// A value as a Bulk result writes it: empty for null, `2024-01-01T12:00:00.000Z`
/// datetimes, Java-style doubles.
pub fn value_text(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Null => {}
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Text(t) => out.push_str(t),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Double(d) => write_java_double(&mut out, *d),
        Value::Date(days) => timefmt::write_date(&mut out, *days),
        Value::DateTime(ms) => timefmt::write_datetime_z(&mut out, *ms),
        Value::Time(ms) => timefmt::write_time(&mut out, *ms),
        Value::Id(id) => out.push_str(id.as_str()),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_quoted_fields_and_refuses_foreign_line_endings() {
        let csv = read(
            b"Name,Phone\n\"Acme, Inc.\",\"1\"\"2\"\nB,#N/A\n",
            Delimiter::Comma,
            LineEnding::Lf,
        )
        .unwrap();
        assert_eq!(csv.header, ["Name", "Phone"]);
        assert_eq!(csv.rows, [["Acme, Inc.", "1\"2"], ["B", "#N/A"]]);
        let err = read(b"Name\r\nA\r\n", Delimiter::Comma, LineEnding::Lf).unwrap_err();
        assert!(err.contains("LineEnding is invalid"), "{err}");
        let csv = read(b"Name|X\r\nA|B\r\n", Delimiter::Pipe, LineEnding::Crlf).unwrap();
        assert_eq!(csv.rows, [["A", "B"]]);
    }

    #[test]
    fn writes_values_as_bulk_results_do() {
        assert_eq!(value_text(&Value::DateTime(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(value_text(&Value::Double(1.5e7)), "1.5E7");
        assert_eq!(value_text(&Value::Null), "");
        let mut w = Writer::new(Delimiter::Comma, LineEnding::Lf);
        w.row(["sf__Id", "Name"]);
        w.row(["001", "a\"b"]);
        assert_eq!(
            String::from_utf8(w.finish()).unwrap(),
            "\"sf__Id\",\"Name\"\n\"001\",\"a\"\"b\"\n"
        );
    }
}
