//! The HTTP server: our own accept loop (so a fault can really drop a connection),
//! hyper for HTTP/1.1, axum for routing between the Salesforce paths, OAuth and the
//! admin API.

mod data;
pub mod jwt;
pub mod oauth;

use crate::app::App;
use axum::body::Body;
use axum::http::{header, HeaderValue, Response, StatusCode};
use axum::routing::{any, get, post};
use axum::Router;
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify};
use tower::ServiceExt;

/// Lets a handler abort its own connection: the connection task drops the socket
/// (with an RST) without writing a response.
#[derive(Clone)]
pub struct ConnKill(Arc<Notify>);

impl ConnKill {
    /// Drops the connection this request came on.
    pub fn kill(&self) {
        self.0.notify_one();
    }
}

/// Accepts connections until `shutdown` fires.
pub async fn serve(listener: TcpListener, app: Arc<App>, mut shutdown: oneshot::Receiver<()>) {
    let router = routes(app);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    tokio::spawn(serve_connection(stream, router.clone()));
                }
            }
        }
    }
}

fn routes(app: Arc<App>) -> Router {
    Router::new()
        .route("/services/oauth2/token", post(oauth::token))
        .route("/services/data", get(data::versions))
        .route("/services/data/", get(data::versions))
        .route("/services/data/{*rest}", any(data::handle))
        .route("/cometd/{version}", post(crate::streaming::handle))
        .route("/__emulator/{*rest}", any(crate::admin::handle))
        .fallback(|| async { json_response(404, crate::errors::ApiError::not_found().body()) })
        .layer(axum::extract::DefaultBodyLimit::max(160 * 1024 * 1024))
        .with_state(app)
}

async fn serve_connection(stream: TcpStream, router: Router) {
    let _ = stream.set_nodelay(true);
    // A second handle on the socket lets a dropped connection be reset rather than
    // closed gracefully, as a crashed or overloaded server would.
    let Ok(std_stream) = stream.into_std() else {
        return;
    };
    let Ok(killer) = std_stream.try_clone() else {
        return;
    };
    let Ok(stream) = TcpStream::from_std(std_stream) else {
        return;
    };
    let kill = Arc::new(Notify::new());
    let handle = ConnKill(kill.clone());
    let service = hyper::service::service_fn(
        move |mut request: axum::http::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(handle.clone());
            router.clone().oneshot(request)
        },
    );
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        _ = kill.notified() => {
            let _ = socket2::SockRef::from(&killer).set_linger(Some(Duration::ZERO));
        }
    }
}

/// Applies the request-level faults configured for `class`: waits out injected latency,
/// drops the connection (never returning), or yields the failure response to send.
pub async fn inject_faults(
    app: &App,
    class: &'static str,
    conn: &ConnKill,
) -> Result<(), Response<Body>> {
    let plan = app
        .faults
        .on_request(class, |kind| app.counters.fault(kind));
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    if plan.drop {
        conn.kill();
        std::future::pending::<()>().await;
    }
    match plan.fail {
        Some(error) => Err(json_response(error.status, error.body())),
        None => Ok(()),
    }
}

/// What the `Authorization` header (`Bearer <token>` or `OAuth <token>`) holds.
pub enum Session {
    Valid,
    Missing,
    Invalid,
}

/// Checks the request's session token against the issued, unexpired ones.
pub fn session(app: &App, headers: &axum::http::HeaderMap) -> Session {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Session::Missing;
    };
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("OAuth "))
        .unwrap_or_default()
        .trim();
    if app.tokens.valid(token, app.clock.now_ms()) {
        Session::Valid
    } else {
        Session::Invalid
    }
}

/// Counts a response by status for the admin counters, and passes it on.
pub fn counted(app: &App, response: Response<Body>) -> Response<Body> {
    app.counters.status(response.status().as_u16());
    response
}

/// A JSON response with Salesforce's content type.
pub fn json_response(status: u16, body: String) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    response
}

/// A response without a body (204, 304).
pub fn empty_response(status: u16) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::NO_CONTENT);
    response
}
