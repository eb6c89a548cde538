//! The dashboard end to end: the worker serves `/metrics` (Prometheus text), the page and
//! its JSON on `hubsync.dashboard_listen`, only to requests with the token from
//! `hubsync.dashboard_token_file`; its figures follow a sync that is pushing, the sync
//! goes on while the dashboard is read, and a sync with `dashboard_enabled: false` is not
//! shown. A token file that is missing leaves the dashboard off until a reload finds it.

use hubsync_e2e::api::{alter_sync, on_sync};
use hubsync_e2e::{accounts_sync, free_port, scalar, wait_for_reading};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(60);
const TOKEN: &str = "e2e-dashboard-token-0123456789abcdef";

/// One sample of an exposition: metric name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Parses a Prometheus text exposition: comments are `# HELP`/`# TYPE` lines, every
/// other line is `name{label="value",…} value`; panics on anything else.
fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            assert!(
                line.starts_with("# HELP ") || line.starts_with("# TYPE "),
                "{line}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a value");
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("a number: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.strip_suffix('}').expect("closing brace")),
            None => (series, ""),
        };
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line}"
        );
        let labels = labels
            .split("\",")
            .filter(|l| !l.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once("=\"").expect("label=\"value\"");
                (k.to_string(), v.trim_end_matches('"').to_string())
            })
            .collect();
        samples.push((name.to_string(), labels, value));
    }
    samples
}

struct Dashboard {
    base: String,
}

impl Dashboard {
    /// `GET path` with `authorization` (if any): status and body; a connection that is
    /// refused is `None`.
    fn get(&self, path: &str, authorization: Option<&str>) -> Option<(u16, String)> {
        let mut request = ureq::get(&format!("{}{path}", self.base));
        if let Some(value) = authorization {
            request = request.set("Authorization", value);
        }
        match request.call() {
            Ok(r) => Some((r.status(), r.into_string().unwrap())),
            Err(ureq::Error::Status(code, r)) => Some((code, r.into_string().unwrap())),
            Err(_) => None,
        }
    }

    /// `/metrics` with the token, parsed; empty while nothing listens.
    fn metrics(&self) -> Vec<Sample> {
        match self.get("/metrics", Some(&format!("Bearer {TOKEN}"))) {
            Some((200, body)) => parse(&body),
            _ => Vec::new(),
        }
    }

    /// The value of `name` for `sync` in `/metrics`.
    fn figure(&self, name: &str, sync: &str) -> Option<f64> {
        self.metrics()
            .into_iter()
            .find(|(n, l, _)| n == name && l.get("sync").map(String::as_str) == Some(sync))
            .map(|s| s.2)
    }
}

