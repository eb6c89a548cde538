//! Field-level three-way merge of a record changed on both sides, and the conflict verdict.
//!
//! hubsync keeps, per synced record, the values both sides last agreed on (the base).
//! When a change arrives from one side while the other side has changes of its own, each
//! field is compared with the base: a field changed on one side only simply flows to the
//! other; a field changed on both sides to values that disagree is a conflict, decided by
//! the sync's [`ConflictPolicy`]. Everything here works on values already mapped into one
//! space (local column → JSON value), so "changed" means the same thing on both sides.

use crate::coalesce::Values;
use crate::config::{ConflictPolicy, Priority, Side, SystemKind};
use crate::timestamp::Timestamp;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The spoke whose sync wrote a value into the hub table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writer {
    pub system: SystemKind,
    /// The sync's connection (one account of the system).
    pub connection: String,
}

/// Provenance of the local side's pending values: for each column, the spoke that wrote it
/// into the hub table. A column missing here was written locally (an app, a person,
/// `hubsync.resolve`).
pub type Writers = BTreeMap<String, Writer>;

/// The provenance of a series of local changes, oldest first: each change's columns were
/// written by its spoke (`None`: a local write), and a later change overrides an earlier.
pub fn writers<'a>(changes: impl IntoIterator<Item = (&'a Values, Option<&'a Writer>)>) -> Writers {
    let mut writers = Writers::new();
    for (values, writer) in changes {
        for column in values.keys() {
            match writer {
                Some(writer) => writers.insert(column.clone(), writer.clone()),
                None => writers.remove(column),
            };
        }
    }
    writers
}

/// The three versions of one record, and when each side last changed it.
///
/// A field missing from `local` or `remote` is unchanged on that side (outbox updates and
/// CDC events carry only changed fields). A field missing from `base` has never been
/// agreed, so any value a side holds for it counts as a change.
#[derive(Debug, Clone, Copy)]
pub struct Versions<'a> {
    /// Values both sides last agreed on.
    pub base: &'a Values,
    /// The local side's current values (of the pending change or the row).
    pub local: &'a Values,
    /// The remote side's current values, mapped to local columns.
    pub remote: &'a Values,
    /// When the local side changed: the mapped local timestamp column's value if the
    /// policy names one, else the local change's commit time ([`local_change_time`]).
    pub local_time: Option<Timestamp>,
    /// When the remote side changed: the record's `timestamp_field` (`LastModifiedDate`).
    pub remote_time: Option<Timestamp>,
    /// Which spoke wrote each pending local value (see [`writers`]).
    pub local_writers: &'a Writers,
}

/// One field changed on both sides to values that disagree; a row of `hubsync.conflicts`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictRecord {
    /// Local column name.
    pub field: String,
    /// The local side's value.
    pub local: Value,
    /// The remote side's value.
    pub remote: Value,
    /// The last agreed value; `None` when the field was never synced.
    pub base: Option<Value>,
    /// The side whose value was kept; `None` when the record was held for review and
    /// nothing was applied.
    pub winner: Option<Side>,
    /// Which rule decided, in words, e.g. `last_write_wins: remote changed later`.
    pub rule: String,
}

/// Both versions of a record no rule could merge, for the review queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    /// What the local side reported.
    pub local: Values,
    /// What the remote side reported.
    pub remote: Values,
}

/// What to do after comparing a record's versions.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeVerdict {
    /// Values to write into the local row.
    pub to_local: Values,
    /// Values to send to the remote record.
    pub to_remote: Values,
    /// The values both sides agree on once the writes above are done.
    pub base: Values,
    /// Every field changed on both sides to disagreeing values.
    pub conflicts: Vec<ConflictRecord>,
    /// Set when the record is held for a person: then nothing is written and the base is
    /// unchanged. A record with any conflict that no rule decides is held whole, because
    /// merging part of it would leave the reviewer comparing against a moving target.
    pub review: Option<Review>,
}

impl MergeVerdict {
    /// True when neither side needs a write: e.g. a remote change that only echoes what
    /// hubsync pushed.
    pub fn is_noop(&self) -> bool {
        self.to_local.is_empty() && self.to_remote.is_empty() && self.review.is_none()
    }
}

/// Picks the time that [`Versions::local_time`] should carry: the local timestamp column's
/// value when the policy names such a column and it holds a readable datetime, else the
/// commit time of the local change.
pub fn local_change_time(column_value: Option<&Value>, commit_time: Timestamp) -> Timestamp {
    column_value
        .and_then(Value::as_str)
        .and_then(Timestamp::parse)
        .unwrap_or(commit_time)
}

