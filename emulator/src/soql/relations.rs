//! Relationship queries: child-to-parent fields (`Account.Name`, `Owner.Name`) and
//! parent-to-child subqueries (`(SELECT LastName FROM Contacts)`), one level deep as
//! a sync uses them. The related records are looked up when the query runs, so a
//! query's pages keep showing the snapshot it was run on.

use super::eval::Plan;
use crate::ids::Id;
use crate::store::{Record, Table};
use crate::value::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// Fields of the org's one user that a `Owner.`/`CreatedBy.`/`LastModifiedBy.` path can
/// select (the emulator has no User table; its user is the configured one).
pub const USER_FIELDS: [&str; 4] = ["Id", "Name", "Username", "Email"];

/// The object a relationship field points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParentKind {
    Table(usize),
    /// The org's user; `fields` index [`USER_FIELDS`].
    User,
}

/// One output column of a query, in SELECT order.
#[derive(Debug)]
pub enum Column {
    Field(usize),
    /// Fields of the record the reference field `via` points at, nested under the
    /// relationship `name`.
    Parent {
        name: String,
        via: usize,
        target: ParentKind,
        fields: Vec<usize>,
    },
    /// The children whose reference field `via` points at the row, as a nested query
    /// result under the relationship `name`.
    Children {
        name: String,
        via: usize,
        plan: Box<Plan>,
    },
}

/// A row's related records: one entry per `Parent` column on a table (user parents
/// need no record) and one list per `Children` column, in column order.
#[derive(Debug, Default)]
pub struct Related {
    pub parents: Vec<Option<Arc<Record>>>,
    pub children: Vec<Vec<Arc<Record>>>,
}

/// Looks up the related records of `rows` (from `tables`, deleted ones only for
/// `queryAll`).
pub fn relate(
    columns: &[Column],
    tables: &[Table],
    rows: &[Arc<Record>],
    include_deleted: bool,
) -> Vec<Related> {
    let visible = |r: &Arc<Record>| include_deleted || !r.is_deleted();
    let groups: Vec<HashMap<Id, Vec<Arc<Record>>>> = columns
        .iter()
        .filter_map(|c| match c {
            Column::Children { via, plan, .. } => {
                let mut by_parent: HashMap<Id, Vec<Arc<Record>>> = HashMap::new();
                for child in plan.matching(&tables[plan.table], include_deleted) {
                    if let Value::Id(parent) = child.values[*via] {
                        by_parent.entry(parent).or_default().push(child);
                    }
                }
                for list in by_parent.values_mut() {
                    *list = plan.order_and_page(std::mem::take(list));
                }
                Some(by_parent)
            }
            _ => None,
        })
        .collect();
    rows.iter()
        .map(|row| {
            let mut related = Related::default();
            for column in columns {
                if let Column::Parent {
                    via,
                    target: ParentKind::Table(t),
                    ..
                } = column
                {
                    let parent = match &row.values[*via] {
                        Value::Id(id) => tables[*t].get(id).filter(|r| visible(r)).cloned(),
                        _ => None,
                    };
                    related.parents.push(parent);
                }
            }
            related.children = groups
                .iter()
                .map(|g| g.get(&row.id).cloned().unwrap_or_default())
                .collect();
            related
        })
        .collect()
}
