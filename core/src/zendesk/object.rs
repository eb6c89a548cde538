//! Organizations and Users: their standard attributes, and records translated between
//! Zendesk's JSON and the connector's flat records.
//!
//! The engine sees one flat record per object: ids and references as text (Zendesk's are
//! 64-bit integers, beyond what a JSON double holds exactly), lists (`tags`,
//! `domain_names`, multiselect fields) as lists, and the custom `organization_fields` /
//! `user_fields` values beside the standard attributes under their keys. Writing undoes
//! each step, so `to_zendesk(from_zendesk(r))` sends what Zendesk sent.

use crate::connector::{CallError, FieldType, Record};
use crate::retry::Operation;
use serde_json::{Map, Value};

/// Organization or User: the two objects hubsync syncs with Zendesk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Organization,
    User,
}

impl Kind {
    /// The object a sync names (`Organization`, `User`; case does not matter), or a
    /// refusal saying which objects exist.
    pub fn named(object: &str, op: Operation) -> Result<Kind, CallError> {
        match object.to_ascii_lowercase().as_str() {
            "organization" | "organizations" => Ok(Kind::Organization),
            "user" | "users" => Ok(Kind::User),
            _ => Err(CallError::refused(
                op,
                "InvalidEndpoint",
                format!("hubsync syncs the Zendesk objects Organization and User, not {object:?}"),
            )),
        }
    }

    /// `organization` / `user`: the wrapper key of one record.
    pub fn singular(self) -> &'static str {
        match self {
            Kind::Organization => "organization",
            Kind::User => "user",
        }
    }

    /// `organizations` / `users`: the path segment and the wrapper key of a list.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Organization => "organizations",
            Kind::User => "users",
        }
    }

    /// `organization_fields` / `user_fields`: where custom values sit in a record, and
    /// the path of their definitions.
    pub fn custom_key(self) -> &'static str {
        match self {
            Kind::Organization => "organization_fields",
            Kind::User => "user_fields",
        }
    }

    /// `Organization` / `User`, as the describe names the object.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Organization => "Organization",
            Kind::User => "User",
        }
    }

    /// The standard attributes, in the order Zendesk writes them.
    pub fn attributes(self) -> &'static [Attribute] {
        match self {
            Kind::Organization => ORGANIZATION,
            Kind::User => USER,
        }
    }

    /// The standard attribute `name`, if there is one.
    pub fn attribute(self, name: &str) -> Option<&'static Attribute> {
        self.attributes().iter().find(|a| a.name == name)
    }

    /// Attributes that identify a record across systems, best first: creates carrying
    /// one go through `create_or_update`, so resending never duplicates.
    pub fn match_keys(self) -> &'static [&'static str] {
        match self {
            Kind::Organization => &["external_id"],
            Kind::User => &["external_id", "email"],
        }
    }

    /// The first match key with a non-empty value in `record`.
    pub fn match_key(self, record: &Record) -> Option<&'static str> {
        self.match_keys().iter().copied().find(|key| {
            record
                .get(*key)
                .and_then(Value::as_str)
                .is_some_and(|v| !v.trim().is_empty())
        })
    }

    /// Whether a record Zendesk answered is gone: an organization carrying `deleted_at`,
    /// a user soft-deleted (`active: false`).
    pub fn is_deleted(self, record: &Map<String, Value>) -> bool {
        match self {
            Kind::Organization => record.get("deleted_at").is_some_and(|v| !v.is_null()),
            Kind::User => record.get("active") == Some(&Value::Bool(false)),
        }
    }
}

/// What may be done with a standard attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Computed by Zendesk.
    ReadOnly,
    /// Written on create and update.
    Write,
    /// Written, unique, and usable to match records (`external_id`, a user's `email`).
    Key,
}

/// One standard attribute.
#[derive(Debug, Clone, Copy)]
pub struct Attribute {
    /// The attribute's name in Zendesk's JSON.
    pub name: &'static str,
    /// Its type in the describe model.
    pub field_type: FieldType,
    /// Whether hubsync may write it, and whether it can match records.
    pub access: Access,
}

const fn attr(name: &'static str, field_type: FieldType, access: Access) -> Attribute {
    Attribute {
        name,
        field_type,
        access,
    }
}

