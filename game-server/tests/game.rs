//! The real game-server binary against a real redis-server and the mock Kafka cluster, with the
//! test playing the gateway's side of Kafka (writing input events, reading output).

use std::time::{Duration, Instant};

use bytes::Bytes;
use mush_devstack::{KafkaMock, RedisServer, ServerProcess, free_port, metric};
use mush_platform::bus::{BusMetrics, Consumer, Producer};
use mush_platform::metrics::Metrics;
use mush_platform::store::{ConnectionStore, StoreMetrics};
use mush_protocol::{
    ConnectionRecord, DisconnectReason, GameMessage, GameMessageKind, GatewayEvent, GatewayEventKind, Handle,
    HandleAllocator, RedisKeys, Slot, Timestamp, Transport,
};

const T: Duration = Duration::from_secs(15);

struct Harness {
    /// Per target and input partition, the newest origin seen: re-sent copies are dropped, as a
    /// gateway drops them.
    seen: std::sync::Mutex<std::collections::HashMap<(Handle, i32), mush_protocol::Origin>>,
    kafka: KafkaMock,
    redis: RedisServer,
    producer: Producer,
    output: Consumer,
    handles: HandleAllocator,
}

impl Harness {
    fn start() -> Harness {
        let kafka = KafkaMock::start("mush", 4, 4);
        let redis = RedisServer::start();
        let kargs = kafka.args("mush");
        let metrics = BusMetrics::new(&Metrics::new("t", &prometheus::Registry::new()));
        let producer = Producer::new(&kargs, "fake-gateway", metrics).unwrap();
        // Our fake gateway holds slot 0, whose output partition is 0.
        let output = Consumer::assign(
            &kargs,
            "fake-gateway",
            "fake-gateway",
            "mush.output",
            0,
            rdkafka::Offset::Beginning,
        )
        .unwrap();
        Harness {
            seen: Default::default(),
            kafka,
            redis,
            producer,
            output,
            handles: HandleAllocator::new(Slot::new(0).unwrap(), 1).unwrap(),
        }
    }

    fn game(&self, name: &str) -> ServerProcess {
        let health = free_port();
        let args = vec![
            format!("--health-addr=127.0.0.1:{health}"),
            format!("--redis-url={}", self.redis.url()),
            format!("--kafka-brokers={}", self.kafka.bootstrap_servers()),
            "--kafka-fetch-wait-ms=1".into(),
            "--create-topics=false".into(),
            format!("--instance-name={name}"),
            "--lease-ttl-ms=1500".into(),
        ];
        ServerProcess::spawn(
            name,
            std::path::Path::new(env!("CARGO_BIN_EXE_game-server")),
            &args,
            health,
            std::env::var_os("MUSH_E2E_ECHO").is_some(),
        )
        .unwrap()
    }

    async fn store(&self) -> ConnectionStore {
        let client =
            mush_platform::redis::connect(&mush_platform::redis::RedisArgs::for_url(&self.redis.url()))
                .await
                .unwrap();
        let metrics = StoreMetrics::new(&Metrics::new("t", &prometheus::Registry::new()));
        ConnectionStore::new(client, RedisKeys::default(), metrics)
    }

    async fn send(&self, handle: Handle, kind: GatewayEventKind) {
        self.producer
            .send_event(&GatewayEvent::new(handle, kind))
            .await
            .unwrap();
    }

    async fn connect(&self, store: &ConnectionStore) -> Handle {
        let h = self.handles.allocate().unwrap();
        store
            .register(&ConnectionRecord::new(
                h,
                "fake-gateway",
                "127.0.0.1:1",
                Transport::Telnet,
                Timestamp::now(),
            ))
            .await
            .unwrap();
        self.send(
            h,
            GatewayEventKind::Connected {
                peer_addr: "127.0.0.1:1".into(),
                transport: Transport::Telnet,
                gateway: "fake-gateway".into(),
            },
        )
        .await;
        h
    }

    async fn type_line(&self, handle: Handle, line: &str) {
        self.send(
            handle,
            GatewayEventKind::Input {
                line: Bytes::from(line.to_owned()),
            },
        )
        .await;
    }

