//! What an answer from Slack or an SMTP server means for a message: sent, try again later,
//! or give up and show why.
//!
//! - Slack webhook: `200 ok` is sent; `429` waits its `Retry-After`; `5xx` and network
//!   errors retry with backoff; any other `4xx` (`invalid_payload`, `no_service`,
//!   `channel_not_found`, `channel_is_archived`, `action_prohibited`) is permanent.
//! - `chat.postMessage`: answers `200` even when it fails, so `ok` decides; `ratelimited`
//!   retries, `channel_not_found`, `not_in_channel`, `invalid_auth`, ... are permanent.
//! - SMTP: `4xx` replies are transient, `5xx` permanent (`535` bad credentials, `550`
//!   mailbox unavailable); a connection that fails retries.
//!
//! Retries wait [`delay`]: `Retry-After` when the server said, else 5 s doubling per
//! attempt up to 15 minutes; after [`MAX_ATTEMPTS`] a message is given up.

use std::time::Duration;

/// Attempts before a message that keeps failing transiently is given up (about 2 hours).
pub const MAX_ATTEMPTS: u32 = 12;
/// First retry delay.
const FIRST_DELAY: Duration = Duration::from_secs(5);
/// Longest retry delay.
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);

/// The verdict on one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Sent,
    /// Transient: try again, not before `after` if the server said so.
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// Permanent: sending again would fail the same way.
    GiveUp {
        reason: String,
    },
}

/// An incoming webhook's answer.
pub fn slack_webhook(status: u16, body: &str, retry_after: Option<&str>) -> Verdict {
    let body = short(body);
    match status {
        200..=299 => Verdict::Sent,
        429 => Verdict::Retry {
            after: retry_after.and_then(parse_retry_after),
            reason: format!("Slack rate limit (429 {body})"),
        },
        500..=599 => Verdict::Retry {
            after: retry_after.and_then(parse_retry_after),
            reason: format!("Slack answered {status} {body}"),
        },
        _ => Verdict::GiveUp {
            reason: format!("Slack refused the message: {status} {body}"),
        },
    }
}

/// `chat.postMessage`'s answer: HTTP status, then the JSON body's `ok` and `error`.
pub fn slack_api(status: u16, body: &str, retry_after: Option<&str>) -> Verdict {
    if status != 200 {
        return slack_webhook(status, body, retry_after);
    }
    let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    if json["ok"] == true {
        return Verdict::Sent;
    }
    let error = json["error"].as_str().unwrap_or("an unreadable answer");
    match error {
        "ratelimited"
        | "rate_limited"
        | "service_unavailable"
        | "internal_error"
        | "fatal_error"
        | "request_timeout" => Verdict::Retry {
            after: retry_after.and_then(parse_retry_after),
            reason: format!("Slack answered {error}"),
        },
        _ => Verdict::GiveUp {
            reason: format!("Slack refused the message: {error}{}", advice(error)),
        },
    }
}

/// An SMTP reply code (or none when the connection itself failed).
pub fn smtp(code: Option<u16>, message: &str) -> Verdict {
    let message = short(message);
    match code {
        Some(c) if (500..600).contains(&c) => Verdict::GiveUp {
            reason: format!(
                "the mail server refused the message: {c} {message}{}",
                if c == 535 || c == 530 {
                    " (check the username and password of the notification connection)"
                } else {
                    ""
                }
            ),
        },
        Some(c) => Verdict::Retry {
            after: None,
            reason: format!("the mail server answered {c} {message}"),
        },
        None => Verdict::Retry {
            after: None,
            reason: format!("cannot reach the mail server: {message}"),
        },
    }
}

/// When to try a message again after its `attempts`-th failure: `retry_after` if given,
/// else `5 s × 2^(attempts-1)`, at most 15 minutes.
pub fn delay(attempts: u32, retry_after: Option<Duration>) -> Duration {
    let exp = attempts.saturating_sub(1).min(20);
    let backoff = FIRST_DELAY.saturating_mul(1u32 << exp).min(MAX_DELAY);
    retry_after.map_or(backoff, |after| after.min(MAX_DELAY))
}

