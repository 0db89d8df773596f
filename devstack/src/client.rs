//! A small telnet client for tests and the load tool: sends lines, reads lines, and refuses every
//! telnet option the server offers (so it behaves like the simplest client there is).

use std::collections::VecDeque;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const IAC: u8 = 255;
const DONT: u8 = 254;
const DO: u8 = 253;
const WONT: u8 = 252;
const WILL: u8 = 251;
const SB: u8 = 250;
const SE: u8 = 240;

/// Parser state for stripping telnet commands from what the server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Data,
    Iac,
    Verb(u8),
    Sub,
    SubIac,
}

pub struct TelnetClient {
    stream: TcpStream,
    state: State,
    partial: Vec<u8>,
    lines: VecDeque<String>,
    /// Every line read so far (for failure messages).
    transcript: Vec<String>,
    closed: bool,
}

impl TelnetClient {
    pub async fn connect(addr: impl tokio::net::ToSocketAddrs) -> std::io::Result<Self> {
        Self::from_stream(TcpStream::connect(addr).await?)
    }

    /// A client on a stream connected elsewhere (e.g. from a chosen source address).
    pub fn from_stream(stream: TcpStream) -> std::io::Result<Self> {
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            state: State::Data,
            partial: Vec::new(),
            lines: VecDeque::new(),
            transcript: Vec::new(),
            closed: false,
        })
    }

    /// Sends one line (CR LF added).
    pub async fn send(&mut self, line: &str) -> std::io::Result<()> {
        let mut bytes = Vec::with_capacity(line.len() + 2);
        for b in line.bytes() {
            bytes.push(b);
            if b == IAC {
                bytes.push(IAC);
            }
        }
        bytes.extend_from_slice(b"\r\n");
        self.stream.write_all(&bytes).await
    }

    /// Sends bytes exactly as given.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }

    pub fn is_closed(&self) -> bool {
        self.closed && self.lines.is_empty()
    }

    pub fn transcript(&self) -> &[String] {
        &self.transcript
    }

    /// The next line from the server, or `None` when the server closed the connection or
    /// nothing came within `timeout`.
    pub async fn next_line(&mut self, timeout: Duration) -> std::io::Result<Option<String>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(line) = self.lines.pop_front() {
                return Ok(Some(line));
            }
            if self.closed {
                return Ok(None);
            }
            let mut buf = [0u8; 4096];
            let n = match tokio::time::timeout_at(deadline, self.stream.read(&mut buf)).await {
                Err(_) => return Ok(None),
                Ok(Ok(0)) | Ok(Err(_)) => {
                    self.closed = true;
                    if !self.partial.is_empty() {
                        let line = String::from_utf8_lossy(&std::mem::take(&mut self.partial)).into_owned();
                        self.push_line(line);
                    }
                    continue;
                }
                Ok(Ok(n)) => n,
            };
            let replies = self.feed(&buf[..n]);
            if !replies.is_empty() {
                self.stream.write_all(&replies).await?;
            }
        }
    }

    /// Reads lines until one contains `needle`; fails with the transcript if none does in time.
    pub async fn expect(&mut self, needle: &str, timeout: Duration) -> std::io::Result<String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_line(left).await? {
                Some(line) if line.contains(needle) => return Ok(line),
                Some(_) => continue,
                None => {
                    let tail: Vec<&String> = self.transcript.iter().rev().take(15).collect();
                    return Err(std::io::Error::other(format!(
                        "no line containing {needle:?} within {timeout:?}{}; last lines (newest first): {tail:?}",
                        if self.closed { " (connection closed)" } else { "" }
                    )));
                }
            }
        }
    }

    /// Reads lines until one contains any of `needles`.
    pub async fn expect_any(&mut self, needles: &[&str], timeout: Duration) -> std::io::Result<String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_line(left).await? {
                Some(line) if needles.iter().any(|n| line.contains(n)) => return Ok(line),
                Some(_) => continue,
                None => {
                    return Err(std::io::Error::other(format!(
                        "none of {needles:?} within {timeout:?}"
                    )));
                }
            }
        }
    }

    /// The socket, for writing raw bytes without reading (what was read and not consumed is
    /// dropped).
    pub fn into_stream(self) -> TcpStream {
        self.stream
    }

    /// Waits until the server closes the connection.
    pub async fn expect_closed(&mut self, timeout: Duration) -> std::io::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.closed {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Err(std::io::Error::other("the server did not close the connection"));
            }
            self.next_line(left).await?;
        }
        Ok(())
    }

    fn push_line(&mut self, line: String) {
        self.transcript.push(line.clone());
        if self.transcript.len() > 10_000 {
            self.transcript.drain(..5_000);
        }
        self.lines.push_back(line);
    }

    /// Strips telnet commands, splits lines, and returns refusals for every option offered.
    fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut replies = Vec::new();
        for &b in bytes {
            self.state = match (self.state, b) {
                (State::Data, IAC) => State::Iac,
                (State::Data, b'\n') => {
                    if self.partial.last() == Some(&b'\r') {
                        self.partial.pop();
                    }
                    let line = String::from_utf8_lossy(&std::mem::take(&mut self.partial)).into_owned();
                    self.push_line(line);
                    State::Data
                }
                (State::Data, b) => {
                    self.partial.push(b);
                    State::Data
                }
                (State::Iac, IAC) => {
                    self.partial.push(IAC);
                    State::Data
                }
                (State::Iac, v @ (DO | DONT | WILL | WONT)) => State::Verb(v),
                (State::Iac, SB) => State::Sub,
                (State::Iac, _) => State::Data,
                (State::Verb(v), opt) => {
                    match v {
                        DO => replies.extend_from_slice(&[IAC, WONT, opt]),
                        WILL => replies.extend_from_slice(&[IAC, DONT, opt]),
                        _ => {}
                    }
                    State::Data
                }
                (State::Sub, IAC) => State::SubIac,
                (State::Sub, _) => State::Sub,
                (State::SubIac, SE) => State::Data,
                (State::SubIac, _) => State::Sub,
            };
        }
        replies
    }
}

