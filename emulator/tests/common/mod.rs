//! Test helpers: an in-process emulator, a logged-in HTTP client over real sockets.
#![allow(dead_code)]

use hubsync_emulator::{start, EmulatorOptions, RunningEmulator};
use serde_json::Value as Json;
use std::time::{Duration, Instant};
use ureq::Agent;

/// The example schema shipped with the crate.
pub const SCHEMA: &str = include_str!("../../examples/schema.json");

/// One HTTP answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Json {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first error code of a REST error array.
    pub fn error_code(&self) -> String {
        self.json()[0]["errorCode"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// A running emulator and a client logged in with the password flow.
pub struct Org {
    pub emulator: RunningEmulator,
    pub agent: Agent,
    pub token: String,
    pub version: String,
}

pub fn agent() -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn read(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Resp {
    let mut response = response.expect("request failed");
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    Resp {
        status,
        headers,
        body,
    }
}

/// Sends any request; `body` is sent as JSON when given.
pub fn send(
    agent: &Agent,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Resp {
    read(try_send(agent, method, url, headers, body))
}

/// Like [`send`] but returns transport errors (dropped connections) instead of panicking.
pub fn try_send(
    agent: &Agent,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    let mut request = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    if body.is_some() {
        request = request.header("Content-Type", "application/json");
    }
    let request = request
        .body(body.unwrap_or_default().to_string())
        .expect("request");
    agent.run(request)
}

/// Posts a form to the Salesforce token endpoint.
pub fn token_request(
    agent: &Agent,
    base: &str,
    form: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Resp {
    let url = format!("{base}/services/oauth2/token");
    post_form(agent, &url, &form_urlencoded_body(form), headers)
}

/// Posts an already encoded form body to `url`.
pub fn post_form(agent: &Agent, url: &str, body: &str, headers: &[(&str, &str)]) -> Resp {
    let mut request = ureq::http::Request::builder()
        .method("POST")
        .uri(url)
        .header("Content-Type", "application/x-www-form-urlencoded");
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    read(agent.run(request.body(body.to_string()).expect("request")))
}

fn form_urlencoded_body(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes a query or form value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The password-flow form of the demo org.
pub const PASSWORD_FORM: [(&str, &str); 5] = [
    ("grant_type", "password"),
    ("client_id", "hubsync-demo-client"),
    ("client_secret", "hubsync-demo-secret"),
    ("username", "demo@hubsync.local"),
    ("password", "demo-password"),
];

impl Org {
    /// The demo org with the example schema.
    pub fn start() -> Org {
        Org::with(EmulatorOptions {
            schema_json: Some(SCHEMA.into()),
            ..EmulatorOptions::default()
        })
    }

    pub fn with(options: EmulatorOptions) -> Org {
        let emulator = start(options).expect("emulator starts");
        let agent = agent();
        let login = token_request(&agent, emulator.url(), &PASSWORD_FORM, &[]);
        assert_eq!(login.status, 200, "{}", login.body);
        let token = login.json()["access_token"].as_str().unwrap().to_string();
        Org {
            emulator,
            agent,
            token,
            version: "59.0".into(),
        }
    }

    /// Logs in again (after the clock moved past the token lifetime).
    pub fn login(&mut self) {
        let login = token_request(&self.agent, self.base(), &PASSWORD_FORM, &[]);
        self.token = login.json()["access_token"].as_str().unwrap().to_string();
    }

    pub fn base(&self) -> &str {
        self.emulator.url()
    }

    /// `base/services/data/vXX.X` + path.
    pub fn url(&self, path: &str) -> String {
        format!("{}/services/data/v{}{}", self.base(), self.version, path)
    }

    /// `GET /query?q=`.
    pub fn query(&self, soql: &str) -> Resp {
        self.get(&format!("/query?q={}", encode(soql)))
    }

    /// `totalSize` of `SELECT COUNT() FROM <from>`, e.g. `count("Account WHERE Name = 'x'")`.
    pub fn count(&self, from: &str) -> Json {
        let r = self.query(&format!("SELECT COUNT() FROM {from}"));
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["totalSize"].clone()
    }

    /// An admin call.
    pub fn admin(&self, method: &str, path: &str, body: Option<Json>) -> Resp {
        admin_call(&self.agent, self.base(), method, path, body)
    }

    /// Creates a record and returns its id.
    pub fn create(&self, object: &str, body: Json) -> String {
        let r = self.post(&format!("/sobjects/{object}"), body);
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()["id"].as_str().unwrap().to_string()
    }

    /// A record as JSON.
    pub fn record(&self, object: &str, id: &str) -> Json {
        let r = self.get(&format!("/sobjects/{object}/{id}"));
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    }

    /// The newest change-log entry of an object.
    pub fn last_change(&self, object: &str) -> Json {
        let changes = self.admin("GET", &format!("changes/{object}"), None).json();
        changes["changes"]
            .as_array()
            .and_then(|all| all.last())
            .unwrap_or_else(|| panic!("no change of {object}: {changes}"))
            .clone()
    }

    /// Advances the emulator's clock.
    pub fn advance(&self, seconds: i64) {
        let r = self.admin(
            "POST",
            "clock",
            Some(serde_json::json!({"advanceSeconds": seconds})),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
}

/// Starts the `hubsync-emulator` binary with `args`: the child and the URL its first
/// stdout line names.
pub fn spawn_binary(args: &[&str]) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hubsync-emulator"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("first line names the URL")
        .to_string();
    (child, url)
}

/// Waits until `check` holds, failing after a generous deadline.
pub fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
    }
}

/// An authenticated API client: say where the API is and how to sign in, and the
/// verbs come free.
pub trait Client {
    /// The HTTP agent.
    fn http(&self) -> &Agent;

    /// The full URL of an API path.
    fn api_url(&self, path: &str) -> String;

    /// The `Authorization` header value of a `method` request to `url` (per request for
    /// systems that sign each one).
    fn authorization(&self, method: &str, url: &str) -> String;

    /// Sends `method` to the API path `path` with the client's credentials.
    fn call(&self, method: &str, path: &str, body: Option<Json>) -> Resp {
        self.call_with(method, path, &[], body)
    }

    /// Like [`Client::call`], with extra request headers.
    fn call_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Json>,
    ) -> Resp {
        let url = self.api_url(path);
        let auth = self.authorization(method, &url);
        let mut all = vec![("Authorization", auth.as_str())];
        all.extend_from_slice(headers);
        let text = body.map(|b| b.to_string());
        send(self.http(), method, &url, &all, text.as_deref())
    }

    /// GET.
    fn get(&self, path: &str) -> Resp {
        self.call("GET", path, None)
    }

    /// POST a JSON body.
    fn post(&self, path: &str, body: Json) -> Resp {
        self.call("POST", path, Some(body))
    }

    /// PUT a JSON body.
    fn put(&self, path: &str, body: Json) -> Resp {
        self.call("PUT", path, Some(body))
    }

    /// PATCH a JSON body.
    fn patch(&self, path: &str, body: Json) -> Resp {
        self.call("PATCH", path, Some(body))
    }

    /// DELETE.
    fn delete(&self, path: &str) -> Resp {
        self.call("DELETE", path, None)
    }
}

impl Client for Org {
    fn http(&self) -> &Agent {
        &self.agent
    }

    fn api_url(&self, path: &str) -> String {
        self.url(path)
    }

    fn authorization(&self, _method: &str, _url: &str) -> String {
        format!("Bearer {}", self.token)
    }
}

/// A call to the admin API (`/__emulator/…`) of the emulator at `base`.
pub fn admin_call(agent: &Agent, base: &str, method: &str, path: &str, body: Option<Json>) -> Resp {
    let text = body.map(|b| b.to_string());
    send(
        agent,
        method,
        &format!("{base}/__emulator/{path}"),
        &[],
        text.as_deref(),
    )
}
