//! `/metrics`: a snapshot in the Prometheus text exposition format (version 0.0.4), so
//! existing monitoring can scrape hubsync.
//!
//! Each family is one row of [`FAMILIES`] (name, type, help, how to read it from a sync):
//! `# HELP`, `# TYPE`, then one sample per sync, `name{sync="…"} value`. Label values are
//! escaped (`\\`, `\"`, `\n`), so a sync name can never break a line or forge a label.
//! Counters are the running totals of `hubsync.status`; the "now" gauges (throughput,
//! error rate, latency) are those of the sync's newest minute in `hubsync.metrics`.

use super::snapshot::{Minute, Snapshot, SyncView};
use std::fmt::Write;

/// The content type of the format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A metric family read from each sync: a value, or none when it does not apply.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    read: fn(&SyncView) -> Option<f64>,
}

const FAMILIES: &[Family] = &[
    Family {
        name: "hubsync_backlog",
        kind: "gauge",
        help: "Captured changes waiting in the outbox.",
        read: |s| Some(s.backlog as f64),
    },
    Family {
        name: "hubsync_oldest_pending_seconds",
        kind: "gauge",
        help: "Age of the oldest change waiting in the outbox (push lag).",
        read: |s| s.oldest_pending_s,
    },
    Family {
        name: "hubsync_pull_lag_seconds",
        kind: "gauge",
        help: "Time since the newest remote change the sync has applied.",
        read: |s| s.pull_lag_s,
    },
    Family {
        name: "hubsync_pushed_total",
        kind: "counter",
        help: "Records pushed to the remote system.",
        read: |s| Some(s.pushed as f64),
    },
    Family {
        name: "hubsync_push_failed_total",
        kind: "counter",
        help: "Record pushes that failed.",
        read: |s| Some(s.push_failed as f64),
    },
    Family {
        name: "hubsync_pulled_total",
        kind: "counter",
        help: "Remote records applied to the table.",
        read: |s| Some(s.pulled as f64),
    },
    Family {
        name: "hubsync_conflicts_total",
        kind: "counter",
        help: "Conflicts detected and decided.",
        read: |s| Some(s.conflicts as f64),
    },
    Family {
        name: "hubsync_api_calls_total",
        kind: "counter",
        help: "REST requests made to the remote system.",
        read: |s| Some(s.api_calls as f64),
    },
    Family {
        name: "hubsync_review_queue",
        kind: "gauge",
        help: "Records waiting in the review queue for a person.",
        read: |s| Some(s.review_total() as f64),
    },
    Family {
        name: "hubsync_throughput_per_second",
        kind: "gauge",
        help: "Records pushed and pulled per second in the newest minute with activity.",
        read: |s| s.latest_minute().map(|m| m.throughput_per_s),
    },
    Family {
        name: "hubsync_error_rate",
        kind: "gauge",
        help: "Share of failed records in the newest minute with activity.",
        read: |s| s.latest_minute().and_then(|m| m.error_rate),
    },
];

