//! What the worker keeps per active sync between rounds: its parsed config, its table,
//! a client for its connection, the mapping engine once the remote object is described,
//! its HTTP threads, and which records are in flight.

use super::engine::Work;
use super::outbox::Claimed;
use super::pool::Pool;
use super::pull::PullRuntime;
use super::wait::Waiter;
use super::Outcome;
use crate::catalog::local_table::{self, FoundTable};
use crossbeam_channel::Sender;
use hubsync_core::config::{parse_sync, SyncConfig, SystemKind};
use hubsync_core::connection_state::ConnectionState;
use hubsync_core::connector::Connector;
use hubsync_core::mapping::Mapper;
use hubsync_core::retry::{self, Budget};
use pgrx::prelude::*;
use pgrx::JsonB;
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Share of the org's daily API requests hubsync leaves untouched.
pub const API_RESERVE: f64 = 0.05;

/// A sync as stored, with its credentials: the input a runtime is (re)built from.
pub struct SyncRow {
    pub id: i32,
    pub name: String,
    pub active: bool,
    pub config: serde_json::Value,
    pub table: pg_sys::Oid,
    /// The role the sync serves: every read and write of its table is made as this role.
    pub owner: pg_sys::Oid,
    /// Changes whenever the sync, its credentials or its owner's rights change.
    pub version: String,
    /// The sync row's `updated_at`: work planned under this config is fenced by it.
    pub stamp: String,
    /// The connection's secret, only if the owner may use it.
    pub secret: Option<serde_json::Value>,
    /// Why the sync may not run as its owner (role dropped, table dropped, someone else's
    /// credentials), if it may not.
    pub refused: Option<String>,
}

/// Every sync pool member `index` of `size` serves (`id % size = index`, as
/// `hubsync_core::serving::owner_of` for the positive ids syncs have), with the version
/// stamp that tells the worker to rebuild its runtime. The
/// stamp includes the owner's rights on the table, so a `GRANT` or `REVOKE` is noticed at
/// the next refresh; credentials are joined only where the owner may act for their owner.
pub fn load_rows(size: i32, index: i32) -> pgrx::spi::SpiResult<Vec<SyncRow>> {
    Spi::connect(|client| {
        client
            .select(
                "SELECT s.id, s.name, s.state = 'active', s.config, s.local_table::oid, s.owner::oid, \
                        concat_ws('/', s.updated_at, c.updated_at, a.rights, a.refused), \
                        CASE WHEN a.refused IS NULL THEN c.secret END, a.refused, s.updated_at::text \
                 FROM hubsync.sync s \
                 LEFT JOIN hubsync.credentials c ON c.connection = s.connection \
                 CROSS JOIN LATERAL ( \
                     SELECT CASE \
                              WHEN r.oid IS NULL THEN 'the role that owns the sync no longer exists' \
                              WHEN t.oid IS NULL THEN 'the sync''s table no longer exists' \
                              WHEN c.owner IS NOT NULL AND (cr.oid IS NULL OR NOT pg_has_role(s.owner, c.owner, 'USAGE')) \
                                  THEN format('the credentials of connection \"%s\" belong to role %s, which the sync''s owner %s cannot act for', \
                                              s.connection, coalesce(cr.rolname::text, c.owner::oid::text), r.rolname) \
                            END AS refused, \
                            CASE WHEN r.oid IS NOT NULL AND t.oid IS NOT NULL THEN concat( \
                                has_table_privilege(s.owner, t.oid, 'SELECT')::int, \
                                has_table_privilege(s.owner, t.oid, 'INSERT')::int, \
                                has_table_privilege(s.owner, t.oid, 'UPDATE')::int, \
                                has_table_privilege(s.owner, t.oid, 'DELETE')::int, \
                                pg_has_role(s.owner, t.relowner, 'USAGE')::int) END AS rights \
                     FROM (SELECT) one \
                     LEFT JOIN pg_roles r ON r.oid = s.owner \
                     LEFT JOIN pg_roles cr ON cr.oid = c.owner \
                     LEFT JOIN pg_class t ON t.oid = s.local_table \
                 ) a \
                 WHERE s.id % $1 = $2 \
                 ORDER BY s.id",
                None,
                &[size.into(), index.into()],
            )?
            .map(|row| {
                Ok(SyncRow {
                    id: row.get(1)?.unwrap_or_default(),
                    name: row.get(2)?.unwrap_or_default(),
                    active: row.get(3)?.unwrap_or(false),
                    config: row.get::<JsonB>(4)?.map(|j| j.0).unwrap_or_default(),
                    table: row.get(5)?.unwrap_or(pg_sys::InvalidOid),
                    owner: row.get(6)?.unwrap_or(pg_sys::InvalidOid),
                    version: row.get(7)?.unwrap_or_default(),
                    secret: row.get::<JsonB>(8)?.map(|j| j.0),
                    refused: row.get(9)?,
                    stamp: row.get(10)?.unwrap_or_default(),
                })
            })
            .collect()
    })
}

