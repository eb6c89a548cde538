-- hubsync 0.1.0 → 0.2.0, run by ALTER EXTENSION hubsync UPDATE.
--
-- Every change made for 0.2.0 to sql/bootstrap.sql, sql/finalize.sql or a #[pg_extern]
-- signature must be made here as well: pgrx-tests/tests/backup_upgrade.rs fails, showing the
-- difference, while a database upgraded from 0.1.0 differs from a fresh 0.2.0 install.
\echo Use "ALTER EXTENSION hubsync UPDATE TO '0.2.0'" to load this file. \quit

-- Where the next read of changes continues, for systems that hand out their own cursor.
ALTER TABLE hubsync.pull_state ADD COLUMN resume_cursor text;

-- Change Data Capture (issue 14): the replay id of the last streamed event applied, and how
-- each sync pulls now (shown as hubsync.status.pull_mode).
ALTER TABLE hubsync.pull_state ADD COLUMN replay_id bigint;
ALTER TABLE hubsync.pull_state ADD COLUMN pull_mode text;

-- Tenancy and privileges (issue 10): values shown only to those who manage the sync, views
-- that filter by role are security barriers, wait functions run with a pinned search_path,
-- internal functions are not executable by PUBLIC.
CREATE OR REPLACE VIEW hubsync.status AS
    SELECT s.name,
           s.state,
           CASE
               WHEN w.pid IS NULL THEN w.state
               WHEN w.database IS DISTINCT FROM current_database()
                   THEN format('not serving this database (hubsync.database = %s)', w.database)
               ELSE w.state
           END AS worker,
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
    CROSS JOIN hubsync.worker w
    LEFT JOIN hubsync.sync_stats st ON st.sync_id = s.id
    LEFT JOIN hubsync.pull_state p ON p.sync_id = s.id
    LEFT JOIN LATERAL (
        SELECT count(*) AS backlog, min(changed_at) AS oldest_change
        FROM hubsync.outbox ob WHERE ob.sync_id = s.id
    ) o ON true;

ALTER VIEW hubsync.review_queue SET (security_barrier);
ALTER VIEW hubsync.record_status SET (security_barrier);
ALTER VIEW hubsync.conflicts SET (security_barrier);

CREATE OR REPLACE VIEW hubsync.logs WITH (security_barrier) AS
    SELECT l.id, s.name AS sync, l.level, l.message, l.at
    FROM hubsync.log l JOIN hubsync.sync s ON s.id = l.sync_id
    WHERE pg_has_role(current_user, s.owner, 'USAGE');

CREATE OR REPLACE FUNCTION hubsync.wait_for_worker(timeout interval DEFAULT '30 seconds')
RETURNS boolean LANGUAGE sql AS $$
    SELECT hubsync.await_condition(
        'SELECT EXISTS (SELECT 1 FROM hubsync.worker WHERE state = ''running'')', NULL, timeout)
$$ SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION hubsync.wait_for_pull(sync text, timeout interval DEFAULT '60 seconds')
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

REVOKE SELECT ON hubsync.sync_stats, hubsync.log FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION hubsync.capture(), hubsync.guard_truncate(),
    hubsync.await_condition(text, text, interval) FROM PUBLIC;

-- remote_query is bounded (max_rows); as `cargo pgrx schema` writes it.
DROP FUNCTION hubsync.remote_query(text, text);
CREATE  FUNCTION hubsync."remote_query"(
	"sync" TEXT, /* & str */
	"soql" TEXT, /* & str */
	"max_rows" INT DEFAULT 10000 /* i32 */
) RETURNS SETOF jsonb /* JsonB */
STRICT SECURITY DEFINER
SET search_path TO @extschema@, pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'remote_query_wrapper';

-- Notifications (issue 15): latency percentiles in hubsync.metric and hubsync.metrics, and
-- the notification outbox with its view.
ALTER TABLE hubsync.metric ADD COLUMN latency_hist integer[];

-- Provenance of a captured change: the sync whose write it was (NULL: a local write).
ALTER TABLE hubsync.outbox ADD COLUMN origin integer;

-- Per sync and minute: records moved, errors, throughput and commit-to-acknowledged latency,
-- with percentiles from the minute's histogram (core/src/latency.rs: the geometric middle
-- of the first bucket whose running count reaches the quantile, at most the maximum).
CREATE OR REPLACE VIEW hubsync.metrics AS
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

-- One row per notice and destination, written by the worker's main thread when a
-- condition starts or ends; sent from HTTP threads, retried with backoff, given up on a
-- permanent error with the reason. The notice (notice jsonb) holds no secret and no record
-- value; the destination is a channel name or an e-mail address, never a webhook URL.
CREATE TABLE hubsync.notification (
    id            bigserial PRIMARY KEY,
    sync_id       integer NOT NULL,
    alert_id      bigint,
    channel       text NOT NULL CHECK (channel IN ('slack', 'email')),
    connection    text NOT NULL,
    destination   text NOT NULL,
    severity      text NOT NULL,
    kind          text NOT NULL,
    event         text NOT NULL CHECK (event IN ('raised', 'resolved')),
    subject       text NOT NULL,
    notice        jsonb NOT NULL,
    state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts      integer NOT NULL DEFAULT 0,
    next_attempt  timestamptz NOT NULL DEFAULT now(),
    last_error    text,
    digest_size   integer,
    created_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz
);
CREATE INDEX notification_pending_idx ON hubsync.notification (next_attempt) WHERE state = 'pending';
CREATE INDEX notification_sync_idx ON hubsync.notification (sync_id, created_at);

