//! The dashboard's Postgres side: follows `hubsync.dashboard_listen` and
//! `hubsync.dashboard_token_file`, starts and stops the server (`hubsync_core::dashboard`),
//! and refreshes what it serves.
//!
//! Invariants: only this main thread reads Postgres, in one short statement per refresh,
//! at most one part in `REFRESH_SHARE` of its time (`refresh_interval`); the server's
//! threads are created with every signal blocked and read only the [`Board`]; the token
//! is read from its file, kept as a digest and never logged.

use super::xact;
use crate::guc;
use hubsync_core::dashboard::access::{Listen, Token};
use hubsync_core::dashboard::refresh_interval;
use hubsync_core::dashboard::server::{self, Running};
use hubsync_core::dashboard::snapshot::{Board, Reading, WINDOW_S};
use pgrx::prelude::*;
use pgrx::JsonB;
use std::time::{Duration, Instant};

/// How long after a failed start (a port in use) the worker tries again by itself.
const RETRY_START: Duration = Duration::from_secs(30);

/// Everything the status, metrics and alerts views show for the dashboard, as one JSON
/// document (`hubsync_core::dashboard::snapshot::Reading`); `$1` is the window in seconds.
const READING: &str = "
SELECT pg_catalog.jsonb_build_object(
  'taken_at', extract(epoch FROM now()),
  'syncs', coalesce((
    SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
      'name', st.name, 'state', st.state, 'connection_state', st.connection_state,
      'problem', st.problem, 'backlog', st.backlog,
      'oldest_pending_s', extract(epoch FROM st.oldest_pending_age),
      'pull_lag_s', extract(epoch FROM st.pull_lag),
      'pushed', coalesce(st.pushed, 0), 'push_failed', coalesce(st.push_failed, 0),
      'pulled', coalesce(st.pulled, 0), 'conflicts', coalesce(st.conflicts, 0),
      'api_calls', coalesce(st.api_calls, 0),
      'dashboard_enabled', s.config #> '{monitoring,dashboard_enabled}',
      'review', coalesce((
        SELECT pg_catalog.jsonb_object_agg(k.kind, k.n)
        FROM (SELECT r.kind, count(*) AS n FROM hubsync.review r
              WHERE r.sync_id = s.id GROUP BY r.kind) k), '{}'),
      'minutes', coalesce((
        SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
          'at', extract(epoch FROM m.minute), 'pushed', m.pushed, 'pulled', m.pulled,
          'errors', m.errors, 'throughput_per_s', m.throughput_per_s,
          'error_rate', m.error_rate, 'p50_ms', m.p50_latency_ms,
          'p95_ms', m.p95_latency_ms, 'p99_ms', m.p99_latency_ms) ORDER BY m.minute)
        FROM hubsync.metrics m
        WHERE m.sync = s.name AND m.minute >= now() - $1 * interval '1 second'), '[]')
    ) ORDER BY st.name)
    FROM hubsync.status st JOIN hubsync.sync s ON s.name = st.name), '[]'),
  'alerts', coalesce((
    SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
      'sync', a.sync, 'severity', a.severity, 'kind', a.kind, 'message', a.message,
      'raised_at', extract(epoch FROM a.raised_at)) ORDER BY a.raised_at DESC)
    FROM (SELECT * FROM hubsync.alerts WHERE resolved_at IS NULL
          ORDER BY raised_at DESC LIMIT 200) a), '[]'))";

/// The settings the running server was started with.
#[derive(PartialEq)]
struct Wanted {
    listen: Listen,
    token: Token,
}

/// The dashboard the serving worker owns.
#[derive(Default)]
pub struct Dashboard {
    board: Board,
    running: Option<(Running, Wanted)>,
    /// The settings were looked at (at start, and again after each reload).
    configured: bool,
    /// When to try again to start a server that could not bind its address.
    retry_at: Option<Instant>,
    /// When the figures are due again.
    refresh_at: Option<Instant>,
}

