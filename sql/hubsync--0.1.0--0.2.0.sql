-- hubsync 0.1.0 → 0.2.0, run by ALTER EXTENSION hubsync UPDATE.
--
-- Every change made for 0.2.0 to sql/bootstrap.sql, sql/finalize.sql or a #[pg_extern]
-- signature must be made here as well: pgrx-tests/tests/backup_upgrade.rs fails, showing the
-- difference, while a database upgraded from 0.1.0 differs from a fresh 0.2.0 install.
\echo Use "ALTER EXTENSION hubsync UPDATE TO '0.2.0'" to load this file. \quit

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
