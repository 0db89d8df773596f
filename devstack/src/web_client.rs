//! A small browser-protocol client for tests and the load tool: the gateway's WebSocket
//! (`docs/web-protocol.md`), reading `text` and `prompt` messages as lines.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::client::LineClient;

pub struct WebClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    lines: VecDeque<String>,
    /// Every other message (hello, status, gmcp, error), as JSON, oldest first.
    pub others: Vec<serde_json::Value>,
    closed: bool,
}

impl WebClient {
    /// Opens `ws://<addr>/ws`.
    pub async fn connect(addr: SocketAddr) -> std::io::Result<Self> {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .map_err(std::io::Error::other)?;
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_nodelay(true)?;
        }
        Ok(Self {
            ws,
            lines: VecDeque::new(),
            others: Vec::new(),
            closed: false,
        })
    }

    /// Sends one JSON message as it is.
    pub async fn send_json(&mut self, message: &serde_json::Value) -> std::io::Result<()> {
        self.ws
            .send(Message::text(message.to_string()))
            .await
            .map_err(std::io::Error::other)
    }

    fn take(&mut self, message: serde_json::Value) {
        match message["type"].as_str() {
            Some("text") | Some("prompt") => {
                let text = message["text"].as_str().unwrap_or_default();
                self.lines.extend(text.split('\n').map(str::to_owned));
            }
            _ => self.others.push(message),
        }
    }
}

impl LineClient for WebClient {
    async fn send(&mut self, line: &str) -> std::io::Result<()> {
        self.send_json(&serde_json::json!({"type": "input", "text": line}))
            .await
    }

    async fn next_line(&mut self, timeout: Duration) -> std::io::Result<Option<String>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(line) = self.lines.pop_front() {
                return Ok(Some(line));
            }
            if self.closed {
                return Ok(None);
            }
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return Ok(None),
                Ok(Some(Ok(Message::Text(text)))) => {
                    let value = serde_json::from_str(&text).map_err(std::io::Error::other)?;
                    self.take(value);
                }
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => self.closed = true,
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    fn is_closed(&self) -> bool {
        self.closed && self.lines.is_empty()
    }
}
