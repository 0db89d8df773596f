//! The gateway process: start-up, the accept loop, draining and shutdown.
//!
//! Start-up order matters: the health server first (so `/livez` answers while we wait), then
//! Redis (retried with backoff; not ready meanwhile), the slot lease (slot + epoch = where our
//! handles come from), Kafka, the sweep of records an earlier life of our slot left behind, the
//! output consumer positioned at the end of our partition, and only then the players' listeners:
//! telnet, and when configured telnet over TLS, the web client with its WebSocket, and the same
//! over TLS. Every listener admits sockets against the same limits (connections in all and per
//! address), and every connection, whatever its transport, is one [`session`].
//!
//! Draining (SIGTERM, `POST /drain`, or a lost slot lease): readiness turns false at once, no
//! new connections are taken, every player is told, and the gateway waits up to the drain time
//! for them to leave before closing the rest with a final message.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::routing::post;
use mush_platform::Shutdown;
use mush_platform::bus::{Consumer, KafkaArgs, Producer};
use mush_platform::health::Flag;
use mush_platform::lease::{LeaseState, SlotLease, acquire_slot, owner_id};
use mush_platform::retry::{RetryError, RetryPolicy, retry};
use mush_platform::runtime::{Phases, Server};
use mush_platform::sealing::InputKeys;
use mush_platform::store::ConnectionStore;
use mush_protocol::Transport;
use mush_protocol::{
    DisconnectReason, GatewayEvent, GatewayEventKind, Handle, HandleAllocator, RedisKeys, Timestamp, topics,
};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::codec::{ClientCodec, GameStatus};
use crate::config::Config;
use crate::limits::{ByteShare, IpLimiter, MemoryBudget};
use crate::link::{Inlet, Outlet};
use crate::metrics::GatewayMetrics;
use crate::router::Queued;
use crate::session::Link;
use crate::telnet::{CodecConfig, TelnetCodec};
use crate::tls::Certificates;
use crate::{router, session, web};

/// How long a client has to finish the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the game-server's leadership lease is looked at (for browsers' "restarting" state).
const GAME_STATUS_EVERY: Duration = Duration::from_secs(1);
/// Waiting at start-up for a gateway slot or the output topic: every second until drained.
const WAIT_RETRY: RetryPolicy = RetryPolicy::constant(Duration::from_secs(1));
/// Removing a closed connection's record while Redis is away: 200 ms doubling to 30 s, 12
/// attempts (2 min 21 s of waiting in all), then the sweep of the slot's next life removes it.
const REMOVE_RECORD_RETRY: RetryPolicy =
    RetryPolicy::backoff(Duration::from_millis(200), Duration::from_secs(30)).attempts(12);

/// What the router needs to reach one session.
pub struct SessionLink {
    pub tx: mpsc::Sender<Queued>,
    /// Cancelled when the session must close because it stopped reading.
    pub overflow: CancellationToken,
    /// Bytes of output queued for the session or being written to its socket.
    pub output: ByteShare,
}

/// State shared by every task of the gateway.
pub struct Gateway {
    pub config: Config,
    /// Seals input lines for the game-server (see `mush_platform::sealing`).
    pub input_keys: InputKeys,
    pub metrics: GatewayMetrics,
    pub allocator: HandleAllocator,
    pub store: ConnectionStore,
    pub producer: Producer,
    pub sessions: Mutex<HashMap<Handle, SessionLink>>,
    /// Every byte held for a connection, against `--memory-budget-bytes`.
    pub memory: Arc<MemoryBudget>,
    pub ip_limiter: Mutex<IpLimiter>,
    /// Draining (no new players), closing (the sessions, tracked there) and stopping.
    pub phases: Phases,
    pub started_at: Timestamp,
    /// Players connected to the whole game (all gateways), refreshed in the background; for MSSP.
    pub players_online: AtomicUsize,
    /// Sockets admitted on every player port (sessions, TLS handshakes, web page requests),
    /// against `--max-connections`.
    pub open_sockets: AtomicUsize,
    /// Whether a game-server holds the game and serves (see `watch_game`), for browsers.
    pub game_status: watch::Sender<GameStatus>,
}

