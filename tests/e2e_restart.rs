//! The core promise: a game-server restart that no player notices and that loses nothing.
//!
//! 20 logged-in telnet players and 5 browser players (the web port's WebSocket) each send a
//! numbered command every 50 ms. Mid-run the game-server is
//! stopped (SIGTERM), killed (SIGKILL), or killed with a standby ready to take over; and, with the
//! players sending ten commands at once every 50 ms (so the game-server commits large batches),
//! killed in the middle of its batches. Every player stays connected, and every command is
//! answered exactly once, in order. The longest gap between two answers any player saw is printed.

mod support;

use std::time::{Duration, Instant};

use mush_devstack::LineClient;
use support::{Stack, StackOptions};

const PLAYERS: usize = 20;
const WEB_PLAYERS: usize = 5;
const PACE: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Disruption {
    Sigterm,
    Sigkill,
    StandbyTakeover,
    /// SIGKILL while players send bursts: the game-server is killed in the middle of large batches.
    SigkillMidBatch,
}

struct Outcome {
    answers: Vec<u32>,
    sent: u32,
    longest_gap: Duration,
    closed: bool,
    /// Lines the gateway refused with a notice (a budget), not lost.
    refused: u32,
}

/// Sends `burst` commands `think <tag>-<n>` every PACE until `stop_at`, then waits for the last
/// answers.
async fn drive<C: LineClient>(mut c: C, tag: String, stop_at: Instant, burst: u32) -> Outcome {
    let prefix = format!("{tag}-");
    let mut answers = Vec::new();
    let mut sent = 0u32;
    let mut last_answer = Instant::now();
    let mut longest_gap = Duration::ZERO;
    let mut refused = 0;
    let mut record = |line: &str, answers: &mut Vec<u32>| {
        if line.contains("was not accepted") {
            refused += 1;
        }
        if let Some(n) = line.trim().strip_prefix(&prefix).and_then(|n| n.parse().ok()) {
            answers.push(n);
            longest_gap = longest_gap.max(last_answer.elapsed());
            last_answer = Instant::now();
        }
    };
    while Instant::now() < stop_at {
        let next_send = Instant::now() + PACE;
        // Several lines at once: one write (telnet), one message (a browser's paste).
        let lines: Vec<String> = (sent..sent + burst).map(|n| format!("think {tag}-{n}")).collect();
        if c.send(&lines.join("\r\n")).await.is_err() {
            break;
        }
        sent += burst;
        while Instant::now() < next_send {
            match c.next_line(next_send - Instant::now()).await {
                Ok(Some(line)) => record(&line, &mut answers),
                _ => break,
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while (answers.len() as u32) < sent && Instant::now() < deadline {
        match c.next_line(Duration::from_millis(200)).await {
            Ok(Some(line)) => record(&line, &mut answers),
            Ok(None) if c.is_closed() => break,
            _ => {}
        }
    }
    // Anything more would be a duplicate.
    while let Ok(Some(line)) = c.next_line(Duration::from_millis(300)).await {
        record(&line, &mut answers);
    }
    Outcome {
        answers,
        sent,
        longest_gap,
        closed: c.is_closed(),
        refused,
    }
}

async fn restart_under_load(disruption: Disruption) {
    let bursts = disruption == Disruption::SigkillMidBatch;
    let mut stack = Stack::start(StackOptions {
        standby: disruption == Disruption::StandbyTakeover,
        // Bursts go beyond the gateway's per-connection budgets on purpose: lifted here, as this
        // test is about the game-server's exactly-once, not about the budgets (docs/budgets.md).
        // On a loaded machine the broker acknowledges slowly and more than the default 100
        // events per connection wait for it.
        // Every player comes from 127.0.0.1: more than the default 20 connections per address.
        gateway_flags: if bursts {
            vec![
                "--max-connections-per-ip=100".into(),
                "--commands-per-second=1000".into(),
                "--command-burst=1000".into(),
                "--held-input=100000".into(),
                "--held-input-bytes=100000000".into(),
                "--input-bytes-per-second=10000000".into(),
                "--input-bytes-burst=10000000".into(),
            ]
        } else {
            vec!["--max-connections-per-ip=100".into()]
        },
        ..StackOptions::default()
    })
    .await;
    let burst = if bursts { 10 } else { 1 };
    let mut clients = Vec::new();
    for i in 0..PLAYERS {
        clients.push(stack.player(&format!("Load{i}")).await);
    }
    let mut browsers = Vec::new();
    for i in 0..WEB_PLAYERS {
        browsers.push(stack.web_player(&format!("Web{i}")).await);
    }
    // Let everyone's join announcements pass.
    for c in clients.iter_mut() {
        while c.next_line(Duration::from_millis(100)).await.unwrap().is_some() {}
    }
    for c in browsers.iter_mut() {
        while c.next_line(Duration::from_millis(100)).await.unwrap().is_some() {}
    }
    let run_for = Duration::from_secs(6);
    let stop_at = Instant::now() + run_for;
    let mut tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            (
                format!("telnet player {i}"),
                tokio::spawn(drive(c, format!("p{i}"), stop_at, burst)),
            )
        })
        .collect();
    tasks.extend(browsers.into_iter().enumerate().map(|(i, c)| {
        (
            format!("browser player {i}"),
            tokio::spawn(drive(c, format!("w{i}"), stop_at, burst)),
        )
    }));

    tokio::time::sleep(Duration::from_secs(2)).await;
    let disrupted = Instant::now();
    match disruption {
        Disruption::Sigterm => {
            stack.restart_game(false).await;
        }
        Disruption::Sigkill => {
            stack.restart_game(true).await;
        }
        Disruption::SigkillMidBatch => {
            let batches = largest_batches(&stack).await;
            assert!(
                batches > 0,
                "the game-server committed no batch of more than 8 inputs before the kill"
            );
            println!("{batches} batches of more than 8 inputs before the kill");
            stack.restart_game(true).await;
        }
        Disruption::StandbyTakeover => {
            stack.game_mut().kill().await;
            let standby = stack.standby_mut().expect("a standby");
            standby.wait_ready(Duration::from_secs(15)).await.unwrap();
        }
    }
    let back_after = disrupted.elapsed();

    let mut longest = Duration::ZERO;
    let mut total_sent = 0;
    for (i, t) in tasks {
        let o = t.await.unwrap();
        assert!(!o.closed, "{i} was disconnected by the {disruption:?}");
        assert_eq!(
            o.refused, 0,
            "{i}: the gateway refused lines with a notice (a budget acted, nothing was lost)"
        );
        let expected: Vec<u32> = (0..o.sent).collect();
        assert_eq!(
            o.answers, expected,
            "{i}: every command answered exactly once, in order ({disruption:?})"
        );
        longest = longest.max(o.longest_gap);
        total_sent += o.sent;
    }
    println!(
        "{disruption:?}: {PLAYERS} telnet and {WEB_PLAYERS} browser players, {total_sent} commands, all answered once in order; \
         game back after {} ms; longest gap between answers {} ms",
        back_after.as_millis(),
        longest.as_millis()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigterm_restart_loses_nothing_and_drops_nobody() {
    restart_under_load(Disruption::Sigterm).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_restart_loses_nothing_and_drops_nobody() {
    restart_under_load(Disruption::Sigkill).await;
}

/// Batches of more than 8 inputs the game-server has committed (from its batch-size histogram).
async fn largest_batches(stack: &Stack) -> u64 {
    let (_, text) = mush_devstack::http_get(stack.game().health_port(), "/metrics")
        .await
        .unwrap();
    let count = |prefix: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0) as u64
    };
    count("mush_game_batch_size_count ") - count("mush_game_batch_size_bucket{le=\"8\"} ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_in_the_middle_of_large_batches_loses_doubles_and_reorders_nothing() {
    restart_under_load(Disruption::SigkillMidBatch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_takes_over_losing_nothing_and_dropping_nobody() {
    restart_under_load(Disruption::StandbyTakeover).await;
}
