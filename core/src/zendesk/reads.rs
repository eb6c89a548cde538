//! Reads: the full load by cursor pagination, changes through the incremental exports,
//! records by id (`show_many`) and by natural key.
//!
//! Exports (reference §8): organizations are time-based — each page ends at `end_time`,
//! the next starts at that same second, so its rows come again, and the durable cursor
//! is that `end_time`; users use the cursor-based export, whose `after_cursor` is the
//! durable cursor. Both mark the last page `end_of_stream`. A page never holds a record
//! twice (the later copy wins), deletions come as changes marked deleted (a user
//! soft-deleted, `active: false`; an organization with `deleted_at`), and an export is
//! never asked for changes of the last minute, which Zendesk refuses. The exports' own
//! limit (10 requests a minute) holds pulls back by itself: a 429 there means "nothing
//! read yet", never a pause of the whole connection.

use super::client::{Request, ZendeskClient};
use super::error::plain;
use super::object::{from_zendesk, Kind};
use super::writes::MAX_BATCH;
use crate::connector::{CallError, Change, ChangePage, ReadFrom, Record};
use crate::retry::Operation;
use crate::timestamp::Timestamp;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Seconds an export's `start_time` must lie in the past (Zendesk: one minute), plus
/// one for clocks that differ a little.
const EXPORT_LAG_SECS: i64 = 61;

/// How long exports wait after a 429 that names no `Retry-After`: their window.
const EXPORT_WINDOW_SECS: u64 = 60;

/// Rows a list page asks for (the most cursor pagination gives).
const LIST_PAGE: &str = "100";

impl ZendeskClient {
    /// One page of a read; see the module docs.
    pub(crate) fn read_page(
        &self,
        kind: Kind,
        fields: &[&str],
        from: &ReadFrom,
    ) -> Result<ChangePage, CallError> {
        let op = Operation::Read;
        let request = match (from, kind) {
            (ReadFrom::Everything, _) => Request::new("GET", format!("{}.json", kind.plural()))
                .param("page[size]", LIST_PAGE),
            (ReadFrom::ChangedSince { since, cursor }, Kind::Organization) => {
                let start = cursor
                    .as_deref()
                    .and_then(|c| c.trim().parse::<i64>().ok())
                    .unwrap_or_else(|| since.millis().div_euclid(1000));
                Request::new("GET", "incremental/organizations.json")
                    .param("start_time", export_start(start).to_string())
            }
            (
                ReadFrom::ChangedSince {
                    cursor: Some(cursor),
                    ..
                },
                Kind::User,
            ) => {
                Request::new("GET", "incremental/users/cursor.json").param("cursor", cursor.clone())
            }
            (
                ReadFrom::ChangedSince {
                    since,
                    cursor: None,
                },
                Kind::User,
            ) => {
                let start = since.millis().div_euclid(1000);
                Request::new("GET", "incremental/users/cursor.json")
                    .param("start_time", export_start(start).to_string())
            }
            (ReadFrom::More(link), _) => Request::link(link.clone()),
        };
        if request.is_export() {
            return self.export(kind, fields, &request);
        }
        let answer: Map<String, Value> = self.call(op, &request)?;
        Ok(page(kind, fields, answer))
    }

    /// An export page, unless the exports' own limit holds them back: then an empty page
    /// (nothing read, the durable cursor unchanged) and no request until `Retry-After`
    /// has passed — so the export limit delays pulls without pausing pushes, as a
    /// connection-wide back-off would.
    fn export(
        &self,
        kind: Kind,
        fields: &[&str],
        request: &Request,
    ) -> Result<ChangePage, CallError> {
        let op = Operation::Read;
        let mut pause = self.export_pause.lock().unwrap_or_else(|p| p.into_inner());
        if pause.is_some_and(|until| Instant::now() < until) {
            return Ok(ChangePage::default());
        }
        *pause = None;
        drop(pause);
        let reply = self.exchange(op, request)?;
        if reply.status == 429 {
            let wait = Duration::from_secs(reply.retry_after.unwrap_or(EXPORT_WINDOW_SECS));
            *self.export_pause.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(Instant::now() + wait);
            return Ok(ChangePage::default());
        }
        if !(200..300).contains(&reply.status) {
            return Err(self.refusal(op, &reply));
        }
        let answer: Map<String, Value> = serde_json::from_slice(&reply.body).map_err(|e| {
            CallError::unreadable(op, reply.status, &format!("unexpected JSON ({e})"))
        })?;
        Ok(page(kind, fields, answer))
    }