/// One local change not pushed yet, as the outbox holds it.
#[derive(Debug, Clone, Copy)]
pub struct PendingChange<'a> {
    /// The values it wrote.
    pub new: &'a Values,
    /// The values it replaced (updates only).
    pub old: Option<&'a Values>,
    /// When its statement ran.
    pub at: Timestamp,
    /// The spoke whose sync wrote it (`None`: a local write).
    pub writer: Option<&'a Writer>,
}

/// The local side of a merge, built the same way wherever a merge runs (applying a pull,
/// checking an update before it is sent).
#[derive(Debug, Clone, PartialEq)]
pub struct LocalSide {
    /// The last agreed values, completed by the pending changes' old values for fields
    /// never agreed (what the field held before the local change is its base).
    pub base: Values,
    /// The pending changes' values, later ones winning.
    pub local: Values,
    /// When the local side changed (see [`local_change_time`]); `None` without changes.
    pub time: Option<Timestamp>,
    /// Who wrote each pending value.
    pub writers: Writers,
}

/// The local side of a record whose agreed values are `agreed` and whose pending changes
/// are `changes`, oldest first.
pub fn local_side(
    policy: &ConflictPolicy,
    agreed: &Values,
    changes: &[PendingChange],
) -> LocalSide {
    let mut base = agreed.clone();
    let mut local = Values::new();
    for change in changes {
        for (column, old) in change.old.into_iter().flatten() {
            base.entry(column.clone()).or_insert_with(|| old.clone());
        }
        local.extend(change.new.clone());
    }
    let time = changes.iter().map(|c| c.at).max().map(|commit| {
        let column = policy.local_timestamp_column().and_then(|c| local.get(c));
        local_change_time(column, commit)
    });
    let writers = writers(changes.iter().map(|c| (c.new, c.writer)));
    LocalSide {
        base,
        local,
        time,
        writers,
    }
}

/// Merges the record's versions field by field and decides conflicts per `policy`.
///
/// `agree(column, a, b)` says whether two values mean the same (e.g. phone numbers equal
/// modulo formatting); it must be symmetric. A side whose value agrees with the base has
/// not changed that field, which is also what makes an echo of hubsync's own push (the
/// remote now holds what the base says) a non-change. When both sides made the same change
/// (values that agree), nothing is written and the base takes the local spelling.
pub fn merge<F>(policy: &ConflictPolicy, versions: &Versions<'_>, agree: F) -> MergeVerdict
where
    F: Fn(&str, &Value, &Value) -> bool,
{
    let mut verdict = MergeVerdict {
        to_local: Values::new(),
        to_remote: Values::new(),
        base: versions.base.clone(),
        conflicts: Vec::new(),
        review: None,
    };
    let mut held = false;
    for field in all_fields(versions) {
        let base = versions.base.get(field);
        let changed = |value: &&Value| base.is_none_or(|b| !agree(field, value, b));
        let local = versions.local.get(field).filter(changed);
        let remote = versions.remote.get(field).filter(changed);
        match (local, remote) {
            (None, None) => {}
            (Some(l), None) => verdict.take(field, l, Side::Local),
            (None, Some(r)) => verdict.take(field, r, Side::Remote),
            (Some(l), Some(r)) if agree(field, l, r) => {
                verdict.base.insert(field.to_owned(), l.clone());
            }
            (Some(l), Some(r)) => {
                let decision = decide(policy, field, versions);
                held |= decision.winner.is_none();
                if let Some(winner) = decision.winner {
                    let value = if winner == Side::Local { l } else { r };
                    verdict.take(field, value, winner);
                }
                verdict.conflicts.push(ConflictRecord {
                    field: field.to_owned(),
                    local: l.clone(),
                    remote: r.clone(),
                    base: base.cloned(),
                    winner: decision.winner,
                    rule: decision.rule,
                });
            }
        }
    }
    if held {
        verdict.hold(versions);
    }
    verdict
}

impl MergeVerdict {
    /// Keeps `value`, which `from` holds, on both sides: the other side gets it written.
    fn take(&mut self, field: &str, value: &Value, from: Side) {
        let target = match from {
            Side::Local => &mut self.to_remote,
            Side::Remote => &mut self.to_local,
        };
        target.insert(field.to_owned(), value.clone());
        self.base.insert(field.to_owned(), value.clone());
    }

    /// Undoes every write and parks both versions for a person.
    fn hold(&mut self, versions: &Versions<'_>) {
        self.to_local.clear();
        self.to_remote.clear();
        self.base = versions.base.clone();
        for conflict in &mut self.conflicts {
            conflict.winner = None;
        }
        self.review = Some(Review {
            local: versions.local.clone(),
            remote: versions.remote.clone(),
        });
    }
}

/// Every field any version mentions, in a stable order.
fn all_fields<'a>(versions: &Versions<'a>) -> BTreeSet<&'a str> {
    [versions.base, versions.local, versions.remote]
        .into_iter()
        .flat_map(|values| values.keys().map(String::as_str))
        .collect()
}

