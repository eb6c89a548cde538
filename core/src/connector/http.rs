//! The blocking HTTP exchange under every connector's calls.
//!
//! One `ureq` agent (connection pool, timeouts, rustls) shared by the worker's HTTP
//! threads. This layer only moves bytes and says how an exchange broke: whether the
//! request could have reached the system decides if a failed create is safe to resend.

use super::error::CallError;
use crate::retry::{parse_limit_info, ApiUsage, Operation, TransportError};
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use url::Url;

/// Time limits of every call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing the TCP (and TLS) connection; nothing has been sent while it runs.
    pub connect: Duration,
    /// Waiting for Salesforce: a deadline for the whole exchange, from connecting to the
    /// last byte of the answer (a deadline rather than a per-read timeout, so that it also
    /// holds on pooled connections). Big collections can take long, so be generous.
    pub read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            read: Duration::from_secs(120),
        }
    }
}

/// A request body.
pub(crate) enum Body {
    Empty,
    Json(String),
    Form(String),
    /// Bulk API 2.0 data (`text/csv`).
    Csv(String),
}

/// One API request, independent of the credentials and base URL it is sent with (both may
/// change between the first try and the resend after a refresh).
pub(crate) struct Request {
    pub(crate) method: &'static str,
    /// Where it goes, as its client reads it: a path below the API root, an absolute path,
    /// or (with `link`) a link an earlier answer gave.
    pub(crate) path: String,
    /// The path is a link from an answer, to be checked before credentials follow it.
    pub(crate) link: bool,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Body,
    /// Counts towards the org's API requests (the Streaming API's polls do not).
    pub(crate) counted: bool,
}

impl Request {
    /// A request without body.
    pub(crate) fn new(method: &'static str, path: impl Into<String>) -> Request {
        Request {
            method,
            path: path.into(),
            link: false,
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::Empty,
            counted: true,
        }
    }

    /// Marks a request that does not count as an API call.
    pub(crate) fn uncounted(mut self) -> Request {
        self.counted = false;
        self
    }

    /// A request with a JSON body.
    pub(crate) fn json(
        method: &'static str,
        path: impl Into<String>,
        body: &impl serde::Serialize,
    ) -> Request {
        let json = serde_json::to_string(body).expect("request bodies serialise");
        Request {
            body: Body::Json(json),
            ..Request::new(method, path)
        }
    }

    /// Adds a query parameter (URL-encoded when sent).
    pub(crate) fn param(mut self, key: &'static str, value: impl Into<String>) -> Request {
        self.query.push((key, value.into()));
        self
    }

    /// Adds a header.
    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Request {
        self.headers.push((name, value.into()));
        self
    }

    /// Appends the query parameters to `url`.
    pub(crate) fn add_query(&self, url: &mut Url) {
        if !self.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in &self.query {
                pairs.append_pair(key, value);
            }
        }
    }
}

/// A complete answer, whatever its status.
pub(crate) struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    /// The `Location` header: where NetSuite says a created record lives (its id is the
    /// last path segment), since its creates answer 204 without a body.
    pub location: Option<String>,
    /// `Retry-After` in seconds, when the answer carried one (Zendesk's 429s do).
    pub retry_after: Option<u64>,
    /// `Sforce-Locator`: where a Bulk query's next result page starts (`null` on the last).
    pub locator: Option<String>,
}

/// An exchange that broke before a complete answer arrived.
#[derive(Debug)]
pub(crate) struct Broken {
    pub error: TransportError,
    pub request_sent: bool,
    pub detail: String,
}

/// The shared agent plus what every answer reports about the org's API budget.
pub(crate) struct Http {
    agent: ureq::Agent,
    /// Largest answer body read; a bigger one is refused unread (see [`crate::net`]).
    max_body: u64,
    usage: Mutex<Option<ApiUsage>>,
    calls: AtomicU64,
}

impl Http {
    /// An agent keeping up to `parallelism` idle connections to the org, reading answers
    /// of at most `max_body` bytes.
    pub(crate) fn new(timeouts: Timeouts, parallelism: usize, max_body: u64) -> Self {
        let pool = parallelism.max(1);
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(timeouts.connect)
            .timeout(timeouts.read)
            .max_idle_connections(pool)
            .max_idle_connections_per_host(pool)
            .redirects(0)
            .user_agent(concat!("hubsync/", env!("CARGO_PKG_VERSION")))
            .build();
        Http {
            agent,
            max_body,
            usage: Mutex::new(None),
            calls: AtomicU64::new(0),
        }
    }

