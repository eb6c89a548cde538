//! Fault injection: make the emulator fail the way a SaaS API fails under load —
//! 503s, 500s, 429 storms, row-lock contention, dropped connections, slow answers —
//! either at a seeded random rate or deterministically for the next N requests.
//! Each emulated system has its own [`FaultScope`] (endpoint classes and the kinds that
//! make sense there) and renders a failure in its own error shape.
//!
//! Two families: faults that strike *before* the request is processed (nothing changed,
//! resending is safe), and `*_after` faults that process it — the write commits — and
//! then lose the answer (a reset, a 500/502/504, a stall past the client's timeout), the
//! case where a blind resend of a create duplicates the record. `oversize` pads a
//! processed answer beyond a client's size cap.

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Salesforce's endpoint classes a rule can target (besides `all`).
pub const CLASSES: &[&str] = &[
    "token",
    "sobject",
    "describe",
    "collections",
    "query",
    "replication",
    "composite",
    "limits",
    "meta",
];

/// What faults one emulated system accepts: its endpoint classes (besides `all`) and
/// the kinds it can render, so a rule that could never fire is refused up front.
pub struct FaultScope {
    /// Endpoint classes a rule can target.
    pub classes: &'static [&'static str],
    /// Fault kinds this system can produce.
    pub kinds: &'static [FaultKind],
}

/// The Salesforce emulator's endpoint classes and fault kinds.
pub const SALESFORCE: FaultScope = FaultScope {
    classes: CLASSES,
    kinds: &[
        FaultKind::Unavailable,
        FaultKind::ServerError,
        FaultKind::LockRow,
        FaultKind::Drop,
        FaultKind::Latency,
        FaultKind::DropAfter,
        FaultKind::ServerErrorAfter,
        FaultKind::BadGatewayAfter,
        FaultKind::GatewayTimeoutAfter,
        FaultKind::StallAfter,
        FaultKind::Oversize,
    ],
};

/// What a fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// 503 `SERVER_UNAVAILABLE`.
    Unavailable,
    /// 500 `UNKNOWN_EXCEPTION`.
    ServerError,
    /// `UNABLE_TO_LOCK_ROW` per record written (whole call for single-record calls).
    LockRow,
    /// Close the TCP connection without answering.
    Drop,
    /// Answer `latency_ms` later.
    Latency,
    /// 429 with `Retry-After: retry_after_secs` (systems that rate-limit that way).
    RateLimited,
    /// Process the request, then reset the connection without answering.
    DropAfter,
    /// Process the request, then answer 500 `UNKNOWN_EXCEPTION`.
    ServerErrorAfter,
    /// Process the request, then answer 502 with a load balancer's HTML page.
    BadGatewayAfter,
    /// Process the request, then answer 504 with a load balancer's HTML page.
    GatewayTimeoutAfter,
    /// Process the request, hold the answer `latency_ms` (past the client's timeout),
    /// then reset the connection.
    StallAfter,
    /// Process the request and answer it, followed by `bytes` bytes of JSON whitespace
    /// (still a valid answer, but bigger than a client may read).
    Oversize,
}

/// How a processed request's answer is lost or spoiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Reset the connection.
    Drop,
    /// Answer with this status instead (500, 502 or 504).
    Fail(u16),
    /// Wait this long, then reset the connection.
    Stall(Duration),
    /// Append this many bytes of whitespace to the answer.
    Pad(u64),
}

/// The largest padding an `oversize` rule may ask for (it is held in memory).
pub const MAX_PAD_BYTES: u64 = 1 << 30;

impl FaultKind {
    fn name(self) -> &'static str {
        match self {
            FaultKind::Unavailable => "unavailable",
            FaultKind::ServerError => "server_error",
            FaultKind::LockRow => "lock_row",
            FaultKind::Drop => "drop",
            FaultKind::Latency => "latency",
            FaultKind::RateLimited => "rate_limited",
            FaultKind::DropAfter => "drop_after",
            FaultKind::ServerErrorAfter => "server_error_after",
            FaultKind::BadGatewayAfter => "bad_gateway_after",
            FaultKind::GatewayTimeoutAfter => "gateway_timeout_after",
            FaultKind::StallAfter => "stall_after",
            FaultKind::Oversize => "oversize",
        }
    }
}

/// One configured fault.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// An endpoint class or `all`.
    pub endpoint: String,
    /// What it does.
    pub kind: FaultKind,
    /// Probability per request (per record for `lock_row`); 1.0 when neither it nor
    /// `next` is given.
    pub rate: Option<f64>,
    /// Fire for exactly the next N matching requests (records for `lock_row`), then stop.
    pub next: Option<u64>,
    /// Delay of `latency`, hold of `stall_after`.
    #[serde(default)]
    pub latency_ms: u64,
    /// `Retry-After` seconds of a `rate_limited` fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// Padding of `oversize`.
    #[serde(default)]
    pub bytes: u64,
    /// How often it fired (reported back, ignored on input).
    #[serde(default)]
    pub fired: u64,
}