/// What the tests and the load tool need of a player's client, whatever its transport.
#[allow(async_fn_in_trait)]
pub trait LineClient {
    /// Sends one line as the player typed it.
    async fn send(&mut self, line: &str) -> std::io::Result<()>;
    /// The next line of output, or `None` when closed or nothing came within `timeout`.
    async fn next_line(&mut self, timeout: Duration) -> std::io::Result<Option<String>>;
    /// Reads lines until one contains `needle`.
    async fn expect(&mut self, needle: &str, timeout: Duration) -> std::io::Result<String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_line(left).await? {
                Some(line) if line.contains(needle) => return Ok(line),
                Some(_) => continue,
                None => {
                    return Err(std::io::Error::other(format!(
                        "no line containing {needle:?} within {timeout:?}"
                    )));
                }
            }
        }
    }
    /// Whether the server closed the connection (and every line was read).
    fn is_closed(&self) -> bool;
}

impl LineClient for TelnetClient {
    async fn send(&mut self, line: &str) -> std::io::Result<()> {
        TelnetClient::send(self, line).await
    }

    async fn next_line(&mut self, timeout: Duration) -> std::io::Result<Option<String>> {
        TelnetClient::next_line(self, timeout).await
    }

    async fn expect(&mut self, needle: &str, timeout: Duration) -> std::io::Result<String> {
        TelnetClient::expect(self, needle, timeout).await
    }

    fn is_closed(&self) -> bool {
        TelnetClient::is_closed(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn strips_commands_refuses_options_and_splits_lines() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            s.write_all(&[IAC, WILL, 201, IAC, DO, 31]).await.unwrap();
            s.write_all(b"Hel").await.unwrap();
            s.write_all(&[IAC, SB, 201, b'x', IAC, SE]).await.unwrap();
            s.write_all(b"lo\r\nsecond \xff\xff line\r\n").await.unwrap();
            let mut got = [0u8; 6];
            s.read_exact(&mut got).await.unwrap();
            got
        });
        let mut c = TelnetClient::connect(addr).await.unwrap();
        assert_eq!(
            c.next_line(Duration::from_secs(2)).await.unwrap().unwrap(),
            "Hello"
        );
        assert_eq!(
            c.expect("line", Duration::from_secs(2)).await.unwrap(),
            String::from_utf8_lossy(b"second \xff line")
        );
        assert_eq!(server.await.unwrap(), [IAC, DONT, 201, IAC, WONT, 31]);
        c.expect_closed(Duration::from_secs(2)).await.unwrap();
    }
}