/// A socket admitted on a player port: counted against the connection limits until dropped.
pub struct Admitted {
    gw: Arc<Gateway>,
    ip: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.gw.open_sockets.fetch_sub(1, Ordering::Relaxed);
        self.gw.ip_limiter.lock().expect("ip limiter").release(self.ip);
    }
}

/// A refusal at accept: the limit's label and what the client is told.
pub type Refusal = (&'static str, &'static str);

impl Gateway {
    /// Lets a new socket in, or says why not (counted in `limit_hits_total`).
    pub fn admit(self: &Arc<Self>, peer: SocketAddr) -> Result<Admitted, Refusal> {
        if self.open_sockets.load(Ordering::Relaxed) >= self.config.max_connections {
            self.metrics.limit("max_connections");
            return Err((
                "max_connections",
                "The game is full right now. Please try again later.",
            ));
        }
        if let Err(r) = self
            .ip_limiter
            .lock()
            .expect("ip limiter")
            .admit(peer.ip(), Instant::now())
        {
            self.metrics.limit(r.label());
            return Err((r.label(), r.message()));
        }
        self.open_sockets.fetch_add(1, Ordering::Relaxed);
        Ok(Admitted {
            gw: self.clone(),
            ip: peer.ip(),
        })
    }

    /// A handle for a new connection. When this gateway life has used every handle, it drains
    /// so a new life (a new epoch) takes over.
    pub fn allocate_handle(&self) -> Option<Handle> {
        let handle = self.allocator.allocate();
        if handle.is_none() && !self.phases.drain.is_triggered() {
            tracing::error!("this gateway life has used every handle: draining so a new life takes over");
            self.phases.drain.trigger();
        }
        handle
    }

    /// The codec of a new telnet connection.
    pub fn telnet_codec(&self) -> ClientCodec {
        ClientCodec::Telnet(Box::new(TelnetCodec::new(CodecConfig {
            max_line_bytes: self.config.max_line_bytes,
            offer_mccp: self.config.mccp,
            ..CodecConfig::default()
        })))
    }
}

impl Gateway {
    pub fn session_count(&self) -> usize {
        self.sessions.lock().expect("sessions lock").len()
    }

    /// Publishes an event that no session owns any more (sweeps, refused registrations).
    pub async fn publish_orphan_disconnect(&self, handle: Handle, reason: DisconnectReason, detail: &str) {
        let ev = GatewayEvent::new(
            handle,
            GatewayEventKind::Disconnected {
                reason,
                detail: detail.to_owned(),
            },
        );
        if let Err(e) = self.producer.send_event(&ev).await {
            tracing::warn!(%handle, error = %e, "could not publish a disconnect");
        }
    }

    /// Removes a closed connection's record; retries in the background for a while when Redis
    /// is away (the next life of this slot sweeps whatever is still left).
    pub fn remove_record(self: &Arc<Self>, handle: Handle) {
        let gw = self.clone();
        tokio::spawn(async move {
            // Nothing stops it: records closed while draining must go too.
            let never = CancellationToken::new();
            if let Err(RetryError::GaveUp(e)) =
                retry(&REMOVE_RECORD_RETRY, &never, |_| gw.store.remove(handle)).await
            {
                tracing::warn!(%handle, error = %e, "giving up removing a record; the sweep will");
            }
        });
    }
}

