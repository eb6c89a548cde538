//! Change Data Capture end to end: remote changes reach the table through the stream (with
//! polling set to hours, so polling cannot be what delivered them), hubsync's own writes are
//! not read back, a killed worker replays from its stored replay id without losing or
//! repeating anything, and gaps or an expired replay id fall back to polling and then stream
//! again.

use hubsync_e2e::{
    accounts_sync, kill_worker, scalar, wait_for_value, wait_until, AccountsSync,
    SERVING_WORKER_PID,
};
use postgres::Client;
use serde_json::{json, Value};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(120);

/// Real time, with `polling_seconds` between polls while polling and a safety poll of hours.
fn streaming_sync(name: &str, polling_seconds: u64) -> AccountsSync {
    let patch = json!({"sync_settings": {"ongoing_sync": {
        "mode": "real_time",
        "polling_interval_seconds": polling_seconds,
        "safety_poll_seconds": 36_000
    }}});
    accounts_sync(name, &[], patch)
}

fn pull_mode(db: &mut Client) -> String {
    scalar(db, "SELECT pull_mode FROM hubsync.status")
}

/// Waits until the sync streams (subscribed, and what changed before read once).
fn wait_streaming(db: &mut Client) {
    wait_until(PATIENCE, "the sync to stream", || {
        (pull_mode(db) == "streaming").then_some(())
    });
}

/// Subscribers connected to the emulator.
fn subscribers(sync: &AccountsSync) -> usize {
    sync.remote.admin("GET", "streaming", None)["clients"]
        .as_object()
        .map_or(0, |c| c.len())
}

/// The watermark polls move, in milliseconds (as the worker stores it).
fn watermark(db: &mut Client) -> Option<i64> {
    scalar(
        db,
        "SELECT (extract(epoch FROM watermark) * 1000)::int8 FROM hubsync.pull_state",
    )
}

fn create_remote(sync: &AccountsSync, name: &str) -> String {
    sync.remote
        .write(
            "POST",
            "Account",
            None,
            json!({"Name": name, "Industry": "Streamed"}),
        )
        .expect("an id")
}

fn local_name(db: &mut Client, sf_id: &str) -> Option<String> {
    db.query_opt(
        "SELECT account_name FROM accounts WHERE sf_id = $1",
        &[&sf_id],
    )
    .unwrap()
    .map(|r| r.get(0))
}

fn wait_name(db: &mut Client, sf_id: &str, name: Option<&str>) {
    wait_until(PATIENCE, &format!("{sf_id} to read {name:?}"), || {
        (local_name(db, sf_id).as_deref() == name).then_some(())
    });
}

/// The newest replay id the emulator handed any subscriber.
fn delivered_replay(sync: &AccountsSync) -> i64 {
    let summary = sync.remote.admin("GET", "streaming", None);
    summary["clients"]
        .as_object()
        .into_iter()
        .flat_map(|clients| clients.values())
        .flat_map(|channels| channels.as_object().into_iter().flat_map(|c| c.values()))
        .filter_map(Value::as_i64)
        .max()
        .unwrap_or(0)
}

#[test]
fn remote_creates_updates_and_deletes_arrive_by_stream() {
    let sync = streaming_sync("cdc-arrive", 36_000);
    let mut db = sync.db();
    wait_streaming(&mut db);
    let (before, queries) = (watermark(&mut db), sync.remote.calls("query"));

    let id = create_remote(&sync, "Streamed Co");
    wait_name(&mut db, &id, Some("Streamed Co"));
    sync.remote.write(
        "PATCH",
        "Account",
        Some(&id),
        json!({"Name": "Streamed Co (renamed)"}),
    );
    wait_name(&mut db, &id, Some("Streamed Co (renamed)"));
    sync.remote.write("DELETE", "Account", Some(&id), json!({}));
    wait_name(&mut db, &id, None);

    assert_eq!(
        sync.remote.calls("query"),
        queries,
        "no poll ran while the changes arrived\n{}",
        sync.diagnostics()
    );
    assert_eq!(
        watermark(&mut db),
        before,
        "the stream, not a poll, moved them"
    );
    let stored: Option<i64> = scalar(&mut db, "SELECT replay_id FROM hubsync.pull_state");
    assert!(stored.is_some_and(|r| r > 0), "the replay id is stored");
    assert_eq!(pull_mode(&mut db), "streaming");
}

