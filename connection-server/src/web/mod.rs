//! The web port: the browser client (static files embedded in the binary) and its WebSocket,
//! over HTTP/1.1 (or HTTPS on the TLS web port). A WebSocket is a player connection like a
//! telnet one: the same session, limits and restart behaviour (`docs/web-protocol.md`).
//!
//! The socket was admitted by the accept loop (connection limits, per-address limits); a page
//! request holds that admission while its connection lives (at most [`HTTP_LIFETIME`]), and the
//! WebSocket takes it over for the session's whole life.

pub mod codec;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Extension, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use mush_protocol::Transport;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::codec::ClientCodec;
use crate::gateway::{self, Admitted, Gateway};
use crate::link::{Inlet, Outlet};
use crate::session::Link;
use codec::WebCodec;

const INDEX_HTML: &str = include_str!("client/index.html");
const CLIENT_JS: &str = include_str!("client/client.js");
const CLIENT_CSS: &str = include_str!("client/client.css");

/// Longest an HTTP connection that did not become a WebSocket stays open.
pub const HTTP_LIFETIME: Duration = Duration::from_secs(60);
/// Time a client has to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head read (the minimum hyper allows).
const MAX_REQUEST_HEAD: usize = 8192;
/// The WebSocket's read buffer; it grows to a whole message when one arrives, within the
/// message limit.
const WS_READ_BUFFER: usize = 2048;
/// Outgoing frames are gathered up to this before a socket write (the session flushes each
/// batch anyway).
const WS_WRITE_BUFFER: usize = 16 * 1024;
/// What the page may load and connect to: itself only.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One HTTP connection, as its requests see it.
#[derive(Clone)]
struct WebConn {
    peer: SocketAddr,
    tls: bool,
    /// The socket's admission, taken over by the WebSocket session.
    admitted: Arc<Mutex<Option<Admitted>>>,
}

/// Serves HTTP on one admitted socket until it closes, becomes a WebSocket, or outlives
/// [`HTTP_LIFETIME`].
pub async fn serve<Io>(gw: Arc<Gateway>, io: Io, peer: SocketAddr, admitted: Admitted, tls: bool)
where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = WebConn {
        peer,
        tls,
        admitted: Arc::new(Mutex::new(Some(admitted))),
    };
    let app = router(gw).layer(Extension(conn));
    let service = hyper_util::service::TowerToHyperService::new(app);
    let http = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_REQUEST_HEAD)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    if let Ok(Err(e)) = tokio::time::timeout(HTTP_LIFETIME, http).await {
        tracing::debug!(%peer, error = %e, "web connection ended with an error");
    }
}

fn router(gw: Arc<Gateway>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { page("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/client.js",
            get(|| async { page("text/javascript; charset=utf-8", CLIENT_JS) }),
        )
        .route(
            "/client.css",
            get(|| async { page("text/css; charset=utf-8", CLIENT_CSS) }),
        )
        .route("/ws", get(websocket))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(gw)
}

/// A static file, with headers that keep the page to itself.
fn page(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// Whether a WebSocket may be opened from a page of `origin` (the request's `Origin` header):
/// any when no list is configured; otherwise only the listed origins (compared without case and
/// a trailing slash), or no origin at all (a client that is not a browser).
pub fn origin_allowed(allowed: &[String], origin: Option<&str>) -> bool {
    let Some(origin) = origin else {
        return true;
    };
    let plain = |o: &str| o.trim().trim_end_matches('/').to_ascii_lowercase();
    allowed.is_empty() || allowed.iter().any(|a| plain(a) == plain(origin))
}

/// `GET /ws`: the WebSocket, a player connection from here on.
async fn websocket(
    State(gw): State<Arc<Gateway>>,
    Extension(conn): Extension<WebConn>,
    headers: axum::http::HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let origin = headers
        .get(header::ORIGIN)
        .map(|o| o.to_str().unwrap_or("(not text)"));
    if !origin_allowed(&gw.config.web_allowed_origins, origin) {
        gw.metrics.refused.inc("origin");
        tracing::info!(origin = origin.unwrap_or(""), peer = %conn.peer, "WebSocket from a page of an origin not allowed");
        return (
            StatusCode::FORBIDDEN,
            "This page may not open a game session (its origin is not allowed).\n",
        )
            .into_response();
    }
    if gw.phases.drain.is_triggered() {
        gw.metrics.refused.inc("draining");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "This gateway is shutting down. Please reconnect.\n",
        )
            .into_response();
    }
    let Some(admitted) = conn.admitted.lock().expect("admission lock").take() else {
        return (StatusCode::CONFLICT, "one WebSocket per connection\n").into_response();
    };
    let Some(handle) = gw.allocate_handle() else {
        gw.metrics.refused.inc("handles_exhausted");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "This gateway is restarting. Please reconnect.\n",
        )
            .into_response();
    };
    let max_message = gw.config.max_web_message_bytes();
    let max_write = gw.config.output_queue_bytes + WS_WRITE_BUFFER;
    upgrade
        .read_buffer_size(WS_READ_BUFFER)
        .write_buffer_size(WS_WRITE_BUFFER)
        .max_write_buffer_size(max_write)
        .max_message_size(max_message)
        .max_frame_size(max_message)
        .on_failed_upgrade(|e| tracing::debug!(error = %e, "WebSocket upgrade failed"))
        .on_upgrade(move |socket| async move {
            let (sink, stream) = socket.split();
            let link = Link {
                inlet: Inlet::Web(stream),
                outlet: Outlet::Web(sink),
                codec: ClientCodec::Web(WebCodec::new(gw.config.max_line_bytes, conn.tls)),
                transport: Transport::WebSocket,
            };
            let tasks = gw.phases.close.clone();
            tasks.spawn(gateway::serve_session(gw, link, conn.peer, handle, admitted));
        })
}

/// A refusal at accept on the web port: an HTTP 503 with the reason.
pub fn refusal_response(message: &str) -> String {
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{message}\n",
        message.len() + 1
    )
}

#[cfg(test)]
mod tests {
    use super::origin_allowed;

    #[test]
    fn only_listed_pages_may_open_a_websocket_once_a_list_is_given() {
        let any: Vec<String> = Vec::new();
        assert!(origin_allowed(&any, Some("https://elsewhere.example")));
        let listed = vec![
            "https://play.example.org".to_owned(),
            "http://localhost:4280/".to_owned(),
        ];
        assert!(origin_allowed(&listed, Some("https://play.example.org")));
        assert!(
            origin_allowed(&listed, Some("HTTPS://Play.Example.org/")),
            "case and a trailing slash do not matter"
        );
        assert!(origin_allowed(&listed, Some("http://localhost:4280")));
        assert!(!origin_allowed(&listed, Some("https://evil.example")));
        assert!(!origin_allowed(
            &listed,
            Some("https://play.example.org.evil.example")
        ));
        assert!(
            !origin_allowed(&listed, Some("null")),
            "sandboxed pages and files are not listed"
        );
        assert!(
            origin_allowed(&listed, None),
            "clients that are not browsers send no origin"
        );
    }
}
