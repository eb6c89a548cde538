-- Second half of the demo: what happened in Salesforce arrives in the table.
\pset footer off
SELECT hubsync.wait_for_pull('SF_Postgres_Accounts') AS pulled;

\echo '== accounts after the pull: Globex''s new industry, and the account created in Salesforce'
SELECT id, sf_id, account_name, industry_type, annual_revenue, last_modified FROM accounts ORDER BY id;

\echo '== hubsync.progress'
SELECT * FROM hubsync.progress;
