//! `conflict_resolution`: a strategy name or an object, resolved to sides and columns.
//!
//! The brief names systems by role (`crm`, `erp`, `support`) or by type; here they become
//! [`Side`]s (this sync's remote system, or the hub table for `postgres`) or another spoke
//! of the hub ([`Priority::System`]), and field names become the local columns the conflict
//! check compares. Roles stand for systems: `crm` Salesforce, `erp` NetSuite, `support`
//! Zendesk.

use super::fields::FieldNames;
use super::layered::Layered;
use crate::config::defaults::timestamp_field;
use crate::config::model::{ConflictPolicy, FieldRule, Priority, Side, SystemKind};
use crate::config::walker::{describe, keyword, keywords, Obj, Problems};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    LastWriteWins,
    FieldLevelPriority,
    SourceWins,
    TargetWins,
    Manual,
}

keywords!(Strategy {
    "last_write_wins" => Strategy::LastWriteWins,
    "field_level_priority" => Strategy::FieldLevelPriority,
    "source_wins" => Strategy::SourceWins,
    "target_wins" => Strategy::TargetWins,
    "manual" => Strategy::Manual,
});

/// What a `priority_system` word stands for before it is resolved to a side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Named {
    Remote,
    Local,
    LastUpdated,
    Source,
    Target,
    System(SystemKind),
}

keywords!(Named {
    "salesforce" => Named::System(SystemKind::Salesforce),
    "crm" => Named::System(SystemKind::Salesforce),
    "erp" => Named::System(SystemKind::Netsuite),
    "support" => Named::System(SystemKind::Zendesk),
    "remote" => Named::Remote,
    "postgres" => Named::Local,
    "hub" => Named::Local,
    "database" => Named::Local,
    "local" => Named::Local,
    "last_updated" => Named::LastUpdated,
    "source" => Named::Source,
    "target" => Named::Target,
    "netsuite" => Named::System(SystemKind::Netsuite),
    "zendesk" => Named::System(SystemKind::Zendesk),
});

/// What policies are resolved against.
pub(super) struct Context<'a> {
    pub fields: FieldNames<'a>,
    /// The remote system, once known.
    pub remote: Option<SystemKind>,
    /// The side the config calls source, once known.
    pub source: Option<Side>,
    /// The sync's connection name, once known.
    pub connection: Option<&'a str>,
}

impl Context<'_> {
    fn source_side(&self) -> Side {
        self.source.unwrap_or(Side::Remote)
    }
}

/// The sync's conflict policy; `last_write_wins` on `LastModifiedDate` when none is given.
pub(super) fn read(layered: &Layered, ctx: &Context, problems: &mut Problems) -> ConflictPolicy {
    let read = |value: &Value, path: &str, problems: &mut Problems| {
        read_policy(value, path, ctx, problems)
    };
    let same = |a: &ConflictPolicy, b: &ConflictPolicy| without_paths(a) == without_paths(b);
    layered
        .read("conflict_resolution", problems, read, same)
        .map_or_else(|| last_write_wins(ctx, None), |l| l.value)
}

fn read_policy(
    value: &Value,
    path: &str,
    ctx: &Context,
    problems: &mut Problems,
) -> Option<ConflictPolicy> {
    match value {
        Value::String(_) => {
            let strategy = keyword::<Strategy>(value, path, problems)?;
            named_policy(strategy, path, None, ctx, problems)
        }
        Value::Object(_) => read_object(value, path, ctx, problems),
        _ => {
            problems.invalid(
                path,
                format!(
                    "expected a strategy name such as \"last_write_wins\" or an object with a \"strategy\", got {}",
                    describe(value)
                ),
            );
            None
        }
    }
}

/// The policy a strategy name stands for; `timestamp` is the object form's `timestamp_field`.
fn named_policy(
    strategy: Strategy,
    path: &str,
    timestamp: Option<&str>,
    ctx: &Context,
    problems: &mut Problems,
) -> Option<ConflictPolicy> {
    match strategy {
        Strategy::LastWriteWins => Some(last_write_wins(ctx, timestamp)),
        Strategy::SourceWins => Some(ConflictPolicy::SideWins {
            side: ctx.source_side(),
        }),
        Strategy::TargetWins => Some(ConflictPolicy::SideWins {
            side: ctx.source_side().other(),
        }),
        Strategy::Manual => Some(ConflictPolicy::Manual),
        Strategy::FieldLevelPriority => {
            problems.invalid(
                path,
                "field_level_priority needs field_rules; write it as an object: \
                 {\"strategy\": \"field_level_priority\", \"field_rules\": [...]}",
            );
            None
        }
    }
}

/// Last write wins on `timestamp` (default `LastModifiedDate`, Zendesk's `updated_at`),
/// named remotely or locally.
fn last_write_wins(ctx: &Context, timestamp: Option<&str>) -> ConflictPolicy {
    let name = timestamp.unwrap_or(timestamp_field(ctx.remote));
    let mapping = ctx.fields.mapping(name);
    ConflictPolicy::LastWriteWins {
        timestamp_field: mapping.map_or_else(|| name.to_string(), |m| m.remote.clone()),
        local_timestamp_column: mapping.map(|m| m.local.clone()),
    }
}

