-- Views and privileges. Runs after every function is created.

CREATE VIEW hubsync.worker AS
    SELECT * FROM hubsync.worker_info();

-- Waits (up to timeout) until the background worker reports itself running.
CREATE FUNCTION hubsync.wait_for_worker(timeout interval DEFAULT '30 seconds')
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + timeout;
BEGIN
    LOOP
        IF EXISTS (SELECT 1 FROM hubsync.worker WHERE state = 'running') THEN
            RETURN true;
        END IF;
        IF clock_timestamp() > deadline THEN
            RETURN false;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
END
$$;

-- Nobody but the extension owner touches the catalog directly.
REVOKE ALL ON ALL TABLES IN SCHEMA hubsync FROM PUBLIC;
GRANT USAGE ON SCHEMA hubsync TO PUBLIC;
GRANT SELECT ON hubsync.worker TO PUBLIC;
