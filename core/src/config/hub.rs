//! The hub-and-spoke block: `sync_hub` with its `connected_systems`.
//!
//! A hub names the Postgres database as the coordination point and the remote objects
//! that meet there; `hubsync.create_hub` validates and stores it.

use super::model::{ConnectedSystem, HubConfig, SystemKind};
use super::scalars::{ApiName, Name};
use super::walker::{Obj, Problems};
use crate::problem::Problem;
use serde_json::Value;

const HUB_KEYS: &[&str] = &["sync_hub", "connected_systems"];
const SYSTEM_KEYS: &[&str] = &["system", "objects"];

/// Parses a hub config, reporting every problem with its path.
pub fn parse_hub(json: &Value) -> Result<HubConfig, Vec<Problem>> {
    let mut problems = Problems::default();
    let Some(root) = Obj::open(json, "", HUB_KEYS, &mut problems) else {
        return Err(problems.into_vec());
    };
    let name = root.require::<Name>(
        "sync_hub",
        "the hub's name, e.g. \"postgres_data_hub\"",
        &mut problems,
    );
    let systems = connected_systems(&root, &mut problems);
    match name {
        Some(name) => problems.finish(HubConfig {
            name: name.0,
            systems,
        }),
        None => Err(problems.into_vec()),
    }
}

fn connected_systems(root: &Obj, problems: &mut Problems) -> Vec<ConnectedSystem> {
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
        .filter_map(|(path, v)| connected_system(path, v, problems).map(|s| (path.clone(), s)))
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

fn connected_system(path: &str, value: &Value, problems: &mut Problems) -> Option<ConnectedSystem> {
    let obj = Obj::open(value, path, SYSTEM_KEYS, problems)?;
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
    Some(ConnectedSystem {
        system: system?,
        objects,
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
