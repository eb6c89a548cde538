//! The config fixtures under `core/tests/fixtures/`, shared by `hubsync-core`'s integration
//! tests and the SQL-level tests of `hubsync-e2e` (which includes this file by path), so the
//! same brief blocks and malformed configs are proven against the parser and a real server.

use serde_json::Value;
use std::path::PathBuf;

/// Path of a file under `core/tests/fixtures/`; the same from every crate of the workspace.
pub fn path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/fixtures")
        .join(relative)
}

/// The text of a fixture file (e.g. a `tables/*.sql` script).
pub fn text(relative: &str) -> String {
    let path = path(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A JSON fixture.
pub fn json(relative: &str) -> Value {
    serde_json::from_str(&text(relative)).unwrap_or_else(|e| panic!("parsing {relative}: {e}"))
}

/// The fixture named by `entry[key]` (a path), or null when the entry names none.
pub fn named(entry: &Value, key: &str) -> Value {
    entry[key].as_str().map_or(Value::Null, json)
}

/// `merge_patch(base, fragment)` as the fixtures define it; a null base means the fragment alone.
pub fn combine(base: &Value, fragment: &Value) -> Value {
    match base {
        Value::Null => fragment.clone(),
        base => hubsync_core::config::merge_patch(base, fragment),
    }
}

/// JSON equality where numbers compare by value (`30` equals `30.0`), as jsonb sees them.
pub fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}
