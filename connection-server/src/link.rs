//! The socket side of a connection, whatever the transport: plain TCP, TLS, or a WebSocket
//! (itself over TCP or TLS). The session reads chunks from the [`Inlet`] and writes staged
//! bytes to the [`Outlet`]; which protocol the bytes are in is the codec's business.

use std::pin::Pin;
use std::task::Poll;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use bytes::Bytes;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use mush_protocol::DisconnectReason;
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio_rustls::server::TlsStream;

use crate::web::codec::messages;

/// Bytes read from a stream at once, at most.
pub const READ_CHUNK: usize = 4096;

/// What one read brought.
#[derive(Debug)]
pub enum Received {
    /// Bytes of a telnet stream, or one WebSocket text message.
    Data(Bytes),
    /// A WebSocket binary message of this many bytes (not part of the protocol).
    Binary(usize),
    /// A WebSocket ping or pong of this many bytes (answered by the WebSocket layer).
    Control(usize),
    /// A WebSocket message over the size limit: the connection must close.
    TooBig,
    /// The client closed the connection.
    End,
}

pub enum Inlet {
    Tcp(OwnedReadHalf),
    Tls(ReadHalf<TlsStream<TcpStream>>),
    Web(SplitStream<WebSocket>),
}

impl Inlet {
    /// Waits for input: at most `max` bytes of a stream, or one whole WebSocket message (whose
    /// size the WebSocket layer bounds). Cancel safe: nothing is lost when another branch wins.
    pub async fn read(&mut self, max: usize) -> std::io::Result<Received> {
        match self {
            Inlet::Tcp(r) => read_stream(r, max).await,
            Inlet::Tls(r) => read_stream(r, max).await,
            Inlet::Web(ws) => Ok(match ws.next().await {
                None => Received::End,
                Some(Ok(Message::Text(text))) => Received::Data(Bytes::from(text)),
                Some(Ok(Message::Binary(b))) => Received::Binary(b.len()),
                Some(Ok(Message::Ping(b) | Message::Pong(b))) => Received::Control(b.len()),
                Some(Ok(Message::Close(_))) => Received::End,
                Some(Err(e)) => {
                    if too_big(e) {
                        Received::TooBig
                    } else {
                        Received::End
                    }
                }
            }),
        }
    }
}

/// Whether a WebSocket error is a message or frame over the size limit.
fn too_big(e: axum::Error) -> bool {
    use tungstenite::error::{CapacityError, Error};
    matches!(
        e.into_inner().downcast_ref::<Error>(),
        Some(Error::Capacity(CapacityError::MessageTooLong { .. }))
    )
}

/// One read of at most `max` bytes. The buffer lives only in the poll, never in the (long-lived,
/// mostly idle) future: an idle connection holds no read buffer.
async fn read_stream<R: AsyncRead + Unpin>(reader: &mut R, max: usize) -> std::io::Result<Received> {
    std::future::poll_fn(|cx| {
        let mut buf = [0u8; READ_CHUNK];
        let mut read = ReadBuf::new(&mut buf[..max.clamp(1, READ_CHUNK)]);
        match Pin::new(&mut *reader).poll_read(cx, &mut read) {
            Poll::Ready(Ok(())) if read.filled().is_empty() => Poll::Ready(Ok(Received::End)),
            Poll::Ready(Ok(())) => Poll::Ready(Ok(Received::Data(Bytes::copy_from_slice(read.filled())))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

pub enum Outlet {
    Tcp(OwnedWriteHalf),
    Tls(WriteHalf<TlsStream<TcpStream>>),
    Web(SplitSink<WebSocket, Message>),
}

impl Outlet {
    /// Writes staged bytes: as they are on a stream; on a WebSocket, each staged line as one
    /// text message, all sent in one flush.
    pub async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Outlet::Tcp(w) => w.write_all(bytes).await,
            Outlet::Tls(w) => {
                w.write_all(bytes).await?;
                w.flush().await
            }
            Outlet::Web(ws) => {
                for message in messages(bytes) {
                    let text = std::str::from_utf8(message).map_err(std::io::Error::other)?;
                    ws.feed(Message::Text(text.into()))
                        .await
                        .map_err(std::io::Error::other)?;
                }
                ws.flush().await.map_err(std::io::Error::other)
            }
        }
    }

    /// Ends the connection: a TCP/TLS shutdown, or a WebSocket close frame saying why.
    pub async fn close(&mut self, reason: DisconnectReason, too_big: bool) {
        match self {
            Outlet::Tcp(w) => {
                let _ = w.shutdown().await;
            }
            Outlet::Tls(w) => {
                let _ = w.shutdown().await;
            }
            Outlet::Web(ws) => {
                let (code, why) = close_code(reason, too_big);
                let _ = ws
                    .send(Message::Close(Some(CloseFrame {
                        code,
                        reason: why.into(),
                    })))
                    .await;
                let _ = ws.close().await;
            }
        }
    }
}

/// The WebSocket close code for why a connection ends (`docs/web-protocol.md`).
pub fn close_code(reason: DisconnectReason, too_big: bool) -> (u16, &'static str) {
    if too_big {
        return (1009, "message too big");
    }
    match reason {
        DisconnectReason::GatewayShutdown | DisconnectReason::GatewayLost => (1001, "gateway shutting down"),
        DisconnectReason::ProtocolError => (1008, "too much input"),
        DisconnectReason::OutputOverflow => (1008, "output not read"),
        _ => (1000, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_tell_a_browser_whether_to_reconnect() {
        assert_eq!(close_code(DisconnectReason::GatewayShutdown, false).0, 1001);
        assert_eq!(close_code(DisconnectReason::ProtocolError, false).0, 1008);
        assert_eq!(close_code(DisconnectReason::OutputOverflow, false).0, 1008);
        assert_eq!(close_code(DisconnectReason::ClientClosed, true).0, 1009);
        assert_eq!(
            close_code(DisconnectReason::Quit, false).0,
            1000,
            "the player quit: no reconnect"
        );
    }
}
