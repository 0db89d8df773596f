//! Hostile clients and failing parts against the real stack, while well-behaved players type:
//! every budget holds (the other player loses nothing and keeps answering; the gateway and the
//! game-server stay within their memory bounds; nothing restarts), poison inputs are skipped
//! after a bounded number of attempts, a stuck input loop fails `/livez` and SIGTERM ends it, and
//! pausing Redis or the broker under load loses and doubles nothing.
//!
//! The attacks are `mush bench hostile` scenarios, run here as a subprocess against the stack,
//! so the figures printed here can be reproduced against `mush up` (see BENCHMARKS.md). The round
//! trips printed come from a debug build; the bound asserted is "no stall" (2 s), the p99 target
//! (50 ms) is a release-build figure measured with the bench.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use mush_devstack::{TelnetClient, http_get};
use support::{Stack, StackOptions, T};

/// Memory the gateway may grow by during an attack.
const GATEWAY_GROWTH_KIB: u64 = 64 * 1024;
/// Memory the game-server may use during an attack.
const GAME_MAX_KIB: u64 = 256 * 1024;

fn field<'a>(v: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    path.split('.').fold(v, |v, k| &v[k])
}

/// Runs one `mush bench hostile` attack against `stack`; returns its JSON report.
fn attack(stack: &Stack, attack: &str, extra: &[&str]) -> serde_json::Value {
    let out = Command::new(support::mush_binary())
        .args([
            "bench",
            "hostile",
            "--attack",
            attack,
            "--addr",
            &format!("127.0.0.1:{}", stack.telnet_port),
            "--pid",
            &stack.gateway().pid().unwrap().to_string(),
            "--game-pid",
            &stack.game().pid().unwrap().to_string(),
            "--attack-seconds",
            "4",
            "--json",
        ])
        .args(extra)
        .output()
        .expect("running mush bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    assert!(
        out.status.success(),
        "{attack}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .expect("a JSON report");
    serde_json::from_str(json).unwrap()
}

/// What must hold after every attack.
fn assert_held(name: &str, report: &serde_json::Value) {
    let v = field(report, "victim");
    assert!(v["sent"].as_u64().unwrap() > 20, "{name}: {report}");
    assert_eq!(v["lost"], 0, "{name}: the other player lost commands: {report}");
    assert_eq!(v["duplicated"], 0, "{name}: {report}");
    assert_eq!(v["out_of_order"], false, "{name}: {report}");
    assert_eq!(v["dropped"], false, "{name}: {report}");
    assert!(
        v["max_ms"].as_f64().unwrap() < 2_000.0,
        "{name}: the other player waited {} ms",
        v["max_ms"]
    );
    let gateway = field(report, "gateway");
    let growth = gateway["max_kib"].as_u64().unwrap() - gateway["before_kib"].as_u64().unwrap();
    assert!(
        growth <= GATEWAY_GROWTH_KIB,
        "{name}: the gateway grew by {growth} KiB"
    );
    let game = field(report, "game");
    assert!(
        game["max_kib"].as_u64().unwrap() <= GAME_MAX_KIB,
        "{name}: the game-server reached {} KiB",
        game["max_kib"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_attack_stalls_the_game_or_grows_it_past_its_bounds() {
    let mut stack = Stack::start(StackOptions::default()).await;
    let (gateway_pid, game_pid) = (stack.gateway().pid(), stack.game().pid());
    let attacks: &[(&str, &[&str])] = &[
        ("subneg-flood", &[]),
        ("negotiation-flood", &[]),
        ("gmcp-supports", &[]),
        ("unclosed-brackets", &[]),
        ("dolist-brackets", &[]),
        ("dolist-output", &[]),
        ("line-flood", &[]),
        ("create-storm", &["--clients", "500"]),
    ];
    let mut failures = Vec::new();
    for (name, extra) in attacks {
        let report = tokio::task::block_in_place(|| attack(&stack, name, extra));
        if let Err(e) = std::panic::catch_unwind(|| assert_held(name, &report)) {
            failures.push(format!("{name}: {:?}", e.downcast_ref::<String>()));
        }
        assert!(
            stack.gateway_mut().try_wait().is_none(),
            "{name}: the gateway exited"
        );
        assert!(
            stack.game_mut().try_wait().is_none(),
            "{name}: the game-server exited"
        );
    }
    assert_eq!(
        (stack.gateway().pid(), stack.game().pid()),
        (gateway_pid, game_pid),
        "nothing restarted"
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_input_is_skipped_and_a_stuck_loop_fails_livez_and_stops_on_sigterm() {
    let opts = StackOptions {
        game_flags: vec![
            "--fault-injection".into(),
            "--poison-attempts=1".into(),
            "--slow-event-ms=200".into(),
            "--stuck-seconds=2".into(),
            "--stop-grace-seconds=3".into(),
        ],
        ..StackOptions::default()
    };
    let mut stack = Stack::start(opts).await;
    let mut p = stack.player("Pia").await;

    // A line that crashes the game: it exits, and its next life skips the line with a message.
    p.send("@fault panic").await.unwrap();
    let deadline = Instant::now() + T;
    while stack.game_mut().try_wait().is_none() {
        assert!(
            Instant::now() < deadline,
            "the game-server did not stop on the panic"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stack.restart_game(true).await;
    p.expect("could not be run", T).await.unwrap();
    p.send("think after-the-panic").await.unwrap();
    p.expect("after-the-panic", T).await.unwrap();
    assert!(!p.is_closed());

    // A line that hangs the loop: /livez fails, and SIGTERM ends the process within its grace.
    p.send("@fault hang 30000").await.unwrap();
    let health = stack.game().health_port();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = http_get(health, "/livez").await.unwrap();
        if status != 200 {
            assert!(body.contains("input loop"), "{body}");
            break;
        }
        assert!(Instant::now() < deadline, "/livez stayed ok while the loop hung");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let asked = Instant::now();
    stack.game().signal(15);
    while stack.game_mut().try_wait().is_none() {
        assert!(
            asked.elapsed() < Duration::from_secs(8),
            "SIGTERM did not end a hung game-server within its grace"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "a hung game-server ended {} ms after SIGTERM (grace 3 s)",
        asked.elapsed().as_millis()
    );
    stack.restart_game(true).await;
    p.expect("could not be run", T).await.unwrap();
    p.send("think after-the-hang").await.unwrap();
    p.expect("after-the-hang", T).await.unwrap();
}

/// Ten players typing ten commands a second each for `length`, while `disrupt` runs; asserts
/// that every command is answered exactly once and in order, nobody dropped.
async fn ten_players_under(stack: &Stack, what: &str, disrupt: impl AsyncFnOnce()) {
    let mut tasks = Vec::new();
    for i in 0..10 {
        let mut c = stack.player(&format!("{what}{i}")).await;
        while c.next_line(Duration::from_millis(20)).await.unwrap().is_some() {}
        let tag = format!("{what}{i}-");
        tasks.push(tokio::spawn(async move {
            typing(&mut c, &tag, Duration::from_secs(9)).await
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    disrupt().await;
    let mut sent_total = 0;
    for t in tasks {
        let (sent, counts, ordered, closed) = t.await.unwrap();
        sent_total += sent;
        let lost: Vec<u32> = (0..sent)
            .filter(|n| counts.get(*n as usize).copied().unwrap_or(0) == 0)
            .collect();
        let doubled: Vec<u32> = (0..sent)
            .filter(|n| counts.get(*n as usize).copied().unwrap_or(0) > 1)
            .collect();
        assert!(lost.is_empty(), "{what}: lost {lost:?}");
        assert!(doubled.is_empty(), "{what}: doubled {doubled:?}");
        assert!(ordered, "{what}: out of order");
        assert!(!closed, "{what}: a player was dropped");
    }
    println!("{what}: {sent_total} commands from 10 players, every one answered once, in order");
}

/// Sends `think <tag><n>` every 100 ms for `length`, then waits for the answers.
async fn typing(c: &mut TelnetClient, tag: &str, length: Duration) -> (u32, Vec<u32>, bool, bool) {
    let mut counts: Vec<u32> = Vec::new();
    let mut last: Option<u32> = None;
    let mut ordered = true;
    let mut note = |line: &str, counts: &mut Vec<u32>| {
        if let Some(n) = line.trim().strip_prefix(tag).and_then(|n| n.parse::<u32>().ok()) {
            if counts.len() <= n as usize {
                counts.resize(n as usize + 1, 0);
            }
            counts[n as usize] += 1;
            ordered &= last.is_none_or(|l| n > l);
            last = Some(n);
        }
    };
    let until = Instant::now() + length;
    let mut sent = 0u32;
    while Instant::now() < until {
        c.send(&format!("think {tag}{sent}")).await.unwrap();
        sent += 1;
        let next = Instant::now() + Duration::from_millis(100);
        while let Ok(Some(line)) = c.next_line(next.saturating_duration_since(Instant::now())).await {
            note(&line, &mut counts);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while counts.iter().filter(|n| **n > 0).count() < sent as usize && Instant::now() < deadline {
        if let Ok(Some(line)) = c.next_line(Duration::from_millis(200)).await {
            note(&line, &mut counts);
        }
    }
    // Late duplicates would arrive now.
    while let Ok(Some(line)) = c.next_line(Duration::from_millis(500)).await {
        note(&line, &mut counts);
    }
    (sent, counts, ordered, c.is_closed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_redis_under_load_loses_and_doubles_nothing() {
    let stack = Stack::start(StackOptions::default()).await;
    let redis = stack.redis().pid().unwrap().to_string();
    ten_players_under(&stack, "Redis", async || {
        Command::new("kill").args(["-STOP", &redis]).status().unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        Command::new("kill").args(["-CONT", &redis]).status().unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_the_broker_under_load_loses_and_doubles_nothing() {
    let stack = Stack::start(StackOptions::default()).await;
    ten_players_under(&stack, "Broker", async || {
        stack.kafka().broker_down();
        tokio::time::sleep(Duration::from_secs(5)).await;
        stack.kafka().broker_up();
    })
    .await;
}
