//! Latency percentiles per sync and minute, from a histogram small enough to keep in every
//! `hubsync.metric` row and to add up as the minute's pushes settle.
//!
//! Bucket `k` holds latencies in `(1.2^(k-1), 1.2^k]` ms (bucket 0: up to 1 ms; the last,
//! [`BUCKETS`]` - 1` ≈ 30 minutes, everything above). A percentile is the geometric middle
//! of the first bucket whose running count reaches `q × total`, `1.2^(k-½)` (bucket 0: 1 ms),
//! never more than the minute's exact maximum: within ±10 % of the true value. The
//! `hubsync.metrics` view computes the same in SQL (sql/finalize.sql).

/// Buckets per histogram.
pub const BUCKETS: usize = 80;
/// Each bucket's upper bound is this times the previous one's.
pub const RATIO: f64 = 1.2;

/// The bucket of a latency in milliseconds.
pub fn bucket(ms: f64) -> usize {
    if ms.is_nan() || ms <= 1.0 {
        return 0;
    }
    let k = (ms.ln() / RATIO.ln()).ceil();
    (k as usize).min(BUCKETS - 1)
}

/// A histogram of `latencies_ms`, `None` when there are none (nothing to add).
pub fn histogram(latencies_ms: &[f64]) -> Option<Vec<i32>> {
    if latencies_ms.is_empty() {
        return None;
    }
    let mut counts = vec![0i32; BUCKETS];
    for ms in latencies_ms {
        let b = &mut counts[bucket(*ms)];
        *b = b.saturating_add(1);
    }
    Some(counts)
}

/// The `q`-quantile (0 < q ≤ 1) of a histogram, capped at `max_ms`; `None` when empty.
pub fn quantile(counts: &[i32], q: f64, max_ms: f64) -> Option<f64> {
    let total: i64 = counts.iter().map(|c| *c as i64).sum();
    if total == 0 {
        return None;
    }
    let mut running = 0i64;
    for (k, c) in counts.iter().enumerate() {
        running += *c as i64;
        if running as f64 >= q * total as f64 {
            let middle = if k == 0 {
                1.0
            } else {
                RATIO.powf(k as f64 - 0.5)
            };
            return Some(middle.min(max_ms));
        }
    }
    Some(max_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_grow_by_the_ratio_and_clamp() {
        assert_eq!(bucket(0.0), 0);
        assert_eq!(bucket(1.0), 0);
        assert_eq!(bucket(1.2), 1);
        assert_eq!(bucket(1.21), 2);
        assert_eq!(bucket(1e12), BUCKETS - 1);
        assert!(RATIO.powi(BUCKETS as i32 - 1) > 30.0 * 60_000.0);
    }

    #[test]
    fn percentiles_are_within_ten_percent() {
        let latencies: Vec<f64> = (1..=1000).map(|i| i as f64 * 10.0).collect();
        let h = histogram(&latencies).unwrap();
        let max = 10_000.0;
        for (q, truth) in [(0.5, 5000.0), (0.95, 9500.0), (0.99, 9900.0)] {
            let p = quantile(&h, q, max).unwrap();
            assert!((p - truth).abs() / truth <= 0.1, "p{q}: {p} vs {truth}");
        }
        assert!(quantile(&h, 1.0, max).unwrap() <= max);
    }

    #[test]
    fn one_slow_record_in_a_hundred_shows_in_p99_not_p50() {
        let mut latencies = vec![100.0; 99];
        latencies.push(8000.0);
        let h = histogram(&latencies).unwrap();
        assert!(quantile(&h, 0.5, 8000.0).unwrap() < 110.0);
        assert!(quantile(&h, 0.99, 8000.0).unwrap() < 110.0);
        assert!(quantile(&h, 1.0, 8000.0).unwrap() > 7000.0);
        assert_eq!(histogram(&[]), None);
    }
}
