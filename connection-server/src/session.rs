//! One player connection: steps 1 and 4 of a command's journey.
//!
//! The task reads bytes, runs them through the telnet codec, and publishes each complete line
//! and each client change as an event keyed by the handle (so the game sees them in order). It
//! writes the game's output for this connection, encoded for this client (charset, IAC escaping,
//! EOR/GA, GMCP, MCCP2), one socket write per batch of queued messages.
//!
//! Limits live here: the command rate (token bucket: excess lines are delayed, then refused with
//! a notice), the line length (cut with a notice), the idle timeouts, and the input held while
//! Kafka is unreachable (bounded; the player is told once that the game is unreachable and told
//! about every line that could not be held: nothing is dropped silently).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesOrdered;
use mush_platform::bus::PendingDelivery;
use mush_protocol::keys::ConnectionState;
use mush_protocol::{
    ConnectionRecord, DisconnectReason, GameMessage, GameMessageKind, GatewayEvent, GatewayEventKind, Handle,
    Timestamp, Transport,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::gateway::Gateway;
use crate::limits::TokenBucket;
use crate::telnet::{CodecConfig, Compressor, Inbound, TelnetCodec};

/// A write that takes longer than this means the client is not reading.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Input unacknowledged this long means Kafka is unreachable: the player is told.
const UNREACHABLE_AFTER: Duration = Duration::from_secs(2);
/// Queued messages written in one batch (one socket write).
const BATCH: usize = 64;

pub const DRAIN_NOTICE: &str =
    "*** This gateway is shutting down for maintenance. Please reconnect: you will reach another one. ***";
pub const CLOSE_NOTICE: &str = "*** Gateway closing now. Please reconnect. ***";
pub const UNREACHABLE_NOTICE: &str =
    "*** The game is not reachable right now. What you type is held and delivered when it is back. ***";
pub const REACHABLE_NOTICE: &str = "*** The game is reachable again. ***";
pub const UNAVAILABLE_NOTICE: &str = "The game is temporarily unavailable. Please try again in a moment.";

/// Why the session loop ended.
enum End {
    Closed(DisconnectReason, Option<String>),
}

struct Session {
    gw: Arc<Gateway>,
    handle: Handle,
    writer: OwnedWriteHalf,
    codec: TelnetCodec,
    compressor: Option<Compressor>,
    /// Plain bytes staged for the next write.
    out: Vec<u8>,
    bucket: TokenBucket,
    /// Lines held back by the rate limit, with the time they were read.
    delayed: VecDeque<(Bytes, Timestamp)>,
    /// Events handed to Kafka and not yet acknowledged, oldest first, with when they were handed.
    in_flight: FuturesOrdered<PendingDelivery>,
    in_flight_since: VecDeque<Instant>,
    told_unreachable: bool,
    /// Per input partition, the newest output origin written (drops re-sent duplicates).
    last_origin: HashMap<i32, mush_protocol::Origin>,
    last_input: Instant,
    /// Cancelled by the router when this client's queue is full: ends even a blocked write.
    overflow: CancellationToken,
}

/// Runs one connection to its end, inside a span that names it, so one player's story can be
/// read from the logs (at debug level: an idle span costs memory per connection otherwise;
/// the gateway's own log lines carry the handle as a field).
pub async fn run(
    gw: Arc<Gateway>,
    stream: TcpStream,
    peer: SocketAddr,
    handle: Handle,
    rx: mpsc::Receiver<Arc<GameMessage>>,
    overflow: CancellationToken,
) {
    let span = tracing::debug_span!("conn", %handle, %peer);
    run_connection(gw, stream, peer, handle, rx, overflow)
        .instrument(span)
        .await
}

async fn run_connection(
    gw: Arc<Gateway>,
    stream: TcpStream,
    peer: SocketAddr,
    handle: Handle,
    rx: mpsc::Receiver<Arc<GameMessage>>,
    overflow: CancellationToken,
) {
    let (reader, writer) = stream.into_split();
    let now = Instant::now();
    let mut s = Session {
        codec: TelnetCodec::new(CodecConfig {
            max_line_bytes: gw.config.max_line_bytes,
            offer_mccp: gw.config.mccp,
            ..CodecConfig::default()
        }),
        bucket: TokenBucket::new(gw.config.commands_per_second, gw.config.command_burst, now),
        gw,
        handle,
        writer,
        compressor: None,
        out: Vec::new(),
        delayed: VecDeque::new(),
        in_flight: FuturesOrdered::new(),
        in_flight_since: VecDeque::new(),
        told_unreachable: false,
        last_origin: HashMap::new(),
        last_input: now,
        overflow: overflow.clone(),
    };

    // Critical write first: the connection exists for the game only once Redis has it.
    let record = ConnectionRecord::new(
        handle,
        &s.gw.config.gateway_name,
        &peer.to_string(),
        Transport::Telnet,
        Timestamp::now(),
    );
    if let Err(e) = Box::pin(s.gw.store.register(&record)).await {
        tracing::warn!(%handle, error = %e, "could not register a new connection: refusing it");
        s.out.extend_from_slice(UNAVAILABLE_NOTICE.as_bytes());
        s.out.extend_from_slice(b"\r\n");
        let _ = Box::pin(s.flush()).await;
        s.gw.metrics
            .connection_events
            .with_label_values(&["refused", "redis_unavailable"])
            .inc();
        return;
    }
    tracing::debug!(%handle, %peer, "connected");
    s.publish(GatewayEventKind::Connected {
        peer_addr: peer.to_string(),
        transport: Transport::Telnet,
        gateway: s.gw.config.gateway_name.clone(),
    });
    let greeting = s.codec.greeting();
    s.out.extend_from_slice(&greeting);
    let end = match Box::pin(s.flush()).await {
        Ok(()) => Box::pin(s.run_loop(reader, rx, &overflow)).await,
        Err(_) => End::Closed(DisconnectReason::ClientClosed, None),
    };
    let End::Closed(reason, detail) = end;
    Box::pin(s.close(reason, detail.unwrap_or_default())).await;
}

impl Session {
    async fn run_loop(
        &mut self,
        reader: tokio::net::tcp::OwnedReadHalf,
        mut rx: mpsc::Receiver<Arc<GameMessage>>,
        overflow: &CancellationToken,
    ) -> End {
        let mut events = Vec::new();
        let mut drain_told = false;
        let gw = self.gw.clone();
        let idle_sleep = tokio::time::sleep(Duration::from_secs(3600));
        tokio::pin!(idle_sleep);
        let mut idle_checked_at = Instant::now();
        loop {
            if let Some(deadline) = self.idle_deadline(idle_checked_at) {
                idle_sleep.as_mut().reset(deadline.into());
            }
            let delay = self.bucket.wait_time(Instant::now());
            tokio::select! {
                biased;
                _ = overflow.cancelled() => {
                    return End::Closed(DisconnectReason::OutputOverflow, Some("output queue full".into()));
                }
                _ = gw.close_all.cancelled() => {
                    self.codec.encode_text(CLOSE_NOTICE, &mut self.out);
                    let _ = Box::pin(self.flush()).await;
                    return End::Closed(DisconnectReason::GatewayShutdown, None);
                }
                _ = gw.drain.cancelled(), if !drain_told => {
                    drain_told = true;
                    self.codec.encode_text(DRAIN_NOTICE, &mut self.out);
                    if Box::pin(self.flush()).await.is_err() {
                        return End::Closed(DisconnectReason::ClientClosed, None);
                    }
                }
                msg = rx.recv() => {
                    let Some(msg) = msg else {
                        return End::Closed(DisconnectReason::GatewayShutdown, None);
                    };
                    if let Some(end) = Box::pin(self.write_output(msg, &mut rx)).await {
                        return end;
                    }
                }
                readable = reader.readable() => {
                    if readable.is_err() {
                        return End::Closed(DisconnectReason::ClientClosed, None);
                    }
                    // The buffer lives only in this block, never across an await, so it is not
                    // part of the (long-lived, mostly idle) task.
                    let at = Timestamp::now();
                    events.clear();
                    let read = {
                        let mut buf = [0u8; 4096];
                        let read = reader.try_read(&mut buf);
                        if let Ok(n) = read {
                            self.codec.receive(&buf[..n], &mut events);
                        }
                        read
                    };
                    match read {
                        Ok(0) => return End::Closed(DisconnectReason::ClientClosed, None),
                        Ok(n) => gw.metrics.bytes_in.inc_by(n as u64),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                        Err(_) => return End::Closed(DisconnectReason::ClientClosed, None),
                    }
                    for ev in events.drain(..) {
                        Box::pin(self.on_inbound(ev, at)).await;
                    }
                    if Box::pin(self.flush()).await.is_err() {
                        return End::Closed(DisconnectReason::ClientClosed, None);
                    }
                }
                Some(result) = self.in_flight.next(), if !self.in_flight.is_empty() => {
                    self.in_flight_since.pop_front();
                    gw.metrics.held_input.dec();
                    if let Err(e) = result {
                        tracing::warn!(handle = %self.handle, error = %e, "an input event never reached Kafka");
                        self.codec.encode_text("*** Some of your input could not be delivered to the game. ***", &mut self.out);
                    }
                    if self.in_flight.is_empty() && self.told_unreachable {
                        self.told_unreachable = false;
                        self.codec.encode_text(REACHABLE_NOTICE, &mut self.out);
                    }
                    if Box::pin(self.flush()).await.is_err() {
                        return End::Closed(DisconnectReason::ClientClosed, None);
                    }
                }
                _ = tokio::time::sleep(delay), if !self.delayed.is_empty() => {
                    self.release_delayed();
                }
                _ = tokio::time::sleep(UNREACHABLE_AFTER), if !self.told_unreachable && !self.in_flight.is_empty() => {
                    if self.in_flight_since.front().is_some_and(|t| t.elapsed() >= UNREACHABLE_AFTER) {
                        self.told_unreachable = true;
                        self.codec.encode_text(UNREACHABLE_NOTICE, &mut self.out);
                        if Box::pin(self.flush()).await.is_err() {
                            return End::Closed(DisconnectReason::ClientClosed, None);
                        }
                    }
                }
                _ = &mut idle_sleep => {
                    idle_checked_at = Instant::now();
                    if let Some(end) = Box::pin(self.check_idle()).await {
                        return end;
                    }
                }
            }
        }
    }

    /// When the next idle check is due, if any timeout is configured.
    fn idle_deadline(&self, checked_at: Instant) -> Option<Instant> {
        let c = &self.gw.config;
        let timeouts = [c.login_idle_timeout_seconds, c.idle_timeout_seconds];
        let shortest = timeouts.into_iter().filter(|t| *t > 0).min()?;
        Some(self.last_input.max(checked_at) + Duration::from_secs(shortest))
    }

    /// Closes the connection if it has been idle too long. Whether the player is logged in is
    /// the game's knowledge, read from the connection record (only when a timeout is reached).
    async fn check_idle(&mut self) -> Option<End> {
        let c = &self.gw.config;
        let idle = self.last_input.elapsed();
        let login_limit =
            (c.login_idle_timeout_seconds > 0).then(|| Duration::from_secs(c.login_idle_timeout_seconds));
        let any_limit = (c.idle_timeout_seconds > 0).then(|| Duration::from_secs(c.idle_timeout_seconds));
        if any_limit.is_some_and(|l| idle >= l) {
            self.gw.metrics.limit("idle");
            self.codec
                .encode_text("*** Idle too long: disconnecting. ***", &mut self.out);
            let _ = Box::pin(self.flush()).await;
            return Some(End::Closed(DisconnectReason::IdleTimeout, Some("idle".into())));
        }
        if login_limit.is_some_and(|l| idle >= l) {
            let logged_in = match self.gw.store.get(self.handle).await {
                Ok(Some(r)) => r.state == ConnectionState::LoggedIn,
                // Unknown (Redis away): do not punish the player for it.
                _ => true,
            };
            if !logged_in {
                self.gw.metrics.limit("login_idle");
                self.codec.encode_text(
                    "*** Idle too long at the login screen: disconnecting. ***",
                    &mut self.out,
                );
                let _ = Box::pin(self.flush()).await;
                return Some(End::Closed(
                    DisconnectReason::IdleTimeout,
                    Some("idle at login".into()),
                ));
            }
        }
        None
    }

    async fn on_inbound(&mut self, event: Inbound, at: Timestamp) {
        match event {
            Inbound::Line(line) => self.on_line(Bytes::from(line), at),
            Inbound::LineTruncated { line, dropped } => {
                self.gw.metrics.limit("line_length");
                let notice = format!(
                    "*** Your line was longer than {} bytes: the last {dropped} bytes were cut. ***",
                    self.gw.config.max_line_bytes
                );
                self.codec.encode_text(&notice, &mut self.out);
                self.on_line(Bytes::from(line), at);
            }
            Inbound::Reply(bytes) => self.out.extend_from_slice(&bytes),
            Inbound::StartCompression => {
                // The reply that agreed to MCCP2 goes out uncompressed; everything after, compressed.
                let _ = Box::pin(self.flush()).await;
                self.compressor = Some(Compressor::new());
            }
            Inbound::WindowSize { width, height } => {
                self.publish(GatewayEventKind::WindowSize { width, height })
            }
            Inbound::ClientInfoChanged => {
                let info = self.codec.client_info().clone();
                self.publish(GatewayEventKind::ClientInfo(info));
            }
            Inbound::Gmcp { package, json } => self.publish(GatewayEventKind::Gmcp { package, json }),
            Inbound::Msdp { variable, value } => self.publish(GatewayEventKind::Msdp { variable, value }),
            Inbound::MsspRequested => {
                let uptime = self.gw.started_at.as_secs().to_string();
                let players = self
                    .gw
                    .players_online
                    .load(std::sync::atomic::Ordering::Relaxed)
                    .max(1);
                let vars = [
                    ("NAME", self.gw.config.game_name.clone()),
                    ("PLAYERS", players.to_string()),
                    ("UPTIME", uptime),
                    ("CODEBASE", format!("mush {}", env!("CARGO_PKG_VERSION"))),
                    ("PORT", self.gw.config.telnet_addr.port().to_string()),
                ];
                self.codec.encode_mssp(&vars, &mut self.out);
            }
            Inbound::ProtocolError(what) => {
                self.gw.metrics.protocol_errors.inc();
                tracing::debug!(handle = %self.handle, %what, "telnet protocol error");
            }
        }
    }

    /// A complete line: published now if the rate allows, held back if not, refused with a
    /// notice when too many are held back already.
    fn on_line(&mut self, line: Bytes, at: Timestamp) {
        self.last_input = Instant::now();
        self.gw.metrics.lines_in.inc();
        if self.delayed.is_empty() && self.bucket.try_take(Instant::now()) {
            self.publish_input(line, at);
        } else if self.delayed.len() < self.gw.config.command_burst as usize {
            self.gw.metrics.limit("rate_delayed");
            self.delayed.push_back((line, at));
        } else {
            self.gw.metrics.limit("rate_refused");
            let shown: String = String::from_utf8_lossy(&line).chars().take(40).collect();
            let notice = format!("*** You are typing too fast: \"{shown}\" was not accepted. ***");
            self.codec.encode_text(&notice, &mut self.out);
        }
    }

    fn release_delayed(&mut self) {
        while !self.delayed.is_empty() && self.bucket.try_take(Instant::now()) {
            let (line, at) = self.delayed.pop_front().expect("not empty");
            self.publish_input(line, at);
        }
    }

    fn publish_input(&mut self, line: Bytes, at: Timestamp) {
        if self.in_flight.len() >= self.gw.config.held_input {
            self.gw.metrics.limit("held_input_full");
            let shown: String = String::from_utf8_lossy(&line).chars().take(40).collect();
            let notice = format!(
                "*** The game is unreachable and no more input can be held: \"{shown}\" was not accepted. ***"
            );
            self.codec.encode_text(&notice, &mut self.out);
            return;
        }
        let mut event = GatewayEvent::new(self.handle, GatewayEventKind::Input { line });
        event.at = at;
        event.trace = mush_platform::telemetry::inject_current();
        self.enqueue(event);
    }

    fn publish(&mut self, kind: GatewayEventKind) {
        self.enqueue(GatewayEvent::new(self.handle, kind));
    }

    fn enqueue(&mut self, event: GatewayEvent) {
        match self.gw.producer.enqueue_event(&event) {
            Ok(delivery) => {
                self.in_flight.push_back(delivery);
                self.in_flight_since.push_back(Instant::now());
                self.gw.metrics.held_input.inc();
            }
            Err(e) => {
                tracing::warn!(handle = %self.handle, error = %e, kind = event.kind.label(), "Kafka refused an event");
                if matches!(event.kind, GatewayEventKind::Input { .. }) {
                    self.codec.encode_text(
                        "*** The game is unreachable and your input could not be held: it was not accepted. ***",
                        &mut self.out,
                    );
                }
            }
        }
    }

    /// Writes one message and whatever else is already queued, in one socket write.
    async fn write_output(
        &mut self,
        first: Arc<GameMessage>,
        rx: &mut mpsc::Receiver<Arc<GameMessage>>,
    ) -> Option<End> {
        let mut next = Some(first);
        let mut written = 0;
        let mut end = None;
        while let Some(msg) = next.take() {
            self.gw.metrics.output_queue_depth.dec();
            written += 1;
            if let Some(origin) = msg.origin {
                match self.last_origin.get(&origin.partition) {
                    Some(last) if !origin.is_after(last) => {
                        self.gw
                            .metrics
                            .output_dropped
                            .with_label_values(&["duplicate"])
                            .inc();
                        next = if written < BATCH { rx.try_recv().ok() } else { None };
                        continue;
                    }
                    _ => {
                        self.last_origin.insert(origin.partition, origin);
                    }
                }
            }
            if let Some(at) = msg.input_at {
                self.gw
                    .metrics
                    .end_to_end_seconds
                    .observe(at.elapsed().as_secs_f64());
            }
            self.gw.metrics.messages_out.inc();
            match &msg.kind {
                GameMessageKind::Text { text } => self.codec.encode_text(text, &mut self.out),
                GameMessageKind::Prompt { text } => self.codec.encode_prompt(text, &mut self.out),
                GameMessageKind::Gmcp { package, json } => {
                    self.codec.encode_gmcp(package, json, &mut self.out);
                }
                GameMessageKind::Msdp { variable, value } => {
                    self.codec.encode_msdp(variable, value, &mut self.out);
                }
                GameMessageKind::Disconnect { reason, message } => {
                    if !message.is_empty() {
                        self.codec.encode_text(message, &mut self.out);
                    }
                    end = Some(End::Closed(*reason, Some("requested by the game".into())));
                    break;
                }
                GameMessageKind::Session { .. } | GameMessageKind::Unknown => {}
            }
            next = if written < BATCH { rx.try_recv().ok() } else { None };
        }
        if Box::pin(self.flush()).await.is_err() {
            return Some(End::Closed(DisconnectReason::ClientClosed, None));
        }
        end
    }

    /// Writes the staged bytes (compressed when MCCP2 is on) in one write.
    async fn flush(&mut self) -> std::io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let bytes = match self.compressor.as_mut() {
            Some(c) => {
                let mut z = Vec::with_capacity(self.out.len() / 2 + 16);
                c.compress(&self.out, &mut z);
                z
            }
            None => std::mem::take(&mut self.out),
        };
        self.out.clear();
        if self.out.capacity() > 64 * 1024 {
            self.out = Vec::new();
        }
        let write = tokio::time::timeout(WRITE_TIMEOUT, self.writer.write_all(&bytes));
        let result = tokio::select! {
            r = write => r,
            _ = self.overflow.cancelled() => {
                return Err(std::io::Error::other("client stopped reading: output queue full"));
            }
        };
        match result {
            Ok(Ok(())) => {
                self.gw.metrics.bytes_out.inc_by(bytes.len() as u64);
                Ok(())
            }
            Ok(Err(e)) => Err(e),
            Err(_) => {
                self.gw.metrics.limit("output_overflow");
                self.overflow.cancel();
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "client stopped reading",
                ))
            }
        }
    }

    /// Ends the connection: tells the game (after everything typed before), removes the record.
    async fn close(mut self, mut reason: DisconnectReason, detail: String) {
        if reason == DisconnectReason::ClientClosed && self.overflow.is_cancelled() {
            // The write failed because the client stopped reading, not because it left.
            reason = DisconnectReason::OutputOverflow;
        }
        let _ = Box::pin(self.flush()).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), self.writer.shutdown()).await;
        // Lines still held back by the rate limit were typed before the close: deliver them.
        while let Some((line, at)) = self.delayed.pop_front() {
            let mut event = GatewayEvent::new(self.handle, GatewayEventKind::Input { line });
            event.at = at;
            self.enqueue(event);
        }
        self.publish(GatewayEventKind::Disconnected {
            reason,
            detail: detail.clone(),
        });
        // The deliveries go on in librdkafka after this task ends.
        self.gw.metrics.held_input.sub(self.in_flight.len() as i64);
        self.gw.remove_record(self.handle);
        self.gw
            .metrics
            .connection_events
            .with_label_values(&["closed", reason.as_str()])
            .inc();
        tracing::debug!(handle = %self.handle, reason = reason.as_str(), %detail, "closed");
    }
}
