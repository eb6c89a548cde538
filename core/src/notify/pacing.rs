//! Which destinations get a message now: rows due are grouped by destination (one message
//! each, a digest when several wait), a destination with a message in flight waits for its
//! answer, a Slack destination gets at most one message a second (Slack's posting limit),
//! one that answered `Retry-After` waits that long, and no more messages start than there
//! are sending threads.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

/// Notices in one message at most; more wait for the next one.
pub const DIGEST_MAX: usize = 20;
/// Slack's posting limit: one message a second per destination.
pub const SLACK_SPACING: Duration = Duration::from_secs(1);

/// Where a message goes: channel (`slack`, `email`), notification connection, channel name
/// or address, and the sync owner the connection is used for (as an OID).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Destination {
    pub channel: String,
    pub connection: String,
    pub address: String,
    pub owner: u32,
}

/// Messages in flight and the earliest next message per destination.
#[derive(Debug, Default)]
pub struct Pacer {
    slots: usize,
    in_flight: HashSet<Destination>,
    not_before: HashMap<Destination, Instant>,
}

impl Pacer {
    /// A pacer for `slots` sending threads.
    pub fn new(slots: usize) -> Pacer {
        Pacer {
            slots,
            ..Pacer::default()
        }
    }

    /// Whether a thread is free for another message.
    pub fn has_free_slot(&self) -> bool {
        self.in_flight.len() < self.slots
    }

    /// The messages to start now from `rows` (oldest first): per destination that may
    /// receive one, its first [`DIGEST_MAX`] rows; at most as many as there are free threads.
    pub fn plan<T>(&self, rows: Vec<(Destination, T)>, now: Instant) -> Vec<(Destination, Vec<T>)> {
        let mut groups: BTreeMap<Destination, Vec<T>> = BTreeMap::new();
        for (to, row) in rows {
            let group = groups.entry(to).or_default();
            if group.len() < DIGEST_MAX {
                group.push(row);
            }
        }
        groups
            .into_iter()
            .filter(|(to, _)| {
                !self.in_flight.contains(to) && self.not_before.get(to).is_none_or(|t| now >= *t)
            })
            .take(self.slots.saturating_sub(self.in_flight.len()))
            .collect()
    }

    /// A message to `to` was handed to a thread.
    pub fn started(&mut self, to: &Destination, now: Instant) {
        self.in_flight.insert(to.clone());
        if to.channel == "slack" {
            self.not_before.insert(to.clone(), now + SLACK_SPACING);
        }
    }

    /// The answer for `to` came back; `retry_after` if the destination asked for a pause.
    pub fn finished(&mut self, to: &Destination, retry_after: Option<Duration>, now: Instant) {
        self.in_flight.remove(to);
        if let Some(after) = retry_after {
            let until = now + after;
            let t = self.not_before.entry(to.clone()).or_insert(until);
            *t = (*t).max(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to(channel: &str, address: &str) -> Destination {
        Destination {
            channel: channel.into(),
            connection: "notifications".into(),
            address: address.into(),
            owner: 10,
        }
    }

    #[test]
    fn rows_for_one_destination_make_one_capped_digest() {
        let pacer = Pacer::new(2);
        let mut rows: Vec<(Destination, usize)> = (0..25).map(|i| (to("slack", "#a"), i)).collect();
        rows.push((to("email", "ops@x.example"), 99));
        let plan = pacer.plan(rows, Instant::now());
        assert_eq!(plan.len(), 2);
        let slack = plan.iter().find(|(d, _)| d.channel == "slack").unwrap();
        assert_eq!(slack.1, (0..DIGEST_MAX).collect::<Vec<_>>());
    }

    #[test]
    fn a_slack_destination_gets_one_message_a_second() {
        let mut pacer = Pacer::new(2);
        let now = Instant::now();
        let a = to("slack", "#a");
        pacer.started(&a, now);
        assert!(
            pacer.plan(vec![(a.clone(), 1)], now).is_empty(),
            "in flight"
        );
        pacer.finished(&a, None, now + Duration::from_millis(100));
        assert!(pacer
            .plan(vec![(a.clone(), 1)], now + Duration::from_millis(500))
            .is_empty());
        assert_eq!(
            pacer.plan(vec![(a.clone(), 1)], now + SLACK_SPACING).len(),
            1
        );
        // E-mail is not paced, only one at a time per destination.
        let mail = to("email", "ops@x.example");
        pacer.started(&mail, now);
        pacer.finished(&mail, None, now);
        assert_eq!(pacer.plan(vec![(mail, 1)], now).len(), 1);
    }

    #[test]
    fn retry_after_and_free_threads_hold_messages_back() {
        let mut pacer = Pacer::new(1);
        let now = Instant::now();
        let (a, b) = (to("slack", "#a"), to("slack", "#b"));
        pacer.started(&a, now);
        assert!(!pacer.has_free_slot());
        assert!(
            pacer.plan(vec![(b.clone(), 1)], now).is_empty(),
            "no free thread"
        );
        pacer.finished(&a, Some(Duration::from_secs(30)), now);
        assert!(pacer
            .plan(vec![(a.clone(), 1)], now + Duration::from_secs(29))
            .is_empty());
        assert_eq!(
            pacer
                .plan(vec![(a.clone(), 1), (b, 2)], now + Duration::from_secs(30))
                .len(),
            1
        );
    }
}
