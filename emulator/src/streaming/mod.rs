//! Change Data Capture over the Streaming API: CometD (Bayeux long polling) at
//! `/cometd/{version}`, with the replay extension, `/data/ChangeEvents` and
//! `/data/{Object}ChangeEvent` channels, retention, the daily delivery allocation,
//! per-object enablement and the faults a subscriber must survive.
//!
//! Events are not copied anywhere: they are read from the org's change log (the same
//! log that drives the replication endpoints), whose entries hold the record version
//! each change left, plus gap events injected through the admin API. A replay id is
//! the change log's sequence number, so it increases across the org and is never
//! reused. Invariant: a subscriber that resubscribes with the last replay id it
//! processed receives every retained event after it exactly once, in replay order.

mod bayeux;
mod events;

pub use bayeux::handle;

use crate::allocation::Rolling;
use crate::app::App;
use parking_lot::Mutex;
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// How the Streaming API behaves; `Default` is an Enterprise Edition org.
#[derive(Debug, Clone)]
pub struct StreamingOptions {
    /// How long change events stay replayable (72 hours).
    pub retention: Duration,
    /// Longest a `/meta/connect` is held open when no event arrives (110 s).
    pub poll_timeout: Duration,
    /// A client that does not reconnect within this time after an answer is forgotten
    /// (40 s, on the emulator's clock), and then gets `403::Unknown client`.
    pub session_timeout: Duration,
    /// Events delivered per rolling 24 hours, over all clients (Enterprise: 25,000).
    pub daily_delivery_allocation: u64,
    /// Most events sent in one `/meta/connect` answer.
    pub max_events_per_connect: usize,
    /// Most CometD clients at once (Enterprise: 1,000); one more is refused at handshake.
    pub max_clients: usize,
    /// Objects with Change Data Capture enabled at start; `None` enables every object.
    pub entities: Option<Vec<String>>,
    /// Subscribing to the channel of an object whose CDC is not enabled fails with
    /// "channel … does not exist" (`true`, the default) or succeeds and delivers
    /// nothing (`false`). Not confirmed against a real org.
    pub refuse_disabled_channels: bool,
}

impl Default for StreamingOptions {
    fn default() -> Self {
        StreamingOptions {
            retention: Duration::from_secs(72 * 60 * 60),
            poll_timeout: Duration::from_secs(110),
            session_timeout: Duration::from_secs(40),
            daily_delivery_allocation: 25_000,
            max_events_per_connect: 200,
            max_clients: 1_000,
            entities: None,
            refuse_disabled_channels: true,
        }
    }
}

/// Which events a subscription receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// `/data/ChangeEvents`: every enabled object.
    All,
    /// `/data/{Object}ChangeEvent`: one object (table index).
    Object(usize),
}

/// An injected gap event (`GAP_CREATE`, `GAP_UPDATE`, …, `GAP_OVERFLOW`).
#[derive(Debug, Clone)]
pub struct Gap {
    pub replay_id: u64,
    pub table: usize,
    pub change_type: String,
    pub record_ids: Vec<String>,
    pub commit_ms: i64,
}

/// One subscription of a client: its channel and the last replay id delivered.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub channel: Channel,
    pub cursor: u64,
}

/// A handshaken CometD client.
#[derive(Debug, Default)]
pub struct Client {
    pub subscriptions: BTreeMap<String, Subscription>,
    /// Emulator time of the last answer, for the session timeout.
    pub last_seen_ms: i64,
    /// Bumped by each `/meta/connect`; an older held poll that sees a newer one
    /// answers at once, so two polls never deliver the same events. Zero until the
    /// first connect, which CometD servers answer without holding it.
    pub poll: u64,
}

/// The streaming state: enablement, clients, gaps and delivery usage.
pub struct Bus {
    state: Mutex<BusState>,
    counter: std::sync::atomic::AtomicU64,
    /// Wakes held polls when clients are forgotten or a newer poll takes over.
    wake: tokio::sync::Notify,
}

struct BusState {
    /// Per table: events after this replay id are published (`None`: CDC disabled).
    enabled_from: Vec<Option<u64>>,
    clients: HashMap<String, Client>,
    gaps: Vec<Gap>,
    delivered: Rolling,
}

