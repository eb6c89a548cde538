//! Salesforce Change Data Capture over the Streaming API: CometD (Bayeux) long polling at
//! `/cometd/<version>` with the replay extension (reference §9).
//!
//! This module holds the pure half — the messages hubsync sends, how it reads the answers,
//! and what each failure means — so every decision is unit-tested; [`subscriber`] is the
//! blocking loop that sends them. Events are turned into the system-neutral
//! [`StreamEvent`]: hubsync's own writes are recognised by the `client=<name>` it sends in
//! `Sforce-Call-Options`, which Salesforce echoes in `changeOrigin`.

pub mod subscriber;

use crate::connector::stream::{EventKind, StreamEnd, StreamEvent};
use crate::timestamp::Timestamp;
use serde_json::{json, Value};

/// The change-event channel of an object: `/data/AccountChangeEvent`, and for a custom
/// object `Invoice__c` → `/data/Invoice__ChangeEvent`. `None` for a name that cannot be
/// an object's.
pub fn channel(object: &str) -> Option<String> {
    let plain = !object.is_empty()
        && object
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !plain {
        return None;
    }
    let entity = object
        .strip_suffix("__c")
        .map_or_else(|| object.to_string(), |custom| format!("{custom}__"));
    Some(format!("/data/{entity}ChangeEvent"))
}

/// `/meta/handshake`, asking for long polling only.
pub(crate) fn handshake() -> Value {
    json!([{
        "channel": "/meta/handshake",
        "version": "1.0",
        "minimumVersion": "1.0",
        "supportedConnectionTypes": ["long-polling"],
        "id": "1",
    }])
}

/// `/meta/subscribe` to `channel` from `replay` (`-1`: only new events).
pub(crate) fn subscribe(client_id: &str, channel: &str, replay: i64) -> Value {
    json!([{
        "channel": "/meta/subscribe",
        "clientId": client_id,
        "subscription": channel,
        "ext": {"replay": {channel: replay}},
        "id": "2",
    }])
}

/// `/meta/connect`, asking the server to hold the poll at most `timeout_ms` (less than
/// the HTTP deadline, so a quiet stream is not mistaken for a broken one).
pub(crate) fn connect(client_id: &str, timeout_ms: u64) -> Value {
    json!([{
        "channel": "/meta/connect",
        "clientId": client_id,
        "connectionType": "long-polling",
        "advice": {"timeout": timeout_ms},
        "id": "3",
    }])
}

/// `/meta/disconnect`: the server forgets the client at once (it counts towards the org's
/// concurrent-client limit until then).
pub(crate) fn disconnect(client_id: &str) -> Value {
    json!([{"channel": "/meta/disconnect", "clientId": client_id, "id": "4"}])
}

/// A failed Bayeux exchange, by what the subscriber must do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Streaming cannot go on: fall back to polling for this reason.
    End(StreamEnd),
    /// The session is gone (`403::Unknown client`, or advice to handshake): handshake
    /// and subscribe again from the last event handed on.
    Rehandshake,
    /// Worth retrying after a pause (a dropped poll, a server error).
    Retry(String),
}

/// What a failed meta reply (`error` text and `advice.reconnect`) means.
pub(crate) fn classify(error: &str, reconnect: Option<&str>) -> Failure {
    let lower = error.to_ascii_lowercase();
    if lower.contains("replayid") {
        Failure::End(StreamEnd::PositionExpired)
    } else if lower.contains("does not exist") {
        Failure::End(StreamEnd::ObjectDisabled)
    } else if lower.contains("daily limit exceeded") {
        Failure::End(StreamEnd::AllowanceExhausted)
    } else if lower.contains("unknown client") || reconnect == Some("handshake") {
        Failure::Rehandshake
    } else {
        Failure::Retry(format!("streaming API refused: {error}"))
    }
}