/// A quantile's label and how to read it from a minute.
type Quantile = (&'static str, fn(&Minute) -> Option<f64>);

/// The push latency quantiles of the newest minute that has them.
const QUANTILES: &[Quantile] = &[
    ("0.5", |m| m.p50_ms),
    ("0.95", |m| m.p95_ms),
    ("0.99", |m| m.p99_ms),
];

/// The whole exposition for `snapshot`.
pub fn render(snapshot: &Snapshot) -> String {
    let mut out = String::new();
    header(
        &mut out,
        "hubsync_snapshot_timestamp_seconds",
        "gauge",
        "When the worker last read these figures (seconds since the epoch).",
    );
    let _ = writeln!(
        out,
        "hubsync_snapshot_timestamp_seconds {}",
        number(snapshot.taken_at)
    );
    header(
        &mut out,
        "hubsync_sync_info",
        "gauge",
        "Always 1; the sync's state and connection state as labels.",
    );
    for s in &snapshot.syncs {
        let labels = [
            ("sync", s.name.as_str()),
            ("state", s.state.as_str()),
            (
                "connection_state",
                s.connection_state.as_deref().unwrap_or(""),
            ),
        ];
        sample(&mut out, "hubsync_sync_info", &labels, 1.0);
    }
    for family in FAMILIES {
        header(&mut out, family.name, family.kind, family.help);
        for s in &snapshot.syncs {
            if let Some(value) = (family.read)(s) {
                sample(&mut out, family.name, &[("sync", &s.name)], value);
            }
        }
    }
    header(
        &mut out,
        "hubsync_push_latency_seconds",
        "gauge",
        "Commit-to-acknowledged push latency quantiles of the newest minute with pushes.",
    );
    for s in &snapshot.syncs {
        let Some(minute) = s.latest_latency() else {
            continue;
        };
        for (quantile, read) in QUANTILES {
            if let Some(ms) = read(minute) {
                let labels = [("sync", s.name.as_str()), ("quantile", quantile)];
                sample(
                    &mut out,
                    "hubsync_push_latency_seconds",
                    &labels,
                    ms / 1000.0,
                );
            }
        }
    }
    header(
        &mut out,
        "hubsync_open_alerts",
        "gauge",
        "Alerts raised and not resolved yet, by severity.",
    );
    let mut open: Vec<(&str, &str, usize)> = Vec::new();
    for a in &snapshot.alerts {
        match open
            .iter_mut()
            .find(|(s, sev, _)| *s == a.sync && *sev == a.severity)
        {
            Some(entry) => entry.2 += 1,
            None => open.push((&a.sync, &a.severity, 1)),
        }
    }
    for (sync, severity, count) in open {
        let labels = [("sync", sync), ("severity", severity)];
        sample(&mut out, "hubsync_open_alerts", &labels, count as f64);
    }
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    let labels: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
        .collect();
    let _ = writeln!(out, "{name}{{{}}} {}", labels.join(","), number(value));
}

/// A label value as the format wants it: backslash, double quote and newline escaped.
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A sample value: Go's float syntax, which Rust's `Display` matches for finite values.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::super::snapshot::tests::{reading, sync};
    use super::super::snapshot::{Alert, Snapshot};
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    /// Parses an exposition strictly: every family announced by HELP and TYPE before its
    /// samples, every sample `name{k="v",…} value`; returns (name, labels, value).
    pub fn parse(text: &str) -> Vec<(String, BTreeMap<String, String>, f64)> {
        let mut announced = Vec::new();
        let mut samples = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                announced.push(rest.split(' ').next().unwrap().to_string());
                continue;
            }
            if line.starts_with("# HELP ") {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("name and value");
            let (name, labels) = match series.split_once('{') {
                Some((n, l)) => (n, l.strip_suffix('}').expect("closing brace")),
                None => (series, ""),
            };
            assert!(announced.last().map(String::as_str) == Some(name), "{line}");
            let mut map = BTreeMap::new();
            let mut rest = labels;
            while !rest.is_empty() {
                let (key, after) = rest.split_once("=\"").expect("key=\"");
                let mut value = String::new();
                let mut chars = after.char_indices();
                let end = loop {
                    match chars.next().expect("closing quote") {
                        (_, '\\') => match chars.next().unwrap().1 {
                            'n' => value.push('\n'),
                            c => value.push(c),
                        },
                        (i, '"') => break i,
                        (_, c) => value.push(c),
                    }
                };
                map.insert(key.to_string(), value);
                rest = after[end + 1..].trim_start_matches(',');
            }
            samples.push((name.to_string(), map, value.parse().expect("a number")));
        }
        samples
    }

    #[test]
    fn every_sync_gets_every_family_and_hostile_names_stay_one_label() {
        let hostile = "a\"b\\c\nd} 1\nhubsync_backlog{sync=\"x\"";
        let mut r = reading(
            20_000.0,
            json!([sync(hostile, 42, None), sync("plain", 0, None)]),
        );
        r.alerts.push(Alert {
            sync: "plain".into(),
            severity: "critical".into(),
            kind: "stopped".into(),
            message: "m".into(),
            raised_at: 1.0,
        });
        let text = render(&Snapshot::default().next(r));
        let samples = parse(&text);
        let value = |name: &str, sync: &str| {
            samples
                .iter()
                .find(|(n, l, _)| n == name && l.get("sync").map(String::as_str) == Some(sync))
                .map(|s| s.2)
        };
        assert_eq!(value("hubsync_backlog", hostile), Some(42.0));
        assert_eq!(value("hubsync_backlog", "plain"), Some(0.0));
        assert_eq!(value("hubsync_backlog", "x"), None);
        assert_eq!(value("hubsync_pushed_total", hostile), Some(10.0));
        assert_eq!(value("hubsync_review_queue", "plain"), Some(3.0));
        assert_eq!(value("hubsync_error_rate", "plain"), Some(0.0909));
        assert_eq!(value("hubsync_pull_lag_seconds", "plain"), None);
        assert_eq!(value("hubsync_open_alerts", "plain"), Some(1.0));
        let p99 = samples.iter().find(|(n, l, _)| {
            n == "hubsync_push_latency_seconds" && l["sync"] == "plain" && l["quantile"] == "0.99"
        });
        assert_eq!(p99.map(|s| s.2), Some(0.08));
        assert_eq!(
            samples[0],
            (
                "hubsync_snapshot_timestamp_seconds".into(),
                BTreeMap::new(),
                20_000.0
            )
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(3.0), "3");
    }
}