/// Runs the gateway until it has drained and stopped.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let server = Server::boot("connection-server", config.validate(), config.summary())?;
    let input_keys = server.input_keys(&config.input_key)?;
    let metrics = GatewayMetrics::new(&server.registry);
    let accepting = Flag::new("starting");
    let health = server
        .health()
        .readiness_flag("accepting", &accepting)
        .readiness_check("not-draining", Duration::from_secs(1), {
            // Readiness turns false the moment draining is asked for (SIGTERM, POST /drain, a
            // lost lease), before the accept loop has even noticed.
            let drain = server.phases.drain.clone();
            move || {
                let draining = drain.is_triggered();
                async move { if draining { Err("draining".into()) } else { Ok(()) } }
            }
        });
    let drain_route = drain_route(server.phases.drain.clone(), config.drain_token.clone());
    server
        .serve_health(config.health_addr, health, Some(drain_route))
        .await?;

    let Some(client) = server.connect_redis(&config.redis).await else {
        return server.stopped_while_booting("Redis").await;
    };
    let keys = RedisKeys::new(&config.redis.namespace);
    let Some((slot, epoch)) = hold_slot(&server, &config, &client, &keys).await else {
        return server.stopped_while_booting("a gateway slot").await;
    };
    let producer = server
        .connect_kafka(&config.kafka, &config.gateway_name, metrics.bus.clone())
        .await?;
    let topics = config.kafka.topics();
    let Some(output_partitions) = server.partition_count(&producer, &topics.output).await else {
        return server.stopped_while_booting("the output topic").await;
    };
    let partition = topics::output_partition(slot, output_partitions);
    if i32::from(config.slots) > output_partitions {
        tracing::info!(
            slots = config.slots,
            output_partitions,
            "more gateway slots than output partitions: gateways beyond that share a partition and skip each other's messages"
        );
    }

    let gw = Arc::new(Gateway {
        input_keys,
        metrics: metrics.clone(),
        allocator: HandleAllocator::new(slot, epoch)?,
        store: ConnectionStore::new(client.clone(), keys.clone(), metrics.store.clone()),
        producer: producer.clone(),
        sessions: Mutex::new(HashMap::new()),
        memory: Arc::new(MemoryBudget::new(
            config.memory_budget_bytes,
            metrics.held_bytes.clone(),
            metrics.limit_hits.with_label_values(&["memory_budget"]),
        )),
        ip_limiter: Mutex::new(IpLimiter::new(
            config.max_connections_per_ip,
            config.connections_per_ip_per_minute,
        )),
        phases: server.phases.clone(),
        started_at: Timestamp::now(),
        players_online: AtomicUsize::new(0),
        open_sockets: AtomicUsize::new(0),
        game_status: watch::Sender::new(GameStatus::Running),
        config,
    });
    sweep(&gw).await;
    start_background(&gw, partition).await?;

    let ports = player_ports(&gw.config, &gw.phases.stop)?;
    tracing::info!(
        ports = %ports.iter().map(|(p, l)| format!("{}={}", p.name(), l.local_addr().map_or_else(|e| e.to_string(), |a| a.to_string()))).collect::<Vec<_>>().join(" "),
        %slot, epoch, partition, "accepting players"
    );
    accepting.set_ready();
    futures::future::join_all(
        ports
            .into_iter()
            .map(|(port, listener)| accept_loop(&gw, listener, port)),
    )
    .await;

    accepting.set_not_ready("draining");
    drain_players(&gw).await;
    if let Err(e) = producer.flush(Duration::from_secs(10)).await {
        tracing::warn!(error = %e, "not every event reached Kafka before exit");
    }
    server.phases.stop(Duration::from_secs(5)).await;
    tracing::info!("connection-server stopped");
    Ok(())
}

/// `POST /drain`: starts draining, when the caller shows the configured token (if any).
fn drain_route(drain: Shutdown, token: Option<String>) -> axum::Router {
    axum::Router::new().route(
        "/drain",
        post(move |headers: axum::http::HeaderMap| {
            let drain = drain.clone();
            let token = token.clone();
            async move {
                let given = headers
                    .get(axum::http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok());
                match drain_allowed(token.as_deref(), given) {
                    Ok(()) => {
                        tracing::info!("draining: asked by POST /drain");
                        drain.trigger();
                        (axum::http::StatusCode::OK, "draining\n")
                    }
                    Err(refusal) => refusal,
                }
            }
        }),
    )
}

/// Takes a gateway slot (where our handles come from: slot and epoch) and keeps it; losing it
/// drains the gateway. The slot named by the pod's ordinal (`...-3`) is tried first.
async fn hold_slot(
    server: &Server,
    config: &Config,
    client: &fred::prelude::Client,
    keys: &RedisKeys,
) -> Option<(mush_protocol::Slot, u32)> {
    let owner = owner_id(&config.gateway_name);
    let ttl = Duration::from_millis(config.slot_ttl_ms);
    let preferred = config
        .gateway_name
        .rsplit('-')
        .next()
        .and_then(|n| n.parse::<u16>().ok())
        .filter(|n| *n < config.slots);
    let SlotLease { slot, epoch, lease } = server
        .acquire(
            &WAIT_RETRY,
            || acquire_slot(client, keys, &owner, config.slots, preferred, ttl),
            |why| match why {
                None => tracing::warn!(slots = config.slots, "every gateway slot is taken; waiting"),
                Some(e) => tracing::warn!(error = %e, "could not take a gateway slot; retrying"),
            },
        )
        .await?;
    tracing::info!(%slot, epoch, "holding gateway slot");
    let mut lease_state = lease.spawn_keeper(client.clone(), &server.phases.stop);
    let drain = server.phases.drain.clone();
    tokio::spawn(async move {
        while lease_state.changed().await.is_ok() {
            if *lease_state.borrow() == LeaseState::Lost {
                tracing::error!("slot lease lost: draining");
                drain.trigger();
                return;
            }
        }
    });
    Some((slot, epoch))
}

