//! The real connection-server binary against a real redis-server and the mock Kafka cluster,
//! driven over TCP as a client would, with the test itself playing the game's side of Kafka
//! (reading the input topic, writing the output topic).

use std::io::Read;
use std::time::{Duration, Instant};

use mush_platform::bus::{BusMetrics, Consumer, Producer};
use mush_platform::local::{KafkaMock, RedisServer, ServerProcess, free_port, http_get, http_post};
use mush_platform::metrics::Metrics;
use mush_protocol::{DisconnectReason, GameMessage, GameMessageKind, GatewayEvent, GatewayEventKind, Handle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const T: Duration = Duration::from_secs(10);
const IAC: u8 = 255;
const SB: u8 = 250;
const SE: u8 = 240;
const WILL: u8 = 251;
const DO: u8 = 253;

struct Harness {
    kafka: KafkaMock,
    redis: RedisServer,
    gateway: ServerProcess,
    args: Vec<String>,
    telnet_port: u16,
    input: Consumer,
    producer: Producer,
}

impl Harness {
    async fn start(extra: &[&str]) -> Harness {
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

    async fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.telnet_port)).await.unwrap();
        s.set_nodelay(true).unwrap();
        s
    }

    /// The next input event (any connection).
    async fn event(&self) -> GatewayEvent {
        let rec = tokio::time::timeout(T, self.input.recv())
            .await
            .expect("an input event within 10 s")
            .unwrap();
        GatewayEvent::decode(&rec.payload).unwrap()
    }

    /// Waits for an event matching `pred`, skipping others.
    async fn event_where(&self, what: &str, pred: impl Fn(&GatewayEvent) -> bool) -> GatewayEvent {
        let deadline = Instant::now() + T;
        loop {
            assert!(Instant::now() < deadline, "no {what} event");
            let ev = self.event().await;
            if pred(&ev) {
                return ev;
            }
        }
    }

    /// Connects and returns the socket and its handle (from the `Connected` event).
    async fn connect_and_handle(&self) -> (TcpStream, Handle) {
        let s = self.connect().await;
        let ev = self
            .event_where("connected", |e| {
                matches!(e.kind, GatewayEventKind::Connected { .. })
            })
            .await;
        (s, ev.handle)
    }

    async fn send_output(&self, kind: GameMessageKind, to: Handle) {
        self.producer
            .send_message(&GameMessage::to(vec![to], kind), 4)
            .await
            .unwrap();
    }

    async fn redis_records(&self) -> usize {
        use fred::prelude::*;
        let c = mush_platform::redis::connect(&mush_platform::redis::RedisArgs::for_url(&self.redis.url()))
            .await
            .unwrap();
        c.zcard::<usize, _>("mush:conns").await.unwrap()
    }
}

