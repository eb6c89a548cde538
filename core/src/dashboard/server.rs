//! The dashboard's HTTP server (tiny_http): `/` the page, `/api/snapshot` its JSON,
//! `/metrics` the Prometheus exposition; every one needs the token.
//!
//! Invariants: the server only reads the [`Board`] (it never calls back into its owner);
//! it answers GET and HEAD only; every answer says `no-store` and sends no referrer, so
//! a token given in the page's URL does not travel further. Threads are created by
//! [`start`] (and by tiny_http from those threads): a caller inside Postgres starts it
//! with every signal blocked so that none of them ever takes a Postgres signal.

use super::access::{Listen, Token};
use super::snapshot::Board;
use super::{page, prometheus};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Threads answering requests (each answer is rendered from memory in microseconds).
const THREADS: usize = 2;

/// An answer, before it is written to the socket.
#[derive(Debug, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Reply {
    fn new(status: u16, content_type: &'static str, body: impl Into<String>) -> Reply {
        Reply {
            status,
            content_type,
            body: body.into(),
        }
    }
}

const TEXT: &str = "text/plain; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";
const JSON: &str = "application/json";

/// The answer to `method url` with the `Authorization` header `authorization`.
pub fn respond(
    method: &str,
    url: &str,
    authorization: Option<&str>,
    token: &Token,
    board: &Board,
) -> Reply {
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (url, None),
    };
    let known = matches!(path, "/" | "/api/snapshot" | "/metrics");
    if !known {
        return Reply::new(
            404,
            TEXT,
            "not found: the dashboard serves /, /api/snapshot and /metrics\n",
        );
    }
    if method != "GET" && method != "HEAD" {
        return Reply::new(405, TEXT, "the dashboard is read-only: GET only\n");
    }
    if !token.admits(authorization, query) {
        return match path {
            "/" => Reply::new(401, HTML, page::LOGIN),
            _ => Reply::new(
                401,
                TEXT,
                "unauthorized: send Authorization: Bearer <token> (the content of hubsync.dashboard_token_file)\n",
            ),
        };
    }
    match path {
        "/" => Reply::new(200, HTML, page::PAGE),
        "/metrics" => Reply::new(
            200,
            prometheus::CONTENT_TYPE,
            prometheus::render(&board.current()),
        ),
        _ => Reply::new(
            200,
            JSON,
            serde_json::to_string(&*board.current()).unwrap_or_else(|_| "{}".into()),
        ),
    }
}

/// A running server; dropping it stops the threads and closes the socket.
pub struct Running {
    server: Arc<tiny_http::Server>,
    stop: Arc<AtomicBool>,
    /// The address bound (with the real port when 0 was asked for).
    pub addr: SocketAddr,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for _ in 0..THREADS {
            self.server.unblock();
        }
    }
}

/// Binds `listen` and starts the threads that answer from `board`.
pub fn start(listen: Listen, token: Token, board: Board) -> std::io::Result<Running> {
    let server = tiny_http::Server::http(listen.0).map_err(std::io::Error::other)?;
    let addr = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| std::io::Error::other("not an IP socket"))?;
    let server = Arc::new(server);
    let stop = Arc::new(AtomicBool::new(false));
    for i in 0..THREADS {
        let (server, stop, token, board) =
            (server.clone(), stop.clone(), token.clone(), board.clone());
        std::thread::Builder::new()
            .name(format!("hubsync-dashboard-{i}"))
            .spawn(move || serve(&server, &stop, &token, &board))?;
    }
    Ok(Running { server, stop, addr })
}

