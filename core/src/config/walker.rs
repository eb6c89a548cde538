//! Typed, path-aware reading of a JSON config, where every read records its own problem.
//!
//! serde's derive stops at the first error and loses the path; the config API must list
//! every mistake at once with the exact JSON path and what was expected, so sections are
//! read by hand through the few helpers here.

use super::suggest::did_you_mean;
use crate::problem::{child_path, index_path, Problem};
use serde_json::{Map, Value};

/// Problems found so far: readers push here and carry on with a default.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<Problem>);

impl Problems {
    pub fn push(&mut self, problem: Problem) {
        self.0.push(problem);
    }

    /// Records a bad value (22023) at `path`.
    pub fn invalid(&mut self, path: &str, message: impl Into<String>) {
        self.push(Problem::invalid(path, message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `value` when nothing went wrong, else every problem found.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<Problem>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }

    pub fn into_vec(self) -> Vec<Problem> {
        self.0
    }
}

/// A value read from the config together with the path it was read at.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Located<T> {
    pub value: T,
    pub path: String,
}

/// A type that can be read from a JSON value, reporting its own problems.
pub(crate) trait FromJson: Sized {
    fn from_json(value: &Value, path: &str, problems: &mut Problems) -> Option<Self>;
}

/// A closed set of words (an enum written as a string).
pub(crate) trait Keyword: Copy + 'static {
    /// Accepted spellings, canonical first; matched case-insensitively.
    const WORDS: &'static [(&'static str, Self)];

    /// The value `word` names, if any.
    fn named(word: &str) -> Option<Self> {
        Self::WORDS
            .iter()
            .find(|(w, _)| w.eq_ignore_ascii_case(word))
            .map(|(_, v)| *v)
    }
}

/// Declares the words of an enum and makes it readable from JSON.
macro_rules! keywords {
    ($ty:ty { $($word:literal => $val:expr),+ $(,)? }) => {
        impl $crate::config::walker::Keyword for $ty {
            const WORDS: &'static [(&'static str, Self)] = &[$(($word, $val)),+];
        }
        impl $crate::config::walker::FromJson for $ty {
            fn from_json(
                value: &serde_json::Value,
                path: &str,
                problems: &mut $crate::config::walker::Problems,
            ) -> Option<Self> {
                $crate::config::walker::keyword(value, path, problems)
            }
        }
    };
}
pub(crate) use keywords;

/// Declares a string newtype whose text must satisfy a rule, readable from JSON.
macro_rules! text_type {
    ($(#[$meta:meta])* $name:ident, $expected:literal, $accept:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub(crate) struct $name(pub String);
        impl $crate::config::walker::FromJson for $name {
            fn from_json(
                value: &serde_json::Value,
                path: &str,
                problems: &mut $crate::config::walker::Problems,
            ) -> Option<Self> {
                let accept: fn(&str) -> bool = $accept;
                $crate::config::walker::convert(value, path, problems, $expected, |v| {
                    v.as_str().filter(|s| accept(s)).map(|s| $name(s.to_string()))
                })
            }
        }
    };
}
pub(crate) use text_type;

/// Reads a [`Keyword`], suggesting the closest word when the text is near one.
pub(crate) fn keyword<T: Keyword>(value: &Value, path: &str, problems: &mut Problems) -> Option<T> {
    let found = value.as_str().and_then(T::named);
    if found.is_none() {
        let words: Vec<&str> = T::WORDS.iter().map(|(w, _)| *w).collect();
        let hint = value
            .as_str()
            .map(|text| did_you_mean(text, words.iter().copied()))
            .unwrap_or_default();
        problems.invalid(
            path,
            format!(
                "expected one of: {}; got {}{hint}",
                words.join(", "),
                describe(value)
            ),
        );
    }
    found
}

/// Converts a value with `accept`, or records "expected {expected}, got {value}".
pub(crate) fn convert<T>(
    value: &Value,
    path: &str,
    problems: &mut Problems,
    expected: &str,
    accept: impl FnOnce(&Value) -> Option<T>,
) -> Option<T> {
    let out = accept(value);
    if out.is_none() {
        problems.invalid(
            path,
            format!("expected {expected}, got {}", describe(value)),
        );
    }
    out
}

/// A short rendering of a value for messages; long strings are cut.
pub(crate) fn describe(value: &Value) -> String {
    const MAX: usize = 60;
    match value {
        Value::String(s) if s.chars().count() > MAX => {
            let cut: String = s.chars().take(MAX).collect();
            format!("{:?}…", cut)
        }
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
        other => other.to_string(),
    }
}

/// The kind of a value only, for values that must never be echoed (secrets).
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Keeps one of two readings of the same setting; if both are given they must agree.
pub(crate) fn reconcile<T>(
    first: Option<Located<T>>,
    second: Option<Located<T>>,
    same: impl Fn(&T, &T) -> bool,
    problems: &mut Problems,
) -> Option<Located<T>> {
    match (first, second) {
        (Some(a), Some(b)) => {
            if !same(&a.value, &b.value) {
                problems.invalid(
                    &b.path,
                    format!(
                        "contradicts the value at {}; give this setting in one place",
                        a.path
                    ),
                );
            }
            Some(a)
        }
        (a, b) => a.or(b),
    }
}

/// A JSON object being read, with its path; unknown keys are reported when it is opened.
#[derive(Debug, Clone)]
pub(crate) struct Obj<'a> {
    path: String,
    map: &'a Map<String, Value>,
}

