-- Fourth part of the demo: the brief's hub block, as written. Salesforce, NetSuite and
-- Zendesk each have a connection named after them (saying where the account is); the block
-- mirrors each listed object into a table of its own, made from the object's describe, and
-- keeps it in sync both ways.
\pset footer off
SELECT hubsync.set_credentials('salesforce', jsonb_build_object(
    'client_id', 'hubsync-demo-client', 'client_secret', 'hubsync-demo-secret',
    'instance_url', :'salesforce_url'));
SELECT hubsync.set_credentials('netsuite', jsonb_build_object(
    'consumer_key', 'hubsync-demo-consumer-key', 'consumer_secret', 'hubsync-demo-consumer-secret',
    'token_id', 'hubsync-demo-token-id', 'token_secret', 'hubsync-demo-token-secret',
    'account_id', '1234567', 'instance_url', :'netsuite_url'));
SELECT hubsync.set_credentials('zendesk', jsonb_build_object(
    'email', 'demo@hubsync.local', 'api_token', 'hubsync-demo-token',
    'instance_url', :'zendesk_url'));

SELECT hubsync.create_hub('{
  "sync_hub": "postgres_data_hub",
  "connected_systems": [
    {"system": "salesforce", "objects": ["Account", "Contact"]},
    {"system": "netsuite", "objects": ["Customer", "Contact"]},
    {"system": "zendesk", "objects": ["Organization", "User"]}
  ]
}') AS hub;

SELECT bool_and(hubsync.wait_for_pull(sync, '60 seconds')) AS loaded
FROM hubsync.hubs WHERE hub = 'postgres_data_hub';

\echo '== hubsync.hubs: one table and one sync per object'
SELECT system, object, mirrored_table, connection_state, backlog FROM hubsync.hubs
WHERE hub = 'postgres_data_hub' ORDER BY system, object;

\echo '== netsuite.customer, made from the describe and filled by the full load'
SELECT netsuite_id, companyname, email FROM netsuite.customer ORDER BY netsuite_id;

\echo '== a row written in zendesk.organization reaches Zendesk'
INSERT INTO zendesk.organization (name, details) VALUES ('Written in Postgres', 'via the hub');
SELECT hubsync.wait_for_idle('postgres_data_hub_zendesk_organization') AS pushed;
SELECT zendesk_id, name, details FROM zendesk.organization ORDER BY name;
