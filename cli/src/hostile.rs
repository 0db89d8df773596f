//! `mush bench hostile --attack <kind>`: one hostile client (or a crowd of them) attacks the MUSH
//! while a well-behaved player sends a command every 50 ms; prints what the player saw (lost,
//! duplicated, out of order; round-trip p50/p99/max) and the servers' memory (RSS by `--pid`
//! and `--game-pid`). `--json` adds one machine-readable line (the end-to-end tests read it).
//!
//! Why a bench scenario: the same attacks are the acceptance tests of the budgets (e2e_hostile);
//! here anyone can reproduce the figures against a running `mush up`, or another MUSH.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mush_devstack::TelnetClient;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::bench::{BenchArgs, Tracker, percentiles, rss_kib};

const IAC: u8 = 255;
const SB: u8 = 250;
const SE: u8 = 240;
const WILL: u8 = 251;
const DO: u8 = 253;
const DONT: u8 = 254;
const NAWS: u8 = 31;
const MSDP: u8 = 69;
const GMCP: u8 = 201;
const COMPRESS2: u8 = 86;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Attack {
    /// Never logs in; agrees to MSDP and GMCP and sends 32,000-byte subnegotiations without pause.
    SubnegFlood,
    /// Never logs in; window sizes, option toggles (GMCP, MSDP, MCCP on and off) without pause.
    NegotiationFlood,
    /// Logged in: `@dolist [lnum(100)]=@dolist [lnum(100)]=think ` and 7,000 `[`.
    DolistBrackets,
    /// Logged in: `think ` and 8,100 `[`, three times.
    UnclosedBrackets,
    /// Logged in: nested `@dolist`s emitting 7,000-character lines.
    DolistOutput,
    /// Logged in: typed lines as fast as the socket takes them.
    LineFlood,
    /// GMCP `Core.Supports.Add` with ever new packages.
    GmcpSupports,
    /// `--clients` connections, each from its own loopback address, `create` at the same moment.
    CreateStorm,
}

/// What the well-behaved player saw.
#[derive(Debug, Default, Serialize)]
pub struct VictimReport {
    pub sent: u32,
    pub answered: u32,
    pub lost: u32,
    pub duplicated: u32,
    pub out_of_order: bool,
    pub dropped: bool,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Default, Serialize)]
pub struct Rss {
    pub before_kib: u64,
    pub max_kib: u64,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub attack: Attack,
    pub seconds: f64,
    pub victim: VictimReport,
    pub gateway: Option<Rss>,
    pub game: Option<Rss>,
    /// What the attack side saw (e.g. "disconnected after 2.1 s", "created 300 of 300").
    pub attacker: String,
}

pub async fn run(args: &BenchArgs, attack: Attack) -> anyhow::Result<()> {
    let id = crate::bench::run_id();
    let mut victim = crate::bench::player(args, &format!("Victim{id}")).await?;
    let seconds = args.attack_seconds;
    let stop = Arc::new(AtomicBool::new(false));
    let pids = [args.pid, args.game_pid];
    let sampler = tokio::spawn(sample_rss(pids, stop.clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let victim_task = {
        let stop = stop.clone();
        let tag = format!("v{id}-");
        tokio::spawn(async move { pace(&mut victim, &tag, stop).await })
    };
    let started = Instant::now();
    let attacker = tokio::time::timeout(
        Duration::from_secs(seconds + 60),
        run_attack(args, attack, &id, Duration::from_secs(seconds)),
    )
    .await
    .unwrap_or_else(|_| Ok("the attack did not end in time".into()))?;
    let attacked_for = started.elapsed();
    // One more second of the victim after the attack, then stop.
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let victim = victim_task.await?;
    let [gateway, game] = sampler.await?;
    let report = Report {
        attack,
        seconds: attacked_for.as_secs_f64(),
        victim,
        gateway,
        game,
        attacker,
    };
    print_report(&report);
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}

fn print_report(r: &Report) {
    let v = &r.victim;
    println!("attack {:?} for {:.1} s: {}", r.attack, r.seconds, r.attacker);
    println!(
        "  well-behaved player: {} sent, {} answered, {} lost, {} duplicated, out of order: {}, dropped: {}",
        v.sent, v.answered, v.lost, v.duplicated, v.out_of_order, v.dropped
    );
    println!(
        "  its round trip: p50={:.2} ms p99={:.2} ms max={:.2} ms",
        v.p50_ms, v.p99_ms, v.max_ms
    );
    for (name, rss) in [("gateway", &r.gateway), ("game-server", &r.game)] {
        if let Some(rss) = rss {
            println!(
                "  {name} RSS: {} KiB before, {} KiB at most (+{} KiB)",
                rss.before_kib,
                rss.max_kib,
                rss.max_kib.saturating_sub(rss.before_kib)
            );
        }
    }
}

/// The well-behaved player: `think <tag><n>` every 50 ms until `stop`, then waits for the last
/// answers; counts what came back.
async fn pace(c: &mut TelnetClient, tag: &str, stop: Arc<AtomicBool>) -> VictimReport {
    let mut t = Tracker::new(tag.to_owned());
    let mut next = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if c.send(&t.next_command()).await.is_err() {
            break;
        }
        next += Duration::from_millis(50);
        while let Ok(Some(line)) = c.next_line(next.saturating_duration_since(Instant::now())).await {
            t.on_line(&line);
        }
    }
    let until = Instant::now() + Duration::from_secs(15);
    while t.answered() < t.sent() && Instant::now() < until && !c.is_closed() {
        if let Ok(Some(line)) = c.next_line(Duration::from_millis(200)).await {
            t.on_line(&line);
        }
    }
    let (p50_ms, _, p99_ms, max_ms) = percentiles(&mut t.rtts);
    VictimReport {
        sent: t.sent(),
        answered: t.answered(),
        lost: t.sent() - t.answered(),
        duplicated: t.duplicated(),
        out_of_order: !t.order_ok,
        dropped: c.is_closed(),
        p50_ms,
        p99_ms,
        max_ms,
    }
}

/// Samples the RSS of each pid every 100 ms until `stop`.
async fn sample_rss(pids: [Option<u32>; 2], stop: Arc<AtomicBool>) -> [Option<Rss>; 2] {
    let mut out: [Option<Rss>; 2] = [None, None];
    for (i, pid) in pids.iter().enumerate() {
        if let Some(kib) = pid.and_then(|p| rss_kib(p).ok()) {
            out[i] = Some(Rss {
                before_kib: kib,
                max_kib: kib,
            });
        }
    }
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        for (i, pid) in pids.iter().enumerate() {
            if let (Some(rss), Some(kib)) = (out[i].as_mut(), pid.and_then(|p| rss_kib(p).ok())) {
                rss.max_kib = rss.max_kib.max(kib);
            }
        }
    }
    out
}