    /// Current values of the records with these ids, in input order; `None` for one that
    /// is gone (deleted organizations vanish; deleted users show `active: false`).
    pub(crate) fn retrieve(
        &self,
        kind: Kind,
        ids: &[&str],
        fields: &[&str],
    ) -> Result<Vec<Option<Record>>, CallError> {
        let mut found: HashMap<String, Record> = HashMap::new();
        let numeric: Vec<String> = ids
            .iter()
            .filter_map(|id| id.trim().parse::<u64>().ok())
            .map(|n| n.to_string())
            .collect();
        for chunk in numeric.chunks(MAX_BATCH) {
            let request = Request::new("GET", format!("{}/show_many.json", kind.plural()))
                .param("ids", chunk.join(","));
            for record in self.records(kind, &request)? {
                if let Some(id) = record.get("id").map(plain) {
                    found.insert(id, keep(record, fields));
                }
            }
        }
        Ok(ids.iter().map(|id| found.get(id.trim()).cloned()).collect())
    }

    /// Ids of the live records whose fields hold exactly these values. Zendesk looks
    /// records up by `id`, `external_id`, a user's `email` or an organization's `name`;
    /// the other fields of the key are compared here.
    pub(crate) fn find(
        &self,
        kind: Kind,
        key: &[(String, Value)],
    ) -> Result<Vec<String>, CallError> {
        let op = Operation::Read;
        let value = |field: &str| {
            key.iter()
                .find(|(f, _)| f == field)
                .map(|(_, v)| plain(v))
                .filter(|v| !v.trim().is_empty())
        };
        let plural = kind.plural();
        let request = if let Some(id) = value("id") {
            Request::new("GET", format!("{plural}/show_many.json")).param("ids", id)
        } else if let Some(external_id) = value("external_id") {
            Request::new("GET", format!("{plural}/search.json")).param("external_id", external_id)
        } else if let (Kind::User, Some(email)) = (kind, value("email")) {
            Request::new("GET", "users/search.json").param("query", email)
        } else if let (Kind::Organization, Some(name)) = (kind, value("name")) {
            Request::new("GET", "organizations/search.json").param("name", name)
        } else {
            let fields: Vec<&str> = key.iter().map(|(f, _)| f.as_str()).collect();
            return Err(CallError::refused(
                op,
                "InvalidEndpoint",
                format!(
                    "Zendesk cannot look {plural} up by {}; use id, external_id, {}",
                    fields.join(" + "),
                    match kind {
                        Kind::User => "or email",
                        Kind::Organization => "or name",
                    }
                ),
            ));
        };
        Ok(self
            .records(kind, &request)?
            .into_iter()
            .filter(|record| {
                key.iter()
                    .all(|(field, want)| same(field, record.get(field), want))
            })
            .filter_map(|record| record.get("id").map(plain))
            .collect())
    }

    /// The live records of a list answer (`{plural: [...]}`), as the engine reads them.
    fn records(&self, kind: Kind, request: &Request) -> Result<Vec<Record>, CallError> {
        let mut answer: Map<String, Value> = self.call(Operation::Read, request)?;
        Ok(rows(kind, &mut answer)
            .into_iter()
            .filter(|raw| !kind.is_deleted(raw))
            .map(|raw| from_zendesk(kind, raw))
            .collect())
    }
}

/// A `start_time` Zendesk accepts: not negative, and at least a minute old.
fn export_start(start: i64) -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    start.min(now - EXPORT_LAG_SECS).max(0)
}

