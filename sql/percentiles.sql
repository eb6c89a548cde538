-- Latency percentiles per sync and minute: a histogram in every hubsync.metric row
-- (core/src/latency.rs: bucket k holds latencies in (1.2^(k-1), 1.2^k] ms, 80 buckets),
-- added up as pushes settle; hubsync.metrics (finalize.sql) reads p50/p95/p99 from it.
ALTER TABLE hubsync.metric ADD COLUMN latency_hist integer[];
