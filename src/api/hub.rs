//! `hubsync.create_hub`, `alter_hub`, `drop_hub`: a hub-and-spoke block turned into running
//! syncs. Each object a connected system lists is described through its connector, mirrored
//! into a table of its own (`salesforce.account`, see `hubsync_core::hub`) created as the
//! calling role, and kept in sync both ways by a sync that role owns.
//!
//! Everything happens in the caller's transaction: if one object cannot be described or its
//! table cannot be created, nothing of the hub is left behind. Objects of a system whose
//! connection has no credentials yet wait, with a NOTICE saying what to do.

use super::config::caller;
use crate::catalog::credentials;
use crate::error::{raise, raise_problems, spi};
use hubsync_core::config::{
    defaults::API_VERSION, parse_hub, secrets::ENDPOINT_KEYS, ConnectedSystem, HubConfig,
};
use hubsync_core::connector::Endpoint;
use hubsync_core::hub;
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode};
use serde_json::{json, Map, Value};

/// Validates a hub, mirrors every object it lists and starts their syncs; returns its name.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_catalog, pg_temp)]
fn create_hub(config: JsonB) -> String {
    let role = caller();
    let hub = parsed(&config.0);
    let inserted = spi(
        crate::catalog::optional(Spi::get_one_with_args::<bool>(
            "INSERT INTO hubsync.hub (name, config, owner) VALUES ($1, $2, $3::oid::regrole) \
             ON CONFLICT (name) DO NOTHING RETURNING true",
            &[hub.name.as_str().into(), config.into(), role.into()],
        )),
        "store the hub",
    );
    if inserted.is_none() {
        raise(
            PgSqlErrorCode::ERRCODE_DUPLICATE_OBJECT,
            format!("a hub named \"{}\" already exists", hub.name),
            "Choose another sync_hub name, or change it with hubsync.alter_hub().",
        );
    }
    for system in &hub.systems {
        for object in &system.objects {
            add_object(&hub.name, system, object, role);
        }
    }
    hub.name
}

/// Changes a hub to `config` (same `sync_hub`): objects now listed are mirrored and synced,
/// objects no longer listed lose their sync (their tables stay, with their data).
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_catalog, pg_temp)]
fn alter_hub(config: JsonB) {
    let role = caller();
    let hub = parsed(&config.0);
    let running = managed_hub(&hub.name, role);
    let wanted: Vec<(&ConnectedSystem, &String)> = hub
        .systems
        .iter()
        .flat_map(|s| s.objects.iter().map(move |o| (s, o)))
        .collect();
    for (system, object, sync) in &running {
        let kept = wanted
            .iter()
            .any(|(s, o)| s.system.word() == system && *o == object);
        if !kept {
            super::config::remove(sync, role);
        }
    }
    for (system, object) in wanted {
        let exists = running
            .iter()
            .any(|(s, o, _)| s == system.system.word() && o == object);
        if !exists {
            add_object(&hub.name, system, object, role);
        }
    }
    spi(
        Spi::run_with_args(
            "UPDATE hubsync.hub SET config = $2 WHERE name = $1",
            &[hub.name.as_str().into(), config.into()],
        ),
        "update the hub",
    );
}

/// Removes a hub and its syncs; with `drop_tables`, its mirrored tables too.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_catalog, pg_temp)]
fn drop_hub(name: &str, drop_tables: default!(bool, false)) {
    let role = caller();
    let running = managed_hub(name, role);
    for (_, _, sync) in &running {
        let table = drop_tables.then(|| mirrored_table(sync)).flatten();
        super::config::remove(sync, role);
        if let Some(table) = table {
            crate::privilege::as_role(role, || {
                spi(
                    Spi::run(&format!("DROP TABLE IF EXISTS {table}")),
                    "drop a mirrored table",
                )
            });
        }
    }
    spi(
        Spi::run_with_args("DELETE FROM hubsync.hub WHERE name = $1", &[name.into()]),
        "delete the hub",
    );
}

fn parsed(config: &Value) -> HubConfig {
    parse_hub(config).unwrap_or_else(|problems| {
        raise_problems(
            "invalid hub config",
            &problems,
            "See docs/hub.md for the hub block and its keys.",
        )
    })
}

