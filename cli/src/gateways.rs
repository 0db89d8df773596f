//! `mush bench gateways --gateways N`: players spread over N gateways on consecutive telnet
//! ports (as `mush up --gateways N` runs them), all in one room: every `say` must reach every
//! listener on every gateway, and each gateway must read only its own players' output (its
//! `mush_gateway_output_dropped_total{reason="foreign"}` stays 0 while it writes messages).
//!
//! Why: output goes only to the gateway that holds the socket (one output partition per gateway
//! slot); this shows the routing holds with several gateways, and what a room costs across them.

use std::time::{Duration, Instant};

use mush_devstack::{TelnetClient, http_get};

use crate::bench::{BenchArgs, percentiles};

pub async fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let gateways = args.gateways.max(1);
    let id = crate::bench::run_id();
    let mut room: Vec<(u16, TelnetClient)> = Vec::with_capacity(args.clients);
    for i in 0..args.clients.max(2) {
        let g = (i % gateways as usize) as u16;
        let mut on = args.clone();
        on.addr.set_port(args.addr.port() + g);
        room.push((g, crate::bench::player(&on, &format!("Gw{id}x{i}")).await?));
    }
    for (_, c) in room.iter_mut() {
        while c.next_line(Duration::from_millis(20)).await?.is_some() {}
    }
    let before = gateway_figures(&args.gateway_metrics_ports).await?;
    let rounds = (args.samples / room.len()).clamp(3, 100);
    let mut per_gateway: Vec<Vec<Duration>> = vec![Vec::new(); gateways as usize];
    for r in 0..rounds {
        let speaker = r % room.len();
        let token = format!("gwsay{id}r{r}");
        let started = Instant::now();
        room[speaker].1.send(&format!("say {token}")).await?;
        let waits = room
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| *i != speaker)
            .map(|(_, (g, c))| {
                let token = token.clone();
                let g = *g;
                async move {
                    c.expect(&token, Duration::from_secs(10)).await?;
                    Ok::<_, anyhow::Error>((g, started.elapsed()))
                }
            });
        for heard in futures::future::join_all(waits).await {
            let (g, t) = heard?;
            per_gateway[g as usize].push(t);
        }
        room[speaker].1.expect(&token, Duration::from_secs(10)).await?;
    }
    println!(
        "say to a room of {} spread over {gateways} gateways, {rounds} rounds: every listener on every gateway heard every one",
        room.len()
    );
    for (g, samples) in per_gateway.iter_mut().enumerate() {
        let (p50, _, p99, max) = percentiles(samples);
        println!(
            "  listeners on gateway {g} (port {}): n={} p50={p50:.2} ms p99={p99:.2} ms max={max:.2} ms",
            args.addr.port() + g as u16,
            samples.len()
        );
    }
    if !args.gateway_metrics_ports.is_empty() {
        let after = gateway_figures(&args.gateway_metrics_ports).await?;
        let mut foreign_total = 0.0;
        for (i, ((out0, f0), (out1, f1))) in before.iter().zip(&after).enumerate() {
            let players = room.iter().filter(|(g, _)| *g as usize == i).count();
            println!(
                "  gateway {i}: {players} players, wrote {} messages, read {} messages of other gateways' players",
                out1 - out0,
                f1 - f0
            );
            foreign_total += f1 - f0;
            anyhow::ensure!(out1 > out0, "gateway {i} wrote nothing");
        }
        anyhow::ensure!(
            foreign_total == 0.0,
            "gateways read {foreign_total} messages meant for other gateways"
        );
        println!("  each gateway read only its own players' output");
    }
    Ok(())
}

/// Per gateway: (messages written to players, messages dropped as another gateway's).
async fn gateway_figures(ports: &[u16]) -> anyhow::Result<Vec<(f64, f64)>> {
    let mut out = Vec::with_capacity(ports.len());
    for port in ports {
        let (_, text) = http_get(*port, "/metrics").await?;
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        out.push((
            value("mush_gateway_messages_out_total "),
            value("mush_gateway_output_dropped_total{reason=\"foreign\"} "),
        ));
    }
    Ok(out)
}
