//! The NetSuite emulator, started in-process, what tests ask it (records, changes made "in
//! NetSuite" by a person with a client of their own), and the demo credentials.

use hubsync_core::config::SystemKind;
use hubsync_core::connector::{connect, Connector, Endpoint, Options, Timeouts};
use hubsync_core::net::Network;
use hubsync_emulator::netsuite::{self, Options as NsOptions};
use hubsync_emulator::RunningEmulator;
use serde_json::{json, Value};
use std::sync::Arc;

/// The demo account's id, as `netsuite::Options::default()` configures it.
pub const ACCOUNT_ID: &str = "1234567";

/// The demo account's token-based-authentication secrets.
pub fn tba() -> Value {
    json!({"consumer_key": "hubsync-demo-consumer-key", "consumer_secret": "hubsync-demo-consumer-secret",
           "token_id": "hubsync-demo-token-id", "token_secret": "hubsync-demo-token-secret"})
}

/// A running NetSuite emulator and a person editing it through the REST API.
pub struct NetSuite {
    emulator: RunningEmulator,
    agent: ureq::Agent,
    /// A person editing NetSuite through its REST API (a client of its own).
    pub person: Arc<dyn Connector>,
}

impl NetSuite {
    /// Starts an account with `custom_fields` (`custentity_*` definitions) and the
    /// emulator's defaults otherwise (`m2m_public_key_pem` for M2M sign-ins).
    pub fn start(custom_fields: Value, m2m_public_key_pem: Option<&str>) -> NetSuite {
        let emulator = netsuite::start(NsOptions {
            schema_json: Some(json!({ "customFields": custom_fields }).to_string()),
            m2m_public_key_pem: m2m_public_key_pem.map(str::to_string),
            ..NsOptions::default()
        })
        .expect("start the NetSuite emulator");
        let endpoint = Endpoint {
            system: SystemKind::Netsuite,
            instance_url: Some(emulator.url().to_string()),
            account_id: Some(ACCOUNT_ID.into()),
            login_url: None,
            api_version: String::new(),
        };
        let options = Options {
            parallelism: 1,
            timeouts: Timeouts::default(),
            network: Network::default(),
            client_name: "person".into(),
        };
        let person = connect(&endpoint, &tba(), options).expect("a client for the test");
        NetSuite {
            emulator,
            agent: ureq::AgentBuilder::new().build(),
            person,
        }
    }

    /// Base URL, the sync's `credentials.instance_url`.
    pub fn url(&self) -> &str {
        self.emulator.url()
    }

    /// Calls `/__emulator/<path>` and returns its JSON answer.
    pub fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        crate::admin::call(&self.agent, self.url(), method, path, body)
    }

    /// Every record of `record_type` (`customer`, `contact`) as the emulator stores it.
    pub fn records(&self, record_type: &str) -> Vec<Value> {
        self.admin("GET", &format!("records/{record_type}"), None)["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}
