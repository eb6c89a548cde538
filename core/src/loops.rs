//! Loop prevention: hold a record whose fields keep bouncing between the two sides.
//!
//! Echo suppression stops hubsync from sending a change back where it came from, but it
//! cannot stop a third party from fighting it: a Salesforce flow that rewrites a field
//! hubsync just pushed, or another integration that undoes every change. Each such
//! rewrite is a real change, so without a guard the record would flip back and forth
//! forever, burning API calls. [`LoopGuard`] counts *bounces* — a field moved in one
//! direction shortly after it moved in the other — and once a record bounces more than
//! `loop_prevention.max_update_count` times within `detection_window_seconds`, holds it for
//! review with an explanation. A person editing a record many times on one side never
//! bounces, nor do two people editing different fields on the two sides.

use crate::config::LoopPrevention;
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which way a change travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// From the local table to the remote system.
    Push,
    /// From the remote system into the local table.
    Pull,
}

/// A change hubsync moved for one record: the fields (local column names) it wrote and
/// when it did so, by the worker's clock. Only real changes count: echoes already
/// filtered out by the merge must not be fed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// hubsync wrote these fields to the remote record.
    Pushed { fields: Vec<String>, at: Timestamp },
    /// hubsync wrote these fields into the local row.
    Pulled { fields: Vec<String>, at: Timestamp },
}

impl Event {
    fn parts(&self) -> (Flow, &[String], Timestamp) {
        match self {
            Event::Pushed { fields, at } => (Flow::Push, fields, *at),
            Event::Pulled { fields, at } => (Flow::Pull, fields, *at),
        }
    }
}

/// Whether the change may be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Apply the change.
    Proceed,
    /// Do not apply it; send the record to the review queue with this explanation.
    Hold { explanation: String },
}

/// A field's latest movement: direction and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Touch(Flow, Timestamp);

/// The loop-detection memory of one record, small enough to live in a jsonb column:
/// `{"last":{"status":["push",1704067200000]},"bounces":[1704067200000]}`. Everything
/// older than the detection window is forgotten, so its size is bounded by the mapped
/// fields plus `max_update_count`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoopGuard {
    /// Per field, its latest movement inside the window.
    #[serde(default)]
    last: BTreeMap<String, Touch>,
    /// When each counted bounce happened, oldest first, inside the window.
    #[serde(default)]
    bounces: Vec<Timestamp>,
}

impl LoopGuard {
    /// A guard with no history, for a record seen for the first time.
    pub fn new() -> LoopGuard {
        LoopGuard::default()
    }

    /// Decides whether `event` may be applied and, if so, remembers it. A held change is
    /// not remembered: it did not happen, and further bounces keep being held until the
    /// earlier ones leave the window or [`LoopGuard::clear`] is called.
    pub fn observe(&mut self, settings: &LoopPrevention, event: &Event) -> Verdict {
        if !settings.enabled {
            return Verdict::Proceed;
        }
        let (flow, fields, at) = event.parts();
        let window_millis = i64::from(settings.detection_window_seconds) * 1000;
        self.forget_outside(at, window_millis);
        let bounced: Vec<&str> = fields
            .iter()
            .filter(|field| self.last.get(*field).is_some_and(|touch| touch.0 != flow))
            .map(String::as_str)
            .collect();
        if !bounced.is_empty() {
            if self.bounces.len() >= settings.max_update_count as usize {
                return Verdict::Hold {
                    explanation: explain(&bounced, self.bounces.len() + 1, settings, flow, at),
                };
            }
            self.bounces.push(at);
        }
        for field in fields {
            self.last.insert(field.clone(), Touch(flow, at));
        }
        Verdict::Proceed
    }

    /// Forgets all history, e.g. once a person resolved the review item of a held record.
    pub fn clear(&mut self) {
        *self = LoopGuard::default();
    }

