//! One player connection: steps 1 and 4 of a command's journey.
//!
//! The task reads bytes, runs them through the telnet codec, and publishes each complete line
//! and each client change as an event keyed by the handle (so the game sees them in order). It
//! writes the game's output for this connection, encoded for this client (charset, IAC escaping,
//! EOR/GA, GMCP, MCCP2), one socket write per batch of queued messages.
//!
//! Every cost the client causes is charged to its [`InputBudget`] (the rules live in
//! [`crate::limits`]; this file only applies them):
//! * every byte read takes from a bytes bucket; when it is empty the socket is not read until
//!   it refills, so TCP pushes back on the client instead of the gateway parsing without end;
//! * every event the codec yields takes a token: a line over budget is delayed, then refused
//!   with a notice; a window size or client-info change waits as the newest value only; a
//!   negotiation answer is sent anyway; anything else is dropped;
//! * refusals are strikes, and too many strikes in the window, or reading kept paused most of
//!   the time, end the connection with one line;
//! * before the game says the player logged in (`Session { logged_in: true }`), the stricter
//!   limits apply and the login deadline runs.
//!
//! Other limits: the line length (cut with a notice), the idle timeouts, the input held while
//! Kafka is unreachable (bounded in events and bytes; the player is told once that the game is
//! unreachable and told about every line that could not be held: nothing is dropped silently),
//! and the gateway's memory budget (over it, reading pauses; writing goes on).

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
    ConnectionRecord, DisconnectReason, GameMessageKind, GatewayEvent, GatewayEventKind, Handle, Timestamp,
    Transport,
};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::codec::{ClientCodec, GameStatus, Inbound};
use crate::gateway::Gateway;
use crate::limits::{Abuse, Admission, ByteShare, EventClass, HeldBytes, InputBudget};
use crate::link::{Inlet, Outlet, Received};
use crate::router::Queued;
use crate::telnet::Compressor;

/// A write that takes longer than this means the client is not reading.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Input unacknowledged this long means Kafka is unreachable: the player is told.
const UNREACHABLE_AFTER: Duration = Duration::from_secs(2);
/// Queued messages written in one batch (one socket write).
const BATCH: usize = 64;
/// What an input event holds beyond its payload (envelope, key, the Kafka client's record).
const EVENT_OVERHEAD: usize = 128;
/// A player whose reading the gateway's memory budget has paused this long is told why.
const BUSY_NOTICE_AFTER: Duration = Duration::from_secs(2);
/// At the login deadline with Redis unable to say whether the player logged in, look again
/// after this (the player is not punished for Redis being away).
const DEADLINE_RECHECK: Duration = Duration::from_secs(30);

pub const DRAIN_NOTICE: &str =
    "*** This gateway is shutting down for maintenance. Please reconnect: you will reach another one. ***";
pub const CLOSE_NOTICE: &str = "*** Gateway closing now. Please reconnect. ***";
pub const UNREACHABLE_NOTICE: &str =
    "*** The game is not reachable right now. What you type is held and delivered when it is back. ***";
pub const REACHABLE_NOTICE: &str = "*** The game is reachable again. ***";
pub const UNAVAILABLE_NOTICE: &str = "The game is temporarily unavailable. Please try again in a moment.";
pub const EVENTS_DROPPED_NOTICE: &str =
    "*** Your client sends protocol messages faster than allowed: some were ignored. ***";
pub const BUSY_NOTICE: &str = "*** The gateway is busy: what you type waits a moment. ***";

/// Why the session loop ended.
enum End {
    Closed(DisconnectReason, Option<String>),
}

/// A "latest value wins" event: only its newest value matters to the game.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Latest {
    WindowSize {
        width: u16,
        height: u16,
    },
    /// The value is read from the codec when published, so it is always the newest.
    ClientInfo,
}

/// "Latest value wins" events waiting for a token: the newest of each kind only, so a flood
/// of window sizes reaches the game as at most one event per token, in constant memory.
#[derive(Debug, Default)]
struct LatestValues {
    window: Option<(u16, u16)>,
    client_info: bool,
}

impl LatestValues {
    /// Keeps `value` until a token is free; true if it replaced a waiting value of its kind.
    fn set(&mut self, value: Latest) -> bool {
        match value {
            Latest::WindowSize { width, height } => self.window.replace((width, height)).is_some(),
            Latest::ClientInfo => std::mem::replace(&mut self.client_info, true),
        }
    }

    /// The next waiting value (window size first), left waiting.
    fn peek(&self) -> Option<Latest> {
        match self.window {
            Some((width, height)) => Some(Latest::WindowSize { width, height }),
            None => self.client_info.then_some(Latest::ClientInfo),
        }
    }

    /// Takes the next waiting value (window size first).
    fn pop(&mut self) -> Option<Latest> {
        let next = self.peek();
        match next {
            Some(Latest::WindowSize { .. }) => self.window = None,
            Some(Latest::ClientInfo) => self.client_info = false,
            None => {}
        }
        next
    }
}