/// Why a sync cannot be built: the state `hubsync.status` shows, and the problem.
pub struct Refusal {
    pub state: ConnectionState,
    pub problem: String,
}

impl Refusal {
    fn invalid(problem: String) -> Refusal {
        Refusal {
            state: ConnectionState::Invalid,
            problem,
        }
    }

    fn forbidden(problem: String) -> Refusal {
        Refusal {
            state: ConnectionState::Forbidden,
            problem,
        }
    }
}

/// Whether the sync can talk to its remote system right now.
#[derive(Debug, Clone)]
pub enum Health {
    /// Working normally.
    Ok,
    /// Cannot run until someone changes something (credentials, config, remote schema).
    Blocked {
        state: ConnectionState,
        problem: String,
    },
    /// A connection-level failure; try again after `until`.
    Waiting {
        state: ConnectionState,
        until: Instant,
        backoff: Duration,
        problem: String,
    },
}

/// Per-sync state the worker keeps between rounds.
pub struct Runtime {
    pub id: i32,
    /// The role the sync serves; its table is read and written only as this role.
    pub owner: pg_sys::Oid,
    /// The config's stamp, which fences the work planned with it (see `fence`).
    pub stamp: String,
    pub active: bool,
    pub version: String,
    pub config: SyncConfig,
    pub table: FoundTable,
    pub client: Option<Arc<dyn Connector>>,
    /// The bulk jobs a previous worker left unsettled have been taken up.
    pub bulk_recovered: bool,
    pub mapper: Option<Arc<Mapper>>,
    pub describing: bool,
    pub health: Health,
    pub pool: Pool<Outcome>,
    pool_size: usize,
    /// Primary keys of records with a request outstanding: their newer changes wait.
    pub in_flight: HashSet<String>,
    /// Claimed rows held back until their record's request returns.
    pub deferred: Vec<Claimed>,
    /// Prepared requests waiting for a free HTTP thread.
    pub queued: VecDeque<Work>,
    /// Requests sent and not yet answered.
    pub outstanding: usize,
    /// The pull side: progress, the page being fetched or waiting to be applied.
    pub pull: PullRuntime,
    /// The streaming side: the subscriber, events heard, the mode shown.
    pub stream: super::stream::StreamRuntime,
    /// When alerts were last checked.
    pub monitor: super::monitor::MonitorState,
    /// Where the next claim starts.
    pub cursor: super::outbox::Cursor,
    /// The connection state last written to `hubsync.status`.
    pub reported_health: Option<(&'static str, Option<String>)>,
}

impl Runtime {
    /// Builds a runtime from its stored row; `Err` names what stops the sync from running.
    pub fn build(
        row: &SyncRow,
        results: &Sender<Outcome>,
        waiter: &Waiter,
    ) -> Result<Runtime, Refusal> {
        if let Some(refused) = &row.refused {
            return Err(Refusal::forbidden(format!(
                "{refused}; hubsync acts only as the role that owns a sync"
            )));
        }
        let config = parse_sync(&row.config).map_err(|problems| {
            let all: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            Refusal::invalid(format!("invalid config: {}", all.join("; ")))
        })?;
        let table = local_table::describe(row.table, row.owner)
            .map_err(|e| Refusal::invalid(format!("cannot read the local table: {e}")))?;
        if let Some(missing) = hubsync_core::config::missing_rights(&config, &table.table) {
            return Err(Refusal::forbidden(format!(
                "the sync's owner lost a right it needs: {}",
                missing.message
            )));
        }
        let pool_size = config.performance.parallelism.max(1) as usize;
        let pool = Pool::start(&format!("hubsync-{}", row.id), pool_size, results, waiter)
            .map_err(|e| Refusal::invalid(format!("cannot start HTTP threads: {e}")))?;
        let mut runtime = Runtime {
            id: row.id,
            owner: row.owner,
            stamp: row.stamp.clone(),
            active: row.active,
            version: row.version.clone(),
            client: None,
            bulk_recovered: false,
            mapper: None,
            describing: false,
            health: Health::Ok,
            pool,
            pool_size,
            in_flight: HashSet::new(),
            deferred: Vec::new(),
            queued: VecDeque::new(),
            outstanding: 0,
            monitor: Default::default(),
            cursor: Default::default(),
            reported_health: None,
            pull: PullRuntime {
                state: crate::catalog::pull_state::load(row.id)
                    .map_err(|e| Refusal::invalid(format!("cannot read the pull state: {e}")))?,
                ..PullRuntime::default()
            },
            stream: Default::default(),
            config,
            table,
        };
        runtime.connect(row.secret.as_ref());
        Ok(runtime)
    }

