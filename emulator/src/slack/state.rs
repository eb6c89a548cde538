//! What the local Slack has received, and the faults waiting to be served.

use super::SlackOptions;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A request as the local Slack saw it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Received {
    /// `webhook` or `chat.postMessage`.
    pub endpoint: String,
    pub path: String,
    /// The channel asked for (`chat.postMessage` only).
    pub channel: Option<String>,
    /// The JSON body (or `null` if it was not JSON).
    pub body: Value,
    /// The HTTP status answered.
    pub status: u16,
    /// The error word answered, if any (`channel_not_found`, `invalid_payload`, ...).
    pub error: Option<String>,
}

/// A scripted failure: the next `times` requests to `endpoint` (`webhook`,
/// `chat.postMessage` or `any`) answer `status` with `error` (a webhook's plain-text
/// body, or `chat.postMessage`'s `error` field when `status` is 200), with
/// `Retry-After: retry_after` if given.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Fault {
    #[serde(default = "any")]
    pub endpoint: String,
    pub status: u16,
    pub error: String,
    #[serde(default)]
    pub retry_after: Option<u32>,
    #[serde(default)]
    pub times: Option<u32>,
}

fn any() -> String {
    "any".into()
}

/// Shared by the handlers.
pub struct State {
    pub options: SlackOptions,
    requests: Mutex<Vec<Received>>,
    faults: Mutex<Vec<Fault>>,
}

impl State {
    pub fn new(options: SlackOptions) -> State {
        State {
            options,
            requests: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
        }
    }

    pub fn record(&self, r: Received) {
        self.requests.lock().push(r);
    }

    pub fn messages(&self) -> Vec<Received> {
        self.requests
            .lock()
            .iter()
            .filter(|r| r.status == 200 && r.error.is_none())
            .cloned()
            .collect()
    }

    pub fn requests(&self) -> Vec<Received> {
        self.requests.lock().clone()
    }

    pub fn inject(&self, faults: Vec<Fault>) {
        self.faults.lock().extend(faults);
    }

    pub fn heal(&self) {
        self.faults.lock().clear();
    }

    /// The fault that applies to this request, counting it down.
    pub fn take_fault(&self, endpoint: &str) -> Option<Fault> {
        let mut faults = self.faults.lock();
        let i = faults
            .iter()
            .position(|f| f.endpoint == "any" || f.endpoint == endpoint)?;
        let fault = faults[i].clone();
        match &mut faults[i].times {
            Some(1) => {
                faults.remove(i);
            }
            Some(n) => *n -= 1,
            None => {}
        }
        Some(fault)
    }
}