impl Dashboard {
    /// Forgets the settings it looked at, so the next round reads them again (after a
    /// configuration reload).
    pub fn reload(&mut self) {
        self.configured = false;
    }

    /// Follows the settings, then refreshes the figures when due and `readable` (the
    /// extension is installed at the library's version).
    pub fn round(&mut self, readable: bool) {
        let retry = self.retry_at.is_some_and(|t| Instant::now() >= t);
        if !self.configured || retry {
            self.configured = true;
            self.retry_at = None;
            self.configure();
        }
        if self.running.is_none() || !readable {
            return;
        }
        if self.refresh_at.is_some_and(|t| Instant::now() < t) {
            return;
        }
        let started = Instant::now();
        let read = xact::run_spi(|| Spi::get_one_with_args::<JsonB>(READING, &[WINDOW_S.into()]));
        let previous = self.board.current();
        let next = match read.map(|j| j.map(|j| serde_json::from_value::<Reading>(j.0))) {
            Ok(Some(Ok(reading))) => previous.next(reading),
            Ok(Some(Err(e))) => previous.stale(format!("unexpected figures: {e}")),
            Ok(None) => previous.stale("no figures".into()),
            Err(e) => previous.stale(e.to_string()),
        };
        self.board.publish(next);
        self.refresh_at = Some(Instant::now() + refresh_interval(started.elapsed()));
    }

    /// Starts, restarts or stops the server to match the settings; a setting it cannot use
    /// is reported once per reload and leaves the dashboard off.
    fn configure(&mut self) {
        let wanted = match wanted() {
            Ok(w) => w,
            Err(problem) => {
                if self.running.take().is_some() {
                    log!("hubsync dashboard stopped");
                }
                if let Some(problem) = problem {
                    warning!("hubsync dashboard is off: {problem}");
                }
                return;
            }
        };
        if self.running.as_ref().is_some_and(|(_, w)| *w == wanted) {
            return;
        }
        // Free the port before binding it again.
        self.running = None;
        let started = crate::threads::with_signals_blocked(|| {
            server::start(wanted.listen, wanted.token.clone(), self.board.clone())
        });
        match started {
            Ok(running) => {
                let reach = if wanted.listen.loopback() {
                    "this machine only"
                } else {
                    "other machines too"
                };
                log!(
                    "hubsync dashboard listening on http://{}/ ({reach}); /metrics for Prometheus",
                    running.addr
                );
                self.refresh_at = None;
                self.running = Some((running, wanted));
            }
            Err(e) => {
                warning!(
                    "hubsync dashboard cannot listen on {}: {e}; will try again in {}s",
                    wanted.listen.0,
                    RETRY_START.as_secs()
                );
                self.retry_at = Some(Instant::now() + RETRY_START);
            }
        }
    }
}

/// The server the settings ask for; `Err(None)` when the dashboard is simply off,
/// `Err(Some(problem))` when a setting is wrong.
fn wanted() -> Result<Wanted, Option<String>> {
    let setting = |s: &pgrx::guc::GucSetting<Option<std::ffi::CString>>| {
        s.get()
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let listen = Listen::parse(&setting(&guc::DASHBOARD_LISTEN)).map_err(Some)?;
    let Some(listen) = listen else {
        return Err(None);
    };
    let path = setting(&guc::DASHBOARD_TOKEN_FILE);
    if path.is_empty() {
        return Err(Some(
            "hubsync.dashboard_listen is set but hubsync.dashboard_token_file is not; \
             write a token (e.g. `openssl rand -hex 32`) to a file the server can read and name it there"
                .into(),
        ));
    }
    // A relative path is relative to the data directory, where the server runs.
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Some(format!(
            "cannot read hubsync.dashboard_token_file \"{path}\": {e}"
        ))
    })?;
    let token = Token::new(&text).map_err(|e| Some(format!("{e} (in \"{path}\")")))?;
    Ok(Wanted { listen, token })
}
