//! What goes wrong around the game, and what players see of it: connection storms, a gateway
//! crash, Redis and Kafka going away, and hostile input.

mod support;

use std::time::{Duration, Instant};

use mush_devstack::{TelnetClient, metric};
use support::{Stack, StackOptions, T};
use tokio::io::AsyncWriteExt;

async fn wait_for(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A command's round trip as one player sees it.
async fn round_trip(c: &mut TelnetClient, token: &str) -> Duration {
    let started = Instant::now();
    c.send(&format!("think {token}")).await.unwrap();
    c.expect(token, T).await.unwrap();
    started.elapsed()
}

fn unlimited() -> StackOptions {
    StackOptions {
        gateway_flags: vec![
            "--connections-per-ip-per-minute=0".into(),
            "--max-connections-per-ip=0".into(),
        ],
        ..StackOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_storm_leaves_no_record_and_no_ghost() {
    let stack = Stack::start(unlimited()).await;
    let mut watcher = stack.player("Watcher").await;
    let mut opened = Vec::new();
    for i in 0..200 {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", stack.telnet_port))
            .await
            .unwrap();
        if i % 3 == 0 {
            // Closes in the middle of option negotiation, without reading anything.
            let _ = s.write_all(&[255, 251, 31]).await;
            drop(s);
        } else {
            opened.push(s);
        }
    }
    drop(opened);
    let game_port = stack.game().health_port();
    wait_for(
        "the game forgets the storm",
        Duration::from_secs(30),
        async || metric(game_port, "mush_game_connections").await == Some(1.0),
    )
    .await;
    wait_for("Redis forgets the storm", Duration::from_secs(30), async || {
        stack.redis_connection_count().await == (1, 1)
    })
    .await;
    watcher.send("WHO").await.unwrap();
    watcher
        .expect("1 player logged in", T)
        .await
        .unwrap_or_else(|_| panic!("WHO: {:?}", watcher.transcript()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_gateway_crash_its_players_are_swept_from_game_and_redis() {
    let mut stack = Stack::start(StackOptions::default()).await;
    let mut players = Vec::new();
    for i in 0..10 {
        players.push(stack.player(&format!("Crash{i}")).await);
    }
    let game_port = stack.game().health_port();
    assert_eq!(metric(game_port, "mush_game_logged_in_players").await, Some(10.0));
    stack.gateway_mut().kill().await;
    let crashed = Instant::now();
    stack.start_gateway_again().await;
    wait_for(
        "the game shows them disconnected",
        Duration::from_secs(30),
        async || metric(game_port, "mush_game_logged_in_players").await == Some(0.0),
    )
    .await;
    wait_for("no stale records", Duration::from_secs(30), async || {
        stack.redis_connection_count().await == (0, 0)
    })
    .await;
    println!(
        "swept 10 players {} ms after the crash",
        crashed.elapsed().as_millis()
    );
    // And the game goes on.
    let mut again = stack.player("Crash0b").await;
    assert!(round_trip(&mut again, "alive-after-crash").await < T);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarting_mid_session_loses_nothing_and_drops_nobody() {
    let mut stack = Stack::start(StackOptions::default()).await;
    let mut a = stack.player("Rosa").await;
    let mut b = stack.player("Ravi").await;
    a.expect("Ravi has connected", T).await.unwrap();

    stack.redis_mut().stop();
    a.send("say while redis is down").await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stack.redis_mut().start_again().unwrap();

    b.expect("Rosa says, \"while redis is down\"", Duration::from_secs(20))
        .await
        .unwrap();
    a.expect("You say, \"while redis is down\"", T).await.unwrap();
    assert!(round_trip(&mut a, "after-redis").await < T);
    assert!(round_trip(&mut b, "after-redis-too").await < T);
    wait_for(
        "connection state converges",
        Duration::from_secs(20),
        async || stack.redis_connection_count().await == (2, 2),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_outage_delays_input_but_loses_and_reorders_nothing() {
    let stack = Stack::start(StackOptions::default()).await;
    let mut p = stack.player("Kai").await;
    stack.kafka().broker_down();
    for n in 0..5 {
        p.send(&format!("think outage-{n}")).await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    stack.kafka().broker_up();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < 5 && Instant::now() < deadline {
        if let Some(line) = p.next_line(Duration::from_millis(500)).await.unwrap()
            && let Some(n) = line.trim().strip_prefix("outage-")
        {
            got.push(n.parse::<u32>().unwrap());
        }
    }
    assert_eq!(got, vec![0, 1, 2, 3, 4], "transcript: {:?}", p.transcript());
    assert!(!p.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_on_one_connection_does_not_slow_another_player() {
    let stack = Stack::start(StackOptions::default()).await;
    let mut good = stack.player("Gail").await;
    let mut baseline = Vec::new();
    for i in 0..20 {
        baseline.push(round_trip(&mut good, &format!("base-{i}")).await);
    }

    let port = stack.telnet_port;
    let attack = tokio::spawn(async move {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut random = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect()
        };
        let mut payloads: Vec<Vec<u8>> = vec![
            random(256 * 1024),
            vec![255; 256 * 1024],
            [vec![255, 250, 201], vec![b'x'; 128 * 1024]].concat(),
            vec![b'a'; 1024 * 1024],
            b"\r\n".to_vec(),
            vec![0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, b'\r', b'\n'],
        ];
        payloads.push(b"think flood\r\n".repeat(10_000));
        for p in payloads {
            if s.write_all(&p).await.is_err() {
                break;
            }
        }
    });

    let mut during = Vec::new();
    for i in 0..40 {
        during.push(round_trip(&mut good, &format!("during-{i}")).await);
    }
    let _ = attack.await;
    baseline.sort();
    during.sort();
    let median = |v: &[Duration]| v[v.len() / 2];
    println!(
        "round trip of the other player: median {:?} before, {:?} during the attack (max {:?})",
        median(&baseline),
        median(&during),
        during.last().unwrap()
    );
    // Normal means no player-visible slow-down: every answer well under a second.
    assert!(*during.last().unwrap() < Duration::from_secs(1), "{during:?}");
}
