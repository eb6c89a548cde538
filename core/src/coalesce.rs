//! Several pending changes of one record → the fewest remote calls with the same effect.
//!
//! The outbox holds every committed change of a row in commit order. Sending them one by
//! one wastes API calls (a row edited ten times is one update) and can even do harm (a row
//! inserted and deleted before the worker ran would be created in Salesforce only to be
//! deleted). [`coalesce`] folds one record's changes into at most two remote actions that
//! leave Salesforce exactly as sending every change in order would.

use serde_json::Value;
use std::collections::BTreeMap;

/// Column name → value; ordered so plans, request bodies and tests are deterministic.
pub type Values = BTreeMap<String, Value>;

/// One captured change of a local row, as the outbox stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The outbox row, so the worker can settle it once its action succeeded or failed.
    pub outbox_id: i64,
    /// What happened to the row.
    pub kind: ChangeKind,
}

/// What the capture trigger saw happen to a row.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeKind {
    /// The row was inserted: every captured column's value.
    Insert { values: Values },
    /// The row was updated: the changed captured columns' new values, and their values
    /// before the update (the evidence conflict detection needs).
    Update { new: Values, old: Values },
    /// The row was deleted.
    Delete,
}

impl ChangeKind {
    /// The values the change wrote (none for a delete).
    pub fn new_values(&self) -> Option<&Values> {
        match self {
            ChangeKind::Insert { values } => Some(values),
            ChangeKind::Update { new, .. } => Some(new),
            ChangeKind::Delete => None,
        }
    }

    /// The values an update replaced (none for an insert or a delete).
    pub fn old_values(&self) -> Option<&Values> {
        match self {
            ChangeKind::Update { old, .. } => Some(old),
            ChangeKind::Insert { .. } | ChangeKind::Delete => None,
        }
    }
}

/// A remote call the worker makes.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Create the record with these values (the row's full captured state).
    Create { fields: Values },
    /// Write these values to the existing record. `old` holds each column's value before
    /// the first of the coalesced changes, i.e. what the remote should still hold unless
    /// someone changed it there: the base for conflict detection.
    Update { fields: Values, old: Values },
    /// Delete the record.
    Delete,
}

/// One remote action and the outbox rows it settles.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The call to make.
    pub action: Action,
    /// Settled (done or failed) together with the action, in commit order. May be empty
    /// for the delete that clears the way for a re-insert: that change is settled by the
    /// create that follows.
    pub outbox_ids: Vec<i64>,
}

/// What to do for one record.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Actions to send in order; a step is sent only after the previous one succeeded,
    /// and when a step fails, its rows and every later step's rows fail with it.
    pub steps: Vec<Step>,
    /// Rows whose changes cancelled out (inserted then deleted before reaching
    /// Salesforce): done without any call.
    pub cancelled: Vec<i64>,
}

/// Folds one record's pending changes (commit order) into a [`Plan`].
///
/// `exists_remotely` says whether the record exists in Salesforce before these changes
/// (it has a remote id). Every outbox id lands exactly once in a step or in `cancelled`.
///
/// An update of a record that does not exist remotely (e.g. a row older than the sync
/// that was never pushed) stays an [`Action::Update`]: only the caller can read the full
/// row and decide to create it instead.
pub fn coalesce(changes: &[Change], exists_remotely: bool) -> Plan {
    let mut cancelled = Vec::new();
    let net = changes.iter().fold(Net::Unchanged, |net, change| {
        net.then(change, exists_remotely, &mut cancelled)
    });
    Plan {
        steps: net.into_steps(),
        cancelled,
    }
}

/// The net effect of the changes folded so far, as remote actions still to send.
enum Net {
    /// Nothing to send.
    Unchanged,
    /// Create a record that does not exist remotely.
    Create { fields: Values, ids: Vec<i64> },
    /// Update the record in place.
    Update {
        fields: Values,
        old: Values,
        ids: Vec<i64>,
    },
    /// Delete the existing record.
    Delete { ids: Vec<i64> },
    /// Delete the existing record, then create its successor.
    Replace {
        delete_ids: Vec<i64>,
        fields: Values,
        create_ids: Vec<i64>,
    },
}

