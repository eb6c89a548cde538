//! The hub-and-spoke block: `sync_hub` with its `connected_systems`.
//!
//! A hub names the Postgres database as the coordination point and the remote objects
//! that meet there; `hubsync.create_hub` mirrors each object into a table of its own (see
//! [`crate::hub`]). Beyond the brief's keys, a hub and each system may carry
//! `field_selection` / `include_fields` / `exclude_fields`, and a system its
//! `connection_name` and `credentials` (`instance_url`, `login_url`).

use super::model::{ConnectedSystem, FieldSelection, HubConfig, SystemKind};
use super::scalars::{ApiName, Name};
use super::secrets::ENDPOINT_KEYS;
use super::walker::{Obj, Problems};
use crate::problem::Problem;
use serde_json::{Map, Value};

const SELECTION_KEYS: &[&str] = &["field_selection", "include_fields", "exclude_fields"];
const HUB_KEYS: &[&str] = &["sync_hub", "connected_systems"];
const SYSTEM_KEYS: &[&str] = &["system", "objects", "connection_name", "credentials"];

/// Parses a hub config, reporting every problem with its path.
pub fn parse_hub(json: &Value) -> Result<HubConfig, Vec<Problem>> {
    let mut problems = Problems::default();
    let Some(root) = Obj::open(
        json,
        "",
        &[HUB_KEYS, SELECTION_KEYS].concat(),
        &mut problems,
    ) else {
        return Err(problems.into_vec());
    };
    let name = root.require::<Name>(
        "sync_hub",
        "the hub's name, e.g. \"postgres_data_hub\"",
        &mut problems,
    );
    let selection = selection(&root, &mut problems);
    let systems = connected_systems(&root, &selection, &mut problems);
    match name {
        Some(name) => problems.finish(HubConfig {
            name: name.0,
            systems,
        }),
        None => Err(problems.into_vec()),
    }
}

/// A `field_selection` block, or every field when there is none.
fn selection(obj: &Obj, problems: &mut Problems) -> Option<FieldSelection> {
    SELECTION_KEYS
        .iter()
        .any(|k| obj.has(k))
        .then(|| super::parse::field_selection(obj, problems))
}

fn connected_systems(
    root: &Obj,
    selection: &Option<FieldSelection>,
    problems: &mut Problems,
) -> Vec<ConnectedSystem> {
    if !root.has("connected_systems") {
        problems.invalid(
            "connected_systems",
            "required key is missing; expected systems such as [{\"system\": \"salesforce\", \"objects\": [\"Account\"]}]",
        );
        return Vec::new();
    }
    let items = root.items("connected_systems", problems);
    if items.is_empty() {
        problems.invalid(
            "connected_systems",
            "expected at least one connected system",
        );
    }
    let systems: Vec<(String, ConnectedSystem)> = items
        .iter()
        .filter_map(|(path, v)| {
            connected_system(path, v, selection, problems).map(|s| (path.clone(), s))
        })
        .collect();
    for (i, (path, system)) in systems.iter().enumerate() {
        if let Some((first, _)) = systems[..i].iter().find(|(_, s)| s.system == system.system) {
            problems.invalid(
                &format!("{path}.system"),
                format!("this system is already connected at {first}; list its objects there"),
            );
        }
    }
    systems.into_iter().map(|(_, s)| s).collect()
}

