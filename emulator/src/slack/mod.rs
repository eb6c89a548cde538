//! A local Slack: incoming webhooks (`POST /services/T…/B…/X…`) and the Web API's
//! `chat.postMessage`, answering as Slack does (webhooks: `200 ok` or a status with a
//! plain-text error; `chat.postMessage`: `200` with `{"ok": false, "error": …}`), with
//! injectable faults, and recording every message it accepted.
//!
//! It runs on its own port, apart from the Salesforce emulator, so a sync's notifications
//! can fail while its Salesforce calls succeed. Admin API under `/__slack/`:
//! `GET messages` (what was accepted, oldest first), `GET requests` (every request,
//! answered or refused), `POST faults` (a JSON list of [`Fault`]s), `DELETE faults`.

mod routes;
mod state;

pub use state::{Fault, Received};

use state::State;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;

/// What the local Slack accepts.
#[derive(Debug, Clone)]
pub struct SlackOptions {
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    /// Webhook paths that exist (others answer `404 no_service`).
    pub webhooks: Vec<String>,
    /// The bot token `chat.postMessage` accepts (others answer `invalid_auth`).
    pub bot_token: String,
    /// Channels that exist, by name (with or without `#`) or id.
    pub channels: Vec<String>,
}

impl Default for SlackOptions {
    fn default() -> Self {
        SlackOptions {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            webhooks: vec![WEBHOOK_PATH.into()],
            bot_token: BOT_TOKEN.into(),
            channels: vec!["#data-sync-alerts".into(), "C0HUBSYNC".into()],
        }
    }
}

/// The webhook path that exists by default.
pub const WEBHOOK_PATH: &str = "/services/T0HUBSYNC/B0HUBSYNC/hubsyncwebhooksecret";
/// The bot token accepted by default.
pub const BOT_TOKEN: &str = "xoxb-hubsync-test-token";

/// A running local Slack; dropping it stops it.
pub struct RunningSlack {
    url: String,
    state: Arc<State>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl RunningSlack {
    /// Base URL, e.g. `http://127.0.0.1:41235`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The default webhook's full URL.
    pub fn webhook_url(&self) -> String {
        format!("{}{WEBHOOK_PATH}", self.url)
    }

    /// The Web API base (`api_url` of a bot destination).
    pub fn api_url(&self) -> String {
        format!("{}/api", self.url)
    }

    /// Messages accepted so far, oldest first.
    pub fn messages(&self) -> Vec<Received> {
        self.state.messages()
    }

    /// Every request so far with the status it got, accepted or not.
    pub fn requests(&self) -> Vec<Received> {
        self.state.requests()
    }

    /// Adds faults; each applies to its next `times` matching requests (all, if unset).
    pub fn inject(&self, faults: Vec<Fault>) {
        self.state.inject(faults);
    }

    /// Removes every fault.
    pub fn heal(&self) {
        self.state.heal();
    }
}

impl Drop for RunningSlack {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts a local Slack on its own thread; returns once it accepts connections.
pub fn start(options: SlackOptions) -> std::io::Result<RunningSlack> {
    let listener = std::net::TcpListener::bind(SocketAddr::new(options.bind, options.port))?;
    listener.set_nonblocking(true)?;
    let url = format!("http://{}", listener.local_addr()?);
    let state = Arc::new(State::new(options));
    let router = routes::router(state.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("hubsync-slack".into())
        .spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await;
            });
        })?;
    Ok(RunningSlack {
        url,
        state,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}
