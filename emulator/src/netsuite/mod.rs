//! A local NetSuite: SuiteTalk REST for `customer` and `contact`, SuiteQL over them and
//! the deleted-record table, Token-Based Authentication (OAuth 1.0a, HMAC-SHA256) and
//! OAuth 2.0 client credentials (M2M), the `o:errorDetails` error envelope, and the
//! account's concurrency limit. Facts follow `reference/netsuite-api.md`; what the
//! reference marks UNVERIFIED is an [`Options`] field (and a flag), never a silent guess.
//!
//! The server, clock, faults and admin API are the emulator's shared pieces; this tree
//! holds only what is NetSuite's. Invariant: a request NetSuite would refuse is refused
//! with NetSuite's status and error code, and a query the emulator cannot answer is
//! refused (400 `USER_ERROR`, "Invalid search query."), never answered wrongly.

mod admin;
mod args;
mod errors;
mod governance;
mod m2m;
mod qfilter;
mod records;
mod schema;
mod store;
mod suiteql;
mod tba;
mod timefmt;

pub use args::{Args, DeletedTypeCase, PropertyValidation};
pub use tba::client_header;

use crate::app::{Clock, Counters};
use crate::faults::{FaultKind, FaultScope, Faults};
use crate::http::ApiRequest;
use crate::keys;
use crate::{RunningEmulator, StartError};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, Uri};
use axum::routing::{any, post};
use axum::Router;
use errors::NsError;
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// Endpoint classes a NetSuite fault rule can target, and the kinds it can render
/// (no per-record `lock_row`: NetSuite has no such partial failure). The `*_after` kinds
/// carry the request out and then lose its answer — what makes a resent create a
/// duplicate unless it is an upsert.
pub(crate) const FAULTS: FaultScope = FaultScope {
    classes: &["token", "record", "suiteql", "metadata"],
    kinds: &[
        FaultKind::Unavailable,
        FaultKind::ServerError,
        FaultKind::Drop,
        FaultKind::Latency,
        FaultKind::DropAfter,
        FaultKind::BadGatewayAfter,
        FaultKind::GatewayTimeoutAfter,
    ],
};

