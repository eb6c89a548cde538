//! Listing: cursor pagination (`page[size]`, `page[after]`, `page[before]`, with
//! `meta` and `links`) and offset pagination (`page`, `per_page`, `next_page`,
//! `count`), both ordered by id (reference §7).
//!
//! Quirks kept: the last cursor page still carries `links.next` with `has_more: false`,
//! and following it answers an empty page with null cursors; links use the scheme,
//! host and port the request came to.

use super::errors::ZdError;
use base64::Engine;
use serde_json::{json, Value as Json};

/// The decoded query string: brackets raw or percent-encoded both read the same.
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses a raw query string.
    pub fn parse(query: &str) -> Params {
        Params(
            form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A whole number parameter, or a 400 naming it.
    pub fn number(&self, key: &str) -> Result<Option<i64>, ZdError> {
        self.get(key)
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| ZdError::bad_value(format!("{key} must be a whole number")))
            })
            .transpose()
    }

    /// One value; zenpy may append a stray `?include=…` query to it (reference §9),
    /// which is cut off.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.get(key).map(|v| match v.rfind('?') {
            Some(at) if v[at..].contains('=') => &v[..at],
            _ => v,
        })
    }

    /// A comma-separated list parameter (`ids=1,2`), stray query cut off as by `value`.
    pub fn list(&self, key: &str) -> Option<Vec<String>> {
        self.value(key).map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
    }

    /// Whether the request asks for cursor pagination.
    fn cursor_mode(&self) -> bool {
        self.0.iter().any(|(k, _)| k.starts_with("page["))
    }
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The opaque list cursor: base64 of `{"o":"id","v":…}`, as real cursors look.
fn cursor(id: u64) -> String {
    let engine = base64::engine::general_purpose::STANDARD;
    let v = engine.encode(id.to_le_bytes());
    engine.encode(json!({"o": "id", "v": v}).to_string())
}

fn read_cursor(text: &str) -> Result<u64, ZdError> {
    let engine = base64::engine::general_purpose::STANDARD;
    let bad = || {
        ZdError::new(
            400,
            "InvalidPaginationParameter",
            "page[after] or page[before] is not a valid cursor",
        )
    };
    let outer: Json = engine
        .decode(text)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(bad)?;
    let bytes = outer["v"]
        .as_str()
        .and_then(|v| engine.decode(v).ok())
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .ok_or_else(bad)?;
    Ok(u64::from_le_bytes(bytes))
}

/// One page of a list: the records (already rendered) and the page's keys.
pub struct Page {
    /// The page's records as JSON.
    pub items: Vec<Json>,
    /// `meta`/`links` or `next_page`/`previous_page`/`count`.
    pub keys: Vec<(&'static str, Json)>,
}

/// Lists `ids` (ascending) by the request's pagination: cursor when any `page[…]`
/// parameter is given, offset otherwise. `render` turns an id into its JSON; `url` is
/// the list's URL without a query.
pub fn list(
    ids: &[u64],
    params: &Params,
    url: &str,
    offset_page_limit: u64,
    render: impl Fn(u64) -> Json,
) -> Result<Page, ZdError> {
    if params.cursor_mode() {
        cursor_page(ids, params, url, render)
    } else {
        offset_page(ids, params, url, offset_page_limit, render)
    }
}

fn cursor_page(
    ids: &[u64],
    params: &Params,
    url: &str,
    render: impl Fn(u64) -> Json,
) -> Result<Page, ZdError> {
    let size = params.number("page[size]")?.unwrap_or(100).clamp(1, 100) as usize;
    let (chosen, has_more) = match (params.get("page[after]"), params.get("page[before]")) {
        (Some(after), _) => {
            let after = read_cursor(after)?;
            let start = ids.partition_point(|id| *id <= after);
            let end = (start + size).min(ids.len());
            (&ids[start..end], end < ids.len())
        }
        (None, Some(before)) => {
            let before = read_cursor(before)?;
            let end = ids.partition_point(|id| *id < before);
            let start = end.saturating_sub(size);
            (&ids[start..end], start > 0)
        }
        (None, None) => {
            let end = size.min(ids.len());
            (&ids[..end], end < ids.len())
        }
    };
    let link = |key: &str, id: &u64| {
        format!(
            "{url}?page%5B{key}%5D={}&page%5Bsize%5D={size}",
            encode(&cursor(*id))
        )
    };
    let (meta, links) = match (chosen.first(), chosen.last()) {
        (Some(first), Some(last)) => (
            json!({"has_more": has_more, "after_cursor": cursor(*last), "before_cursor": cursor(*first)}),
            json!({"prev": link("before", first), "next": link("after", last)}),
        ),
        _ => (
            json!({"has_more": false, "after_cursor": null, "before_cursor": null}),
            json!({"prev": null, "next": null}),
        ),
    };
    Ok(Page {
        items: chosen.iter().map(|id| render(*id)).collect(),
        keys: vec![("meta", meta), ("links", links)],
    })
}

fn offset_page(
    ids: &[u64],
    params: &Params,
    url: &str,
    page_limit: u64,
    render: impl Fn(u64) -> Json,
) -> Result<Page, ZdError> {
    let per_page = params.number("per_page")?.unwrap_or(100).clamp(1, 100) as usize;
    let page = params.number("page")?.unwrap_or(1).max(1) as usize;
    if page as u64 > page_limit {
        return Err(ZdError::new(
            400,
            "InvalidPaginationParameter",
            format!("Offset pagination is limited to {page_limit} pages. Use cursor pagination to fetch more records."),
        ));
    }
    let start = ((page - 1) * per_page).min(ids.len());
    let end = (start + per_page).min(ids.len());
    let link = |n: usize| json!(format!("{url}?page={n}&per_page={per_page}"));
    let next = if end < ids.len() {
        link(page + 1)
    } else {
        Json::Null
    };
    let previous = if page > 1 { link(page - 1) } else { Json::Null };
    Ok(Page {
        items: ids[start..end].iter().map(|id| render(*id)).collect(),
        keys: vec![
            ("next_page", next),
            ("previous_page", previous),
            ("count", json!(ids.len())),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        for id in [0, 1, 6_164_125_400_602, u64::MAX] {
            assert_eq!(read_cursor(&cursor(id)).unwrap(), id);
        }
        assert!(read_cursor("not a cursor").is_err());
    }

    #[test]
    fn list_parameters_drop_a_stray_query() {
        let params = Params::parse(
            "external_id=crm-1?include=None&page[size]=100&ids=1,%202,&name=Acme,%20Inc?",
        );
        assert_eq!(params.value("external_id"), Some("crm-1"));
        assert_eq!(params.value("name"), Some("Acme, Inc?"));
        assert_eq!(params.list("ids").unwrap(), ["1", "2"]);
        assert_eq!(params.get("page[size]"), Some("100"));
        assert_eq!(
            Params::parse("page%5Bsize%5D=5").get("page[size]"),
            Some("5")
        );
    }
}