use Access::{Key, ReadOnly, Write};
use FieldType as T;

/// Reference §4 and the emulator's attribute table.
const ORGANIZATION: &[Attribute] = &[
    attr("url", T::Url, ReadOnly),
    attr("id", T::Id, ReadOnly),
    attr("name", T::String, Write),
    attr("shared_tickets", T::Boolean, Write),
    attr("shared_comments", T::Boolean, Write),
    attr("external_id", T::String, Key),
    attr("created_at", T::Datetime, ReadOnly),
    attr("updated_at", T::Datetime, ReadOnly),
    attr("domain_names", T::Multipicklist, Write),
    attr("details", T::Textarea, Write),
    attr("notes", T::Textarea, Write),
    attr("group_id", T::Reference, Write),
    attr("tags", T::Multipicklist, Write),
];

const USER: &[Attribute] = &[
    attr("id", T::Id, ReadOnly),
    attr("url", T::Url, ReadOnly),
    attr("name", T::String, Write),
    attr("email", T::Email, Key),
    attr("created_at", T::Datetime, ReadOnly),
    attr("updated_at", T::Datetime, ReadOnly),
    attr("time_zone", T::String, Write),
    attr("iana_time_zone", T::String, ReadOnly),
    attr("phone", T::Phone, Write),
    attr("shared_phone_number", T::Boolean, Write),
    attr("photo", T::AnyType, ReadOnly),
    attr("locale_id", T::Long, Write),
    attr("locale", T::String, Write),
    attr("organization_id", T::Reference, Write),
    attr("role", T::Picklist, Write),
    attr("verified", T::Boolean, Write),
    attr("external_id", T::String, Key),
    attr("tags", T::Multipicklist, Write),
    attr("alias", T::String, Write),
    attr("active", T::Boolean, ReadOnly),
    attr("shared", T::Boolean, ReadOnly),
    attr("shared_agent", T::Boolean, ReadOnly),
    attr("last_login_at", T::Datetime, ReadOnly),
    attr("two_factor_auth_enabled", T::Boolean, ReadOnly),
    attr("signature", T::Textarea, Write),
    attr("details", T::Textarea, Write),
    attr("notes", T::Textarea, Write),
    attr("role_type", T::Long, ReadOnly),
    attr("custom_role_id", T::Reference, Write),
    attr("moderator", T::Boolean, Write),
    attr("ticket_restriction", T::Picklist, Write),
    attr("only_private_comments", T::Boolean, Write),
    attr("restricted_agent", T::Boolean, Write),
    attr("suspended", T::Boolean, Write),
    attr("default_group_id", T::Reference, Write),
    attr("report_csv", T::Boolean, Write),
];

/// Whether values of this type are ids, carried as text.
fn is_id(field_type: FieldType) -> bool {
    matches!(field_type, FieldType::Id | FieldType::Reference)
}

/// A record as Zendesk answered it, as the engine reads records: ids as text, custom
/// values flattened beside the standard attributes (a custom key that repeats a standard
/// attribute's name is left out: the standard one wins), custom dates as `YYYY-MM-DD`.
pub fn from_zendesk(kind: Kind, mut raw: Map<String, Value>) -> Record {
    let custom = raw.shift_remove(kind.custom_key());
    let mut record: Record = raw
        .into_iter()
        .map(|(key, value)| {
            let value = match kind.attribute(&key) {
                Some(a) if is_id(a.field_type) => id_text(value),
                _ => value,
            };
            (key, value)
        })
        .collect();
    if let Some(Value::Object(custom)) = custom {
        for (key, value) in custom {
            if kind.attribute(&key).is_none() && !record.contains_key(&key) {
                record.insert(key, custom_date(value));
            }
        }
    }
    record
}