fn keys_for(strategy: Strategy) -> &'static [&'static str] {
    match strategy {
        Strategy::LastWriteWins => &["strategy", "timestamp_field"],
        Strategy::FieldLevelPriority => &["strategy", "field_rules", "default", "timestamp_field"],
        _ => &["strategy"],
    }
}

fn read_object(
    value: &Value,
    path: &str,
    ctx: &Context,
    problems: &mut Problems,
) -> Option<ConflictPolicy> {
    let (strategy, obj) = Obj::open_tagged(value, path, "strategy", keys_for, problems)?;
    let timestamp = obj.get::<String>("timestamp_field", problems);
    if strategy != Strategy::FieldLevelPriority {
        return named_policy(strategy, path, timestamp.as_deref(), ctx, problems);
    }
    let rules = field_rules(&obj, ctx, problems);
    let default = match obj.get::<Strategy>("default", problems) {
        Some(strategy) => named_policy(
            strategy,
            &obj.at("default"),
            timestamp.as_deref(),
            ctx,
            problems,
        ),
        None => Some(last_write_wins(ctx, timestamp.as_deref())),
    };
    Some(ConflictPolicy::FieldLevelPriority {
        rules: rules?,
        default: Box::new(default?),
    })
}

fn field_rules(obj: &Obj, ctx: &Context, problems: &mut Problems) -> Option<Vec<FieldRule>> {
    if !obj.has("field_rules") {
        problems.invalid(
            &obj.at("field_rules"),
            "required key is missing; expected rules such as [{\"field\": \"email\", \"priority_system\": \"crm\"}]",
        );
        return None;
    }
    let items = obj.items("field_rules", problems);
    if items.is_empty() {
        problems.invalid(&obj.at("field_rules"), "expected at least one rule");
    }
    let rules: Vec<FieldRule> = items
        .iter()
        .filter_map(|(path, v)| field_rule(path, v, ctx, problems))
        .collect();
    for (i, rule) in rules.iter().enumerate() {
        if let Some(first) = rules[..i].iter().find(|r| r.local == rule.local) {
            problems.invalid(
                &format!("{}.field", rule.path),
                format!(
                    "column '{}' already has a rule at {}; give one rule per field",
                    rule.local, first.path
                ),
            );
        }
    }
    Some(rules)
}

fn field_rule(
    path: &str,
    value: &Value,
    ctx: &Context,
    problems: &mut Problems,
) -> Option<FieldRule> {
    let obj = Obj::open(value, path, &["field", "priority_system"], problems)?;
    let field = obj.require::<String>("field", "a mapped field or column name", problems);
    let written = obj.require::<String>("priority_system", WINNERS, problems);
    let priority = match written?.strip_prefix(CONNECTION) {
        Some(name) if !name.trim().is_empty() => connection_priority(name.trim(), ctx),
        _ => resolve_priority(
            obj.require::<Named>("priority_system", WINNERS, problems)?,
            ctx,
        )?,
    };
    Some(FieldRule {
        local: ctx.fields.local_column(&field?),
        priority,
        path: path.to_string(),
    })
}

const WINNERS: &str = "the system that wins: crm/salesforce, erp/netsuite, support/zendesk, \
     postgres, last_updated, or connection:<name>";

/// How a rule names one account among several of a system.
const CONNECTION: &str = "connection:";

/// A rule naming a connection: this sync's own is its remote side.
fn connection_priority(name: &str, ctx: &Context) -> Priority {
    if ctx.connection == Some(name) {
        Priority::Side(Side::Remote)
    } else {
        Priority::Connection(name.to_string())
    }
}

fn resolve_priority(named: Named, ctx: &Context) -> Option<Priority> {
    let side = match named {
        Named::LastUpdated => return Some(Priority::LastUpdated),
        Named::Remote => Side::Remote,
        Named::Local => Side::Local,
        Named::Source => ctx.source_side(),
        Named::Target => ctx.source_side().other(),
        Named::System(system) if ctx.remote.is_none_or(|r| r == system) => Side::Remote,
        Named::System(system) => return Some(Priority::System(system)),
    };
    Some(Priority::Side(side))
}

/// The policy with rule paths cleared, so the same policy written twice compares equal.
fn without_paths(policy: &ConflictPolicy) -> ConflictPolicy {
    match policy {
        ConflictPolicy::FieldLevelPriority { rules, default } => {
            ConflictPolicy::FieldLevelPriority {
                rules: rules
                    .iter()
                    .map(|r| FieldRule {
                        path: String::new(),
                        ..r.clone()
                    })
                    .collect(),
                default: default.clone(),
            }
        }
        other => other.clone(),
    }
}