/// How the input budget charges an event, or `None` for the one that is free: the start of
/// compression follows the answer that agreed to it, which was charged.
fn class_of(event: &Inbound) -> Option<EventClass> {
    match event {
        Inbound::Line(_) | Inbound::LineTruncated { .. } => Some(EventClass::Line),
        Inbound::WindowSize { .. } | Inbound::ClientInfoChanged => Some(EventClass::Latest),
        Inbound::Reply(_) => Some(EventClass::Answer),
        Inbound::Gmcp { .. } | Inbound::Msdp { .. } | Inbound::MsspRequested | Inbound::ProtocolError(_) => {
            Some(EventClass::Other)
        }
        Inbound::StartCompression => None,
    }
}

/// The bytes an input event holds until Kafka acknowledges it.
fn event_size(kind: &GatewayEventKind) -> usize {
    EVENT_OVERHEAD
        + match kind {
            GatewayEventKind::Input { line } => line.len(),
            GatewayEventKind::SealedInput {
                nonce, ciphertext, ..
            } => nonce.len() + ciphertext.len(),
            GatewayEventKind::Gmcp { package, json } => package.len() + json.len(),
            GatewayEventKind::Msdp { variable, value } => variable.len() + value.len(),
            GatewayEventKind::ClientInfo(info) => info.terminal_type.len() + info.charset.len(),
            GatewayEventKind::Connected {
                peer_addr, gateway, ..
            } => peer_addr.len() + gateway.len(),
            GatewayEventKind::Disconnected { detail, .. } => detail.len(),
            GatewayEventKind::WindowSize { .. }
            | GatewayEventKind::Timer { .. }
            | GatewayEventKind::Unknown => 0,
        }
}

/// The first 40 characters of a line, to name it in a notice.
fn shown(line: &[u8]) -> String {
    String::from_utf8_lossy(line).chars().take(40).collect()
}

fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(365 * 86_400)
}

/// A new connection, as its transport made it: the socket's two halves and the protocol spoken.
pub struct Link {
    pub inlet: Inlet,
    pub outlet: Outlet,
    pub codec: ClientCodec,
    pub transport: Transport,
}

struct Session {
    gw: Arc<Gateway>,
    handle: Handle,
    outlet: Outlet,
    codec: ClientCodec,
    compressor: Option<Compressor>,
    /// Plain bytes staged for the next write.
    out: Vec<u8>,
    budget: InputBudget,
    /// Lines held back by the event budget, with the time they were read and the bytes they
    /// hold against the memory budget.
    delayed: VecDeque<(Bytes, Timestamp, HeldBytes)>,
    /// Window size and client info waiting for a token.
    latest: LatestValues,
    /// Events handed to Kafka and not yet acknowledged, oldest first.
    in_flight: FuturesOrdered<PendingDelivery>,
    /// For each event in flight, when it was handed over and the bytes it holds.
    in_flight_held: VecDeque<(Instant, HeldBytes)>,
    /// This connection's bytes in flight to Kafka.
    input_share: ByteShare,
    /// This connection's queued and in-flight output (shared with the router).
    output_share: ByteShare,
    /// The partial line and subnegotiation the codec holds.
    parse_held: Option<HeldBytes>,
    told_unreachable: bool,
    told_events_dropped: bool,
    /// The reading is paused by the bytes budget (counted once per pause).
    read_paused: bool,
    /// Since when the gateway's memory budget has paused reading, and whether the player was told.
    memory_paused_since: Option<Instant>,
    told_busy: bool,
    /// When the connection must have logged in; `None` once it has (or with no deadline).
    login_deadline: Option<Instant>,
    /// Per input partition, the newest output origin written (drops re-sent duplicates).
    last_origin: HashMap<i32, mush_protocol::Origin>,
    last_input: Instant,
    /// Cancelled by the router when this client's queue is full: ends even a blocked write.
    overflow: CancellationToken,
    /// The client sent a WebSocket message over the size limit.
    too_big: bool,
}

/// Runs one connection to its end, inside a span that names it, so one player's story can be
/// read from the logs (at debug level: an idle span costs memory per connection otherwise;
/// the gateway's own log lines carry the handle as a field). Traces do not hang off it: each input
/// line has its own span when traces are exported (see `publish_input`).
pub async fn run(
    gw: Arc<Gateway>,
    link: Link,
    peer: SocketAddr,
    handle: Handle,
    rx: mpsc::Receiver<Queued>,
    overflow: CancellationToken,
    output: ByteShare,
) {
    let span = tracing::debug_span!("conn", %handle, %peer, transport = link.transport.as_str());
    run_connection(gw, link, peer, handle, rx, overflow, output)
        .instrument(span)
        .await
}

