//! The shared state of one running Zendesk emulator: the account's records, its jobs,
//! its rate-limit windows, and the clock, counters and faults every system has.

use super::fields::Schema;
use super::jobs::Jobs;
use super::limits::Window;
use super::store::Store;
use super::ZendeskOptions;
use crate::app::{Clock, Counters};
use crate::faults::{FaultKind, FaultScope, Faults};
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;

/// Endpoint classes a Zendesk fault rule can target, and the kinds it can render.
pub const FAULTS: FaultScope = FaultScope {
    classes: &[
        "read",
        "write",
        "bulk",
        "job_statuses",
        "incremental",
        "fields",
    ],
    kinds: &[
        FaultKind::Unavailable,
        FaultKind::ServerError,
        FaultKind::Drop,
        FaultKind::Latency,
        FaultKind::RateLimited,
    ],
};

/// Everything a request handler can reach.
pub struct Zendesk {
    /// As started.
    pub options: ZendeskOptions,
    /// `http://127.0.0.1:PORT`, used when a request names no `Host`.
    pub base_url: String,
    /// Organizations and users. Held only for in-memory work, never across I/O.
    pub store: RwLock<Store>,
    /// Bulk jobs.
    pub jobs: Jobs,
    /// The movable clock every timestamp and window reads.
    pub clock: Clock,
    /// Request counters for the admin API.
    pub counters: Counters,
    /// Injected faults.
    pub faults: Faults,
    /// The account's per-minute request window.
    pub api_window: Window,
    /// The incremental exports' own per-minute window.
    pub export_window: Window,
    /// Per-user update counts: user id → (minute, updates in it).
    pub user_updates: Mutex<HashMap<u64, (i64, u64)>>,
}

impl Zendesk {
    /// A fresh account.
    pub fn new(options: ZendeskOptions, schema: Schema, base_url: String) -> Zendesk {
        Zendesk {
            store: RwLock::new(Store::new(schema, &options)),
            jobs: Jobs::default(),
            clock: Clock::default(),
            counters: Counters::default(),
            faults: Faults::for_system(options.fault_seed, &FAULTS),
            api_window: Window::new(options.rate_limit),
            export_window: Window::new(options.export_rate_limit),
            user_updates: Mutex::new(HashMap::new()),
            base_url,
            options,
        }
    }

    /// Now, in whole epoch seconds (Zendesk timestamps have second precision).
    pub fn now(&self) -> i64 {
        self.clock.now_ms().div_euclid(1000)
    }
}