/// The background tasks: the output router (our own partition, from its current end: everything
/// for our new handles comes later), the orphan sweep, the figures, the game's status.
async fn start_background(gw: &Arc<Gateway>, partition: i32) -> anyhow::Result<()> {
    let background = &gw.phases.stop;
    background.spawn(sweep_orphans_forever(gw.clone(), background.clone()));
    let output = gw.config.kafka.topics().output;
    let (_, high) = gw
        .producer
        .watermarks(&output, partition, Duration::from_secs(10))
        .await
        .context("reading the output partition's end")?;
    let consumer = Consumer::assign(
        &output_consumer_args(&gw.config),
        &gw.config.gateway_name,
        &format!("gateway-{}", gw.allocator.slot()),
        &output,
        partition,
        rdkafka::Offset::Offset(high),
    )?;
    background.spawn(router::run(gw.clone(), consumer, background.clone()));
    background.spawn(refresh_figures(gw.clone(), background.clone()));
    background.spawn(watch_game(gw.clone(), background.clone()));
    Ok(())
}

/// Draining: every player has been told; waits up to the drain time for them to leave, then
/// closes the rest (the close phase) and waits for their sessions to end.
async fn drain_players(gw: &Arc<Gateway>) {
    gw.metrics.draining.set(1);
    let deadline = Instant::now() + gw.config.drain_time();
    tracing::info!(players = gw.session_count(), drain = ?gw.config.drain_time(), "draining");
    while gw.session_count() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let remaining = gw.session_count();
    if remaining > 0 {
        tracing::info!(remaining, "drain time over: closing the remaining connections");
    }
    gw.phases.close(Duration::from_secs(10)).await;
}

/// Removes the records an earlier life of our slot left (a crash), telling the game each one
/// is gone, so it never keeps zombie players.
async fn sweep(gw: &Arc<Gateway>) {
    let slot = gw.allocator.slot();
    let handles = match gw.store.gateway_handles(slot).await {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(error = %e, "could not read this slot's old records; not swept");
            return;
        }
    };
    let stale: Vec<Handle> = handles.into_iter().filter(|h| !gw.allocator.owns(*h)).collect();
    if stale.is_empty() {
        return;
    }
    tracing::info!(count = stale.len(), %slot, "sweeping connections of an earlier life of this slot");
    for h in stale {
        gw.publish_orphan_disconnect(h, DisconnectReason::GatewayLost, "gateway restarted")
            .await;
        if let Err(e) = gw.store.remove(h).await {
            tracing::warn!(handle = %h, error = %e, "could not remove a stale record");
        }
    }
}

/// Every slot lease period, sweeps the records of slots no gateway holds any more (a gateway
/// that crashed and came back on another slot, or was scaled away), so their players never stay
/// in the game as ghosts.
async fn sweep_orphans_forever(gw: Arc<Gateway>, stop: Shutdown) {
    let every = Duration::from_millis(gw.config.slot_ttl_ms);
    loop {
        for n in 0..gw.config.slots {
            let Ok(slot) = mush_protocol::Slot::new(n) else {
                continue;
            };
            if slot == gw.allocator.slot() {
                continue;
            }
            if let Err(e) = sweep_orphaned_slot(&gw, slot).await {
                tracing::debug!(%slot, error = %e, "orphan sweep skipped");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.triggered() => return,
        }
    }
}

async fn sweep_orphaned_slot(gw: &Arc<Gateway>, slot: mush_protocol::Slot) -> anyhow::Result<()> {
    let stale = gw.store.orphans_of_slot(slot).await?;
    if stale.is_empty() {
        return Ok(());
    }
    tracing::info!(count = stale.len(), %slot, "sweeping connections of a gateway that is gone");
    for h in stale {
        gw.publish_orphan_disconnect(h, DisconnectReason::GatewayLost, "gateway gone")
            .await;
        gw.store.remove(h).await?;
    }
    Ok(())
}

/// Keeps the game-wide player count for MSSP fresh without a Redis call per request.
async fn refresh_figures(gw: Arc<Gateway>, stop: Shutdown) {
    loop {
        if let Ok(n) = gw.store.live_count().await {
            gw.players_online.store(n as usize, Ordering::Relaxed);
        }
        gw.ip_limiter.lock().expect("ip limiter").prune(Instant::now());
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(10)) => {}
            _ = stop.triggered() => return,
        }
    }
}

