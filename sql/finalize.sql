-- Views and privileges. Runs after every function is created.

CREATE VIEW hubsync.worker AS
    SELECT * FROM hubsync.worker_info();

-- One row per sync: what it connects, which way, and its config without secrets.
CREATE VIEW hubsync.syncs AS
    SELECT s.name, s.connection, s.remote_system, s.remote_object, s.local_table,
           s.direction, s.state, s.owner, s.config, s.created_at, s.updated_at
    FROM hubsync.sync s;

-- One row per sync: is it healthy, how far behind, what went wrong.
CREATE VIEW hubsync.status AS
    SELECT s.name,
           s.state,
           coalesce(w.state,
                    CASE WHEN coalesce(current_setting('hubsync.database', true), '') = ''
                         THEN 'waiting for the launcher'
                         ELSE format('not serving this database (hubsync.database = %s)',
                                     current_setting('hubsync.database', true))
                    END) AS worker,
           st.connection_state,
           o.backlog,
           now() - o.oldest_change AS oldest_pending_age,
           st.last_push_at AS last_push,
           st.pushed,
           st.push_failed,
           st.last_pull_at AS last_pull,
           now() - p.newest_remote_change AS pull_lag,
           st.pulled,
           st.conflicts,
           (SELECT count(*) FROM hubsync.review r WHERE r.sync_id = s.id) AS review,
           st.api_calls,
           st.api_usage,
           st.problem,
           -- an error message can quote a record's values: only for those who manage the sync
           CASE WHEN pg_has_role(current_user, s.owner, 'USAGE') THEN st.last_error END AS last_error,
           st.last_error_at,
           coalesce(p.pull_mode, CASE WHEN s.direction = 'to_remote' THEN 'off' ELSE 'polling' END) AS pull_mode
    FROM hubsync.sync s
    -- the worker serving the sync; else one of this database's (or the row saying there is
    -- no worker at all)
    LEFT JOIN LATERAL (
        SELECT w.state FROM hubsync.worker w
        WHERE w.database = current_database() OR (w.database IS NULL AND w.pid IS NULL)
        ORDER BY s.id = ANY (w.syncs) DESC NULLS LAST, w.pool_index
        LIMIT 1
    ) w ON true
    LEFT JOIN hubsync.sync_stats st ON st.sync_id = s.id
    LEFT JOIN hubsync.pull_state p ON p.sync_id = s.id
    LEFT JOIN LATERAL (
        SELECT count(*) AS backlog, min(changed_at) AS oldest_change
        FROM hubsync.outbox ob WHERE ob.sync_id = s.id
    ) o ON true;

-- Views that show captured or remote values show only the syncs the current role manages.
-- They are security barriers: a function in a user's WHERE clause never sees another
-- role's rows.

-- Records that need a person, for the syncs the current role manages.
CREATE VIEW hubsync.review_queue WITH (security_barrier) AS
    SELECT r.id, s.name AS sync, s.local_table, r.pk AS record_key, r.remote_id, r.operation,
           r.kind, r.payload, r.remote_values, r.error_code, r.error_message, r.attempts,
           r.first_seen, r.last_seen
    FROM hubsync.review r JOIN hubsync.sync s ON s.id = r.sync_id
    WHERE pg_has_role(current_user, s.owner, 'USAGE');

-- Per synced record: its remote id, last operation and where it stands (like Heroku
-- Connect's _hc_lastop/_hc_err, without touching the user's table).
CREATE VIEW hubsync.record_status WITH (security_barrier) AS
    SELECT s.name AS sync, s.local_table, r.pk AS record_key, r.remote_id, r.last_op, r.state,
           r.last_error, r.retry_at, r.updated_at
    FROM hubsync.record_state r JOIN hubsync.sync s ON s.id = r.sync_id
    WHERE pg_has_role(current_user, s.owner, 'USAGE');

-- Pull progress per sync, in the style of pg_stat_progress_copy.
CREATE VIEW hubsync.progress AS
    SELECT s.name AS sync, p.phase, p.records_done, p.records_total, p.started_at,
           p.finished_at, p.watermark, p.newest_remote_change
    FROM hubsync.pull_state p JOIN hubsync.sync s ON s.id = p.sync_id;