/// The meta reply on `channel` among `replies`: `Ok(reply)` if successful, else what its
/// failure means. A missing reply is a failure worth retrying.
pub(crate) fn meta_reply<'a>(replies: &'a [Value], channel: &str) -> Result<&'a Value, Failure> {
    let reply = replies
        .iter()
        .find(|r| r.get("channel").and_then(Value::as_str) == Some(channel))
        .ok_or_else(|| Failure::Retry(format!("no {channel} reply in the answer")))?;
    if reply.get("successful").and_then(Value::as_bool) == Some(true) {
        return Ok(reply);
    }
    let error = reply
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("unsuccessful without an error");
    let reconnect = reply.pointer("/advice/reconnect").and_then(Value::as_str);
    Err(classify(error, reconnect))
}

/// The change events among `replies` (data messages on a `/data/` channel), in position
/// order.
pub(crate) fn events(replies: &[Value], client_name: &str) -> Vec<StreamEvent> {
    let mut events: Vec<StreamEvent> = replies
        .iter()
        .filter(|r| {
            r.get("channel")
                .and_then(Value::as_str)
                .is_some_and(|c| c.starts_with("/data/"))
        })
        .filter_map(|r| event(r, client_name))
        .collect();
    events.sort_by_key(|e| e.position);
    events
}

/// One CDC data message as a [`StreamEvent`]; `None` if it lacks a replay id or header.
fn event(message: &Value, client_name: &str) -> Option<StreamEvent> {
    let data = message.get("data")?;
    let position = data.pointer("/event/replayId")?.as_i64()?;
    let header = data.pointer("/payload/ChangeEventHeader")?;
    let change_type = header.get("changeType")?.as_str()?;
    let kind = match change_type {
        "CREATE" => EventKind::Create,
        "UPDATE" => EventKind::Update,
        "DELETE" => EventKind::Delete,
        "UNDELETE" => EventKind::Undelete,
        gap if gap.starts_with("GAP_") => EventKind::Gap,
        _ => return None,
    };
    let record_ids = header
        .get("recordIds")
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_str)
                // `001*`: a wildcard for "many records" that no read can use.
                .filter(|id| !id.ends_with('*'))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let origin = header
        .get("changeOrigin")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Some(StreamEvent {
        position,
        kind,
        record_ids,
        own: is_own_origin(origin, client_name),
        committed: header
            .get("commitTimestamp")
            .and_then(Value::as_i64)
            .map(Timestamp::from_millis),
    })
}

