//! Test helpers for the Zendesk emulator: an in-process account and an authenticated
//! client over real sockets (the HTTP plumbing is `common`'s).
#![allow(dead_code)]

use crate::common::{admin_call, agent, Client};
use hubsync_emulator::{start_zendesk, RunningEmulator, ZendeskOptions};
use serde_json::{json, Value as Json};
use ureq::Agent;

/// `demo@hubsync.local/token:hubsync-demo-token`, Basic-encoded.
pub const TOKEN_AUTH: &str = "Basic ZGVtb0BodWJzeW5jLmxvY2FsL3Rva2VuOmh1YnN5bmMtZGVtby10b2tlbg==";

/// The custom fields every test account has.
pub const SCHEMA: &str = r#"{
  "organization_fields": [
    {"key": "tier", "type": "dropdown", "title": "Tier",
     "custom_field_options": [{"name": "Gold", "value": "gold"}, {"name": "Silver", "value": "silver"}]},
    {"key": "seats", "type": "integer"}
  ],
  "user_fields": [{"key": "birthday", "type": "date"}]
}"#;

/// The demo account's options, but with a rate limit tests do not reach by polling
/// jobs (the tests of the limit set their own).
pub fn options() -> ZendeskOptions {
    ZendeskOptions {
        rate_limit: 1_000_000,
        ..ZendeskOptions::default()
    }
}

impl Client for Account {
    fn http(&self) -> &Agent {
        &self.agent
    }

    fn api_url(&self, path: &str) -> String {
        self.url(path)
    }

    /// The demo API token.
    fn authorization(&self, _method: &str, _url: &str) -> String {
        TOKEN_AUTH.into()
    }
}

/// A running account and a client using the demo API token.
pub struct Account {
    /// The running emulator.
    pub emulator: RunningEmulator,
    /// The HTTP client.
    pub agent: Agent,
}

impl Account {
    /// The demo account with [`SCHEMA`] and [`options`].
    pub fn start() -> Account {
        Account::with(options())
    }

    /// An account with these options (the schema defaults to [`SCHEMA`]).
    pub fn with(mut options: ZendeskOptions) -> Account {
        options.schema_json.get_or_insert_with(|| SCHEMA.into());
        Account {
            emulator: start_zendesk(options).expect("emulator starts"),
            agent: agent(),
        }
    }

    /// `base/api/v2/` + path.
    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v2/{path}", self.emulator.url())
    }

    /// An admin call (fails the test unless it answers 200).
    pub fn admin(&self, method: &str, path: &str, body: Option<Json>) -> Json {
        let r = admin_call(&self.agent, self.emulator.url(), method, path, body);
        assert_eq!(r.status, 200, "{method} {path}: {}", r.body);
        r.json()
    }

    /// Creates an organization and answers its id.
    pub fn org(&self, body: Json) -> u64 {
        let r = self.post("organizations.json", json!({"organization": body}));
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()["organization"]["id"].as_u64().unwrap()
    }

    /// Creates a user and answers its id.
    pub fn user(&self, body: Json) -> u64 {
        let r = self.post("users.json", json!({"user": body}));
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()["user"]["id"].as_u64().unwrap()
    }

    /// Moves the account's clock.
    pub fn advance(&self, seconds: i64) {
        self.admin("POST", "clock", Some(json!({"advanceSeconds": seconds})));
    }

    /// Moves the clock to the start of the next minute, so a test's requests share one
    /// rate-limit window (a test takes far less than a minute).
    pub fn start_of_minute(&self) {
        let reset = self.admin("GET", "limits", None)["reset"].as_i64().unwrap();
        self.advance(reset);
    }

    /// Polls a job until it is completed and answers it.
    pub fn finished_job(&self, job: &Json) -> Json {
        let id = job["job_status"]["id"]
            .as_str()
            .expect("a job_status")
            .to_string();
        let mut last = Json::Null;
        crate::common::wait_for(&format!("job {id}"), || {
            let r = self.get(&format!("job_statuses/{id}.json"));
            assert_eq!(r.status, 200, "{}", r.body);
            last = r.json()["job_status"].clone();
            last["status"] == "completed"
        });
        last
    }
}