async fn run_connection(
    gw: Arc<Gateway>,
    link: Link,
    peer: SocketAddr,
    handle: Handle,
    rx: mpsc::Receiver<Queued>,
    overflow: CancellationToken,
    output: ByteShare,
) {
    let Link {
        inlet,
        outlet,
        codec,
        transport,
    } = link;
    let now = Instant::now();
    let deadline = gw.config.login_deadline_seconds;
    let mut s = Session {
        codec,
        budget: InputBudget::new(gw.config.input_policy(), now),
        login_deadline: (deadline > 0).then(|| now + Duration::from_secs(deadline)),
        gw,
        handle,
        outlet,
        compressor: None,
        out: Vec::new(),
        delayed: VecDeque::new(),
        latest: LatestValues::default(),
        in_flight: FuturesOrdered::new(),
        in_flight_held: VecDeque::new(),
        input_share: ByteShare::default(),
        output_share: output,
        parse_held: None,
        told_unreachable: false,
        told_events_dropped: false,
        read_paused: false,
        memory_paused_since: None,
        told_busy: false,
        last_origin: HashMap::new(),
        last_input: now,
        overflow: overflow.clone(),
        too_big: false,
    };

    // Critical write first: the connection exists for the game only once Redis has it.
    let record = ConnectionRecord::new(
        handle,
        &s.gw.config.gateway_name,
        &peer.to_string(),
        transport,
        Timestamp::now(),
    );
    if let Err(e) = Box::pin(s.gw.store.register(&record)).await {
        tracing::warn!(%handle, error = %e, "could not register a new connection: refusing it");
        s.codec.encode_text(UNAVAILABLE_NOTICE, &mut s.out);
        let _ = Box::pin(s.flush()).await;
        Box::pin(s.outlet.close(DisconnectReason::GatewayShutdown, false)).await;
        s.gw.metrics.refused.inc("redis_unavailable");
        return;
    }
    tracing::debug!(%handle, %peer, "connected");
    s.publish(GatewayEventKind::Connected {
        peer_addr: peer.to_string(),
        transport,
        gateway: s.gw.config.gateway_name.clone(),
    });
    let greeting = s.codec.greeting(&s.gw.config.game_name);
    s.out.extend_from_slice(&greeting);
    let mut status = s.gw.game_status.subscribe();
    let now_status = *status.borrow_and_update();
    if now_status != GameStatus::Running {
        s.codec.encode_status(now_status, &mut s.out);
    }
    let end = match Box::pin(s.flush()).await {
        Ok(()) => Box::pin(s.run_loop(inlet, rx, status, &overflow)).await,
        Err(_) => End::Closed(DisconnectReason::ClientClosed, None),
    };
    let End::Closed(reason, detail) = end;
    Box::pin(s.close(reason, detail.unwrap_or_default())).await;
}

