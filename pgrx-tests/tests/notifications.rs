//! Notifications end to end: the brief's `notification` and `notifications` blocks, a local
//! Slack (the emulator's) and a local SMTP sink. A sync that stops tells Slack and e-mail
//! what happened and what to do, and tells them again when it recovers; a failing or
//! unreachable destination is retried and reported in `hubsync.notifications` while the
//! sync goes on; a refused message is given up with the reason; what piles up for one
//! destination goes out as one digest. No secret shows anywhere.

use hubsync_e2e::smtp::SmtpSink;
use hubsync_e2e::{
    accounts_sync, fixtures, scalar, wait_until, AccountsSync, CLIENT_ID, CLIENT_SECRET,
};
use hubsync_emulator::slack::{self, Fault, SlackOptions, BOT_TOKEN};
use postgres::Client;
use serde_json::{json, Value};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(90);
const SMTP_PASSWORD: &str = "smtp-pass-s3cret";
const WRONG_SECRET: &str = "wrong-client-secret-xyz";

/// The notification connection: Slack (a webhook, or a bot token) and the SMTP sink.
fn destinations(slack: Value, smtp_port: u16) -> Value {
    json!({
        "slack": slack,
        "email": {"host": "127.0.0.1", "port": smtp_port, "tls": "none", "username": "alerts",
                  "password": SMTP_PASSWORD, "from": "hubsync <alerts@acme.example>"}
    })
}

fn set_credentials(db: &mut Client, connection: &str, secret: &Value) {
    db.execute(
        "SELECT hubsync.set_credentials($1, $2)",
        &[&connection, secret],
    )
    .expect("set_credentials");
}

/// A local Slack whose webhook answers `status` `error` to the next `times` messages (all,
/// if `None`).
fn webhook_down(status: u16, error: &str, times: Option<u32>) -> slack::RunningSlack {
    let slack = slack::start(SlackOptions::default()).unwrap();
    slack.inject(vec![Fault {
        endpoint: "webhook".into(),
        status,
        error: error.into(),
        retry_after: None,
        times,
    }]);
    slack
}

/// Gives the sync's connection the demo client with `secret` (the right one or not).
fn use_client_secret(db: &mut Client, sync: &AccountsSync, secret: &str) {
    set_credentials(
        db,
        &sync.name,
        &json!({"client_id": CLIENT_ID, "client_secret": secret}),
    );
}

/// The accounts sync with the brief's `notification` block (07) on top of the base config's
/// `notifications` block (16), and the notification connection `destinations`.
fn brief_sync(name: &str, destinations: &Value) -> (AccountsSync, Client) {
    let sync = accounts_sync(name, &[], fixtures::json("brief/07_error_handling.json"));
    let mut db = sync.db();
    set_credentials(&mut db, "notifications", destinations);
    (sync, db)
}