    /// The latest `Sforce-Limit-Info` usage seen on any answer.
    pub(crate) fn api_usage(&self) -> Option<ApiUsage> {
        *self.usage.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// REST requests issued so far (token requests excluded: they cost no API calls).
    pub(crate) fn api_calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Counts a REST request towards [`Http::api_calls`].
    fn count_call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Sends an API call for `op`, counting it: a broken exchange becomes the call's
    /// [`CallError`], saying whether the request had been sent.
    pub(crate) fn call(
        &self,
        op: Operation,
        method: &str,
        url: &Url,
        headers: &[(&str, &str)],
        body: &Body,
    ) -> Result<Reply, CallError> {
        self.count_call();
        self.exchange(op, method, url, headers, body)
    }

    /// [`Http::call`] without counting it as an API call.
    pub(crate) fn exchange(
        &self,
        op: Operation,
        method: &str,
        url: &Url,
        headers: &[(&str, &str)],
        body: &Body,
    ) -> Result<Reply, CallError> {
        self.send(method, url, headers, body).map_err(
            |Broken {
                 error,
                 request_sent,
                 detail,
             }| CallError::broken(op, error, request_sent, &detail),
        )
    }

    /// Posts a token request's form. A broken exchange means the API request waiting for
    /// the token was not sent, whatever became of the token request itself.
    pub(crate) fn post_token_form(
        &self,
        op: Operation,
        url: &Url,
        form: String,
    ) -> Result<Reply, CallError> {
        self.send("POST", url, &[], &Body::Form(form)).map_err(|b| {
            CallError::broken(
                op,
                b.error,
                false,
                &format!("getting an access token: {}", b.detail),
            )
        })
    }

    /// Sends one request and reads the whole answer, unless it is larger than the cap:
    /// then it is refused as soon as that is known (from `Content-Length`, or after
    /// `max_body + 1` bytes), with [`TransportError::TooLarge`].
    pub(crate) fn send(
        &self,
        method: &str,
        url: &Url,
        headers: &[(&str, &str)],
        body: &Body,
    ) -> Result<Reply, Broken> {
        let mut request = self
            .agent
            .request_url(method, url)
            .set("Accept", "application/json");
        for (name, value) in headers {
            request = request.set(name, value);
        }
        let result = match body {
            Body::Empty => request.call(),
            Body::Json(json) => request
                .set("Content-Type", "application/json")
                .send_string(json),
            Body::Form(form) => request
                .set("Content-Type", "application/x-www-form-urlencoded")
                .send_string(form),
            Body::Csv(csv) => request.set("Content-Type", "text/csv").send_string(csv),
        };
        let response = match result {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response,
            Err(ureq::Error::Transport(transport)) => return Err(broken(&transport)),
        };
        self.note_usage(&response);
        let status = response.status();
        let location = response.header("Location").map(str::to_string);
        let locator = response.header("Sforce-Locator").map(str::to_string);
        let retry_after = response
            .header("Retry-After")
            .and_then(|v| v.trim().parse::<u64>().ok());
        let declared = response
            .header("Content-Length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|len| len > self.max_body) {
            return Err(too_large(self.max_body));
        }
        let mut body = Vec::new();
        response
            .into_reader()
            .take(self.max_body.saturating_add(1))
            .read_to_end(&mut body)
            .map_err(|e| read_broken(&e))?;
        if body.len() as u64 > self.max_body {
            return Err(too_large(self.max_body));
        }
        Ok(Reply {
            status,
            body,
            location,
            retry_after,
            locator,
        })
    }

    fn note_usage(&self, response: &ureq::Response) {
        if let Some(usage) = response
            .header("Sforce-Limit-Info")
            .and_then(parse_limit_info)
        {
            *self.usage.lock().unwrap_or_else(|p| p.into_inner()) = Some(usage);
        }
    }
}

/// A system's base URL: scheme and host (and port) only, without credentials, path,
/// query or fragment, so request paths can be set below it safely.
pub(crate) fn base_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("{text:?} is not a URL ({e})"))?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.has_host()
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none()
        && matches!(url.path(), "" | "/");
    if plain {
        Ok(url)
    } else {
        Err(format!(
            "{text:?} is not a base URL; give scheme and host only, e.g. https://yourinstance.my.salesforce.com or https://acme.zendesk.com"
        ))
    }
}

/// Where and how a `ureq` transport error broke the exchange.
fn broken(transport: &ureq::Transport) -> Broken {
    use ureq::ErrorKind as Kind;
    let io_kind = io_error_kind(transport);
    let (error, request_sent) = match transport.kind() {
        Kind::Dns => (TransportError::Dns, false),
        Kind::ConnectionFailed if is_timeout(io_kind) => (TransportError::Timeout, false),
        Kind::ConnectionFailed if is_tls(transport) => (TransportError::Tls, false),
        Kind::ConnectionFailed => (TransportError::ConnectionRefused, false),
        // Once connected, ureq reports write and read failures alike: count the request
        // as possibly delivered, the safe assumption for creates.
        Kind::Io if is_timeout(io_kind) => (TransportError::Timeout, true),
        Kind::Io | Kind::BadStatus | Kind::BadHeader => (TransportError::ConnectionReset, true),
        // Bad URLs, schemes, proxies or redirects: nothing left this process.
        _ => (TransportError::ConnectionRefused, false),
    };
    Broken {
        error,
        request_sent,
        detail: transport_detail(transport),
    }
}

