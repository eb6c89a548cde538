//! `sync_type`, `source_to_target` and `target_to_source` → which way changes flow.

use super::layered::Layered;
use crate::config::model::{Direction, Side};
use crate::config::walker::{keywords, Located, Problems};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SyncType {
    Bidirectional,
    OneWay,
}

keywords!(SyncType {
    "bidirectional" => SyncType::Bidirectional,
    "one_way" => SyncType::OneWay,
});

/// Which way changes flow, in remote/local terms.
///
/// Without a `sync_type` the flags decide and each defaults to true (bidirectional);
/// `one_way` defaults to source → target.
pub(super) fn read(layered: &Layered, source: Option<Side>, problems: &mut Problems) -> Direction {
    let sync_type = layered.get::<SyncType>("sync_type", problems);
    let forward = layered.get::<bool>("source_to_target", problems);
    let backward = layered.get::<bool>("target_to_source", problems);
    let (forward, backward) = match sync_type {
        Some(t) if t.value == SyncType::Bidirectional => {
            bidirectional(&t.path, [forward, backward], problems)
        }
        Some(t) => one_way(&t.path, forward, backward, problems),
        None => unspecified(forward, backward, problems),
    };
    orient(forward, backward, source.unwrap_or(Side::Remote))
}

fn bidirectional(
    type_path: &str,
    flags: [Option<Located<bool>>; 2],
    problems: &mut Problems,
) -> (bool, bool) {
    for flag in flags.into_iter().flatten().filter(|f| !f.value) {
        problems.invalid(
            &flag.path,
            format!(
                "false contradicts sync_type 'bidirectional' at {type_path}; \
                 remove it or use sync_type 'one_way'"
            ),
        );
    }
    (true, true)
}

fn one_way(
    type_path: &str,
    forward: Option<Located<bool>>,
    backward: Option<Located<bool>>,
    problems: &mut Problems,
) -> (bool, bool) {
    let f = forward.as_ref().map(|l| l.value);
    let b = backward.as_ref().map(|l| l.value);
    let f = f.unwrap_or_else(|| !b.unwrap_or(false));
    let b = b.unwrap_or(!f);
    if f == b {
        let path = backward
            .or(forward)
            .map_or_else(|| type_path.to_string(), |l| l.path);
        problems.invalid(
            &path,
            format!(
                "sync_type 'one_way' at {type_path} flows one way; set exactly one of \
                 source_to_target and target_to_source to true"
            ),
        );
    }
    (f, b)
}

fn unspecified(
    forward: Option<Located<bool>>,
    backward: Option<Located<bool>>,
    problems: &mut Problems,
) -> (bool, bool) {
    let f = forward.as_ref().is_none_or(|l| l.value);
    let b = backward.as_ref().is_none_or(|l| l.value);
    if !f && !b {
        let path = backward.map(|l| l.path).unwrap_or_default();
        problems.invalid(
            &path,
            "nothing would flow: source_to_target and target_to_source are both false",
        );
    }
    (f, b)
}

/// Source → target flow expressed as push (local → remote) and pull (remote → local).
fn orient(forward: bool, backward: bool, source: Side) -> Direction {
    match source {
        Side::Remote => Direction {
            pull: forward,
            push: backward,
        },
        Side::Local => Direction {
            push: forward,
            pull: backward,
        },
    }
}
