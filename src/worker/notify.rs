//! Sending notifications: the main thread reads due rows of `hubsync.notification`, groups
//! them by destination, and hands each group to one of two HTTP threads of its own; the
//! answers come back over a channel and are recorded in a new transaction.
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
use hubsync_core::notify::{render, send, Notice};
use pgrx::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

/// HTTP threads for notifications (Slack and SMTP calls are short and rare).
const THREADS: usize = 2;
/// Notices in one digest at most; more wait for the next message.
const DIGEST_MAX: usize = 20;
/// Slack's posting limit: one message a second per destination.
const SLACK_SPACING: Duration = Duration::from_secs(1);
/// How often the outbox is looked at when nothing new was added.
const LOOK_EVERY: Duration = Duration::from_millis(500);
/// A recipient placeholder: the notification connection's own `to` or `channel`.
pub const CONNECTION_DEFAULT: &str = "(the connection's default)";

/// Where a group of rows goes: channel, connection, destination, and the sync owner the
/// connection is used for.
type Key = (String, String, String, u32);

/// One delivery's answer.
pub struct Delivery {
    key: Key,
    ids: Vec<i64>,
    verdict: Verdict,
}

/// The notification sender the engine owns.
pub struct Notifier {
    pool: Pool<Delivery>,
    results: Receiver<Delivery>,
    agent: send::Agent,
    in_flight: HashSet<Key>,
    /// Earliest next message per Slack destination.
    not_before: HashMap<Key, Instant>,
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
            in_flight: HashSet::new(),
            not_before: HashMap::new(),
            looked: None,
            added: false,
        })
    }

    /// Records the answers that arrived, then sends what is due.
    pub fn round(&mut self) -> Result<(), xact::XactError> {
        while let Ok(done) = self.results.try_recv() {
            self.in_flight.remove(&done.key);
            if let Verdict::Retry {
                after: Some(after), ..
            } = &done.verdict
            {
                self.not_before
                    .insert(done.key.clone(), Instant::now() + *after);
            }
            xact::run_spi(|| notifications::record(&done.ids, &done.verdict))?;
        }
        if self.in_flight.len() >= THREADS
            || !(self.added || self.looked.is_none_or(|t| t.elapsed() >= LOOK_EVERY))
        {
            return Ok(());
        }
        self.looked = Some(Instant::now());
        self.added = false;
        let due = xact::run_spi(|| notifications::due(500))?;
        let mut groups: BTreeMap<Key, Vec<Due>> = BTreeMap::new();
        for row in due {
            let key = (
                row.channel.clone(),
                row.connection.clone(),
                row.destination.clone(),
                row.owner.to_u32(),
            );
            groups.entry(key).or_default().push(row);
        }
        for (key, mut rows) in groups {
            if self.in_flight.len() >= THREADS {
                break;
            }
            if self.in_flight.contains(&key)
                || self
                    .not_before
                    .get(&key)
                    .is_some_and(|t| Instant::now() < *t)
            {
                continue;
            }
            rows.truncate(DIGEST_MAX);
            let owner = rows[0].owner;
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let destinations = xact::run_spi(|| notifications::destinations(&key.1, owner))?;
            let job = destinations.and_then(|d| self.job(&key, &d, &rows, ids.clone()));
            match job {
                Err(reason) => xact::run_spi(|| notifications::fail(&ids, &reason))?,
                Ok(job) => {
                    if self.pool.try_submit(job).is_err() {
                        break;
                    }
                    self.in_flight.insert(key.clone());
                    if key.0 == "slack" {
                        self.not_before
                            .insert(key.clone(), Instant::now() + SLACK_SPACING);
                    }
                }
            }
        }
        Ok(())
    }

    /// The closure an HTTP thread runs for one group: everything it needs is owned.
    fn job(
        &self,
        key: &Key,
        to: &Destinations,
        rows: &[Due],
        ids: Vec<i64>,
    ) -> Result<super::pool::Job<Delivery>, String> {
        let notices: Vec<Notice> = rows.iter().map(|r| r.notice.clone()).collect();
        let named = (key.2 != CONNECTION_DEFAULT).then(|| key.2.clone());
        let connection = &key.1;
        let key = key.clone();
        match key.0.as_str() {
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
                    key,
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
                    key,
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
