//! The blocking CometD subscriber: handshake, subscribe with the replay extension (from a
//! stored replay id, or `-1` for new events only), then long polls, each answer's events
//! handed to the engine's sink. A lost session is handshaken again and resubscribed from
//! the last event handed on, so nothing between is missed; a dropped poll is retried with
//! backoff; anything streaming cannot get past ends the loop with its reason.
//!
//! Runs on a thread of its own (never one that touches Postgres) and returns when the sink
//! answers `false`, which it is asked after every poll.

use super::{connect, disconnect, events, handshake, meta_reply, subscribe, Failure};
use crate::connector::stream::{reconnect_delay, StreamEnd, StreamMessage, MAX_FAILURES};
use crate::salesforce::SalesforceClient;
use serde_json::Value;

/// A sink for what the subscriber hears; `false` stops it.
pub type Sink<'a> = &'a mut dyn FnMut(StreamMessage) -> bool;

impl SalesforceClient {
    /// Streams the change events of `object` from replay id `from` (`None`: from now) into
    /// `sink` until it says stop or streaming cannot go on; see the module docs.
    pub fn stream(&self, object: &str, from: Option<i64>, sink: Sink<'_>) -> StreamEnd {
        let Some(channel) = super::channel(object) else {
            return StreamEnd::NotOffered;
        };
        let mut position = from;
        let mut failures = 0u32;
        loop {
            let session = match self.open(&channel, position) {
                Ok(session) => session,
                Err(Failure::End(end)) => return end,
                Err(Failure::Rehandshake) | Err(Failure::Retry(_))
                    if failures + 1 < MAX_FAILURES =>
                {
                    failures += 1;
                    if !pause(failures, sink) {
                        return StreamEnd::Stopped;
                    }
                    continue;
                }
                Err(Failure::Rehandshake) => {
                    return StreamEnd::Failing("sessions keep being lost".into())
                }
                Err(Failure::Retry(why)) => return StreamEnd::Failing(why),
            };
            if !sink(StreamMessage::Listening {
                from_now: position.is_none(),
            }) {
                return StreamEnd::Stopped;
            }
            let end = loop {
                match self.poll(&session) {
                    Ok(events) => {
                        failures = 0;
                        let gap = events
                            .iter()
                            .any(|e| e.kind == crate::connector::stream::EventKind::Gap);
                        position = events.last().map(|e| e.position).or(position);
                        if !sink(StreamMessage::Events(events)) {
                            break Some(StreamEnd::Stopped);
                        }
                        if gap {
                            break Some(StreamEnd::Gap);
                        }
                    }
                    Err(Failure::End(end)) => break Some(end),
                    Err(Failure::Rehandshake) => {
                        failures += 1;
                        break None;
                    }
                    Err(Failure::Retry(why)) => {
                        failures += 1;
                        if failures >= MAX_FAILURES {
                            break Some(StreamEnd::Failing(why));
                        }
                        if !pause(failures, sink) {
                            break Some(StreamEnd::Stopped);
                        }
                    }
                }
            };
            if let Some(end) = end {
                // Best effort: a session not closed expires by itself.
                let _ = self.bayeux(&disconnect(&session));
                return end;
            }
        }
    }

    /// Handshakes and subscribes; returns the client id.
    fn open(&self, channel: &str, position: Option<i64>) -> Result<String, Failure> {
        let replies = self.exchange(&handshake())?;
        let client_id = meta_reply(&replies, "/meta/handshake")?
            .get("clientId")
            .and_then(Value::as_str)
            .ok_or_else(|| Failure::Retry("handshake answered without a clientId".into()))?
            .to_string();
        let replies = self.exchange(&subscribe(&client_id, channel, position.unwrap_or(-1)))?;
        meta_reply(&replies, "/meta/subscribe")?;
        Ok(client_id)
    }

    /// One long poll: the events it brought (possibly none).
    fn poll(&self, client_id: &str) -> Result<Vec<crate::connector::stream::StreamEvent>, Failure> {
        let replies = self.exchange(&connect(client_id, self.long_poll_ms()))?;
        // Events that came with a failed connect were still delivered: hand them on.
        let events = events(&replies, self.client_name());
        match meta_reply(&replies, "/meta/connect") {
            Err(failure) if events.is_empty() => Err(failure),
            _ => Ok(events),
        }
    }

    fn exchange(&self, messages: &Value) -> Result<Vec<Value>, Failure> {
        self.bayeux(messages)
            .map_err(|e| Failure::Retry(format!("streaming API: {e}")))
    }
}

/// Sleeps before the `failures`-th retry, asking the sink first whether to go on.
fn pause(failures: u32, sink: Sink<'_>) -> bool {
    if !sink(StreamMessage::Events(Vec::new())) {
        return false;
    }
    std::thread::sleep(reconnect_delay(failures));
    true
}
