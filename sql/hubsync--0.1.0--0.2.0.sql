-- hubsync 0.1.0 → 0.2.0, run by ALTER EXTENSION hubsync UPDATE.
--
-- Every change made for 0.2.0 to sql/bootstrap.sql, sql/finalize.sql or a #[pg_extern]
-- signature must be made here as well: pgrx-tests/tests/backup_upgrade.rs fails, showing the
-- difference, while a database upgraded from 0.1.0 differs from a fresh 0.2.0 install.
\echo Use "ALTER EXTENSION hubsync UPDATE TO '0.2.0'" to load this file. \quit

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
           st.last_error_at
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
