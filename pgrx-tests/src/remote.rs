//! The emulator, started in-process, and what tests ask it: SOQL through its REST API,
//! its admin counters, fault injection.

use hubsync_emulator::{start, EmulatorOptions, RunningEmulator};
use serde_json::{json, Value};

/// The demo org's OAuth client, as `EmulatorOptions::default()` configures it.
pub const CLIENT_ID: &str = "hubsync-demo-client";
/// The demo org's OAuth client secret.
pub const CLIENT_SECRET: &str = "hubsync-demo-secret";

/// A running emulator with the example schema (Account gets the External ID `Hubsync_Id__c`).
pub struct Remote {
    emulator: RunningEmulator,
    agent: ureq::Agent,
}

impl Remote {
    /// Starts an emulator with `emulator/examples/schema.json`.
    pub fn start() -> Remote {
        Remote::start_with(|_| {})
    }

    /// Starts an emulator with the example schema as changed by `adjust` (e.g. to add
    /// validation rules).
    pub fn start_with(adjust: impl FnOnce(&mut Value)) -> Remote {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../emulator/examples/schema.json"
        ))
        .expect("read the example schema");
        let mut schema: Value = serde_json::from_str(&text).expect("parse the example schema");
        adjust(&mut schema);
        let emulator = start(EmulatorOptions {
            schema_json: Some(schema.to_string()),
            ..EmulatorOptions::default()
        })
        .expect("start the emulator");
        Remote {
            emulator,
            agent: ureq::AgentBuilder::new().build(),
        }
    }

    /// Base URL, the sync's `instance_url`.
    pub fn url(&self) -> &str {
        self.emulator.url()
    }

    /// Every record a SOQL query returns (`queryAll` when `all`), following `nextRecordsUrl`.
    pub fn query(&self, soql: &str, all: bool) -> Vec<Value> {
        let token = self.token();
        let resource = if all { "queryAll" } else { "query" };
        let mut page: Value = self
            .agent
            .get(&format!("{}/services/data/v59.0/{resource}", self.url()))
            .query("q", soql)
            .set("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap_or_else(|e| panic!("query {soql}: {e}"))
            .into_json()
            .expect("query answer");
        let mut records = Vec::new();
        loop {
            records.extend(page["records"].as_array().cloned().unwrap_or_default());
            let Some(next) = page["nextRecordsUrl"].as_str().map(str::to_string) else {
                return records;
            };
            page = self
                .agent
                .get(&format!("{}{next}", self.url()))
                .set("Authorization", &format!("Bearer {token}"))
                .call()
                .expect("next page")
                .into_json()
                .expect("page answer");
        }
    }

    /// Writes to a record through the REST API, as a person in Salesforce would:
    /// `POST` (create, returns the id), `PATCH` (update) or `DELETE`.
    pub fn write(
        &self,
        method: &str,
        object: &str,
        id: Option<&str>,
        fields: Value,
    ) -> Option<String> {
        let url = match id {
            Some(id) => format!("{}/services/data/v59.0/sobjects/{object}/{id}", self.url()),
            None => format!("{}/services/data/v59.0/sobjects/{object}", self.url()),
        };
        let request = self
            .agent
            .request(method, &url)
            .set("Authorization", &format!("Bearer {}", self.token()));
        let response = match method {
            "DELETE" => request.call(),
            _ => request.send_json(fields),
        }
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        response
            .into_json::<Value>()
            .ok()
            .and_then(|v| v["id"].as_str().map(str::to_string))
    }

    /// Moves the emulator's clock forward, so its next writes look later than ours.
    pub fn advance_clock(&self, seconds: u64) {
        self.admin(
            "POST",
            "clock",
            Some(serde_json::json!({ "advanceSeconds": seconds })),
        );
    }

    /// A fresh access token (client credentials).
    pub fn token(&self) -> String {
        let answer: Value = self
            .agent
            .post(&format!("{}/services/oauth2/token", self.url()))
            .send_form(&[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ])
            .expect("token")
            .into_json()
            .expect("token answer");
        answer["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// An admin call under `/__emulator/`.
    pub fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        crate::admin::call(&self.agent, self.url(), method, path, body)
    }

    /// API requests counted against the daily limit so far.
    pub fn api_usage(&self) -> u64 {
        self.admin("GET", "counters", None)["apiUsage"]["used"]
            .as_u64()
            .unwrap_or_default()
    }

    /// API calls made to one endpoint class (`collections`, `query`, `describe`, ...).
    pub fn calls(&self, endpoint: &str) -> u64 {
        self.admin("GET", "counters", None)["apiCallsByEndpoint"][endpoint]
            .as_u64()
            .unwrap_or_default()
    }

    /// Adds fault rules (see the emulator's README).
    pub fn inject(&self, rules: Value) {
        self.admin("POST", "faults", Some(json!({ "rules": rules })));
    }

    /// Loads `count` Accounts named `Remote 00000`… (industry `Loaded`, revenue `i + 0.25`)
    /// through the admin API, 5,000 a call.
    pub fn load_accounts(&self, count: usize) {
        for start in (0..count).step_by(5000) {
            let accounts: Vec<Value> = (start..(start + 5000).min(count))
                .map(|i| json!({"Name": format!("Remote {i:05}"), "Industry": "Loaded", "AnnualRevenue": i as f64 + 0.25}))
                .collect();
            self.admin("POST", "load", Some(json!({ "Account": accounts })));
        }
    }

    /// Removes every fault rule.
    pub fn heal(&self) {
        self.admin("DELETE", "faults", None);
    }
}
