//! The Salesforce emulator from the benchmark's side: its admin API (reset, counters, the
//! change log with exact commit times, bulk load) and a plain REST client for the baselines
//! (the ceiling's collection calls, the naive one-call-per-record integration).

use crate::BenchResult;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use ureq::Agent;

/// The REST API version the baselines use.
const API: &str = "/services/data/v59.0";

/// An HTTP agent that hands every status to the caller (the admin API and the baselines
/// read error bodies themselves) and gives up on a hung emulator after two minutes.
pub fn agent() -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// Reads a response as JSON, failing with its status and the start of its body otherwise.
pub fn json_body(mut response: ureq::http::Response<ureq::Body>, what: &str) -> BenchResult<Value> {
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_string()?;
    if !(200..300).contains(&status) {
        return Err(format!(
            "emulator {what}: HTTP {status}: {}",
            &text[..text.len().min(300)]
        )
        .into());
    }
    if text.is_empty() {
        return Ok(Value::Null);
    }
    Ok(serde_json::from_str(&text)?)
}

/// The emulator's admin API.
pub struct Emulator {
    base: String,
    agent: Agent,
}

/// What the emulator counted, the figures that do not depend on machine speed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    /// Data API requests charged to the org's daily budget (`DailyApiRequests`).
    pub api_used: u64,
    /// sObject Collections calls.
    pub collection_calls: u64,
    pub records_created: u64,
    pub live_accounts: u64,
}

impl Counters {
    /// What happened between `before` and `self`.
    pub fn since(&self, before: &Counters) -> Counters {
        Counters {
            api_used: self.api_used.saturating_sub(before.api_used),
            collection_calls: self
                .collection_calls
                .saturating_sub(before.collection_calls),
            records_created: self.records_created.saturating_sub(before.records_created),
            live_accounts: self.live_accounts.saturating_sub(before.live_accounts),
        }
    }
}

/// One entry of the emulator's change log.
#[derive(Debug, Clone)]
pub struct Change {
    pub replay_id: u64,
    pub record_id: String,
    /// When the emulator committed the change, epoch milliseconds.
    pub commit_ms: f64,
}

