//! What to do after a failed call: retry when, give up, refresh the token, back off the
//! whole connection, or count it as done — and how much of the org's API budget is left.
//!
//! A failed write must neither sit there nor be hammered: hubsync retries what can succeed
//! later with the sync's `retry_strategy`, sends what cannot to the review queue at once,
//! and never spends more of the org's daily API allowance than it may.

use crate::config::RetryStrategy;
use std::time::Duration;
use Class::{Auth, Gone, Permanent, RateLimited, Retryable, UnknownOutcome};
use Operation::{Create, Delete};
use TransportError::{ConnectionRefused, ConnectionReset, Dns, Timeout, Tls, TooLarge};

/// How far below the nominal delay jitter may pull a delay: delays land in
/// [80 %, 100 %] of nominal, so many records failing together do not retry in lockstep,
/// yet no delay ever exceeds `max_delay_seconds`.
pub const JITTER_SPREAD: f64 = 0.2;

/// How long to wait after failed attempt number `attempt` (1 = the first try) before the
/// next one.
///
/// `delay = min(initial × factor^(attempt−1), max) × (1 − JITTER_SPREAD × jitter)`, where
/// `jitter` ∈ [0, 1] comes from the caller's random source (clamped; NaN counts as 0), so
/// this stays a pure function. Attempt 0 is treated as 1, a factor below 1 as 1 (a
/// shrinking backoff would hammer a struggling server), and huge attempt numbers saturate
/// at the cap instead of overflowing.
pub fn delay(strategy: &RetryStrategy, attempt: u32, jitter: f64) -> Duration {
    let nominal = nominal_seconds(strategy, attempt);
    let jitter = if jitter.is_nan() {
        0.0
    } else {
        jitter.clamp(0.0, 1.0)
    };
    seconds(nominal * (1.0 - JITTER_SPREAD * jitter))
}

/// Whether another attempt is allowed after `attempts_so_far` attempts; `max_attempts`
/// counts the first try, so 0 or 1 means never retry.
pub fn should_retry(strategy: &RetryStrategy, attempts_so_far: u32) -> bool {
    attempts_so_far < strategy.max_attempts
}

/// The un-jittered delay in seconds, capped.
fn nominal_seconds(strategy: &RetryStrategy, attempt: u32) -> f64 {
    let initial = strategy.initial_delay_seconds.max(0.0);
    let cap = strategy.max_delay_seconds.max(0.0);
    if initial == 0.0 {
        return 0.0;
    }
    let exponent = attempt.saturating_sub(1);
    let growth = strategy.backoff_factor.max(1.0).powf(f64::from(exponent));
    (initial * growth).min(cap)
}

/// Seconds as a `Duration`, saturating instead of panicking on absurd values.
fn seconds(value: f64) -> Duration {
    if value.is_nan() || value <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(value).unwrap_or(Duration::MAX)
}

/// What kind of call failed; some failures mean different things per operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// A query or retrieve.
    Read,
    /// A plain create (POST): not idempotent, resending may duplicate the record.
    Create,
    /// An update by record id.
    Update,
    /// An upsert by external id: idempotent by design.
    Upsert,
    /// A delete by record id.
    Delete,
}

/// How an HTTP exchange broke before a response arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportError {
    /// No response within the deadline.
    Timeout,
    /// The connection was reset or closed mid-exchange.
    ConnectionReset,
    /// Nobody accepted the connection.
    ConnectionRefused,
    /// The host name did not resolve.
    Dns,
    /// The TLS handshake failed (certificate or protocol).
    Tls,
    /// The answer was larger than the configured cap (`hubsync.max_response_size`) and was
    /// not read: for the caller it is lost, though the request was carried out.
    TooLarge,
}

/// What happened, as the HTTP edge saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Salesforce answered with an error. `code` is the REST `errorCode`, the collections
    /// `statusCode` of the record's error (its `status` is the envelope's, often 200), or
    /// the OAuth `error`.
    Response {
        op: Operation,
        status: u16,
        code: Option<String>,
    },
    /// The exchange broke; `request_sent` tells whether the request had been fully
    /// written, i.e. whether Salesforce may have acted on it.
    Transport {
        op: Operation,
        error: TransportError,
        request_sent: bool,
    },
}

/// What the worker should do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Try again after [`delay`], while [`should_retry`] allows.
    Retryable,
    /// Resending the same request will fail again: review queue (or discard, per fallback).
    Permanent,
    /// The access token is no longer valid: refresh it and resend once.
    Auth,
    /// The org's API limits are hit: pause the whole connection, not just this record.
    RateLimited,
    /// The record no longer exists remotely; for a delete that is success.
    Gone,
    /// A create may or may not have been applied: look the record up (external id or
    /// natural key) before creating it again, or it may be duplicated.
    UnknownOutcome,
}

/// Classifies a failure: a plain create that [`may_have_been_applied`] has an unknown
/// outcome; everything else by the first matching row of [`RULES`].
pub fn classify(failure: &Failure) -> Class {
    verdict(failure).0
}

