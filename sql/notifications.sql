-- Notifications: the outbox of Slack and e-mail messages and the view that shows them.
-- Self-contained (tables, view, grants) so it can be added as is to an upgrade script.
-- Runs after finalize.sql.

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

-- Each message, its channel and destination, where it stands, how many attempts and the
-- last error; for the syncs the current role manages (a message names what went wrong).
CREATE VIEW hubsync.notifications WITH (security_barrier) AS
    SELECT n.id, s.name AS sync, n.channel, n.destination, n.severity, n.kind, n.event,
           n.subject, n.state, n.attempts, n.last_error, n.next_attempt, n.digest_size,
           n.created_at, n.sent_at
    FROM hubsync.notification n JOIN hubsync.sync s ON s.id = n.sync_id
    WHERE pg_has_role(current_user, s.owner, 'USAGE');

REVOKE ALL ON hubsync.notification FROM PUBLIC;
REVOKE ALL ON SEQUENCE hubsync.notification_id_seq FROM PUBLIC;
GRANT SELECT ON hubsync.notifications TO PUBLIC;