#[test]
fn hubsyncs_own_writes_are_not_read_back() {
    let sync = streaming_sync("cdc-own", 36_000);
    let mut db = sync.db();
    wait_streaming(&mut db);
    let (heard, writes) = (delivered_replay(&sync), sync.remote.calls("collections"));

    db.execute(
        "INSERT INTO accounts (account_name, industry_type) VALUES ('Local Co', 'Pushed')",
        &[],
    )
    .unwrap();
    sync.wait_idle(&mut db);
    wait_until(PATIENCE, "the id written back", || {
        scalar::<Option<String>>(&mut db, "SELECT sf_id FROM accounts")
    });
    // The create's change event reaches the subscriber and its replay id is applied.
    wait_until(PATIENCE, "the own event to be applied", || {
        let delivered = delivered_replay(&sync);
        let stored: Option<i64> = scalar(&mut db, "SELECT replay_id FROM hubsync.pull_state");
        (delivered > heard && stored == Some(delivered)).then_some(())
    });
    assert_eq!(
        sync.remote.calls("collections") - writes,
        1,
        "one call pushed the row and none read it back\n{}",
        sync.diagnostics()
    );
}

#[test]
fn a_killed_worker_replays_without_losing_or_repeating_changes() {
    let sync = streaming_sync("cdc-replay", 36_000);
    let mut db = sync.db();
    wait_streaming(&mut db);
    let (before, queries) = (watermark(&mut db), sync.remote.calls("query"));

    let create = |range: std::ops::Range<usize>| -> Vec<String> {
        range
            .map(|i| create_remote(&sync, &format!("Replay {i:02}")))
            .collect()
    };
    let mut ids = create(0..5);
    wait_until(PATIENCE, "a replay id stored", || {
        scalar::<Option<i64>>(&mut db, "SELECT replay_id FROM hubsync.pull_state")
    });
    // Killed while the next events are being heard and applied.
    ids.extend(create(5..10));
    let old = kill_worker(&mut db);
    ids.extend(create(10..20));
    wait_until(PATIENCE, "a new worker", || {
        let pid: i32 = scalar(&mut db, SERVING_WORKER_PID);
        (pid != 0 && pid != old).then_some(pid)
    });
    for (i, id) in ids.iter().enumerate() {
        let name = format!("Replay {i:02}");
        wait_name(&mut db, id, Some(&name));
    }
    let (rows, distinct): (i64, i64) = {
        let row = db
            .query_one("SELECT count(*), count(DISTINCT sf_id) FROM accounts", &[])
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!((rows, distinct), (20, 20), "{}", sync.diagnostics());
    let review: i64 = scalar(&mut db, "SELECT count(*) FROM hubsync.review_queue");
    assert_eq!(review, 0, "{}", sync.diagnostics());
    assert_eq!(
        (watermark(&mut db), sync.remote.calls("query")),
        (before, queries),
        "the restarted worker replayed the events; no poll read them\n{}",
        sync.diagnostics()
    );
    wait_until(PATIENCE, "streaming again", || {
        (pull_mode(&mut db) == "streaming").then_some(())
    });
}

#[test]
fn a_gap_falls_back_to_polling_and_streams_again() {
    let sync = streaming_sync("cdc-gap", 1);
    let mut db = sync.db();
    wait_streaming(&mut db);

    sync.remote.admin(
        "POST",
        "streaming/gap",
        Some(json!({"object": "Account", "changeType": "GAP_UPDATE", "recordIds": []})),
    );
    let mode = wait_for_value(
        PATIENCE,
        "the gap fallback",
        &mut db,
        "SELECT pull_mode FROM hubsync.status",
        |m: &String| m.starts_with("polling (gap event; streaming again at "),
    );
    assert!(mode.ends_with("Z)"), "{mode}");
    assert_eq!(
        subscribers(&sync),
        0,
        "the subscriber left\n{}",
        sync.diagnostics()
    );
    let id = create_remote(&sync, "Polled Co");
    wait_name(&mut db, &id, Some("Polled Co"));

    // After the pause, the sync streams again by itself.
    wait_streaming(&mut db);
    let id = create_remote(&sync, "Streamed Again Co");
    wait_name(&mut db, &id, Some("Streamed Again Co"));
}

#[test]
fn an_expired_replay_id_falls_back_to_polling_from_the_watermark() {
    let sync = streaming_sync("cdc-expired", 1);
    let mut db = sync.db();
    wait_streaming(&mut db);
    let id = create_remote(&sync, "Before Co");
    wait_name(&mut db, &id, Some("Before Co"));

    // The org's retention (72 h) passes; the worker restarts from a replay id older than
    // what is retained.
    sync.remote.advance_clock(73 * 3600);
    db.execute("UPDATE hubsync.pull_state SET replay_id = 0", &[])
        .unwrap();
    kill_worker(&mut db);
    wait_for_value(
        PATIENCE,
        "the expired-replay fallback",
        &mut db,
        "SELECT pull_mode FROM hubsync.status",
        |m: &String| m.starts_with("polling (replay id expired; streaming again at "),
    );
    let forgotten: Option<i64> = scalar(&mut db, "SELECT replay_id FROM hubsync.pull_state");
    assert_eq!(forgotten, None, "the expired replay id is forgotten");
    let id = create_remote(&sync, "After Co");
    wait_name(&mut db, &id, Some("After Co"));
}

#[test]
fn polling_mode_never_streams() {
    let patch = json!({"sync_settings": {"ongoing_sync": {
        "mode": "polling", "polling_interval_seconds": 1
    }}});
    let sync = accounts_sync("cdc-polling", &[], patch);
    let mut db = sync.db();
    let id = create_remote(&sync, "Polled Only Co");
    wait_name(&mut db, &id, Some("Polled Only Co"));
    assert_eq!(pull_mode(&mut db), "polling");
    assert_eq!(subscribers(&sync), 0, "no subscriber was started");
}

#[test]
fn a_lost_session_is_handshaken_again_without_losing_events() {
    let sync = streaming_sync("cdc-session", 36_000);
    let mut db = sync.db();
    wait_streaming(&mut db);
    let (before, queries) = (watermark(&mut db), sync.remote.calls("query"));
    let id = create_remote(&sync, "Before The Loss Co");
    wait_name(&mut db, &id, Some("Before The Loss Co"));

    // The server forgets every client (`403::Unknown client` on the next poll).
    sync.remote.admin("POST", "streaming/forget-clients", None);
    let id = create_remote(&sync, "After The Loss Co");
    wait_name(&mut db, &id, Some("After The Loss Co"));
    assert_eq!(
        (watermark(&mut db), sync.remote.calls("query")),
        (before, queries),
        "the new session resubscribed from the last event; no poll was needed\n{}",
        sync.diagnostics()
    );
    assert_eq!(pull_mode(&mut db), "streaming");
}

#[test]
fn an_object_without_change_events_is_polled() {
    let sync = streaming_sync("cdc-disabled", 1);
    let mut db = sync.db();
    sync.remote.admin(
        "PUT",
        "streaming/entities",
        Some(json!({"entities": ["Contact"]})),
    );
    wait_for_value(
        PATIENCE,
        "the fallback for a disabled object",
        &mut db,
        "SELECT pull_mode FROM hubsync.status",
        |m: &String| m.starts_with("polling (change events not enabled for the object; "),
    );
    let id = create_remote(&sync, "Polled Anyway Co");
    wait_name(&mut db, &id, Some("Polled Anyway Co"));
}
