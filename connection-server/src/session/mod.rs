//! One player connection: steps 1 and 4 of a command's journey. This file is the connection's
//! life and its I/O; its two halves are pure and tested on their own: [`input`] (what each event
//! the codec yields costs, what it holds, the values that wait) and [`output`] (which game
//! messages are written, and how they are staged for the client).
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

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesOrdered;
use mush_platform::bus::PendingDelivery;
use mush_protocol::keys::ConnectionState;
use mush_protocol::{
    ConnectionRecord, DisconnectReason, GatewayEvent, GatewayEventKind, Handle, Timestamp, Transport,
};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::codec::{ClientCodec, GameStatus, Inbound};
use crate::gateway::Gateway;
use crate::limits::{Abuse, Admission, ByteShare, HeldBytes, InputBudget};
use crate::link::{Inlet, Outlet, Received};
use crate::router::Queued;
use crate::telnet::Compressor;
use input::{
    EVENT_OVERHEAD, HeldLimits, Latest, LatestValues, UNREACHABLE_AFTER, Unacknowledged, class_of,
    event_size, shown,
};
pub use input::{REACHABLE_NOTICE, UNREACHABLE_NOTICE};
use output::{Encoded, OriginFilter};

mod input;
mod output;

/// A write that takes longer than this means the client is not reading.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Queued messages written in one batch (one socket write).
const BATCH: usize = 64;
/// A player whose reading the gateway's memory budget has paused this long is told why.
const BUSY_NOTICE_AFTER: Duration = Duration::from_secs(2);
/// At the login deadline with Redis unable to say whether the player logged in, look again
/// after this (the player is not punished for Redis being away).
const DEADLINE_RECHECK: Duration = Duration::from_secs(30);

pub const DRAIN_NOTICE: &str =
    "*** This gateway is shutting down for maintenance. Please reconnect: you will reach another one. ***";
pub const CLOSE_NOTICE: &str = "*** Gateway closing now. Please reconnect. ***";
pub const UNAVAILABLE_NOTICE: &str = "The game is temporarily unavailable. Please try again in a moment.";
pub const EVENTS_DROPPED_NOTICE: &str =
    "*** Your client sends protocol messages faster than allowed: some were ignored. ***";
pub const BUSY_NOTICE: &str = "*** The gateway is busy: what you type waits a moment. ***";

/// Why the session loop ended.
enum End {
    Closed(DisconnectReason, Option<String>),
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
    /// For each event in flight, when it was handed over and the bytes it holds; whether the
    /// player was told the game is unreachable.
    unacked: Unacknowledged<HeldBytes>,
    /// This connection's bytes in flight to Kafka.
    input_share: ByteShare,
    /// This connection's queued and in-flight output (shared with the router).
    output_share: ByteShare,
    /// The partial line and subnegotiation the codec holds.
    parse_held: Option<HeldBytes>,
    told_events_dropped: bool,
    /// The reading is paused by the bytes budget (counted once per pause).
    read_paused: bool,
    /// Since when the gateway's memory budget has paused reading, and whether the player was told.
    memory_paused_since: Option<Instant>,
    told_busy: bool,
    /// When the connection must have logged in; `None` once it has (or with no deadline).
    login_deadline: Option<Instant>,
    /// Drops output re-sent after a game-server crash (see `output`).
    origins: OriginFilter,
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
        unacked: Unacknowledged::default(),
        input_share: ByteShare::default(),
        output_share: output,
        parse_held: None,
        told_events_dropped: false,
        read_paused: false,
        memory_paused_since: None,
        told_busy: false,
        origins: OriginFilter::default(),
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
                _ = gw.phases.close.triggered() => {
                    self.codec.encode_text(CLOSE_NOTICE, &mut self.out);
                    let _ = Box::pin(self.flush()).await;
                    return End::Closed(DisconnectReason::GatewayShutdown, None);
                }
                _ = gw.phases.drain.triggered(), if !drain_told => {
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
                    if let Some(end) = Box::pin(self.on_read(received, &mut events)).await {
                        return end;
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
                    self.on_acknowledged(result);
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
                _ = tokio::time::sleep(UNREACHABLE_AFTER), if self.unacked.may_become_unreachable() => {
                    if let Some(notice) = self.unacked.unreachable_notice(Instant::now()) {
                        self.codec.encode_text(notice, &mut self.out);
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

    /// Bytes read (or the end of the stream): through the codec, each event it yields charged
    /// to the budget and acted on, then what that staged for the client written.
    async fn on_read(
        &mut self,
        received: std::io::Result<Received>,
        events: &mut Vec<Inbound>,
    ) -> Option<End> {
        let at = Timestamp::now();
        events.clear();
        let n = match received {
            Ok(Received::Data(data)) => {
                self.codec.receive(&data, events);
                data.len()
            }
            Ok(Received::Binary(n)) => {
                self.codec.receive_binary(events);
                n
            }
            Ok(Received::Control(n)) => n,
            Ok(Received::TooBig) => {
                self.too_big = true;
                self.gw.metrics.limit("message_size");
                return Some(End::Closed(
                    DisconnectReason::ProtocolError,
                    Some("message too big".into()),
                ));
            }
            Ok(Received::End) | Err(_) => return Some(End::Closed(DisconnectReason::ClientClosed, None)),
        };
        self.budget.charge_read(n, Instant::now());
        self.gw.metrics.bytes_in.inc_by(n as u64);
        self.hold_parse_buffers();
        for ev in events.drain(..) {
            Box::pin(self.on_inbound(ev, at)).await;
            if let Some(abuse) = self.budget.abuse(Instant::now()) {
                return Some(self.end_for_abuse(abuse));
            }
        }
        if Box::pin(self.flush()).await.is_err() {
            return Some(End::Closed(DisconnectReason::ClientClosed, None));
        }
        None
    }

    /// Kafka acknowledged the oldest event in flight (or gave up on it).
    fn on_acknowledged<T>(&mut self, result: Result<T, mush_platform::bus::BusError>) {
        self.gw.metrics.held_input.dec();
        if let Err(e) = result {
            tracing::warn!(handle = %self.handle, error = %e, "an input event never reached Kafka");
            self.codec.encode_text(
                "*** Some of your input could not be delivered to the game. ***",
                &mut self.out,
            );
        }
        if let Some(notice) = self.unacked.acknowledged() {
            self.codec.encode_text(notice, &mut self.out);
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
        let limits = HeldLimits {
            events: self.gw.config.held_input,
            bytes: self.gw.config.held_input_bytes,
        };
        self.unacked.room(size, self.input_share.bytes(), limits)
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
                self.unacked.handed(Instant::now(), held);
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
            if !self.origins.admit(msg.origin) {
                self.gw.metrics.dropped.inc("duplicate");
                next = if written < BATCH { rx.try_recv().ok() } else { None };
                continue;
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
            match output::encode(&self.codec, &msg.kind, &mut self.out) {
                Encoded::Staged => {}
                Encoded::Session { logged_in } => self.on_session(logged_in),
                Encoded::Disconnect(reason) => {
                    end = Some(End::Closed(reason, Some("requested by the game".into())));
                    break;
                }
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
