//! hubsync-emulator: a local Salesforce REST API that behaves like a real org in every
//! way a sync depends on (OAuth including the JWT bearer grant, describe, CRUD, upsert,
//! conditional requests, collections, composite, SOQL query paging and relationship
//! queries, replication endpoints, limits, validation and automation, Bulk API 2.0,
//! Change Data Capture over CometD), plus an admin API under `/__emulator/` for fault injection and inspection. The same server,
//! clock, faults and admin API also serve a local Zendesk Support API (Organizations
//! and Users, module `zendesk`) and a local NetSuite (SuiteTalk REST and SuiteQL,
//! [`netsuite`]): each system is one module tree and one start function, and the
//! binary has a subcommand per system.
//!
//! Start one in-process with [`start`] (Salesforce), [`start_zendesk`] or
//! [`netsuite::start`]; the `hubsync-emulator` binary is a thin wrapper.

#![recursion_limit = "256"]

mod admin;
mod allocation;
mod api;
mod app;
pub mod cli;
mod decode;
mod errors;
mod faults;
mod http;
mod ids;
mod keys;
mod load;
pub mod netsuite;
mod number;
mod save;
mod schema;
pub mod slack;
mod soql;
mod store;
mod streaming;
mod timefmt;
mod value;
mod zendesk;

pub use zendesk::cli::ZendeskArgs;
pub use zendesk::{start_zendesk, OrgDeletions, Role, ZendeskOptions};

pub use api::bulk::BulkOptions;
pub use streaming::StreamingOptions;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How a GET of a record in the recycle bin answers. Real orgs have been seen to answer
/// both ways (reference: [UNSURE]); a sync must treat both as "gone".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeletedRecordError {
    /// 404 `NOT_FOUND` "The requested resource does not exist".
    #[default]
    NotFound,
    /// 404 `ENTITY_IS_DELETED` "entity is deleted".
    EntityIsDeleted,
}

/// Everything configurable about an emulated org. `Default` gives the demo org:
/// client `hubsync-demo-client`/`hubsync-demo-secret`, user `demo@hubsync.local`/`demo-password`.
#[derive(Clone)]
pub struct EmulatorOptions {
    /// Address to listen on (127.0.0.1 unless told otherwise).
    pub bind: IpAddr,
    /// Port; 0 picks a free one.
    pub port: u16,
    /// Highest API version served (`vNN.0`); 31.0 up to it are accepted.
    pub max_api_version: u32,
    pub client_id: String,
    pub client_secret: String,
    pub username: String,
    pub password: String,
    /// A refresh token accepted in addition to the ones the emulator issues.
    pub refresh_token: Option<String>,
    /// Access tokens expire this long after issue (then 401 `INVALID_SESSION_ID`).
    pub token_lifetime: Duration,
    /// Schema file contents (custom objects/fields, validation rules, automations).
    pub schema_json: Option<String>,
    /// Data file contents loaded at start: `{"Account": [{...}], ...}`.
    pub data_json: Option<String>,
    /// Daily API request limit (`DailyApiRequests.Max`).
    pub api_request_limit: u64,
    /// How long an idle query locator stays valid.
    pub query_locator_ttl: Duration,
    /// Answer for a GET of a deleted record.
    pub deleted_record_error: DeletedRecordError,
    /// Seed of the fault-injection random choices (deterministic by default).
    pub fault_seed: u64,
    /// Worker threads of the server's runtime (0: one per core).
    pub worker_threads: usize,
    /// Bulk API 2.0 behaviour and allocations.
    pub bulk: BulkOptions,
    /// Streaming API (Change Data Capture) behaviour and allocations.
    pub streaming: StreamingOptions,
    /// PEM certificate of the connected app (or its RSA key as `RSA PUBLIC KEY` or
    /// `PUBLIC KEY`), which verifies JWT bearer assertions; without it the JWT grant refuses every assertion.
    pub jwt_certificate_pem: Option<String>,
    /// The `errorCode` of a 412 answer to a failed conditional PATCH (not confirmed
    /// against a real org; reference §3.6).
    pub precondition_failed_code: String,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        EmulatorOptions {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            max_api_version: 68,
            client_id: "hubsync-demo-client".into(),
            client_secret: "hubsync-demo-secret".into(),
            username: "demo@hubsync.local".into(),
            password: "demo-password".into(),
            refresh_token: None,
            token_lifetime: Duration::from_secs(2 * 60 * 60),
            schema_json: None,
            data_json: None,
            api_request_limit: 100_000,
            query_locator_ttl: Duration::from_secs(15 * 60),
            deleted_record_error: DeletedRecordError::NotFound,
            fault_seed: 1,
            worker_threads: 0,
            bulk: BulkOptions::default(),
            streaming: StreamingOptions::default(),
            jwt_certificate_pem: None,
            precondition_failed_code: "PRECONDITION_FAILED".into(),
        }
    }
}

