//! Change Data Capture over CometD: handshake, subscribe with replay, long polling,
//! event payloads, retention, enablement, allocation, gaps and session faults.

mod common;

use common::*;
use hubsync_emulator::{EmulatorOptions, StreamingOptions};
use serde_json::{json, Value as Json};

const ACCOUNTS: &str = "/data/AccountChangeEvent";

/// A minimal Bayeux client over the test agent.
struct Bayeux<'a> {
    org: &'a Org,
    client_id: String,
}

impl<'a> Bayeux<'a> {
    fn post(org: &Org, messages: Json) -> Resp {
        send(
            &org.agent,
            "POST",
            &format!("{}/cometd/59.0", org.base()),
            &[("Authorization", &format!("OAuth {}", org.token))],
            Some(&messages.to_string()),
        )
    }

    fn handshake(org: &'a Org) -> Bayeux<'a> {
        let r = Self::post(
            org,
            json!([{"channel": "/meta/handshake", "version": "1.0",
                     "supportedConnectionTypes": ["long-polling"], "id": "1"}]),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let reply = &r.json()[0];
        assert_eq!(reply["successful"], true, "{reply}");
        assert_eq!(reply["ext"]["replay"], true);
        Bayeux {
            org,
            client_id: reply["clientId"].as_str().unwrap().to_string(),
        }
    }

    fn subscribe(&self, channel: &str, replay: i64) -> Json {
        let r = Self::post(
            self.org,
            json!([{"channel": "/meta/subscribe", "clientId": self.client_id,
                     "subscription": channel, "id": "2",
                     "ext": {"replay": {channel: replay}}}]),
        );
        r.json()[0].clone()
    }

    /// One `/meta/connect` that answers at once: (data messages, connect reply).
    fn poll(&self) -> (Vec<Json>, Json) {
        self.connect(Some(0))
    }

    fn connect(&self, timeout: Option<u64>) -> (Vec<Json>, Json) {
        let mut message = json!({"channel": "/meta/connect", "clientId": self.client_id,
                                 "connectionType": "long-polling", "id": "3"});
        if let Some(t) = timeout {
            message["advice"] = json!({"timeout": t});
        }
        let r = Self::post(self.org, json!([message]));
        assert_eq!(r.status, 200, "{}", r.body);
        let mut all = r.json().as_array().unwrap().clone();
        let reply = all.pop().unwrap();
        assert_eq!(reply["channel"], "/meta/connect");
        (all, reply)
    }

    /// Polls until `n` events have arrived.
    fn events(&self, n: usize) -> Vec<Json> {
        let mut got = Vec::new();
        wait_for(&format!("{n} events"), || {
            let (events, reply) = self.poll();
            assert_eq!(reply["successful"], true, "{reply}");
            got.extend(events);
            got.len() >= n
        });
        assert_eq!(got.len(), n, "{got:#?}");
        got
    }
}

/// An org whose tokens outlive the clock moves of a test.
fn long_lived(streaming: StreamingOptions) -> Org {
    Org::with(EmulatorOptions {
        schema_json: Some(SCHEMA.into()),
        token_lifetime: std::time::Duration::from_secs(30 * 24 * 3600),
        streaming,
        ..Default::default()
    })
}

fn header(event: &Json) -> &Json {
    &event["data"]["payload"]["ChangeEventHeader"]
}

fn replay_id(event: &Json) -> i64 {
    event["data"]["event"]["replayId"].as_i64().unwrap()
}

#[test]
fn change_events_carry_the_full_header_and_changed_values() {
    let org = Org::start();
    let client = Bayeux::handshake(&org);
    assert_eq!(client.subscribe(ACCOUNTS, -1)["successful"], true);
    let origin = [("Sforce-Call-Options", "client=hubsync-test")];
    let r = org.call_with(
        "POST",
        "/composite/sobjects",
        &origin,
        Some(json!({"allOrNone": true, "records": [
            {"attributes": {"type": "Account"}, "Name": "A", "Phone": "1", "BillingCity": "Paris"},
            {"attributes": {"type": "Account"}, "Name": "B"}]})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let a = r.json()[0]["id"].as_str().unwrap().to_string();
    org.call_with(
        "PATCH",
        &format!("/sobjects/Account/{a}"),
        &origin,
        Some(json!({"Phone": null, "Name": "A2"})),
    );
    org.delete(&format!("/sobjects/Account/{a}"));
    assert_eq!(
        org.admin("POST", "undelete", Some(json!({"ids": [a]})))
            .status,
        200
    );
    let events = client.events(5);
    let types: Vec<&str> = events
        .iter()
        .map(|e| header(e)["changeType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["CREATE", "CREATE", "UPDATE", "DELETE", "UNDELETE"]);
    let ids: Vec<i64> = events.iter().map(replay_id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");

    let create = &events[0];
    assert_eq!(create["channel"], ACCOUNTS);
    let h = header(create);
    assert_eq!(h["entityName"], "Account");
    assert_eq!(h["recordIds"], json!([a]));
    assert_eq!(
        h["changeOrigin"],
        "com/salesforce/api/rest/59.0;client=hubsync-test"
    );
    assert_eq!(h["sequenceNumber"], 1);
    assert_eq!(header(&events[1])["sequenceNumber"], 2);
    assert_eq!(h["transactionKey"], header(&events[1])["transactionKey"]);
    assert_ne!(h["transactionKey"], header(&events[2])["transactionKey"]);
    assert!(h["commitTimestamp"].as_i64().unwrap() > 1_600_000_000_000);
    assert_eq!(h["changedFields"], json!([]));
    let payload = &create["data"]["payload"];
    assert_eq!(payload["Name"], "A");
    assert_eq!(payload["BillingAddress"], json!({"City": "Paris"}));
    assert!(payload.get("SystemModstamp").is_none() && payload.get("IsDeleted").is_none());
    assert!(payload["CreatedDate"].as_str().unwrap().ends_with(".000Z"));

    let update = &events[2];
    let h = header(update);
    let mut changed: Vec<&str> = h["changedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    changed.sort();
    assert_eq!(changed, ["LastModifiedDate", "Name", "Phone"]);
    assert_eq!(h["nulledFields"], json!(["Phone"]));
    assert_eq!(h["diffFields"], json!([]));
    assert_eq!(update["data"]["payload"]["Phone"], Json::Null);
    assert_eq!(update["data"]["payload"]["Name"], "A2");
    let delete = &events[3];
    assert_eq!(
        header(delete)["changeOrigin"],
        "com/salesforce/api/rest/59.0"
    );
    let undelete = &events[4];
    assert_eq!(header(undelete)["changeOrigin"], "");
    assert_eq!(undelete["data"]["payload"]["Name"], "A2");

    // A new subscriber replays from a stored replay id, and -2 replays everything.
    let late = Bayeux::handshake(&org);
    assert_eq!(late.subscribe(ACCOUNTS, ids[2])["successful"], true);
    let replayed = late.events(2);
    assert_eq!(replayed.iter().map(replay_id).collect::<Vec<_>>(), ids[3..]);
    let all = Bayeux::handshake(&org);
    all.subscribe("/data/ChangeEvents", -2);
    org.create("Contact", json!({"LastName": "Smith"}));
    let everything = all.events(6);
    assert_eq!(header(&everything[5])["entityName"], "Contact");
    assert_eq!(everything[5]["channel"], "/data/ChangeEvents");
    assert_eq!(
        everything[5]["data"]["payload"]["Name"],
        json!({"LastName": "Smith"})
    );
}

#[test]
fn a_held_connect_answers_when_a_change_commits() {
    let org = Org::start();
    let client = Bayeux::handshake(&org);
    client.subscribe(ACCOUNTS, -1);
    // The first connect after a handshake is answered at once, advice or not.
    let (events, reply) = client.connect(None);
    assert!(events.is_empty());
    assert_eq!(reply["successful"], true);
    std::thread::scope(|scope| {
        let held = scope.spawn(|| client.connect(None));
        org.create("Account", json!({"Name": "Live"}));
        let (events, reply) = held.join().unwrap();
        assert_eq!(reply["successful"], true);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["data"]["payload"]["Name"], "Live");
    });
}

#[test]
fn replay_ids_outside_retention_are_refused() {
    let org = long_lived(StreamingOptions::default());
    let old = org.create("Account", json!({"Name": "Old"}));
    let first = Bayeux::handshake(&org);
    first.subscribe(ACCOUNTS, -2);
    let stored = replay_id(&first.events(1)[0]);
    org.advance(73 * 3600);
    org.patch(&format!("/sobjects/Account/{old}"), json!({"Phone": "2"}));
    let client = Bayeux::handshake(&org);
    let refused = client.subscribe(ACCOUNTS, stored - 1);
    assert_eq!(refused["successful"], false);
    assert_eq!(
        refused["error"],
        format!("400::The replayId {{{}}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.", stored - 1)
    );
    assert_eq!(client.subscribe(ACCOUNTS, 999_999)["successful"], false);
    assert_eq!(client.subscribe(ACCOUNTS, stored)["successful"], true);
    let fresh = Bayeux::handshake(&org);
    fresh.subscribe(ACCOUNTS, -2);
    let events = fresh.events(1);
    assert_eq!(
        header(&events[0])["changeType"],
        "UPDATE",
        "expired events are gone"
    );
}

#[test]
fn channels_follow_per_object_enablement() {
    let org = Org::with(EmulatorOptions {
        schema_json: Some(SCHEMA.into()),
        streaming: StreamingOptions {
            entities: Some(vec!["Contact".into()]),
            ..Default::default()
        },
        ..Default::default()
    });
    let client = Bayeux::handshake(&org);
    let refused = client.subscribe(ACCOUNTS, -1);
    assert_eq!(
        refused["error"],
        "400::The channel you requested to subscribe to does not exist {/data/AccountChangeEvent}"
    );
    assert_eq!(
        client.subscribe("/data/Nope__ChangeEvent", -1)["successful"],
        false
    );
    assert_eq!(
        client.subscribe("/data/Invoice__ChangeEvent", -1)["successful"],
        false
    );
    client.subscribe("/data/ChangeEvents", -1);
    org.create("Account", json!({"Name": "Unpublished"}));
    let r = org.admin(
        "PUT",
        "streaming/entities",
        Some(json!({"entities": ["Account", "Invoice__c"]})),
    );
    assert_eq!(r.json()["entities"], json!(["Account", "Invoice__c"]));
    org.create("Account", json!({"Name": "Published"}));
    let events = client.events(1);
    assert_eq!(events[0]["data"]["payload"]["Name"], "Published");
    assert_eq!(
        client.subscribe("/data/Invoice__ChangeEvent", -1)["successful"],
        true
    );
}

#[test]
fn gaps_allocation_and_lost_sessions() {
    let org = long_lived(StreamingOptions {
        daily_delivery_allocation: 2,
        ..Default::default()
    });
    let client = Bayeux::handshake(&org);
    client.subscribe(ACCOUNTS, -1);
    let gap = org.admin(
        "POST",
        "streaming/gap",
        Some(json!({"object": "Account", "changeType": "GAP_UPDATE", "recordIds": ["001xx0000000001AAA"]})),
    );
    assert_eq!(gap.status, 200, "{}", gap.body);
    let events = client.events(1);
    let h = header(&events[0]);
    assert_eq!(h["changeType"], "GAP_UPDATE");
    assert_eq!(h["recordIds"], json!(["001xx0000000001AAA"]));
    assert_eq!(
        replay_id(&events[0]),
        gap.json()["replayId"].as_i64().unwrap()
    );

    org.create("Account", json!({"Name": "Second"}));
    client.events(1);
    org.create("Account", json!({"Name": "Third"}));
    let (events, reply) = client.poll();
    assert!(events.is_empty());
    assert_eq!(reply["successful"], false);
    assert_eq!(
        reply["error"],
        "403::Organization total events daily limit exceeded"
    );
    let limits = org.get("/limits").json();
    assert_eq!(
        limits["DailyDeliveredPlatformEvents"],
        json!({"Max": 2, "Remaining": 0})
    );
    org.advance(24 * 3600 + 1);
    let client = Bayeux::handshake(&org);
    client.subscribe(ACCOUNTS, -2);

    // A forgotten session: 403::Unknown client, with the advice to handshake again.
    org.admin("POST", "streaming/forget-clients", None);
    let (_, reply) = client.poll();
    assert_eq!(reply["error"], "403::Unknown client");
    assert_eq!(reply["advice"]["reconnect"], "handshake");
    // A client silent past the session timeout is forgotten too.
    let client = Bayeux::handshake(&org);
    client.subscribe(ACCOUNTS, -1);
    org.advance(41);
    let (_, reply) = client.poll();
    assert_eq!(reply["error"], "403::Unknown client");
}

#[test]
fn dropped_long_polls_lose_no_events_and_bad_sessions_are_refused() {
    let org = Org::start();
    let client = Bayeux::handshake(&org);
    client.subscribe(ACCOUNTS, -1);
    org.create("Account", json!({"Name": "Kept"}));
    org.admin(
        "POST",
        "faults",
        Some(json!({"rules": [{"endpoint": "streaming", "kind": "drop", "next": 1}]})),
    );
    let dropped = try_send(
        &org.agent,
        "POST",
        &format!("{}/cometd/59.0", org.base()),
        &[("Authorization", &format!("Bearer {}", org.token))],
        Some(&json!([{"channel": "/meta/connect", "clientId": client.client_id, "advice": {"timeout": 0}}]).to_string()),
    );
    assert!(dropped.is_err(), "the long poll is dropped");
    let events = client.events(1);
    assert_eq!(events[0]["data"]["payload"]["Name"], "Kept");

    let anonymous = send(
        &org.agent,
        "POST",
        &format!("{}/cometd/59.0", org.base()),
        &[],
        Some(&json!([{"channel": "/meta/handshake", "id": "1"}]).to_string()),
    );
    assert_eq!(anonymous.status, 401);
    assert_eq!(
        anonymous.json()[0]["error"],
        "401::Request requires authentication"
    );
    let old = send(
        &org.agent,
        "POST",
        &format!("{}/cometd/36.0", org.base()),
        &[("Authorization", &format!("Bearer {}", org.token))],
        Some("[]"),
    );
    assert_eq!(old.status, 404, "durable streaming starts at 37.0");
}

#[test]
fn handshakes_beyond_the_concurrent_client_limit_are_denied() {
    let org = long_lived(StreamingOptions {
        max_clients: 1,
        ..Default::default()
    });
    let first = Bayeux::handshake(&org);
    let denied = Bayeux::post(&org, json!([{"channel": "/meta/handshake", "id": "1"}]));
    let reply = &denied.json()[0];
    assert_eq!(reply["successful"], false);
    assert_eq!(reply["error"], "403::Handshake denied");
    assert_eq!(
        reply["ext"]["sfdc"]["failureReason"],
        "403::Organization concurrent user limit exceeded"
    );
    // A silent client no longer counts once its session has timed out.
    org.advance(41);
    Bayeux::handshake(&org);
    let (_, reply) = first.poll();
    assert_eq!(reply["error"], "403::Unknown client");
}

#[test]
fn a_lost_connect_answer_moves_past_its_events_and_replay_recovers_them() {
    let org = Org::start();
    let client = Bayeux::handshake(&org);
    client.subscribe(ACCOUNTS, -1);
    org.create("Account", json!({"Name": "Lost"}));
    org.admin(
        "POST",
        "faults",
        Some(
            json!({"rules": [{"endpoint": "streaming", "kind": "server_error_after", "next": 1}]}),
        ),
    );
    let lost = Bayeux::post(
        &org,
        json!([{"channel": "/meta/connect", "clientId": client.client_id,
                "connectionType": "long-polling", "advice": {"timeout": 0}}]),
    );
    assert_eq!(lost.status, 500, "{}", lost.body);
    let (events, reply) = client.poll();
    assert_eq!(reply["successful"], true, "{reply}");
    assert!(
        events.is_empty(),
        "the lost answer carried the event: {events:?}"
    );
    let replaying = Bayeux::handshake(&org);
    replaying.subscribe(ACCOUNTS, -2);
    let events = replaying.events(1);
    assert_eq!(events[0]["data"]["payload"]["Name"], "Lost");
}
