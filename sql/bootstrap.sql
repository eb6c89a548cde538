-- hubsync catalog: what is synced, what is waiting, what went wrong.
-- Every table lives in schema hubsync; only the extension owner can write them directly.
-- Users work through the functions and views defined in finalize.sql.

-- One row per sync. The config is kept exactly as validated, minus secrets.
CREATE TABLE hubsync.sync (
    id            serial PRIMARY KEY,
    name          text NOT NULL UNIQUE,
    connection    text NOT NULL,
    remote_system text NOT NULL,
    remote_object text NOT NULL,
    local_table   regclass NOT NULL,
    direction     text NOT NULL CHECK (direction IN ('bidirectional', 'to_remote', 'to_local')),
    state         text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'paused')),
    config        jsonb NOT NULL,
    owner         regrole NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Secrets per connection (client secret, refresh token, password...). Readable by the
-- extension owner only: never exposed by a view, a log line or an error.
CREATE TABLE hubsync.credentials (
    connection text PRIMARY KEY,
    secret     jsonb NOT NULL,
    owner      regrole NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Hub-and-spoke definitions (sync_hub + connected_systems).
CREATE TABLE hubsync.hub (
    name       text PRIMARY KEY,
    config     jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    owner      regrole
);

-- The syncs a hub runs: one per object it mirrors into a table of its own.
CREATE TABLE hubsync.hub_sync (
    hub     text NOT NULL REFERENCES hubsync.hub (name) ON DELETE CASCADE,
    system  text NOT NULL,
    object  text NOT NULL,
    sync_id integer NOT NULL UNIQUE REFERENCES hubsync.sync (id) ON DELETE CASCADE,
    PRIMARY KEY (hub, system, object)
);

-- The transactional outbox: one row per captured change, written in the user's transaction.
-- pk is the local primary key as a JSON array; new/old hold captured columns only.
CREATE TABLE hubsync.outbox (
    id            bigserial PRIMARY KEY,
    sync_id       integer NOT NULL,
    op            "char" NOT NULL CHECK (op IN ('I', 'U', 'D')),
    pk            jsonb NOT NULL,
    new           jsonb,
    old           jsonb,
    changed_at    timestamptz NOT NULL DEFAULT statement_timestamp(),
    claimed_until timestamptz,
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text,
    origin        integer
);

-- Per synced record: its remote id, the values both sides last agreed on (the base for
-- conflict detection), the last operation and its outcome, and retry/loop bookkeeping.
CREATE TABLE hubsync.record_state (
    sync_id        integer NOT NULL,
    pk             jsonb NOT NULL,
    remote_id      text,
    base           jsonb,
    remote_stamp   timestamptz,
    last_op        text,
    state          text NOT NULL DEFAULT 'synced',
    last_error     text,
    retry_at       timestamptz,
    loop_history   jsonb,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sync_id, pk)
);
CREATE INDEX record_state_remote_id_idx ON hubsync.record_state (sync_id, remote_id);
CREATE INDEX record_state_waiting_idx ON hubsync.record_state (sync_id, pk) WHERE retry_at IS NOT NULL;

-- The worker analyzes these two tables whenever they grow fast (a backlog, a full load);
-- no query filters on the payload columns, so ANALYZE need not sample them.
ALTER TABLE hubsync.outbox ALTER COLUMN new SET STATISTICS 0, ALTER COLUMN old SET STATISTICS 0;
ALTER TABLE hubsync.record_state ALTER COLUMN base SET STATISTICS 0,
    ALTER COLUMN loop_history SET STATISTICS 0, ALTER COLUMN last_error SET STATISTICS 0;

-- Records that need a person: permanent failures, exhausted retries, manual conflicts, loops.
CREATE TABLE hubsync.review (
    id            bigserial PRIMARY KEY,
    sync_id       integer NOT NULL,
    pk            jsonb,
    remote_id     text,
    operation     text NOT NULL,
    kind          text NOT NULL DEFAULT 'error'
                  CHECK (kind IN ('error', 'rejected', 'conflict', 'loop', 'unknown_outcome', 'apply_error')),
    payload       jsonb,
    remote_values jsonb,
    error_code    text,
    error_message text,
    attempts      integer NOT NULL DEFAULT 0,
    first_seen    timestamptz NOT NULL DEFAULT now(),
    last_seen     timestamptz NOT NULL DEFAULT now(),
    outbox_ids    bigint[] NOT NULL DEFAULT '{}'
);
CREATE INDEX review_sync_idx ON hubsync.review (sync_id, pk);