-- Every conflict detected and how it was decided, for the syncs the current role manages.
CREATE VIEW hubsync.conflicts WITH (security_barrier) AS
    SELECT c.id, s.name AS sync, c.pk AS record_key, c.remote_id, c.field, c.local_value,
           c.remote_value, c.base_value, c.winner, c.rule, c.at
    FROM hubsync.conflict_log c JOIN hubsync.sync s ON s.id = c.sync_id
    WHERE pg_has_role(current_user, s.owner, 'USAGE');

-- Per sync and minute: records moved, errors, throughput and commit-to-acknowledged latency,
-- with percentiles from the minute's histogram (core/src/latency.rs: the geometric middle
-- of the first bucket whose running count reaches the quantile, at most the maximum).
CREATE VIEW hubsync.metrics AS
    SELECT s.name AS sync, m.bucket AS minute, m.pushed, m.pulled, m.errors,
           round((m.pushed + m.pulled) / 60.0, 2) AS throughput_per_s,
           CASE WHEN m.latency_count > 0
                THEN round((m.latency_ms_sum / m.latency_count)::numeric, 1) END AS avg_latency_ms,
           round(m.latency_ms_max::numeric, 1) AS max_latency_ms,
           CASE WHEN m.pushed + m.pulled + m.errors > 0
                THEN round(m.errors::numeric / (m.pushed + m.pulled + m.errors), 4) END AS error_rate,
           p.p50 AS p50_latency_ms, p.p95 AS p95_latency_ms, p.p99 AS p99_latency_ms
    FROM hubsync.metric m JOIN hubsync.sync s ON s.id = m.sync_id
    LEFT JOIN LATERAL (
        SELECT round(least(min(h.middle) FILTER (WHERE h.running >= 0.50 * h.total), m.latency_ms_max)::numeric, 1) AS p50,
               round(least(min(h.middle) FILTER (WHERE h.running >= 0.95 * h.total), m.latency_ms_max)::numeric, 1) AS p95,
               round(least(min(h.middle) FILTER (WHERE h.running >= 0.99 * h.total), m.latency_ms_max)::numeric, 1) AS p99
        FROM (SELECT CASE WHEN k = 1 THEN 1 ELSE power(1.2, k - 1.5) END AS middle,
                     sum(c) OVER (ORDER BY k) AS running, sum(c) OVER () AS total
              FROM unnest(m.latency_hist) WITH ORDINALITY AS u(c, k)) h
        WHERE h.total > 0
    ) p ON true;

-- Each message, its channel and destination, where it stands, how many attempts and the
-- last error; for the syncs the current role manages (a message names what went wrong).
CREATE VIEW hubsync.notifications WITH (security_barrier) AS
    SELECT n.id, s.name AS sync, n.channel, n.destination, n.severity, n.kind, n.event,
           n.subject, n.state, n.attempts, n.last_error, n.next_attempt, n.digest_size,
           n.created_at, n.sent_at
    FROM hubsync.notification n JOIN hubsync.sync s ON s.id = n.sync_id
    WHERE pg_has_role(current_user, s.owner, 'USAGE');

-- Alerts raised from monitoring.alerting thresholds (open ones have no resolved_at).
CREATE VIEW hubsync.alerts AS
    SELECT a.id, s.name AS sync, a.severity, a.kind, a.message, a.raised_at, a.resolved_at
    FROM hubsync.alert a JOIN hubsync.sync s ON s.id = a.sync_id;

-- Each sync's own log: validation warnings and notable events, which can quote values;
-- for the syncs the current role manages.
CREATE VIEW hubsync.logs WITH (security_barrier) AS
    SELECT l.id, s.name AS sync, l.level, l.message, l.at
    FROM hubsync.log l JOIN hubsync.sync s ON s.id = l.sync_id
    WHERE pg_has_role(current_user, s.owner, 'USAGE');

-- Stored hub-and-spoke definitions.
-- One row per object a hub mirrors: its system, table and sync, and how that sync stands.
CREATE VIEW hubsync.hubs AS
    SELECT h.name AS hub, lower(cs ->> 'system') AS system, obj AS object, s.name AS sync,
           s.local_table AS mirrored_table, st.state,
           coalesce(st.connection_state, 'not_configured') AS connection_state,
           st.backlog, st.pull_lag, st.last_push, st.last_pull, st.review, h.created_at
    FROM hubsync.hub h
    CROSS JOIN LATERAL jsonb_array_elements(h.config -> 'connected_systems') cs
    CROSS JOIN LATERAL jsonb_array_elements_text(cs -> 'objects') obj
    LEFT JOIN hubsync.hub_sync hs
           ON hs.hub = h.name AND hs.system = lower(cs ->> 'system') AND hs.object = obj
    LEFT JOIN hubsync.sync s ON s.id = hs.sync_id
    LEFT JOIN hubsync.status st ON st.name = s.name;