impl FaultRule {
    fn check(&self, scope: &FaultScope) -> Result<(), String> {
        if self.endpoint != "all" && !scope.classes.contains(&self.endpoint.as_str()) {
            return Err(format!(
                "unknown endpoint class {:?}; use all or one of {}",
                self.endpoint,
                scope.classes.join(", ")
            ));
        }
        if !scope.kinds.contains(&self.kind) {
            let kinds: Vec<&str> = scope.kinds.iter().map(|k| k.name()).collect();
            return Err(format!(
                "fault kind {} is not emulated here; use one of {}",
                self.kind.name(),
                kinds.join(", ")
            ));
        }
        if let Some(rate) = self.rate {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("rate {rate} is not between 0 and 1"));
            }
        }
        if matches!(self.kind, FaultKind::Latency | FaultKind::StallAfter) && self.latency_ms == 0 {
            return Err(format!("a {} fault needs latency_ms > 0", self.kind.name()));
        }
        if self.kind == FaultKind::Oversize && !(1..=MAX_PAD_BYTES).contains(&self.bytes) {
            return Err(format!(
                "an oversize fault needs bytes between 1 and {MAX_PAD_BYTES}"
            ));
        }
        Ok(())
    }

    fn applies_to(&self, class: &str) -> bool {
        self.endpoint == "all" || self.endpoint == class
    }

    /// Decides whether it fires now, consuming a "next N" slot or a random draw.
    fn fire(&mut self, rng: &mut SplitMix64) -> bool {
        let fires = match (self.next, self.rate) {
            (Some(0), _) => false,
            (Some(n), _) => {
                self.next = Some(n - 1);
                true
            }
            (None, None) => true,
            (None, Some(rate)) => rate >= 1.0 || (rate > 0.0 && rng.next_f64() < rate),
        };
        self.fired += u64::from(fires);
        fires
    }
}

/// What to do to one request.
#[derive(Debug, Default)]
pub struct RequestFaults {
    /// Injected latency to wait out first.
    pub delay: Duration,
    /// Reset the connection without answering.
    pub drop: bool,
    /// `Unavailable`, `ServerError` or `RateLimited`: the system renders its own error body.
    pub fail: Option<FaultKind>,
    /// `Retry-After` seconds of a `RateLimited` failure.
    pub retry_after_secs: u64,
    /// What happens to the answer once the request has been processed.
    pub after: Option<After>,
}

/// The configured rules and the seeded generator behind their random choices.
pub struct Faults {
    scope: &'static FaultScope,
    state: Mutex<(Vec<FaultRule>, SplitMix64)>,
}

impl Faults {
    /// No faults, with this seed, for the Salesforce emulator.
    pub fn new(seed: u64) -> Faults {
        Faults::for_system(seed, &SALESFORCE)
    }

    /// No faults, with this seed, accepting the rules `scope` allows.
    pub fn for_system(seed: u64, scope: &'static FaultScope) -> Faults {
        Faults {
            scope,
            state: Mutex::new((Vec::new(), SplitMix64(seed))),
        }
    }

    /// Replaces the rules (and optionally reseeds) after checking them.
    pub fn set(&self, rules: Vec<FaultRule>, seed: Option<u64>) -> Result<(), String> {
        for rule in &rules {
            rule.check(self.scope)?;
        }
        let mut state = self.state.lock();
        state.0 = rules;
        if let Some(seed) = seed {
            state.1 = SplitMix64(seed);
        }
        Ok(())
    }

    /// Adds rules to the current ones.
    pub fn add(&self, rules: Vec<FaultRule>) -> Result<(), String> {
        for rule in &rules {
            rule.check(self.scope)?;
        }
        self.state.lock().0.extend(rules);
        Ok(())
    }

    /// The rules with their fire counts.
    pub fn rules(&self) -> Vec<FaultRule> {
        self.state.lock().0.clone()
    }

