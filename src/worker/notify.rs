//! Sending notifications: the main thread reads due rows of `hubsync.notification`, groups
//! them by destination ([`Pacer`] decides which may get a message now), and hands each
//! group to one of two HTTP threads of its own; the answers come back over a channel and
//! are recorded in a new transaction.
//!
//! Invariants: no transaction is open while a message is in flight; a slow or failing
//! destination never delays a sync (its own threads, and the main thread only ever does a
//! few short statements); at most one message a second goes to a Slack destination, and
//! whatever is due for it meanwhile goes out as one digest; a delivery interrupted by a
//! crash is sent again (at least once), since rows stay `pending` until their answer.

use super::pool::Pool;
use super::wait::Waiter;
use super::xact;
use crate::catalog::notifications::{self, Due};
use crossbeam_channel::{unbounded, Receiver};
use hubsync_core::notify::delivery::Verdict;
use hubsync_core::notify::destination::{Destinations, SlackRoute};
use hubsync_core::notify::pacing::{Destination, Pacer};
use hubsync_core::notify::{render, send, Notice};
use pgrx::prelude::*;
use std::time::{Duration, Instant};

/// HTTP threads for notifications (Slack and SMTP calls are short and rare).
const THREADS: usize = 2;
/// How often the outbox is looked at when nothing new was added.
const LOOK_EVERY: Duration = Duration::from_millis(500);
/// A recipient placeholder: the notification connection's own `to` or `channel`.
pub const CONNECTION_DEFAULT: &str = "(the connection's default)";

/// One delivery's answer.
pub struct Delivery {
    to: Destination,
    ids: Vec<i64>,
    verdict: Verdict,
}

/// The notification sender the engine owns.
pub struct Notifier {
    pool: Pool<Delivery>,
    results: Receiver<Delivery>,
    agent: send::Agent,
    pacer: Pacer,
    looked: Option<Instant>,
    /// Rows were added since the last look.
    pub added: bool,
}

impl Notifier {
    /// Starts the notification threads, which ring `waiter` with each answer.
    pub fn start(waiter: &Waiter) -> std::io::Result<Notifier> {
        let (sender, results) = unbounded();
        Ok(Notifier {
            pool: Pool::start("hubsync-notify", THREADS, &sender, waiter)?,
            results,
            agent: send::agent(),
            pacer: Pacer::new(THREADS),
            looked: None,
            added: false,
        })
    }

    /// Records the answers that arrived, then sends what is due.
    pub fn round(&mut self) -> Result<(), xact::XactError> {
        while let Ok(done) = self.results.try_recv() {
            let retry_after = match &done.verdict {
                Verdict::Retry { after, .. } => *after,
                _ => None,
            };
            self.pacer.finished(&done.to, retry_after, Instant::now());
            xact::run_spi(|| notifications::record(&done.ids, &done.verdict))?;
        }
        if !self.pacer.has_free_slot()
            || !(self.added || self.looked.is_none_or(|t| t.elapsed() >= LOOK_EVERY))
        {
            return Ok(());
        }
        self.looked = Some(Instant::now());
        self.added = false;
        let due = xact::run_spi(|| notifications::due(500))?;
        let rows = due
            .into_iter()
            .map(|row| {
                let to = Destination {
                    channel: row.channel.clone(),
                    connection: row.connection.clone(),
                    address: row.destination.clone(),
                    owner: row.owner.to_u32(),
                };
                (to, row)
            })
            .collect();
        for (to, rows) in self.pacer.plan(rows, Instant::now()) {
            let owner = rows[0].owner;
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let destinations =
                xact::run_spi(|| notifications::destinations(&to.connection, owner))?;
            match destinations.and_then(|d| self.job(&to, &d, &rows, ids.clone())) {
                Err(reason) => xact::run_spi(|| notifications::fail(&ids, &reason))?,
                Ok(job) => {
                    if self.pool.try_submit(job).is_err() {
                        break;
                    }
                    self.pacer.started(&to, Instant::now());
                }
            }
        }
        Ok(())
    }

    /// The closure an HTTP thread runs for one group: everything it needs is owned.
    fn job(
        &self,
        key: &Destination,
        to: &Destinations,
        rows: &[Due],
        ids: Vec<i64>,
    ) -> Result<super::pool::Job<Delivery>, String> {
        let notices: Vec<Notice> = rows.iter().map(|r| r.notice.clone()).collect();
        let named = (key.address != CONNECTION_DEFAULT).then(|| key.address.clone());
        let connection = &key.connection;
        let key = key.clone();
        match key.channel.as_str() {
            "slack" => {
                let Some(slack) = to.slack.clone() else {
                    return Err(format!(
                        "the notification connection \"{connection}\" has no \"slack\" destination; \
                         add {{\"slack\": {{\"webhook_url\": \"...\"}}}} with hubsync.set_credentials"
                    ));
                };
                let channel = match &slack.route {
                    SlackRoute::Webhook(_) => None,
                    SlackRoute::Bot { .. } => match named.or_else(|| slack.channel.clone()) {
                        Some(c) => Some(c),
                        None => return Err(
                            "a bot token needs a channel: set error_handling.notifications.slack \
                                        or the connection's slack.channel"
                                .into(),
                        ),
                    },
                };
                let message = render::slack(&notices, channel.as_deref());
                let agent = self.agent.clone();
                Ok(Box::new(move || Delivery {
                    verdict: send::slack(&agent, &slack, &message),
                    to: key,
                    ids,
                }))
            }
            _ => {
                let Some(server) = to.email.clone() else {
                    return Err(format!(
                        "the notification connection \"{connection}\" has no \"email\" destination; \
                         add {{\"email\": {{\"host\": \"...\", \"from\": \"...\"}}}} with hubsync.set_credentials"
                    ));
                };
                let recipients = match named {
                    Some(address) => vec![address],
                    None if !server.to.is_empty() => server.to.clone(),
                    None => {
                        return Err(
                            "no recipients: set error_handling.notifications.email or the \
                                    connection's email.to"
                                .into(),
                        )
                    }
                };
                let mail = render::email(&notices);
                Ok(Box::new(move || Delivery {
                    verdict: send::email(&server, &recipients, &mail),
                    to: key,
                    ids,
                }))
            }
        }
    }
}

/// Logs a notification round that failed; syncing goes on.
pub fn survive(error: &xact::XactError) {
    warning!("hubsync worker: notifications: {error}");
}