-- Each message, its channel and destination, where it stands, how many attempts and the
-- last error; for the syncs the current role manages (a message names what went wrong).
CREATE VIEW hubsync.notifications WITH (security_barrier) AS
    SELECT n.id, s.name AS sync, n.channel, n.destination, n.severity, n.kind, n.event,
           n.subject, n.state, n.attempts, n.last_error, n.next_attempt, n.digest_size,
           n.created_at, n.sent_at
    FROM hubsync.notification n JOIN hubsync.sync s ON s.id = n.sync_id
    WHERE pg_has_role(current_user, s.owner, 'USAGE');

REVOKE ALL ON hubsync.notification FROM PUBLIC;
REVOKE ALL ON SEQUENCE hubsync.notification_id_seq FROM PUBLIC;
GRANT SELECT ON hubsync.notifications TO PUBLIC;

-- The hub (issue 11): hubs belong to roles and run one sync per mirrored object.
ALTER TABLE hubsync.hub ADD COLUMN owner regrole;
CREATE TABLE hubsync.hub_sync (
    hub     text NOT NULL REFERENCES hubsync.hub (name) ON DELETE CASCADE,
    system  text NOT NULL,
    object  text NOT NULL,
    sync_id integer NOT NULL UNIQUE REFERENCES hubsync.sync (id) ON DELETE CASCADE,
    PRIMARY KEY (hub, system, object)
);
REVOKE ALL ON hubsync.hub_sync FROM PUBLIC;
GRANT SELECT ON hubsync.hub_sync TO PUBLIC;
-- alter_hub and drop_hub, as `cargo pgrx schema` writes them.
CREATE  FUNCTION hubsync."alter_hub"(
	"config" jsonb /* JsonB */
) RETURNS void
STRICT SECURITY DEFINER
SET search_path TO @extschema@, pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'alter_hub_wrapper';
CREATE  FUNCTION hubsync."drop_hub"(
	"name" TEXT, /* & str */
	"drop_tables" bool DEFAULT false /* bool */
) RETURNS void
STRICT SECURITY DEFINER
SET search_path TO @extschema@, pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'drop_hub_wrapper';
DROP VIEW hubsync.hubs;
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
GRANT SELECT ON hubsync.hubs TO PUBLIC;

-- Every database, a pool of workers in each (issue 16): hubsync.worker shows every serving
-- worker with its pool position and the syncs it serves; hubsync.status names the state of
-- the worker serving each sync; CREATE EXTENSION and ALTER EXTENSION UPDATE wake the launcher.
DROP VIEW hubsync.hubs;
DROP VIEW hubsync.status;
DROP VIEW hubsync.worker;
DROP FUNCTION hubsync.worker_info();
CREATE  FUNCTION hubsync."worker_info"() RETURNS TABLE (
	"pid" INT,  /* Option < i32 > */
	"database" TEXT,  /* Option < String > */
	"state" TEXT,  /* String */
	"started_at" timestamp with time zone,  /* Option < TimestampWithTimeZone > */
	"last_heartbeat" timestamp with time zone,  /* Option < TimestampWithTimeZone > */
	"last_error" TEXT,  /* Option < String > */
	"last_error_at" timestamp with time zone,  /* Option < TimestampWithTimeZone > */
	"launcher_pid" INT,  /* Option < i32 > */
	"pool_index" INT,  /* Option < i32 > */
	"syncs" INT[]  /* :: std :: option :: Option < Vec < i32 > > */
)
STRICT VOLATILE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'workers_wrapper';
CREATE VIEW hubsync.worker AS
    SELECT * FROM hubsync.worker_info();
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
GRANT SELECT ON hubsync.worker, hubsync.status, hubsync.hubs TO PUBLIC;

CREATE OR REPLACE FUNCTION hubsync.wait_for_worker(timeout interval DEFAULT '30 seconds')
RETURNS boolean LANGUAGE sql AS $$
    SELECT hubsync.await_condition(
        'SELECT count(*) >= coalesce(current_setting(''hubsync.workers_per_database'', true)::int, 1)
         FROM hubsync.worker WHERE state = ''running'' AND database = current_database()',
        NULL, timeout)
$$ SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE  FUNCTION hubsync."wake_launcher"() RETURNS void
STRICT VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'wake_launcher_wrapper';
REVOKE EXECUTE ON FUNCTION hubsync.wake_launcher() FROM PUBLIC;
SELECT hubsync.wake_launcher();

-- Bulk write jobs sent but not settled yet (docs/bulk.md): recorded with the outbox rows they
-- carry before the job may be applied, forgotten when it is settled, so a restarted worker
-- finishes and settles the same job instead of sending its rows again.
CREATE TABLE hubsync.bulk_job (
    sync_id    integer NOT NULL,
    job_id     text NOT NULL,
    outbox_ids bigint[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sync_id, job_id)
);
REVOKE ALL ON hubsync.bulk_job FROM PUBLIC;

-- pg_dump now dumps the catalog: every table and sequence is marked as the extension's
-- configuration (as at the end of bootstrap.sql). Keep this statement last, so that tables
-- created above are marked too.
-- (One call per statement: each one updates the extension's catalog row.)
DO $$
DECLARE
    marked pg_catalog.regclass;
BEGIN
    FOR marked IN SELECT c.oid FROM pg_catalog.pg_class c
                  WHERE c.relnamespace = 'hubsync'::pg_catalog.regnamespace
                    AND c.relkind IN ('r', 'S')
    LOOP
        PERFORM pg_catalog.pg_extension_config_dump(marked, '');
    END LOOP;
END
$$;