/// Whether a `POST /drain` may drain: only with the configured token, as a bearer token.
/// Compared in constant time, so the answer's timing does not reveal the token.
pub fn drain_allowed(
    configured: Option<&str>,
    authorization: Option<&str>,
) -> Result<(), (axum::http::StatusCode, &'static str)> {
    use axum::http::StatusCode;
    let Some(token) = configured.filter(|t| !t.is_empty()) else {
        return Err((
            StatusCode::FORBIDDEN,
            "POST /drain is off: start the gateway with --drain-token (MUSH_DRAIN_TOKEN)\n",
        ));
    };
    let given = authorization
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or_default();
    let same = given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        Err((
            StatusCode::UNAUTHORIZED,
            "POST /drain needs Authorization: Bearer <drain token>\n",
        ))
    }
}

/// The players' listening socket. Accepted sockets inherit its options on Linux, so Nagle's
/// algorithm (off: a prompt must not wait for an acknowledgement) and TCP keepalive (a dead
/// peer is found within minutes) cost no system call per connection.
pub fn player_listener(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, TcpKeepalive, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_tcp_nodelay(true)?;
    socket.set_tcp_keepalive(
        &TcpKeepalive::new()
            .with_time(Duration::from_secs(60))
            .with_interval(Duration::from_secs(15)),
    )?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

/// A port players connect to, and what it speaks.
#[derive(Clone)]
pub enum PlayerPort {
    Telnet,
    TelnetTls(TlsAcceptor),
    Web,
    WebTls(TlsAcceptor),
}

impl PlayerPort {
    pub fn name(&self) -> &'static str {
        match self {
            PlayerPort::Telnet => "telnet",
            PlayerPort::TelnetTls(_) => "telnet-tls",
            PlayerPort::Web => "web",
            PlayerPort::WebTls(_) => "web-tls",
        }
    }
}

/// Binds every configured player port. With a TLS port, loads the certificate (an error stops
/// the gateway: it was asked for TLS) and watches its files for renewals.
fn player_ports(config: &Config, background: &Shutdown) -> anyhow::Result<Vec<(PlayerPort, TcpListener)>> {
    let certificates = match config.tls_files() {
        Some(files) => {
            let certs = Certificates::load(files).map_err(|e| anyhow::anyhow!("TLS: {e}"))?;
            background.spawn(
                certs
                    .clone()
                    .watch(Duration::from_secs(config.tls_reload_seconds), background.clone()),
            );
            Some(certs)
        }
        None => None,
    };
    let mut ports = vec![(PlayerPort::Telnet, config.telnet_addr)];
    if let (Some(addr), Some(certs)) = (config.telnet_tls_addr, &certificates) {
        ports.push((PlayerPort::TelnetTls(certs.acceptor(&[])), addr));
    }
    if let Some(addr) = config.web_addr {
        ports.push((PlayerPort::Web, addr));
    }
    if let (Some(addr), Some(certs)) = (config.web_tls_addr, &certificates) {
        ports.push((PlayerPort::WebTls(certs.acceptor(&[b"http/1.1"])), addr));
    }
    ports
        .into_iter()
        .map(|(port, addr)| {
            let listener = player_listener(addr)
                .with_context(|| format!("binding the {} address {addr}", port.name()))?;
            Ok((port, listener))
        })
        .collect()
}