-- Polls `condition` (a query returning one boolean, given `arg` as $1) until it is true or
-- `timeout` passes; what the wait_for_* helpers share.
CREATE FUNCTION hubsync.await_condition(condition text, arg text, timeout interval)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + timeout;
    satisfied boolean;
BEGIN
    LOOP
        EXECUTE condition INTO satisfied USING arg;
        IF satisfied THEN
            RETURN true;
        END IF;
        IF clock_timestamp() > deadline THEN
            RETURN false;
        END IF;
        PERFORM pg_sleep(0.02);
    END LOOP;
END
$$;

-- Waits (up to timeout) until every serving worker of this database (the pool of
-- hubsync.workers_per_database) reports itself running.
CREATE FUNCTION hubsync.wait_for_worker(timeout interval DEFAULT '30 seconds')
RETURNS boolean LANGUAGE sql AS $$
    SELECT hubsync.await_condition(
        'SELECT count(*) >= coalesce(current_setting(''hubsync.workers_per_database'', true)::int, 1)
         FROM hubsync.worker WHERE state = ''running'' AND database = current_database()',
        NULL, timeout)
$$ SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- Waits (up to timeout) until a sync has nothing left to push: an empty outbox.
CREATE FUNCTION hubsync.wait_for_idle(sync text, timeout interval DEFAULT '60 seconds')
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM hubsync.sync s WHERE s.name = wait_for_idle.sync) THEN
        RAISE EXCEPTION 'hubsync sync "%" does not exist', sync USING ERRCODE = '42704';
    END IF;
    RETURN hubsync.await_condition(
        'SELECT NOT EXISTS (SELECT 1 FROM hubsync.outbox o JOIN hubsync.sync s ON s.id = o.sync_id
                            WHERE s.name = $1)', sync, timeout);
END
$$ SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- Asks for a pull now and waits (up to timeout) until one has been applied.
CREATE FUNCTION hubsync.wait_for_pull(sync text, timeout interval DEFAULT '60 seconds')
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    started timestamptz := clock_timestamp();
BEGIN
    PERFORM hubsync.pull_now(sync);
    RETURN hubsync.await_condition(
        format('SELECT EXISTS (SELECT 1 FROM hubsync.status s WHERE s.name = $1 AND s.last_pull > %L)', started),
        sync, timeout);
END
$$ SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- Nobody but the extension owner writes the catalog directly; secrets are not even readable.
REVOKE ALL ON ALL TABLES IN SCHEMA hubsync FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA hubsync FROM PUBLIC;
GRANT USAGE ON SCHEMA hubsync TO PUBLIC;
-- Catalog rows without user data are public; captured and remote values are only shown
-- through views that filter by the syncs the current role manages.
GRANT SELECT ON hubsync.sync, hubsync.pull_state, hubsync.metric, hubsync.alert, hubsync.hub,
                hubsync.hub_sync TO PUBLIC;
GRANT SELECT ON hubsync.worker, hubsync.syncs, hubsync.status, hubsync.hubs,
                hubsync.review_queue, hubsync.record_status, hubsync.progress,
                hubsync.conflicts, hubsync.metrics, hubsync.alerts, hubsync.logs TO PUBLIC;
GRANT SELECT ON hubsync.notifications TO PUBLIC;

-- Internal functions: the capture and TRUNCATE triggers are installed by create_sync only
-- (creating a trigger needs EXECUTE on its function), and the polling helper runs only
-- inside the wait_for_* functions.
REVOKE EXECUTE ON FUNCTION hubsync.capture(), hubsync.guard_truncate(),
    hubsync.await_condition(text, text, interval) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION hubsync.wake_launcher() FROM PUBLIC;

-- The launcher starts serving this database when this transaction commits, not at its
-- next look at databases without the extension.
SELECT hubsync.wake_launcher();