/// A record as Zendesk takes it: ids and references as integers, `a;b` lists as arrays,
/// read-only attributes dropped, and every key that is no standard attribute moved into
/// `organization_fields` / `user_fields` (Zendesk ignores keys no field defines).
pub fn to_zendesk(kind: Kind, record: &Record) -> Map<String, Value> {
    let mut out = Map::new();
    let mut custom = Map::new();
    for (key, value) in record {
        match kind.attribute(key) {
            Some(a) if a.access == ReadOnly => {}
            Some(a) if is_id(a.field_type) => {
                out.insert(key.clone(), id_number(value));
            }
            Some(a) if a.field_type == FieldType::Multipicklist => {
                out.insert(key.clone(), list(value));
            }
            Some(_) => {
                out.insert(key.clone(), value.clone());
            }
            None => {
                custom.insert(key.clone(), value.clone());
            }
        }
    }
    if !custom.is_empty() {
        out.insert(kind.custom_key().into(), Value::Object(custom));
    }
    out
}

/// A Zendesk id as text (`null` stays `null`).
pub fn id_text(value: Value) -> Value {
    match value {
        Value::Number(n) => Value::String(n.to_string()),
        other => other,
    }
}

/// An id given as text, as the integer Zendesk expects; anything else is sent as it is,
/// for Zendesk to refuse with a message naming the attribute.
pub fn id_number(value: &Value) -> Value {
    match value {
        Value::String(text) => text
            .trim()
            .parse::<u64>()
            .map_or_else(|_| value.clone(), Value::from),
        other => other.clone(),
    }
}

/// A list value: arrays as they are, `a;b` text split (the engine writes multi-value
/// fields that way), `null` as an empty list (Zendesk clears a list with `[]`).
fn list(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::Array(
            text.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.into()))
                .collect(),
        ),
        Value::Null => Value::Array(Vec::new()),
        other => other.clone(),
    }
}

/// A custom date field's value (`2018-11-04T00:00:00+00:00`) as its date.
fn custom_date(value: Value) -> Value {
    match &value {
        Value::String(text) if text.len() == 25 && text.ends_with("T00:00:00+00:00") => {
            Value::String(text[..10].to_string())
        }
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn reads_ids_as_text_and_flattens_custom_values() {
        let raw = obj(json!({
            "id": 6164125400602u64, "organization_id": 6164000000001u64, "name": "Jo",
            "tags": ["a", "b"], "active": true,
            "user_fields": {"vip": true, "since": "2024-02-29T00:00:00+00:00", "name": "x"}
        }));
        let record = from_zendesk(Kind::User, raw);
        assert_eq!(record["id"], "6164125400602");
        assert_eq!(record["organization_id"], "6164000000001");
        assert_eq!(record["tags"], json!(["a", "b"]));
        assert_eq!(record["vip"], true);
        assert_eq!(record["since"], "2024-02-29");
        assert_eq!(
            record["name"], "Jo",
            "a custom key never hides a standard one"
        );
        assert!(!record.contains_key("user_fields"));
    }

    #[test]
    fn writes_ids_as_integers_lists_as_arrays_and_custom_values_nested() {
        let record = obj(json!({
            "id": "6164125400602", "url": "x", "updated_at": "2024-01-01T00:00:00Z",
            "name": "Acme", "group_id": "42", "tags": "gold;vip", "domain_names": null,
            "tier": "gold", "seats": 12
        }));
        let out = to_zendesk(Kind::Organization, &record);
        assert_eq!(
            Value::Object(out),
            json!({"name": "Acme", "group_id": 42, "tags": ["gold", "vip"], "domain_names": [],
                   "organization_fields": {"tier": "gold", "seats": 12}})
        );
        assert_eq!(id_number(&json!("not an id")), json!("not an id"));
    }

    #[test]
    fn match_keys_and_deletions() {
        let user = obj(json!({"email": "a@b.c", "external_id": " "}));
        assert_eq!(Kind::User.match_key(&user), Some("email"));
        assert_eq!(Kind::Organization.match_key(&user), None);
        assert!(Kind::User.is_deleted(&obj(json!({"active": false}))));
        assert!(!Kind::User.is_deleted(&obj(json!({"active": true}))));
        assert!(Kind::Organization.is_deleted(&obj(json!({"deleted_at": "2024-01-01T00:00:00Z"}))));
        assert!(!Kind::Organization.is_deleted(&obj(json!({"deleted_at": null}))));
        assert_eq!(
            Kind::named("organization", Operation::Read).unwrap(),
            Kind::Organization
        );
        let e = Kind::named("Ticket", Operation::Read).unwrap_err();
        assert!(e.to_string().contains("Organization and User"), "{e}");
    }
}