async fn accept_loop(gw: &Arc<Gateway>, listener: TcpListener, port: PlayerPort) {
    loop {
        let accepted = tokio::select! {
            _ = gw.phases.drain.triggered() => return,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // No Nagle and TCP keepalive come from the listener (see `player_listener`).
        match gw.admit(peer) {
            Ok(admitted) => {
                gw.phases
                    .close
                    .spawn(connect(gw.clone(), stream, peer, admitted, port.clone()));
            }
            Err((reason, message)) => refuse(gw, stream, &port, reason, message),
        }
    }
}

/// Serves one admitted socket: the TLS handshake if the port has TLS, then a telnet session, or
/// HTTP (the web client, and a session once it asks for the WebSocket).
async fn connect(
    gw: Arc<Gateway>,
    stream: TcpStream,
    peer: SocketAddr,
    admitted: Admitted,
    port: PlayerPort,
) {
    match port {
        PlayerPort::Telnet => {
            let Some(handle) = gw.allocate_handle() else {
                return refuse_now(&gw, stream, "handles_exhausted", RESTARTING).await;
            };
            let (reader, writer) = stream.into_split();
            let link = Link {
                inlet: Inlet::Tcp(reader),
                outlet: Outlet::Tcp(writer),
                codec: gw.telnet_codec(),
                transport: Transport::Telnet,
            };
            serve_session(gw, link, peer, handle, admitted).await;
        }
        PlayerPort::TelnetTls(acceptor) => {
            let Some(tls) = handshake(&gw, &acceptor, stream).await else {
                return;
            };
            let Some(handle) = gw.allocate_handle() else {
                return;
            };
            let (reader, writer) = tokio::io::split(tls);
            let link = Link {
                inlet: Inlet::Tls(reader),
                outlet: Outlet::Tls(writer),
                codec: gw.telnet_codec(),
                transport: Transport::TelnetTls,
            };
            serve_session(gw, link, peer, handle, admitted).await;
        }
        PlayerPort::Web => web::serve(gw, stream, peer, admitted, false).await,
        PlayerPort::WebTls(acceptor) => {
            if let Some(tls) = handshake(&gw, &acceptor, stream).await {
                web::serve(gw, tls, peer, admitted, true).await;
            }
        }
    }
}

/// The TLS handshake, within [`TLS_HANDSHAKE_TIMEOUT`]; a failure is counted and the socket closed.
async fn handshake(
    gw: &Gateway,
    acceptor: &TlsAcceptor,
    stream: TcpStream,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "TLS handshake failed");
            gw.metrics.refused.inc("tls_handshake");
            None
        }
        Err(_) => {
            gw.metrics.refused.inc("tls_handshake");
            None
        }
    }
}

/// Runs one player connection, of any transport, from registration to its end.
pub async fn serve_session(
    gw: Arc<Gateway>,
    link: Link,
    peer: SocketAddr,
    handle: Handle,
    admitted: Admitted,
) {
    let (tx, rx) = mpsc::channel(gw.config.output_queue);
    let overflow = CancellationToken::new();
    let output = ByteShare::default();
    gw.sessions.lock().expect("sessions lock").insert(
        handle,
        SessionLink {
            tx,
            overflow: overflow.clone(),
            output: output.clone(),
        },
    );
    let by_transport = gw.metrics.transport(link.transport).clone();
    gw.metrics.connections.inc();
    by_transport.inc();
    gw.metrics.accepted.inc();
    session::run(gw.clone(), link, peer, handle, rx, overflow, output).await;
    gw.sessions.lock().expect("sessions lock").remove(&handle);
    gw.metrics.connections.dec();
    by_transport.dec();
    drop(admitted);
}

/// What a client is told when this gateway life has no handle left.
const RESTARTING: &str = "This gateway is restarting. Please reconnect.";

/// Tells a refused client why, then closes; never blocks the accept loop.
fn refuse(
    gw: &Arc<Gateway>,
    stream: TcpStream,
    port: &PlayerPort,
    reason: &'static str,
    message: &'static str,
) {
    gw.metrics.refused.inc(reason);
    let port = port.clone();
    tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(2), write_refusal(stream, &port, message)).await;
    });
}

async fn refuse_now(gw: &Gateway, stream: TcpStream, reason: &'static str, message: &'static str) {
    gw.metrics.refused.inc(reason);
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        write_refusal(stream, &PlayerPort::Telnet, message),
    )
    .await;
}