/// Everything configurable about an emulated NetSuite account. `Default` is the demo
/// account of `emulator/README.md`.
#[derive(Clone)]
pub struct Options {
    /// Address to listen on.
    pub bind: IpAddr,
    /// Port; 0 picks a free one.
    pub port: u16,
    /// Server worker threads (0: one per core).
    pub worker_threads: usize,
    /// Account id as realm/OAuth spell it (`1234567`, `1234567_SB1`).
    pub account: String,
    /// TBA consumer key of the integration record.
    pub consumer_key: String,
    /// TBA consumer secret.
    pub consumer_secret: String,
    /// TBA token id.
    pub token_id: String,
    /// TBA token secret.
    pub token_secret: String,
    /// Whether `realm` must match the account id's case exactly (reference: UNVERIFIED).
    pub realm_case_sensitive: bool,
    /// How far `oauth_timestamp` may be from the emulator's clock, and how long a nonce
    /// is remembered (reference: no documented value; UNVERIFIED).
    pub timestamp_window_secs: i64,
    /// OAuth 2.0 client id of the M2M integration.
    pub m2m_client_id: String,
    /// Certificate id (`kid`) of the M2M mapping.
    pub m2m_certificate_id: String,
    /// PEM public key (or certificate) the M2M assertions are checked with; without it
    /// every assertion is refused.
    pub m2m_public_key_pem: Option<String>,
    /// Lifetime of M2M access tokens (NetSuite: 60 minutes).
    pub token_lifetime_secs: i64,
    /// `expires_in` as a JSON number instead of the string `"3600"` (UNVERIFIED).
    pub expires_in_number: bool,
    /// The account's concurrent-request limit (Tier-1 base: 15).
    pub concurrency_limit: usize,
    /// `o:errorCode` of the 429 answer (UNVERIFIED).
    pub concurrency_error_code: String,
    /// Detail text of a 404 (second sentence UNVERIFIED).
    pub nonexistent_id_detail: String,
    /// Detail text of a duplicate entity / external id (REST wording UNVERIFIED).
    pub duplicate_detail: String,
    /// Unknown body properties when no `X-NetSuite-PropertyNameValidation` header says
    /// otherwise (default UNVERIFIED).
    pub property_validation: PropertyValidation,
    /// OneWorld account: `subsidiary` is required on create.
    pub require_subsidiary: bool,
    /// Status of `PUT …/eid:` upserts (UNVERIFIED; 204 with `Location`).
    pub upsert_status: u16,
    /// Whether `externalId` is rendered as null when unset, instead of omitted (UNVERIFIED).
    pub external_id_always: bool,
    /// Fields a contact must have besides a name (UNVERIFIED), REST names.
    pub contact_required: Vec<String>,
    /// User date format of raw SuiteQL date columns and `q` date literals (UNVERIFIED):
    /// tokens `YYYY`, `MM`, `M`, `DD`, `D`.
    pub date_format: String,
    /// The user's time zone as a fixed offset, for `TO_CHAR`/`TO_TIMESTAMP` (UNVERIFIED).
    pub timezone_offset_minutes: i32,
    /// Null SuiteQL columns are omitted from items (UNVERIFIED), else written as null.
    pub suiteql_omit_nulls: bool,
    /// Refuse SuiteQL without `Prefer: transient` (UNVERIFIED whether NetSuite does).
    pub require_prefer_transient: bool,
    /// Rows one SuiteQL query can reach by paging (NetSuite: 100,000).
    pub suiteql_max_rows: usize,
    /// Case of `deletedrecord.type` values (UNVERIFIED).
    pub deleted_type_case: DeletedTypeCase,
    /// Schema file contents: custom entity fields.
    pub schema_json: Option<String>,
    /// Data file contents loaded at start (the admin `load` body).
    pub data_json: Option<String>,
    /// Seed of the fault-injection random choices.
    pub fault_seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            worker_threads: 0,
            account: "1234567".into(),
            consumer_key: "hubsync-demo-consumer-key".into(),
            consumer_secret: "hubsync-demo-consumer-secret".into(),
            token_id: "hubsync-demo-token-id".into(),
            token_secret: "hubsync-demo-token-secret".into(),
            realm_case_sensitive: true,
            timestamp_window_secs: 300,
            m2m_client_id: "hubsync-demo-m2m".into(),
            m2m_certificate_id: "hubsync-demo-certificate".into(),
            m2m_public_key_pem: None,
            token_lifetime_secs: 3600,
            expires_in_number: false,
            concurrency_limit: 15,
            concurrency_error_code: "CONCURRENCY_LIMIT_EXCEEDED".into(),
            nonexistent_id_detail:
                "The record instance does not exist. Provide a valid record instance ID.".into(),
            duplicate_detail: "Error while accessing a resource. This entity already exists."
                .into(),
            property_validation: PropertyValidation::Error,
            require_subsidiary: true,
            upsert_status: 204,
            external_id_always: false,
            contact_required: Vec::new(),
            date_format: "M/D/YYYY".into(),
            timezone_offset_minutes: 0,
            suiteql_omit_nulls: true,
            require_prefer_transient: false,
            suiteql_max_rows: 100_000,
            deleted_type_case: DeletedTypeCase::Lower,
            schema_json: None,
            data_json: None,
            fault_seed: 1,
        }
    }
}

impl std::fmt::Debug for Options {
    /// Secrets are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("netsuite::Options")
            .field("bind", &self.bind)
            .field("port", &self.port)
            .field("account", &self.account)
            .field("consumer_key", &self.consumer_key)
            .field("consumer_secret", &"<redacted>")
            .field("token_id", &self.token_id)
            .field("token_secret", &"<redacted>")
            .field("m2m_client_id", &self.m2m_client_id)
            .field("m2m_certificate_id", &self.m2m_certificate_id)
            .field("concurrency_limit", &self.concurrency_limit)
            .finish_non_exhaustive()
    }
}

/// The shared state of one emulated NetSuite account.
pub(crate) struct Ns {
    pub options: Options,
    /// `http://127.0.0.1:port`, for the admin health answer.
    pub base_url: String,
    pub clock: Clock,
    pub faults: Faults,
    pub counters: Counters,
    pub schema: schema::Schema,
    /// The records. Held only for in-memory work, never across I/O.
    pub store: RwLock<store::Store>,
    pub nonces: Mutex<tba::Nonces>,
    /// M2M bearer tokens and their expiry (epoch ms).
    pub bearer: Mutex<HashMap<String, i64>>,
    pub m2m_key: Option<keys::PublicKey>,
    pub governor: governance::Governor,
}

/// Starts a NetSuite emulator on its own background runtime.
pub fn start(options: Options) -> Result<RunningEmulator, StartError> {
    let schema = match &options.schema_json {
        Some(text) => schema::Schema::from_json(text).map_err(StartError::Schema)?,
        None => schema::Schema::default(),
    };
    let m2m_key = options
        .m2m_public_key_pem
        .as_deref()
        .map(keys::PublicKey::from_pem)
        .transpose()
        .map_err(|e| StartError::Config(format!("--m2m-public-key: {e}")))?;
    crate::serve_on(options.bind, options.port, options.worker_threads, |url| {
        let ns = Arc::new(Ns {
            base_url: url.to_string(),
            clock: Clock::default(),
            faults: Faults::for_system(options.fault_seed, &FAULTS),
            counters: Counters::default(),
            store: RwLock::new(store::Store::new()),
            nonces: Mutex::new(tba::Nonces::default()),
            bearer: Mutex::new(HashMap::new()),
            m2m_key,
            governor: governance::Governor::new(options.concurrency_limit),
            schema,
            options: options.clone(),
        });
        if let Some(data) = &options.data_json {
            admin::load(&ns, data).map_err(StartError::Data)?;
        }
        Ok(routes(ns))
    })
}

