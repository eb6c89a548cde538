//! Settings the brief writes either at the top level or inside `sync_settings`.
//!
//! `sync_type` and `conflict_resolution` appear in both places in the brief; a config that
//! combines its blocks may carry both. Either place works; if both are given they must agree.

use crate::config::walker::{reconcile, FromJson, Located, Obj, Problems};
use serde_json::Value;

/// Keys accepted both at the top level and inside `sync_settings`.
pub(super) const LAYERED_KEYS: &[&str] = &[
    "sync_type",
    "source_to_target",
    "target_to_source",
    "initial_sync",
    "ongoing_sync",
    "conflict_resolution",
    "natural_key",
];

/// The top level and `sync_settings`, read as one.
pub(super) struct Layered<'a> {
    top: Obj<'a>,
    nested: Option<Obj<'a>>,
}

impl<'a> Layered<'a> {
    /// Opens `sync_settings` under `root`.
    pub fn open(root: &Obj<'a>, problems: &mut Problems) -> Self {
        Layered {
            top: root.clone(),
            nested: root.object("sync_settings", LAYERED_KEYS, problems),
        }
    }

    /// Reads `key` as `T` from wherever it is given.
    pub fn get<T: FromJson + PartialEq>(
        &self,
        key: &str,
        problems: &mut Problems,
    ) -> Option<Located<T>> {
        self.read(key, problems, T::from_json, |a: &T, b: &T| a == b)
    }

    /// Reads `key` with `read` from both places; `same` decides whether two readings agree.
    pub fn read<T>(
        &self,
        key: &str,
        problems: &mut Problems,
        read: impl Fn(&Value, &str, &mut Problems) -> Option<T>,
        same: impl Fn(&T, &T) -> bool,
    ) -> Option<Located<T>> {
        let mut at = |obj: &Obj<'a>| {
            let path = obj.at(key);
            let value = read(obj.value(key)?, &path, problems)?;
            Some(Located { value, path })
        };
        let top = at(&self.top);
        let nested = self.nested.as_ref().and_then(&mut at);
        reconcile(top, nested, same, problems)
    }
}