/// `hubsync.notifications` as JSON rows, oldest first.
fn notifications(db: &mut Client) -> Vec<Value> {
    db.query(
        "SELECT row_to_json(n) FROM hubsync.notifications n ORDER BY id",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// Everything a person or a log could see of the notifications: no secret in it.
fn assert_no_secret(sync: &AccountsSync, slack: &slack::RunningSlack, smtp: &SmtpSink) {
    let mut db = sync.db();
    let mut seen = serde_json::to_string(&notifications(&mut db)).unwrap();
    // What Slack received (the webhook's path is where the secret belongs).
    for request in slack.requests() {
        seen.push_str(&request.body.to_string());
    }
    for mail in smtp.mails() {
        seen.push_str(&mail.data);
    }
    let alerts: Option<String> = scalar(
        &mut db,
        "SELECT string_agg(message, ' ') FROM hubsync.alerts",
    );
    seen.push_str(&alerts.unwrap_or_default());
    seen.push_str(&sync.cluster.log());
    for secret in [
        SMTP_PASSWORD,
        WRONG_SECRET,
        CLIENT_SECRET,
        BOT_TOKEN,
        "hubsyncwebhooksecret",
    ] {
        assert!(!seen.contains(secret), "{secret} leaked");
    }
}

#[test]
fn a_stopped_sync_tells_slack_and_email_what_to_do_then_that_it_recovered() {
    let slack = slack::start(SlackOptions::default()).unwrap();
    let smtp = SmtpSink::start(Some(("alerts", SMTP_PASSWORD)));
    // The brief's two blocks as written: `notification` (channels, threshold critical) in
    // 07, `notifications` (e-mail address, Slack channel) in the base config (16).
    let (sync, mut db) = brief_sync(
        "notify_stop",
        &destinations(json!({"webhook_url": slack.webhook_url()}), smtp.port()),
    );
    // Salesforce stops accepting the sync's credentials.
    use_client_secret(&mut db, &sync, WRONG_SECRET);
    db.batch_execute("INSERT INTO accounts (account_name) VALUES ('Waits')")
        .unwrap();

    let message = wait_until(PATIENCE, "a Slack message", || {
        slack.messages().into_iter().next()
    });
    let text = message.body["text"].as_str().unwrap().to_string();
    assert!(
        text.contains("[critical] SF_Postgres_Accounts: sync stopped"),
        "{text}"
    );
    let blocks = message.body["blocks"].to_string();
    for part in [
        "unauthorized",
        "hubsync.set_credentials('SF_Postgres_Accounts'",
        "FROM hubsync.status WHERE name = 'SF_Postgres_Accounts'",
        "*Since*",
    ] {
        assert!(blocks.contains(part), "{part} in {blocks}");
    }
    let mail = wait_until(PATIENCE, "an e-mail", || smtp.mails().into_iter().next());
    assert_eq!(mail.to, ["data-team@yourcompany.com"]);
    assert_eq!(mail.from, "alerts@acme.example");
    assert_eq!(mail.user.as_deref(), Some("alerts"));
    assert_eq!(
        mail.subject(),
        "hubsync [critical] SF_Postgres_Accounts: sync stopped"
    );
    for part in [
        "Sync: SF_Postgres_Accounts",
        "What: the sync is unauthorized",
        "Since: ",
        "Records: ",
        "What to do: Salesforce refuses the credentials",
        "Look closer: SELECT",
    ] {
        assert!(mail.data.contains(part), "{part} in {}", mail.data);
    }
    // Each delivery is recorded once its answer is back.
    let rows = wait_until(PATIENCE, "both deliveries recorded", || {
        let rows = notifications(&mut db);
        rows.iter().all(|r| r["state"] != "pending").then_some(rows)
    });
    let shown: Vec<(Value, Value, Value, Value)> = rows
        .iter()
        .map(|r| {
            (
                r["channel"].clone(),
                r["destination"].clone(),
                r["state"].clone(),
                r["attempts"].clone(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (
                json!("slack"),
                json!("#data-sync-alerts"),
                json!("sent"),
                json!(1)
            ),
            (
                json!("email"),
                json!("data-team@yourcompany.com"),
                json!("sent"),
                json!(1)
            ),
        ]
    );

    // Working credentials again: the sync pushes what waited, and both channels hear so.
    use_client_secret(&mut db, &sync, CLIENT_SECRET);
    sync.wait_idle(&mut db);
    let resolved = wait_until(PATIENCE, "a resolved Slack message", || {
        slack
            .messages()
            .into_iter()
            .find(|m| m.body["text"].as_str().unwrap_or("").contains("[resolved]"))
    });
    assert!(resolved.body["text"]
        .as_str()
        .unwrap()
        .contains("sync stopped"));
    let mail = wait_until(PATIENCE, "a resolved e-mail", || {
        smtp.mails()
            .into_iter()
            .find(|m| m.subject().contains("[resolved]"))
    });
    assert!(mail.data.contains("resolved"), "{}", mail.data);
    assert_eq!(
        sync.remote
            .query("SELECT Id FROM Account WHERE Name = 'Waits'", false)
            .len(),
        1
    );
    assert_no_secret(&sync, &slack, &smtp);
}

#[test]
fn a_failing_destination_is_retried_and_reported_while_the_sync_goes_on() {
    // Slack is down for the first message; the mail server is not there at all.
    let slack = webhook_down(500, "rollup_error", Some(1));
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The base config's `notifications` block as written (threshold: the default, error),
    // and a rule that parks a record for review.
    let sync = accounts_sync(
        "notify_retry",
        &[],
        json!({"validation_rules": [
            {"field": "industry_type", "rule": "one_of", "values": ["Energy", "Media"], "on_error": "reject_record"}]}),
    );
    let mut db = sync.db();
    set_credentials(
        &mut db,
        "notifications",
        &destinations(json!({"webhook_url": slack.webhook_url()}), closed_port),
    );
    db.batch_execute(
        "INSERT INTO accounts (account_name, industry_type) VALUES ('Parked', 'Retail'), ('Fine', 'Energy')",
    )
    .unwrap();

    // Slack: refused once (500), sent on the retry.
    let row = wait_until(PATIENCE, "the Slack message sent on its retry", || {
        notifications(&mut db)
            .into_iter()
            .find(|r| r["channel"] == "slack" && r["state"] == "sent")
    });
    assert_eq!(row["attempts"], 2);
    assert_eq!(row["kind"], "review");
    let message = &slack.messages()[0];
    assert!(message.body["text"]
        .as_str()
        .unwrap()
        .contains("[error] SF_Postgres_Accounts: records wait in the review queue"));
    assert!(message.body["blocks"]
        .to_string()
        .contains("hubsync.retry_all('SF_Postgres_Accounts')"));
    // E-mail: still pending, retried with backoff, the reason shown.
    let row = wait_until(PATIENCE, "the e-mail retried", || {
        notifications(&mut db)
            .into_iter()
            .find(|r| r["channel"] == "email" && r["attempts"].as_i64() >= Some(1))
    });
    assert_eq!(row["state"], "pending");
    let error = row["last_error"].as_str().unwrap();
    assert!(error.contains("cannot reach the mail server"), "{error}");
    // Meanwhile the sync went on.
    sync.wait_idle(&mut db);
    assert_eq!(
        sync.remote
            .query("SELECT Id FROM Account WHERE Name = 'Fine'", false)
            .len(),
        1
    );
    assert_no_secret(&sync, &slack, &SmtpSink::start(None));
}

#[test]
fn refused_messages_are_given_up_with_the_reason() {
    let slack = slack::start(SlackOptions::default()).unwrap();
    let smtp = SmtpSink::start(Some(("alerts", "another-password")));
    // A bot token posting to a channel that does not exist, and a wrong SMTP password.
    let sync = accounts_sync(
        "notify_refused",
        &[],
        json!({"error_handling": {"notifications": {"slack": "#nowhere"}},
               "validation_rules": [{"field": "industry_type", "rule": "one_of", "values": ["Energy"], "on_error": "reject_record"}]}),
    );
    let mut db = sync.db();
    set_credentials(
        &mut db,
        "notifications",
        &destinations(
            json!({"bot_token": BOT_TOKEN, "api_url": slack.api_url()}),
            smtp.port(),
        ),
    );
    db.batch_execute(
        "INSERT INTO accounts (account_name, industry_type) VALUES ('Parked', 'Retail')",
    )
    .unwrap();
    let failed = wait_until(PATIENCE, "both messages given up", || {
        let rows = notifications(&mut db);
        (rows.len() == 2 && rows.iter().all(|r| r["state"] == "failed")).then_some(rows)
    });
    let slack_row = failed.iter().find(|r| r["channel"] == "slack").unwrap();
    assert_eq!(slack_row["destination"], "#nowhere");
    assert!(slack_row["last_error"]
        .as_str()
        .unwrap()
        .contains("channel_not_found"));
    assert_eq!(slack_row["attempts"], 1);
    let mail_row = failed.iter().find(|r| r["channel"] == "email").unwrap();
    let error = mail_row["last_error"].as_str().unwrap();
    assert!(
        error.contains("535") && error.contains("username and password"),
        "{error}"
    );
    assert!(smtp.mails().is_empty());
    // Another role sees none of these messages, and cannot read the outbox itself.
    db.batch_execute("CREATE ROLE eve LOGIN").unwrap();
    let mut eve = sync.cluster.connect_as(hubsync_e2e::DATABASE, "eve");
    let seen: i64 = scalar(&mut eve, "SELECT count(*) FROM hubsync.notifications");
    assert_eq!(seen, 0);
    let refused = eve
        .query("SELECT * FROM hubsync.notification", &[])
        .unwrap_err();
    assert_eq!(refused.code().map(|c| c.code()), Some("42501"));
    // Nor can it replace the connection, or send the syncs' messages elsewhere.
    let taken = eve
        .execute(
            "SELECT hubsync.set_credentials('notifications', $1)",
            &[&json!({"slack": {"webhook_url": "https://evil.example/hook"}})],
        )
        .unwrap_err();
    assert_eq!(taken.code().map(|c| c.code()), Some("42501"));
    // A malformed destination is refused with its path, without repeating the value.
    let bad = db
        .execute(
            "SELECT hubsync.set_credentials('other', $1)",
            &[&json!({"slack": {"webhook_url": "xoxb-pasted-by-mistake"}})],
        )
        .unwrap_err();
    let text = bad.as_db_error().unwrap().message().to_string();
    assert_eq!(bad.code().map(|c| c.code()), Some("22023"));
    assert!(
        text.contains("slack.webhook_url") && !text.contains("xoxb-pasted"),
        "{text}"
    );
    assert_eq!(slack.requests()[0].channel.as_deref(), Some("#nowhere"));

    // The channel fixed and the parked record closed: the bot posts that it cleared.
    db.execute(
        "SELECT hubsync.alter_sync($1, $2)",
        &[
            &sync.name,
            &json!({"error_handling": {"notifications": {"slack": "#data-sync-alerts"}}}),
        ],
    )
    .unwrap();
    db.batch_execute("SELECT hubsync.discard(id) FROM hubsync.review_queue")
        .unwrap();
    let posted = wait_until(PATIENCE, "the bot's message", || {
        slack.messages().into_iter().next()
    });
    assert_eq!(posted.endpoint, "chat.postMessage");
    assert_eq!(posted.channel.as_deref(), Some("#data-sync-alerts"));
    let text = posted.body["text"].as_str().unwrap();
    assert!(
        text.contains("[resolved] SF_Postgres_Accounts: records wait in the review queue"),
        "{text}"
    );
    assert_no_secret(&sync, &slack, &smtp);
}

#[test]
fn what_waits_for_one_destination_goes_out_as_one_digest() {
    // Slack refuses everything until healed; no mail server is configured.
    let slack = webhook_down(503, "service_unavailable", None);
    let (sync, mut db) = brief_sync(
        "notify_digest",
        &json!({"slack": {"webhook_url": slack.webhook_url()}}),
    );
    let attempted = |db: &mut Client, event: &str| {
        let event = event.to_string();
        wait_until(PATIENCE, &format!("the {event} message attempted"), || {
            notifications(db).into_iter().find(|r| {
                r["channel"] == "slack"
                    && r["event"] == event.as_str()
                    && r["attempts"].as_i64() >= Some(1)
            })
        })
    };
    // The sync stops, and runs again, while Slack is down: two notices wait.
    use_client_secret(&mut db, &sync, WRONG_SECRET);
    let raised = attempted(&mut db, "raised");
    assert_eq!(raised["state"], "pending");
    assert!(raised["last_error"].as_str().unwrap().contains("503"));
    use_client_secret(&mut db, &sync, CLIENT_SECRET);
    attempted(&mut db, "resolved");
    slack.heal();

    let message = wait_until(PATIENCE, "the digest", || {
        slack.messages().into_iter().next()
    });
    assert_eq!(
        message.body["text"],
        "hubsync: 2 notifications for SF_Postgres_Accounts (1 raised, 1 critical, 1 resolved)"
    );
    let rows = wait_until(PATIENCE, "both rows sent", || {
        let rows: Vec<Value> = notifications(&mut db)
            .into_iter()
            .filter(|r| r["channel"] == "slack")
            .collect();
        rows.iter().all(|r| r["state"] == "sent").then_some(rows)
    });
    assert!(rows.iter().all(|r| r["digest_size"] == 2), "{rows:?}");
    assert_eq!(slack.messages().len(), 1);
    // The e-mail channel has no destination in the connection: given up, saying so.
    let mail = notifications(&mut db)
        .into_iter()
        .find(|r| r["channel"] == "email")
        .unwrap();
    assert_eq!(mail["state"], "failed");
    assert!(mail["last_error"]
        .as_str()
        .unwrap()
        .contains("has no \"email\" destination"));
}