impl<'a> Obj<'a> {
    /// Opens `value` as an object whose keys must all be in `known`.
    pub fn open(
        value: &'a Value,
        path: &str,
        known: &[&str],
        problems: &mut Problems,
    ) -> Option<Self> {
        let Some(map) = value.as_object() else {
            problems.invalid(path, format!("expected an object, got {}", describe(value)));
            return None;
        };
        for key in map.keys().filter(|k| !known.contains(&k.as_str())) {
            problems.invalid(&child_path(path, key), unknown_key(key, known));
        }
        Some(Obj {
            path: path.to_string(),
            map,
        })
    }

    /// Opens an object whose accepted keys depend on its `tag` key (`type`, `strategy`, `rule`).
    ///
    /// Without a valid tag only the tag is reported: listing every other key as unknown
    /// would bury the one real mistake.
    pub fn open_tagged<T: Keyword + FromJson>(
        value: &'a Value,
        path: &str,
        tag: &str,
        keys_for: impl Fn(T) -> &'static [&'static str],
        problems: &mut Problems,
    ) -> Option<(T, Self)> {
        let Some(map) = value.as_object() else {
            problems.invalid(path, format!("expected an object, got {}", describe(value)));
            return None;
        };
        let tag_path = child_path(path, tag);
        let Some(tag_value) = map.get(tag).filter(|v| !v.is_null()) else {
            let words: Vec<&str> = T::WORDS.iter().map(|(w, _)| *w).collect();
            problems.invalid(
                &tag_path,
                format!(
                    "required key is missing; expected one of: {}",
                    words.join(", ")
                ),
            );
            return None;
        };
        let kind = T::from_json(tag_value, &tag_path, problems)?;
        Obj::open(value, path, keys_for(kind), problems).map(|obj| (kind, obj))
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Path of `key` inside this object.
    pub fn at(&self, key: &str) -> String {
        child_path(&self.path, key)
    }

    /// The value at `key`; `null` counts as absent, as it does in a JSON merge patch.
    pub fn value(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// True when `key` holds a value.
    pub fn has(&self, key: &str) -> bool {
        self.value(key).is_some()
    }

    /// Reads `key` as `T` if present.
    pub fn get<T: FromJson>(&self, key: &str, problems: &mut Problems) -> Option<T> {
        self.value(key)
            .and_then(|v| T::from_json(v, &self.at(key), problems))
    }

    /// `key`'s value, or `default` when the key is absent or its value is refused (the
    /// refusal is recorded in `problems`): how optional settings fall back to defaults.
    pub fn get_or<T: FromJson>(&self, key: &str, default: T, problems: &mut Problems) -> T {
        self.get(key, problems).unwrap_or(default)
    }

    /// Reads `key` as `T` if present, remembering where it was read.
    pub fn located<T: FromJson>(&self, key: &str, problems: &mut Problems) -> Option<Located<T>> {
        let path = self.at(key);
        self.get(key, problems).map(|value| Located { value, path })
    }

    /// Reads `key` as `T`; its absence is a problem that says what belongs there.
    pub fn require<T: FromJson>(
        &self,
        key: &str,
        expected: &str,
        problems: &mut Problems,
    ) -> Option<T> {
        if !self.has(key) {
            problems.invalid(
                &self.at(key),
                format!("required key is missing; expected {expected}"),
            );
            return None;
        }
        self.get(key, problems)
    }

    /// Opens the object at `key` if present.
    pub fn object(&self, key: &str, known: &[&str], problems: &mut Problems) -> Option<Obj<'a>> {
        self.value(key)
            .and_then(|v| Obj::open(v, &self.at(key), known, problems))
    }

    /// The elements of the array at `key` with their paths; absent means none.
    pub fn items(&self, key: &str, problems: &mut Problems) -> Vec<(String, &'a Value)> {
        let Some(value) = self.value(key) else {
            return Vec::new();
        };
        let path = self.at(key);
        match value.as_array() {
            Some(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (index_path(&path, i), v))
                .collect(),
            None => {
                problems.invalid(&path, format!("expected an array, got {}", describe(value)));
                Vec::new()
            }
        }
    }
}

