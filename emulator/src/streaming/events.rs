//! Change events read from the change log and rendered as CometD data messages with
//! the full `ChangeEventHeader`, the way a real org serialises CDC events to JSON.

use super::{Channel, Gap};
use crate::schema::{ObjectDef, Role};
use crate::store::{ChangeKind, Org};
use crate::timefmt;
use crate::value::Value;
use serde_json::{json, Map, Value as Json};

/// Where a pending event comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// `org.tables[table].changes[index]`.
    Change { table: usize, index: usize },
    /// `gaps[index]`.
    Gap(usize),
}

/// What to read: events of `channel` after replay id `after`, published while their
/// object was enabled, not older than `horizon_ms`.
pub struct Query<'a> {
    pub channel: Channel,
    pub after: u64,
    pub horizon_ms: i64,
    pub enabled_from: &'a [Option<u64>],
    pub gaps: &'a [Gap],
}

impl Query<'_> {
    fn tables(&self) -> impl Iterator<Item = usize> + '_ {
        let channel = self.channel;
        (0..self.enabled_from.len()).filter(move |t| match channel {
            Channel::All => true,
            Channel::Object(table) => *t == table,
        })
    }

    fn published(&self, table: usize, replay_id: u64) -> bool {
        self.enabled_from[table].is_some_and(|from| replay_id > from)
    }

    /// Up to `limit` events in replay order.
    pub fn pending(&self, org: &Org, limit: usize) -> Vec<(u64, Source)> {
        let mut out = Vec::new();
        for table in self.tables() {
            let log = &org.tables[table].changes;
            let start = log.partition_point(|c| c.replay_id <= self.after);
            out.extend(
                log[start..]
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.commit_ms >= self.horizon_ms)
                    .filter(|(_, c)| self.published(table, c.replay_id))
                    .take(limit)
                    .map(|(i, c)| {
                        (
                            c.replay_id,
                            Source::Change {
                                table,
                                index: start + i,
                            },
                        )
                    }),
            );
        }
        for (index, gap) in self.gaps.iter().enumerate() {
            let on_channel = match self.channel {
                Channel::All => true,
                Channel::Object(table) => gap.table == table,
            };
            if on_channel
                && gap.replay_id > self.after
                && gap.commit_ms >= self.horizon_ms
                && self.published(gap.table, gap.replay_id)
            {
                out.push((gap.replay_id, Source::Gap(index)));
            }
        }
        out.sort_by_key(|(replay, _)| *replay);
        out.truncate(limit);
        out
    }

    /// The newest replay id of the channel that has left the retention window (0 when
    /// none): a subscriber positioned before it would miss events.
    pub fn expired_up_to(&self, org: &Org) -> u64 {
        let mut newest = 0;
        for table in self.tables() {
            let log = &org.tables[table].changes;
            let expired = log.partition_point(|c| c.commit_ms < self.horizon_ms);
            if let Some(c) = expired.checked_sub(1).map(|i| &log[i]) {
                newest = newest.max(c.replay_id);
            }
        }
        for gap in self.gaps {
            if gap.commit_ms < self.horizon_ms && self.tables().any(|t| t == gap.table) {
                newest = newest.max(gap.replay_id);
            }
        }
        newest
    }
}

/// A value as CDC JSON writes it (`….000Z` datetimes, Java-style numbers).
fn cdc_value(value: &Value) -> Json {
    let mut text = String::new();
    match value {
        Value::DateTime(ms) => {
            timefmt::write_datetime_z(&mut text, *ms);
            return Json::String(text);
        }
        other => other.write_json_scalar(&mut text),
    }
    serde_json::from_str(&text).unwrap_or(Json::Null)
}

/// Component keys of a compound address, in the order of `Role::Address`.
const ADDRESS_KEYS: [&str; 5] = ["Street", "City", "State", "PostalCode", "Country"];

/// Where a field goes in an event body: top level, or inside a compound field.
fn placement(object: &ObjectDef, field: usize) -> Option<(Option<usize>, String)> {
    let def = &object.fields[field];
    if matches!(
        def.role,
        Role::Id
            | Role::IsDeleted
            | Role::SystemModstamp
            | Role::Address(_)
            | Role::ComposedName(_)
    ) {
        return None;
    }
    for (index, other) in object.fields.iter().enumerate() {
        match &other.role {
            Role::Address(parts) => {
                if let Some(k) = parts.iter().position(|p| *p == field) {
                    return Some((Some(index), ADDRESS_KEYS[k].to_string()));
                }
            }
            Role::ComposedName(parts) if parts.contains(&field) => {
                return Some((Some(index), def.name.clone()));
            }
            _ => {}
        }
    }
    Some((None, def.name.clone()))
}

