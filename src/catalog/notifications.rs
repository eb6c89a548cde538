//! The notification outbox, `hubsync.notification` (created in sql/bootstrap.sql): the worker's
//! main thread adds a row per notice and destination, reads the due ones, and records what
//! each delivery attempt came to. All of the table's SQL is here.

use hubsync_core::notify::delivery::{self, Verdict};
use hubsync_core::notify::destination::{self, Destinations};
use hubsync_core::notify::Notice;
use pgrx::prelude::*;
use pgrx::spi::SpiResult;
use pgrx::JsonB;

/// A notice addressed to one destination, to add to the outbox.
pub struct New<'a> {
    pub sync_id: i32,
    pub alert_id: i64,
    pub channel: &'a str,
    pub connection: &'a str,
    pub destination: String,
    pub notice: &'a Notice,
}

/// Adds notices to the outbox; they go out on the worker's next round.
pub fn add(rows: &[New]) -> SpiResult<()> {
    for r in rows {
        let notice = serde_json::to_value(r.notice).unwrap_or_default();
        Spi::run_with_args(
            "INSERT INTO hubsync.notification (sync_id, alert_id, channel, connection, destination, \
                 severity, kind, event, subject, notice) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                r.sync_id.into(),
                r.alert_id.into(),
                r.channel.into(),
                r.connection.into(),
                r.destination.as_str().into(),
                r.notice.severity.as_str().into(),
                r.notice.kind.as_str().into(),
                match r.notice.transition {
                    hubsync_core::notify::Transition::Raised => "raised",
                    hubsync_core::notify::Transition::Resolved => "resolved",
                }
                .into(),
                r.notice.headline().into(),
                JsonB(notice).into(),
            ],
        )?;
    }
    Ok(())
}

/// A row due for sending.
pub struct Due {
    pub id: i64,
    pub channel: String,
    pub connection: String,
    pub destination: String,
    pub notice: Notice,
    /// The sync's owner: the notification connection must be one it may use.
    pub owner: pg_sys::Oid,
}

/// Pending rows of every destination that has a row due now, oldest first (at most
/// `limit`): a message that goes out anyway takes along what else waits for the same
/// destination, as one digest.
pub fn due(limit: i64) -> SpiResult<Vec<Due>> {
    Spi::connect(|client| {
        let rows = client.select(
            "SELECT n.id, n.channel, n.connection, n.destination, n.notice, n.attempts, s.owner::oid \
             FROM hubsync.notification n JOIN hubsync.sync s ON s.id = n.sync_id \
             WHERE n.state = 'pending' AND EXISTS ( \
                 SELECT 1 FROM hubsync.notification d \
                 WHERE d.state = 'pending' AND d.next_attempt <= now() AND d.channel = n.channel \
                   AND d.connection = n.connection AND d.destination = n.destination) \
             ORDER BY n.id LIMIT $1",
            None,
            &[limit.into()],
        )?;
        let mut out = Vec::new();
        for row in rows {
            let Some(notice) = row
                .get::<JsonB>(5)?
                .and_then(|j| serde_json::from_value::<Notice>(j.0).ok())
            else {
                continue;
            };
            out.push(Due {
                id: row.get(1)?.unwrap_or_default(),
                channel: row.get(2)?.unwrap_or_default(),
                connection: row.get(3)?.unwrap_or_default(),
                destination: row.get(4)?.unwrap_or_default(),
                notice,
                owner: row.get(7)?.unwrap_or(pg_sys::InvalidOid),
            });
        }
        Ok(out)
    })
}

