//! The Zendesk and NetSuite emulators from the benchmark's side: what a plain client of
//! each system sends when it writes records as fast as the system allows (the ceilings
//! hubsync's push is compared with), their records in the emulators' own shape (admin
//! `load`), and the request counters that give records per request.
//!
//! Invariant: a baseline writes the same records hubsync pushes for the same row numbers
//! (`organization(i)`, `customer(i)`), so both sides of a ratio carry the same bytes.

use crate::emulator::{agent, json_body, Emulator};
use crate::BenchResult;
use base64::Engine as _;
use hubsync_core::config::Secret;
use hubsync_core::netsuite::tba::{self, Stamp, TokenCredentials};
use serde_json::{json, Value};
use std::time::Duration;
use ureq::Agent;

/// The Zendesk emulator's demo agent and API token (emulator/README.md).
const ZENDESK_EMAIL: &str = "demo@hubsync.local";
const ZENDESK_TOKEN: &str = "hubsync-demo-token";

/// The NetSuite emulator's demo account and TBA secrets (emulator/README.md).
pub const NETSUITE_ACCOUNT: &str = "1234567";
const NETSUITE_TBA: [&str; 4] = [
    "hubsync-demo-consumer-key",
    "hubsync-demo-consumer-secret",
    "hubsync-demo-token-id",
    "hubsync-demo-token-secret",
];

/// Records a Zendesk bulk job holds at most (`create_many`).
pub const ZENDESK_JOB: usize = 100;

/// How often the Zendesk ceiling client polls a job: faster than hubsync's own polling
/// (50 ms doubling to 1 s), so the ceiling is the emulator's, not a client's patience.
const JOB_POLL: Duration = Duration::from_millis(5);

/// The Zendesk organization hubsync pushes for row `i` of the benchmark's table.
pub fn organization(i: usize) -> Value {
    json!({"name": format!("Bench {i}"), "notes": format!("benchmark organization {i}")})
}

/// The NetSuite customer hubsync pushes for row `i` of the benchmark's table.
pub fn customer(i: usize) -> Value {
    json!({
        "companyName": format!("Bench {i}"),
        "email": format!("bench{i}@example.com"),
        "subsidiary": {"id": "1"},
    })
}

/// The secret `hubsync.set_credentials` takes for the Zendesk emulator's demo agent.
pub fn zendesk_secret() -> Value {
    json!({"email": ZENDESK_EMAIL, "api_token": ZENDESK_TOKEN})
}

/// The secret `hubsync.set_credentials` takes for the NetSuite emulator's demo TBA token.
pub fn netsuite_secret() -> Value {
    let [consumer_key, consumer_secret, token_id, token_secret] = NETSUITE_TBA;
    json!({"consumer_key": consumer_key, "consumer_secret": consumer_secret,
           "token_id": token_id, "token_secret": token_secret})
}

/// Requests an emulator answered between two readings of its counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Requests {
    /// Every request under the system's API (reads, writes, job polls, queries).
    pub all: u64,
    /// The requests that wrote records (Zendesk `write` + `bulk`, NetSuite `record` writes).
    pub writes: u64,
    /// Records the system created, to check that a run wrote all it was meant to.
    pub records_created: u64,
}

