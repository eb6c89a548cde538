-- Last part of the demo: a record created in the second org arrives in the table, and the
-- first org's sync pushes it on, so both orgs and the table agree.
\pset footer off
-- The second org's next poll brings it (within polling_interval_seconds); the first org's
-- sync pushes it at once and writes its id back.
DO $$
BEGIN
    FOR i IN 1..600 LOOP
        EXIT WHEN EXISTS (SELECT 1 FROM accounts WHERE account_name = 'Wayne Enterprises'
                                                   AND sf_id IS NOT NULL AND sf_id_b IS NOT NULL);
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
SELECT hubsync.wait_for_idle('SF_Postgres_Accounts') AS relayed;

\echo '== accounts: the second org''s new account, linked in both orgs'
SELECT id, sf_id, sf_id_b, account_name, industry_type FROM accounts ORDER BY id;

\echo '== what the first org holds now'
SELECT r->>'Id' AS "Id", r->>'Name' AS "Name", r->>'Industry' AS "Industry"
FROM hubsync.remote_query('SF_Postgres_Accounts', 'SELECT Id, Name, Industry FROM Account ORDER BY Name') r;

\echo '== hubsync.syncs'
SELECT name, connection, remote_object, local_table, direction, state FROM hubsync.syncs ORDER BY name;

\echo '== hubsync.status'
\x on
SELECT * FROM hubsync.status ORDER BY name;
\x off
