//! The gateway test harness: the real connection-server binary against a real redis-server and
//! the mock Kafka cluster, with the test playing the game's side of Kafka.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use mush_devstack::{KafkaMock, RedisServer, ServerProcess, free_port, http_get, metric};
use mush_platform::bus::{BusMetrics, Consumer, Producer};
use mush_platform::metrics::Metrics;
use mush_protocol::{DisconnectReason, GameMessage, GameMessageKind, GatewayEvent, GatewayEventKind, Handle};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

pub const T: Duration = Duration::from_secs(10);
pub const IAC: u8 = 255;
pub const SB: u8 = 250;
pub const SE: u8 = 240;
pub const WILL: u8 = 251;
pub const DO: u8 = 253;

pub struct Harness {
    pub kafka: KafkaMock,
    pub redis: RedisServer,
    pub gateway: ServerProcess,
    pub args: Vec<String>,
    pub telnet_port: u16,
    pub input: Consumer,
    pub producer: Producer,
}

impl Harness {
    pub async fn start(extra: &[&str]) -> Harness {
        let kafka = KafkaMock::start("mush", 4, 4);
        let redis = RedisServer::start();
        let telnet_port = free_port();
        let health = free_port();
        let mut args = vec![
            format!("--telnet-addr=127.0.0.1:{telnet_port}"),
            format!("--health-addr=127.0.0.1:{health}"),
            format!("--redis-url={}", redis.url()),
            format!("--kafka-brokers={}", kafka.bootstrap_servers()),
            "--kafka-fetch-wait-ms=1".into(),
            "--create-topics=false".into(),
            "--gateway-name=gateway-0".into(),
            "--slot-ttl-ms=1500".into(),
            "--drain-seconds=3".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut gateway = spawn(&args);
        gateway.wait_ready(Duration::from_secs(30)).await.unwrap();
        let kargs = kafka.args("mush");
        let input = Consumer::subscribe(&kargs, "test", "test-game", &["mush.input"]).unwrap();
        let metrics = BusMetrics::new(&Metrics::new("t", &prometheus::Registry::new()));
        let producer = Producer::new(&kargs, "test-game", metrics).unwrap();
        Harness {
            kafka,
            redis,
            gateway,
            args,
            telnet_port,
            input,
            producer,
        }
    }

    pub async fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.telnet_port)).await.unwrap();
        s.set_nodelay(true).unwrap();
        s
    }

    /// The next input event (any connection).
    pub async fn event(&self) -> GatewayEvent {
        let rec = tokio::time::timeout(T, self.input.recv())
            .await
            .expect("an input event within 10 s")
            .unwrap();
        GatewayEvent::decode(&rec.payload).unwrap()
    }

    /// Waits for an event matching `pred`, skipping others.
    pub async fn event_where(&self, what: &str, pred: impl Fn(&GatewayEvent) -> bool) -> GatewayEvent {
        let deadline = Instant::now() + T;
        loop {
            assert!(Instant::now() < deadline, "no {what} event");
            let ev = self.event().await;
            if pred(&ev) {
                return ev;
            }
        }
    }

    /// Waits for the game to hear that `handle` is gone; why.
    pub async fn disconnect_reason(&self, handle: Handle) -> DisconnectReason {
        let ev = self
            .event_where("disconnected", |e| {
                e.handle == handle && matches!(e.kind, GatewayEventKind::Disconnected { .. })
            })
            .await;
        match ev.kind {
            GatewayEventKind::Disconnected { reason, .. } => reason,
            _ => unreachable!("matched above"),
        }
    }

    /// Connects and returns the socket and its handle (from the `Connected` event).
    pub async fn connect_and_handle(&self) -> (TcpStream, Handle) {
        let s = self.connect().await;
        let ev = self
            .event_where("connected", |e| {
                matches!(e.kind, GatewayEventKind::Connected { .. })
            })
            .await;
        (s, ev.handle)
    }

    pub async fn send_output(&self, kind: GameMessageKind, to: Handle) {
        self.producer
            .send_message(&GameMessage::to(vec![to], kind), 4)
            .await
            .unwrap();
    }

    /// How many times the gateway's limit `label` acted so far.
    pub async fn limit_hits(&self, label: &str) -> f64 {
        let (_, body) = http_get(self.gateway.health_port(), "/metrics").await.unwrap();
        let series = format!("mush_gateway_limit_hits_total{{limit=\"{label}\"}}");
        body.lines()
            .find_map(|l| l.strip_prefix(&series))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {series} in /metrics"))
    }

    /// The gateway's held bytes (the memory budget's gauge).
    pub async fn held_bytes(&self) -> f64 {
        metric(self.gateway.health_port(), "mush_gateway_held_bytes")
            .await
            .expect("held_bytes exported")
    }

    /// Tells the gateway, as the game does, that `handle` logged in, and waits until the
    /// gateway has applied it (the text after it in the same queue arrives).
    pub async fn log_in(&self, s: &mut TcpStream, handle: Handle) {
        self.send_output(GameMessageKind::Session { logged_in: true }, handle)
            .await;
        self.send_output(
            GameMessageKind::Text {
                text: "Welcome back.".into(),
            },
            handle,
        )
        .await;
        read_until(s, b"Welcome back.").await;
    }

    pub async fn redis_records(&self) -> usize {
        use fred::prelude::*;
        let c = mush_platform::redis::connect(&mush_platform::redis::RedisArgs::for_url(&self.redis.url()))
            .await
            .unwrap();
        c.zcard::<usize, _>("mush:conns").await.unwrap()
    }
}

pub fn spawn(args: &[String]) -> ServerProcess {
    let health = args
        .iter()
        .find_map(|a| a.strip_prefix("--health-addr=127.0.0.1:"))
        .and_then(|p| p.parse().ok())
        .unwrap();
    ServerProcess::spawn(
        "connection-server",
        std::path::Path::new(env!("CARGO_BIN_EXE_connection-server")),
        args,
        health,
        std::env::var_os("MUSH_E2E_ECHO").is_some(),
    )
    .unwrap()
}

/// Reads what arrives within `wait`.
pub async fn read_for(s: &mut TcpStream, wait: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = [0u8; 65536];
    while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// Reads until `needle` appears in what arrived (bytes), or fails.
pub async fn read_until(s: &mut TcpStream, needle: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + T;
    let mut buf = [0u8; 65536];
    loop {
        if out.windows(needle.len()).any(|w| w == needle) {
            return out;
        }
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => out.extend_from_slice(&buf[..n]),
            _ => panic!(
                "{:?} never arrived; got {:?}",
                String::from_utf8_lossy(needle),
                String::from_utf8_lossy(&out)
            ),
        }
    }
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
