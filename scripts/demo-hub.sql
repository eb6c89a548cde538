-- Third part of the demo: Postgres as the hub. A second Salesforce org syncs the same
-- table (its own id column, sf_id_b); what the table holds reaches it, and what changes in
-- either org reaches the table and, through it, the other org, never echoing back.
\pset footer off
ALTER TABLE accounts ADD COLUMN sf_id_b varchar(18) UNIQUE;

SELECT hubsync.create_sync(jsonb_build_object(
    'connection_name', 'Second_Org',
    'source', jsonb_build_object('type', 'salesforce', 'object', 'Account',
                                 'credentials', jsonb_build_object('instance_url', :'emulator_b')),
    'target', '{"type": "postgres", "table": "accounts"}'::jsonb,
    'sync_type', 'bidirectional',
    'field_mappings', '[{"source": "Id", "target": "sf_id_b"},
                        {"source": "Name", "target": "account_name"},
                        {"source": "Industry", "target": "industry_type"},
                        {"source": "AnnualRevenue", "target": "annual_revenue"}]'::jsonb,
    'sync_settings', '{"ongoing_sync": {"mode": "real_time", "polling_interval_seconds": 2}}'::jsonb
)) AS created;
SELECT hubsync.set_credentials('Second_Org',
    '{"client_id": "hubsync-demo-client", "client_secret": "hubsync-demo-secret"}');
SELECT hubsync.wait_for_idle('Second_Org') AS pushed;

\echo '== accounts: linked to a record in each org (sf_id in the first, sf_id_b in the second)'
SELECT id, sf_id, sf_id_b, account_name, industry_type FROM accounts ORDER BY id;

\echo '== what the second org holds now'
SELECT r->>'Id' AS "Id", r->>'Name' AS "Name", r->>'Industry' AS "Industry"
FROM hubsync.remote_query('Second_Org', 'SELECT Id, Name, Industry FROM Account ORDER BY Name') r;
