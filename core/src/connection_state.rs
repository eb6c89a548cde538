//! A sync's connection state: the worker's view of whether the sync can talk to its remote
//! system, shown as `hubsync.status.connection_state`, and how long a connection-level
//! failure pauses the whole sync.

use crate::retry::Class;
use std::time::Duration;

/// What `hubsync.status.connection_state` says about a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnectionState {
    /// Requests go through.
    #[default]
    Ok,
    /// No credentials, no instance URL, or stored credentials that make no client.
    NotConfigured,
    /// Requests do not get through, or failed in a way that can pass.
    Unreachable,
    /// The remote system refused the credentials.
    Unauthorized,
    /// The remote system's API limit (or hubsync's reserve of it) is reached.
    BackingOff,
    /// The config does not fit the table or the remote object, or the remote system refuses
    /// a describe or query for good.
    Invalid,
    /// The sync's owner lacks a right it needs, was dropped, or may not use the connection.
    Forbidden,
}

impl ConnectionState {
    /// Every state, for parsing and tests.
    pub const ALL: [ConnectionState; 7] = [
        ConnectionState::Ok,
        ConnectionState::NotConfigured,
        ConnectionState::Unreachable,
        ConnectionState::Unauthorized,
        ConnectionState::BackingOff,
        ConnectionState::Invalid,
        ConnectionState::Forbidden,
    ];

    /// The word `hubsync.status` shows.
    pub fn label(self) -> &'static str {
        match self {
            ConnectionState::Ok => "ok",
            ConnectionState::NotConfigured => "not configured",
            ConnectionState::Unreachable => "unreachable",
            ConnectionState::Unauthorized => "unauthorized",
            ConnectionState::BackingOff => "backing off",
            ConnectionState::Invalid => "invalid",
            ConnectionState::Forbidden => "forbidden",
        }
    }

    /// The state a label names (as stored in a notice), if any.
    pub fn parse(label: &str) -> Option<ConnectionState> {
        Self::ALL.into_iter().find(|s| s.label() == label)
    }

    /// Whether the sync waits for a person (new credentials, a config change, a GRANT)
    /// rather than for time to pass.
    pub fn needs_a_person(self) -> bool {
        matches!(
            self,
            ConnectionState::Unauthorized | ConnectionState::Invalid | ConnectionState::Forbidden
        )
    }
}

/// How a connection-level failure of `class` pauses the sync: its state, and the wait —
/// the class's floor (1 s unreachable, 5 s unauthorized or rate-limited, 30 s invalid),
/// doubled while the same state repeats, at most 5 minutes.
///
/// `previous` is the state and wait of the pause still in force, if any.
pub fn back_off(
    class: Class,
    previous: Option<(ConnectionState, Duration)>,
) -> (ConnectionState, Duration) {
    let (state, floor) = match class {
        Class::Auth => (ConnectionState::Unauthorized, Duration::from_secs(5)),
        Class::RateLimited => (ConnectionState::BackingOff, Duration::from_secs(5)),
        Class::Permanent => (ConnectionState::Invalid, Duration::from_secs(30)),
        _ => (ConnectionState::Unreachable, Duration::from_secs(1)),
    };
    let wait = match previous {
        Some((was, wait)) if was == state => (wait * 2).min(MAX_WAIT),
        _ => floor,
    };
    (state, wait)
}

/// The longest a connection-level failure pauses a sync between two tries.
pub const MAX_WAIT: Duration = Duration::from_secs(300);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_and_are_what_status_shows() {
        for state in ConnectionState::ALL {
            assert_eq!(ConnectionState::parse(state.label()), Some(state));
        }
        assert_eq!(ConnectionState::BackingOff.label(), "backing off");
        assert_eq!(ConnectionState::parse("unknown"), None);
    }

    #[test]
    fn a_pause_starts_at_its_floor_doubles_while_it_repeats_and_stops_at_five_minutes() {
        let s = Duration::from_secs;
        let cases = [
            // (class, previous pause, expected state, expected wait)
            (Class::Retryable, None, ConnectionState::Unreachable, s(1)),
            (
                Class::UnknownOutcome,
                None,
                ConnectionState::Unreachable,
                s(1),
            ),
            (Class::Auth, None, ConnectionState::Unauthorized, s(5)),
            (Class::RateLimited, None, ConnectionState::BackingOff, s(5)),
            (Class::Permanent, None, ConnectionState::Invalid, s(30)),
            (
                Class::Retryable,
                Some((ConnectionState::Unreachable, s(8))),
                ConnectionState::Unreachable,
                s(16),
            ),
            (
                Class::Auth,
                Some((ConnectionState::Unreachable, s(8))),
                ConnectionState::Unauthorized,
                s(5),
            ),
            (
                Class::Permanent,
                Some((ConnectionState::Invalid, s(240))),
                ConnectionState::Invalid,
                MAX_WAIT,
            ),
        ];
        for (class, previous, state, wait) in cases {
            assert_eq!(
                back_off(class, previous),
                (state, wait),
                "{class:?} after {previous:?}"
            );
        }
    }

    #[test]
    fn only_states_a_person_must_fix_need_a_person() {
        let needing: Vec<&str> = ConnectionState::ALL
            .into_iter()
            .filter(|s| s.needs_a_person())
            .map(ConnectionState::label)
            .collect();
        assert_eq!(needing, ["unauthorized", "invalid", "forbidden"]);
    }
}