/// The refusal in the port's own terms: a line of text for telnet, an HTTP 503 for the web
/// port; a TLS port closes (there is no one to read plain text).
async fn write_refusal(mut stream: TcpStream, port: &PlayerPort, message: &str) {
    let text = match port {
        PlayerPort::Telnet => format!("{message}\r\n"),
        PlayerPort::Web => web::refusal_response(message),
        PlayerPort::TelnetTls(_) | PlayerPort::WebTls(_) => String::new(),
    };
    let _ = stream.write_all(text.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Follows the game-server's leadership lease and whether its holder serves (has reconciled:
/// `lease::is_serving`), so browsers can show that the game is restarting (their input waits in
/// Kafka meanwhile) until a new game-server has replayed. Redis away: the status stays as it was.
async fn watch_game(gw: Arc<Gateway>, stop: Shutdown) {
    loop {
        if let Ok(serving) = gw
            .store
            .lease_serving(mush_protocol::keys::GAME_LEADER_LEASE)
            .await
        {
            let status = if serving {
                GameStatus::Running
            } else {
                GameStatus::Restarting
            };
            gw.game_status
                .send_if_modified(|now| std::mem::replace(now, status) != status);
        }
        tokio::select! {
            _ = tokio::time::sleep(GAME_STATUS_EVERY) => {}
            _ = stop.triggered() => return,
        }
    }
}

/// The output consumer's settings. librdkafka prefetches up to 64 MiB per partition by
/// default, outside every budget here, and keeps prefetching while the router pauses: its
/// prefetch is held to a quarter of the memory budget unless `--kafka-option` says otherwise.
fn output_consumer_args(config: &Config) -> KafkaArgs {
    const KEY: &str = "queued.max.messages.kbytes";
    let mut args = config.kafka.clone();
    if !args.options.iter().any(|(k, _)| k == KEY) {
        let kbytes = (config.memory_budget_bytes / 4 / 1024).clamp(1024, 65536);
        args.options.push((KEY.to_owned(), kbytes.to_string()));
    }
    args
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    fn config(args: &[&str]) -> Config {
        Config::try_parse_from(std::iter::once("connection-server").chain(args.iter().copied())).unwrap()
    }

    fn prefetch(args: &KafkaArgs) -> Vec<&str> {
        args.options
            .iter()
            .filter(|(k, _)| k == "queued.max.messages.kbytes")
            .map(|(_, v)| v.as_str())
            .collect()
    }

    #[test]
    fn the_output_prefetch_is_a_quarter_of_the_memory_budget_unless_set() {
        assert_eq!(prefetch(&output_consumer_args(&config(&[]))), ["16384"]);
        let small = config(&["--memory-budget-bytes=1048576"]);
        assert_eq!(
            prefetch(&output_consumer_args(&small)),
            ["1024"],
            "at least 1 MiB"
        );
        let own = config(&["--kafka-option=queued.max.messages.kbytes=500"]);
        assert_eq!(
            prefetch(&output_consumer_args(&own)),
            ["500"],
            "the operator's setting wins"
        );
    }

    #[test]
    fn drain_needs_the_configured_token() {
        use axum::http::StatusCode;
        assert_eq!(
            drain_allowed(None, Some("Bearer x")).unwrap_err().0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            drain_allowed(Some(""), None).unwrap_err().0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            drain_allowed(Some("s3cret"), None).unwrap_err().0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            drain_allowed(Some("s3cret"), Some("Bearer s3cre")).unwrap_err().0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            drain_allowed(Some("s3cret"), Some("s3cret")).unwrap_err().0,
            StatusCode::UNAUTHORIZED,
            "a bearer token, not a bare one"
        );
        assert!(drain_allowed(Some("s3cret"), Some("Bearer s3cret")).is_ok());
    }

    #[tokio::test]
    async fn accepted_players_have_no_nagle_and_keepalive_without_setting_them() {
        let listener = player_listener("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        assert!(
            accepted.nodelay().unwrap(),
            "TCP_NODELAY inherited from the listener"
        );
        let sock = socket2::SockRef::from(&accepted);
        assert!(sock.keepalive().unwrap(), "SO_KEEPALIVE inherited");
        assert_eq!(sock.tcp_keepalive_time().unwrap(), Duration::from_secs(60));
        assert_eq!(sock.tcp_keepalive_interval().unwrap(), Duration::from_secs(15));
        drop(client);
    }
}