impl Emulator {
    /// The emulator at `base` (no trailing slash).
    pub fn new(base: &str) -> Emulator {
        Emulator {
            base: base.to_string(),
            agent: agent(),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Calls `/__emulator/<path>`, the admin API every emulated system shares.
    pub fn admin(&self, method: &str, path: &str, body: Option<&Value>) -> BenchResult<Value> {
        let url = format!("{}/__emulator/{path}", self.base);
        let response = match (method, body) {
            ("GET", _) => self.agent.get(&url).call()?,
            ("POST", Some(body)) => self.agent.post(&url).send_json(body)?,
            ("POST", None) => self.agent.post(&url).send_empty()?,
            ("PUT", Some(body)) => self.agent.put(&url).send_json(body)?,
            _ => return Err(format!("unsupported admin call {method} {path}").into()),
        };
        json_body(response, path)
    }

    /// Empties the org and zeroes every counter, with a budget no benchmark can exhaust.
    pub fn reset(&self) -> BenchResult<()> {
        self.admin("POST", "reset", None)?;
        self.admin(
            "PUT",
            "limits",
            Some(&json!({"max": 4_000_000_000_000_000_000u64, "used": 0})),
        )?;
        Ok(())
    }

    pub fn counters(&self) -> BenchResult<Counters> {
        let c = self.admin("GET", "counters", None)?;
        let number = |v: &Value| v.as_u64().unwrap_or_default();
        Ok(Counters {
            api_used: number(&c["apiUsage"]["used"]),
            collection_calls: number(&c["apiCallsByEndpoint"]["collections"]),
            records_created: number(&c["recordsCreated"]),
            live_accounts: number(&c["records"]["Account"]["live"]),
        })
    }

    /// Account changes after `replay_id`, in order.
    pub fn account_changes_after(&self, replay_id: u64) -> BenchResult<Vec<Change>> {
        let body = self.admin("GET", &format!("changes/Account?after={replay_id}"), None)?;
        let list = body["changes"].as_array().cloned().unwrap_or_default();
        Ok(list
            .iter()
            .map(|c| Change {
                replay_id: c["replayId"].as_u64().unwrap_or_default(),
                record_id: c["recordId"].as_str().unwrap_or_default().to_string(),
                commit_ms: c["commitTimestamp"].as_f64().unwrap_or_default(),
            })
            .collect())
    }

    /// The replay id of the newest Account change (0 when there is none).
    pub fn last_replay_id(&self) -> BenchResult<u64> {
        Ok(self
            .account_changes_after(0)?
            .last()
            .map_or(0, |c| c.replay_id))
    }

    /// Bulk-inserts Accounts (no validation, no API usage); returns their ids in order.
    pub fn load_accounts(&self, records: Vec<Value>) -> BenchResult<Vec<String>> {
        let body = self.admin("POST", "load", Some(&json!({"Account": records})))?;
        let ids = body["Account"]
            .as_array()
            .ok_or_else(|| format!("unexpected answer of the emulator's load: {body}"))?;
        Ok(ids
            .iter()
            .filter_map(|id| id.as_str().map(str::to_string))
            .collect())
    }

    /// Logs in with the demo user, as a script would.
    pub fn login(&self) -> BenchResult<Session> {
        let agent = agent();
        let form =
            "grant_type=password&client_id=hubsync-demo-client&client_secret=hubsync-demo-secret\
                    &username=demo%40hubsync.local&password=demo-password";
        let response = agent
            .post(format!("{}/services/oauth2/token", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(form)?;
        let body = json_body(response, "token")?;
        let token = body["access_token"]
            .as_str()
            .ok_or("the emulator issued no access token")?
            .to_string();
        Ok(Session {
            base: self.base.clone(),
            bearer: format!("Bearer {token}"),
            agent,
        })
    }
}

/// A logged-in REST client on one keep-alive connection.
pub struct Session {
    base: String,
    bearer: String,
    agent: Agent,
}

impl Session {
    /// The same login on a connection of its own, for another thread.
    pub fn fork(&self) -> Session {
        Session {
            base: self.base.clone(),
            bearer: self.bearer.clone(),
            agent: agent(),
        }
    }

    /// `POST /sobjects/Account`: one record, one API call. Returns the round trip.
    pub fn create_one(&self, record: &Value) -> BenchResult<Duration> {
        let started = Instant::now();
        let response = self
            .agent
            .post(format!("{}{API}/sobjects/Account", self.base))
            .header("Authorization", &self.bearer)
            .send_json(record)?;
        let body = json_body(response, "create")?;
        if body["success"] != json!(true) {
            return Err(format!("create refused: {body}").into());
        }
        Ok(started.elapsed())
    }

    /// `POST /composite/sobjects` with up to 200 records. Returns the round trip.
    pub fn create_collection(&self, records: &[Value]) -> BenchResult<Duration> {
        let started = Instant::now();
        let response = self
            .agent
            .post(format!("{}{API}/composite/sobjects", self.base))
            .header("Authorization", &self.bearer)
            .send_json(json!({"allOrNone": false, "records": records}))?;
        let body = json_body(response, "collection create")?;
        let refused = body
            .as_array()
            .is_none_or(|results| results.iter().any(|r| r["success"] != json!(true)));
        if refused {
            let text = body.to_string();
            return Err(format!("collection refused: {}", &text[..text.len().min(300)]).into());
        }
        Ok(started.elapsed())
    }

    /// Ids of Accounts whose Name is `name` (a SOQL query).
    pub fn ids_named(&self, name: &str) -> BenchResult<Vec<String>> {
        let soql = format!("SELECT Id FROM Account WHERE Name = '{name}'");
        let response = self
            .agent
            .get(format!("{}{API}/query", self.base))
            .query("q", &soql)
            .header("Authorization", &self.bearer)
            .call()?;
        let body = json_body(response, "query")?;
        Ok(body["records"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .filter_map(|r| r["Id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// An Account as hubsync sends it for a row of the brief's table (Name, Industry,
/// AnnualRevenue), so baselines carry the same records.
pub fn account(i: usize) -> Value {
    let industries = ["Technology", "Energy", "Banking", "Retail"];
    json!({
        "attributes": {"type": "Account"},
        "Name": format!("Bench {i}"),
        "Industry": industries[i % 4],
        "AnnualRevenue": (i % 100_000) as f64 * 10.5,
    })
}