/// Whether a message that failed `attempts` times transiently should be given up.
pub fn exhausted(attempts: u32) -> bool {
    attempts >= MAX_ATTEMPTS
}

/// `Retry-After` in seconds (Slack sends seconds; an HTTP date is not expected).
fn parse_retry_after(value: &str) -> Option<Duration> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(MAX_DELAY.as_secs_f64())))
}

fn advice(error: &str) -> &'static str {
    match error {
        "channel_not_found" => " (check the channel's name, and that the bot can see it)",
        "not_in_channel" => " (invite the bot to the channel, or give it chat:write.public)",
        "invalid_auth" | "not_authed" | "account_inactive" | "token_revoked" => {
            " (store a valid bot token with hubsync.set_credentials)"
        }
        "missing_scope" => " (give the bot the chat:write scope)",
        _ => "",
    }
}

/// Answers are short words; anything long is cut so a page of HTML cannot fill a row.
fn short(text: &str) -> String {
    let t = text.trim();
    match t.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_answers() {
        assert_eq!(slack_webhook(200, "ok", None), Verdict::Sent);
        assert_eq!(
            slack_webhook(429, "rate_limited", Some("3")),
            Verdict::Retry {
                after: Some(Duration::from_secs(3)),
                reason: "Slack rate limit (429 rate_limited)".into()
            }
        );
        assert!(matches!(
            slack_webhook(500, "rollup_error", None),
            Verdict::Retry { after: None, .. }
        ));
        for (status, body) in [
            (400, "invalid_payload"),
            (404, "no_service"),
            (404, "channel_not_found"),
            (410, "channel_is_archived"),
            (403, "action_prohibited"),
        ] {
            let Verdict::GiveUp { reason } = slack_webhook(status, body, None) else {
                panic!("{status} {body} is permanent");
            };
            assert!(reason.contains(body), "{reason}");
        }
    }

    #[test]
    fn post_message_answers_by_ok_not_status() {
        assert_eq!(
            slack_api(200, r#"{"ok":true,"ts":"1.2"}"#, None),
            Verdict::Sent
        );
        let Verdict::GiveUp { reason } =
            slack_api(200, r#"{"ok":false,"error":"channel_not_found"}"#, None)
        else {
            panic!("permanent")
        };
        assert!(reason.contains("channel_not_found") && reason.contains("check the channel"));
        assert!(matches!(
            slack_api(200, r#"{"ok":false,"error":"invalid_auth"}"#, None),
            Verdict::GiveUp { .. }
        ));
        assert!(matches!(
            slack_api(429, "", Some("1")),
            Verdict::Retry { after: Some(_), .. }
        ));
        assert!(matches!(
            slack_api(200, "<html>", None),
            Verdict::GiveUp { .. }
        ));
    }

    #[test]
    fn smtp_replies() {
        assert!(matches!(smtp(Some(421), "busy"), Verdict::Retry { .. }));
        assert!(matches!(
            smtp(None, "connection refused"),
            Verdict::Retry { .. }
        ));
        let Verdict::GiveUp { reason } = smtp(Some(535), "bad credentials") else {
            panic!("permanent")
        };
        assert!(reason.contains("535") && reason.contains("password"));
        assert!(matches!(
            smtp(Some(550), "no such user"),
            Verdict::GiveUp { .. }
        ));
    }

    #[test]
    fn delays_double_to_a_cap_and_honour_retry_after() {
        assert_eq!(delay(1, None), Duration::from_secs(5));
        assert_eq!(delay(3, None), Duration::from_secs(20));
        assert_eq!(delay(40, None), MAX_DELAY);
        assert_eq!(
            delay(1, Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
        assert!(!exhausted(MAX_ATTEMPTS - 1) && exhausted(MAX_ATTEMPTS));
    }

    #[test]
    fn long_answers_are_cut() {
        let Verdict::GiveUp { reason } = slack_webhook(400, &"x".repeat(5000), None) else {
            panic!()
        };
        assert!(reason.len() < 300);
    }
}