impl Net {
    /// The net effect after one more change.
    fn then(self, change: &Change, exists_remotely: bool, cancelled: &mut Vec<i64>) -> Net {
        let id = change.outbox_id;
        match (self, &change.kind) {
            (Net::Unchanged, ChangeKind::Insert { values }) => {
                Net::insert_over(exists_remotely, Vec::new(), values, id)
            }
            (Net::Unchanged, ChangeKind::Update { new, old }) => Net::Update {
                fields: new.clone(),
                old: old.clone(),
                ids: vec![id],
            },
            (Net::Unchanged, ChangeKind::Delete) => {
                Net::delete_over(exists_remotely, Vec::new(), id, cancelled)
            }

            (Net::Create { ids, .. }, ChangeKind::Insert { values }) => Net::Create {
                fields: values.clone(),
                ids: with(ids, id),
            },
            (Net::Create { fields, ids }, ChangeKind::Update { new, .. }) => Net::Create {
                fields: overlay(fields, new),
                ids: with(ids, id),
            },
            (Net::Create { ids, .. }, ChangeKind::Delete) => {
                cancelled.extend(with(ids, id));
                Net::Unchanged
            }

            (Net::Update { ids, .. }, ChangeKind::Insert { values }) => {
                Net::insert_over(exists_remotely, ids, values, id)
            }
            (Net::Update { fields, old, ids }, ChangeKind::Update { new, old: older }) => {
                Net::Update {
                    fields: overlay(fields, new),
                    old: underlay(old, older),
                    ids: with(ids, id),
                }
            }
            (Net::Update { ids, .. }, ChangeKind::Delete) => {
                Net::delete_over(exists_remotely, ids, id, cancelled)
            }

            (Net::Delete { ids }, ChangeKind::Insert { values }) => Net::Replace {
                delete_ids: ids,
                fields: values.clone(),
                create_ids: vec![id],
            },
            // Updating or deleting an already deleted record changes nothing remotely.
            (Net::Delete { ids }, ChangeKind::Update { .. } | ChangeKind::Delete) => {
                Net::Delete { ids: with(ids, id) }
            }

            (
                Net::Replace {
                    delete_ids,
                    create_ids,
                    ..
                },
                ChangeKind::Insert { values },
            ) => Net::Replace {
                delete_ids,
                fields: values.clone(),
                create_ids: with(create_ids, id),
            },
            (
                Net::Replace {
                    delete_ids,
                    fields,
                    create_ids,
                },
                ChangeKind::Update { new, .. },
            ) => Net::Replace {
                delete_ids,
                fields: overlay(fields, new),
                create_ids: with(create_ids, id),
            },
            (
                Net::Replace {
                    mut delete_ids,
                    create_ids,
                    ..
                },
                ChangeKind::Delete,
            ) => {
                delete_ids.extend(create_ids);
                Net::Delete {
                    ids: with(delete_ids, id),
                }
            }
        }
    }

    /// An insert arriving after changes `ids` that left the remote record as it started:
    /// an existing record is replaced (deleted, then created anew), a missing one created.
    fn insert_over(exists_remotely: bool, ids: Vec<i64>, values: &Values, id: i64) -> Net {
        if exists_remotely {
            Net::Replace {
                delete_ids: ids,
                fields: values.clone(),
                create_ids: vec![id],
            }
        } else {
            Net::Create {
                fields: values.clone(),
                ids: with(ids, id),
            }
        }
    }

    /// A delete arriving after changes `ids` that left the remote record as it started:
    /// an existing record is deleted; for a missing one everything cancels out.
    fn delete_over(exists_remotely: bool, ids: Vec<i64>, id: i64, cancelled: &mut Vec<i64>) -> Net {
        if exists_remotely {
            Net::Delete { ids: with(ids, id) }
        } else {
            cancelled.extend(with(ids, id));
            Net::Unchanged
        }
    }

