//! The HTTP server: our own accept loop (so a fault can really drop a connection),
//! hyper for HTTP/1.1, axum for routing between the Salesforce paths, OAuth and the
//! admin API.

mod data;
pub mod oauth;

use crate::app::{App, Counters};
use crate::errors::{ApiError, SfError};
use crate::faults::{After, FaultKind, Faults};
use axum::body::{Body, Bytes};
use axum::extract::{Extension, FromRequest, FromRequestParts, Request};
use axum::http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode, Uri};
use axum::response::IntoResponse;
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

/// What every system's API handler reads of a request: the connection (so a fault can
/// drop it), method, URI, headers and the whole body.
pub struct ApiRequest {
    /// Drops the connection the request came on.
    pub conn: ConnKill,
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for ApiRequest {
    type Rejection = Response<Body>;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let Extension(conn) = Extension::<ConnKill>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let (method, uri, headers) = (
            parts.method.clone(),
            parts.uri.clone(),
            parts.headers.clone(),
        );
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(ApiRequest {
            conn,
            method,
            uri,
            headers,
            body,
        })
    }
}

/// Accepts connections for `router` until `shutdown` fires.
pub async fn serve(listener: TcpListener, router: Router, mut shutdown: oneshot::Receiver<()>) {
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

/// The Salesforce emulator's routes.
pub fn routes(app: Arc<App>) -> Router {
    Router::new()
        .route("/services/oauth2/token", post(oauth::token))
        .route("/services/data", get(data::versions))
        .route("/services/data/", get(data::versions))
        .route("/services/data/{*rest}", any(data::handle))
        .route("/__emulator/{*rest}", any(crate::admin::handle))
        .fallback(|| async { json_response(404, crate::errors::ApiError::not_found().body()) })
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
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

/// Applies the request-level faults configured for `class` (Salesforce's error bodies);
/// what the answer then meets goes to [`lose_answer`] once the request was processed.
pub async fn inject_faults(
    app: &App,
    class: &'static str,
    conn: &ConnKill,
) -> Result<Option<After>, Response<Body>> {
    apply_faults(&app.faults, &app.counters, class, conn, |kind| {
        let error = match kind {
            FaultKind::Unavailable => ApiError::new(
                503,
                SfError::new("SERVER_UNAVAILABLE", "Server temporarily unavailable, please retry"),
            ),
            _ => ApiError::new(
                500,
                SfError::new(
                    "UNKNOWN_EXCEPTION",
                    "An unexpected error occurred. Please include this ErrorId if you contact support: 1958320377-43051 (-1364373624)",
                ),
            ),
        };
        json_response(error.status, error.body())
    })
    .await
}

/// Applies the request-level faults configured for `class` of any system: waits out
/// injected latency, drops the connection (never returning), or yields the failure
/// response `render` makes for the fault's kind (with `Retry-After` on a 429 storm).
/// Otherwise the request goes ahead, and what its answer then meets is returned (an
/// `*_after` fault, for [`lose_answer`]).
pub async fn apply_faults(
    faults: &Faults,
    counters: &Counters,
    class: &'static str,
    conn: &ConnKill,
    render: impl FnOnce(FaultKind) -> Response<Body>,
) -> Result<Option<After>, Response<Body>> {
    let plan = faults.on_request(class, |kind| counters.fault(kind));
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    if plan.drop {
        conn.kill();
        std::future::pending::<()>().await;
    }
    match plan.fail {
        Some(kind) => {
            let mut response = render(kind);
            if kind == FaultKind::RateLimited {
                let retry = HeaderValue::from(plan.retry_after_secs);
                response.headers_mut().insert(header::RETRY_AFTER, retry);
            }
            Err(response)
        }
        None => Ok(plan.after),
    }
}

/// The answer to a request that was processed (its writes committed), as an `*_after`
/// fault spoils it: the connection reset at once or after a stall (never returning), a
/// server error in place of the answer, or the answer padded beyond a client's cap.
pub async fn lose_answer(
    after: Option<After>,
    answer: Response<Body>,
    conn: &ConnKill,
) -> Response<Body> {
    match after {
        None => answer,
        Some(After::Drop) => kill(conn).await,
        Some(After::Stall(hold)) => {
            tokio::time::sleep(hold).await;
            kill(conn).await
        }
        Some(After::Fail(500)) => {
            let error = crate::errors::ApiError::new(
                500,
                crate::errors::SfError::new(
                    "UNKNOWN_EXCEPTION",
                    "An unexpected error occurred. Please include this ErrorId if you contact support: 1958320377-43051 (-1364373624)",
                ),
            );
            json_response(error.status, error.body())
        }
        Some(After::Fail(status)) => gateway_page(status),
        Some(After::Pad(bytes)) => pad(answer, bytes).await,
    }
}

async fn kill(conn: &ConnKill) -> Response<Body> {
    conn.kill();
    std::future::pending::<Response<Body>>().await
}

/// What a load balancer in front of the org answers when the server behind it broke.
fn gateway_page(status: u16) -> Response<Body> {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let title = format!(
        "{} {}",
        code.as_u16(),
        code.canonical_reason().unwrap_or("Error")
    );
    let mut response = Response::new(Body::from(format!(
        "<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
    )));
    *response.status_mut() = code;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    response
}

/// `answer` with `bytes` spaces after its body: the same JSON, much bigger.
async fn pad(answer: Response<Body>, bytes: u64) -> Response<Body> {
    let (mut parts, body) = answer.into_parts();
    let mut data = axum::body::to_bytes(body, usize::MAX)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    data.resize(data.len() + bytes as usize, b' ');
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(data))
}

/// A JSON response with Salesforce's content type.
pub fn json_response(status: u16, body: String) -> Response<Body> {
    typed_response(status, "application/json;charset=UTF-8", body)
}

/// A response with a body of the given content type.
pub fn typed_response(status: u16, content_type: &'static str, body: String) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A response without a body (204, 304).
pub fn empty_response(status: u16) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::NO_CONTENT);
    response
}
