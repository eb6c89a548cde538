//! The shared state of one running emulator.

use crate::api::query::Cursors;
use crate::faults::Faults;
use crate::http::oauth::TokenStore;
use crate::schema::Schema;
use crate::store::Org;
use crate::EmulatorOptions;
use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Everything a request handler can reach.
pub struct App {
    pub options: EmulatorOptions,
    pub base_url: String,
    pub schema: Arc<Schema>,
    /// When the schema was last changed (start-up, to the second): describe's
    /// `Last-Modified`.
    pub schema_stamp_ms: i64,
    /// The `errorCode` of a 412 (`--precondition-failed-code`), kept for the life of
    /// the process as error codes are static text.
    pub precondition_failed_code: &'static str,
    /// The data. Held only for in-memory work, never across I/O or sleeps.
    pub org: RwLock<Org>,
    pub clock: Clock,
    pub tokens: TokenStore,
    pub faults: Faults,
    pub usage: Usage,
    pub counters: Counters,
    pub cursors: Cursors,
    /// Bulk API 2.0 jobs.
    pub bulk: crate::api::bulk::Jobs,
    /// Streaming API clients and change-event state.
    pub streaming: crate::streaming::Bus,
}

impl App {
    /// A fresh org.
    pub fn new(options: EmulatorOptions, schema: Arc<Schema>, base_url: String) -> App {
        App {
            streaming: crate::streaming::Bus::new(&options.streaming, &schema),
            org: RwLock::new(Org::new(schema.clone())),
            schema,
            precondition_failed_code: Box::leak(
                options.precondition_failed_code.clone().into_boxed_str(),
            ),
            schema_stamp_ms: {
                let now = Clock::default().now_ms();
                now - now.rem_euclid(1000)
            },
            base_url,
            clock: Clock::default(),
            // `start` has checked the JWT key already.
            tokens: TokenStore::new(crate::http::jwt::key(&options).ok().flatten()),
            faults: Faults::new(options.fault_seed),
            usage: Usage::new(options.api_request_limit),
            counters: Counters::default(),
            cursors: Cursors::default(),
            bulk: Default::default(),
            options,
        }
    }
}

/// Wall-clock time plus an adjustable offset, so tests can move time forward (token
/// expiry, replication windows) without sleeping.
#[derive(Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    /// Now, in epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        wall + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Moves the clock forward (or back) by `ms`.
    pub fn advance(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// The current offset from wall-clock time.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }
}

/// The daily API request counter behind `Sforce-Limit-Info` and `/limits`.
pub struct Usage {
    used: AtomicU64,
    max: AtomicU64,
}

impl Usage {
    fn new(max: u64) -> Usage {
        Usage {
            used: AtomicU64::new(0),
            max: AtomicU64::new(max),
        }
    }

    /// Counts one call, or refuses it when the limit is reached.
    pub fn try_consume(&self) -> bool {
        let max = self.max.load(Ordering::Relaxed);
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                (used < max).then_some(used + 1)
            })
            .is_ok()
    }

    /// (used, max).
    pub fn get(&self) -> (u64, u64) {
        (
            self.used.load(Ordering::Relaxed),
            self.max.load(Ordering::Relaxed),
        )
    }

    /// Sets either side of the counter.
    pub fn set(&self, used: Option<u64>, max: Option<u64>) {
        if let Some(max) = max {
            self.max.store(max, Ordering::Relaxed);
        }
        if let Some(used) = used {
            self.used.store(used, Ordering::Relaxed);
        }
    }

    /// The `Sforce-Limit-Info` header value.
    pub fn header(&self) -> String {
        let (used, max) = self.get();
        format!("api-usage={used}/{max}")
    }
}

/// Request counters for the admin API.
#[derive(Default)]
pub struct Counters {
    inner: Mutex<CounterData>,
}

#[derive(Default, Clone)]
pub struct CounterData {
    pub api_calls_by_endpoint: BTreeMap<&'static str, u64>,
    pub requests_by_status: BTreeMap<u16, u64>,
    pub faults_injected: BTreeMap<&'static str, u64>,
}

impl Counters {
    /// One API call that passed authentication and the limit check.
    pub fn api_call(&self, class: &'static str) {
        *self
            .inner
            .lock()
            .api_calls_by_endpoint
            .entry(class)
            .or_default() += 1;
    }

    /// One HTTP response.
    pub fn status(&self, status: u16) {
        *self
            .inner
            .lock()
            .requests_by_status
            .entry(status)
            .or_default() += 1;
    }

    /// One injected fault.
    pub fn fault(&self, kind: &'static str) {
        *self.inner.lock().faults_injected.entry(kind).or_default() += 1;
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> CounterData {
        self.inner.lock().clone()
    }

    /// Zeroes the counters.
    pub fn reset(&self) {
        *self.inner.lock() = CounterData::default();
    }
}