/// The destinations stored under `connection`, if `owner` may use them: `Err` says why
/// not, in words for `hubsync.notifications.last_error` (never the secret itself).
pub fn destinations(
    connection: &str,
    owner: pg_sys::Oid,
) -> SpiResult<Result<Destinations, String>> {
    let row = Spi::connect(|client| {
        let rows = client.select(
            "SELECT secret, pg_has_role($2, owner, 'USAGE') FROM hubsync.credentials WHERE connection = $1",
            None,
            &[connection.into(), owner.into()],
        )?;
        let mut found = None;
        for row in rows {
            found = Some((row.get::<JsonB>(1)?, row.get::<bool>(2)?.unwrap_or(false)));
        }
        SpiResult::Ok(found)
    })?;
    let setup = format!(
        "store where notifications go with SELECT hubsync.set_credentials('{}', \
         '{{\"slack\": {{\"webhook_url\": \"...\"}}, \"email\": {{\"host\": \"...\", \"from\": \"...\"}}}}')",
        connection.replace('\'', "''")
    );
    Ok(match row {
        None => Err(format!("the notification connection \"{connection}\" has no destinations: {setup}")),
        Some((_, false)) => Err(format!(
            "the notification connection \"{connection}\" belongs to a role the sync's owner does not act for"
        )),
        Some((secret, true)) => {
            let secret = secret.map(|j| j.0).unwrap_or_default();
            if !destination::is_destination_secret(&secret) {
                Err(format!("the connection \"{connection}\" holds no notification destinations: {setup}"))
            } else {
                destination::parse(&secret).map_err(|problems| {
                    let all: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
                    format!("the notification connection \"{connection}\" is invalid: {}", all.join("; "))
                })
            }
        }
    })
}

/// Records one attempt for every row of a delivery (a digest is one attempt for all).
pub fn record(ids: &[i64], verdict: &Verdict) -> SpiResult<()> {
    match verdict {
        Verdict::Sent => Spi::run_with_args(
            "UPDATE hubsync.notification SET state = 'sent', attempts = attempts + 1, sent_at = now(), \
                 last_error = NULL, digest_size = $2 WHERE id = ANY($1)",
            &[ids.to_vec().into(), (ids.len() as i32).into()],
        ),
        Verdict::GiveUp { reason } => fail(ids, reason),
        Verdict::Retry { after, reason } => {
            for id in ids {
                let attempts = Spi::get_one_with_args::<i32>(
                    "SELECT attempts + 1 FROM hubsync.notification WHERE id = $1",
                    &[(*id).into()],
                )?
                .unwrap_or(1);
                if delivery::exhausted(attempts as u32) {
                    Spi::run_with_args(
                        "UPDATE hubsync.notification SET state = 'failed', attempts = $2, last_error = $3 \
                         WHERE id = $1",
                        &[
                            (*id).into(),
                            attempts.into(),
                            format!("gave up after {attempts} attempts: {reason}").into(),
                        ],
                    )?;
                    continue;
                }
                let wait = delivery::delay(attempts as u32, *after);
                Spi::run_with_args(
                    "UPDATE hubsync.notification SET attempts = $2, last_error = $3, \
                         next_attempt = now() + make_interval(secs => $4) WHERE id = $1",
                    &[
                        (*id).into(),
                        attempts.into(),
                        reason.as_str().into(),
                        wait.as_secs_f64().into(),
                    ],
                )?;
            }
            Ok(())
        }
    }
}

/// Gives rows up without sending them (no destination, or a permanent refusal).
pub fn fail(ids: &[i64], reason: &str) -> SpiResult<()> {
    Spi::run_with_args(
        "UPDATE hubsync.notification SET state = 'failed', attempts = attempts + 1, last_error = $2 \
         WHERE id = ANY($1)",
        &[ids.to_vec().into(), reason.into()],
    )
}

/// Drops the sync's sent and failed rows older than `days`.
pub fn clean(sync_id: i32, days: u32) -> SpiResult<()> {
    Spi::run_with_args(
        "DELETE FROM hubsync.notification WHERE sync_id = $1 AND state <> 'pending' \
             AND created_at < now() - make_interval(days => $2)",
        &[sync_id.into(), (days as i32).into()],
    )
}