/// An answer bigger than the cap: the request was carried out, its answer is not read.
fn too_large(max_body: u64) -> Broken {
    Broken {
        error: TransportError::TooLarge,
        request_sent: true,
        detail: format!(
            "the answer is larger than {} (hubsync.max_response_size) and was not read",
            size_text(max_body)
        ),
    }
}

/// Bytes as people write them: `64 MB`, `512 kB`, `100 bytes`.
fn size_text(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * KB;
    match bytes {
        b if b >= MB && b % MB == 0 => format!("{} MB", b / MB),
        b if b >= KB && b % KB == 0 => format!("{} kB", b / KB),
        b => format!("{b} bytes"),
    }
}

/// A failure while reading the body of an answer whose status line had arrived.
fn read_broken(error: &io::Error) -> Broken {
    let kind = if is_timeout(Some(error.kind())) {
        TransportError::Timeout
    } else {
        TransportError::ConnectionReset
    };
    Broken {
        error: kind,
        request_sent: true,
        detail: format!("reading the answer: {error}"),
    }
}

fn io_error_kind(transport: &ureq::Transport) -> Option<io::ErrorKind> {
    let mut source = std::error::Error::source(transport);
    while let Some(error) = source {
        if let Some(io) = error.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        source = error.source();
    }
    None
}

fn is_timeout(kind: Option<io::ErrorKind>) -> bool {
    matches!(
        kind,
        Some(io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock)
    )
}

fn is_tls(transport: &ureq::Transport) -> bool {
    transport
        .message()
        .is_some_and(|m| m.to_ascii_lowercase().contains("tls"))
}

/// The error without the URL (its query may carry record values) or any header.
fn transport_detail(transport: &ureq::Transport) -> String {
    let mut text = transport.kind().to_string();
    if let Some(message) = transport.message() {
        text.push_str(": ");
        text.push_str(message);
    }
    if let Some(source) = std::error::Error::source(transport) {
        text.push_str(": ");
        text.push_str(&source.to_string());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn http() -> Http {
        http_capped(crate::net::DEFAULT_MAX_RESPONSE_BYTES)
    }

    fn http_capped(max_body: u64) -> Http {
        Http::new(
            Timeouts {
                connect: Duration::from_secs(5),
                read: Duration::from_secs(5),
            },
            2,
            max_body,
        )
    }

    /// A one-shot server answering 200 with `body`, with or without `Content-Length`.
    fn serve_once(body: Vec<u8>, declare_length: bool) -> Url {
        use std::io::Write;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut head = [0u8; 4096];
            let _ = stream.read(&mut head);
            let length = if declare_length {
                format!("Content-Length: {}\r\n", body.len())
            } else {
                "Connection: close\r\n".to_string()
            };
            let _ = write!(stream, "HTTP/1.1 200 OK\r\n{length}\r\n");
            let _ = stream.write_all(&body);
        });
        Url::parse(&format!("http://127.0.0.1:{port}/x")).unwrap()
    }

    #[test]
    fn answers_up_to_the_cap_are_read() {
        let url = serve_once(vec![b' '; 1000], false);
        let reply = http_capped(1000)
            .send("GET", &url, &[], &Body::Empty)
            .ok()
            .unwrap();
        assert_eq!(reply.body.len(), 1000);
    }

    #[test]
    fn answers_over_the_cap_are_refused_unread() {
        for declare_length in [true, false] {
            let url = serve_once(vec![b' '; 4096], declare_length);
            let broken = http_capped(1024)
                .send("GET", &url, &[], &Body::Empty)
                .err()
                .unwrap();
            assert_eq!(broken.error, TransportError::TooLarge);
            assert!(broken.request_sent);
            assert!(broken.detail.contains("1 kB"), "{}", broken.detail);
            assert!(broken.detail.contains("hubsync.max_response_size"));
        }
        assert_eq!(size_text(64 * 1024 * 1024), "64 MB");
        assert_eq!(size_text(1000), "1000 bytes");
    }

    #[test]
    fn a_refused_connection_was_never_sent() {
        // Bind, learn the port, close: nobody listens there any more.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = Url::parse(&format!("http://127.0.0.1:{port}/x")).unwrap();
        let broken = http()
            .send("POST", &url, &[], &Body::Json("{}".into()))
            .err()
            .unwrap();
        assert_eq!(broken.error, TransportError::ConnectionRefused);
        assert!(!broken.request_sent);
    }

    #[test]
    fn an_unresolvable_host_was_never_sent() {
        let url = Url::parse("http://hubsync-no-such-host.invalid/x").unwrap();
        let broken = http().send("GET", &url, &[], &Body::Empty).err().unwrap();
        assert_eq!(broken.error, TransportError::Dns);
        assert!(!broken.request_sent);
    }
}
