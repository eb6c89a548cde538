//! `hubsync-emulator slack`: the local Slack on its own, with its flags, so a sync's
//! notifications can be tried outside the tests.

mod common;

use common::{agent, send, spawn_binary};
use serde_json::json;

#[test]
fn the_slack_subcommand_serves_webhooks_and_chat_post_message_with_its_flags() {
    let (mut child, url) = spawn_binary(&[
        "slack",
        "--port",
        "0",
        "--bot-token",
        "xoxb-from-a-flag",
        "--channel",
        "#ops",
    ]);
    let body = json!({"channel": "#ops", "text": "sync stopped"}).to_string();
    let posted = send(
        &agent(),
        "POST",
        &format!("{url}/api/chat.postMessage"),
        &[
            ("Authorization", "Bearer xoxb-from-a-flag"),
            ("Content-Type", "application/json"),
        ],
        Some(&body),
    );
    assert_eq!(posted.json()["ok"], true, "{}", posted.body);
    let elsewhere = json!({"channel": "#data-sync-alerts", "text": "x"}).to_string();
    let refused = send(
        &agent(),
        "POST",
        &format!("{url}/api/chat.postMessage"),
        &[
            ("Authorization", "Bearer xoxb-from-a-flag"),
            ("Content-Type", "application/json"),
        ],
        Some(&elsewhere),
    );
    assert_eq!(refused.json()["error"], "channel_not_found");
    let hook = send(
        &agent(),
        "POST",
        &format!("{url}/services/T0HUBSYNC/B0HUBSYNC/hubsyncwebhooksecret"),
        &[("Content-Type", "application/json")],
        Some(&json!({"text": "hello"}).to_string()),
    );
    assert_eq!((hook.status, hook.body.as_str()), (200, "ok"));
    let messages = send(
        &agent(),
        "GET",
        &format!("{url}/__slack/messages"),
        &[],
        None,
    )
    .json();
    assert_eq!(messages.as_array().unwrap().len(), 2);
    child.kill().unwrap();
    child.wait().unwrap();
}
