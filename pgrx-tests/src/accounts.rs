//! The product brief's `accounts` table and its Salesforce sync, pointed at an emulator.

use crate::remote::{Remote, CLIENT_ID, CLIENT_SECRET};
use crate::{fixtures, Cluster};
use hubsync_core::config::merge_patch;
use postgres::Client;
use serde_json::{json, Value};

/// The brief's sync name.
pub const SYNC: &str = "SF_Postgres_Accounts";

/// A cluster, an emulator and a sync between them.
pub struct AccountsSync {
    pub cluster: Cluster,
    pub remote: Remote,
    /// The sync's name.
    pub name: String,
}

/// A config patch that polls every second, so tests never wait long for the next pull.
/// It polls only (`mode: polling`): streaming is tested in `tests/cdc.rs`, and a streaming
/// sync polls at the safety interval, which is what these tests must not wait for.
pub fn fast_polling() -> Value {
    json!({"sync_settings": {"ongoing_sync": {"mode": "polling", "polling_interval_seconds": 1}}})
}

/// Starts a cluster (with `extra` settings) and an emulator, creates the brief's `accounts`
/// table and the brief's sync with `patch` merged into its config (RFC 7386), pointed at
/// the emulator with the demo credentials.
pub fn accounts_sync(name: &str, extra: &[(&str, &str)], patch: Value) -> AccountsSync {
    accounts_sync_with(Remote::start(), name, extra, patch)
}

/// Like [`accounts_sync`], against an emulator the test started itself.
pub fn accounts_sync_with(
    remote: Remote,
    name: &str,
    extra: &[(&str, &str)],
    patch: Value,
) -> AccountsSync {
    fixture_sync(
        remote,
        name,
        extra,
        &fixtures::text("tables/accounts.sql"),
        fixtures::json("bases/accounts_full.json"),
        patch,
    )
}

/// A sync from a fixture: `table_sql` creates its table, `base` is its config,
/// `patch` is merged into it, and it is pointed at `remote` with the demo credentials.
pub fn fixture_sync(
    remote: Remote,
    name: &str,
    extra: &[(&str, &str)],
    table_sql: &str,
    base: Value,
    patch: Value,
) -> AccountsSync {
    fixture_sync_on(Cluster::start(name, extra), remote, table_sql, base, patch)
}

/// Like [`fixture_sync`], on a cluster whose `customer_data` database the test prepared
/// itself (say, with an older version of the extension).
pub fn fixture_sync_on(
    cluster: Cluster,
    remote: Remote,
    table_sql: &str,
    base: Value,
    patch: Value,
) -> AccountsSync {
    let mut db = cluster.client();
    db.batch_execute(table_sql).expect("create the table");
    let sync = create_pointed_sync(&mut db, &remote, &base, &patch);
    AccountsSync {
        cluster,
        remote,
        name: sync,
    }
}

impl AccountsSync {
    /// A new connection to `customer_data`.
    pub fn db(&self) -> Client {
        self.cluster.client()
    }

    /// What the sync's tables say, for failure messages.
    pub fn diagnostics(&self) -> String {
        let mut db = self.db();
        let queries = [
            "SELECT row_to_json(s)::text FROM hubsync.status s",
            "SELECT count(*)::text || ' outbox rows' FROM hubsync.outbox",
            "SELECT coalesce(string_agg(state || ': ' || n, ', '), 'none') FROM \
             (SELECT state, count(*) n FROM hubsync.record_state GROUP BY state) x",
            "SELECT coalesce(string_agg(kind || ' ' || coalesce(error_code, '') || ': ' || n, ', '), 'no review') FROM \
             (SELECT kind, error_code, count(*) n FROM hubsync.review GROUP BY 1, 2) x",
            "SELECT count(*)::text || ' local rows, ' || count(sf_id) || ' linked' FROM accounts",
            "SELECT coalesce(string_agg(row_to_json(c)::text, E'\n'), 'no conflicts') FROM hubsync.conflicts c",
            "SELECT coalesce(string_agg(row_to_json(a)::text, E'\n'), 'no rows') FROM accounts a",
        ];
        let mut out = String::new();
        for q in queries {
            if let Ok(row) = db.query_one(q, &[]) {
                out.push_str(&row.get::<_, String>(0));
                out.push('\n');
            }
        }
        let changes = self.remote.admin("GET", "changes/Account", None);
        out.push_str(&format!("remote changes: {changes}\n"));
        out + &self.cluster.log_tail()
    }

    /// Waits until the sync's outbox is empty (everything pushed or parked for review).
    pub fn wait_idle(&self, db: &mut Client) {
        let idle: bool = db
            .query_one(
                "SELECT hubsync.wait_for_idle($1, '120 seconds')",
                &[&self.name],
            )
            .expect("wait_for_idle")
            .get(0);
        assert!(idle, "the outbox did not drain\n{}", self.diagnostics());
    }
}

/// Creates the sync `base` with `patch` merged in (RFC 7386) describes, as `db`'s role,
/// pointed at `remote` with the demo credentials stored for its connection; its name.
pub fn create_pointed_sync(
    db: &mut Client,
    remote: &Remote,
    base: &Value,
    patch: &Value,
) -> String {
    let pointed = json!({"source": {"credentials": {"instance_url": remote.url()}}});
    let config = merge_patch(&merge_patch(base, &pointed), patch);
    let sync: String = db
        .query_one("SELECT hubsync.create_sync($1)", &[&config])
        .expect("create the sync")
        .get(0);
    let secret = json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET});
    db.execute("SELECT hubsync.set_credentials($1, $2)", &[&sync, &secret])
        .expect("set credentials");
    sync
}
