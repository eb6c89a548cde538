//! JSON merge patch (RFC 7386), how `hubsync.alter_sync` changes a stored config.
//!
//! A patch names only what changes: objects merge key by key, `null` removes a key,
//! anything else (strings, numbers, arrays) replaces the old value whole.

use serde_json::{Map, Value};

/// Applies `patch` to `base` as RFC 7386 specifies and returns the result.
pub fn merge_patch(base: &Value, patch: &Value) -> Value {
    let Some(changes) = patch.as_object() else {
        return patch.clone();
    };
    let mut merged = base.as_object().cloned().unwrap_or_else(Map::new);
    for (key, change) in changes {
        if change.is_null() {
            merged.shift_remove(key);
        } else {
            let old = merged.get(key).unwrap_or(&Value::Null);
            let new = merge_patch(old, change);
            merged.insert(key.clone(), new);
        }
    }
    Value::Object(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The examples of RFC 7386 appendix A.
    #[test]
    fn rfc_7386_examples() {
        let cases = [
            (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
            (json!({"a":"b"}), json!({"a":null}), json!({})),
            (
                json!({"a":"b","b":"c"}),
                json!({"a":null}),
                json!({"b":"c"}),
            ),
            (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
            (
                json!({"a":{"b":"c"}}),
                json!({"a":{"b":"d","c":null}}),
                json!({"a":{"b":"d"}}),
            ),
            (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a":"b"}), json!(["c"]), json!(["c"])),
            (json!({"a":"foo"}), json!(null), json!(null)),
            (json!({"a":"foo"}), json!("bar"), json!("bar")),
            (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
            (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
            (
                json!({}),
                json!({"a":{"bb":{"ccc":null}}}),
                json!({"a":{"bb":{}}}),
            ),
        ];
        for (base, patch, expected) in cases {
            assert_eq!(merge_patch(&base, &patch), expected, "{base} + {patch}");
        }
    }

    #[test]
    fn key_order_of_the_base_is_kept() {
        let merged = merge_patch(&json!({"x": 1, "y": 2}), &json!({"x": 3, "z": 4}));
        assert_eq!(merged.to_string(), r#"{"x":3,"y":2,"z":4}"#);
    }
}
