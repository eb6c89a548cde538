//! The Zendesk emulator, started in-process, what tests ask it (records, changes made "in
//! Zendesk", fault injection), and a cluster with a sync pointed at it.

use crate::Cluster;
use hubsync_core::config::merge_patch;
use hubsync_emulator::{start_zendesk, RunningEmulator, ZendeskOptions};
use postgres::Client;
use serde_json::{json, Value};

/// The demo agent, as `ZendeskOptions::default()` configures it.
pub const ZENDESK_EMAIL: &str = "demo@hubsync.local";
/// The demo agent's API token.
pub const ZENDESK_TOKEN: &str = "hubsync-demo-token";

/// A running Zendesk emulator with the example custom fields.
pub struct Zendesk {
    emulator: RunningEmulator,
    agent: ureq::Agent,
}

impl Zendesk {
    /// Starts an emulator whose exports show changes at once (no one-minute lag) and whose
    /// export limit does not slow tests that poll every second.
    pub fn start() -> Zendesk {
        let emulator = start_zendesk(ZendeskOptions {
            export_lag_secs: 0,
            export_rate_limit: 100_000,
            rate_limit: 100_000,
            schema_json: Some(
                std::fs::read_to_string(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../emulator/examples/zendesk-schema.json"
                ))
                .expect("read the example Zendesk schema"),
            ),
            ..ZendeskOptions::default()
        })
        .expect("start the Zendesk emulator");
        Zendesk {
            emulator,
            agent: ureq::AgentBuilder::new().build(),
        }
    }

    /// Base URL, the sync's `credentials.url`.
    pub fn url(&self) -> &str {
        self.emulator.url()
    }

    /// Calls `/__emulator/<path>` and returns its JSON answer.
    pub fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        crate::admin::call(&self.agent, self.url(), method, path, body)
    }

    /// Calls the Support API as the demo agent (a change made "in Zendesk"); `Null` for
    /// an answer without body.
    pub fn api(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/api/v2/{path}", self.url());
        let request = self
            .agent
            .request(method, &url)
            .auth_token(ZENDESK_EMAIL, ZENDESK_TOKEN);
        let response = match body {
            Some(body) => request.send_json(body),
            None => request.call(),
        }
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let text = response.into_string().expect("a readable answer");
        if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("a JSON answer")
        }
    }

    /// The live records of `kind` (`organizations` / `users`): soft-deleted users left out.
    pub fn records(&self, kind: &str) -> Vec<Value> {
        let all = self.admin("GET", &format!("records/{kind}"), None);
        all[kind]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r["active"] != json!(false))
            .collect()
    }

    /// Replaces the fault rules.
    pub fn inject(&self, rules: Value) {
        self.admin("PUT", "faults", Some(json!({"rules": rules})));
    }

    /// Removes every fault rule.
    pub fn heal(&self) {
        self.admin("DELETE", "faults", None);
    }
}

/// Basic auth as `{email}/token:{token}`, the way Zendesk API tokens are sent.
trait TokenAuth {
    fn auth_token(self, email: &str, token: &str) -> Self;
}

impl TokenAuth for ureq::Request {
    fn auth_token(self, email: &str, token: &str) -> Self {
        use base64::Engine;
        let pair =
            base64::engine::general_purpose::STANDARD.encode(format!("{email}/token:{token}"));
        self.set("Authorization", &format!("Basic {pair}"))
    }
}

/// A cluster, a Zendesk emulator and a sync between them.
pub struct ZendeskSync {
    pub cluster: Cluster,
    pub zendesk: Zendesk,
    /// The sync's name.
    pub name: String,
}

impl ZendeskSync {
    /// Starts a cluster and runs `table_sql` in it, then creates the sync `config`
    /// pointed at `zendesk` (its `url`) with the demo agent's API token.
    pub fn start(name: &str, zendesk: Zendesk, table_sql: &str, config: &Value) -> ZendeskSync {
        let cluster = Cluster::start(name, &[]);
        let mut db = cluster.client();
        db.batch_execute(table_sql).expect("create the table");
        let pointed = json!({"source": {"credentials": {"url": zendesk.url()}}});
        let config = merge_patch(config, &pointed);
        let sync: String = db
            .query_one("SELECT hubsync.create_sync($1)", &[&config])
            .expect("create the sync")
            .get(0);
        let secret = json!({"email": ZENDESK_EMAIL, "api_token": ZENDESK_TOKEN});
        db.execute("SELECT hubsync.set_credentials($1, $2)", &[&sync, &secret])
            .expect("set credentials");
        ZendeskSync {
            cluster,
            zendesk,
            name: sync,
        }
    }

    /// A new connection to the test database.
    pub fn db(&self) -> Client {
        self.cluster.client()
    }

    /// What the sync's tables and the emulator say, for failure messages.
    pub fn diagnostics(&self) -> String {
        let mut db = self.db();
        let queries = [
            "SELECT row_to_json(s)::text FROM hubsync.status s",
            "SELECT count(*)::text || ' outbox rows' FROM hubsync.outbox",
            "SELECT coalesce(string_agg(coalesce(error_code, '') || ': ' || error_message, E'\n'), 'no review') \
             FROM hubsync.review_queue",
            "SELECT coalesce(string_agg(row_to_json(c)::text, E'\n'), 'no conflicts') FROM \
             (SELECT * FROM hubsync.conflicts ORDER BY id LIMIT 5) c",
            "SELECT coalesce(string_agg(level || ' ' || message, E'\n'), 'no log') FROM \
             (SELECT * FROM hubsync.logs ORDER BY id DESC LIMIT 15) l",
            "SELECT coalesce(string_agg(op || ' ' || state || ': ' || n, ', '), 'no record status') FROM \
             (SELECT last_op AS op, state, count(*) n FROM hubsync.record_status GROUP BY 1, 2) x",
        ];
        let mut out = String::new();
        for q in queries {
            if let Ok(row) = db.query_one(q, &[]) {
                out.push_str(&row.get::<_, String>(0));
                out.push('\n');
            }
        }
        out.push_str(&format!(
            "counters: {}\n",
            self.zendesk.admin("GET", "counters", None)
        ));
        out + &self.cluster.log_tail()
    }

    /// Waits until the sync's outbox is empty (everything pushed or parked for review).
    pub fn wait_idle(&self, db: &mut Client) {
        let idle: bool = db
            .query_one(
                "SELECT hubsync.wait_for_idle($1, '180 seconds')",
                &[&self.name],
            )
            .expect("wait_for_idle")
            .get(0);
        assert!(idle, "the outbox did not drain\n{}", self.diagnostics());
    }
}
