//! What becomes of one record whose write failed: the push's settle step asks this, so the
//! decision is the same for every connector and testable without a database.

use crate::config::RetryStrategy;
use crate::retry::{self, Class, Failure, TransportError};
use std::time::Duration;

/// A failed record's fate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Placement {
    /// Its goal is met after all (a delete of a record that is already gone).
    Done,
    /// The connection failed, not the record: give it back untouched (no attempt spent)
    /// and back the whole connection off for this class.
    Release(Class),
    /// A create that may have been applied: look the record up before anything else.
    LookUp,
    /// Send it again after this long.
    RetryIn(Duration),
    /// For a person; `gave_up` when it was retryable but its attempts ran out.
    Review { gave_up: bool },
}

/// Places a record that failed with `failure` on its `attempts`-th attempt, under the
/// sync's retry strategy; `jitter` ∈ [0, 1) spreads retry delays.
pub fn place(failure: &Failure, attempts: u32, strategy: &RetryStrategy, jitter: f64) -> Placement {
    match retry::classify(failure) {
        Class::Gone => Placement::Done,
        class @ (Class::Auth | Class::RateLimited) => Placement::Release(class),
        Class::Retryable if unreachable(failure) => Placement::Release(Class::Retryable),
        Class::UnknownOutcome => Placement::LookUp,
        Class::Retryable if retry::should_retry(strategy, attempts) => {
            Placement::RetryIn(retry::delay(strategy, attempts, jitter))
        }
        Class::Retryable => Placement::Review { gave_up: true },
        Class::Permanent => Placement::Review { gave_up: false },
    }
}

/// Failures before anything reached the server: the remote system is unreachable, which
/// is no fault of the record's.
fn unreachable(failure: &Failure) -> bool {
    matches!(
        failure,
        Failure::Transport {
            error: TransportError::ConnectionRefused | TransportError::Dns,
            ..
        } | Failure::Transport {
            request_sent: false,
            ..
        }
    )
}

/// The code a review item shows for a failure: the system's error code, else the HTTP
/// status, else how the exchange broke.
pub fn code_of(failure: &Failure) -> Option<String> {
    match failure {
        Failure::Response { code, status, .. } => code.clone().or_else(|| Some(status.to_string())),
        Failure::Transport { error, .. } => Some(format!("{error:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::Operation;

    fn strategy() -> RetryStrategy {
        RetryStrategy {
            max_attempts: 3,
            backoff_factor: 2.0,
            initial_delay_seconds: 10.0,
            max_delay_seconds: 300.0,
        }
    }

    fn answered(op: Operation, status: u16, code: &str) -> Failure {
        Failure::Response {
            op,
            status,
            code: Some(code.into()),
        }
    }

    fn broken(op: Operation, error: TransportError, request_sent: bool) -> Failure {
        Failure::Transport {
            op,
            error,
            request_sent,
        }
    }

    #[test]
    fn a_delete_of_a_gone_record_is_done() {
        let gone = answered(Operation::Delete, 404, "NOT_FOUND");
        assert_eq!(place(&gone, 1, &strategy(), 0.0), Placement::Done);
    }

    #[test]
    fn connection_problems_release_the_record_without_spending_an_attempt() {
        let s = strategy();
        let limit = answered(Operation::Update, 403, "REQUEST_LIMIT_EXCEEDED");
        assert_eq!(
            place(&limit, 1, &s, 0.0),
            Placement::Release(Class::RateLimited)
        );
        let token = answered(Operation::Update, 401, "INVALID_SESSION_ID");
        assert_eq!(place(&token, 1, &s, 0.0), Placement::Release(Class::Auth));
        let refused = broken(Operation::Create, TransportError::ConnectionRefused, false);
        assert_eq!(
            place(&refused, 9, &s, 0.0),
            Placement::Release(Class::Retryable)
        );
    }

    #[test]
    fn a_create_that_may_have_been_applied_is_looked_up() {
        let lost = broken(Operation::Create, TransportError::Timeout, true);
        assert_eq!(place(&lost, 1, &strategy(), 0.0), Placement::LookUp);
        let lost_upsert = broken(Operation::Upsert, TransportError::Timeout, true);
        assert!(matches!(
            place(&lost_upsert, 1, &strategy(), 0.0),
            Placement::RetryIn(_)
        ));
    }

    #[test]
    fn retryable_failures_back_off_until_attempts_run_out() {
        let s = strategy();
        let locked = answered(Operation::Update, 200, "UNABLE_TO_LOCK_ROW");
        assert_eq!(
            place(&locked, 1, &s, 0.0),
            Placement::RetryIn(Duration::from_secs(10))
        );
        assert_eq!(
            place(&locked, 2, &s, 0.0),
            Placement::RetryIn(Duration::from_secs(20))
        );
        assert_eq!(
            place(&locked, 3, &s, 0.0),
            Placement::Review { gave_up: true }
        );
    }

    #[test]
    fn permanent_failures_go_to_review_with_their_code() {
        let invalid = answered(Operation::Create, 200, "REQUIRED_FIELD_MISSING");
        assert_eq!(
            place(&invalid, 1, &strategy(), 0.0),
            Placement::Review { gave_up: false }
        );
        assert_eq!(code_of(&invalid).as_deref(), Some("REQUIRED_FIELD_MISSING"));
        let bare = Failure::Response {
            op: Operation::Create,
            status: 422,
            code: None,
        };
        assert_eq!(code_of(&bare).as_deref(), Some("422"));
        let tls = broken(Operation::Read, TransportError::Tls, false);
        assert_eq!(code_of(&tls).as_deref(), Some("Tls"));
    }
}
