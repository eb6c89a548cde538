//! Delivery over the wire, from an HTTP thread: Slack with `ureq` (the client the
//! Salesforce connector uses), e-mail with `lettre` over SMTP. Each call makes one
//! attempt and returns [`Verdict`]; retrying is the caller's business.
//!
//! Reasons never carry a secret: a webhook URL or token that an error message could echo
//! is replaced by `***` before the reason leaves this module.

use super::delivery::{self, Verdict};
use super::destination::{Email, Slack, SlackRoute, Tls};
use super::render::Mail;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport};
use serde_json::Value;
use std::time::Duration;

/// How long one attempt may take (connecting included).
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP agent type, so callers need not depend on `ureq` themselves.
pub type Agent = ureq::Agent;

/// An HTTP agent for Slack with [`TIMEOUT`].
pub fn agent() -> Agent {
    ureq::AgentBuilder::new()
        .timeout(TIMEOUT)
        .timeout_connect(TIMEOUT)
        .redirects(0)
        .build()
}

/// Posts `message` (from [`super::render::slack`]) to a webhook or `chat.postMessage`.
pub fn slack(agent: &ureq::Agent, to: &Slack, message: &Value) -> Verdict {
    let (request, secret) = match &to.route {
        SlackRoute::Webhook(url) => (agent.post(url.expose()), url.expose()),
        SlackRoute::Bot { token, api_url } => (
            agent
                .post(&format!("{api_url}/chat.postMessage"))
                .set("Authorization", &format!("Bearer {}", token.expose())),
            token.expose(),
        ),
    };
    let request = request.set("Content-Type", "application/json; charset=utf-8");
    let webhook = matches!(to.route, SlackRoute::Webhook(_));
    let verdict = match request.send_string(&message.to_string()) {
        Ok(response) | Err(ureq::Error::Status(_, response)) => {
            let status = response.status();
            let retry_after = response.header("Retry-After").map(str::to_string);
            let body = response.into_string().unwrap_or_default();
            if webhook {
                delivery::slack_webhook(status, &body, retry_after.as_deref())
            } else {
                delivery::slack_api(status, &body, retry_after.as_deref())
            }
        }
        Err(ureq::Error::Transport(t)) => Verdict::Retry {
            after: None,
            reason: format!(
                "cannot reach Slack: {}{}",
                t.kind(),
                t.message().map(|m| format!(": {m}")).unwrap_or_default()
            ),
        },
    };
    scrub(verdict, &[secret])
}

/// Sends `mail` to `recipients` through the SMTP server of `server`.
pub fn email(server: &Email, recipients: &[String], mail: &Mail) -> Verdict {
    let secrets: Vec<&str> = server.password.iter().map(|p| p.expose()).collect();
    let verdict = match build_message(server, recipients, mail) {
        Err(reason) => Verdict::GiveUp { reason },
        Ok(message) => match transport(server) {
            Err(e) => Verdict::GiveUp {
                reason: format!("cannot set up SMTP to {}: {e}", server.host),
            },
            Ok(transport) => match transport.send(&message) {
                Ok(_) => Verdict::Sent,
                Err(e) => {
                    let code = e.status().map(u16::from);
                    delivery::smtp(code, &e.to_string())
                }
            },
        },
    };
    scrub(verdict, &secrets)
}

fn build_message(server: &Email, recipients: &[String], mail: &Mail) -> Result<Message, String> {
    let from = server
        .from
        .parse()
        .map_err(|e| format!("the from address is not a mailbox: {e}"))?;
    let mut builder = Message::builder()
        .from(from)
        .subject(mail.subject.clone())
        .header(ContentType::TEXT_PLAIN);
    for r in recipients {
        builder = builder.to(r
            .parse()
            .map_err(|e| format!("recipient {r} is not an address: {e}"))?);
    }
    builder
        .body(mail.body.clone())
        .map_err(|e| format!("cannot build the message: {e}"))
}

fn transport(server: &Email) -> Result<SmtpTransport, lettre::transport::smtp::Error> {
    let builder = match server.tls {
        Tls::StartTls => SmtpTransport::starttls_relay(&server.host)?,
        Tls::Implicit => SmtpTransport::relay(&server.host)?,
        Tls::None => SmtpTransport::builder_dangerous(&server.host),
    };
    let mut builder = builder.port(server.port).timeout(Some(TIMEOUT));
    if let (Some(user), Some(password)) = (&server.username, &server.password) {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            password.expose().to_string(),
        ));
    }
    Ok(builder.build())
}

/// Replaces every secret (and a webhook URL's path, which is its secret part) in a reason.
fn scrub(verdict: Verdict, secrets: &[&str]) -> Verdict {
    let clean = |reason: String| {
        secrets
            .iter()
            .filter(|s| !s.is_empty())
            .fold(reason, |r, s| r.replace(s, "***"))
    };
    match verdict {
        Verdict::Sent => Verdict::Sent,
        Verdict::Retry { after, reason } => Verdict::Retry {
            after,
            reason: clean(reason),
        },
        Verdict::GiveUp { reason } => Verdict::GiveUp {
            reason: clean(reason),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn an_unreachable_webhook_is_retried_and_its_url_not_shown() {
        // Port 9 (discard) on loopback is closed on any test machine.
        let to = Slack {
            route: SlackRoute::Webhook(Secret::new("http://127.0.0.1:9/services/T/B/SECRET")),
            channel: None,
        };
        let verdict = slack(&agent(), &to, &serde_json::json!({"text": "x"}));
        let Verdict::Retry { reason, .. } = verdict else {
            panic!("{verdict:?}")
        };
        assert!(!reason.contains("SECRET"), "{reason}");
    }

    #[test]
    fn an_unreachable_mail_server_is_retried() {
        let server = Email {
            host: "127.0.0.1".into(),
            port: 9,
            tls: Tls::None,
            username: Some("u".into()),
            password: Some(Secret::new("hunter2")),
            from: "hubsync <a@b.example>".into(),
            to: vec![],
        };
        let mail = Mail {
            subject: "s".into(),
            body: "b".into(),
        };
        let verdict = email(&server, &["c@d.example".into()], &mail);
        assert!(matches!(verdict, Verdict::Retry { .. }), "{verdict:?}");
    }
}