/// "unknown key 'x'; expected one of: a, b; did you mean 'a'?"
fn unknown_key(key: &str, known: &[&str]) -> String {
    format!(
        "unknown key '{key}'; expected one of: {}{}",
        known.join(", "),
        did_you_mean(key, known.iter().copied())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Colour {
        Red,
        Green,
    }
    keywords!(Colour { "red" => Colour::Red, "green" => Colour::Green });

    fn read<T: FromJson>(value: Value) -> (Option<T>, Vec<Problem>) {
        let mut problems = Problems::default();
        let out = T::from_json(&value, "a.b", &mut problems);
        (out, problems.into_vec())
    }

    #[test]
    fn keywords_ignore_case_and_suggest() {
        assert_eq!(read::<Colour>(json!("RED")).0, Some(Colour::Red));
        let (_, problems) = read::<Colour>(json!("gren"));
        assert_eq!(
            problems[0].message,
            "expected one of: red, green; got \"gren\"; did you mean 'green'?"
        );
        let (_, problems) = read::<Colour>(json!(3));
        assert_eq!(problems[0].message, "expected one of: red, green; got 3");
    }

    #[test]
    fn unknown_keys_are_listed_with_a_suggestion() {
        let mut problems = Problems::default();
        let value = json!({"retry_stratgy": {}, "fallback": {}});
        let known = [
            "retry_strategy",
            "notification",
            "notifications",
            "fallback",
        ];
        Obj::open(&value, "error_handling", &known, &mut problems).unwrap();
        let problems = problems.into_vec();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "error_handling.retry_stratgy");
        assert_eq!(
            problems[0].message,
            "unknown key 'retry_stratgy'; expected one of: retry_strategy, notification, \
             notifications, fallback; did you mean 'retry_strategy'?"
        );
    }

    #[test]
    fn null_counts_as_absent() {
        let mut problems = Problems::default();
        let value = json!({"x": null});
        let obj = Obj::open(&value, "", &["x"], &mut problems).unwrap();
        assert!(!obj.has("x"));
        assert_eq!(obj.require::<String>("x", "a name", &mut problems), None);
        assert_eq!(
            problems.into_vec()[0].message,
            "required key is missing; expected a name"
        );
    }

    #[test]
    fn reconcile_flags_disagreement_at_the_second_path() {
        let mut problems = Problems::default();
        let at = |value: u32, path: &str| {
            Some(Located {
                value,
                path: path.to_string(),
            })
        };
        let kept = reconcile(at(1, "x"), at(1, "s.x"), |a, b| a == b, &mut problems);
        assert_eq!(kept.unwrap().value, 1);
        assert!(problems.is_empty());
        reconcile(at(1, "x"), at(2, "s.x"), |a, b| a == b, &mut problems);
        let problems = problems.into_vec();
        assert_eq!(problems[0].path, "s.x");
        assert!(problems[0].message.contains("contradicts the value at x"));
    }
}