-- Every detected conflict and its verdict.
CREATE TABLE hubsync.conflict_log (
    id           bigserial PRIMARY KEY,
    sync_id      integer NOT NULL,
    pk           jsonb,
    remote_id    text,
    field        text NOT NULL,
    local_value  jsonb,
    remote_value jsonb,
    base_value   jsonb,
    winner       text NOT NULL,
    rule         text NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conflict_log_sync_idx ON hubsync.conflict_log (sync_id, at);

-- Running counters and connection state per sync, maintained by the worker.
CREATE TABLE hubsync.sync_stats (
    sync_id              integer PRIMARY KEY,
    pushed               bigint NOT NULL DEFAULT 0,
    push_failed          bigint NOT NULL DEFAULT 0,
    pulled               bigint NOT NULL DEFAULT 0,
    pull_failed          bigint NOT NULL DEFAULT 0,
    conflicts            bigint NOT NULL DEFAULT 0,
    api_calls            bigint NOT NULL DEFAULT 0,
    last_push_at         timestamptz,
    last_pull_at         timestamptz,
    last_error           text,
    last_error_at        timestamptz,
    connection_state     text NOT NULL DEFAULT 'unknown',
    consecutive_failures integer NOT NULL DEFAULT 0,
    problem              text,
    api_usage            text,
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- Pull progress and watermarks per sync.
CREATE TABLE hubsync.pull_state (
    sync_id           integer PRIMARY KEY,
    phase             text NOT NULL DEFAULT 'pending',
    watermark         timestamptz,
    deleted_watermark timestamptz,
    records_done      bigint NOT NULL DEFAULT 0,
    records_total     bigint,
    started_at        timestamptz,
    finished_at       timestamptz,
    newest_remote_change timestamptz,
    next_locator      text,
    resume_cursor     text,
    -- the position of the last streamed change event applied (Salesforce's replay id)
    replay_id         bigint,
    -- how the sync pulls now: streaming, polling, or polling (why; until when)
    pull_mode         text
);

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

-- Minute buckets of pushes/pulls/errors and latency, for metrics and alerts.
CREATE TABLE hubsync.metric (
    sync_id        integer NOT NULL,
    bucket         timestamptz NOT NULL,
    pushed         bigint NOT NULL DEFAULT 0,
    pulled         bigint NOT NULL DEFAULT 0,
    errors         bigint NOT NULL DEFAULT 0,
    latency_ms_sum double precision NOT NULL DEFAULT 0,
    latency_count  bigint NOT NULL DEFAULT 0,
    latency_ms_max double precision NOT NULL DEFAULT 0,
    -- Latency histogram for percentiles (core/src/latency.rs: bucket k holds latencies in
    -- (1.2^(k-1), 1.2^k] ms, 80 buckets), added up as pushes settle.
    latency_hist   integer[],
    PRIMARY KEY (sync_id, bucket)
);

-- Alerts raised when a sync crosses its monitoring thresholds.
CREATE TABLE hubsync.alert (
    id         bigserial PRIMARY KEY,
    sync_id    integer NOT NULL,
    severity   text NOT NULL,
    kind       text NOT NULL,
    message    text NOT NULL,
    raised_at  timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz
);

-- The sync's own log (monitoring.logging): notable events, kept retention_days.
CREATE TABLE hubsync.log (
    id      bigserial PRIMARY KEY,
    sync_id integer,
    level   text NOT NULL,
    message text NOT NULL,
    at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX log_at_idx ON hubsync.log (at);

-- Notifications: the outbox of Slack and e-mail messages (docs/notifications.md).
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

-- pg_dump leaves an extension's tables out of a dump unless they are marked as its
-- configuration, while the triggers on synced tables are dumped: mark every catalog table and
-- sequence, so that a restored database gets its syncs whole, with the same ids
-- (docs/backups-and-upgrades.md). Keep this statement after the last CREATE TABLE.
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