/// Why a failure was classified as it was, for logs and the review queue.
pub fn reason(failure: &Failure) -> &'static str {
    verdict(failure).1
}

fn verdict(failure: &Failure) -> (Class, &'static str) {
    if operation(failure) == Create && may_have_been_applied(failure) {
        return (UnknownOutcome, unknown_create_reason(failure));
    }
    let rule = rule_for(failure);
    (rule.class, rule.why)
}

fn operation(failure: &Failure) -> Operation {
    match failure {
        Failure::Response { op, .. } | Failure::Transport { op, .. } => *op,
    }
}

/// Whether Salesforce may have carried out a request although no success was seen —
/// the question that decides whether a plain create (not idempotent) may be sent again.
///
/// - A broken exchange: yes if the request had been sent and then timed out, was reset,
///   or its answer was too large to read; no if it never left (refused, DNS, TLS).
/// - An answer: yes for HTTP 408, any 5xx and `REQUEST_RUNNING_TOO_LONG` — a gateway or
///   Salesforce gave up waiting, or failed after the work may have committed — unless its
///   error code is a verdict on the request itself (a data, configuration, credential or
///   limit error, `UNABLE_TO_LOCK_ROW`), which Salesforce gives only for work it did not
///   do. Every other answer (2xx per-record results, 4xx) says what happened: no.
pub fn may_have_been_applied(failure: &Failure) -> bool {
    match failure {
        Failure::Transport {
            error,
            request_sent,
            ..
        } => *request_sent && matches!(error, Timeout | ConnectionReset | TooLarge),
        Failure::Response { status, code, .. } => {
            let code = code.as_deref().unwrap_or_default();
            let running_too_long = code.eq_ignore_ascii_case("REQUEST_RUNNING_TOO_LONG");
            let gave_up = *status == 408 || (500..=599).contains(status);
            let not_done = code.eq_ignore_ascii_case("UNABLE_TO_LOCK_ROW")
                || RULES.iter().any(|rule| {
                    matches!(rule.when, When::Code(want, None) if want.eq_ignore_ascii_case(code))
                        && matches!(rule.class, Permanent | Auth | RateLimited | Gone)
                });
            *status >= 300 && (running_too_long || (gave_up && !not_done))
        }
    }
}

/// Why a create that [`may_have_been_applied`] is looked up instead of resent.
fn unknown_create_reason(failure: &Failure) -> &'static str {
    match failure {
        Failure::Transport { error: Timeout, .. } => "the create timed out after it was sent and may have been applied; look the record up before creating it again",
        Failure::Transport { error: TooLarge, .. } => "the create's answer was larger than hubsync.max_response_size, so whether it was applied is unknown; look the record up before creating it again",
        Failure::Transport { .. } => "the connection broke after the create was sent and it may have been applied; look the record up before creating it again",
        Failure::Response { .. } => "the remote system answered the create with a server error or timeout (HTTP 5xx, 408 or REQUEST_RUNNING_TOO_LONG), which does not say whether the record was created; look it up before creating it again",
    }
}

fn rule_for(failure: &Failure) -> &'static Rule {
    RULES
        .iter()
        .find(|rule| rule.when.matches(failure))
        .expect("RULES ends with a catch-all row")
}

/// One row of the classification table.
struct Rule {
    when: When,
    class: Class,
    why: &'static str,
}

