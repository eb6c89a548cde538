//! hubsync's settings (`hubsync.*`), defined once when the library loads.

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use std::ffi::{CStr, CString};

/// Restricts the databases the launcher serves to a comma-separated list; empty (the
/// default) serves every database that has the extension.
pub static DATABASE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

/// Serving workers per database; a sync is served by exactly one of them.
pub static WORKERS_PER_DATABASE: GucSetting<i32> = GucSetting::<i32>::new(2);

/// How often the worker looks for work it was not woken for (ms): retries, pulls, leases.
pub static SWEEP_INTERVAL_MS: GucSetting<i32> = GucSetting::<i32>::new(1000);

/// Seconds an HTTP request to a remote system may take before it counts as timed out.
pub static HTTP_TIMEOUT_S: GucSetting<i32> = GucSetting::<i32>::new(30);

/// Plain `http` to any host, not only loopback; superuser-only, off by default, because
/// secrets and tokens would cross the network in clear text (see `hubsync_core::net`).
pub static ALLOW_HTTP: GucSetting<bool> = GucSetting::<bool>::new(false);

/// Where the dashboard and `/metrics` listen (`host:port`); empty, the default, is off.
/// Superuser-only, like every setting that opens the server to the network.
pub static DASHBOARD_LISTEN: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

/// A file holding the dashboard's access token. A file, not the token itself, because the
/// server logs a setting's new value when the configuration is reloaded.
pub static DASHBOARD_TOKEN_FILE: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(None);

/// Largest HTTP answer body read from a remote system (kB); a bigger one is an error.
pub static MAX_RESPONSE_SIZE_KB: GucSetting<i32> = GucSetting::<i32>::new(64 * 1024);

/// Seconds a claimed outbox batch stays leased to the worker before another run reclaims it.
pub static LEASE_S: GucSetting<i32> = GucSetting::<i32>::new(120);

/// The system a write comes from; the capture trigger does not send it back there.
/// The worker sets it (transaction-local) when applying remote changes.
pub static ORIGIN: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

/// Registers every setting and reserves the `hubsync.` prefix so typos are caught.
pub fn define() {
    GucRegistry::define_string_guc(
        c"hubsync.database",
        c"Databases hubsync serves: empty for every database, or a comma-separated list of names.",
        c"Empty (the default): every database that has the hubsync extension gets its workers. \
          A named database that does not exist yet, or lacks the extension, is waited for.",
        &DATABASE,
        GucContext::Sighup,
        GucFlags::SUPERUSER_ONLY,
    );
    GucRegistry::define_int_guc(
        c"hubsync.workers_per_database",
        c"Serving workers per database; each sync is served by exactly one of them.",
        c"Each takes one of max_worker_processes (the launcher takes one more). \
          Syncs are spread by id, so the database work of different syncs runs on different cores.",
        &WORKERS_PER_DATABASE,
        1,
        16,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"hubsync.sweep_interval",
        c"How often the worker checks for due retries, pulls and expired leases.",
        c"Pushes do not wait for this: a commit that writes the outbox wakes the worker at once.",
        &SWEEP_INTERVAL_MS,
        10,
        600_000,
        GucContext::Sighup,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_int_guc(
        c"hubsync.http_timeout",
        c"Timeout of one HTTP request to a remote system.",
        c"A request that times out after it was sent has an unknown outcome and is reconciled.",
        &HTTP_TIMEOUT_S,
        1,
        3600,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_bool_guc(
        c"hubsync.allow_http",
        c"Allows plain http URLs to any host, not only to loopback addresses.",
        c"Off: instance_url and login_url must be https unless their host is 127.0.0.0/8, ::1 or localhost. \
          On: secrets and tokens may cross the network unencrypted.",
        &ALLOW_HTTP,
        GucContext::Sighup,
        GucFlags::SUPERUSER_ONLY,
    );
    GucRegistry::define_string_guc(
        c"hubsync.dashboard_listen",
        c"Address and port of the read-only dashboard and its /metrics endpoint, such as 127.0.0.1:9187.",
        c"Empty (the default): no dashboard. Served by the worker; every request needs the token in \
          hubsync.dashboard_token_file. An address other than loopback lets other machines connect.",
        &DASHBOARD_LISTEN,
        GucContext::Sighup,
        GucFlags::SUPERUSER_ONLY,
    );
    GucRegistry::define_string_guc(
        c"hubsync.dashboard_token_file",
        c"File holding the dashboard's access token (at least 24 printable characters).",
        c"Requests send it as Authorization: Bearer <token>, or open the page with ?token=<token>. \
          Relative paths are relative to the data directory.",
        &DASHBOARD_TOKEN_FILE,
        GucContext::Sighup,
        GucFlags::SUPERUSER_ONLY,
    );
    GucRegistry::define_int_guc(
        c"hubsync.max_response_size",
        c"Largest HTTP answer hubsync reads from a remote system.",
        c"A bigger answer is refused without being read whole; a create answered so is reconciled.",
        &MAX_RESPONSE_SIZE_KB,
        64,
        i32::MAX,
        GucContext::Sighup,
        GucFlags::UNIT_KB,
    );
    GucRegistry::define_int_guc(
        c"hubsync.lease",
        c"How long a claimed outbox batch stays with the worker that claimed it.",
        c"After a crash, a restarted worker reclaims batches whose lease expired.",
        &LEASE_S,
        10,
        86_400,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_string_guc(
        c"hubsync.origin",
        c"System the current transaction's writes come from.",
        c"Set transaction-locally by the worker; capture does not send such writes back to that system.",
        &ORIGIN,
        GucContext::Userset,
        GucFlags::default(),
    );
    unsafe { pgrx::pg_sys::MarkGUCPrefixReserved(c"hubsync".as_ptr()) };
}

/// The `hubsync.database` setting as written; empty when every database is served.
pub fn database() -> String {
    DATABASE
        .get()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The size of each database's worker pool.
pub fn workers_per_database() -> i32 {
    WORKERS_PER_DATABASE.get().max(1)
}

/// The current origin tag without allocating: the capture trigger reads it on every row.
pub fn origin_is(system: &CStr) -> bool {
    // SAFETY: the GUC machinery keeps this pointer valid (or null) for the backend's life;
    // we only read it on the backend's main thread.
    let raw = unsafe { *ORIGIN.as_ptr() };
    !raw.is_null() && unsafe { CStr::from_ptr(raw) } == system
}

/// The sync the current transaction's writes come from (`sync:<id>`), if the origin tag names
/// one: the capture trigger records it as the change's provenance.
pub fn origin_sync() -> Option<i32> {
    // SAFETY: as in `origin_is`.
    let raw = unsafe { *ORIGIN.as_ptr() };
    if raw.is_null() {
        return None;
    }
    let tag = unsafe { CStr::from_ptr(raw) }.to_str().ok()?;
    tag.strip_prefix("sync:")?.parse().ok()
}