fn spawn(args: &[String]) -> ServerProcess {
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
async fn read_for(s: &mut TcpStream, wait: Duration) -> Vec<u8> {
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
async fn read_until(s: &mut TcpStream, needle: &[u8]) -> Vec<u8> {
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

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negotiation_naws_gmcp_and_mccp2_work_end_to_end() {
    let h = Harness::start(&[]).await;
    let (mut s, handle) = h.connect_and_handle().await;
    let greeting = read_for(&mut s, Duration::from_millis(300)).await;
    assert!(
        contains(&greeting, &[IAC, DO, 31]),
        "the gateway asks for NAWS: {greeting:?}"
    );
    assert!(contains(&greeting, &[IAC, WILL, 201]), "and offers GMCP");

    // Window size, with a 255 that must arrive escaped.
    s.write_all(&[IAC, WILL, 31, IAC, SB, 31, 0, 255, 255, 0, 40, IAC, SE])
        .await
        .unwrap();
    let ev = h
        .event_where("window size", |e| {
            matches!(e.kind, GatewayEventKind::WindowSize { .. })
        })
        .await;
    assert_eq!(ev.handle, handle);
    assert_eq!(
        ev.kind,
        GatewayEventKind::WindowSize {
            width: 255,
            height: 40
        }
    );

    // GMCP in.
    s.write_all(&[IAC, DO, 201]).await.unwrap();
    let mut sb = vec![IAC, SB, 201];
    sb.extend_from_slice(br#"Core.Hello {"client":"test","version":"1"}"#);
    sb.extend_from_slice(&[IAC, SE]);
    s.write_all(&sb).await.unwrap();
    let ev = h
        .event_where("gmcp", |e| matches!(e.kind, GatewayEventKind::Gmcp { .. }))
        .await;
    assert_eq!(
        ev.kind,
        GatewayEventKind::Gmcp {
            package: "Core.Hello".into(),
            json: r#"{"client":"test","version":"1"}"#.into()
        }
    );

    // GMCP out.
    h.send_output(
        GameMessageKind::Gmcp {
            package: "Char.Name".into(),
            json: r#"{"name":"Alice"}"#.into(),
        },
        handle,
    )
    .await;
    read_until(&mut s, br#"Char.Name {"name":"Alice"}"#).await;

    // MCCP2: after the start marker everything is zlib.
    s.write_all(&[IAC, DO, 86]).await.unwrap();
    let marker = read_until(&mut s, &[IAC, SB, 86, IAC, SE]).await;
    let pos = marker
        .windows(5)
        .position(|w| w == [IAC, SB, 86, IAC, SE])
        .unwrap();
    let mut compressed = marker[pos + 5..].to_vec();
    h.send_output(
        GameMessageKind::Text {
            text: "squeezed text".into(),
        },
        handle,
    )
    .await;
    compressed.extend(read_for(&mut s, Duration::from_secs(2)).await);
    let mut plain = Vec::new();
    let mut z = flate2::read::ZlibDecoder::new(&compressed[..]);
    let mut buf = [0u8; 4096];
    while let Ok(n) = z.read(&mut buf) {
        if n == 0 {
            break;
        }
        plain.extend_from_slice(&buf[..n]);
    }
    assert!(
        contains(&plain, b"squeezed text\r\n"),
        "{:?}",
        String::from_utf8_lossy(&plain)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_lines_are_cut_with_a_notice_and_fast_typists_are_slowed_then_refused() {
    let h = Harness::start(&[
        "--max-line-bytes=100",
        "--commands-per-second=1",
        "--command-burst=2",
    ])
    .await;
    let (mut s, handle) = h.connect_and_handle().await;
    let mut long = vec![b'x'; 500];
    long.extend_from_slice(b"\r\n");
    s.write_all(&long).await.unwrap();
    read_until(&mut s, b"the last 400 bytes were cut").await;
    let ev = h
        .event_where("input", |e| matches!(e.kind, GatewayEventKind::Input { .. }))
        .await;
    assert_eq!(ev.handle, handle);
    let GatewayEventKind::Input { line } = ev.kind else {
        unreachable!()
    };
    assert_eq!(line.len(), 100);

    // Burst of 2 (one token was used above): 10 lines at once.
    let lines: String = (0..10).map(|i| format!("line{i}\r\n")).collect();
    s.write_all(lines.as_bytes()).await.unwrap();
    let text = read_for(&mut s, Duration::from_millis(500)).await;
    let refused = String::from_utf8_lossy(&text).matches("typing too fast").count();
    // One token is left from the burst (two if the bucket refilled a second meanwhile), two lines
    // are held back, the rest are refused with a notice each.
    assert!(
        (6..=7).contains(&refused),
        "{refused} refused: {}",
        String::from_utf8_lossy(&text)
    );
    let accepted = 10 - refused;
    let mut got = Vec::new();
    while got.len() < accepted {
        let ev = h
            .event_where("input", |e| matches!(e.kind, GatewayEventKind::Input { .. }))
            .await;
        let GatewayEventKind::Input { line } = ev.kind else {
            unreachable!()
        };
        got.push(String::from_utf8(line.to_vec()).unwrap());
    }
    let expected: Vec<String> = (0..accepted).map(|i| format!("line{i}")).collect();
    assert_eq!(got, expected, "held-back lines arrive, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_disconnected_not_buffered() {
    let h = Harness::start(&["--output-queue=8"]).await;
    let (_silent, handle) = h.connect_and_handle().await;
    let (mut other, other_handle) = h.connect_and_handle().await;
    let big = "y".repeat(60_000);
    for _ in 0..400 {
        h.send_output(GameMessageKind::Text { text: big.clone() }, handle)
            .await;
    }
    let ev = h
        .event_where("disconnected", |e| {
            e.handle == handle && matches!(e.kind, GatewayEventKind::Disconnected { .. })
        })
        .await;
    assert!(matches!(
        ev.kind,
        GatewayEventKind::Disconnected {
            reason: DisconnectReason::OutputOverflow,
            ..
        }
    ));
    // The other player is unaffected.
    h.send_output(
        GameMessageKind::Text {
            text: "still here".into(),
        },
        other_handle,
    )
    .await;
    read_until(&mut other, b"still here").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_stops_readiness_tells_players_and_closes_the_rest_after_the_drain_time() {
    let mut h = Harness::start(&[]).await;
    let (mut leaver, _) = h.connect_and_handle().await;
    let (mut stayer, stayer_handle) = h.connect_and_handle().await;
    let port = h.gateway.health_port();
    assert_eq!(http_post(port, "/drain").await.unwrap().0, 200);
    assert_eq!(
        http_get(port, "/readyz").await.unwrap().0,
        503,
        "not ready at once"
    );
    read_until(&mut leaver, b"shutting down for maintenance").await;
    read_until(&mut stayer, b"shutting down for maintenance").await;
    // The listener closes as the accept loop sees the drain (within moments).
    let deadline = Instant::now() + Duration::from_secs(2);
    while TcpStream::connect(("127.0.0.1", h.telnet_port)).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "new connections still accepted while draining"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(leaver);
    read_until(&mut stayer, b"Gateway closing now").await;
    let ev = h
        .event_where("disconnected", |e| {
            e.handle == stayer_handle && matches!(e.kind, GatewayEventKind::Disconnected { .. })
        })
        .await;
    assert!(matches!(
        ev.kind,
        GatewayEventKind::Disconnected {
            reason: DisconnectReason::GatewayShutdown,
            ..
        }
    ));
    let status = tokio::time::timeout(T, async {
        loop {
            if let Some(s) = h.gateway.try_wait() {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap();
    assert!(status.success());
    assert_eq!(h.redis_records().await, 0);
    let _ = &mut h;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_crash_the_next_gateway_sweeps_the_dead_ones_records() {
    let mut h = Harness::start(&[]).await;
    let mut handles = Vec::new();
    let mut sockets = Vec::new();
    for _ in 0..3 {
        let (s, handle) = h.connect_and_handle().await;
        sockets.push(s);
        handles.push(handle);
    }
    assert_eq!(h.redis_records().await, 3);
    h.gateway.kill().await;
    h.gateway = spawn(&h.args);
    h.gateway.wait_ready(Duration::from_secs(30)).await.unwrap();
    let mut gone = Vec::new();
    while gone.len() < 3 {
        let ev = h
            .event_where("disconnected", |e| {
                matches!(e.kind, GatewayEventKind::Disconnected { .. })
            })
            .await;
        assert!(matches!(
            ev.kind,
            GatewayEventKind::Disconnected {
                reason: DisconnectReason::GatewayLost,
                ..
            }
        ));
        gone.push(ev.handle);
    }
    gone.sort();
    handles.sort();
    assert_eq!(gone, handles);
    let deadline = Instant::now() + T;
    while h.redis_records().await != 0 {
        assert!(Instant::now() < deadline, "stale records left in Redis");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_kafka_is_away_input_is_held_players_are_told_and_nothing_is_lost() {
    let h = Harness::start(&["--held-input=3"]).await;
    let (mut s, handle) = h.connect_and_handle().await;
    let _ = read_for(&mut s, Duration::from_millis(200)).await;
    h.kafka.broker_down();
    s.write_all(b"one\r\ntwo\r\nthree\r\nfour\r\n").await.unwrap();
    let text = read_until(&mut s, b"not reachable right now").await;
    assert!(
        contains(&text, b"\"four\" was not accepted"),
        "the line that could not be held is named: {}",
        String::from_utf8_lossy(&text)
    );
    h.kafka.broker_up();
    read_until(&mut s, b"reachable again").await;
    let mut got = Vec::new();
    while got.len() < 3 {
        let ev = h
            .event_where("input", |e| {
                e.handle == handle && matches!(e.kind, GatewayEventKind::Input { .. })
            })
            .await;
        let GatewayEventKind::Input { line } = ev.kind else {
            unreachable!()
        };
        got.push(String::from_utf8(line.to_vec()).unwrap());
    }
    assert_eq!(got, vec!["one", "two", "three"]);
}