/// Which failures a row covers. `None` in an operation or `sent` position means "any".
enum When {
    /// A Salesforce or OAuth error code (case-insensitive).
    Code(&'static str, Option<Operation>),
    /// An HTTP status in `first..=last`, whatever the code.
    Status(u16, u16, Option<Operation>),
    /// A broken exchange, by error and whether the request had been sent.
    Transport(TransportError, Option<bool>, Option<Operation>),
    /// Everything; the last row.
    Any,
}

impl When {
    fn matches(&self, failure: &Failure) -> bool {
        let op_matches = |want: &Option<Operation>, op: &Operation| want.is_none_or(|w| w == *op);
        match (self, failure) {
            (When::Code(want, want_op), Failure::Response { op, code, .. }) => {
                code.as_deref()
                    .is_some_and(|code| code.eq_ignore_ascii_case(want))
                    && op_matches(want_op, op)
            }
            (When::Status(first, last, want_op), Failure::Response { op, status, .. }) => {
                (first..=last).contains(&status) && op_matches(want_op, op)
            }
            (
                When::Transport(want, want_sent, want_op),
                Failure::Transport {
                    op,
                    error,
                    request_sent,
                },
            ) => {
                want == error
                    && want_sent.is_none_or(|sent| sent == *request_sent)
                    && op_matches(want_op, op)
            }
            (When::Any, _) => true,
            _ => false,
        }
    }
}

const fn code(code: &'static str, class: Class, why: &'static str) -> Rule {
    Rule {
        when: When::Code(code, None),
        class,
        why,
    }
}

const fn status(first: u16, last: u16, class: Class, why: &'static str) -> Rule {
    Rule {
        when: When::Status(first, last, None),
        class,
        why,
    }
}

const fn transport(
    error: TransportError,
    sent: Option<bool>,
    class: Class,
    why: &'static str,
) -> Rule {
    Rule {
        when: When::Transport(error, sent, None),
        class,
        why,
    }
}

/// `rule` restricted to one operation.
const fn on(op: Operation, rule: Rule) -> Rule {
    let when = match rule.when {
        When::Code(code, _) => When::Code(code, Some(op)),
        When::Status(first, last, _) => When::Status(first, last, Some(op)),
        When::Transport(error, sent, _) => When::Transport(error, sent, Some(op)),
        When::Any => When::Any,
    };
    Rule { when, ..rule }
}

const RETRY_LATER: &str =
    "Salesforce could not process the request right now; it will succeed later";
const FIX_THE_DATA: &str = "Salesforce rejected the record's data; resending it unchanged fails again: fix the row or the mapping";
const FIX_THE_CONFIG: &str = "Salesforce rejected the request itself; check the mapping, field permissions and object access";
const FIX_THE_SECRETS: &str =
    "the remote system rejected the connection's credentials; fix the secrets of the connection";
const NOTHING_ARRIVED: &str =
    "the request never reached the remote system; sending it again is safe";
const ZENDESK_DATA: &str = "Zendesk rejected the record's data; resending it unchanged fails again: fix the row or the mapping";
const STATUS_RETRY_LATER: &str =
    "the remote system could not process the request right now; it will succeed later";

/// The classification table, read top to bottom; the first matching row wins, so error
/// codes come before the HTTP status fallbacks.
#[rustfmt::skip]
const RULES: &[Rule] = &[
    // Token problems: refresh and resend once.
    code("INVALID_SESSION_ID", Auth, "the access token expired or was revoked; refresh it and resend once"),
    code("INVALID_AUTH_HEADER", Auth, "the request carried no usable access token; refresh it and resend once"),
    // Org-wide limits: slow the whole connection down.
    code("REQUEST_LIMIT_EXCEEDED", RateLimited, "the org's API request or concurrency limit is reached; back off the connection"),
    // The record is gone: a delete has reached its goal.
    code("ENTITY_IS_DELETED", Gone, "the record is already deleted in Salesforce"),
    on(Delete, code("NOT_FOUND", Gone, "the record to delete does not exist, so the delete's goal is met")),
    // Someone else's fault or a passing condition.
    code("UNABLE_TO_LOCK_ROW", Retryable, "another transaction holds the record's lock; it will be released"),
    code("SERVER_UNAVAILABLE", Retryable, RETRY_LATER),
    code("REQUEST_RUNNING_TOO_LONG", Retryable, RETRY_LATER),
    code("UNKNOWN_EXCEPTION", Retryable, "an internal Salesforce error; it usually passes"),
    code("ALL_OR_NONE_OPERATION_ROLLED_BACK", Retryable, "rolled back only because another record of the same batch failed"),
    code("PROCESSING_HALTED", Retryable, "not run only because another subrequest of the same request failed"),
    code("BATCH_PROCESSING_HALTED", Retryable, "not run only because an earlier subrequest of the batch failed"),
    code("INVALID_QUERY_LOCATOR", Retryable, "the query cursor expired; run the query again"),
    // The record's data: a person must fix it.
    code("FIELD_CUSTOM_VALIDATION_EXCEPTION", Permanent, "a Salesforce validation rule rejected the record; fix the row or the rule"),
    code("FIELD_FILTER_VALIDATION_EXCEPTION", Permanent, FIX_THE_DATA),
    code("FIELD_INTEGRITY_EXCEPTION", Permanent, FIX_THE_DATA),
    code("DUPLICATE_VALUE", Permanent, "a unique field already holds this value on another record; resolve the duplicate"),
    code("DUPLICATES_DETECTED", Permanent, "a Salesforce duplicate rule blocked the record; resolve the duplicate"),
    code("REQUIRED_FIELD_MISSING", Permanent, "a field Salesforce requires is empty; fill it or map it"),
    code("STRING_TOO_LONG", Permanent, "a text value exceeds the field's length in Salesforce; shorten it"),
    code("NUMBER_OUTSIDE_VALID_RANGE", Permanent, FIX_THE_DATA),
    code("INVALID_EMAIL_ADDRESS", Permanent, FIX_THE_DATA),
    code("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", Permanent, "the value is not allowed in the restricted picklist; map it to an allowed value"),
    code("INVALID_TYPE_ON_FIELD_IN_RECORD", Permanent, FIX_THE_DATA),
    code("MALFORMED_ID", Permanent, "an id value is not a valid Salesforce id; fix the row's id or reference column"),
    code("INVALID_CROSS_REFERENCE_KEY", Permanent, "a reference points at a record that does not exist; fix the reference"),
    code("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", Permanent, "a Salesforce trigger or flow rejected the record; see its message"),
    code("STORAGE_LIMIT_EXCEEDED", Permanent, "the org's data storage is full; free space in Salesforce"),
    // The request's shape or rights: a configuration matter.
    code("INVALID_FIELD", Permanent, FIX_THE_CONFIG),
    code("INVALID_FIELD_FOR_INSERT_UPDATE", Permanent, "the field is read-only in Salesforce; stop pushing it"),
    code("INVALID_TYPE", Permanent, FIX_THE_CONFIG),
    code("JSON_PARSER_ERROR", Permanent, FIX_THE_CONFIG),
    code("MALFORMED_QUERY", Permanent, FIX_THE_CONFIG),
    code("EXCEEDED_ID_LIMIT", Permanent, "too many records in one call; lower the batch size"),
    code("INSUFFICIENT_ACCESS", Permanent, FIX_THE_CONFIG),
    code("INSUFFICIENT_ACCESS_OR_READONLY", Permanent, FIX_THE_CONFIG),
    code("INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", Permanent, FIX_THE_CONFIG),
    code("API_DISABLED_FOR_ORG", Permanent, "the API is disabled for the org or user; enable API access"),
    code("NOT_FOUND", Permanent, "the object, field or external id does not exist or is not accessible; check the mapping"),
    // NetSuite's `o:errorCode`s (its REST answers one record per request).
    code("INVALID_LOGIN", Auth, "NetSuite refused the login (a TBA signature, token or an expired OAuth 2.0 token); a bearer token is renewed and the call resent once, TBA secrets must be fixed"),
    code("CONCURRENCY_LIMIT_EXCEEDED", RateLimited, "NetSuite's account-wide limit of concurrent requests is reached; back off the connection (or lower performance_settings.parallelism)"),
    on(Delete, code("NONEXISTENT_ID", Gone, "the NetSuite record to delete does not exist, so the delete's goal is met")),
    code("NONEXISTENT_ID", Permanent, "the NetSuite record or record type does not exist; it may have been deleted in NetSuite"),
    code("USER_ERROR", Permanent, "NetSuite refused the request (USER_ERROR: a duplicate, a missing required value, a refused query, …); resending it unchanged fails again: see the detail"),
    code("INVALID_CONTENT", Permanent, "NetSuite refused a value of the record (INVALID_CONTENT); fix the row or the mapping of the field named"),
    code("INSUFFICIENT_PERMISSION", Permanent, "the NetSuite role lacks a permission; grant it to the integration's role"),
    code("UNEXPECTED_ERROR", Retryable, "an internal NetSuite error; it usually passes"),
    code("SERVICE_UNAVAILABLE", Retryable, "NetSuite is unavailable right now; it will succeed later"),
    // OAuth token endpoint.
    code("invalid_grant", Permanent, FIX_THE_SECRETS),
    code("invalid_client", Permanent, FIX_THE_SECRETS),
    code("invalid_client_id", Permanent, FIX_THE_SECRETS),
    code("unsupported_grant_type", Permanent, FIX_THE_SECRETS),
    code("invalid_request", Permanent, FIX_THE_SECRETS),
    code("invalid_scope", Permanent, "the OAuth 2.0 client may not use the REST web services scope; allow it on the integration record"),
    // Zendesk (Support API v2): `error` codes, `details` codes per attribute, and the
    // per-item codes of bulk jobs.
    on(Delete, code("RecordNotFound", Gone, "the Zendesk record to delete does not exist, so the delete's goal is met")),
    code("RecordNotFound", Permanent, "the Zendesk record does not exist (it was deleted there); relink or recreate the row"),
    code("RecordInvalid", Permanent, ZENDESK_DATA),
    code("DuplicateValue", Permanent, "a unique Zendesk attribute (organization name, external_id, email) already holds this value on another record; resolve the duplicate"),
    code("BlankValue", Permanent, "a value Zendesk requires is empty; fill it or map it"),
    code("InvalidFormat", Permanent, ZENDESK_DATA),
    code("InvalidValue", Permanent, ZENDESK_DATA),
    code("TooManyValues", Permanent, "too many records in one call; lower the batch size"),
    code("InvalidEndpoint", Permanent, "Zendesk does not serve this object or call; check the sync's object and key fields"),
    code("Forbidden", Permanent, "the Zendesk agent may not make this call (incremental exports need an admin; bulk user import may be disabled); use an admin's credentials"),
    code("OrganizationCreateFailed", Permanent, ZENDESK_DATA),
    code("OrganizationUpdateFailed", Permanent, ZENDESK_DATA),
    code("OrganizationCreateOrUpdateFailed", Permanent, ZENDESK_DATA),
    code("OrganizationDeleteFailed", Permanent, ZENDESK_DATA),
    code("UserCreateFailed", Permanent, ZENDESK_DATA),
    code("UserUpdateFailed", Permanent, ZENDESK_DATA),
    code("UserCreateOrUpdateFailed", Permanent, ZENDESK_DATA),
    code("UserDeleteFailed", Permanent, ZENDESK_DATA),
    // HTTP statuses whose code is missing or unknown.
    on(Delete, status(404, 404, Gone, "the record to delete does not exist, so the delete's goal is met")),
    status(401, 401, Auth, "the remote system refused the credentials or access token; a token is refreshed and the call resent once, other credentials need fixing"),
    status(429, 429, RateLimited, "too many requests; back off the connection"),
    status(408, 408, Retryable, STATUS_RETRY_LATER),
    status(500, 599, Retryable, STATUS_RETRY_LATER),
    status(400, 499, Permanent, "the remote system rejected the request; resending it unchanged fails again"),
    // Broken exchanges.
    transport(Timeout, Some(false), Retryable, NOTHING_ARRIVED),
    transport(ConnectionReset, Some(false), Retryable, NOTHING_ARRIVED),
    transport(Timeout, Some(true), Retryable, "no answer, but reads, updates, upserts by external id and deletes are safe to resend"),
    transport(ConnectionReset, Some(true), Retryable, "the connection broke, but reads, updates, upserts by external id and deletes are safe to resend"),
    transport(ConnectionRefused, None, Retryable, "the remote system is not accepting connections right now; nothing was sent"),
    transport(Dns, None, Retryable, "the host name did not resolve; if it persists, check the connection's instance_url"),
    transport(Tls, None, Permanent, "the TLS handshake failed; retrying will not fix a certificate or protocol mismatch"),
    transport(TooLarge, None, Permanent, "the answer is larger than hubsync.max_response_size and was not read; the same request gets the same answer: a superuser can raise the setting, or query fewer fields or rows"),
    Rule {
        when: When::Any,
        class: Permanent,
        why: "the remote system rejected the request for a reason hubsync does not recognise; see the error code",
    },
];

/// API calls used and allowed in the org's rolling 24 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiUsage {
    /// Calls made.
    pub used: u64,
    /// Calls allowed.
    pub max: u64,
}