/// Whether a `changeOrigin` (`com/salesforce/api/rest/59.0;client=hubsync`) names
/// hubsync's client. Only an exact `client=` value counts, so `client=hubsync-other`
/// is someone else.
pub fn is_own_origin(origin: &str, client_name: &str) -> bool {
    origin
        .split(';')
        .filter_map(|part| part.trim().strip_prefix("client="))
        .any(|client| client == client_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(replay: i64, change_type: &str, origin: &str) -> Value {
        json!({
            "channel": "/data/AccountChangeEvent",
            "data": {
                "schema": "IeRuaY6cbI_HsV8Rv1Mc5g",
                "payload": {
                    "ChangeEventHeader": {
                        "entityName": "Account", "recordIds": ["001xx000003DGb2AAG"],
                        "changeType": change_type, "changeOrigin": origin,
                        "transactionKey": "0002a1b2", "sequenceNumber": 1,
                        "commitTimestamp": 1704067200000_i64, "commitNumber": 10987654321_i64,
                        "commitUser": "005xx0000000001AAA", "changedFields": ["Name"]
                    },
                    "Name": "Acme"
                },
                "event": {"replayId": replay}
            }
        })
    }

    #[test]
    fn channels_follow_the_object_name() {
        assert_eq!(channel("Account").unwrap(), "/data/AccountChangeEvent");
        assert_eq!(channel("Invoice__c").unwrap(), "/data/Invoice__ChangeEvent");
        assert_eq!(channel("bad/name"), None);
        assert_eq!(channel(""), None);
    }

    #[test]
    fn requests_carry_the_replay_extension_and_the_poll_timeout() {
        let sub = subscribe("c1", "/data/AccountChangeEvent", 42);
        assert_eq!(sub[0]["ext"]["replay"]["/data/AccountChangeEvent"], 42);
        assert_eq!(sub[0]["clientId"], "c1");
        assert_eq!(connect("c1", 25_000)[0]["advice"]["timeout"], 25_000);
        assert_eq!(
            handshake()[0]["supportedConnectionTypes"][0],
            "long-polling"
        );
        assert_eq!(disconnect("c1")[0]["channel"], "/meta/disconnect");
    }

    #[test]
    fn events_are_read_in_replay_order_with_their_origin() {
        let replies = vec![
            message(12, "UPDATE", "com/salesforce/api/rest/59.0;client=hubsync"),
            message(
                11,
                "CREATE",
                "com/salesforce/api/rest/59.0;client=dataloader",
            ),
            message(13, "UNDELETE", ""),
            message(14, "GAP_OVERFLOW", ""),
            json!({"channel": "/meta/connect", "successful": true}),
        ];
        let events = events(&replies, "hubsync");
        let summary: Vec<(i64, EventKind, bool)> =
            events.iter().map(|e| (e.position, e.kind, e.own)).collect();
        assert_eq!(
            summary,
            vec![
                (11, EventKind::Create, false),
                (12, EventKind::Update, true),
                (13, EventKind::Undelete, false),
                (14, EventKind::Gap, false),
            ]
        );
        assert_eq!(events[0].record_ids, vec!["001xx000003DGb2AAG".to_string()]);
        assert_eq!(
            events[0].committed,
            Some(Timestamp::from_millis(1704067200000))
        );
    }

    #[test]
    fn only_hubsyncs_exact_client_name_is_its_own() {
        assert!(is_own_origin(
            "com/salesforce/api/rest/59.0;client=hubsync",
            "hubsync"
        ));
        assert!(!is_own_origin(
            "com/salesforce/api/rest/59.0;client=hubsync2",
            "hubsync"
        ));
        assert!(!is_own_origin("", "hubsync"));
        assert!(!is_own_origin("client", "hubsync"));
    }

    #[test]
    fn failures_say_whether_to_poll_rehandshake_or_retry() {
        let expired = "400::The replayId {5} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.";
        assert_eq!(
            classify(expired, None),
            Failure::End(StreamEnd::PositionExpired)
        );
        assert_eq!(
            classify("400::The channel you requested to subscribe to does not exist {/data/AccountChangeEvent}", None),
            Failure::End(StreamEnd::ObjectDisabled)
        );
        assert_eq!(
            classify(
                "403::Organization total events daily limit exceeded",
                Some("none")
            ),
            Failure::End(StreamEnd::AllowanceExhausted)
        );
        assert_eq!(
            classify("403::Unknown client", Some("handshake")),
            Failure::Rehandshake
        );
        assert_eq!(
            classify("something", Some("handshake")),
            Failure::Rehandshake
        );
        assert!(matches!(
            classify("403::Handshake denied", Some("none")),
            Failure::Retry(_)
        ));
    }

    #[test]
    fn a_meta_reply_is_found_by_channel() {
        let replies = vec![json!({"channel": "/meta/subscribe", "successful": false,
                                  "error": "403::Unknown client", "advice": {"reconnect": "handshake"}})];
        assert_eq!(
            meta_reply(&replies, "/meta/subscribe"),
            Err(Failure::Rehandshake)
        );
        assert!(matches!(
            meta_reply(&replies, "/meta/connect"),
            Err(Failure::Retry(_))
        ));
        let ok = vec![json!({"channel": "/meta/handshake", "successful": true, "clientId": "x"})];
        assert_eq!(meta_reply(&ok, "/meta/handshake").unwrap()["clientId"], "x");
    }
}
