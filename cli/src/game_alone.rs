//! `mush bench game-alone`: the game-server's own rate, without gateways or telnet. Input events
//! are written straight to the input topic (for `--clients` made-up connections of a gateway slot
//! nobody holds), and the game-server's `mush_game_commands_total` says when they are applied:
//! events applied per second.
//!
//! Why: the game-server is the one part that cannot scale out (one world, one active
//! game-server), so its ceiling must be far above what the gateways send; this measures that
//! ceiling alone.

use std::time::{Duration, Instant};

use mush_devstack::metric;
use mush_platform::bus::{BusMetrics, KafkaArgs, Producer};
use mush_platform::metrics::Metrics;
use mush_protocol::{GatewayEvent, GatewayEventKind, Handle, Slot, Transport};

use crate::bench::BenchArgs;

/// The gateway slot the made-up connections belong to (one no `mush up` gateway takes).
const SLOT: u16 = 1000;

pub async fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let brokers = args
        .kafka_brokers
        .clone()
        .ok_or_else(|| anyhow::anyhow!("game-alone needs --kafka-brokers (mush up prints them)"))?;
    let metrics_port = args.game_metrics_port.ok_or_else(|| {
        anyhow::anyhow!("game-alone needs --game-metrics-port (the game-server's health port)")
    })?;
    let mut kafka = KafkaArgs::for_brokers(&brokers);
    kafka.topic_prefix = args.topic_prefix.clone();
    let metrics = BusMetrics::new(&Metrics::new("bench", &prometheus::Registry::new()));
    let producer = Producer::new(&kafka, "mush-bench", metrics)?;
    let slot = Slot::new(SLOT)?;
    let epoch = (std::process::id() & 0xffff) + 1;
    let handles: Vec<Handle> = (0..args.clients.max(1) as u32)
        .map(|n| Handle::new(slot, epoch, n + 1))
        .collect::<Result<_, _>>()?;

    let connected: Vec<GatewayEvent> = handles
        .iter()
        .map(|h| {
            GatewayEvent::new(
                *h,
                GatewayEventKind::Connected {
                    peer_addr: "127.0.0.1:1".into(),
                    transport: Transport::Telnet,
                    gateway: "bench".into(),
                },
            )
        })
        .collect();
    let before = applied(metrics_port).await?;
    send_all(&producer, &connected).await?;
    wait_applied(
        metrics_port,
        before + connected.len() as u64,
        Duration::from_secs(60),
    )
    .await?;

    let inputs: Vec<GatewayEvent> = (0..args.samples)
        .map(|n| {
            let h = handles[n % handles.len()];
            GatewayEvent::new(
                h,
                GatewayEventKind::Input {
                    line: format!("think g{n}").into_bytes().into(),
                },
            )
        })
        .collect();
    let before = applied(metrics_port).await?;
    let started = Instant::now();
    send_all(&producer, &inputs).await?;
    let produced = started.elapsed();
    wait_applied(
        metrics_port,
        before + inputs.len() as u64,
        Duration::from_secs(300),
    )
    .await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "game-server alone: {} input events for {} connections applied in {secs:.2} s = {:.0} events/s \
         (written to the input topic in {:.2} s)",
        inputs.len(),
        handles.len(),
        inputs.len() as f64 / secs,
        produced.as_secs_f64()
    );
    let gone: Vec<GatewayEvent> = handles
        .iter()
        .map(|h| {
            GatewayEvent::new(
                *h,
                GatewayEventKind::Disconnected {
                    reason: mush_protocol::DisconnectReason::ClientClosed,
                    detail: "bench over".into(),
                },
            )
        })
        .collect();
    send_all(&producer, &gone).await?;
    Ok(())
}

/// Writes every event (pipelined), then waits for the broker's acknowledgements.
async fn send_all(producer: &Producer, events: &[GatewayEvent]) -> anyhow::Result<()> {
    let mut pending = Vec::with_capacity(events.len());
    for ev in events {
        pending.push(producer.enqueue_event(ev)?);
    }
    for p in futures::future::join_all(pending).await {
        p?;
    }
    Ok(())
}

/// Input events the game-server has applied so far (all commands together; none yet, or no
/// answer, is 0: `wait_applied` then times out).
async fn applied(port: u16) -> anyhow::Result<u64> {
    Ok(metric(port, "mush_game_commands_total").await.unwrap_or(0.0) as u64)
}

async fn wait_applied(port: u16, target: u64, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while applied(port).await? < target {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the game-server did not apply the events in {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}