    /// Request-level faults for a request of `class`; each kind is reported once via
    /// `on_fired` so the caller can count it.
    pub fn on_request(&self, class: &str, mut on_fired: impl FnMut(&'static str)) -> RequestFaults {
        let mut out = RequestFaults::default();
        let mut guard = self.state.lock();
        let (rules, rng) = &mut *guard;
        for rule in rules
            .iter_mut()
            .filter(|r| r.applies_to(class) && r.kind != FaultKind::LockRow)
        {
            if rule.kind != FaultKind::Latency
                && (out.drop || out.fail.is_some() || out.after.is_some())
            {
                continue;
            }
            if !rule.fire(rng) {
                continue;
            }
            on_fired(rule.kind.name());
            match rule.kind {
                FaultKind::Latency => out.delay += Duration::from_millis(rule.latency_ms),
                FaultKind::Drop => out.drop = true,
                FaultKind::Unavailable | FaultKind::ServerError => out.fail = Some(rule.kind),
                FaultKind::RateLimited => {
                    out.fail = Some(rule.kind);
                    out.retry_after_secs = rule.retry_after_secs.unwrap_or(1);
                }
                FaultKind::DropAfter => out.after = Some(After::Drop),
                FaultKind::ServerErrorAfter => out.after = Some(After::Fail(500)),
                FaultKind::BadGatewayAfter => out.after = Some(After::Fail(502)),
                FaultKind::GatewayTimeoutAfter => out.after = Some(After::Fail(504)),
                FaultKind::StallAfter => {
                    out.after = Some(After::Stall(Duration::from_millis(rule.latency_ms)))
                }
                FaultKind::Oversize => out.after = Some(After::Pad(rule.bytes)),
                FaultKind::LockRow => {}
            }
        }
        out
    }

    /// Whether one record write of a `class` request hits a row-lock failure.
    pub fn lock_row(&self, class: &str) -> bool {
        let mut guard = self.state.lock();
        let (rules, rng) = &mut *guard;
        rules
            .iter_mut()
            .filter(|r| r.kind == FaultKind::LockRow && r.applies_to(class))
            .any(|r| r.fire(rng))
    }
}

/// A tiny, well-distributed, seedable generator (Steele et al.'s SplitMix64).
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: serde_json::Value) -> FaultRule {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn next_n_fires_exactly_n_times() {
        let faults = Faults::new(7);
        faults
            .set(
                vec![rule(
                    serde_json::json!({"endpoint": "query", "kind": "unavailable", "next": 2}),
                )],
                None,
            )
            .unwrap();
        let fails: Vec<bool> = (0..4)
            .map(|_| faults.on_request("query", |_| {}).fail.is_some())
            .collect();
        assert_eq!(fails, [true, true, false, false]);
        assert!(faults.on_request("sobject", |_| {}).fail.is_none());
        assert_eq!(faults.rules()[0].fired, 2);
    }

    #[test]
    fn seeded_rates_repeat_exactly() {
        let run = || {
            let faults = Faults::new(42);
            faults
                .set(
                    vec![rule(
                        serde_json::json!({"endpoint": "all", "kind": "lock_row", "rate": 0.3}),
                    )],
                    None,
                )
                .unwrap();
            (0..50)
                .map(|_| faults.lock_row("collections"))
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let hits = first.iter().filter(|b| **b).count();
        assert!(hits > 0 && hits < 50);
    }

    #[test]
    fn after_faults_fire_alone_and_say_how_the_answer_is_lost() {
        let faults = Faults::new(3);
        faults
            .set(
                vec![
                    rule(serde_json::json!({"endpoint": "collections", "kind": "server_error_after", "next": 1})),
                    rule(serde_json::json!({"endpoint": "collections", "kind": "bad_gateway_after", "next": 1})),
                    rule(serde_json::json!({"endpoint": "collections", "kind": "stall_after", "next": 1, "latency_ms": 50})),
                    rule(serde_json::json!({"endpoint": "query", "kind": "oversize", "bytes": 10})),
                ],
                None,
            )
            .unwrap();
        let afters: Vec<Option<After>> = (0..4)
            .map(|_| faults.on_request("collections", |_| {}).after)
            .collect();
        assert_eq!(
            afters,
            [
                Some(After::Fail(500)),
                Some(After::Fail(502)),
                Some(After::Stall(Duration::from_millis(50))),
                None
            ]
        );
        let query = faults.on_request("query", |_| {});
        assert_eq!(query.after, Some(After::Pad(10)));
        assert!(query.fail.is_none() && !query.drop);
    }

    #[test]
    fn after_faults_need_their_parameters() {
        let faults = Faults::new(1);
        for bad in [
            serde_json::json!({"endpoint": "all", "kind": "stall_after"}),
            serde_json::json!({"endpoint": "all", "kind": "oversize"}),
            serde_json::json!({"endpoint": "all", "kind": "oversize", "bytes": MAX_PAD_BYTES + 1}),
        ] {
            assert!(faults.set(vec![rule(bad.clone())], None).is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_unknown_classes() {
        let faults = Faults::new(1);
        let err = faults
            .set(
                vec![rule(
                    serde_json::json!({"endpoint": "bulk", "kind": "drop"}),
                )],
                None,
            )
            .unwrap_err();
        assert!(err.contains("unknown endpoint class"));
    }
}