fn routes(ns: Arc<Ns>) -> Router {
    Router::new()
        .route("/services/rest/auth/oauth2/v1/token", post(m2m::token))
        .route("/services/rest/record/v1/{*rest}", any(api))
        .route("/services/rest/query/v1/suiteql", any(api))
        .route("/__emulator/{*rest}", any(admin::handle))
        .fallback(|| async {
            NsError::new(
                404,
                "NONEXISTENT_ID",
                "The requested resource does not exist.",
            )
            .response()
        })
        .layer(axum::extract::DefaultBodyLimit::max(104 * 1024 * 1024))
        .with_state(ns)
}

/// One REST call as the handlers see it.
pub(crate) struct Call<'a> {
    pub ns: &'a Ns,
    pub method: &'a Method,
    /// `scheme://host[:port]` the client reached, for links and `Location`.
    pub origin: String,
    /// Path below `/services/rest/`.
    pub path: &'a str,
    pub query: Vec<(String, String)>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub now_ms: i64,
}

impl Call<'_> {
    /// A query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Every record and SuiteQL request: concurrency slot, authentication, faults, then
/// the resource.
async fn api(State(ns): State<Arc<Ns>>, request: ApiRequest) -> Response<Body> {
    let response = answer(&ns, &request).await;
    ns.counters.status(response.status().as_u16());
    response
}

async fn answer(ns: &Ns, request: &ApiRequest) -> Response<Body> {
    let Some(_slot) = ns.governor.acquire() else {
        return errors::concurrency(&ns.options.concurrency_error_code).response();
    };
    ns.governor.wait_open().await;
    let path = request
        .uri
        .path()
        .strip_prefix("/services/rest/")
        .unwrap_or_default();
    let call = Call {
        ns,
        method: &request.method,
        origin: origin(&request.headers),
        path,
        query: crate::api::query_params(request.uri.query().unwrap_or_default()),
        headers: &request.headers,
        body: &request.body,
        now_ms: ns.clock.now_ms(),
    };
    if let Err(e) = authenticate(&call, &request.uri) {
        return e.response();
    }
    let class = if path.starts_with("query/") {
        "suiteql"
    } else if path.starts_with("record/v1/metadata-catalog") {
        "metadata"
    } else {
        "record"
    };
    let fail = |kind| errors::fault(kind).response();
    let after =
        match crate::http::apply_faults(&ns.faults, &ns.counters, class, &request.conn, fail).await
        {
            Ok(after) => after,
            Err(failure) => return failure,
        };
    ns.counters.api_call(class);
    let asynchronous = call
        .header("prefer")
        .is_some_and(|p| p.to_ascii_lowercase().contains("respond-async"));
    if asynchronous {
        // Answering synchronously would be answering wrongly: say so instead.
        return NsError::user(
            "The hubsync emulator does not serve asynchronous requests (Prefer: respond-async); send the request without it.",
        )
        .response();
    }
    let result = if class == "suiteql" {
        suiteql::handle(&call)
    } else {
        records::handle(&call)
    };
    let answer = result.unwrap_or_else(|e| e.response());
    crate::http::lose_answer(after, answer, &request.conn).await
}

/// TBA (`Authorization: OAuth …`) or an M2M bearer token.
fn authenticate(call: &Call, uri: &Uri) -> Result<(), NsError> {
    let value = call.header("authorization").unwrap_or_default();
    if let Some(token) = value.strip_prefix("Bearer ") {
        let expires = call.ns.bearer.lock().get(token.trim()).copied();
        return match expires {
            Some(at) if at > call.now_ms => Ok(()),
            _ => Err(errors::invalid_login()),
        };
    }
    tba::verify(call, uri.path(), uri.query().unwrap_or_default(), value)
        .map_err(|_| errors::invalid_login_tba(&call.ns.options.account))
}

/// Real (wall-clock) seconds. Times a client writes — `oauth_timestamp`, a JWT's
/// `iat`/`exp` — are checked against these, because a client cannot follow the
/// emulator's moved clock; times the emulator keeps (record stamps, token expiry) move
/// with [`Clock`].
pub(crate) fn wall_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `http://host[:port]` as the client addressed it (the `Host` header).
fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}