/// How one conflicting field is settled.
struct Decision {
    /// `None`: a person decides.
    winner: Option<Side>,
    rule: String,
}

/// Applies `policy` to one conflicting field.
fn decide(policy: &ConflictPolicy, field: &str, versions: &Versions<'_>) -> Decision {
    match policy {
        ConflictPolicy::LastWriteWins { .. } => later_change("last_write_wins", versions),
        ConflictPolicy::FieldLevelPriority { rules, default } => {
            match rules.iter().find(|rule| rule.local == field) {
                Some(rule) => match rule.priority.clone() {
                    Priority::Side(side) => Decision {
                        winner: Some(side),
                        rule: format!("field_level_priority: {} wins {field}", side_name(side)),
                    },
                    Priority::LastUpdated => {
                        later_change("field_level_priority: last_updated", versions)
                    }
                    Priority::System(system) => {
                        spoke_wins(system.label(), |w| w.system == system, field, versions)
                    }
                    Priority::Connection(ref name) => spoke_wins(
                        &format!("connection {name}"),
                        |w| w.connection == *name,
                        field,
                        versions,
                    ),
                },
                None => decide(default, field, versions),
            }
        }
        ConflictPolicy::SideWins { side } => Decision {
            winner: Some(*side),
            rule: format!("{}_wins", side_name(*side)),
        },
        ConflictPolicy::Manual => Decision {
            winner: None,
            rule: "manual: held for review".to_owned(),
        },
    }
}

/// A rule naming another spoke: the local value wins where that spoke wrote it; otherwise
/// the spoke is on neither side and the later change wins.
fn spoke_wins(
    spoke: &str,
    wrote: impl Fn(&Writer) -> bool,
    field: &str,
    versions: &Versions<'_>,
) -> Decision {
    if versions.local_writers.get(field).is_some_and(wrote) {
        return Decision {
            winner: Some(Side::Local),
            rule: format!("field_level_priority: {spoke} wins {field} and wrote the local value"),
        };
    }
    later_change(
        &format!(
            "field_level_priority: {spoke} wins {field} but is on neither side, so last_updated"
        ),
        versions,
    )
}