async fn run_attack(args: &BenchArgs, attack: Attack, id: &str, length: Duration) -> anyhow::Result<String> {
    let until = Instant::now() + length;
    match attack {
        Attack::SubnegFlood => {
            let mut msdp = vec![IAC, SB, MSDP, 1, b'X', 2];
            msdp.extend(std::iter::repeat_n(b'y', 32_000));
            msdp.extend([IAC, SE]);
            let mut gmcp = vec![IAC, SB, GMCP];
            gmcp.extend_from_slice(b"Core.Hello {\"client\":\"");
            gmcp.extend(std::iter::repeat_n(b'z', 31_900));
            gmcp.extend_from_slice(b"\"}");
            gmcp.extend([IAC, SE]);
            flood(args.addr, &[IAC, DO, MSDP, IAC, DO, GMCP], &[msdp, gmcp], until).await
        }
        Attack::NegotiationFlood => {
            let mut chunk = Vec::new();
            for w in 0..200u16 {
                chunk.extend([IAC, SB, NAWS]);
                chunk.extend(w.to_be_bytes());
                chunk.extend(40u16.to_be_bytes());
                chunk.extend([IAC, SE]);
                chunk.extend([IAC, DONT, GMCP, IAC, DO, GMCP, IAC, DONT, MSDP, IAC, DO, MSDP]);
                chunk.extend([IAC, DO, COMPRESS2, IAC, DONT, COMPRESS2]);
            }
            flood(args.addr, &[IAC, WILL, NAWS], &[chunk], until).await
        }
        Attack::GmcpSupports => {
            let mut chunks = Vec::new();
            for n in 0..50 {
                let list: Vec<String> = (0..200).map(|i| format!("\"P{n}x{i} 1\"")).collect();
                let mut m = vec![IAC, SB, GMCP];
                m.extend_from_slice(format!("Core.Supports.Add [{}]", list.join(",")).as_bytes());
                m.extend([IAC, SE]);
                chunks.push(m);
            }
            flood(args.addr, &[IAC, DO, GMCP], &chunks, until).await
        }
        Attack::DolistBrackets => {
            let line = format!(
                "@dolist [lnum(100)]=@dolist [lnum(100)]=think {}",
                "[".repeat(7_000)
            );
            typed(args, id, vec![line], until, false).await
        }
        Attack::UnclosedBrackets => {
            let line = format!("think {}", "[".repeat(8_100));
            typed(args, id, vec![line; 3], until, false).await
        }
        Attack::DolistOutput => {
            let line = format!(
                "@dolist [lnum(1000)]=@dolist [lnum(1000)]=think {}",
                "x".repeat(7_000)
            );
            typed(args, id, vec![line], until, true).await
        }
        Attack::LineFlood => {
            let lines = (0..2_000).map(|n| format!("think flood{n}")).collect();
            typed(args, id, lines, until, true).await
        }
        Attack::CreateStorm => create_storm(args, id, args.clients).await,
    }
}

