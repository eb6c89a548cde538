//! Incremental exports (reference §8): the change feed ordered by `(updated_at, id)`,
//! leaving out rows changed within the export lag (one minute).
//!
//! - Time-based (`incremental/{organizations,users}`): a page never splits a second —
//!   it runs on past `per_page` to the end of its last row's second — and the next page
//!   starts at `end_time`, that second, so its rows come again: the same-second
//!   duplicates real Zendesk produces. `end_of_stream` on the page that reaches the end.
//! - Cursor-based (`incremental/users/cursor`): strictly after the cursor, no
//!   duplicates; the cursor is base64 of `{updated_at}.0||{id}|` as real ones decode.
//!
//! Deleted users come back with `active: false` (their `updated_at` moved); deleted
//! organizations come back with `deleted_at` unless `--org-deletions vanish`.

use super::errors::ZdError;
use super::pages::{encode, Params};
use super::record::{Kind, Record};
use super::store::Store;
use base64::Engine;
use serde_json::{json, Value as Json};

fn start_time(params: &Params) -> Result<Option<i64>, ZdError> {
    params.number("start_time")
}

/// `per_page=N` carried into the next page's URL when the client gave it.
fn per_page_suffix(params: &Params) -> String {
    params
        .get("per_page")
        .map(|n| format!("&per_page={}", encode(n)))
        .unwrap_or_default()
}

/// One export request: what it reads, from which account, up to when.
pub struct Export<'a> {
    /// The account's records.
    pub store: &'a Store,
    /// Organizations or users.
    pub kind: Kind,
    /// `start_time`, `cursor`, `per_page`.
    pub params: &'a Params,
    /// `http://host:port` for the page URLs.
    pub base: &'a str,
    /// Newest `updated_at` a row may have (now minus the lag).
    until: i64,
    /// Rows a page holds before it stops (≤ 1000).
    per_page: usize,
}

impl<'a> Export<'a> {
    /// Reads `per_page`; rows newer than `now - lag` are left out.
    pub fn new(
        store: &'a Store,
        kind: Kind,
        params: &'a Params,
        base: &'a str,
        (now, lag): (i64, i64),
    ) -> Result<Export<'a>, ZdError> {
        let per_page = params.number("per_page")?.unwrap_or(1000).clamp(1, 1000) as usize;
        Ok(Export {
            store,
            kind,
            params,
            base,
            until: now - lag,
            per_page,
        })
    }

    fn check_start(&self, start: i64) -> Result<(), ZdError> {
        if start > self.until {
            return Err(ZdError::bad_value(
                "Too recent start_time. Use a start_time older than 1 minute",
            ));
        }
        Ok(())
    }

    fn rows(&self, from: (i64, u64)) -> impl Iterator<Item = &'a Record> {
        self.store.feed(self.kind, from, self.until)
    }

    fn json(&self, rows: &[&Record]) -> Json {
        rows.iter()
            .map(|r| r.to_json(self.kind, self.base))
            .collect()
    }

    /// A time-based export page.
    pub fn by_time(&self) -> Result<Json, ZdError> {
        let (kind, params, base) = (self.kind, self.params, self.base);
        let start =
            start_time(params)?.ok_or_else(|| ZdError::bad_value("start_time is required"))?;
        self.check_start(start)?;
        let mut rows: Vec<&Record> = Vec::new();
        let mut feed = self.rows((start, 0)).peekable();
        while let Some(record) = feed.next_if(|r| {
            rows.len() < self.per_page
                || rows
                    .last()
                    .is_some_and(|last| last.updated_at == r.updated_at)
        }) {
            rows.push(record);
        }
        let end_of_stream = feed.peek().is_none();
        let end_time = rows.last().map_or(start, |r| r.updated_at);
        Ok(json!({
            kind.plural(): self.json(&rows),
            "next_page": format!("{base}/api/v2/incremental/{}.json?start_time={end_time}{}", kind.plural(), per_page_suffix(params)),
            "count": rows.len(),
            "end_of_stream": end_of_stream,
            "end_time": end_time,
        }))
    }

    /// A cursor-based export page (users).
    pub fn by_cursor(&self) -> Result<Json, ZdError> {
        let (kind, params, base) = (self.kind, self.params, self.base);
        let from = match (start_time(params)?, params.get("cursor")) {
            (Some(start), None) => {
                self.check_start(start)?;
                (start, 0)
            }
            (None, Some(cursor)) => {
                let (t, id) = read_cursor(cursor)?;
                (t, id.saturating_add(1))
            }
            _ => {
                return Err(ZdError::bad_value(
                    "Exactly one of start_time and cursor is required",
                ))
            }
        };
        let mut feed = self.rows(from).peekable();
        let rows: Vec<&Record> = feed.by_ref().take(self.per_page).collect();
        let end_of_stream = feed.peek().is_none();
        let after = rows
            .last()
            .map_or((from.0, from.1.saturating_sub(1)), |r| (r.updated_at, r.id));
        let after_cursor = cursor(after);
        Ok(json!({
            kind.plural(): self.json(&rows),
            "after_url": format!("{base}/api/v2/incremental/{}/cursor.json?cursor={}{}", kind.plural(), encode(&after_cursor), per_page_suffix(params)),
            "before_url": null,
            "after_cursor": after_cursor,
            "before_cursor": null,
            "end_of_stream": end_of_stream,
        }))
    }
}

fn cursor((time, id): (i64, u64)) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{time}.0||{id}|"))
}

fn read_cursor(text: &str) -> Result<(i64, u64), ZdError> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    let mut parts = decoded.split('|');
    let time = parts
        .next()
        .and_then(|t| t.strip_suffix(".0"))
        .and_then(|t| t.parse().ok());
    let id = parts.nth(1).and_then(|i| i.parse().ok());
    time.zip(id)
        .ok_or_else(|| ZdError::bad_value("cursor is not a cursor this export gave"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_decode_like_real_ones() {
        let real = "MTY5NDMwMzUyNi4wfHw2MTMwODY5MTY4OTIyfA==";
        assert_eq!(
            read_cursor(real).unwrap(),
            (1_694_303_526, 6_130_869_168_922)
        );
        assert_eq!(cursor((1_694_303_526, 6_130_869_168_922)), real);
        assert!(read_cursor("bm9wZQ==").is_err());
    }
}
