//! The two record kinds, their attributes as a table (name, type, default, in the order
//! real Zendesk writes them, reference §4), and reading a written record against it.
//!
//! Attributes Zendesk computes (`id`, `url`, `created_at`, `updated_at`) and unknown
//! attributes are ignored on write, as Zendesk ignores them; a value of the wrong type
//! is a `RecordInvalid` naming the attribute.

use super::errors::FieldError;
use super::fields::Schema;
use serde_json::{json, Map, Value as Json};

/// Organization or User.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Organization,
    User,
}

impl Kind {
    /// Both kinds.
    pub const ALL: [Kind; 2] = [Kind::Organization, Kind::User];

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

    /// `organization_fields` / `user_fields`: the custom-value key and definition path.
    pub fn fields_path(self) -> &'static str {
        match self {
            Kind::Organization => "organization_fields",
            Kind::User => "user_fields",
        }
    }

    /// `organization_field` / `user_field`: the wrapper key of one field definition.
    pub fn field_key(self) -> &'static str {
        match self {
            Kind::Organization => "organization_field",
            Kind::User => "user_field",
        }
    }

    /// `Organization` / `User`, as job types and messages name it.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Organization => "Organization",
            Kind::User => "User",
        }
    }

    /// The kind a path segment names.
    pub fn from_plural(segment: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.plural() == segment)
    }

    /// The attribute table.
    pub fn slots(self) -> &'static [Slot] {
        match self {
            Kind::Organization => ORGANIZATION,
            Kind::User => USER,
        }
    }
}

/// How a written attribute is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// A string or null.
    Text,
    /// A boolean.
    Bool,
    /// A 64-bit id or null.
    Id,
    /// An integer or null.
    Int,
    /// A list of strings (tags, domain names); a write replaces the list.
    List,
    /// Read-only: computed by Zendesk, ignored on write.
    Fixed,
}

/// One attribute's place in a record.
#[derive(Debug, Clone, Copy)]
pub enum Slot {
    Url,
    Id,
    CreatedAt,
    UpdatedAt,
    /// `organization_fields` / `user_fields`.
    Custom,
    /// A standard attribute: name, type, initial value.
    Attr(&'static str, Ty, Init),
}

/// An attribute's value on a new record.
#[derive(Debug, Clone, Copy)]
pub enum Init {
    Null,
    False,
    True,
    Empty,
    Text(&'static str),
    Int(i64),
}

impl Init {
    fn value(self) -> Json {
        match self {
            Init::Null => Json::Null,
            Init::False => json!(false),
            Init::True => json!(true),
            Init::Empty => json!([]),
            Init::Text(t) => json!(t),
            Init::Int(n) => json!(n),
        }
    }
}

use Init as D;
use Slot::Attr;
use Ty::*;

const ORGANIZATION: &[Slot] = &[
    Slot::Url,
    Slot::Id,
    Attr("name", Text, D::Null),
    Attr("shared_tickets", Bool, D::False),
    Attr("shared_comments", Bool, D::False),
    Attr("external_id", Text, D::Null),
    Slot::CreatedAt,
    Slot::UpdatedAt,
    Attr("domain_names", List, D::Empty),
    Attr("details", Text, D::Null),
    Attr("notes", Text, D::Null),
    Attr("group_id", Id, D::Null),
    Attr("tags", List, D::Empty),
    Slot::Custom,
];

const USER: &[Slot] = &[
    Slot::Id,
    Slot::Url,
    Attr("name", Text, D::Null),
    Attr("email", Text, D::Null),
    Slot::CreatedAt,
    Slot::UpdatedAt,
    Attr("time_zone", Text, D::Text("America/New_York")),
    Attr("iana_time_zone", Fixed, D::Text("America/New_York")),
    Attr("phone", Text, D::Null),
    Attr("shared_phone_number", Bool, D::Null),
    Attr("photo", Fixed, D::Null),
    Attr("locale_id", Int, D::Int(1)),
    Attr("locale", Text, D::Text("en-US")),
    Attr("organization_id", Id, D::Null),
    Attr("role", Text, D::Text("end-user")),
    Attr("verified", Bool, D::False),
    Attr("external_id", Text, D::Null),
    Attr("tags", List, D::Empty),
    Attr("alias", Text, D::Null),
    Attr("active", Fixed, D::True),
    Attr("shared", Fixed, D::False),
    Attr("shared_agent", Fixed, D::False),
    Attr("last_login_at", Fixed, D::Null),
    Attr("two_factor_auth_enabled", Fixed, D::False),
    Attr("signature", Text, D::Null),
    Attr("details", Text, D::Null),
    Attr("notes", Text, D::Null),
    Attr("role_type", Fixed, D::Null),
    Attr("custom_role_id", Id, D::Null),
    Attr("moderator", Bool, D::False),
    Attr("ticket_restriction", Text, D::Text("requested")),
    Attr("only_private_comments", Bool, D::False),
    Attr("restricted_agent", Bool, D::True),
    Attr("suspended", Bool, D::False),
    Attr("default_group_id", Id, D::Null),
    Attr("report_csv", Bool, D::False),
    Slot::Custom,
];

/// One organization or user.
#[derive(Debug, Clone)]
pub struct Record {
    /// 64-bit, unique across both kinds.
    pub id: u64,
    /// Epoch seconds.
    pub created_at: i64,
    /// Epoch seconds; never goes backwards.
    pub updated_at: i64,
    /// Standard attributes, every one present.
    pub attrs: Map<String, Json>,
    /// Custom field values, every defined key present.
    pub custom: Map<String, Json>,
    /// Set on a deleted organization kept for the export.
    pub deleted_at: Option<i64>,
}

impl Record {
    /// A new record with every default, before the written attributes are applied.
    pub fn blank(kind: Kind, schema: &Schema, id: u64, now: i64) -> Record {
        let attrs = kind
            .slots()
            .iter()
            .filter_map(|slot| match slot {
                Attr(name, _, default) => Some((name.to_string(), default.value())),
                _ => None,
            })
            .collect();
        let custom = schema
            .fields(kind)
            .iter()
            .map(|f| (f.key.clone(), Json::Null))
            .collect();
        Record {
            id,
            created_at: now,
            updated_at: now,
            attrs,
            custom,
            deleted_at: None,
        }
    }

