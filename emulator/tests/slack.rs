//! The local Slack answers as Slack does: webhooks with `ok` or a plain-text error,
//! `chat.postMessage` with `ok`/`error` in JSON; faults are served in order, and the admin
//! API shows what arrived.

use hubsync_emulator::slack::{start, Fault, SlackOptions, BOT_TOKEN};
use serde_json::{json, Value};

fn post(url: &str, token: Option<&str>, body: Value) -> (u16, Option<String>, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.post(url);
    if let Some(t) = token {
        request = request.header("Authorization", &format!("Bearer {t}"));
    }
    let mut response = request.send_json(body).expect("an answer");
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (
        response.status().as_u16(),
        retry_after,
        response.body_mut().read_to_string().unwrap(),
    )
}

#[test]
fn webhooks_answer_ok_or_a_plain_error_and_faults_come_first() {
    let slack = start(SlackOptions::default()).unwrap();
    let hook = slack.webhook_url();
    assert_eq!(
        post(&hook, None, json!({"text": "hi"})),
        (200, None, "ok".into())
    );
    assert_eq!(post(&hook, None, json!({})).2, "invalid_payload");
    let unknown = format!("{}/services/T/B/nope", slack.url());
    assert_eq!(post(&unknown, None, json!({"text": "x"})).0, 404);
    slack.inject(vec![Fault {
        endpoint: "webhook".into(),
        status: 429,
        error: "rate_limited".into(),
        retry_after: Some(2),
        times: Some(1),
    }]);
    assert_eq!(
        post(&hook, None, json!({"text": "x"})),
        (429, Some("2".into()), "rate_limited".into())
    );
    assert_eq!(post(&hook, None, json!({"text": "again"})).0, 200);
    let texts: Vec<Value> = slack
        .messages()
        .into_iter()
        .map(|m| m.body["text"].clone())
        .collect();
    assert_eq!(texts, [json!("hi"), json!("again")]);
    let admin: Value = ureq::get(&format!("{}/__slack/requests", slack.url()))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(admin.as_array().unwrap().len(), 5);
}

#[test]
fn post_message_checks_token_and_channel_in_its_json() {
    let slack = start(SlackOptions::default()).unwrap();
    let url = format!("{}/chat.postMessage", slack.api_url());
    let ok = post(
        &url,
        Some(BOT_TOKEN),
        json!({"channel": "#data-sync-alerts", "text": "x"}),
    );
    assert_eq!(ok.0, 200);
    assert_eq!(serde_json::from_str::<Value>(&ok.2).unwrap()["ok"], true);
    let lost = post(
        &url,
        Some(BOT_TOKEN),
        json!({"channel": "#nowhere", "text": "x"}),
    );
    assert_eq!(
        serde_json::from_str::<Value>(&lost.2).unwrap()["error"],
        "channel_not_found"
    );
    let bad = post(
        &url,
        Some("xoxb-wrong"),
        json!({"channel": "#data-sync-alerts", "text": "x"}),
    );
    assert_eq!(
        serde_json::from_str::<Value>(&bad.2).unwrap()["error"],
        "invalid_auth"
    );
    assert_eq!(slack.messages().len(), 1);
    assert_eq!(
        slack.messages()[0].channel.as_deref(),
        Some("#data-sync-alerts")
    );
}