impl fmt::Debug for EmulatorOptions {
    /// Secrets are never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorOptions")
            .field("bind", &self.bind)
            .field("port", &self.port)
            .field("max_api_version", &self.max_api_version)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("token_lifetime", &self.token_lifetime)
            .field("schema_json", &self.schema_json.as_ref().map(|s| s.len()))
            .field("data_json", &self.data_json.as_ref().map(|s| s.len()))
            .field("api_request_limit", &self.api_request_limit)
            .field("query_locator_ttl", &self.query_locator_ttl)
            .field("deleted_record_error", &self.deleted_record_error)
            .field("fault_seed", &self.fault_seed)
            .field("bulk", &self.bulk)
            .field("streaming", &self.streaming)
            .field("jwt_certificate_pem", &self.jwt_certificate_pem.is_some())
            .field("precondition_failed_code", &self.precondition_failed_code)
            .finish()
    }
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Schema(String),
    #[error("data file: {0}")]
    Data(String),
    /// A NetSuite option (key file, schema file) that cannot be used.
    #[error("{0}")]
    Config(String),
    #[error("cannot listen on {addr}: {source}; pick another --port or free this one")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the server runtime: {0}")]
    Runtime(std::io::Error),
    #[error("{0}")]
    JwtKey(String),
}

/// A running emulator; dropping it shuts it down.
pub struct RunningEmulator {
    url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl RunningEmulator {
    /// Base URL, e.g. `http://127.0.0.1:41234` (also the `instance_url` of tokens).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops the server and waits for its thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads the file a command-line flag names (schema, data, key files), with an error
/// that names the flag's purpose and the path; shared by every system's flags.
pub fn read_flag_file(
    path: &Option<std::path::PathBuf>,
    what: &str,
) -> Result<Option<String>, String> {
    path.as_ref()
        .map(|p| {
            std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read the {what} file {}: {e}", p.display()))
        })
        .transpose()
}

/// Starts an emulator on its own background runtime and returns once it accepts
/// connections.
pub fn start(options: EmulatorOptions) -> Result<RunningEmulator, StartError> {
    http::jwt::key(&options).map_err(StartError::JwtKey)?;
    let schema = match &options.schema_json {
        Some(text) => schema::load_schema_file(text).map_err(StartError::Schema)?,
        None => schema::Schema::standard(),
    };
    let schema = Arc::new(schema);
    serve_on(options.bind, options.port, options.worker_threads, |url| {
        let app = Arc::new(app::App::new(options.clone(), schema, url.to_string()));
        if let Some(data) = &options.data_json {
            load::load_json(&app, data).map_err(StartError::Data)?;
        }
        Ok(http::routes(app))
    })
}

/// Binds `bind:port`, builds the routes of one emulated system for the URL it is
/// reachable at, and serves them on a background runtime: the part every system shares.
pub(crate) fn serve_on(
    bind: IpAddr,
    port: u16,
    worker_threads: usize,
    routes: impl FnOnce(&str) -> Result<axum::Router, StartError>,
) -> Result<RunningEmulator, StartError> {
    let addr = SocketAddr::new(bind, port);
    let listener =
        std::net::TcpListener::bind(addr).map_err(|source| StartError::Bind { addr, source })?;
    listener
        .set_nonblocking(true)
        .map_err(StartError::Runtime)?;
    let local = listener.local_addr().map_err(StartError::Runtime)?;
    let url = format!("http://{local}");
    let router = routes(&url)?;
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().thread_name("hubsync-emulator");
    if worker_threads > 0 {
        builder.worker_threads(worker_threads);
    }
    let runtime = builder.build().map_err(StartError::Runtime)?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("hubsync-emulator".into())
        .spawn(move || {
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => http::serve(listener, router, rx).await,
                    Err(e) => eprintln!("hubsync-emulator: cannot register the listener: {e}"),
                }
            });
            runtime.shutdown_timeout(Duration::from_millis(200));
        })
        .map_err(StartError::Runtime)?;
    Ok(RunningEmulator {
        url,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}