/// Reads a Zendesk or NetSuite emulator's request counters.
pub fn requests(emulator: &Emulator, write_classes: &[&str]) -> BenchResult<Requests> {
    let c = emulator.admin("GET", "counters", None)?;
    let by_class = c["apiCallsByEndpoint"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let sum = |keep: &dyn Fn(&str) -> bool| -> u64 {
        by_class
            .iter()
            .filter(|(class, _)| keep(class))
            .filter_map(|(_, n)| n.as_u64())
            .sum()
    };
    Ok(Requests {
        all: sum(&|_| true),
        writes: sum(&|class| write_classes.contains(&class)),
        records_created: c["recordsCreated"].as_u64().unwrap_or_default(),
    })
}

impl Requests {
    /// What happened between `before` and `self`.
    pub fn since(&self, before: &Requests) -> Requests {
        Requests {
            all: self.all.saturating_sub(before.all),
            writes: self.writes.saturating_sub(before.writes),
            records_created: self.records_created.saturating_sub(before.records_created),
        }
    }
}

/// A plain Zendesk client on one keep-alive connection, with the demo agent's API token.
pub struct ZendeskClient {
    base: String,
    authorization: String,
    agent: Agent,
}

impl ZendeskClient {
    /// A client of the emulator at `base`.
    pub fn new(base: &str) -> ZendeskClient {
        let pair = base64::engine::general_purpose::STANDARD
            .encode(format!("{ZENDESK_EMAIL}/token:{ZENDESK_TOKEN}"));
        ZendeskClient {
            base: base.to_string(),
            authorization: format!("Basic {pair}"),
            agent: agent(),
        }
    }

    /// `POST organizations/create_many` with up to 100 organizations, then polls
    /// `job_statuses/{id}` until the job completes; fails unless every item was created.
    pub fn create_many(&self, organizations: &[Value]) -> BenchResult<()> {
        let response = self
            .agent
            .post(format!(
                "{}/api/v2/organizations/create_many.json",
                self.base
            ))
            .header("Authorization", &self.authorization)
            .send_json(json!({ "organizations": organizations }))?;
        let queued = json_body(response, "create_many")?;
        let id = queued["job_status"]["id"]
            .as_str()
            .ok_or_else(|| format!("create_many answered no job: {queued}"))?
            .to_string();
        loop {
            let response = self
                .agent
                .get(format!("{}/api/v2/job_statuses/{id}.json", self.base))
                .header("Authorization", &self.authorization)
                .call()?;
            let job = json_body(response, "job_statuses")?;
            match job["job_status"]["status"].as_str() {
                Some("queued" | "working") => std::thread::sleep(JOB_POLL),
                Some("completed") => {
                    let results = job["job_status"]["results"].as_array();
                    let created = results.map_or(0, |r| {
                        r.iter().filter(|item| item["status"] == "Created").count()
                    });
                    if created != organizations.len() {
                        return Err(format!(
                            "job {id} created {created} of {}: {job}",
                            organizations.len()
                        )
                        .into());
                    }
                    return Ok(());
                }
                _ => return Err(format!("job {id} did not complete: {job}").into()),
            }
        }
    }
}

/// A plain NetSuite client on one keep-alive connection, signing each request with the
/// demo TBA token through hubsync's own signer (`hubsync_core::netsuite::tba`), which the
/// emulator verifies independently.
pub struct NetSuiteClient {
    base: String,
    credentials: TokenCredentials,
    agent: Agent,
}

impl NetSuiteClient {
    /// A client of the emulator at `base`.
    pub fn new(base: &str) -> NetSuiteClient {
        let [consumer_key, consumer_secret, token_id, token_secret] = NETSUITE_TBA;
        NetSuiteClient {
            base: base.to_string(),
            credentials: TokenCredentials {
                realm: NETSUITE_ACCOUNT.to_string(),
                consumer_key: consumer_key.to_string(),
                consumer_secret: Secret::new(consumer_secret),
                token_id: token_id.to_string(),
                token_secret: Secret::new(token_secret),
            },
            agent: agent(),
        }
    }

    /// `POST record/v1/customer`: one record, one request (NetSuite's REST API has no bulk
    /// create), answered 204 with the new id in `Location`.
    pub fn create_customer(&self, record: &Value) -> BenchResult<()> {
        let url = format!("{}/services/rest/record/v1/customer", self.base);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        let authorization = tba::authorization(
            &self.credentials,
            "POST",
            &url::Url::parse(&url)?,
            &Stamp::fresh(now)?,
        );
        let response = self
            .agent
            .post(&url)
            .header("Authorization", &authorization)
            .send_json(record)?;
        let status = response.status().as_u16();
        if status != 204 {
            let body = json_body(response, "customer create")?;
            return Err(format!("customer create answered {status}: {body}").into());
        }
        Ok(())
    }
}