fn serve(server: &tiny_http::Server, stop: &AtomicBool, token: &Token, board: &Board) {
    while !stop.load(Ordering::SeqCst) {
        let Ok(request) = server.recv() else {
            continue;
        };
        let authorization = request
            .headers()
            .iter()
            .find(|h| h.field.equiv("Authorization"))
            .map(|h| h.value.as_str().to_string());
        let method = request.method().as_str().to_string();
        let reply = respond(
            &method,
            request.url(),
            authorization.as_deref(),
            token,
            board,
        );
        let mut response =
            tiny_http::Response::from_string(reply.body).with_status_code(reply.status);
        let mut headers = vec![
            ("Content-Type", reply.content_type),
            ("Cache-Control", "no-store"),
            ("Referrer-Policy", "no-referrer"),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
        ];
        if reply.content_type == HTML {
            headers.push(("Content-Security-Policy", page::CSP));
        }
        if reply.status == 401 {
            headers.push(("WWW-Authenticate", "Bearer realm=\"hubsync\""));
        }
        for (field, value) in headers {
            if let Ok(h) = tiny_http::Header::from_bytes(field, value) {
                response.add_header(h);
            }
        }
        // A client that went away is its own problem.
        let _ = request.respond(response);
    }
}

#[cfg(test)]
mod tests {
    use super::super::snapshot::tests::{reading, sync};
    use super::super::snapshot::Snapshot;
    use super::*;
    use serde_json::json;

    const T: &str = "0123456789abcdef0123456789abcdef";

    fn board() -> Board {
        let board = Board::default();
        board.publish(
            Snapshot::default().next(reading(20_000.0, json!([sync("<b>x</b>", 5, None)]))),
        );
        board
    }

    #[test]
    fn routes_and_refusals() {
        let (token, board) = (Token::new(T).unwrap(), board());
        let bearer = format!("Bearer {T}");
        let ok = Some(bearer.as_str());
        let cases: &[(&str, &str, Option<&str>, u16, &str)] = &[
            ("GET", "/metrics", None, 401, TEXT),
            ("GET", "/metrics", Some("Bearer nope"), 401, TEXT),
            ("GET", "/metrics", ok, 200, prometheus::CONTENT_TYPE),
            ("GET", "/api/snapshot", None, 401, TEXT),
            ("GET", "/api/snapshot", ok, 200, JSON),
            ("GET", "/", None, 401, HTML),
            (
                "GET",
                "/?token=0123456789abcdef0123456789abcdef",
                None,
                200,
                HTML,
            ),
            ("POST", "/metrics", ok, 405, TEXT),
            ("GET", "/etc/passwd", ok, 404, TEXT),
        ];
        for (method, url, auth, status, content_type) in cases {
            let reply = respond(method, url, *auth, &token, &board);
            assert_eq!(
                (reply.status, reply.content_type),
                (*status, *content_type),
                "{method} {url}"
            );
            if *status != 200 {
                assert!(
                    !reply.body.contains("<b>x</b>"),
                    "{method} {url} leaks figures"
                );
            }
        }
        let json: serde_json::Value =
            serde_json::from_str(&respond("GET", "/api/snapshot", ok, &token, &board).body)
                .unwrap();
        assert_eq!(json["syncs"][0]["name"], "<b>x</b>");
        assert_eq!(json["syncs"][0]["backlog"], 5);
    }

    #[test]
    fn serves_over_a_socket_until_dropped() {
        let board = board();
        let listen = Listen::parse("127.0.0.1:0").unwrap().unwrap();
        let running = start(listen, Token::new(T).unwrap(), board).unwrap();
        let url = format!("http://{}/metrics", running.addr);
        let refused = ureq::get(&url).call();
        assert!(
            matches!(refused, Err(ureq::Error::Status(401, _))),
            "{refused:?}"
        );
        let answer = ureq::get(&url)
            .set("Authorization", &format!("Bearer {T}"))
            .call()
            .unwrap();
        assert_eq!(answer.header("Cache-Control"), Some("no-store"));
        assert!(answer
            .into_string()
            .unwrap()
            .contains("hubsync_backlog{sync=\"<b>x</b>\"} 5"));
        let addr = running.addr;
        drop(running);
        crate::dashboard::tests::wait_for(|| std::net::TcpStream::connect(addr).is_err());
    }
}
