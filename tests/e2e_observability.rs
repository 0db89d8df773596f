//! The dashboards and alert rules in `manifests/observability/` only use metrics the real
//! processes export: start the stack, play a little (and provoke a limit and a Redis outage, so
//! that the labelled families that need them appear), scrape both processes' `/metrics`, and
//! compare with every name the dashboards and rules use.
//!
//! The same play shows the figures the operator reads served as the typed `/status` document.
//!
//! Operator metrics (`mush_operator_*`) and metrics from outside the project (`up`, `kube_*`)
//! are not checked here; `install_manifests` checks statically that every name is defined.

mod observability;
mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use mush_devstack::http_get;
use mush_protocol::figures::{self, STATUS_PATH, StatusDocument};
use support::{Stack, StackOptions, T};

/// Labelled families that appear only after a fault this test cannot cause in a few seconds
/// (the Rust prometheus client exports a labelled family once one of its label sets is used).
/// They are tolerated when absent; each is named here with the fault it needs.
const NEED_A_FAULT: &[(&str, &str)] = &[
    (
        "mush_gateway_kafka_produce_errors_total",
        "the broker refusing a message for message.timeout.ms",
    ),
    (
        "mush_game_kafka_produce_errors_total",
        "the broker refusing a message for message.timeout.ms",
    ),
    (
        "mush_gateway_output_dropped_total",
        "output for a connection that is gone, or re-sent after a crash",
    ),
    // Provoked below by stopping Redis; tolerated in case no write fell into the outage.
    ("mush_gateway_state_write_failures_total", "a Redis write failing"),
    ("mush_game_state_write_failures_total", "a Redis write failing"),
];

async fn scrape(port: u16) -> BTreeSet<String> {
    match http_get(port, "/metrics").await {
        Ok((200, body)) => observability::exposed_names(&body),
        Ok((status, _)) => panic!("GET /metrics on port {port} answered {status}"),
        Err(e) => panic!("GET /metrics on port {port}: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_in_dashboards_and_alert_rules_is_exported_by_the_servers() {
    let wanted: BTreeSet<String> = observability::referenced_metrics()
        .into_keys()
        .filter(|n| !observability::is_external(n) && !n.starts_with("mush_operator_"))
        .collect();
    assert!(
        wanted.len() > 20,
        "suspiciously few metric names found in the dashboards and rules: {wanted:?}"
    );
    let known = observability::known_metrics();
    for (name, _) in NEED_A_FAULT {
        assert!(
            known.contains_key(*name),
            "NEED_A_FAULT names {name}, which no binary defines"
        );
    }

    let mut stack = Stack::start(StackOptions::default()).await;

    // Play: two players, a few commands, one of them leaving.
    let mut alice = stack.player("Alice").await;
    let mut bob = stack.player("Bob").await;
    alice.expect("Bob has connected", T).await.unwrap();
    alice.send("look").await.unwrap();
    alice.expect("The Lobby", T).await.unwrap();
    alice.send("say hello").await.unwrap();
    bob.expect("Alice says, \"hello\"", T).await.unwrap();
    bob.send("think counting").await.unwrap();
    bob.expect("counting", T).await.unwrap();

    // A limit acting: a line longer than the gateway's maximum (8192 bytes by default).
    alice.send(&"x".repeat(9000)).await.unwrap();
    alice.expect("was longer than", T).await.unwrap();

    bob.send("QUIT").await.unwrap();
    bob.expect("Goodbye.", T).await.unwrap();
    bob.expect_closed(T).await.unwrap();

    // A short Redis outage while a player types: failed writes are counted, then retried.
    stack.redis_mut().stop();
    alice.send("say while redis is down").await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stack.redis_mut().start_again().unwrap();
    alice
        .expect("You say, \"while redis is down\"", Duration::from_secs(20))
        .await
        .unwrap();

    // Some figures (per-partition lag, background batches) are published on a timer: poll.
    let gateway_port = stack.gateway().health_port();
    let game_port = stack.game().health_port();
    let tolerated: BTreeSet<&str> = NEED_A_FAULT.iter().map(|(n, _)| *n).collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    let (exported, missing) = loop {
        let mut exported = scrape(gateway_port).await;
        exported.extend(scrape(game_port).await);
        let missing: Vec<&String> = wanted
            .iter()
            .filter(|n| !exported.contains(*n) && !tolerated.contains(n.as_str()))
            .collect();
        if missing.is_empty() || Instant::now() > deadline {
            break (exported, missing.into_iter().cloned().collect::<Vec<_>>());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for (name, fault) in NEED_A_FAULT {
        if wanted.contains(*name) && !exported.contains(*name) {
            eprintln!("not seen (needs {fault}): {name}");
        }
    }
    assert!(
        missing.is_empty(),
        "dashboards or alert rules use metrics the gateway and game-server did not export after play:\n  {}\n\
         Either the name is wrong in manifests/observability/, or the family only appears after an \
         event this test does not cause (then initialise its label values at start, or list it in \
         NEED_A_FAULT with the fault it needs).",
        missing.join("\n  ")
    );

    // The figures the operator reads, as the typed document it reads them from: Alice is on.
    let status = |port: u16| async move {
        let (code, body) = http_get(port, STATUS_PATH).await.expect("GET /status");
        assert_eq!(code, 200, "{body}");
        serde_json::from_str::<StatusDocument>(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
    };
    let game = status(game_port).await;
    assert_eq!(game.get(&figures::GAME_LOGGED_IN_PLAYERS), Some(1.0), "{game:?}");
    assert!(
        game.get(&figures::GAME_INPUT_LAG).is_some(),
        "measured after play: {game:?}"
    );
    assert!(
        game.get(&figures::GAME_RECONCILIATION_SECONDS).is_some(),
        "{game:?}"
    );
    let gateway = status(gateway_port).await;
    assert_eq!(
        gateway.get(&figures::GATEWAY_CONNECTIONS),
        Some(1.0),
        "{gateway:?}"
    );
    assert_eq!(
        gateway.get(&figures::GAME_LOGGED_IN_PLAYERS),
        None,
        "only its own figures"
    );
}