impl Session {
    async fn run_loop(
        &mut self,
        mut inlet: Inlet,
        mut rx: mpsc::Receiver<Queued>,
        mut status: watch::Receiver<GameStatus>,
        overflow: &CancellationToken,
    ) -> End {
        let mut events = Vec::new();
        let mut drain_told = false;
        let gw = self.gw.clone();
        let mut memory = gw.memory.watch();
        let idle_sleep = tokio::time::sleep(Duration::from_secs(3600));
        tokio::pin!(idle_sleep);
        let mut idle_checked_at = Instant::now();
        loop {
            if let Some(deadline) = self.idle_deadline(idle_checked_at) {
                idle_sleep.as_mut().reset(deadline.into());
            }
            let now = Instant::now();
            let event_delay = self.budget.event_wait(now);
            let memory_over = *memory.borrow_and_update();
            let allowance = self.read_allowance(memory_over, now);
            let read_wait = self.budget.read_wait(now);
            // Reading waits for lines to go, which the event timer below wakes up for.
            let lines_block = self.budget.lines_block_reading(self.delayed.len());
            let busy_at = match self.memory_paused_since {
                Some(since) if !self.told_busy => (since + BUSY_NOTICE_AFTER).into(),
                _ => far_future(),
            };
            let login_at = self.login_deadline.map_or_else(far_future, Into::into);
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
                queued = rx.recv() => {
                    let Some(queued) = queued else {
                        return End::Closed(DisconnectReason::GatewayShutdown, None);
                    };
                    if let Some(end) = Box::pin(self.write_output(queued, &mut rx)).await {
                        return end;
                    }
                }
                received = inlet.read(allowance), if allowance > 0 => {
                    let at = Timestamp::now();
                    events.clear();
                    let n = match received {
                        Ok(Received::Data(data)) => {
                            self.codec.receive(&data, &mut events);
                            data.len()
                        }
                        Ok(Received::Binary(n)) => {
                            self.codec.receive_binary(&mut events);
                            n
                        }
                        Ok(Received::Control(n)) => n,
                        Ok(Received::TooBig) => {
                            self.too_big = true;
                            gw.metrics.limit("message_size");
                            return End::Closed(DisconnectReason::ProtocolError, Some("message too big".into()));
                        }
                        Ok(Received::End) | Err(_) => return End::Closed(DisconnectReason::ClientClosed, None),
                    };
                    self.budget.charge_read(n, Instant::now());
                    gw.metrics.bytes_in.inc_by(n as u64);
                    self.hold_parse_buffers();
                    for ev in events.drain(..) {
                        Box::pin(self.on_inbound(ev, at)).await;
                        if let Some(abuse) = self.budget.abuse(Instant::now()) {
                            return self.end_for_abuse(abuse);
                        }
                    }
                    if Box::pin(self.flush()).await.is_err() {
                        return End::Closed(DisconnectReason::ClientClosed, None);
                    }
                }
                _ = tokio::time::sleep(read_wait), if allowance == 0 && !memory_over && !lines_block => {
                    if let Some(abuse) = self.budget.abuse(Instant::now()) {
                        return self.end_for_abuse(abuse);
                    }
                }
                _ = memory.changed(), if memory_over => {}
                changed = status.changed() => {
                    if changed.is_err() {
                        return End::Closed(DisconnectReason::GatewayShutdown, None);
                    }
                    let now_status = *status.borrow_and_update();
                    self.codec.encode_status(now_status, &mut self.out);
                    if Box::pin(self.flush()).await.is_err() {
                        return End::Closed(DisconnectReason::ClientClosed, None);
                    }
                }
                _ = tokio::time::sleep_until(busy_at), if memory_over => {
                    self.told_busy = true;
                    self.codec.encode_text(BUSY_NOTICE, &mut self.out);
                    if Box::pin(self.flush()).await.is_err() {
                        return End::Closed(DisconnectReason::ClientClosed, None);
                    }
                }
                Some(result) = self.in_flight.next(), if !self.in_flight.is_empty() => {
                    self.in_flight_held.pop_front();
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
                _ = tokio::time::sleep(event_delay), if self.has_waiting_events() => {
                    self.release_waiting();
                    if let Some(abuse) = self.budget.abuse(Instant::now()) {
                        return self.end_for_abuse(abuse);
                    }
                    if Box::pin(self.flush()).await.is_err() {
                        return End::Closed(DisconnectReason::ClientClosed, None);
                    }
                }
                _ = tokio::time::sleep(UNREACHABLE_AFTER), if !self.told_unreachable && !self.in_flight.is_empty() => {
                    if self.in_flight_held.front().is_some_and(|(t, _)| t.elapsed() >= UNREACHABLE_AFTER) {
                        self.told_unreachable = true;
                        self.codec.encode_text(UNREACHABLE_NOTICE, &mut self.out);
                        if Box::pin(self.flush()).await.is_err() {
                            return End::Closed(DisconnectReason::ClientClosed, None);
                        }
                    }
                }
                _ = tokio::time::sleep_until(login_at), if self.login_deadline.is_some() => {
                    if let Some(end) = Box::pin(self.check_login_deadline()).await {
                        return end;
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

    /// How many bytes may be read now: none while the gateway is over its memory budget or
    /// this connection's bytes budget is spent (each such pause is counted once).
    fn read_allowance(&mut self, memory_over: bool, now: Instant) -> usize {
        if memory_over {
            self.memory_paused_since.get_or_insert(now);
            self.budget.end_pause(now);
            return 0;
        }
        self.memory_paused_since = None;
        self.told_busy = false;
        if self.budget.lines_block_reading(self.delayed.len()) {
            self.budget.pause_for_lines(now);
            return 0;
        }
        let allowance = self.budget.read_allowance(now);
        let paused = allowance == 0;
        if paused && !self.read_paused {
            self.gw.metrics.limit("input_bytes");
        }
        self.read_paused = paused;
        allowance
    }

    /// Counts what the codec holds for unfinished input against the memory budget.
    fn hold_parse_buffers(&mut self) {
        let bytes = self.codec.held_bytes();
        if self.parse_held.as_ref().map_or(0, HeldBytes::bytes) != bytes {
            self.parse_held = (bytes > 0).then(|| self.gw.memory.hold(None, bytes));
        }
    }

    /// Ends the connection for sustained abuse, with one line to the player.
    fn end_for_abuse(&mut self, abuse: Abuse) -> End {
        self.gw.metrics.limit(abuse.label());
        tracing::info!(handle = %self.handle, abuse = abuse.label(), "too much input: disconnecting");
        self.codec.encode_text(abuse.message(), &mut self.out);
        End::Closed(
            DisconnectReason::ProtocolError,
            Some(format!("too much input ({})", abuse.label())),
        )
    }

    /// When the next idle check is due, if any timeout is configured.
    fn idle_deadline(&self, checked_at: Instant) -> Option<Instant> {
        let c = &self.gw.config;
        let timeouts = [c.login_idle_timeout_seconds, c.idle_timeout_seconds];
        let shortest = timeouts.into_iter().filter(|t| *t > 0).min()?;
        Some(self.last_input.max(checked_at) + Duration::from_secs(shortest))
    }

    /// Whether the player is logged in: the game's word if it sent one, otherwise the
    /// connection record (an older game-server sends no `Session` message). Unknown (Redis
    /// away) is `None`.
    async fn logged_in(&mut self) -> Option<bool> {
        if self.budget.logged_in() {
            return Some(true);
        }
        match self.gw.store.get(self.handle).await {
            Ok(Some(r)) if r.state == ConnectionState::LoggedIn => {
                self.on_session(true);
                Some(true)
            }
            Ok(_) => Some(false),
            Err(_) => None,
        }
    }

    /// Closes the connection if it has been idle too long.
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
        // Unknown (Redis away): do not punish the player for it.
        if login_limit.is_some_and(|l| idle >= l) && self.logged_in().await == Some(false) {
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
        None
    }

    /// The login deadline passed: closes the connection unless it logged in.
    async fn check_login_deadline(&mut self) -> Option<End> {
        match self.logged_in().await {
            Some(true) => {
                self.login_deadline = None;
                None
            }
            None => {
                self.login_deadline = Some(Instant::now() + DEADLINE_RECHECK);
                None
            }
            Some(false) => {
                self.gw.metrics.limit("login_deadline");
                let notice = format!(
                    "*** You did not log in within {} seconds: disconnecting. ***",
                    self.gw.config.login_deadline_seconds
                );
                self.codec.encode_text(&notice, &mut self.out);
                let _ = Box::pin(self.flush()).await;
                Some(End::Closed(
                    DisconnectReason::IdleTimeout,
                    Some("login deadline".into()),
                ))
            }
        }
    }

    /// The game's word on the login state: the limits of that phase apply from now on. Logging
    /// out starts a new login deadline (the connection is back at the login screen).
    fn on_session(&mut self, logged_in: bool) {
        let now = Instant::now();
        let was_logged_in = self.budget.logged_in();
        self.budget.set_logged_in(logged_in, now);
        let deadline = self.gw.config.login_deadline_seconds;
        if logged_in {
            self.login_deadline = None;
        } else if was_logged_in && deadline > 0 {
            self.login_deadline = Some(now + Duration::from_secs(deadline));
        }
    }

    /// Charges one event the codec yielded to the budget and acts on the verdict.
    async fn on_inbound(&mut self, event: Inbound, at: Timestamp) {
        let event = match event {
            Inbound::StartCompression => {
                // The answer that agreed to MCCP2 goes out uncompressed; everything after,
                // compressed.
                let _ = Box::pin(self.flush()).await;
                self.compressor = Some(Compressor::new());
                return;
            }
            Inbound::LineTruncated { line, dropped } => {
                self.gw.metrics.limit("line_length");
                let notice = format!(
                    "*** Your line was longer than {} bytes: the last {dropped} bytes were cut. ***",
                    self.gw.config.max_line_bytes
                );
                self.codec.encode_text(&notice, &mut self.out);
                Inbound::Line(line)
            }
            Inbound::ProtocolError(what) => {
                self.gw.metrics.protocol_errors.inc();
                tracing::debug!(handle = %self.handle, %what, "protocol error");
                Inbound::ProtocolError(what)
            }
            other => other,
        };
        if matches!(event, Inbound::Line(_)) {
            self.last_input = Instant::now();
            self.gw.metrics.lines_in.inc();
        }
        let Some(class) = class_of(&event) else {
            return;
        };
        match self.budget.admit(class, self.delayed.len(), Instant::now()) {
            Admission::Now => self.accept(event, at),
            Admission::Forced => {
                self.gw.metrics.limit("answer_over_budget");
                self.accept(event, at);
            }
            Admission::Wait => self.hold(event, at),
            Admission::Refuse => self.refuse(event),
        }
    }

    /// An event within budget.
    fn accept(&mut self, event: Inbound, at: Timestamp) {
        match event {
            Inbound::Line(line) => self.publish_input(Bytes::from(line), at),
            Inbound::Reply(bytes) => self.out.extend_from_slice(&bytes),
            Inbound::WindowSize { width, height } => {
                self.publish_latest(Latest::WindowSize { width, height })
            }
            Inbound::ClientInfoChanged => self.publish_latest(Latest::ClientInfo),
            Inbound::Gmcp { package, json } => self.publish_other(GatewayEventKind::Gmcp { package, json }),
            Inbound::Msdp { variable, value } => {
                self.publish_other(GatewayEventKind::Msdp { variable, value })
            }
            Inbound::MsspRequested => self.answer_mssp(),
            // Counted when read; a browser is told what was wrong (within budget only, so a
            // flood of bad messages makes no flood of answers).
            Inbound::ProtocolError(what) => self.codec.encode_error(&what, &mut self.out),
            Inbound::LineTruncated { .. } | Inbound::StartCompression => {}
        }
    }

    /// An event over budget that may wait for a token: a line (in order), or a latest value.
    fn hold(&mut self, event: Inbound, at: Timestamp) {
        match event {
            Inbound::Line(line) => {
                self.gw.metrics.limit("rate_delayed");
                let held = self.gw.memory.hold(None, line.len() + EVENT_OVERHEAD);
                self.delayed.push_back((Bytes::from(line), at, held));
            }
            Inbound::WindowSize { width, height } => self.wait_latest(Latest::WindowSize { width, height }),
            Inbound::ClientInfoChanged => self.wait_latest(Latest::ClientInfo),
            other => self.refuse(other),
        }
    }

    /// An event over budget that cannot wait: a line is refused with a notice; anything else is
    /// dropped, and the player told once.
    fn refuse(&mut self, event: Inbound) {
        if let Inbound::Line(line) = event {
            self.gw.metrics.limit("rate_refused");
            let notice = format!(
                "*** You are typing too fast: \"{}\" was not accepted. ***",
                shown(&line)
            );
            self.codec.encode_text(&notice, &mut self.out);
            return;
        }
        self.gw.metrics.limit("event_refused");
        if !self.told_events_dropped {
            self.told_events_dropped = true;
            self.codec.encode_text(EVENTS_DROPPED_NOTICE, &mut self.out);
        }
    }

    fn wait_latest(&mut self, value: Latest) {
        self.gw.metrics.limit("event_coalesced");
        self.latest.set(value);
    }

    /// Whether events wait for a token that could be published once one is free (a latest
    /// value waits for room in the held input too, so a full hold does not wake the loop).
    fn has_waiting_events(&self) -> bool {
        !self.delayed.is_empty()
            || self
                .latest
                .peek()
                .is_some_and(|value| self.held_room(event_size(&self.latest_event(value))).is_ok())
    }

    /// Publishes what waited, as far as tokens and the held input allow: lines first, then
    /// the latest values.
    fn release_waiting(&mut self) {
        let now = Instant::now();
        while !self.delayed.is_empty() && self.budget.take_event(now) {
            let (line, at, _held) = self.delayed.pop_front().expect("not empty");
            self.publish_input(line, at);
        }
        while let Some(value) = self.latest.peek() {
            let kind = self.latest_event(value);
            if self.held_room(event_size(&kind)).is_err() || !self.budget.take_event(now) {
                break;
            }
            self.latest.pop();
            self.publish(kind);
        }
    }

    /// The event a latest value is published as (client info: as the codec knows it now).
    fn latest_event(&self, value: Latest) -> GatewayEventKind {
        match value {
            Latest::WindowSize { width, height } => GatewayEventKind::WindowSize { width, height },
            Latest::ClientInfo => GatewayEventKind::ClientInfo(self.codec.client_info().clone()),
        }
    }

    fn answer_mssp(&mut self) {
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

    /// Whether this connection may hold one more event of `size` bytes unacknowledged, or the
    /// limit label that says why not. One event alone always fits.
    fn held_room(&self, size: usize) -> Result<(), &'static str> {
        let c = &self.gw.config;
        if self.in_flight.len() >= c.held_input {
            return Err("held_input_full");
        }
        if !self.in_flight.is_empty() && self.input_share.bytes() + size > c.held_input_bytes {
            return Err("held_input_bytes");
        }
        Ok(())
    }

    fn publish_input(&mut self, line: Bytes, at: Timestamp) {
        let mut event = GatewayEvent::new(self.handle, GatewayEventKind::Input { line });
        if let Err(limit) = self.held_room(event_size(&event.kind)) {
            self.gw.metrics.limit(limit);
            let GatewayEventKind::Input { line } = &event.kind else {
                unreachable!("built above")
            };
            let notice = format!(
                "*** The game is unreachable and no more input can be held: \"{}\" was not accepted. ***",
                shown(line)
            );
            self.codec.encode_text(&notice, &mut self.out);
            return;
        }
        event.at = at;
        if !mush_platform::telemetry::exporting() {
            self.enqueue(event);
            return;
        }
        // Traces are exported: the line's own span, at info level, whose context travels with the
        // event (the game-server's span for it is a child). A root, so each command is one trace
        // and not a branch of a connection's hours-long one. Not made otherwise: no cost per line.
        let span = tracing::info_span!(parent: None, "input line", handle = %self.handle);
        let _entered = span.enter();
        event.trace = mush_platform::telemetry::inject_current();
        self.enqueue(event);
    }

    /// Publishes a latest value, or keeps it waiting while the held input is full.
    fn publish_latest(&mut self, value: Latest) {
        let kind = self.latest_event(value);
        if let Err(limit) = self.held_room(event_size(&kind)) {
            self.gw.metrics.limit(limit);
            self.latest.set(value);
            return;
        }
        self.publish(kind);
    }

    /// Publishes a GMCP or MSDP event, or drops it (counted) while the held input is full: the
    /// player has been told the game is unreachable.
    fn publish_other(&mut self, kind: GatewayEventKind) {
        if let Err(limit) = self.held_room(event_size(&kind)) {
            self.gw.metrics.limit(limit);
            return;
        }
        self.publish(kind);
    }

    fn publish(&mut self, kind: GatewayEventKind) {
        self.enqueue(GatewayEvent::new(self.handle, kind));
    }

    fn enqueue(&mut self, mut event: GatewayEvent) {
        self.gw.input_keys.seal(&mut event);
        match self.gw.producer.enqueue_event(&event) {
            Ok(delivery) => {
                let held = self
                    .gw
                    .memory
                    .hold(Some(&self.input_share), event_size(&event.kind));
                self.in_flight.push_back(delivery);
                self.in_flight_held.push_back((Instant::now(), held));
                self.gw.metrics.held_input.inc();
            }
            Err(e) => {
                tracing::warn!(handle = %self.handle, error = %e, kind = event.kind.label(), "Kafka refused an event");
                if matches!(
                    event.kind,
                    GatewayEventKind::Input { .. } | GatewayEventKind::SealedInput { .. }
                ) {
                    self.codec.encode_text(
                        "*** The game is unreachable and your input could not be held: it was not accepted. ***",
                        &mut self.out,
                    );
                }
            }
        }
    }

    /// Writes one message and whatever else is already queued, in one socket write.
    async fn write_output(&mut self, first: Queued, rx: &mut mpsc::Receiver<Queued>) -> Option<End> {
        let mut next = Some(first);
        let mut written = 0;
        let mut end = None;
        // When traces are exported: a span per traced message, a child of the game-server's span
        // that made it, open until the socket write that carries it ends (the last step of a
        // command's trace). Not made otherwise.
        let mut write_spans: Vec<tracing::Span> = Vec::new();
        while let Some(Queued { message: msg, held }) = next.take() {
            // Off the queue: from here the bytes are counted in the write that carries them.
            drop(held);
            self.gw.metrics.output_queue_depth.dec();
            written += 1;
            if let Some(origin) = msg.origin {
                match self.last_origin.get(&origin.partition) {
                    Some(last) if !origin.is_after(last) => {
                        self.gw.metrics.dropped.inc("duplicate");
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
            if !msg.trace.is_empty() && mush_platform::telemetry::exporting() {
                let span = tracing::info_span!(parent: None, "write output", handle = %self.handle);
                mush_platform::telemetry::set_parent(&span, &msg.trace);
                write_spans.push(span);
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
                GameMessageKind::Session { logged_in } => self.on_session(*logged_in),
                GameMessageKind::Unknown => {}
            }
            next = if written < BATCH { rx.try_recv().ok() } else { None };
        }
        let flushed = Box::pin(self.flush()).await;
        drop(write_spans);
        if flushed.is_err() {
            return Some(End::Closed(DisconnectReason::ClientClosed, None));
        }
        end
    }

    /// Writes the staged bytes (compressed when MCCP2 is on) in one write, counted against the
    /// connection's output bound and the memory budget until written.
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
        let _held = self.gw.memory.hold(Some(&self.output_share), bytes.len());
        let write = tokio::time::timeout(WRITE_TIMEOUT, self.outlet.write(&bytes));
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

    /// Ends an MCCP2 stream cleanly (final block and checksum), as the specification asks
    /// before the socket closes.
    async fn end_compression(&mut self) {
        let Some(mut compressor) = self.compressor.take() else {
            return;
        };
        let mut tail = Vec::new();
        compressor.finish(&mut tail);
        let _ = tokio::time::timeout(Duration::from_secs(2), self.outlet.write(&tail)).await;
    }

    /// Ends the connection: tells the game (after everything typed before), removes the record.
    async fn close(mut self, mut reason: DisconnectReason, detail: String) {
        if reason == DisconnectReason::ClientClosed && self.overflow.is_cancelled() {
            // The write failed because the client stopped reading, not because it left.
            reason = DisconnectReason::OutputOverflow;
        }
        if Box::pin(self.flush()).await.is_ok() && !self.overflow.is_cancelled() {
            Box::pin(self.end_compression()).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), self.outlet.close(reason, self.too_big)).await;
        // Lines still held back by the rate limit were typed before the close: deliver them.
        // (Waiting window sizes and client info are of no use to a closed connection.)
        while let Some((line, at, _held)) = self.delayed.pop_front() {
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
        self.gw.metrics.closed.inc(reason.as_str());
        tracing::debug!(handle = %self.handle, reason = reason.as_str(), %detail, "closed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telnet::codes::{DO, IAC, SB, SE, WILL, opt};
    use crate::telnet::{CodecConfig, TelnetCodec};

    #[test]
    fn the_newest_window_size_and_client_info_wait_in_constant_space() {
        let mut l = LatestValues::default();
        assert_eq!(l.peek(), None);
        assert!(!l.set(Latest::WindowSize {
            width: 80,
            height: 24
        }));
        for w in 0..10_000u16 {
            assert!(l.set(Latest::WindowSize { width: w, height: 50 }));
        }
        assert!(!l.set(Latest::ClientInfo));
        assert!(l.set(Latest::ClientInfo));
        let newest = Latest::WindowSize {
            width: 9999,
            height: 50,
        };
        assert_eq!(l.peek(), Some(newest), "peeking leaves it waiting");
        assert_eq!(l.peek(), Some(newest));
        assert_eq!(
            l.pop(),
            Some(Latest::WindowSize {
                width: 9999,
                height: 50
            })
        );
        assert_eq!(l.peek(), Some(Latest::ClientInfo));
        assert_eq!(l.pop(), Some(Latest::ClientInfo));
        assert_eq!(l.pop(), None);
        assert_eq!(l.peek(), None);
    }

    #[test]
    fn every_event_but_the_start_of_compression_is_charged() {
        assert_eq!(class_of(&Inbound::Line(b"look".to_vec())), Some(EventClass::Line));
        assert_eq!(
            class_of(&Inbound::LineTruncated {
                line: vec![],
                dropped: 3
            }),
            Some(EventClass::Line)
        );
        assert_eq!(
            class_of(&Inbound::WindowSize { width: 1, height: 1 }),
            Some(EventClass::Latest)
        );
        assert_eq!(class_of(&Inbound::ClientInfoChanged), Some(EventClass::Latest));
        assert_eq!(class_of(&Inbound::Reply(vec![IAC])), Some(EventClass::Answer));
        for other in [
            Inbound::Gmcp {
                package: "a".into(),
                json: String::new(),
            },
            Inbound::Msdp {
                variable: "a".into(),
                value: String::new(),
            },
            Inbound::MsspRequested,
            Inbound::ProtocolError("x".into()),
        ] {
            assert_eq!(class_of(&other), Some(EventClass::Other), "{other:?}");
        }
        assert_eq!(class_of(&Inbound::StartCompression), None);
    }

    #[test]
    fn held_input_is_counted_by_its_payload() {
        let line = GatewayEventKind::Input {
            line: Bytes::from(vec![b'x'; 1000]),
        };
        assert_eq!(event_size(&line), 1000 + EVENT_OVERHEAD);
        let msdp = GatewayEventKind::Msdp {
            variable: "abc".into(),
            value: "x".repeat(30_000),
        };
        assert_eq!(event_size(&msdp), 30_003 + EVENT_OVERHEAD);
        assert_eq!(
            event_size(&GatewayEventKind::WindowSize { width: 1, height: 2 }),
            EVENT_OVERHEAD
        );
    }

    fn sb(option: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![IAC, SB, option];
        v.extend_from_slice(payload);
        v.extend_from_slice(&[IAC, SE]);
        v
    }

    /// A full-featured client's opening (everything offered accepted, the terminal type cycle,
    /// charset, GMCP hello and supports, a window size, MCCP2), then its login line: with the
    /// default limits before login nothing is refused, dropped or counted as a strike.
    #[test]
    fn a_full_clients_opening_fits_the_default_budget_before_login() {
        use clap::Parser as _;
        let config = crate::config::Config::try_parse_from(["connection-server"]).unwrap();
        let t0 = Instant::now();
        let mut budget = InputBudget::new(config.input_policy(), t0);
        let mut codec = TelnetCodec::new(CodecConfig::default());
        codec.greeting();
        let mut opening = Vec::new();
        for (verb, option) in [
            (WILL, opt::NAWS),
            (WILL, opt::TTYPE),
            (DO, opt::EOR),
            (DO, opt::GMCP),
            (DO, opt::MSDP),
            (DO, opt::MSSP),
            (DO, opt::CHARSET),
            (DO, opt::COMPRESS2),
        ] {
            opening.extend_from_slice(&[IAC, verb, option]);
        }
        opening.extend(sb(opt::NAWS, &[0, 120, 0, 40]));
        opening.extend(sb(opt::TTYPE, b"\x00MUDLET"));
        opening.extend(sb(opt::CHARSET, b"\x02UTF-8"));
        opening.extend(sb(opt::TTYPE, b"\x00XTERM-256COLOR"));
        opening.extend(sb(opt::TTYPE, b"\x00MTTS 2825"));
        opening.extend(sb(opt::TTYPE, b"\x00MTTS 2825"));
        opening.extend(sb(
            opt::GMCP,
            br#"Core.Hello {"client":"Mudlet","version":"4.17"}"#,
        ));
        opening.extend(sb(
            opt::GMCP,
            br#"Core.Supports.Set ["Char 1","Room 1","Comm.Channel 1"]"#,
        ));
        opening.extend(sb(opt::NAWS, &[0, 132, 0, 43]));
        opening.extend_from_slice(b"connect alice secret\r\n");
        let mut events = Vec::new();
        codec.receive(&opening, &mut events);
        let charged: Vec<EventClass> = events.iter().filter_map(class_of).collect();
        assert!(charged.len() >= 16, "a rich opening: {events:?}");
        let mut waiting_lines = 0;
        for class in charged {
            match budget.admit(class, waiting_lines, t0) {
                Admission::Now => {}
                Admission::Wait if class == EventClass::Line => waiting_lines += 1,
                other => panic!("{class:?} was {other:?} in {events:?}"),
            }
        }
        assert_eq!(budget.strikes(t0), 0);
        assert_eq!(waiting_lines, 0, "the login line went at once");
    }

    #[test]
    fn a_subnegotiation_flood_before_login_is_held_to_the_budget_and_ends_in_strikes() {
        // Before login: 4 events a second (burst 10), 2 KiB a second (burst 8 KiB), 20 strikes.
        let policy = crate::limits::tests::policy();
        let t0 = Instant::now();
        let mut budget = InputBudget::new(policy, t0);
        let mut codec = TelnetCodec::new(CodecConfig::default());
        codec.greeting();
        let mut flood = vec![IAC, DO, opt::MSDP];
        for i in 0..1000 {
            flood.extend(sb(opt::MSDP, format!("\x01VAR{i}\x02value").as_bytes()));
        }
        // As the session reads it: within the bytes budget, chunk by chunk.
        let mut published = 0;
        let mut read = 0;
        let mut abuse = None;
        'reading: while read < flood.len() {
            let n = budget
                .read_allowance(t0)
                .min(crate::link::READ_CHUNK)
                .min(flood.len() - read);
            assert!(n > 0, "the bytes budget ran out before the strikes ended it");
            budget.charge_read(n, t0);
            let mut events = Vec::new();
            codec.receive(&flood[read..read + n], &mut events);
            read += n;
            for ev in &events {
                if budget.admit(class_of(ev).unwrap(), 0, t0) == Admission::Now
                    && matches!(ev, Inbound::Msdp { .. } | Inbound::ClientInfoChanged)
                {
                    published += 1;
                }
                abuse = budget.abuse(t0);
                if abuse.is_some() {
                    break 'reading;
                }
            }
        }
        assert_eq!(abuse, Some(Abuse::Strikes));
        assert!(published <= 10, "{published} events reached Kafka");
        assert!(read <= 8192, "read {read} bytes");
    }
}
