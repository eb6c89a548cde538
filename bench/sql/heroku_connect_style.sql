-- The capture baseline: a change-log trigger in the style of Heroku Connect's.
-- A PL/pgSQL row trigger logs txid_current(), the operation, the full new row (INSERT) or
-- only the changed columns with their old values (UPDATE, hstore NEW - OLD) into a log
-- table, whose own insert trigger calls pg_notify for the poller. Installed on __TABLE__ (replaced by the harness).
CREATE EXTENSION IF NOT EXISTS hstore;

CREATE TABLE IF NOT EXISTS bench_trigger_log (
    id           bigserial PRIMARY KEY,
    txid         bigint,
    created_at   timestamptz DEFAULT now(),
    updated_at   timestamptz DEFAULT now(),
    processed_at timestamptz,
    processed_tx bigint,
    state        varchar(8),
    action       varchar(7),
    table_name   varchar(128),
    record_id    integer,
    sfid         varchar(18),
    old          hstore,
    "values"     hstore,
    sf_result    integer,
    sf_message   text
);
CREATE INDEX IF NOT EXISTS bench_trigger_log_created_at_idx ON bench_trigger_log (created_at);
CREATE INDEX IF NOT EXISTS bench_trigger_log_state_id_idx ON bench_trigger_log (state, id);

CREATE OR REPLACE FUNCTION bench_trigger_log_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('bench_trigger_log', 'ping');
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS bench_trigger_log_notify ON bench_trigger_log;
CREATE TRIGGER bench_trigger_log_notify AFTER INSERT ON bench_trigger_log
    FOR EACH ROW EXECUTE FUNCTION bench_trigger_log_notify();

CREATE OR REPLACE FUNCTION bench_change_logger() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    entry bench_trigger_log;
BEGIN
    entry.id := nextval(pg_get_serial_sequence('bench_trigger_log', 'id'));
    entry.txid := txid_current();
    entry.created_at := clock_timestamp();
    entry.updated_at := entry.created_at;
    entry.state := 'NEW';
    entry.action := TG_OP;
    entry.table_name := TG_TABLE_NAME;
    IF TG_OP = 'DELETE' THEN
        entry.record_id := OLD.id;
        entry.sfid := OLD.sf_id;
        entry.old := hstore(OLD);
    ELSIF TG_OP = 'INSERT' THEN
        entry.record_id := NEW.id;
        entry."values" := hstore(NEW);
    ELSE
        entry.record_id := NEW.id;
        entry.sfid := OLD.sf_id;
        entry."values" := hstore(NEW) - hstore(OLD);
        entry.old := hstore(OLD) - hstore(NEW);
    END IF;
    INSERT INTO bench_trigger_log VALUES (entry.*);
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS bench_change_logger ON __TABLE__;
CREATE TRIGGER bench_change_logger AFTER INSERT OR UPDATE OR DELETE ON __TABLE__
    FOR EACH ROW EXECUTE FUNCTION bench_change_logger();
