//! Notices in words: a Slack message (fallback `text` plus `blocks`) and an e-mail
//! (subject and plain-text body). Each says which sync, what happened, since when, how
//! many records, what to do, and the SQL to look closer. Several notices for one
//! destination at once make one digest, so a bad minute is one message, not twenty.

use super::{Notice, Transition};
use crate::alerts::Condition;
use crate::connection_state::ConnectionState;
use serde_json::{json, Value};

/// An e-mail's subject and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub subject: String,
    pub body: String,
}

/// What a person should do about a notice.
pub fn advice(n: &Notice) -> String {
    if n.transition == Transition::Resolved {
        return "Nothing to do; this cleared by itself or by what was done.".into();
    }
    let sync = literal(&n.sync);
    match n.condition() {
        Condition::Stopped => match n.state.as_deref().and_then(ConnectionState::parse) {
            Some(ConnectionState::Unauthorized) => format!(
                "Salesforce refuses the credentials: store working ones with \
                 SELECT hubsync.set_credentials({}, '{{\"client_id\": ..., \"client_secret\": ...}}'); \
                 the sync resumes by itself.",
                literal(&n.connection)
            ),
            Some(ConnectionState::Invalid) => format!(
                "The config or its mapping does not fit Salesforce: fix it with \
                 SELECT hubsync.alter_sync({sync}, '{{...}}'); changes are kept meanwhile."
            ),
            Some(ConnectionState::Forbidden) => "The sync's owner lost a right on its table: GRANT it back \
                 (the problem names it); changes are kept meanwhile."
                .into(),
            _ => "The org's API limit is reached: hubsync waits and resumes when the budget \
                  allows; raise the limit in Salesforce or sync less often."
                .into(),
        },
        Condition::Review => format!(
            "Look at why each record was parked, fix the data or the mapping, then send them \
             again with SELECT hubsync.retry_all({sync}); or close one with hubsync.discard(id)."
        ),
        Condition::Backlog => "Changes arrive faster than they are pushed, or pushes are \
             stuck: check the connection state, the problem and the API usage."
            .into(),
        Condition::Latency => "Pushes are slow: check the backlog and the API usage; a \
             smaller performance_settings.batch_size or more parallelism can help."
            .into(),
        Condition::ErrorRate => format!(
            "Records are failing: read their errors in the review queue, fix them, then \
             SELECT hubsync.retry_all({sync})."
        ),
        Condition::ConsecutiveFailures => "Nothing gets through; hubsync keeps retrying. \
             The connection state and last error say why."
            .into(),
    }
}

/// The query that shows more about a notice.
pub fn look_closer(n: &Notice) -> String {
    let sync = literal(&n.sync);
    match n.condition() {
        Condition::Review | Condition::ErrorRate => format!(
            "SELECT id, kind, operation, error_code, error_message, last_seen \
             FROM hubsync.review_queue WHERE sync = {sync} ORDER BY id;"
        ),
        Condition::Latency => format!(
            "SELECT minute, pushed, pulled, avg_latency_ms, max_latency_ms, error_rate \
             FROM hubsync.metrics WHERE sync = {sync} ORDER BY minute DESC LIMIT 15;"
        ),
        _ => format!(
            "SELECT state, connection_state, problem, backlog, oldest_pending_age, last_error, \
             api_usage FROM hubsync.status WHERE name = {sync};"
        ),
    }
}

/// The plain-text lines of one notice.
fn lines(n: &Notice) -> Vec<String> {
    let mut out = vec![format!("Sync: {}", n.sync), format!("What: {}", n.message)];
    match (&n.transition, &n.resolved_at) {
        (Transition::Resolved, Some(at)) => out.push(format!("Since: {} (resolved {at})", n.since)),
        _ => out.push(format!("Since: {}", n.since)),
    }
    if let Some(r) = n.records {
        out.push(format!("Records: {r}"));
    }
    out.push(format!("What to do: {}", advice(n)));
    out.push(format!("Look closer: {}", look_closer(n)));
    out
}

/// An e-mail for one notice, or a digest of several.
pub fn email(notices: &[Notice]) -> Mail {
    let subject = match notices {
        [one] => format!("hubsync {}", one.headline()),
        many => format!("hubsync: {}", digest_title(many)),
    };
    let body = notices
        .iter()
        .map(|n| format!("{}\n\n{}", n.headline(), lines(n).join("\n")))
        .collect::<Vec<_>>()
        .join("\n\n----\n\n");
    Mail {
        subject,
        body: format!("{body}\n\n-- \nSent by hubsync from inside PostgreSQL.\n"),
    }
}