/// The rows of an answer under `organizations` / `users`.
fn rows(kind: Kind, answer: &mut Map<String, Value>) -> Vec<Map<String, Value>> {
    match answer.shift_remove(kind.plural()) {
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::Object(o) => Some(o),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// One answer — a cursor list page, a time-based or a cursor-based export page — as a
/// [`ChangePage`]: which it is shows in its keys.
fn page(kind: Kind, fields: &[&str], mut answer: Map<String, Value>) -> ChangePage {
    let rows = rows(kind, &mut answer);
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let (more, resume) = if let Some(end) = answer.get("end_of_stream").and_then(Value::as_bool) {
        // An export page: time-based (`end_time`, `next_page`) or cursor (`after_*`).
        let link = text(answer.get("next_page")).or_else(|| text(answer.get("after_url")));
        let resume = match answer.get("end_time") {
            Some(end_time) => Some(plain(end_time)).filter(|t| !t.is_empty()),
            None => text(answer.get("after_cursor")),
        };
        (link.filter(|_| !end), resume)
    } else {
        // A cursor list page: `meta.has_more`, `links.next`.
        let has_more = answer
            .get("meta")
            .and_then(|m| m.get("has_more"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let next = text(answer.get("links").and_then(|l| l.get("next")));
        (next.filter(|_| has_more), None)
    };
    let mut changes: Vec<Change> = Vec::with_capacity(rows.len());
    let mut at: HashMap<String, usize> = HashMap::new();
    for raw in rows {
        let deleted = kind.is_deleted(&raw);
        let record = from_zendesk(kind, raw);
        let Some(id) = record.get("id").map(plain).filter(|id| !id.is_empty()) else {
            continue;
        };
        let modified = record
            .get("updated_at")
            .and_then(Value::as_str)
            .and_then(Timestamp::parse);
        let change = Change {
            id: id.clone(),
            modified,
            deleted,
            record: keep(record, fields),
        };
        // The same record twice in one page (a repeated second): the later copy wins.
        match at.get(&id) {
            Some(&i) => changes[i] = change,
            None => {
                at.insert(id, changes.len());
                changes.push(change);
            }
        }
    }
    // An export's `count` is the page's rows, not the read's: no total is known.
    ChangePage {
        changes,
        more,
        resume,
        total: None,
    }
}

/// The record cut to `fields` (all of them when none are named), keeping `id` and
/// `updated_at`, which the engine reads.
fn keep(record: Record, fields: &[&str]) -> Record {
    if fields.is_empty() {
        return record;
    }
    record
        .into_iter()
        .filter(|(k, _)| k == "id" || k == "updated_at" || fields.iter().any(|f| f == k))
        .collect()
}

/// Whether a record's value is the key's value: compared as text, ignoring case for
/// `email` and `external_id` (Zendesk matches them so).
fn same(field: &str, have: Option<&Value>, want: &Value) -> bool {
    let have = have.map(plain).unwrap_or_default();
    let want = plain(want);
    if matches!(field, "email" | "external_id") {
        have.trim().eq_ignore_ascii_case(want.trim())
    } else {
        have == want
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_time_based_page_dedupes_its_repeated_second_and_resumes_at_end_time() {
        let p = page(
            Kind::Organization,
            &["name"],
            answer(json!({
                "organizations": [
                    {"id": 1, "name": "A", "updated_at": "2024-01-01T00:00:00Z", "deleted_at": null},
                    {"id": 2, "name": "B", "updated_at": "2024-01-01T00:00:01Z", "deleted_at": "2024-01-01T00:00:01Z"},
                    {"id": 1, "name": "A2", "updated_at": "2024-01-01T00:00:01Z", "deleted_at": null}
                ],
                "next_page": "https://acme.zendesk.com/api/v2/incremental/organizations.json?start_time=1704067201",
                "count": 3, "end_of_stream": false, "end_time": 1704067201
            })),
        );
        assert_eq!(p.changes.len(), 2);
        assert_eq!(p.changes[0].record["name"], "A2");
        assert_eq!(p.changes[0].id, "1");
        assert!(p.changes[1].deleted);
        assert_eq!(
            p.changes[0].modified,
            Timestamp::parse("2024-01-01T00:00:01Z")
        );
        assert!(p.more.as_deref().unwrap().contains("start_time=1704067201"));
        assert_eq!(p.resume.as_deref(), Some("1704067201"));
        assert!(!p.changes[0].record.contains_key("deleted_at"));
    }

    #[test]
    fn a_cursor_export_page_resumes_after_its_cursor_and_marks_soft_deleted_users() {
        let p = page(
            Kind::User,
            &[],
            answer(json!({
                "users": [{"id": 7, "active": false, "updated_at": "2024-01-01T00:00:00Z"}],
                "after_url": "https://acme.zendesk.com/api/v2/incremental/users/cursor.json?cursor=abc",
                "after_cursor": "abc", "before_url": null, "before_cursor": null,
                "end_of_stream": true
            })),
        );
        assert!(p.changes[0].deleted);
        assert_eq!(p.more, None, "the end of the stream");
        assert_eq!(p.resume.as_deref(), Some("abc"));
    }

    #[test]
    fn a_list_page_follows_next_only_while_has_more() {
        let list = |has_more: bool| {
            page(
                Kind::User,
                &[],
                answer(json!({
                    "users": [{"id": 7}],
                    "meta": {"has_more": has_more, "after_cursor": "x"},
                    "links": {"next": "https://acme.zendesk.com/api/v2/users.json?page%5Bafter%5D=x"}
                })),
            )
        };
        assert!(list(true).more.is_some());
        assert_eq!(list(false).more, None);
        assert_eq!(list(true).resume, None);
    }

    #[test]
    fn keys_compare_as_zendesk_matches_them() {
        assert!(same("email", Some(&json!("Jo@X.com")), &json!("jo@x.com")));
        assert!(!same("name", Some(&json!("Acme")), &json!("acme")));
        assert!(same("id", Some(&json!("12")), &json!(12)));
        assert!(export_start(i64::MAX) < i64::MAX);
        assert_eq!(export_start(-5), 0);
    }
}
