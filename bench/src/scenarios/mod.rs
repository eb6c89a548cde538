//! The seven scenarios. Each measures hubsync and its baseline in the same run, repeats
//! `reps` times, and reports ratios (medians of per-repetition ratios) or counts.

pub mod capture;
pub mod cdc;
pub mod isolation;
pub mod latency;
pub mod memory;
pub mod pull;
pub mod push;
pub mod spokes;

use crate::emulator::Emulator;
use crate::settings::Settings;
use crate::stats::{median, round};
use postgres::Client;
use serde_json::{json, Value};
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// The median over repetitions of `a[key] / b[key]`, where `a` and `b` are paths of one
/// repetition's JSON (`"hubsync"`, `"copy"`): ratios are taken per repetition, so a
/// machine that slowed down between repetitions slows both sides of each ratio.
pub fn median_ratio(reps: &[Value], a: &str, b: &str, key: &str) -> Option<f64> {
    let ratios: Vec<Value> = reps
        .iter()
        .map(|r| json!({"r": ratio(r[a][key].as_f64(), r[b][key].as_f64())}))
        .collect();
    median_of(&ratios, "r")
}

/// Runs `send(client, slice)` over `0..records` in slices of at most `batch` from `clients`
/// threads (`client` is the thread's number, to pick its own connection), each taking the
/// next slice when it is done with one, as a baseline client pool would: the ceilings are
/// measured with the same parallelism as hubsync's HTTP threads.
pub fn in_parallel(
    clients: usize,
    records: usize,
    batch: usize,
    send: impl Fn(usize, Range<usize>) -> crate::BenchResult<()> + Sync,
) -> crate::BenchResult<()> {
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| -> crate::BenchResult<()> {
        let workers: Vec<_> = (0..clients)
            .map(|client| {
                let (next, send) = (&next, &send);
                scope.spawn(move || -> crate::BenchResult<()> {
                    loop {
                        let first = next.fetch_add(batch, Ordering::Relaxed);
                        if first >= records {
                            return Ok(());
                        }
                        send(client, first..(first + batch).min(records))?;
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().map_err(|_| "a baseline client panicked")??;
        }
        Ok(())
    })
}