/// The hub's (system, object, sync name) rows, if `role` may manage it; raises otherwise.
fn managed_hub(name: &str, role: pg_sys::Oid) -> Vec<(String, String, String)> {
    let owner = spi(
        crate::catalog::optional(Spi::get_one_with_args::<pg_sys::Oid>(
            "SELECT coalesce(owner::oid, 0::oid) FROM hubsync.hub WHERE name = $1 FOR UPDATE",
            &[name.into()],
        )),
        "read hubsync.hub",
    )
    .unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("hubsync hub \"{name}\" does not exist"),
            "SELECT DISTINCT hub FROM hubsync.hubs lists the hubs.",
        )
    });
    // A hub stored before hubs had owners (0.1.0) is a superuser's to change.
    let may = if owner == pg_sys::InvalidOid {
        unsafe { pg_sys::superuser_arg(role) }
    } else {
        spi(
            crate::catalog::syncs::may_manage(role, owner),
            "check privileges",
        )
    };
    if !may {
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("permission denied for hubsync hub \"{name}\""),
            "Only the role that created the hub (or a member of it) can change it.",
        );
    }
    spi(
        Spi::connect(|client| {
            client
                .select(
                    "SELECT h.system, h.object, s.name FROM hubsync.hub_sync h \
                     JOIN hubsync.sync s ON s.id = h.sync_id WHERE h.hub = $1 ORDER BY 1, 2",
                    None,
                    &[name.into()],
                )?
                .map(|row| {
                    Ok((
                        row.get::<String>(1)?.unwrap_or_default(),
                        row.get::<String>(2)?.unwrap_or_default(),
                        row.get::<String>(3)?.unwrap_or_default(),
                    ))
                })
                .collect()
        }),
        "read the hub's syncs",
    )
}

/// The mirrored table of a hub's sync, qualified and quoted.
fn mirrored_table(sync: &str) -> Option<String> {
    spi(
        crate::catalog::optional(Spi::get_one_with_args::<String>(
            "SELECT local_table::text FROM hubsync.sync WHERE name = $1",
            &[sync.into()],
        )),
        "find a mirrored table",
    )
}

/// Describes one object, creates its mirrored table as `role` and the sync that fills it;
/// an object whose connection has no credentials yet waits (`hubsync.hubs` shows it), and
/// `alter_hub` mirrors it once they are stored.
fn add_object(hub: &str, system: &ConnectedSystem, object: &str, role: pg_sys::Oid) {
    let stored = spi(
        credentials::load(&system.connection, role),
        "read the credentials",
    );
    let Some(secret) = stored else {
        notice!(
            "hub \"{hub}\": {} object \"{object}\" waits for credentials: store them with \
             hubsync.set_credentials('{}', ...) (with instance_url), then call \
             hubsync.alter_hub() with the same block to mirror it",
            system.system.label(),
            system.connection
        );
        return;
    };
    let endpoint = endpoint_of(system, &secret);
    let describe = describe(system, object, &endpoint, &secret);
    let mirror = hub::mirror(system.system, &describe, &system.selection);
    let ddl = hub::ddl(&mirror);
    crate::privilege::as_role(role, || {
        let missing = spi(
            Spi::get_one_with_args::<bool>(
                "SELECT pg_catalog.to_regnamespace($1) IS NULL",
                &[mirror.schema.as_str().into()],
            ),
            "look for the mirror's schema",
        );
        if missing.unwrap_or(true) {
            spi(Spi::run(&ddl.schema), "create the mirror's schema");
        }
        spi(Spi::run(&ddl.table), "create the mirrored table");
    });
    let name = hub::sync_name(hub, system.system, object);
    let remote = json!({
        "type": system.system.word(),
        "object": describe.name,
        "credentials": Value::Object(endpoint),
    });
    let config = hub::sync_config(&name, &system.connection, remote, &mirror);
    let created = super::config::create(&config, &[], role);
    spi(
        Spi::run_with_args(
            "INSERT INTO hubsync.hub_sync (hub, system, object, sync_id) \
             SELECT $1, $2, $3, id FROM hubsync.sync WHERE name = $4",
            &[
                hub.into(),
                system.system.word().into(),
                object.into(),
                created.as_str().into(),
            ],
        ),
        "record the hub's sync",
    );
}

/// Where the system is: the hub's `credentials` block, else what the stored credentials say.
fn endpoint_of(system: &ConnectedSystem, secret: &Value) -> Map<String, Value> {
    if !system.endpoint.is_empty() {
        return system.endpoint.clone();
    }
    ENDPOINT_KEYS
        .iter()
        .filter_map(|k| secret.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect()
}

fn describe(
    system: &ConnectedSystem,
    object: &str,
    endpoint: &Map<String, Value>,
    secret: &Value,
) -> hubsync_core::connector::ObjectDescribe {
    let text = |key: &str| {
        endpoint
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let at = Endpoint {
        system: system.system,
        instance_url: text("instance_url"),
        account_id: text("account_id"),
        login_url: text("login_url"),
        api_version: API_VERSION.to_string(),
    };
    let unreachable = |why: String| -> ! {
        raise(
            PgSqlErrorCode::ERRCODE_CONNECTION_FAILURE,
            format!(
                "cannot describe {} object \"{object}\" through connection \"{}\": {why}",
                system.system.label(),
                system.connection
            ),
            "A hub creates its tables from the objects' describes: check the connection's \
             credentials and instance_url, then create the hub again.",
        )
    };
    let connector = crate::connection::connector_at(&at, secret, 1, super::remote_check::WAIT)
        .unwrap_or_else(|problem| unreachable(problem));
    super::remote_check::describe_now(connector, object).unwrap_or_else(|error| {
        unreachable(error.map_or_else(|| "no answer within 5 seconds".into(), |e| e.to_string()))
    })
}
