//! The five scenarios. Each measures hubsync and its baseline in the same run, repeats
//! `reps` times, and reports ratios (medians of per-repetition ratios) or counts.

pub mod capture;
pub mod latency;
pub mod memory;
pub mod pull;
pub mod push;

use crate::emulator::Emulator;
use crate::settings::Settings;
use crate::stats::{median, round};
use postgres::Client;
use serde_json::{json, Value};

/// What every scenario works with.
pub struct Ctx {
    pub settings: Settings,
    pub db: Client,
    pub emulator: Emulator,
}

impl Ctx {
    /// Prints progress to stderr, so a long run shows where it is.
    pub fn say(&self, message: impl AsRef<str>) {
        eprintln!("[bench] {}", message.as_ref());
    }
}

/// The median of one key over repetitions' JSON objects.
pub fn median_of(reps: &[Value], key: &str) -> Option<f64> {
    let values: Vec<f64> = reps.iter().filter_map(|r| r[key].as_f64()).collect();
    median(&values)
}

/// "lowest–highest" of one key over repetitions, to show how much the machine drifted.
pub fn spread_of(reps: &[Value], key: &str) -> String {
    let values: Vec<f64> = reps.iter().filter_map(|r| r[key].as_f64()).collect();
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if values.is_empty() {
        "n/a".into()
    } else {
        format!("{low:.2}–{high:.2}")
    }
}

/// `a / b`, or `None` when `b` is zero or missing.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// A JSON number rounded for the results, or null.
pub fn num(value: Option<f64>, digits: i32) -> Value {
    value.map_or(Value::Null, |v| json!(round(v, digits)))
}