impl Bus {
    /// The bus of a fresh org.
    pub fn new(app_options: &StreamingOptions, schema: &crate::schema::Schema) -> Bus {
        Bus {
            state: Mutex::new(BusState {
                enabled_from: initial_enablement(app_options, schema),
                clients: HashMap::new(),
                gaps: Vec::new(),
                delivered: Rolling::default(),
            }),
            counter: Default::default(),
            wake: tokio::sync::Notify::new(),
        }
    }

    /// Forgets clients, gaps and usage; enablement back to the options' (admin reset).
    pub fn reset(&self, options: &StreamingOptions, schema: &crate::schema::Schema) {
        let mut s = self.state.lock();
        s.enabled_from = initial_enablement(options, schema);
        s.clients.clear();
        s.gaps.clear();
        s.delivered.clear();
        self.wake.notify_waiters();
    }

    /// Events delivered in the last 24 hours (`DailyDeliveredPlatformEvents`).
    pub fn delivered(&self, now: i64) -> u64 {
        self.state.lock().delivered.used(now)
    }

    /// Drops every client: their next request gets `403::Unknown client` and the advice
    /// to handshake again, as after a server-side session loss.
    pub fn forget_clients(&self) -> usize {
        let mut s = self.state.lock();
        let n = s.clients.len();
        s.clients.clear();
        self.wake.notify_waiters();
        n
    }

    /// Admin view: enabled objects, clients and their cursors, delivery usage.
    pub fn summary(&self, app: &App) -> Json {
        let now = app.clock.now_ms();
        let mut s = self.state.lock();
        let entities: Vec<&str> = s
            .enabled_from
            .iter()
            .enumerate()
            .filter(|(_, e)| e.is_some())
            .map(|(i, _)| app.schema.objects[i].name.as_str())
            .collect();
        let clients: BTreeMap<&String, BTreeMap<&String, u64>> = s
            .clients
            .iter()
            .map(|(id, c)| {
                (
                    id,
                    c.subscriptions
                        .iter()
                        .map(|(ch, sub)| (ch, sub.cursor))
                        .collect(),
                )
            })
            .collect();
        json!({"entities": entities, "clients": clients, "delivered": s.delivered.used(now)})
    }

    /// Sets which objects have CDC enabled; newly enabled objects publish from now on.
    pub fn set_entities(&self, app: &App, names: &[String]) -> Result<(), String> {
        let mut tables = Vec::new();
        for name in names {
            tables.push(
                app.schema
                    .object_index(name)
                    .ok_or_else(|| format!("no object named {name}"))?,
            );
        }
        let now_replay = app.org.read().last_replay_id();
        let mut s = self.state.lock();
        for (table, slot) in s.enabled_from.iter_mut().enumerate() {
            *slot = match (tables.contains(&table), *slot) {
                (true, Some(from)) => Some(from),
                (true, None) => Some(now_replay),
                (false, _) => None,
            };
        }
        Ok(())
    }

    /// Publishes a gap event for `object` (admin API).
    pub fn inject_gap(
        &self,
        app: &App,
        object: &str,
        change_type: &str,
        record_ids: Vec<String>,
    ) -> Result<u64, String> {
        const TYPES: [&str; 5] = [
            "GAP_CREATE",
            "GAP_UPDATE",
            "GAP_DELETE",
            "GAP_UNDELETE",
            "GAP_OVERFLOW",
        ];
        if !TYPES.contains(&change_type) {
            return Err(format!(
                "changeType {change_type} is not one of {}",
                TYPES.join(", ")
            ));
        }
        let table = app
            .schema
            .object_index(object)
            .ok_or_else(|| format!("no object named {object}"))?;
        let mut org = app.org.write();
        let replay_id = org.next_replay_id();
        self.state.lock().gaps.push(Gap {
            replay_id,
            table,
            change_type: change_type.to_string(),
            record_ids,
            commit_ms: app.clock.now_ms(),
        });
        org.committed.notify_waiters();
        Ok(replay_id)
    }

    fn new_client_id(&self) -> String {
        use std::hash::BuildHasher;
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let salt = std::collections::hash_map::RandomState::new().hash_one(n);
        format!("{n:x}{salt:016x}")
    }
}

fn initial_enablement(
    options: &StreamingOptions,
    schema: &crate::schema::Schema,
) -> Vec<Option<u64>> {
    schema
        .objects
        .iter()
        .map(|o| match &options.entities {
            None => Some(0),
            Some(names) => names
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&o.name))
                .then_some(0),
        })
        .collect()
}
