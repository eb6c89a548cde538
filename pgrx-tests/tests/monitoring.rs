//! Monitoring end to end: the brief's alerting thresholds raise an alert (and a NOTIFY for
//! relays) when pushes keep failing, resolve it when they recover; metrics and the sync's
//! log are plain views.

use fallible_iterator::FallibleIterator;
use hubsync_e2e::{accounts_sync, fixtures, scalar, wait_for_value};
use serde_json::{json, Value};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(60);

#[test]
fn failing_pushes_raise_an_alert_and_notify_then_resolve() {
    let mut patch = fixtures::json("brief/11_monitoring.json");
    patch["error_handling"] = json!({
        "retry_strategy": {"max_attempts": 50, "backoff_factor": 1.0, "initial_delay_seconds": 0.1},
        "notification": {"channels": ["slack", "email"], "threshold": "critical"}
    });
    patch["validation_rules"] = json!([
        {"field": "industry_type", "rule": "one_of", "values": ["Energy", "Media"], "on_error": "warn"}
    ]);
    let sync = accounts_sync("alerts", &[], patch);
    let mut listener = sync.db();
    listener.batch_execute("LISTEN hubsync_alerts").unwrap();
    // Row locks: a failure Salesforce reports per record, retried. (A 503 to a plain create
    // would not do: the create may have been done, so it is reconciled, not retried.)
    sync.remote
        .inject(json!([{"endpoint": "collections", "kind": "lock_row"}]));
    let mut db = sync.db();
    db.batch_execute(
        "INSERT INTO accounts (account_name, industry_type) VALUES ('Down', 'Retail')",
    )
    .unwrap();

    let notice = listener
        .notifications()
        .timeout_iter(PATIENCE)
        .next()
        .unwrap()
        .expect("a NOTIFY on hubsync_alerts");
    let payload: Value = serde_json::from_str(notice.payload()).unwrap();
    assert_eq!(payload["kind"], "consecutive_failures");
    assert_eq!(payload["severity"], "critical");
    assert_eq!(payload["channels"], json!(["slack", "email"]));
    let open: Vec<(String, String, String)> = db
        .query(
            "SELECT kind, severity, message FROM hubsync.alerts WHERE resolved_at IS NULL ORDER BY kind",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    // Every record failed: the error rate is over its 1% too (an error, below the
    // notification threshold, so it was not NOTIFYed).
    assert_eq!(open.len(), 2, "{open:?}");
    assert_eq!(
        (open[0].0.as_str(), open[0].1.as_str()),
        ("consecutive_failures", "critical")
    );
    assert!(open[0].2.contains("in a row"), "{}", open[0].2);
    assert_eq!(
        (open[1].0.as_str(), open[1].1.as_str()),
        ("error_rate", "error")
    );

    sync.remote.heal();
    sync.wait_idle(&mut db);
    // Records get through again: the critical alert resolves (the error rate still
    // counts the recent failures until they leave its five-minute window).
    let open = "SELECT count(*) FROM hubsync.alerts \
                WHERE resolved_at IS NULL AND kind = 'consecutive_failures'";
    wait_for_value(PATIENCE, "the alert resolved", &mut db, open, |n: &i64| {
        *n == 0
    });
    let metrics = db
        .query_one("SELECT sum(pushed)::int8, sum(errors)::int8, max(max_latency_ms)::float8 FROM hubsync.metrics", &[])
        .unwrap();
    assert_eq!(metrics.get::<_, Option<i64>>(0), Some(1));
    assert!(metrics.get::<_, Option<i64>>(1).unwrap_or(0) >= 3);
    assert!(metrics.get::<_, Option<f64>>(2).is_some_and(|ms| ms > 0.0));
    // Latency percentiles of the minute the record got through, never above its maximum.
    let p = db
        .query_one(
            "SELECT p50_latency_ms::float8, p95_latency_ms::float8, p99_latency_ms::float8, max_latency_ms::float8 \
             FROM hubsync.metrics WHERE pushed > 0",
            &[],
        )
        .unwrap();
    let (p50, p95, p99, max): (f64, f64, f64, f64) = (p.get(0), p.get(1), p.get(2), p.get(3));
    assert!(
        0.0 < p50 && p50 <= p95 && p95 <= p99 && p99 <= max,
        "{p50} {p95} {p99} {max}"
    );
    // on_error: warn writes the record and logs the rule that failed.
    let logged: String = scalar(
        &mut db,
        "SELECT min(message) FROM hubsync.logs WHERE level = 'warning'",
    );
    assert!(
        logged.contains("one_of") && logged.contains("industry_type"),
        "{logged}"
    );
}