/// A Slack message for one notice, or a digest of several: `text` (the notification
/// fallback) and `blocks`.
pub fn slack(notices: &[Notice], channel: Option<&str>) -> Value {
    let text = match notices {
        [one] => format!("hubsync {}: {}", one.headline(), one.message),
        many => format!("hubsync: {}", digest_title(many)),
    };
    let mut blocks = Vec::new();
    if notices.len() > 1 {
        blocks.push(json!({"type": "header", "text": {"type": "plain_text", "text": digest_title(notices)}}));
    }
    for n in notices {
        let icon = match (n.transition, n.severity.as_str()) {
            (Transition::Resolved, _) => ":white_check_mark:",
            (_, "critical") => ":rotating_light:",
            (_, "error") => ":x:",
            _ => ":warning:",
        };
        let mut detail = format!(
            "{icon} *{}*\n{}\n*Since* {}",
            escape(&n.headline()),
            escape(&n.message),
            escape(&n.since)
        );
        if let Some(at) = &n.resolved_at {
            detail.push_str(&format!(" · *resolved* {}", escape(at)));
        }
        if let Some(r) = n.records {
            detail.push_str(&format!(" · *records* {r}"));
        }
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": detail}}));
        blocks.push(json!({"type": "context", "elements": [
            {"type": "mrkdwn", "text": format!("*What to do:* {}", escape(&advice(n)))},
            {"type": "mrkdwn", "text": format!("*Look closer:* `{}`", escape(&look_closer(n)))}]}));
    }
    // Slack allows 50 blocks a message; a digest that long keeps its text and headers.
    blocks.truncate(49);
    let mut message = json!({"text": text, "blocks": blocks});
    if let Some(c) = channel {
        message["channel"] = json!(c);
    }
    message
}

fn digest_title(notices: &[Notice]) -> String {
    let syncs: std::collections::BTreeSet<&str> = notices.iter().map(|n| n.sync.as_str()).collect();
    let raised = notices
        .iter()
        .filter(|n| n.transition == Transition::Raised)
        .count();
    let critical = notices
        .iter()
        .filter(|n| n.transition == Transition::Raised && n.severity == "critical")
        .count();
    format!(
        "{} notifications for {} ({raised} raised, {critical} critical, {} resolved)",
        notices.len(),
        syncs.into_iter().collect::<Vec<_>>().join(", "),
        notices.len() - raised
    )
}

/// A SQL string literal (quotes doubled).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Slack's three control characters in mrkdwn.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stopped() -> Notice {
        Notice {
            sync: "SF_Postgres_Accounts".into(),
            connection: "SF_Postgres_Accounts".into(),
            kind: "stopped".into(),
            severity: "critical".into(),
            transition: Transition::Raised,
            message: "the sync is unauthorized: INVALID_LOGIN".into(),
            since: "2026-12-06 07:30:00+00".into(),
            resolved_at: None,
            records: Some(3),
            state: Some("unauthorized".into()),
        }
    }

    #[test]
    fn an_email_says_which_sync_what_since_how_many_what_to_do_and_the_sql() {
        let mail = email(&[stopped()]);
        assert_eq!(
            mail.subject,
            "hubsync [critical] SF_Postgres_Accounts: sync stopped"
        );
        for part in [
            "Sync: SF_Postgres_Accounts",
            "INVALID_LOGIN",
            "Since: 2026-12-06 07:30:00+00",
            "Records: 3",
            "hubsync.set_credentials('SF_Postgres_Accounts'",
            "FROM hubsync.status WHERE name = 'SF_Postgres_Accounts'",
        ] {
            assert!(mail.body.contains(part), "{part} in {}", mail.body);
        }
    }

    #[test]
    fn a_slack_message_has_a_fallback_text_and_blocks() {
        let m = slack(&[stopped()], Some("#data-sync-alerts"));
        assert_eq!(m["channel"], "#data-sync-alerts");
        assert!(m["text"].as_str().unwrap().contains("sync stopped"));
        let blocks = m["blocks"].to_string();
        assert!(blocks.contains(":rotating_light:") && blocks.contains("Look closer"));
    }

    #[test]
    fn several_at_once_make_one_digest() {
        let mut review = stopped();
        review.kind = "review".into();
        review.severity = "error".into();
        review.sync = "contacts".into();
        let mut back = stopped();
        back.transition = Transition::Resolved;
        back.resolved_at = Some("2026-12-06 07:35:00+00".into());
        let notices = [stopped(), review, back];
        let m = slack(&notices, None);
        assert_eq!(
            m["text"],
            "hubsync: 3 notifications for SF_Postgres_Accounts, contacts (2 raised, 1 critical, 1 resolved)"
        );
        assert!(m.get("channel").is_none());
        let mail = email(&notices);
        assert!(mail.subject.starts_with("hubsync: 3 notifications"));
        assert!(mail.body.contains("retry_all('contacts')"));
        assert!(mail.body.contains("resolved 2026-12-06 07:35:00+00"));
    }

    #[test]
    fn names_are_quoted_in_sql_and_escaped_in_slack() {
        let mut n = stopped();
        n.sync = "o'brien <x>".into();
        assert!(look_closer(&n).contains("'o''brien <x>'"));
        assert!(slack(&[n], None)["blocks"]
            .to_string()
            .contains("&lt;x&gt;"));
    }
}