    /// Drops what is at least `window_millis` older than the newest time known (`at` or a
    /// later remembered one, should events arrive slightly out of order).
    fn forget_outside(&mut self, at: Timestamp, window_millis: i64) {
        let newest = self
            .last
            .values()
            .map(|touch| touch.1)
            .chain(self.bounces.iter().copied())
            .fold(at, Timestamp::max);
        let recent = |t: Timestamp| newest.millis_since(t) < window_millis;
        self.last.retain(|_, touch| recent(touch.1));
        self.bounces.retain(|t| recent(*t));
    }
}

/// Tells the reviewer what happened and what to do about it.
fn explain(
    fields: &[&str],
    count: usize,
    settings: &LoopPrevention,
    flow: Flow,
    at: Timestamp,
) -> String {
    let latest = match flow {
        Flow::Push => "a push from the local row",
        Flow::Pull => "a pull from the remote record",
    };
    format!(
        "{fields} went back and forth between the local row and the remote record {count} times \
         within {window} s (loop_prevention allows {max}); the latest, {latest} at {at}, was held. \
         Something keeps rewriting what the other side writes, such as a Salesforce flow, \
         trigger or another integration: stop it or unmap the field, then call \
         hubsync.retry(id) on this review item to resume syncing the record (hubsync.discard(id) \
         resumes it without queueing the row's values again).",
        fields = fields.join(", "),
        window = settings.detection_window_seconds,
        max = settings.max_update_count,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// The brief's settings: 60 s window, 2 bounces allowed.
    const BRIEF: LoopPrevention = LoopPrevention {
        enabled: true,
        detection_window_seconds: 60,
        max_update_count: 2,
    };

    fn fields(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    fn push(names: &[&str], second: i64) -> Event {
        Event::Pushed {
            fields: fields(names),
            at: Timestamp::from_millis(second * 1000),
        }
    }

    fn pull(names: &[&str], second: i64) -> Event {
        Event::Pulled {
            fields: fields(names),
            at: Timestamp::from_millis(second * 1000),
        }
    }

    /// Feeds `events` to a fresh guard and returns the verdicts.
    fn run(settings: &LoopPrevention, events: &[Event]) -> Vec<Verdict> {
        let mut guard = LoopGuard::new();
        events.iter().map(|e| guard.observe(settings, e)).collect()
    }

    fn held(verdicts: &[Verdict]) -> Vec<usize> {
        verdicts
            .iter()
            .enumerate()
            .filter(|(_, v)| matches!(v, Verdict::Hold { .. }))
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn repeated_edits_on_one_side_are_never_held() {
        let local: Vec<Event> = (0..20).map(|s| push(&["status"], s)).collect();
        let remote: Vec<Event> = (0..20).map(|s| pull(&["status"], s)).collect();
        assert!(held(&run(&BRIEF, &local)).is_empty());
        assert!(held(&run(&BRIEF, &remote)).is_empty());
    }

    #[test]
    fn alternating_edits_of_different_fields_are_never_held() {
        let events: Vec<Event> = (0..20)
            .map(|s| {
                if s % 2 == 0 {
                    push(&["name"], s)
                } else {
                    pull(&["phone"], s)
                }
            })
            .collect();
        assert!(held(&run(&BRIEF, &events)).is_empty());
    }

    #[test]
    fn a_field_bouncing_more_than_allowed_is_held() {
        let events = [
            push(&["status"], 0),
            pull(&["status"], 1),
            push(&["status"], 2),
            pull(&["status"], 3),
        ];
        let verdicts = run(&BRIEF, &events);
        assert_eq!(held(&verdicts), vec![3]);
        let Verdict::Hold { explanation } = &verdicts[3] else {
            unreachable!()
        };
        assert!(
            explanation.starts_with("status went back and forth"),
            "{explanation}"
        );
        assert!(explanation.contains("3 times within 60 s (loop_prevention allows 2)"));
        assert!(explanation.contains("a pull from the remote record at 1970-01-01T00:00:03.000Z"));
        assert!(explanation.contains("hubsync.retry(id)"));
    }

    #[test]
    fn a_bounce_counts_once_per_change_whatever_its_fields() {
        let events = [
            push(&["a", "b", "c"], 0),
            pull(&["a", "b"], 1),
            push(&["b", "x"], 2),
            pull(&["c"], 3),
        ];
        let verdicts = run(&BRIEF, &events);
        assert_eq!(held(&verdicts), vec![3]);
        let Verdict::Hold { explanation } = &verdicts[3] else {
            unreachable!()
        };
        assert!(explanation.starts_with("c went back"), "{explanation}");
    }

    #[test]
    fn held_changes_are_not_remembered_and_holding_lasts_while_bounces_are_recent() {
        let mut guard = LoopGuard::new();
        for event in [push(&["s"], 0), pull(&["s"], 1), push(&["s"], 2)] {
            assert_eq!(guard.observe(&BRIEF, &event), Verdict::Proceed);
        }
        let before = guard.clone();
        assert!(matches!(
            guard.observe(&BRIEF, &pull(&["s"], 3)),
            Verdict::Hold { .. }
        ));
        assert_eq!(guard, before, "a held change leaves no trace");
        assert!(matches!(
            guard.observe(&BRIEF, &pull(&["s"], 30)),
            Verdict::Hold { .. }
        ));
        // Once the first bounce (at 1 s) is out of the window, one more is allowed.
        assert_eq!(guard.observe(&BRIEF, &pull(&["s"], 61)), Verdict::Proceed);
    }

    #[test]
    fn slow_back_and_forth_outside_the_window_is_normal_editing() {
        let events: Vec<Event> = (0..10)
            .map(|i| {
                if i % 2 == 0 {
                    push(&["s"], i * 60)
                } else {
                    pull(&["s"], i * 60)
                }
            })
            .collect();
        assert!(held(&run(&BRIEF, &events)).is_empty());
    }

    #[test]
    fn the_window_excludes_its_end() {
        // 59.999 s apart still bounces; exactly 60 s apart does not.
        let mut guard = LoopGuard::new();
        let zero = LoopPrevention {
            max_update_count: 0,
            ..BRIEF
        };
        guard.observe(&zero, &push(&["s"], 0));
        let just_inside = Event::Pulled {
            fields: fields(&["s"]),
            at: Timestamp::from_millis(59_999),
        };
        assert!(matches!(
            guard.observe(&zero, &just_inside),
            Verdict::Hold { .. }
        ));
        assert_eq!(guard.observe(&zero, &pull(&["s"], 60)), Verdict::Proceed);
    }

    #[test]
    fn a_zero_limit_holds_the_first_bounce() {
        let zero = LoopPrevention {
            max_update_count: 0,
            ..BRIEF
        };
        let verdicts = run(&zero, &[push(&["s"], 0), push(&["s"], 1), pull(&["s"], 2)]);
        assert_eq!(held(&verdicts), vec![2]);
    }

    #[test]
    fn a_zero_window_never_holds() {
        let no_window = LoopPrevention {
            detection_window_seconds: 0,
            max_update_count: 0,
            ..BRIEF
        };
        let events = [push(&["s"], 0), pull(&["s"], 0), push(&["s"], 0)];
        assert!(held(&run(&no_window, &events)).is_empty());
    }

    #[test]
    fn disabled_prevention_neither_holds_nor_remembers() {
        let off = LoopPrevention {
            enabled: false,
            ..BRIEF
        };
        let mut guard = LoopGuard::new();
        for i in 0..10 {
            let event = if i % 2 == 0 {
                push(&["s"], i)
            } else {
                pull(&["s"], i)
            };
            assert_eq!(guard.observe(&off, &event), Verdict::Proceed);
        }
        assert_eq!(guard, LoopGuard::new());
    }

    #[test]
    fn changes_without_fields_change_nothing() {
        let mut guard = LoopGuard::new();
        assert_eq!(guard.observe(&BRIEF, &push(&[], 0)), Verdict::Proceed);
        assert_eq!(guard, LoopGuard::new());
    }

    #[test]
    fn clear_forgets_everything() {
        let mut guard = LoopGuard::new();
        for event in [push(&["s"], 0), pull(&["s"], 1), push(&["s"], 2)] {
            guard.observe(&BRIEF, &event);
        }
        guard.clear();
        assert_eq!(guard, LoopGuard::new());
        assert_eq!(guard.observe(&BRIEF, &pull(&["s"], 3)), Verdict::Proceed);
    }

    #[test]
    fn history_is_pruned_to_the_window() {
        let mut guard = LoopGuard::new();
        guard.observe(&BRIEF, &push(&["old"], 0));
        guard.observe(&BRIEF, &pull(&["old"], 1));
        guard.observe(&BRIEF, &push(&["new"], 100));
        assert_eq!(
            serde_json::to_value(&guard).unwrap(),
            json!({"last": {"new": ["push", 100_000]}, "bounces": []})
        );
    }

    #[test]
    fn late_events_prune_against_the_newest_time() {
        let mut guard = LoopGuard::new();
        guard.observe(&BRIEF, &push(&["s"], 100));
        // An event stamped earlier than what is remembered must not resurrect old state
        // nor panic; it is compared with the newest time.
        assert_eq!(guard.observe(&BRIEF, &pull(&["s"], 90)), Verdict::Proceed);
        assert_eq!(guard.bounces, vec![Timestamp::from_millis(90_000)]);
    }

    #[test]
    fn stores_as_compact_json_and_reads_it_back() {
        let mut guard = LoopGuard::new();
        guard.observe(&BRIEF, &push(&["status"], 1));
        guard.observe(&BRIEF, &pull(&["status"], 2));
        let stored = serde_json::to_value(&guard).unwrap();
        assert_eq!(
            stored,
            json!({"last": {"status": ["pull", 2000]}, "bounces": [2000]})
        );
        let restored: LoopGuard = serde_json::from_value(stored).unwrap();
        assert_eq!(restored, guard);
        let empty: LoopGuard = serde_json::from_value(json!({})).unwrap();
        assert_eq!(empty, LoopGuard::new());
    }

    fn event() -> impl Strategy<Value = (bool, Vec<String>, i64)> {
        (
            any::<bool>(),
            prop::collection::vec(
                prop::sample::select(vec!["a", "b", "c"]).prop_map(String::from),
                0..3,
            ),
            0..30i64,
        )
    }

    proptest! {
        #[test]
        fn one_sided_editing_is_never_held(
            flow_is_push in any::<bool>(),
            steps in prop::collection::vec(event(), 0..40),
        ) {
            let mut guard = LoopGuard::new();
            let mut second = 0;
            for (_, names, gap) in steps {
                second += gap;
                let at = Timestamp::from_millis(second * 1000);
                let event = if flow_is_push {
                    Event::Pushed { fields: names, at }
                } else {
                    Event::Pulled { fields: names, at }
                };
                prop_assert_eq!(guard.observe(&BRIEF, &event), Verdict::Proceed);
            }
        }

        #[test]
        fn memory_stays_bounded(steps in prop::collection::vec(event(), 0..60)) {
            let mut guard = LoopGuard::new();
            let mut second = 0;
            for (is_push, names, gap) in steps {
                second += gap;
                let at = Timestamp::from_millis(second * 1000);
                let event = if is_push {
                    Event::Pushed { fields: names, at }
                } else {
                    Event::Pulled { fields: names, at }
                };
                guard.observe(&BRIEF, &event);
                prop_assert!(guard.bounces.len() <= BRIEF.max_update_count as usize);
                let window = i64::from(BRIEF.detection_window_seconds) * 1000;
                let times = guard.last.values().map(|t| t.1).chain(guard.bounces.iter().copied());
                for t in times {
                    prop_assert!(at.millis_since(t) < window, "{t} kept at {at}");
                }
            }
        }
    }
}
