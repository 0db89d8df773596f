//! The real connection-server binary against a real redis-server and the mock Kafka cluster,
//! driven over TCP as a client would, with the test itself playing the game's side of Kafka
//! (reading the input topic, writing the output topic).

use std::io::Read;
use std::time::{Duration, Instant};

use mush_devstack::{http_get, http_post, http_post_bearer};
use mush_protocol::{DisconnectReason, GameMessageKind, GatewayEvent, GatewayEventKind, Handle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod harness;
use harness::*;

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
    // The client never logs in: the limits before login are the ones that apply.
    let h = Harness::start(&[
        "--max-line-bytes=100",
        "--login-commands-per-second=20",
        "--login-command-burst=2",
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

    // A paste of 8 lines (burst 2, one token used above): slowed to the rate, none cut.
    let paste: String = (0..8).map(|i| format!("paste{i}\r\n")).collect();
    s.write_all(paste.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    while got.len() < 8 {
        let ev = h
            .event_where("input", |e| matches!(e.kind, GatewayEventKind::Input { .. }))
            .await;
        let GatewayEventKind::Input { line } = ev.kind else {
            unreachable!()
        };
        got.push(String::from_utf8(line.to_vec()).unwrap());
    }
    let expected: Vec<String> = (0..8).map(|i| format!("paste{i}")).collect();
    assert_eq!(got, expected, "held-back lines arrive, in order");
    let text = read_for(&mut s, Duration::from_millis(300)).await;
    assert!(
        !String::from_utf8_lossy(&text).contains("typing too fast"),
        "{}",
        String::from_utf8_lossy(&text)
    );

    // 40 lines in one packet: more than four bursts can wait; the rest are refused, each with a
    // notice and a strike, and 20 strikes before login end the connection: the lines that waited
    // arrive, in order, and nothing after the refusals.
    let flood: String = (0..40).map(|i| format!("f{i}\r\n")).collect();
    s.write_all(flood.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    while let Ok(rec) = tokio::time::timeout(Duration::from_secs(2), h.input.recv()).await {
        let ev = GatewayEvent::decode(&rec.unwrap().payload).unwrap();
        if let GatewayEventKind::Input { line } = ev.kind {
            got.push(String::from_utf8(line.to_vec()).unwrap());
        }
    }
    let text = read_for(&mut s, Duration::from_millis(300)).await;
    let text = String::from_utf8_lossy(&text);
    let refused = text.matches("typing too fast").count();
    assert_eq!(refused, 20, "{text}");
    assert!(text.contains("Too much input"), "{text}");
    let expected: Vec<String> = (0..got.len()).map(|i| format!("f{i}")).collect();
    assert!((9..=12).contains(&got.len()), "{got:?}");
    assert_eq!(got, expected, "the lines that waited arrive, in order");
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
    assert_eq!(
        h.disconnect_reason(handle).await,
        DisconnectReason::OutputOverflow
    );
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
    let mut h = Harness::start(&["--drain-token=let-me-drain"]).await;
    let (mut leaver, _) = h.connect_and_handle().await;
    let (mut stayer, stayer_handle) = h.connect_and_handle().await;
    let port = h.gateway.health_port();
    // Any pod can reach the health port: without the token nothing drains.
    assert_eq!(http_post(port, "/drain").await.unwrap().0, 401);
    assert_eq!(http_post_bearer(port, "/drain", "guess").await.unwrap().0, 401);
    assert_eq!(http_get(port, "/readyz").await.unwrap().0, 200, "still ready");
    assert_eq!(
        http_post_bearer(port, "/drain", "let-me-drain").await.unwrap().0,
        200
    );
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
    assert_eq!(
        h.disconnect_reason(stayer_handle).await,
        DisconnectReason::GatewayShutdown
    );
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

fn sb(option: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![IAC, SB, option];
    v.extend_from_slice(payload);
    v.extend_from_slice(&[IAC, SE]);
    v
}

const MSDP: u8 = 69;
const GMCP: u8 = 201;
const NAWS: u8 = 31;

/// Writes `bytes` in pieces for at most `limit`, as fast as the gateway takes them; stops at
/// the first error (the gateway closed the socket).
async fn flood(mut w: tokio::net::tcp::OwnedWriteHalf, bytes: Vec<u8>, limit: Duration) {
    let _ = tokio::time::timeout(limit, async {
        for piece in bytes.chunks(4096) {
            if w.write_all(piece).await.is_err() {
                return;
            }
        }
    })
    .await;
}

/// Events of `handle` up to and including its `Disconnected`, with the time it arrived.
async fn events_until_disconnected(h: &Harness, handle: Handle) -> (Vec<GatewayEventKind>, Instant) {
    let mut kinds = Vec::new();
    loop {
        let ev = h.event().await;
        if ev.handle != handle {
            continue;
        }
        let last = matches!(ev.kind, GatewayEventKind::Disconnected { .. });
        kinds.push(ev.kind);
        if last {
            return (kinds, Instant::now());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subnegotiation_flood_before_login_is_held_to_the_budget_and_disconnected() {
    let h = Harness::start(&[
        "--login-commands-per-second=4",
        "--login-command-burst=10",
        "--login-strike-limit=20",
    ])
    .await;
    let (attacker, attacker_handle) = h.connect_and_handle().await;
    let (mut bystander, bystander_handle) = h.connect_and_handle().await;
    let started = Instant::now();
    let (mut attacker_r, attacker_w) = attacker.into_split();
    let mut bytes = vec![IAC, DO, MSDP, IAC, DO, GMCP];
    for i in 0..20_000 {
        if i % 2 == 0 {
            bytes.extend(sb(MSDP, format!("\x01VAR{i}\x02value {i}").as_bytes()));
        } else {
            bytes.extend(sb(GMCP, format!("Core.Ping {{\"n\":{i}}}").as_bytes()));
        }
    }
    let writer = tokio::spawn(flood(attacker_w, bytes, Duration::from_secs(8)));

    let (kinds, closed_at) = events_until_disconnected(&h, attacker_handle).await;
    let elapsed = closed_at - started;
    let published = kinds
        .iter()
        .filter(|k| {
            matches!(
                k,
                GatewayEventKind::Msdp { .. }
                    | GatewayEventKind::Gmcp { .. }
                    | GatewayEventKind::ClientInfo(_)
            )
        })
        .count();
    assert!(published > 0, "the budget lets some through");
    let allowed = 10 + (4.0 * elapsed.as_secs_f64()).ceil() as usize;
    assert!(
        published <= allowed,
        "{published} events reached Kafka in {elapsed:?}; the budget allows {allowed}"
    );
    assert!(
        matches!(
            kinds.last(),
            Some(GatewayEventKind::Disconnected {
                reason: DisconnectReason::ProtocolError,
                ..
            })
        ),
        "{:?}",
        kinds.last()
    );
    assert!(elapsed < Duration::from_secs(5), "disconnected after {elapsed:?}");
    read_until_closed(&mut attacker_r, b"Too much input").await;
    writer.abort();
    assert!(h.limit_hits("input_strikes").await >= 1.0);
    assert!(h.limit_hits("event_refused").await >= 20.0);

    // The gateway still serves everyone else, old connections and new.
    bystander.write_all(b"look\r\n").await.unwrap();
    let ev = h
        .event_where("bystander input", |e| {
            e.handle == bystander_handle && matches!(e.kind, GatewayEventKind::Input { .. })
        })
        .await;
    assert_eq!(ev.kind, GatewayEventKind::Input { line: "look".into() });
    let (_newcomer, _) = h.connect_and_handle().await;
}

/// Reads until `needle` arrived and the gateway closed the socket.
async fn read_until_closed(r: &mut tokio::net::tcp::OwnedReadHalf, needle: &[u8]) {
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    let deadline = tokio::time::Instant::now() + T;
    loop {
        match tokio::time::timeout_at(deadline, r.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the socket stayed open; got {:?}", String::from_utf8_lossy(&out)),
        }
    }
    assert!(
        contains(&out, needle),
        "{:?} never arrived; got {:?}",
        String::from_utf8_lossy(needle),
        String::from_utf8_lossy(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_subnegotiations_are_read_at_the_byte_rate_and_a_client_kept_paused_is_disconnected() {
    let h = Harness::start(&["--max-input-paused-seconds=2"]).await;
    let (attacker, handle) = h.connect_and_handle().await;
    let started = Instant::now();
    let (mut attacker_r, attacker_w) = attacker.into_split();
    let mut bytes = vec![IAC, DO, MSDP];
    for i in 0..40 {
        let mut payload = format!("\x01BIG{i}\x02").into_bytes();
        payload.resize(32_000, b'z');
        bytes.extend(sb(MSDP, &payload));
    }
    let writer = tokio::spawn(flood(attacker_w, bytes, Duration::from_secs(8)));
    let (kinds, closed_at) = events_until_disconnected(&h, handle).await;
    let elapsed = closed_at - started;
    // 8 KiB at once and 2 KiB a second before login: not even one 32 KB subnegotiation.
    let msdp = kinds
        .iter()
        .filter(|k| matches!(k, GatewayEventKind::Msdp { .. }))
        .count();
    assert_eq!(msdp, 0, "{elapsed:?}");
    assert!(
        matches!(
            kinds.last(),
            Some(GatewayEventKind::Disconnected {
                reason: DisconnectReason::ProtocolError,
                ..
            })
        ),
        "{:?}",
        kinds.last()
    );
    assert!(
        elapsed > Duration::from_secs(2) && elapsed < Duration::from_secs(7),
        "disconnected after {elapsed:?}"
    );
    read_until_closed(&mut attacker_r, b"Too much input").await;
    writer.abort();
    assert!(h.limit_hits("input_paused").await >= 1.0);
    assert!(h.limit_hits("input_bytes").await >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_size_flood_is_coalesced_to_the_newest_size() {
    let h = Harness::start(&["--login-commands-per-second=4", "--login-command-burst=5"]).await;
    let (mut s, handle) = h.connect_and_handle().await;
    let started = Instant::now();
    let mut bytes = vec![IAC, WILL, NAWS];
    let sizes: Vec<(u8, u8)> = (0..800u32)
        .map(|i| ((1 + i % 200) as u8, (1 + i / 200) as u8))
        .collect();
    for (w, hgt) in &sizes {
        bytes.extend(sb(NAWS, &[0, *w, 0, *hgt]));
    }
    s.write_all(&bytes).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.write_all(b"still here\r\n").await.unwrap();
    let mut windows = Vec::new();
    loop {
        let ev = h.event().await;
        if ev.handle != handle {
            continue;
        }
        match ev.kind {
            GatewayEventKind::WindowSize { width, height } => windows.push((width, height)),
            GatewayEventKind::Input { .. } => break,
            GatewayEventKind::Disconnected { .. } => panic!("coalescing is no abuse: {ev:?}"),
            _ => {}
        }
    }
    let elapsed = started.elapsed();
    let allowed = 5 + (4.0 * elapsed.as_secs_f64()).ceil() as usize;
    assert!(
        windows.len() >= 2 && windows.len() <= allowed,
        "{} window sizes reached Kafka in {elapsed:?}: {windows:?}",
        windows.len()
    );
    let (w, hgt) = sizes[sizes.len() - 1];
    assert_eq!(
        windows.last(),
        Some(&(u16::from(w), u16::from(hgt))),
        "the newest size wins"
    );
    assert!(h.limit_hits("event_coalesced").await >= 700.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_keeps_typing_at_the_login_screen_is_closed_at_the_login_deadline() {
    let h = Harness::start(&["--login-deadline-seconds=2"]).await;
    // The test's consumer takes a moment to join its group: a first connection waits that out.
    drop(h.connect_and_handle().await);
    let (mut player, player_handle) = h.connect_and_handle().await;
    h.log_in(&mut player, player_handle).await;
    let connected = Instant::now();
    let (typist, typist_handle) = h.connect_and_handle().await;
    let (mut typist_r, mut typist_w) = typist.into_split();
    let typing = tokio::spawn(async move {
        for _ in 0..40 {
            if typist_w.write_all(b"WHO\r\n").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let (kinds, closed_at) = events_until_disconnected(&h, typist_handle).await;
    let after = closed_at - connected;
    assert!(
        after >= Duration::from_secs(2) && after < Duration::from_secs(4),
        "closed {after:?} after connecting"
    );
    assert!(
        kinds
            .iter()
            .filter(|k| matches!(k, GatewayEventKind::Input { .. }))
            .count()
            >= 5,
        "the typist typed all along"
    );
    assert!(matches!(
        kinds.last(),
        Some(GatewayEventKind::Disconnected {
            reason: DisconnectReason::IdleTimeout,
            ..
        })
    ));
    read_until_closed(&mut typist_r, b"did not log in within 2 seconds").await;
    typing.abort();
    assert!(h.limit_hits("login_deadline").await >= 1.0);

    // The player who logged in is not bound by the deadline.
    tokio::time::sleep(Duration::from_millis(500)).await;
    player.write_all(b"look\r\n").await.unwrap();
    h.event_where("the logged-in player's input", |e| {
        e.handle == player_handle && matches!(e.kind, GatewayEventKind::Input { .. })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_over_the_per_connection_byte_bound_closes_only_that_client() {
    // The message-count bound (512 of 60 KB) is far above what is sent: only bytes can act.
    let h = Harness::start(&["--output-queue-bytes=262144"]).await;
    let (_silent, handle) = h.connect_and_handle().await;
    let (mut other, other_handle) = h.connect_and_handle().await;
    let big = "y".repeat(60_000);
    let sender = async {
        for _ in 0..400 {
            h.send_output(GameMessageKind::Text { text: big.clone() }, handle)
                .await;
        }
    };
    let closed = h.event_where("disconnected", |e| {
        e.handle == handle && matches!(e.kind, GatewayEventKind::Disconnected { .. })
    });
    let (_, ev) = tokio::join!(sender, closed);
    assert!(matches!(
        ev.kind,
        GatewayEventKind::Disconnected {
            reason: DisconnectReason::OutputOverflow,
            ..
        }
    ));
    assert!(h.limit_hits("output_queue_bytes").await >= 1.0);
    assert_eq!(
        h.limit_hits("output_overflow").await,
        0.0,
        "not the message count"
    );
    h.send_output(
        GameMessageKind::Text {
            text: "still here".into(),
        },
        other_handle,
    )
    .await;
    read_until(&mut other, b"still here").await;
    let deadline = Instant::now() + T;
    while h.held_bytes().await != 0.0 {
        assert!(Instant::now() < deadline, "held bytes never returned to zero");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_memory_budget_output_waits_in_kafka_and_nothing_is_lost() {
    let h = Harness::start(&["--memory-budget-bytes=1048576", "--output-queue-bytes=16777216"]).await;
    let (silent, silent_handle) = h.connect_and_handle().await;
    let (mut other, other_handle) = h.connect_and_handle().await;
    h.log_in(&mut other, other_handle).await;
    let big = "y".repeat(60_000);
    // The silent client's socket buffers fill, then its queue grows past the budget.
    let deadline = Instant::now() + T;
    let mut sent = 0;
    while h.held_bytes().await <= 1_048_576.0 {
        assert!(Instant::now() < deadline, "never over the budget ({sent} sent)");
        for _ in 0..20 {
            h.send_output(GameMessageKind::Text { text: big.clone() }, silent_handle)
                .await;
        }
        sent += 20;
    }
    // Over budget: output for others waits in Kafka, what they type waits in their socket.
    h.send_output(
        GameMessageKind::Text {
            text: "for the other player".into(),
        },
        other_handle,
    )
    .await;
    other.write_all(b"typed while busy\r\n").await.unwrap();
    let early = read_for(&mut other, Duration::from_millis(500)).await;
    assert!(
        !contains(&early, b"for the other player"),
        "routed while over budget"
    );
    assert!(h.limit_hits("memory_budget").await >= 1.0);
    // The silent client leaves: its queue is freed, and everything waiting flows again.
    drop(silent);
    read_until(&mut other, b"for the other player").await;
    let ev = h
        .event_where("input typed while busy", |e| {
            e.handle == other_handle && matches!(e.kind, GatewayEventKind::Input { .. })
        })
        .await;
    assert_eq!(
        ev.kind,
        GatewayEventKind::Input {
            line: "typed while busy".into()
        }
    );
    let deadline = Instant::now() + T;
    while h.held_bytes().await != 0.0 {
        assert!(Instant::now() < deadline, "held bytes never returned to zero");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