/// One raw connection: `opening`, then `chunks` round and round until `until`, reading and
/// discarding whatever the server sends. Reports how it ended.
async fn flood(
    addr: SocketAddr,
    opening: &[u8],
    chunks: &[Vec<u8>],
    until: Instant,
) -> anyhow::Result<String> {
    let stream = TcpStream::connect(addr).await?;
    let (mut rx, mut tx) = stream.into_split();
    let read = Arc::new(AtomicU64::new(0));
    let reader = {
        let read = read.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            while let Ok(n) = rx.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                read.fetch_add(n as u64, Ordering::Relaxed);
            }
        })
    };
    tx.write_all(opening).await?;
    let started = Instant::now();
    let mut written = 0u64;
    let mut closed = None;
    'outer: while Instant::now() < until {
        for chunk in chunks {
            let left = until.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, tx.write_all(chunk)).await {
                Ok(Ok(())) => written += chunk.len() as u64,
                Ok(Err(_)) => {
                    closed = Some(started.elapsed());
                    break 'outer;
                }
                Err(_) => break 'outer,
            }
        }
    }
    drop(tx);
    let _ = tokio::time::timeout(Duration::from_secs(2), reader).await;
    Ok(match closed {
        Some(t) => format!(
            "the server closed the attacker after {:.1} s ({} KiB written)",
            t.as_secs_f64(),
            written / 1024
        ),
        None => format!(
            "the attacker wrote {} KiB (the server took it at {} KiB/s) and was not closed",
            written / 1024,
            written / 1024 / started.elapsed().as_secs().max(1)
        ),
    })
}

/// A logged-in attacker typing `lines` (round and round until `until` when `repeat`), reading
/// and discarding its output in the background.
async fn typed(
    args: &BenchArgs,
    id: &str,
    lines: Vec<String>,
    until: Instant,
    repeat: bool,
) -> anyhow::Result<String> {
    let c = crate::bench::player(args, &format!("Attacker{id}")).await?;
    let mut stream = c.into_stream();
    let started = Instant::now();
    let mut closed = None;
    let mut sent = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    'outer: loop {
        for line in &lines {
            let mut bytes = line.as_bytes().to_vec();
            bytes.extend_from_slice(b"\r\n");
            let left = until.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left.max(Duration::from_millis(10)), stream.write_all(&bytes)).await {
                Ok(Ok(())) => sent += 1,
                Ok(Err(_)) => {
                    closed = Some(started.elapsed());
                    break 'outer;
                }
                Err(_) => break 'outer,
            }
            // Read what is there without waiting.
            while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(1), stream.read(&mut buf)).await
            {
                if n == 0 {
                    closed = Some(started.elapsed());
                    break 'outer;
                }
            }
        }
        if !repeat || Instant::now() >= until {
            break;
        }
    }
    // Keep reading (a reader, not a slow client) until the attack time is over.
    while Instant::now() < until && closed.is_none() {
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => closed = Some(started.elapsed()),
            _ => {}
        }
    }
    Ok(match closed {
        Some(t) => format!(
            "{sent} lines typed; the server closed the attacker after {:.1} s",
            t.as_secs_f64()
        ),
        None => format!("{sent} lines typed; the attacker stayed connected"),
    })
}

/// `n` connections from `n` loopback addresses (127.0.1.x, 127.0.2.x, ...) reach the login
/// screen, then all send `create` at once.
async fn create_storm(args: &BenchArgs, id: &str, n: usize) -> anyhow::Result<String> {
    let mut clients = Vec::with_capacity(n);
    for i in 0..n {
        let source = IpAddr::V4(Ipv4Addr::new(127, 0, 1 + (i / 250) as u8, 1 + (i % 250) as u8));
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(source, 0))?;
        let stream = socket.connect(args.addr).await?;
        let mut c = TelnetClient::from_stream(stream)?;
        c.expect(&args.welcome, Duration::from_secs(30)).await?;
        clients.push(c);
    }
    let started = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut c)| {
            let name = format!("Storm{id}x{i}");
            tokio::spawn(async move {
                c.send(&format!("create {name} pw-{name}")).await?;
                let line = c
                    .expect_any(&["Connected.", "busy", "try again"], Duration::from_secs(60))
                    .await?;
                Ok::<_, anyhow::Error>(line.contains("Connected."))
            })
        })
        .collect();
    let (mut created, mut refused, mut failed) = (0, 0, 0);
    for t in tasks {
        match t.await? {
            Ok(true) => created += 1,
            Ok(false) => refused += 1,
            Err(_) => failed += 1,
        }
    }
    Ok(format!(
        "{created} of {n} created, {refused} told to try again, {failed} without an answer, in {:.1} s",
        started.elapsed().as_secs_f64()
    ))
}