    /// A standard attribute as text (`None` when null or absent).
    pub fn text(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).and_then(Json::as_str)
    }

    /// The record as Zendesk writes it, with `url` under `base`.
    pub fn to_json(&self, kind: Kind, base: &str) -> Json {
        let mut out = Map::new();
        for slot in kind.slots() {
            let (key, value) = match slot {
                Slot::Url => (
                    "url",
                    json!(format!("{base}/api/v2/{}/{}.json", kind.plural(), self.id)),
                ),
                Slot::Id => ("id", json!(self.id)),
                Slot::CreatedAt => ("created_at", json!(timestamp(self.created_at))),
                Slot::UpdatedAt => ("updated_at", json!(timestamp(self.updated_at))),
                Slot::Custom => (kind.fields_path(), Json::Object(self.custom.clone())),
                Attr(name, ..) => (*name, self.attrs.get(*name).cloned().unwrap_or_default()),
            };
            out.insert(key.to_string(), value);
        }
        if let Some(deleted) = self.deleted_at {
            out.insert("deleted_at".into(), json!(timestamp(deleted)));
        }
        Json::Object(out)
    }
}

/// A written record read against the attribute table: the standard attributes and the
/// custom values it sets, in writing order.
#[derive(Debug, Clone, PartialEq)]
pub struct Changes {
    /// Standard attributes written.
    pub attrs: Vec<(&'static str, Json)>,
    /// Custom field values written (checked).
    pub custom: Vec<(String, Json)>,
}

/// Reads a written record (`{"name": …, "organization_fields": {…}}`), collecting
/// every type problem.
pub fn read_changes(
    kind: Kind,
    schema: &Schema,
    body: &Map<String, Json>,
) -> Result<Changes, Vec<FieldError>> {
    let mut changes = Changes {
        attrs: Vec::new(),
        custom: Vec::new(),
    };
    let mut problems = Vec::new();
    for (key, value) in body {
        if key == kind.fields_path() {
            let Some(values) = value.as_object() else {
                problems.push(FieldError::new(
                    key,
                    "InvalidValue",
                    format!("{key}: is invalid"),
                ));
                continue;
            };
            for (field, value) in values {
                if let Some(def) = schema.fields(kind).iter().find(|d| &d.key == field) {
                    match def.check(value) {
                        Ok(v) => changes.custom.push((field.clone(), v)),
                        Err(e) => problems.push(e),
                    }
                }
            }
            continue;
        }
        let Some((name, ty)) = kind.slots().iter().find_map(|slot| match slot {
            Attr(name, ty, _) if name == key => Some((*name, *ty)),
            _ => None,
        }) else {
            continue;
        };
        match read_value(ty, value) {
            Some(Some(v)) => changes.attrs.push((name, v)),
            Some(None) => {}
            None => problems.push(FieldError::new(
                name,
                "InvalidValue",
                format!("{}: is invalid", label(name)),
            )),
        }
    }
    if problems.is_empty() {
        Ok(changes)
    } else {
        Err(problems)
    }
}

/// `Some(Some(v))` to store, `Some(None)` to ignore, `None` when the type is wrong.
fn read_value(ty: Ty, value: &Json) -> Option<Option<Json>> {
    let stored = match (ty, value) {
        (Fixed, _) => return Some(None),
        (_, Json::Null) if ty != Bool && ty != List => Json::Null,
        (Text, Json::String(_)) | (Bool, Json::Bool(_)) => value.clone(),
        (Text, Json::Number(n)) => json!(n.to_string()),
        (Id | Int, Json::Number(n)) if n.is_u64() || n.is_i64() => value.clone(),
        (Id | Int, Json::String(s)) => json!(s.trim().parse::<u64>().ok()?),
        (List, Json::Array(items)) => {
            let mut out: Vec<Json> = Vec::new();
            for item in items {
                let text = json!(item.as_str()?.trim());
                if !out.contains(&text) && text != json!("") {
                    out.push(text);
                }
            }
            Json::Array(out)
        }
        (List, Json::String(s)) => s
            .split([' ', ','])
            .filter(|t| !t.is_empty())
            .map(|t| json!(t))
            .collect(),
        _ => return None,
    };
    Some(Some(stored))
}

/// `external_id` → `External id`, as Zendesk capitalizes an attribute in a message.
pub fn label(name: &str) -> String {
    let text = name.replace('_', " ");
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

/// Epoch seconds as Zendesk writes a timestamp: `2023-09-18T23:37:07Z`.
pub fn timestamp(secs: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// Reads a timestamp as Zendesk writes it (or any RFC 3339 one) into epoch seconds.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// The admin clock's `now` for a Zendesk account (epoch milliseconds in).
pub fn clock_time(ms: i64) -> String {
    timestamp(ms.div_euclid(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_second_precision_utc() {
        assert_eq!(timestamp(1_695_080_227), "2023-09-18T23:37:07Z");
        assert_eq!(parse_timestamp("2023-09-18T23:37:07Z"), Some(1_695_080_227));
        assert_eq!(parse_timestamp("2023-09-18 23:37"), None);
    }

    #[test]
    fn written_values_are_read_by_type() {
        let cases = [
            (Text, json!("x"), Some(Some(json!("x")))),
            (Text, json!(42), Some(Some(json!("42")))),
            (Text, json!([1]), None),
            (Bool, json!(true), Some(Some(json!(true)))),
            (Bool, Json::Null, None),
            (
                Id,
                json!(6_164_125_400_602u64),
                Some(Some(json!(6_164_125_400_602u64))),
            ),
            (Id, json!("12"), Some(Some(json!(12)))),
            (Id, json!("x"), None),
            (
                List,
                json!(["a", "b", "a", " "]),
                Some(Some(json!(["a", "b"]))),
            ),
            (List, json!("a b,c"), Some(Some(json!(["a", "b", "c"])))),
            (List, json!([1]), None),
            (Fixed, json!("whatever"), Some(None)),
        ];
        for (ty, input, expected) in cases {
            assert_eq!(read_value(ty, &input), expected, "{ty:?} {input}");
        }
    }
}
