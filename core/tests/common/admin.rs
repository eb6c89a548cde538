//! The emulators' admin API (`/__emulator/…`) as the tests call it, shared by the client
//! tests here and the end-to-end tests (`pgrx-tests` includes this file).

use serde_json::Value;

/// Sends `body` (as JSON, if any) to `<base>/__emulator/<path>` and returns the JSON answer
/// (`Null` for an empty one); panics naming the call if it fails.
pub fn call(
    agent: &ureq::Agent,
    base: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Value {
    let request = agent.request(method, &format!("{base}/__emulator/{path}"));
    let response = match body {
        Some(body) => request
            .set("Content-Type", "application/json")
            .send_string(&body.to_string()),
        None => request.call(),
    }
    .unwrap_or_else(|e| panic!("admin {method} {path}: {e}"));
    let text = response.into_string().expect("a readable answer");
    if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("a JSON answer")
    }
}