/// Puts `fields` of `values` into `body`, nesting compound components; returns the
/// names as `changedFields` lists them (`BillingAddress.City`).
fn fill(
    object: &ObjectDef,
    values: &[Value],
    fields: impl Iterator<Item = usize>,
    body: &mut Map<String, Json>,
) -> Vec<(String, bool)> {
    let mut names = Vec::new();
    for field in fields {
        let Some((compound, key)) = placement(object, field) else {
            continue;
        };
        let value = cdc_value(&values[field]);
        let is_null = value.is_null();
        match compound {
            None => {
                body.insert(key.clone(), value);
                names.push((key, is_null));
            }
            Some(c) => {
                let parent = &object.fields[c].name;
                let slot = body
                    .entry(parent.clone())
                    .or_insert_with(|| Json::Object(Map::new()));
                if let Json::Object(inner) = slot {
                    inner.insert(key.clone(), value);
                }
                names.push((format!("{parent}.{key}"), is_null));
            }
        }
    }
    names
}

/// A `transactionKey` in the UUID-like form real events carry.
fn transaction_key(key: u64) -> String {
    format!(
        "0002{:04x}-{:04x}-{:04x}-{:04x}-{:012x}",
        (key >> 48) & 0xffff,
        (key >> 32) & 0xffff,
        (key >> 16) & 0xffff,
        key & 0xffff,
        key.wrapping_mul(0x9E37_79B9_7F4A_7C15) & 0xffff_ffff_ffff
    )
}

/// The event's Avro schema id (stable per object, opaque to clients).
fn schema_id(object: &ObjectDef) -> String {
    use base64::Engine;
    let digest = <sha2::Sha256 as sha2::Digest>::digest(object.name.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// The CometD data message of one event on `channel`.
pub fn message(org: &Org, gaps: &[Gap], source: Source, channel: &str) -> Json {
    let (object, replay_id, header, body) = match source {
        Source::Change { table, index } => {
            let log = &org.tables[table].changes;
            let change = &log[index];
            let object = &org.schema.objects[table];
            let sequence = 1 + log[..index]
                .iter()
                .rev()
                .take_while(|c| c.transaction == change.transaction)
                .count();
            let values = &change.snapshot.values;
            let mut body = Map::new();
            let (changed, nulled) = match change.kind {
                ChangeKind::Delete => (Vec::new(), Vec::new()),
                ChangeKind::Update => {
                    let names = fill(object, values, change.fields.iter().copied(), &mut body);
                    let nulled = names.iter().filter(|(_, n)| *n).map(|(f, _)| f.clone());
                    (
                        names.iter().map(|(f, _)| f.clone()).collect(),
                        nulled.collect(),
                    )
                }
                ChangeKind::Create | ChangeKind::Undelete => {
                    fill(object, values, change.fields.iter().copied(), &mut body);
                    (Vec::new(), Vec::new())
                }
            };
            let commit_user = values[object.sys.last_modified_by]
                .to_text()
                .unwrap_or_default();
            let header = json!({
                "entityName": object.name,
                "recordIds": [change.record.to_string()],
                "changeType": change.kind.name(),
                "changeOrigin": change.origin.as_deref().unwrap_or_default(),
                "transactionKey": transaction_key(change.transaction),
                "sequenceNumber": sequence,
                "commitTimestamp": change.commit_ms,
                "commitNumber": change.replay_id,
                "commitUser": commit_user,
                "changedFields": changed,
                "nulledFields": nulled,
                "diffFields": [],
            });
            (object, change.replay_id, header, body)
        }
        Source::Gap(index) => {
            let gap = &gaps[index];
            let object = &org.schema.objects[gap.table];
            let header = json!({
                "entityName": object.name,
                "recordIds": gap.record_ids,
                "changeType": gap.change_type,
                "changeOrigin": "",
                "transactionKey": transaction_key(gap.replay_id),
                "sequenceNumber": 1,
                "commitTimestamp": gap.commit_ms,
                "commitNumber": gap.replay_id,
                "commitUser": crate::ids::user_id().to_string(),
                "changedFields": [],
                "nulledFields": [],
                "diffFields": [],
            });
            (object, gap.replay_id, header, Map::new())
        }
    };
    let mut payload = Map::new();
    payload.insert("ChangeEventHeader".into(), header);
    payload.extend(body);
    json!({
        "channel": channel,
        "data": {
            "schema": schema_id(object),
            "payload": payload,
            "event": {"replayId": replay_id},
        },
    })
}