#[test]
fn metrics_and_page_follow_a_pushing_sync_only_with_the_token() {
    let token_file = std::env::temp_dir().join(format!("hubsync-e2e-token-{}", std::process::id()));
    let _ = std::fs::remove_file(&token_file);
    let port = free_port();
    let listen = format!("'127.0.0.1:{port}'");
    let file = format!("'{}'", token_file.display());
    let sync = accounts_sync(
        "dashboard",
        &[
            ("hubsync.dashboard_listen", &listen),
            ("hubsync.dashboard_token_file", &file),
        ],
        json!({}),
    );
    let board = Dashboard {
        base: format!("http://127.0.0.1:{port}"),
    };
    let mut db = sync.db();

    // No token file: the dashboard stays off, says why, and the sync runs regardless.
    db.batch_execute("INSERT INTO accounts (account_name) VALUES ('Before')")
        .unwrap();
    sync.wait_idle(&mut db);
    assert!(
        board.get("/metrics", None).is_none(),
        "listening without a token"
    );
    wait_for_reading(
        PATIENCE,
        "the worker's warning about the missing token file",
        || sync.cluster.log(),
        |log| log.contains("hubsync dashboard is off: cannot read hubsync.dashboard_token_file"),
    );

    // Once the token is there, a reload starts it.
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    sync.cluster.reload();
    let pushed = wait_for_reading(
        PATIENCE,
        "the sync in /metrics",
        || board.figure("hubsync_pushed_total", &sync.name),
        |v| *v == Some(1.0),
    );
    assert_eq!(pushed, Some(1.0));

    // Without the token, or with a wrong one, nothing is shown.
    for auth in [None, Some("Bearer wrong-token"), Some(TOKEN)] {
        for path in ["/metrics", "/api/snapshot", "/"] {
            let (status, body) = board.get(path, auth).expect("an answer");
            assert_eq!(status, 401, "{path} with {auth:?}");
            assert!(
                !body.contains(&sync.name),
                "{path} shows the sync without the token"
            );
        }
    }
    let (status, page) = board.get(&format!("/?token={TOKEN}"), None).unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("<title>hubsync dashboard</title>") && page.contains("api/snapshot"));

    // Every family is announced, every line parses, the sync has its figures.
    let (status, text) = board
        .get("/metrics", Some(&format!("Bearer {TOKEN}")))
        .unwrap();
    assert_eq!(status, 200);
    let names: Vec<String> = parse(&text).into_iter().map(|s| s.0).collect();
    for family in [
        "hubsync_snapshot_timestamp_seconds",
        "hubsync_sync_info",
        "hubsync_backlog",
        "hubsync_pushed_total",
        "hubsync_review_queue",
        "hubsync_push_latency_seconds",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family}\n{text}"
        );
        assert!(
            names.iter().any(|n| n == family),
            "{family} has no sample\n{text}"
        );
    }

    // The figures follow the sync: the backlog grows while it is paused, and drains,
    // with the pushed counter, once it runs again.
    on_sync(&mut db, "pause_sync", &sync.name).unwrap();
    db.batch_execute(
        "INSERT INTO accounts (account_name) SELECT 'Dash ' || g FROM generate_series(1, 5) g",
    )
    .unwrap();
    wait_for_reading(
        PATIENCE,
        "the backlog in /metrics",
        || board.figure("hubsync_backlog", &sync.name),
        |v| *v == Some(5.0),
    );
    on_sync(&mut db, "resume_sync", &sync.name).unwrap();
    wait_for_reading(
        PATIENCE,
        "the pushed counter in /metrics",
        || {
            (
                board.figure("hubsync_pushed_total", &sync.name),
                board.figure("hubsync_backlog", &sync.name),
            )
        },
        |v| *v == (Some(6.0), Some(0.0)),
    );
    sync.wait_idle(&mut db);
    let linked: i64 = scalar(&mut db, "SELECT count(sf_id) FROM accounts");
    assert_eq!(linked, 6, "{}", sync.diagnostics());

    // The JSON behind the page: the sync with its minutes and backlog samples.
    let (_, body) = board
        .get("/api/snapshot", Some(&format!("Bearer {TOKEN}")))
        .unwrap();
    let snapshot: Value = serde_json::from_str(&body).unwrap();
    let shown = &snapshot["syncs"][0];
    assert_eq!(shown["name"], sync.name.as_str());
    assert!(!shown["minutes"].as_array().unwrap().is_empty(), "{shown}");
    assert!(!shown["samples"].as_array().unwrap().is_empty(), "{shown}");
    assert!(!body.contains(hubsync_e2e::CLIENT_SECRET) && !body.contains(TOKEN));

    // dashboard_enabled: false takes the sync off the dashboard.
    alter_sync(
        &mut db,
        &sync.name,
        &json!({"monitoring": {"dashboard_enabled": false}}),
    )
    .unwrap();
    wait_for_reading(
        PATIENCE,
        "the sync to leave /metrics",
        || board.figure("hubsync_backlog", &sync.name),
        Option::is_none,
    );
    assert!(!sync.cluster.log().contains(TOKEN), "the token was logged");
    let _ = std::fs::remove_file(&token_file);
}
