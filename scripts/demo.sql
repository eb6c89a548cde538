-- The product brief's Salesforce <-> Postgres example, end to end (run by scripts/demo.sh).
\pset footer off
\echo '== CREATE EXTENSION hubsync'
CREATE EXTENSION hubsync;

\echo '== the brief''s accounts table, verbatim'
\i core/tests/fixtures/tables/accounts.sql
\d accounts

\echo '== the brief''s sync: its connection, field_mappings, sync_settings, error_handling and monitoring blocks as one JSON'
\set config `cat core/tests/fixtures/bases/accounts_full.json`
SELECT hubsync.create_sync(:'config') AS created_sync;

\echo '== point it at the local Salesforce emulator instead of yourinstance.salesforce.com, and store the OAuth secret'
SELECT hubsync.alter_sync('SF_Postgres_Accounts',
    jsonb_build_object('source', jsonb_build_object('credentials', jsonb_build_object('instance_url', :'emulator'))));
SELECT hubsync.set_credentials('SF_Postgres_Accounts',
    '{"client_id": "hubsync-demo-client", "client_secret": "hubsync-demo-secret"}');
SELECT hubsync.wait_for_worker() AS worker_running;

\echo '== hubsync.syncs'
SELECT name, connection, remote_object, local_table, direction, state FROM hubsync.syncs;

\echo '== insert three accounts, update one, delete one (each commit wakes the worker)'
INSERT INTO accounts (account_name, industry_type, annual_revenue) VALUES
    ('Acme Corp', 'Manufacturing', 1500000.00),
    ('Globex', 'Technology', 98000000.50),
    ('Initech', 'Technology', 250000);
SELECT hubsync.wait_for_idle('SF_Postgres_Accounts') AS pushed;
UPDATE accounts SET industry_type = 'Energy' WHERE account_name = 'Acme Corp';
DELETE FROM accounts WHERE account_name = 'Initech';
SELECT hubsync.wait_for_idle('SF_Postgres_Accounts') AS pushed;

\echo '== accounts: the worker wrote each new Salesforce Id back into sf_id'
SELECT id, sf_id, account_name, industry_type, annual_revenue FROM accounts ORDER BY id;

\echo '== what the emulator holds now (SOQL through the sync''s connection)'
SELECT r->>'Id' AS "Id", r->>'Name' AS "Name", r->>'Industry' AS "Industry", r->>'AnnualRevenue' AS "AnnualRevenue"
FROM hubsync.remote_query('SF_Postgres_Accounts', 'SELECT Id, Name, Industry, AnnualRevenue FROM Account ORDER BY Name') r;