    fn into_steps(self) -> Vec<Step> {
        let step = |action, outbox_ids| Step { action, outbox_ids };
        match self {
            Net::Unchanged => Vec::new(),
            Net::Create { fields, ids } => vec![step(Action::Create { fields }, ids)],
            Net::Update { fields, old, ids } => vec![step(Action::Update { fields, old }, ids)],
            Net::Delete { ids } => vec![step(Action::Delete, ids)],
            Net::Replace {
                delete_ids,
                fields,
                create_ids,
            } => vec![
                step(Action::Delete, delete_ids),
                step(Action::Create { fields }, create_ids),
            ],
        }
    }
}

fn with(mut ids: Vec<i64>, id: i64) -> Vec<i64> {
    ids.push(id);
    ids
}

/// `values` with `newer`'s entries written over them: the latest value of each column.
fn overlay(mut values: Values, newer: &Values) -> Values {
    values.extend(newer.iter().map(|(k, v)| (k.clone(), v.clone())));
    values
}

/// `values` plus `older`'s entries for columns not seen yet: a column first changed by a
/// later update still held that update's old value before the first change.
fn underlay(mut values: Values, older: &Values) -> Values {
    for (column, value) in older {
        values
            .entry(column.clone())
            .or_insert_with(|| value.clone());
    }
    values
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Column values from literal pairs (also used by the conflict tests).
    pub(crate) fn values(pairs: &[(&str, Value)]) -> Values {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn insert(id: i64, pairs: &[(&str, Value)]) -> Change {
        Change {
            outbox_id: id,
            kind: ChangeKind::Insert {
                values: values(pairs),
            },
        }
    }

    fn update(id: i64, new: &[(&str, Value)], old: &[(&str, Value)]) -> Change {
        Change {
            outbox_id: id,
            kind: ChangeKind::Update {
                new: values(new),
                old: values(old),
            },
        }
    }

    fn delete(id: i64) -> Change {
        Change {
            outbox_id: id,
            kind: ChangeKind::Delete,
        }
    }

    fn create_step(pairs: &[(&str, Value)], ids: &[i64]) -> Step {
        Step {
            action: Action::Create {
                fields: values(pairs),
            },
            outbox_ids: ids.to_vec(),
        }
    }

    fn delete_step(ids: &[i64]) -> Step {
        Step {
            action: Action::Delete,
            outbox_ids: ids.to_vec(),
        }
    }

    #[test]
    fn no_changes_no_plan() {
        assert_eq!(coalesce(&[], true), Plan::default());
        assert_eq!(coalesce(&[], false), Plan::default());
    }

    #[test]
    fn a_single_insert_creates() {
        let plan = coalesce(&[insert(1, &[("name", json!("Acme"))])], false);
        assert_eq!(
            plan.steps,
            vec![create_step(&[("name", json!("Acme"))], &[1])]
        );
        assert!(plan.cancelled.is_empty());
    }

    #[test]
    fn insert_then_updates_create_once_with_merged_values() {
        let plan = coalesce(
            &[
                insert(1, &[("name", json!("Acme")), ("industry", json!(null))]),
                update(
                    2,
                    &[("industry", json!("Tech"))],
                    &[("industry", json!(null))],
                ),
                update(
                    3,
                    &[("name", json!("Acme Inc"))],
                    &[("name", json!("Acme"))],
                ),
            ],
            false,
        );
        assert_eq!(
            plan.steps,
            vec![create_step(
                &[("industry", json!("Tech")), ("name", json!("Acme Inc"))],
                &[1, 2, 3]
            )]
        );
    }

    #[test]
    fn insert_then_delete_that_never_reached_salesforce_sends_nothing() {
        let plan = coalesce(
            &[
                insert(1, &[("name", json!("A"))]),
                update(2, &[("name", json!("B"))], &[("name", json!("A"))]),
                delete(3),
            ],
            false,
        );
        assert!(plan.steps.is_empty());
        assert_eq!(plan.cancelled, vec![1, 2, 3]);
    }

    #[test]
    fn updates_merge_and_keep_the_values_before_the_first_change() {
        let plan = coalesce(
            &[
                update(1, &[("name", json!("B"))], &[("name", json!("A"))]),
                update(
                    2,
                    &[("name", json!("C")), ("phone", json!("2"))],
                    &[("name", json!("B")), ("phone", json!("1"))],
                ),
                update(3, &[("phone", json!("3"))], &[("phone", json!("2"))]),
            ],
            true,
        );
        assert_eq!(
            plan.steps,
            vec![Step {
                action: Action::Update {
                    fields: values(&[("name", json!("C")), ("phone", json!("3"))]),
                    old: values(&[("name", json!("A")), ("phone", json!("1"))]),
                },
                outbox_ids: vec![1, 2, 3],
            }]
        );
    }

    #[test]
    fn update_then_delete_deletes() {
        let plan = coalesce(
            &[
                update(1, &[("name", json!("B"))], &[("name", json!("A"))]),
                delete(2),
            ],
            true,
        );
        assert_eq!(plan.steps, vec![delete_step(&[1, 2])]);
    }

    #[test]
    fn delete_of_a_record_never_created_remotely_is_cancelled() {
        let plan = coalesce(&[delete(7)], false);
        assert!(plan.steps.is_empty());
        assert_eq!(plan.cancelled, vec![7]);
    }

    #[test]
    fn update_of_a_record_without_remote_id_stays_an_update() {
        let plan = coalesce(
            &[update(1, &[("name", json!("B"))], &[("name", json!("A"))])],
            false,
        );
        assert!(matches!(plan.steps[0].action, Action::Update { .. }));
    }

    #[test]
    fn delete_then_insert_of_the_same_key_deletes_then_creates() {
        let plan = coalesce(&[delete(1), insert(2, &[("name", json!("New"))])], true);
        assert_eq!(
            plan.steps,
            vec![
                delete_step(&[1]),
                create_step(&[("name", json!("New"))], &[2])
            ]
        );
    }

    #[test]
    fn insert_over_an_existing_record_replaces_it() {
        let plan = coalesce(&[insert(4, &[("name", json!("Again"))])], true);
        assert_eq!(
            plan.steps,
            vec![
                delete_step(&[]),
                create_step(&[("name", json!("Again"))], &[4])
            ]
        );
    }

    #[test]
    fn delete_insert_delete_is_one_delete() {
        let plan = coalesce(
            &[delete(1), insert(2, &[("name", json!("X"))]), delete(3)],
            true,
        );
        assert_eq!(plan.steps, vec![delete_step(&[1, 2, 3])]);
        assert!(plan.cancelled.is_empty());
    }

    #[test]
    fn insert_delete_insert_creates_only_the_last_incarnation() {
        let plan = coalesce(
            &[
                insert(1, &[("name", json!("first"))]),
                delete(2),
                insert(3, &[("name", json!("second"))]),
            ],
            false,
        );
        assert_eq!(
            plan.steps,
            vec![create_step(&[("name", json!("second"))], &[3])]
        );
        assert_eq!(plan.cancelled, vec![1, 2]);
    }

    #[test]
    fn updates_after_a_replacing_insert_merge_into_the_create() {
        let plan = coalesce(
            &[
                delete(1),
                insert(2, &[("name", json!("X")), ("phone", json!("1"))]),
                update(3, &[("phone", json!("2"))], &[("phone", json!("1"))]),
            ],
            true,
        );
        assert_eq!(
            plan.steps,
            vec![
                delete_step(&[1]),
                create_step(&[("name", json!("X")), ("phone", json!("2"))], &[2, 3])
            ]
        );
    }

    // ---- equivalence with sending every change one by one ----

    /// The remote record as a test observer sees it: whether it is the incarnation that
    /// existed before the changes (recreating it gives it a new id) and its values.
    #[derive(Debug, Clone, PartialEq)]
    enum Remote {
        Absent,
        Present { original: bool, fields: Values },
    }

    /// Sending one change alone.
    fn send_change(remote: Remote, change: &ChangeKind) -> Remote {
        match (remote, change) {
            (_, ChangeKind::Insert { values }) => Remote::Present {
                original: false,
                fields: values.clone(),
            },
            (Remote::Present { original, fields }, ChangeKind::Update { new, .. }) => {
                Remote::Present {
                    original,
                    fields: overlay(fields, new),
                }
            }
            (Remote::Absent, ChangeKind::Update { .. }) => Remote::Absent,
            (_, ChangeKind::Delete) => Remote::Absent,
        }
    }

    /// Sending one planned action; a plan must never create over an existing record or
    /// delete a missing one.
    fn send_action(remote: Remote, action: &Action) -> Remote {
        match (remote, action) {
            (Remote::Absent, Action::Create { fields }) => Remote::Present {
                original: false,
                fields: fields.clone(),
            },
            (Remote::Present { original, fields }, Action::Update { fields: new, .. }) => {
                Remote::Present {
                    original,
                    fields: overlay(fields, new),
                }
            }
            (Remote::Absent, Action::Update { .. }) => Remote::Absent,
            (Remote::Present { .. }, Action::Delete) => Remote::Absent,
            (remote, action) => panic!("plan sends {action:?} to {remote:?}"),
        }
    }

    fn small_values() -> impl Strategy<Value = Values> {
        prop::collection::btree_map(
            prop::sample::select(vec!["a", "b", "c"]).prop_map(String::from),
            (0..4i64).prop_map(Value::from),
            0..=3,
        )
    }

    fn change_kind() -> impl Strategy<Value = ChangeKind> {
        prop_oneof![
            small_values().prop_map(|values| ChangeKind::Insert { values }),
            (small_values(), small_values()).prop_map(|(new, old)| ChangeKind::Update { new, old }),
            Just(ChangeKind::Delete),
        ]
    }

    fn changes() -> impl Strategy<Value = Vec<Change>> {
        prop::collection::vec(change_kind(), 0..12).prop_map(|kinds| {
            kinds
                .into_iter()
                .enumerate()
                .map(|(i, kind)| Change {
                    outbox_id: i as i64 + 100,
                    kind,
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn coalesced_plan_equals_sending_every_change(
            changes in changes(),
            exists in any::<bool>(),
            initial in small_values(),
        ) {
            let start = if exists {
                Remote::Present { original: true, fields: initial }
            } else {
                Remote::Absent
            };
            let one_by_one = changes
                .iter()
                .fold(start.clone(), |remote, change| send_change(remote, &change.kind));
            let plan = coalesce(&changes, exists);
            let coalesced = plan
                .steps
                .iter()
                .fold(start, |remote, step| send_action(remote, &step.action));
            prop_assert_eq!(coalesced, one_by_one);
            prop_assert!(plan.steps.len() <= 2);
        }

        #[test]
        fn every_outbox_row_is_settled_exactly_once_in_commit_order(
            changes in changes(),
            exists in any::<bool>(),
        ) {
            let plan = coalesce(&changes, exists);
            let mut settled: Vec<i64> = plan
                .steps
                .iter()
                .flat_map(|step| step.outbox_ids.iter().copied())
                .chain(plan.cancelled.iter().copied())
                .collect();
            for step in &plan.steps {
                prop_assert!(step.outbox_ids.windows(2).all(|w| w[0] < w[1]));
            }
            settled.sort_unstable();
            let all: Vec<i64> = changes.iter().map(|c| c.outbox_id).collect();
            prop_assert_eq!(settled, all);
        }
    }
}