    /// Texts sent to `handle` until one contains `needle`.
    async fn expect_text(&self, handle: Handle, needle: &str) -> Vec<String> {
        let deadline = Instant::now() + T;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let rec = match tokio::time::timeout(left, self.output.recv()).await {
                Ok(r) => r.unwrap(),
                Err(_) => panic!("{needle:?} never reached {handle}; it got {seen:?}"),
            };
            let msg = GameMessage::decode(&rec.payload).unwrap();
            if !msg.targets.contains(&handle) {
                continue;
            }
            if let Some(origin) = msg.origin {
                let mut seen_origins = self.seen.lock().unwrap();
                match seen_origins.get(&(handle, origin.partition)) {
                    Some(last) if !origin.is_after(last) => continue,
                    _ => {
                        seen_origins.insert((handle, origin.partition), origin);
                    }
                }
            }
            if let GameMessageKind::Text { text } = msg.kind {
                let hit = text.contains(needle);
                seen.push(text);
                if hit {
                    return seen;
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_game_rebuilds_ten_thousand_connections_and_their_logins_from_redis() {
    let h = Harness::start();
    let store = h.store().await;
    let mut game = h.game("game-a");
    game.wait_ready(T).await.unwrap();
    let alice = h.connect(&store).await;
    h.type_line(alice, "create Alice pw-alice").await;
    h.expect_text(alice, "Connected.").await;
    game.stop(T).await;

    // 10,000 more connections arrived (records written by gateways) while the game was away.
    let started = Instant::now();
    for _ in 0..10_000 {
        let handle = h.handles.allocate().unwrap();
        store
            .register(&ConnectionRecord::new(
                handle,
                "fake-gateway",
                "10.0.0.1:1",
                Transport::Telnet,
                Timestamp::now(),
            ))
            .await
            .unwrap();
    }
    println!("seeded 10,000 records in {:?}", started.elapsed());

    let mut game = h.game("game-b");
    game.wait_ready(T * 2).await.unwrap();
    let port = game.health_port();
    let seconds = metric(port, "mush_game_reconciliation_seconds").await.unwrap();
    println!(
        "reconciliation of 10,001 connections took {:.1} ms",
        seconds * 1000.0
    );
    assert_eq!(
        metric(port, "mush_game_restored_connections").await,
        Some(10_001.0)
    );
    assert_eq!(metric(port, "mush_game_logged_in_players").await, Some(1.0));

    // Alice is still logged in: the game answers her as a player, with no new login.
    h.type_line(alice, "WHO").await;
    let who = h.expect_text(alice, "logged in").await;
    assert!(who.iter().any(|t| t.contains("Alice")), "{who:?}");
    game.stop(T).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_waiting_during_reconciliation_merge_correctly() {
    let h = Harness::start();
    let store = h.store().await;
    let mut game = h.game("game-a");
    game.wait_ready(T).await.unwrap();
    let bob = h.connect(&store).await;
    h.type_line(bob, "create Bob pw-bob").await;
    h.expect_text(bob, "Connected.").await;
    game.stop(T).await;

    // While the game is down: Bob's connection closes (its record is still in Redis when the
    // next game reconciles), and a new connection registers and announces itself.
    h.send(
        bob,
        GatewayEventKind::Disconnected {
            reason: DisconnectReason::ClientClosed,
            detail: String::new(),
        },
    )
    .await;
    let carol = h.connect(&store).await;

    let mut game = h.game("game-b");
    game.wait_ready(T).await.unwrap();
    let port = game.health_port();
    // The disconnect wins over the restored record; the connect is applied once.
    let deadline = Instant::now() + T;
    while metric(port, "mush_game_connections").await != Some(1.0) {
        assert!(Instant::now() < deadline, "bob's disconnect was not applied");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(metric(port, "mush_game_logged_in_players").await, Some(0.0));
    let welcome = h.expect_text(carol, "connect <name> <password>").await;
    h.type_line(carol, "WHO").await;
    let after = h.expect_text(carol, "logged in").await;
    assert!(
        !after.iter().any(|t| t.contains("connect <name> <password>")),
        "the welcome came once: {welcome:?} then {after:?}"
    );
    game.stop(T).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_never_act_at_once_and_the_standby_takes_over() {
    let h = Harness::start();
    let store = h.store().await;
    let mut a = h.game("game-a");
    a.wait_ready(T).await.unwrap();
    let mut b = h.game("game-b");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (ready, body) = b.readiness().await;
    assert!(!ready, "the second instance is a standby");
    assert!(body.contains("standby"), "{body}");
    assert_eq!(
        mush_devstack::http_get(b.health_port(), "/livez")
            .await
            .unwrap()
            .0,
        200
    );

    let dana = h.connect(&store).await;
    h.type_line(dana, "create Dana pw-dana").await;
    h.expect_text(dana, "Connected.").await;
    for i in 0..20 {
        h.type_line(dana, &format!("think once-{i}")).await;
    }
    h.expect_text(dana, "once-19").await;

    a.kill().await;
    b.wait_ready(T).await.unwrap();
    h.type_line(dana, "think after-takeover").await;
    let texts = h.expect_text(dana, "after-takeover").await;
    assert!(
        !texts.iter().any(|t| t.starts_with("once-")),
        "nothing applied twice across the takeover: {texts:?}"
    );
    b.stop(T).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_shows_idle_time_moving() {
    let h = Harness::start();
    let store = h.store().await;
    let mut game = h.game("game-a");
    game.wait_ready(T).await.unwrap();
    let eve = h.connect(&store).await;
    h.type_line(eve, "create Eve pw-eve").await;
    h.expect_text(eve, "Connected.").await;
    let watcher = h.connect(&store).await;
    h.type_line(watcher, "create Wat pw-wat").await;
    h.expect_text(watcher, "Connected.").await;
    tokio::time::sleep(Duration::from_millis(3100)).await;
    h.type_line(watcher, "WHO").await;
    let who = h.expect_text(watcher, "logged in").await;
    let eve_line = who
        .iter()
        .filter(|t| t.contains("Player Name"))
        .flat_map(|t| t.lines())
        .find(|l| l.starts_with("Eve "))
        .unwrap_or_else(|| panic!("{who:?}"))
        .to_owned();
    let idle: u64 = eve_line
        .split_whitespace()
        .last()
        .and_then(|s| s.strip_suffix('s'))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("idle column of {eve_line:?} in {who:?}"));
    assert!((3..=5).contains(&idle), "{eve_line}");
    game.stop(T).await;
}