/// The side that changed later wins. An exact tie goes to the remote side (Salesforce
/// is usually the system of record for CRM data, and the choice must be the same every
/// time); a side whose time is unknown loses to one whose time is known.
fn later_change(rule: &str, versions: &Versions<'_>) -> Decision {
    let (winner, why) = match (versions.local_time, versions.remote_time) {
        (Some(local), Some(remote)) if local > remote => (Side::Local, "local changed later"),
        (Some(local), Some(remote)) if local < remote => (Side::Remote, "remote changed later"),
        (Some(_), Some(_)) => (Side::Remote, "same time, remote wins ties"),
        (Some(_), None) => (Side::Local, "remote time unknown"),
        (None, Some(_)) => (Side::Remote, "local time unknown"),
        (None, None) => (Side::Remote, "no times known, remote wins ties"),
    };
    Decision {
        winner: Some(winner),
        rule: format!("{rule}: {why}"),
    }
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Local => "local",
        Side::Remote => "remote",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coalesce::tests::values;
    use crate::config::FieldRule;
    use proptest::prelude::*;
    use serde_json::json;

    fn exact(_: &str, a: &Value, b: &Value) -> bool {
        a == b
    }

    /// Texts agree ignoring case and spaces, standing in for phone-number formatting.
    fn loose(_: &str, a: &Value, b: &Value) -> bool {
        let norm = |v: &Value| match v {
            Value::String(s) => Value::String(s.to_lowercase().replace(' ', "")),
            other => other.clone(),
        };
        norm(a) == norm(b)
    }

    fn lww() -> ConflictPolicy {
        ConflictPolicy::LastWriteWins {
            timestamp_field: "LastModifiedDate".into(),
            local_timestamp_column: None,
        }
    }

    fn at(millis: i64) -> Option<Timestamp> {
        Some(Timestamp::from_millis(millis))
    }

    #[derive(Debug, Clone)]
    struct Case {
        base: Values,
        local: Values,
        remote: Values,
        local_time: Option<Timestamp>,
        remote_time: Option<Timestamp>,
        writers: Writers,
    }

    impl Case {
        fn new(base: &[(&str, Value)], local: &[(&str, Value)], remote: &[(&str, Value)]) -> Case {
            Case {
                base: values(base),
                local: values(local),
                remote: values(remote),
                local_time: at(1_000),
                remote_time: at(2_000),
                writers: Writers::new(),
            }
        }

        fn times(mut self, local: Option<Timestamp>, remote: Option<Timestamp>) -> Case {
            self.local_time = local;
            self.remote_time = remote;
            self
        }

        fn versions(&self) -> Versions<'_> {
            Versions {
                base: &self.base,
                local: &self.local,
                remote: &self.remote,
                local_time: self.local_time,
                remote_time: self.remote_time,
                local_writers: &self.writers,
            }
        }

        fn merge(&self, policy: &ConflictPolicy) -> MergeVerdict {
            merge(policy, &self.versions(), exact)
        }
    }

    #[test]
    fn one_sided_changes_merge_both_ways() {
        let case = Case::new(
            &[
                ("name", json!("A")),
                ("phone", json!("1")),
                ("city", json!("X")),
            ],
            &[("name", json!("B"))],
            &[("phone", json!("2"))],
        );
        let verdict = case.merge(&ConflictPolicy::Manual);
        assert_eq!(verdict.to_remote, values(&[("name", json!("B"))]));
        assert_eq!(verdict.to_local, values(&[("phone", json!("2"))]));
        assert_eq!(
            verdict.base,
            values(&[
                ("city", json!("X")),
                ("name", json!("B")),
                ("phone", json!("2"))
            ])
        );
        assert!(verdict.conflicts.is_empty());
        assert!(verdict.review.is_none());
    }

    #[test]
    fn an_echo_of_our_own_push_is_not_a_change() {
        // hubsync pushed name=B; the base says B; Salesforce now reports B back.
        let case = Case::new(
            &[("name", json!("B")), ("industry", json!(null))],
            &[("industry", json!("Tech"))],
            &[("name", json!("B")), ("industry", json!(null))],
        );
        let verdict = case.merge(&lww());
        assert!(verdict.to_local.is_empty());
        assert_eq!(verdict.to_remote, values(&[("industry", json!("Tech"))]));
        assert!(verdict.conflicts.is_empty());

        let echo_only = Case::new(&[("name", json!("B"))], &[], &[("name", json!("B"))]);
        assert!(echo_only.merge(&lww()).is_noop());
    }

    #[test]
    fn both_sides_making_the_same_change_is_no_conflict() {
        let case = Case::new(
            &[("phone", json!("555 1234"))],
            &[("phone", json!("+1 555 9999"))],
            &[("phone", json!("+15559999"))],
        );
        let verdict = merge(&ConflictPolicy::Manual, &case.versions(), loose);
        assert!(verdict.conflicts.is_empty());
        assert!(verdict.is_noop());
        assert_eq!(verdict.base, values(&[("phone", json!("+1 555 9999"))]));
    }

    #[test]
    fn values_agreeing_with_the_base_modulo_format_are_unchanged() {
        let case = Case::new(
            &[("phone", json!("+15551234"))],
            &[("phone", json!("+1 555 1234"))],
            &[("phone", json!("+15557777"))],
        );
        let verdict = merge(&lww(), &case.versions(), loose);
        assert!(verdict.conflicts.is_empty());
        assert_eq!(verdict.to_local, values(&[("phone", json!("+15557777"))]));
    }

    #[test]
    fn last_write_wins_keeps_the_later_side() {
        let case = Case::new(
            &[("name", json!("A"))],
            &[("name", json!("L"))],
            &[("name", json!("R"))],
        );
        let remote_later = case.merge(&lww());
        assert_eq!(remote_later.to_local, values(&[("name", json!("R"))]));
        assert!(remote_later.to_remote.is_empty());
        assert_eq!(
            remote_later.conflicts,
            vec![ConflictRecord {
                field: "name".into(),
                local: json!("L"),
                remote: json!("R"),
                base: Some(json!("A")),
                winner: Some(Side::Remote),
                rule: "last_write_wins: remote changed later".into(),
            }]
        );

        let local_later = case.times(at(3_000), at(2_000)).merge(&lww());
        assert_eq!(local_later.to_remote, values(&[("name", json!("L"))]));
        assert_eq!(local_later.base, values(&[("name", json!("L"))]));
        assert_eq!(local_later.conflicts[0].winner, Some(Side::Local));
    }

    #[test]
    fn last_write_wins_ties_and_unknown_times_are_deterministic() {
        let case = || {
            Case::new(
                &[("name", json!("A"))],
                &[("name", json!("L"))],
                &[("name", json!("R"))],
            )
        };
        let winner = |local, remote| case().times(local, remote).merge(&lww()).conflicts[0].winner;
        assert_eq!(winner(at(5), at(5)), Some(Side::Remote));
        assert_eq!(winner(None, None), Some(Side::Remote));
        assert_eq!(winner(at(5), None), Some(Side::Local));
        assert_eq!(winner(None, at(5)), Some(Side::Remote));
        let tie = case().times(at(5), at(5)).merge(&lww());
        assert_eq!(
            tie.conflicts[0].rule,
            "last_write_wins: same time, remote wins ties"
        );
    }

    #[test]
    fn side_wins_ignores_time() {
        let case = Case::new(
            &[("name", json!("A"))],
            &[("name", json!("L"))],
            &[("name", json!("R"))],
        )
        .times(at(1), at(999));
        let verdict = case.merge(&ConflictPolicy::SideWins { side: Side::Local });
        assert_eq!(verdict.to_remote, values(&[("name", json!("L"))]));
        assert_eq!(verdict.conflicts[0].rule, "local_wins");
    }

    #[test]
    fn a_rule_naming_another_spoke_keeps_the_value_that_spoke_wrote() {
        let policy = ConflictPolicy::FieldLevelPriority {
            rules: vec![FieldRule {
                path: String::new(),
                local: "billing_address".into(),
                priority: Priority::System(SystemKind::Netsuite),
            }],
            default: Box::new(ConflictPolicy::SideWins { side: Side::Remote }),
        };
        let mut case = Case::new(
            &[("billing_address", json!("base"))],
            &[("billing_address", json!("from NetSuite"))],
            &[("billing_address", json!("from Salesforce"))],
        )
        .times(at(10), at(20));
        case.writers
            .insert("billing_address".into(), writer(SystemKind::Netsuite, "ns"));
        let verdict = case.merge(&policy);
        assert_eq!(verdict.conflicts[0].winner, Some(Side::Local));
        assert!(verdict.conflicts[0]
            .rule
            .contains("NetSuite wins billing_address"));
        assert_eq!(
            verdict.to_remote,
            values(&[("billing_address", json!("from NetSuite"))])
        );

        // Written by a third spoke (or locally): NetSuite is on neither side, the later wins.
        case.writers
            .insert("billing_address".into(), writer(SystemKind::Zendesk, "zd"));
        let verdict = case.merge(&policy);
        assert_eq!(verdict.conflicts[0].winner, Some(Side::Remote));
        assert!(verdict.conflicts[0].rule.contains("last_updated"));
        case.writers.clear();
        let verdict = case.times(at(30), at(20)).merge(&policy);
        assert_eq!(verdict.conflicts[0].winner, Some(Side::Local));
    }

    fn writer(system: SystemKind, connection: &str) -> Writer {
        Writer {
            system,
            connection: connection.into(),
        }
    }

    #[test]
    fn a_rule_naming_a_connection_tells_two_accounts_of_one_system_apart() {
        let policy = ConflictPolicy::FieldLevelPriority {
            rules: vec![FieldRule {
                path: String::new(),
                local: "industry".into(),
                priority: Priority::Connection("Org_B".into()),
            }],
            default: Box::new(ConflictPolicy::SideWins { side: Side::Remote }),
        };
        let mut case = Case::new(
            &[("industry", json!("base"))],
            &[("industry", json!("B"))],
            &[("industry", json!("A"))],
        )
        .times(at(10), at(20));
        case.writers
            .insert("industry".into(), writer(SystemKind::Salesforce, "Org_B"));
        assert_eq!(case.merge(&policy).conflicts[0].winner, Some(Side::Local));
        case.writers
            .insert("industry".into(), writer(SystemKind::Salesforce, "Org_C"));
        assert_eq!(case.merge(&policy).conflicts[0].winner, Some(Side::Remote));
    }

    #[test]
    fn the_local_side_completes_the_base_and_takes_the_newest_change() {
        let policy = ConflictPolicy::LastWriteWins {
            timestamp_field: "LastModifiedDate".into(),
            local_timestamp_column: Some("edited_at".into()),
        };
        let agreed = values(&[("name", json!("A"))]);
        let (first_new, first_old) = (
            values(&[("name", json!("B")), ("phone", json!("1"))]),
            values(&[("name", json!("A")), ("phone", json!("0"))]),
        );
        let second_new = values(&[("name", json!("C"))]);
        let sf = writer(SystemKind::Salesforce, "sf");
        let side = local_side(
            &policy,
            &agreed,
            &[
                PendingChange {
                    new: &first_new,
                    old: Some(&first_old),
                    at: Timestamp::from_millis(1_000),
                    writer: None,
                },
                PendingChange {
                    new: &second_new,
                    old: None,
                    at: Timestamp::from_millis(2_000),
                    writer: Some(&sf),
                },
            ],
        );
        assert_eq!(
            side.base,
            values(&[("name", json!("A")), ("phone", json!("0"))])
        );
        assert_eq!(
            side.local,
            values(&[("name", json!("C")), ("phone", json!("1"))])
        );
        assert_eq!(side.time, Some(Timestamp::from_millis(2_000)));
        assert_eq!(side.writers.get("name"), Some(&sf));
        assert_eq!(side.writers.get("phone"), None);
        assert_eq!(local_side(&policy, &agreed, &[]).time, None);
    }

    #[test]
    fn the_latest_change_of_a_column_says_who_wrote_it() {
        let pulled = values(&[("email", json!("a")), ("phone", json!("1"))]);
        let typed = values(&[("phone", json!("2"))]);
        let relayed = values(&[("name", json!("n"))]);
        let (sf, zd) = (
            writer(SystemKind::Salesforce, "sf"),
            writer(SystemKind::Zendesk, "zd"),
        );
        let w = writers([(&pulled, Some(&sf)), (&typed, None), (&relayed, Some(&zd))]);
        assert_eq!(w.get("email"), Some(&sf));
        assert_eq!(w.get("phone"), None, "a local write after the pull");
        assert_eq!(w.get("name"), Some(&zd));
    }

    #[test]
    fn field_level_priority_applies_rules_per_field_and_defaults_the_rest() {
        let policy = ConflictPolicy::FieldLevelPriority {
            rules: vec![
                FieldRule {
                    path: String::new(),
                    local: "email".into(),
                    priority: Priority::Side(Side::Remote),
                },
                FieldRule {
                    path: String::new(),
                    local: "billing_address".into(),
                    priority: Priority::Side(Side::Local),
                },
                FieldRule {
                    path: String::new(),
                    local: "phone".into(),
                    priority: Priority::LastUpdated,
                },
            ],
            default: Box::new(ConflictPolicy::SideWins { side: Side::Local }),
        };
        let version = |v: &str| {
            vec![
                ("email", json!(format!("{v}@x"))),
                ("billing_address", json!(v)),
                ("phone", json!(v)),
                ("name", json!(v)),
                ("untouched", json!("same")),
            ]
        };
        let case =
            Case::new(&version("base"), &version("loc"), &version("rem")).times(at(10), at(20));
        let verdict = case.merge(&policy);
        let winners: Vec<(&str, Option<Side>, &str)> = verdict
            .conflicts
            .iter()
            .map(|c| (c.field.as_str(), c.winner, c.rule.as_str()))
            .collect();
        assert_eq!(
            winners,
            vec![
                (
                    "billing_address",
                    Some(Side::Local),
                    "field_level_priority: local wins billing_address"
                ),
                (
                    "email",
                    Some(Side::Remote),
                    "field_level_priority: remote wins email"
                ),
                ("name", Some(Side::Local), "local_wins"),
                (
                    "phone",
                    Some(Side::Remote),
                    "field_level_priority: last_updated: remote changed later"
                ),
            ]
        );
        assert_eq!(
            verdict.to_local,
            values(&[("email", json!("rem@x")), ("phone", json!("rem"))])
        );
        assert_eq!(
            verdict.to_remote,
            values(&[("billing_address", json!("loc")), ("name", json!("loc"))])
        );
    }

    #[test]
    fn manual_holds_the_whole_record_with_both_versions() {
        let case = Case::new(
            &[("name", json!("A")), ("phone", json!("1"))],
            &[("name", json!("L")), ("city", json!("Paris"))],
            &[("name", json!("R"))],
        );
        let verdict = case.merge(&ConflictPolicy::Manual);
        assert!(verdict.to_local.is_empty());
        assert!(
            verdict.to_remote.is_empty(),
            "the one-sided city change waits too"
        );
        assert_eq!(verdict.base, case.base);
        assert_eq!(
            verdict.review,
            Some(Review {
                local: case.local.clone(),
                remote: case.remote.clone()
            })
        );
        assert_eq!(verdict.conflicts.len(), 1);
        assert_eq!(verdict.conflicts[0].winner, None);
        assert_eq!(verdict.conflicts[0].rule, "manual: held for review");
    }

    #[test]
    fn a_manual_default_holds_even_fields_with_rules() {
        let policy = ConflictPolicy::FieldLevelPriority {
            rules: vec![FieldRule {
                path: String::new(),
                local: "email".into(),
                priority: Priority::Side(Side::Remote),
            }],
            default: Box::new(ConflictPolicy::Manual),
        };
        let case = Case::new(
            &[("email", json!("a")), ("name", json!("a"))],
            &[("email", json!("l")), ("name", json!("l"))],
            &[("email", json!("r")), ("name", json!("r"))],
        );
        let verdict = case.merge(&policy);
        assert!(verdict.review.is_some());
        assert!(verdict.to_local.is_empty());
        assert!(verdict.conflicts.iter().all(|c| c.winner.is_none()));
        assert_eq!(
            verdict.conflicts[0].rule,
            "field_level_priority: remote wins email"
        );
    }

    #[test]
    fn manual_merges_records_without_conflicts() {
        let case = Case::new(&[("name", json!("A"))], &[], &[("name", json!("R"))]);
        let verdict = case.merge(&ConflictPolicy::Manual);
        assert!(verdict.review.is_none());
        assert_eq!(verdict.to_local, values(&[("name", json!("R"))]));
    }

    #[test]
    fn fields_never_synced_count_as_changed() {
        let case = Case::new(&[], &[("name", json!("L"))], &[("name", json!("R"))]);
        let verdict = case.merge(&ConflictPolicy::SideWins { side: Side::Remote });
        assert_eq!(verdict.conflicts[0].base, None);
        assert_eq!(verdict.to_local, values(&[("name", json!("R"))]));

        let first_pull = Case::new(&[], &[], &[("name", json!("R")), ("phone", json!(null))]);
        let verdict = first_pull.merge(&lww());
        assert_eq!(verdict.to_local, first_pull.remote);
        assert_eq!(verdict.base, first_pull.remote);
    }

    #[test]
    fn nulls_are_values_like_any_other() {
        let case = Case::new(&[("phone", json!("1"))], &[("phone", json!(null))], &[]);
        let verdict = case.merge(&lww());
        assert_eq!(verdict.to_remote, values(&[("phone", json!(null))]));
    }

    #[test]
    fn empty_versions_merge_to_nothing() {
        let verdict = Case::new(&[], &[], &[]).merge(&ConflictPolicy::Manual);
        assert!(verdict.is_noop());
        assert!(verdict.base.is_empty());
    }

    #[test]
    fn local_change_time_prefers_a_readable_column_value() {
        let commit = Timestamp::from_millis(42);
        let column = json!("2024-01-01T12:00:00.000+0000");
        assert_eq!(
            local_change_time(Some(&column), commit),
            Timestamp::from_millis(1_704_110_400_000)
        );
        assert_eq!(local_change_time(Some(&json!("garbage")), commit), commit);
        assert_eq!(local_change_time(Some(&json!(null)), commit), commit);
        assert_eq!(local_change_time(None, commit), commit);
    }

    // ---- properties ----

    fn small_values() -> impl Strategy<Value = Values> {
        let value = prop::sample::select(vec![
            json!(null),
            json!("x"),
            json!("X"),
            json!("y"),
            json!(" y"),
            json!(1),
        ]);
        prop::collection::btree_map(
            prop::sample::select(vec!["a", "b", "c", "d"]).prop_map(String::from),
            value,
            0..=4,
        )
    }

    fn side() -> impl Strategy<Value = Side> {
        prop_oneof![Just(Side::Local), Just(Side::Remote)]
    }

    fn automatic_policy() -> impl Strategy<Value = ConflictPolicy> {
        let leaf = prop_oneof![
            Just(lww()),
            side().prop_map(|side| ConflictPolicy::SideWins { side }),
        ];
        let rule = (
            prop::sample::select(vec!["a", "b", "c", "d"]),
            prop_oneof![side().prop_map(Priority::Side), Just(Priority::LastUpdated)],
        )
            .prop_map(|(local, priority)| FieldRule {
                path: String::new(),
                local: local.into(),
                priority,
            });
        prop_oneof![
            leaf.clone(),
            (prop::collection::vec(rule, 0..4), leaf).prop_map(|(rules, default)| {
                ConflictPolicy::FieldLevelPriority {
                    rules,
                    default: Box::new(default),
                }
            }),
        ]
    }

    fn any_policy() -> impl Strategy<Value = ConflictPolicy> {
        prop_oneof![4 => automatic_policy(), 1 => Just(ConflictPolicy::Manual)]
    }

    fn time() -> impl Strategy<Value = Option<Timestamp>> {
        prop::option::of((0..3i64).prop_map(Timestamp::from_millis))
    }

    fn case() -> impl Strategy<Value = Case> {
        (
            small_values(),
            small_values(),
            small_values(),
            time(),
            time(),
        )
            .prop_map(|(base, local, remote, local_time, remote_time)| Case {
                base,
                local,
                remote,
                local_time,
                remote_time,
                writers: Writers::new(),
            })
    }

    /// A side's value of `field` after the verdict's writes: written, else reported, else base.
    fn after<'a>(
        written: &'a Values,
        reported: &'a Values,
        base: &'a Values,
        field: &str,
    ) -> Option<&'a Value> {
        written
            .get(field)
            .or_else(|| reported.get(field))
            .or_else(|| base.get(field))
    }

    proptest! {
        #[test]
        fn merging_converges(case in case(), policy in automatic_policy()) {
            let verdict = merge(&policy, &case.versions(), loose);
            prop_assert!(verdict.review.is_none());
            for field in all_fields(&case.versions()) {
                let local = after(&verdict.to_local, &case.local, &case.base, field);
                let remote = after(&verdict.to_remote, &case.remote, &case.base, field);
                let base = verdict.base.get(field);
                let agree = |a: Option<&Value>, b: Option<&Value>| match (a, b) {
                    (Some(a), Some(b)) => loose(field, a, b),
                    (a, b) => a == b,
                };
                prop_assert!(agree(local, remote), "{field}: {local:?} vs {remote:?}");
                prop_assert!(agree(base, local), "{field}: base {base:?} vs {local:?}");
            }
        }

        #[test]
        fn merging_only_ever_copies_the_other_sides_values(case in case(), policy in any_policy()) {
            let verdict = merge(&policy, &case.versions(), loose);
            for (field, value) in &verdict.to_local {
                prop_assert_eq!(case.remote.get(field), Some(value));
            }
            for (field, value) in &verdict.to_remote {
                prop_assert_eq!(case.local.get(field), Some(value));
            }
        }

        #[test]
        fn merging_is_deterministic(case in case(), policy in any_policy()) {
            let first = merge(&policy, &case.versions(), loose);
            let second = merge(&policy.clone(), &case.versions(), loose);
            prop_assert_eq!(first, second);
        }

        #[test]
        fn a_held_record_writes_nothing(case in case()) {
            let verdict = merge(&ConflictPolicy::Manual, &case.versions(), loose);
            prop_assert_eq!(verdict.review.is_some(), !verdict.conflicts.is_empty());
            if verdict.review.is_some() {
                prop_assert!(verdict.to_local.is_empty() && verdict.to_remote.is_empty());
                prop_assert_eq!(&verdict.base, &case.base);
            }
        }

        #[test]
        fn swapping_sides_mirrors_the_verdict(case in case(), winner in side()) {
            let policy = ConflictPolicy::SideWins { side: winner };
            let mirrored_policy = ConflictPolicy::SideWins { side: winner.other() };
            let verdict = merge(&policy, &case.versions(), loose);
            let mirrored = Versions {
                local: &case.remote,
                remote: &case.local,
                ..case.versions()
            };
            let swapped = merge(&mirrored_policy, &mirrored, loose);
            prop_assert_eq!(&verdict.to_local, &swapped.to_remote);
            prop_assert_eq!(&verdict.to_remote, &swapped.to_local);
            prop_assert_eq!(verdict.conflicts.len(), swapped.conflicts.len());
        }
    }
}