/// Reads `Sforce-Limit-Info` (`api-usage=25/15000`, possibly with `; per-app-api-usage=…`
/// or other parts), which every REST response carries: the cheapest way to watch the
/// budget without spending calls on `/limits`. `None` when the header has no usable
/// `api-usage` part.
pub fn parse_limit_info(header: &str) -> Option<ApiUsage> {
    header.split(';').find_map(|part| {
        let (key, value) = part.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("api-usage") {
            return None;
        }
        let (used, max) = value.trim().split_once('/')?;
        Some(ApiUsage {
            used: used.trim().parse().ok()?,
            max: max.trim().parse().ok()?,
        })
    })
}

/// How much API budget is left for hubsync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Work normally.
    Ok,
    /// Usage has reached the reserve kept for the org's other integrations: do only what
    /// cannot wait (pushing captured changes) and postpone the rest (full loads, extra polls).
    NearLimit,
    /// The org's limit is reached: further calls fail with `REQUEST_LIMIT_EXCEEDED`; pause
    /// until usage drops.
    Exhausted,
}

/// Where `used` of `max` calls stands, keeping `reserve_fraction` (0..1, clamped; NaN
/// counts as 0) of `max`, rounded down, for others.
pub fn api_budget_state(used: u64, max: u64, reserve_fraction: f64) -> Budget {
    let fraction = if reserve_fraction.is_nan() {
        0.0
    } else {
        reserve_fraction.clamp(0.0, 1.0)
    };
    // `as` saturates, and fraction ≤ 1 keeps the product ≤ max.
    let reserve = (max as f64 * fraction) as u64;
    if used >= max {
        Budget::Exhausted
    } else if used >= max.saturating_sub(reserve) {
        Budget::NearLimit
    } else {
        Budget::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn strategy(max_attempts: u32, factor: f64, initial: f64, max: f64) -> RetryStrategy {
        RetryStrategy {
            max_attempts,
            backoff_factor: factor,
            initial_delay_seconds: initial,
            max_delay_seconds: max,
        }
    }

    /// The brief's example: 5 attempts, ×1.5, 30 s, capped at one hour.
    fn brief() -> RetryStrategy {
        strategy(5, 1.5, 30.0, 3600.0)
    }

    fn secs(value: f64) -> Duration {
        Duration::from_secs_f64(value)
    }

    #[test]
    fn delays_grow_geometrically_without_jitter() {
        let delays: Vec<Duration> = (1..=4).map(|n| delay(&brief(), n, 0.0)).collect();
        assert_eq!(
            delays,
            vec![secs(30.0), secs(45.0), secs(67.5), secs(101.25)]
        );
    }

    #[test]
    fn attempt_zero_counts_as_the_first() {
        assert_eq!(delay(&brief(), 0, 0.0), delay(&brief(), 1, 0.0));
    }

    #[test]
    fn factor_one_keeps_the_delay_constant() {
        let flat = strategy(5, 1.0, 10.0, 3600.0);
        assert!((1..=20).all(|n| delay(&flat, n, 0.0) == secs(10.0)));
    }

    #[test]
    fn factors_below_one_do_not_shrink_delays() {
        let shrinking = strategy(5, 0.5, 10.0, 3600.0);
        assert_eq!(delay(&shrinking, 5, 0.0), secs(10.0));
    }

    #[test]
    fn delays_are_capped() {
        let s = strategy(50, 2.0, 1.0, 60.0);
        assert_eq!(delay(&s, 7, 0.0), secs(60.0));
        assert_eq!(delay(&s, 6, 0.0), secs(32.0));
    }

    #[test]
    fn huge_attempt_numbers_saturate_at_the_cap() {
        assert_eq!(delay(&brief(), u32::MAX, 0.0), secs(3600.0));
        let uncapped = strategy(5, 10.0, 1.0, f64::INFINITY);
        assert_eq!(delay(&uncapped, u32::MAX, 0.0), Duration::MAX);
    }

    #[test]
    fn jitter_pulls_delays_down_by_at_most_a_fifth() {
        assert_eq!(delay(&brief(), 1, 1.0), secs(24.0));
        assert_eq!(delay(&brief(), 1, 0.5), secs(27.0));
        assert_eq!(
            delay(&brief(), 1, 7.0),
            secs(24.0),
            "jitter is clamped to 1"
        );
        assert_eq!(
            delay(&brief(), 1, -3.0),
            secs(30.0),
            "jitter is clamped to 0"
        );
        assert_eq!(delay(&brief(), 1, f64::NAN), secs(30.0));
    }

    #[test]
    fn zero_or_nonsense_delays_are_zero() {
        assert_eq!(delay(&strategy(3, 2.0, 0.0, 60.0), 9, 0.5), Duration::ZERO);
        assert_eq!(delay(&strategy(3, 2.0, -5.0, 60.0), 2, 0.0), Duration::ZERO);
        assert_eq!(
            delay(&strategy(3, 2.0, f64::NAN, 60.0), 2, 0.0),
            Duration::ZERO
        );
        assert_eq!(delay(&strategy(3, 2.0, 5.0, 0.0), 2, 0.0), Duration::ZERO);
    }

    #[test]
    fn max_attempts_counts_the_first_try() {
        let s = brief();
        assert!(should_retry(&s, 0));
        assert!(should_retry(&s, 4));
        assert!(!should_retry(&s, 5));
        assert!(!should_retry(&s, u32::MAX));
        assert!(!should_retry(&strategy(1, 2.0, 1.0, 1.0), 1));
        assert!(!should_retry(&strategy(0, 2.0, 1.0, 1.0), 0));
    }

    proptest! {
        #[test]
        fn delays_never_exceed_the_cap_nor_shrink_with_attempts(
            factor in 0.0f64..10.0,
            initial in 0.0f64..1000.0,
            cap in 0.0f64..100_000.0,
            attempt in any::<u32>(),
            jitter in 0.0f64..=1.0,
        ) {
            let s = strategy(5, factor, initial, cap);
            let d = delay(&s, attempt, jitter);
            prop_assert!(d <= secs(cap));
            prop_assert!(d >= secs(nominal_seconds(&s, attempt) * (1.0 - JITTER_SPREAD)));
            prop_assert!(delay(&s, attempt.saturating_add(1), 0.0) >= delay(&s, attempt, 0.0));
        }
    }

    fn response(op: Operation, status: u16, code: &str) -> Failure {
        Failure::Response {
            op,
            status,
            code: Some(code.to_owned()),
        }
    }

    fn bare(op: Operation, status: u16) -> Failure {
        Failure::Response {
            op,
            status,
            code: None,
        }
    }

    /// Each `(operation, status, errorCode, class)` classifies as its class; an empty
    /// errorCode is an answer that carries none.
    fn assert_classified(rows: &[(Operation, u16, &str, Class)]) {
        for &(op, status, code, class) in rows {
            let failure = match code {
                "" => bare(op, status),
                code => response(op, status, code),
            };
            assert_eq!(classify(&failure), class, "{op:?} {status} {code}");
        }
    }

    fn broken(op: Operation, error: TransportError, request_sent: bool) -> Failure {
        Failure::Transport {
            op,
            error,
            request_sent,
        }
    }

    #[test]
    fn passing_conditions_are_retryable() {
        assert_classified(&[
            (Operation::Update, 503, "SERVER_UNAVAILABLE", Retryable),
            (Operation::Update, 400, "UNABLE_TO_LOCK_ROW", Retryable),
            (
                Operation::Update,
                400,
                "REQUEST_RUNNING_TOO_LONG",
                Retryable,
            ),
            (Operation::Update, 500, "UNKNOWN_EXCEPTION", Retryable),
            (
                Operation::Update,
                200,
                "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                Retryable,
            ),
            (Operation::Update, 400, "PROCESSING_HALTED", Retryable),
            (Operation::Update, 400, "INVALID_QUERY_LOCATOR", Retryable),
        ]);
        for status in [500, 502, 503, 504, 408] {
            assert_classified(&[(Operation::Upsert, status, "", Retryable)]);
        }
    }

    #[test]
    fn data_and_request_errors_are_permanent() {
        for code in [
            "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "DUPLICATE_VALUE",
            "REQUIRED_FIELD_MISSING",
            "STRING_TOO_LONG",
            "INVALID_FIELD",
            "MALFORMED_ID",
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            "JSON_PARSER_ERROR",
            "INVALID_CROSS_REFERENCE_KEY",
            "INSUFFICIENT_ACCESS",
        ] {
            assert_classified(&[(Operation::Create, 400, code, Permanent)]);
        }
        assert_classified(&[
            (Operation::Create, 400, "", Permanent),
            (Operation::Upsert, 300, "", Permanent),
        ]);
    }

    #[test]
    fn a_permanent_code_wins_over_a_retryable_status() {
        assert_classified(&[(Operation::Update, 500, "STRING_TOO_LONG", Permanent)]);
    }

    #[test]
    fn collection_items_are_classified_by_their_status_code() {
        assert_classified(&[
            (Operation::Create, 200, "DUPLICATE_VALUE", Permanent),
            (Operation::Create, 200, "UNABLE_TO_LOCK_ROW", Retryable),
            (Operation::Create, 200, "SOMETHING_NEW", Permanent),
        ]);
    }

    #[test]
    fn expired_tokens_need_a_refresh() {
        assert_classified(&[
            (Operation::Read, 401, "INVALID_SESSION_ID", Auth),
            (Operation::Read, 401, "", Auth),
            (Operation::Read, 401, "invalid_session_id", Auth),
        ]);
    }

    #[test]
    fn bad_credentials_are_permanent() {
        assert_classified(&[(Operation::Read, 400, "invalid_grant", Permanent)]);
        assert!(reason(&response(Operation::Read, 400, "invalid_grant")).contains("secrets"));
    }

    #[test]
    fn limits_back_off_the_connection() {
        assert_classified(&[
            (
                Operation::Update,
                403,
                "REQUEST_LIMIT_EXCEEDED",
                RateLimited,
            ),
            (Operation::Update, 429, "", RateLimited),
            (Operation::Update, 403, "", Permanent),
        ]);
    }

    #[test]
    fn deleting_what_is_gone_is_success() {
        assert_classified(&[
            (Operation::Delete, 404, "ENTITY_IS_DELETED", Gone),
            (Operation::Delete, 404, "NOT_FOUND", Gone),
            (Operation::Delete, 404, "", Gone),
            (Operation::Update, 404, "ENTITY_IS_DELETED", Gone),
        ]);
    }

    #[test]
    fn not_found_outside_deletes_is_a_configuration_problem() {
        assert_classified(&[
            (Operation::Upsert, 404, "NOT_FOUND", Permanent),
            (Operation::Read, 404, "", Permanent),
        ]);
        assert!(reason(&response(Operation::Upsert, 404, "NOT_FOUND")).contains("mapping"));
    }

    #[test]
    fn failures_before_sending_are_retryable() {
        for error in [Timeout, ConnectionReset, ConnectionRefused, Dns] {
            assert_eq!(
                classify(&broken(Create, error, false)),
                Retryable,
                "{error:?}"
            );
        }
        assert_eq!(
            classify(&broken(Create, ConnectionRefused, true)),
            Retryable
        );
    }

    #[test]
    fn a_create_broken_after_sending_has_an_unknown_outcome() {
        assert_eq!(classify(&broken(Create, Timeout, true)), UnknownOutcome);
        assert_eq!(
            classify(&broken(Create, ConnectionReset, true)),
            UnknownOutcome
        );
        for op in [
            Operation::Read,
            Operation::Update,
            Operation::Upsert,
            Operation::Delete,
        ] {
            assert_eq!(classify(&broken(op, Timeout, true)), Retryable, "{op:?}");
            assert_eq!(
                classify(&broken(op, ConnectionReset, true)),
                Retryable,
                "{op:?}"
            );
        }
    }

    #[test]
    fn an_ambiguous_answer_to_a_create_has_an_unknown_outcome() {
        // The server gave up or broke while (or after) doing the work.
        for status in [408, 500, 502, 503, 504, 599] {
            assert_classified(&[(Create, status, "", UnknownOutcome)]);
        }
        assert_classified(&[
            (Create, 500, "UNKNOWN_EXCEPTION", UnknownOutcome),
            (Create, 503, "SERVER_UNAVAILABLE", UnknownOutcome),
            (Create, 400, "REQUEST_RUNNING_TOO_LONG", UnknownOutcome),
            (Create, 500, "REQUEST_RUNNING_TOO_LONG", UnknownOutcome),
        ]);
        assert_eq!(classify(&broken(Create, TooLarge, true)), UnknownOutcome);
        assert!(reason(&response(Create, 502, "")).contains("look it up"));
        assert!(reason(&broken(Create, TooLarge, true)).contains("max_response_size"));
        // Idempotent operations are simply sent again.
        for op in [
            Operation::Read,
            Operation::Update,
            Operation::Upsert,
            Operation::Delete,
        ] {
            assert_classified(&[
                (op, 502, "", Retryable),
                (op, 408, "", Retryable),
                (op, 400, "REQUEST_RUNNING_TOO_LONG", Retryable),
            ]);
        }
    }

    #[test]
    fn a_verdict_on_the_create_itself_is_not_ambiguous() {
        assert_classified(&[
            // Salesforce looked at the request and refused it: nothing was created.
            (Create, 500, "STRING_TOO_LONG", Permanent),
            (Create, 500, "UNABLE_TO_LOCK_ROW", Retryable),
            (Create, 503, "REQUEST_LIMIT_EXCEEDED", RateLimited),
            (Create, 500, "INVALID_SESSION_ID", Auth),
            (Create, 400, "", Permanent),
            (Create, 429, "", RateLimited),
            // A complete collections answer reports each record's own fate.
            (Create, 200, "UNKNOWN_EXCEPTION", Retryable),
            (Create, 200, "SERVER_UNAVAILABLE", Retryable),
        ]);
        for error in [
            ConnectionRefused,
            Dns,
            Tls,
            Timeout,
            ConnectionReset,
            TooLarge,
        ] {
            assert!(
                !may_have_been_applied(&broken(Create, error, false)),
                "{error:?}"
            );
        }
        assert!(!may_have_been_applied(&broken(Create, Dns, true)));
    }

    #[test]
    fn an_oversized_answer_is_not_worth_reading_again() {
        for op in [Operation::Read, Operation::Update, Operation::Upsert] {
            assert_eq!(classify(&broken(op, TooLarge, true)), Permanent, "{op:?}");
        }
        assert!(reason(&broken(Operation::Read, TooLarge, true)).contains("max_response_size"));
    }

    #[test]
    fn tls_failures_are_permanent() {
        assert_eq!(classify(&broken(Operation::Read, Tls, false)), Permanent);
    }

    #[test]
    fn every_rule_explains_itself() {
        assert!(RULES.iter().all(|rule| !rule.why.is_empty()));
        assert!(matches!(RULES.last().map(|r| &r.when), Some(When::Any)));
        assert!(RULES[..RULES.len() - 1]
            .iter()
            .all(|r| !matches!(r.when, When::Any)));
    }

    #[test]
    fn reads_the_limit_info_header() {
        let usage = |used, max| Some(ApiUsage { used, max });
        assert_eq!(parse_limit_info("api-usage=25/15000"), usage(25, 15000));
        assert_eq!(
            parse_limit_info("api-usage=18/5000; per-app-api-usage=17/250(appName=sample)"),
            usage(18, 5000)
        );
        assert_eq!(
            parse_limit_info("per-app-api-usage=17/250(appName=x); api-usage=19/5000"),
            usage(19, 5000)
        );
        assert_eq!(parse_limit_info(" API-Usage = 1 / 2 "), usage(1, 2));
        for bad in [
            "",
            "api-usage",
            "api-usage=",
            "api-usage=5",
            "api-usage=a/b",
            "per-app-api-usage=1/2",
        ] {
            assert_eq!(parse_limit_info(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn budget_states_follow_the_reserve() {
        assert_eq!(api_budget_state(0, 15000, 0.1), Budget::Ok);
        assert_eq!(api_budget_state(13_499, 15000, 0.1), Budget::Ok);
        assert_eq!(api_budget_state(13_500, 15000, 0.1), Budget::NearLimit);
        assert_eq!(api_budget_state(14_999, 15000, 0.1), Budget::NearLimit);
        assert_eq!(api_budget_state(15_000, 15000, 0.1), Budget::Exhausted);
        assert_eq!(api_budget_state(16_000, 15000, 0.1), Budget::Exhausted);
    }

    #[test]
    fn budget_edge_cases() {
        assert_eq!(api_budget_state(14_999, 15000, 0.0), Budget::Ok);
        assert_eq!(api_budget_state(0, 15000, 1.0), Budget::NearLimit);
        assert_eq!(api_budget_state(0, 15000, 5.0), Budget::NearLimit);
        assert_eq!(api_budget_state(14_999, 15000, -1.0), Budget::Ok);
        assert_eq!(api_budget_state(14_999, 15000, f64::NAN), Budget::Ok);
        assert_eq!(api_budget_state(0, 0, 0.1), Budget::Exhausted);
        assert_eq!(
            api_budget_state(u64::MAX - 1, u64::MAX, 0.5),
            Budget::NearLimit
        );
    }
}