fn connected_system(
    path: &str,
    value: &Value,
    hub_selection: &Option<FieldSelection>,
    problems: &mut Problems,
) -> Option<ConnectedSystem> {
    let obj = Obj::open(
        value,
        path,
        &[SYSTEM_KEYS, SELECTION_KEYS].concat(),
        problems,
    )?;
    let system = obj.require::<SystemKind>(
        "system",
        "a remote system: salesforce, netsuite or zendesk",
        problems,
    );
    if system == Some(SystemKind::Postgres) {
        problems.invalid(
            &obj.at("system"),
            "postgres is the hub itself; connected systems are the remote ones",
        );
    }
    let objects = obj.require::<Vec<ApiName>>(
        "objects",
        "the object names to sync, e.g. [\"Account\"]",
        problems,
    );
    let objects: Vec<String> = objects?.into_iter().map(|o| o.0).collect();
    if objects.is_empty() {
        problems.invalid(&obj.at("objects"), "expected at least one object");
    }
    for (i, object) in objects.iter().enumerate() {
        if objects[..i].contains(object) {
            problems.invalid(
                &format!("{}[{i}]", obj.at("objects")),
                format!("'{object}' is listed twice"),
            );
        }
    }
    let system = system?;
    let connection = obj
        .get::<Name>("connection_name", problems)
        .map_or_else(|| system.word().to_string(), |n| n.0);
    let endpoint: Map<String, Value> = match obj.object("credentials", ENDPOINT_KEYS, problems) {
        Some(creds) => ENDPOINT_KEYS
            .iter()
            .filter_map(|k| {
                creds
                    .get::<String>(k, problems)
                    .map(|v| (k.to_string(), v.into()))
            })
            .collect(),
        None => Map::new(),
    };
    let selection = selection(&obj, problems)
        .or_else(|| hub_selection.clone())
        .unwrap_or(FieldSelection {
            explicit: false,
            include: Vec::new(),
            exclude: Vec::new(),
        });
    Some(ConnectedSystem {
        system,
        objects,
        connection,
        endpoint,
        selection,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_briefs_hub_parses() {
        let hub = parse_hub(&json!({
            "sync_hub": "postgres_data_hub",
            "connected_systems": [
                {"system": "salesforce", "objects": ["Account", "Contact"]},
                {"system": "netsuite", "objects": ["Customer", "Contact"]},
                {"system": "zendesk", "objects": ["Organization", "User"]}
            ]
        }))
        .unwrap();
        assert_eq!(hub.name, "postgres_data_hub");
        assert_eq!(hub.systems.len(), 3);
        assert_eq!(hub.systems[2].system, SystemKind::Zendesk);
        assert_eq!(hub.systems[1].objects, ["Customer", "Contact"]);
        assert_eq!(hub.systems[0].connection, "salesforce");
        assert!(hub.systems[0].endpoint.is_empty());
        assert!(!hub.systems[0].selection.explicit);
    }

    #[test]
    fn a_hub_may_say_where_each_system_is_and_which_fields_to_mirror() {
        let hub = parse_hub(&json!({
            "sync_hub": "hub",
            "field_selection": "all",
            "exclude_fields": ["SystemModstamp"],
            "connected_systems": [
                {"system": "salesforce", "objects": ["Account"], "connection_name": "crm",
                 "credentials": {"instance_url": "http://127.0.0.1:1"},
                 "field_selection": "explicit", "include_fields": ["Name"]},
                {"system": "zendesk", "objects": ["User"]}
            ]
        }))
        .unwrap();
        let (sf, zd) = (&hub.systems[0], &hub.systems[1]);
        assert_eq!(sf.connection, "crm");
        assert_eq!(sf.endpoint["instance_url"], "http://127.0.0.1:1");
        assert!(sf.selection.explicit);
        assert_eq!(sf.selection.include, ["Name"]);
        assert_eq!(
            zd.selection.exclude,
            ["SystemModstamp"],
            "the hub's selection"
        );
        let problems = parse_hub(&json!({
            "sync_hub": "hub",
            "connected_systems": [{"system": "salesforce", "objects": ["Account"],
                                   "credentials": {"client_secret": "x", "instance_url": 1}}]
        }))
        .unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "connected_systems[0].credentials.client_secret",
                "connected_systems[0].credentials.instance_url"
            ]
        );
    }

    #[test]
    fn hub_problems_are_all_reported_with_paths() {
        let problems = parse_hub(&json!({
            "sync_hub": "my hub",
            "connected_systems": [
                {"system": "salesforce", "objects": ["Account", "Account"]},
                {"system": "postgres", "objects": ["x"]},
                {"system": "salesforce", "objects": []},
                {"system": "sap", "objects": ["Kunde"], "mode": 1}
            ]
        }))
        .unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "sync_hub",
                "connected_systems[0].objects[1]",
                "connected_systems[1].system",
                "connected_systems[2].objects",
                "connected_systems[3].mode",
                "connected_systems[3].system",
                "connected_systems[2].system",
            ]
        );
    }
}