    /// Takes over the in-flight bookkeeping of the runtime this one replaces, so requests
    /// already sent are still settled in order.
    pub fn inherit(&mut self, old: Runtime) {
        self.in_flight = old.in_flight;
        self.deferred = old.deferred;
        self.queued = old.queued;
        self.outstanding = old.outstanding;
        self.bulk_recovered = old.bulk_recovered;
        self.pull.fetching = old.pull.fetching;
        self.pull.waiting = old.pull.waiting;
        self.pull.due = old.pull.due;
        self.pull.polls = old.pull.polls;
        self.monitor = old.monitor.carried_over();
        if old.pool_size == self.pool_size {
            self.pool = old.pool;
        }
    }

    fn connect(&mut self, secret: Option<&serde_json::Value>) {
        let blocked = |problem: String| Health::Blocked {
            state: ConnectionState::NotConfigured,
            problem,
        };
        let Some(secret) = secret else {
            self.health = blocked(format!(
                "no credentials for connection \"{}\"; call hubsync.set_credentials()",
                self.config.connection
            ));
            return;
        };
        let remote = &self.config.remote;
        if remote.instance_url.is_none() && remote.account_id.is_none() {
            let key = match remote.system {
                SystemKind::Netsuite => "account_id",
                _ => "instance_url",
            };
            self.health = blocked(format!(
                "{}.credentials.{key} is missing; hubsync needs to know the remote account",
                remote.path
            ));
            return;
        }
        match crate::connection::sync_connector(
            self.id,
            &self.config,
            secret,
            self.pool_size,
            crate::connection::http_timeout(),
        ) {
            Ok(client) => self.client = Some(client),
            Err(problem) => self.health = blocked(problem),
        }
    }

    /// Most records one request carries, as the sync's connector takes them.
    pub fn batch_size(&self) -> usize {
        self.client.as_ref().map_or(1, |c| c.max_batch()).max(1)
    }

    /// Whether requests may be sent now (healthy, or a wait has passed). A healthy sync
    /// whose org has used its API budget down to the reserve backs off first.
    pub fn may_send(&mut self) -> bool {
        match &self.health {
            Health::Ok => self.within_budget(),
            Health::Blocked { .. } => false,
            Health::Waiting { until, .. } => Instant::now() >= *until,
        }
    }

    /// Keeps [`API_RESERVE`] of the org's daily API requests for everyone else: once usage
    /// (from the last `Sforce-Limit-Info`) reaches it, the sync waits and tries again later.
    fn within_budget(&mut self) -> bool {
        let Some(usage) = self.client.as_ref().and_then(|c| c.api_usage()) else {
            return true;
        };
        if retry::api_budget_state(usage.used, usage.max, API_RESERVE) == Budget::Ok {
            return true;
        }
        let problem = format!(
            "the org has used {} of its {} daily API requests; hubsync keeps the last {:.0}% for other \
             integrations and waits",
            usage.used,
            usage.max,
            API_RESERVE * 100.0
        );
        super::settle::back_off(self, retry::Class::RateLimited, &problem);
        false
    }

    /// Whether another request can be handed to the HTTP threads.
    pub fn has_capacity(&self) -> bool {
        self.outstanding < self.pool_size
    }
}

impl Runtime {
    /// `connection_state` as `hubsync.status` shows it.
    pub fn health_label(&self) -> &'static str {
        self.health_state().label()
    }

    /// The sync's connection state.
    pub fn health_state(&self) -> ConnectionState {
        match &self.health {
            Health::Ok => ConnectionState::Ok,
            Health::Blocked { state, .. } | Health::Waiting { state, .. } => *state,
        }
    }

    /// What stops the sync, for `hubsync.status.problem`.
    pub fn problem(&self) -> Option<&str> {
        match &self.health {
            Health::Ok => None,
            Health::Blocked { problem, .. } | Health::Waiting { problem, .. } => Some(problem),
        }
    }
}
