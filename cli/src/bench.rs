//! `mush bench`: measures any telnet MUSH (ours or another) from the outside, as players would,
//! and prints the figures.
//!
//! Scenarios (each bounded in count and time, loopback only by default):
//! * `latency`: round trip of a tokened command (`think <token>`) for one client, paced and
//!   back-to-back: p50/p90/p99 (`--transport websocket`: a browser's, over the web port);
//! * `room`: a `say` to a room of N players: time until each listener sees it;
//! * `throughput`: N clients back-to-back: commands per second;
//! * `connect`: connections per second and time to the first byte of the welcome text;
//! * `idle`: N idle connections held: the server's memory per connection (RSS by `--pid`;
//!   `--transport websocket`: browsers' connections);
//! * `restart`: clients send numbered commands while `mush restart game-server` runs: drops,
//!   lost and duplicated commands, and the longest gap;
//! * `hostile --attack <kind>`: an attack on the budgets while a well-behaved player types (see
//!   `hostile.rs`);
//! * `game-alone`: the game-server's own rate, fed straight from the input topic (see
//!   `game_alone.rs`);
//! * `gateways --gateways N`: a room spread over N gateways (see `gateways.rs`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use mush_devstack::{LineClient, TelnetClient, WebClient};
use tokio::io::AsyncReadExt;

#[derive(clap::Args, Clone)]
pub struct BenchArgs {
    /// What to measure.
    #[arg(value_enum)]
    pub scenario: Scenario,
    /// The MUSH's telnet address.
    #[arg(long, default_value = "127.0.0.1:4201")]
    pub addr: SocketAddr,
    /// `latency` and `idle`: the players' transport.
    #[arg(long, value_enum, default_value_t = Transport::Telnet)]
    pub transport: Transport,
    /// The web port (`--transport websocket`).
    #[arg(long, default_value = "127.0.0.1:4280")]
    pub web_addr: SocketAddr,
    /// Clients (room size, throughput clients, held connections).
    #[arg(long, default_value_t = 50)]
    pub clients: usize,
    /// Samples per measurement (commands, connections).
    #[arg(long, default_value_t = 1000)]
    pub samples: usize,
    /// Longest a scenario may run.
    #[arg(long, default_value_t = 120)]
    pub max_seconds: u64,
    /// Command that creates a character ({name}, {password}).
    #[arg(long, default_value = "create {name} {password}")]
    pub create: String,
    /// A line the server prints once a character is logged in.
    #[arg(long, default_value = "Connected.")]
    pub logged_in: String,
    /// A line the server prints as its welcome text.
    #[arg(long, default_value = "connect")]
    pub welcome: String,
    /// The server process whose memory `idle` reads.
    #[arg(long)]
    pub pid: Option<u32>,
    /// State directory of the `mush up` whose game-server `restart` restarts.
    #[arg(long, default_value = ".mush")]
    pub dir: PathBuf,
    /// `connect`: stop at the gateway's first byte (its telnet greeting) instead of the game's
    /// welcome text, to measure the gateway alone.
    #[arg(long)]
    pub greeting_only: bool,
    /// `restart`: SIGKILL instead of SIGTERM.
    #[arg(long)]
    pub kill: bool,
    /// `hostile`: the attack.
    #[arg(long, value_enum)]
    pub attack: Option<crate::hostile::Attack>,
    /// `hostile`: how long the attack goes on (seconds).
    #[arg(long, default_value_t = 6)]
    pub attack_seconds: u64,
    /// `hostile`: the game-server process whose memory is watched (`--pid`: the gateway's).
    #[arg(long)]
    pub game_pid: Option<u32>,
    /// `hostile`: also print the report as one JSON line.
    #[arg(long)]
    pub json: bool,
    /// `game-alone`: the Kafka brokers of the stack (`mush up` prints them).
    #[arg(long)]
    pub kafka_brokers: Option<String>,
    /// `game-alone`: the topic prefix of the stack.
    #[arg(long, default_value = "mush")]
    pub topic_prefix: String,
    /// `game-alone`: the game-server's health port (its `/metrics` says what is applied).
    #[arg(long)]
    pub game_metrics_port: Option<u16>,
    /// `gateways`: how many gateways, on consecutive telnet ports from `--addr`'s.
    #[arg(long, default_value_t = 1)]
    pub gateways: u16,
    /// `gateways`: the gateways' health ports, in order (comma-separated), to check that each
    /// reads only its own players' output.
    #[arg(long, value_delimiter = ',')]
    pub gateway_metrics_ports: Vec<u16>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Telnet,
    /// The browser's protocol on the gateway's web port.
    Websocket,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    Latency,
    Room,
    Throughput,
    Connect,
    Idle,
    Restart,
    /// One hostile client (`--attack`) while a well-behaved player types every 50 ms.
    Hostile,
    /// The game-server alone: input events written straight to the input topic.
    GameAlone,
    /// Players spread over `--gateways` gateways, all in one room.
    Gateways,
}

/// Percentiles of a sample, in milliseconds.
pub fn percentiles(samples: &mut [Duration]) -> (f64, f64, f64, f64) {
    if samples.is_empty() {
        return (0.0, 0.0, 0.0, 0.0);
    }
    samples.sort_unstable();
    let at = |q: f64| {
        let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[i].as_secs_f64() * 1000.0
    };
    (
        at(0.5),
        at(0.9),
        at(0.99),
        samples[samples.len() - 1].as_secs_f64() * 1000.0,
    )
}

fn print_latency(what: &str, samples: &mut [Duration]) {
    let n = samples.len();
    let (p50, p90, p99, max) = percentiles(samples);
    println!("{what}: n={n} p50={p50:.2} ms p90={p90:.2} ms p99={p99:.2} ms max={max:.2} ms");
}

pub(crate) fn run_id() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{:x}", (t.as_millis() as u64) & 0xff_ffff)
}

pub(crate) async fn player(args: &BenchArgs, name: &str) -> anyhow::Result<TelnetClient> {
    let c = TelnetClient::connect(args.addr).await?;
    log_in(args, c, name).await
}

/// A browser player, over the web port.
async fn web_player(args: &BenchArgs, name: &str) -> anyhow::Result<WebClient> {
    let c = WebClient::connect(args.web_addr).await?;
    log_in(args, c, name).await
}

/// Creates a character on a new connection and waits until its arrival is over.
async fn log_in<C: LineClient>(args: &BenchArgs, mut c: C, name: &str) -> anyhow::Result<C> {
    c.expect(&args.welcome, Duration::from_secs(10)).await?;
    let cmd = args
        .create
        .replace("{name}", name)
        .replace("{password}", &format!("pw-{name}"));
    c.send(&cmd).await?;
    c.expect(&args.logged_in, Duration::from_secs(10)).await?;
    // Let arrival messages pass.
    while c.next_line(Duration::from_millis(50)).await?.is_some() {}
    Ok(c)
}

async fn players(args: &BenchArgs, n: usize, prefix: &str) -> anyhow::Result<Vec<TelnetClient>> {
    let id = run_id();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(player(args, &format!("{prefix}{id}x{i}")).await?);
    }
    for c in out.iter_mut() {
        while c.next_line(Duration::from_millis(20)).await?.is_some() {}
    }
    Ok(out)
}

async fn round_trip<C: LineClient>(c: &mut C, token: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    c.send(&format!("think {token}")).await?;
    c.expect(token, Duration::from_secs(10)).await?;
    Ok(started.elapsed())
}

/// One client's round trips, paced and back to back.
async fn latency<C: LineClient>(mut c: C, args: &BenchArgs) -> anyhow::Result<()> {
    for i in 0..20 {
        round_trip(&mut c, &format!("warm{i}")).await?;
    }
    let mut paced = Vec::with_capacity(args.samples);
    for i in 0..args.samples {
        paced.push(round_trip(&mut c, &format!("paced{i}")).await?);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    print_latency("round trip, 1 client, paced (10 ms apart)", &mut paced);
    let mut b2b = Vec::with_capacity(args.samples);
    for i in 0..args.samples {
        b2b.push(round_trip(&mut c, &format!("b2b{i}")).await?);
    }
    print_latency("round trip, 1 client, back-to-back", &mut b2b);
    Ok(())
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let limit = Duration::from_secs(args.max_seconds);
    println!(
        "mush bench {:?} against {} ({} cores)",
        args.scenario,
        args.addr,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    match tokio::time::timeout(limit, scenario(&args)).await {
        Ok(r) => r,
        Err(_) => anyhow::bail!("stopped after --max-seconds {}", args.max_seconds),
    }
}

async fn scenario(args: &BenchArgs) -> anyhow::Result<()> {
    match args.scenario {
        Scenario::Latency => match args.transport {
            Transport::Telnet => latency(players(args, 1, "Lat").await?.remove(0), args).await?,
            Transport::Websocket => {
                let name = format!("Web{}", run_id());
                latency(web_player(args, &name).await?, args).await?
            }
        },
        Scenario::Room => {
            let mut room = players(args, args.clients, "Room").await?;
            let mut samples = Vec::new();
            let rounds = (args.samples / args.clients.max(1)).clamp(5, 200);
            for r in 0..rounds {
                let token = format!("roomsay{r}");
                let started = Instant::now();
                room[0].send(&format!("say {token}")).await?;
                let waits = room.iter_mut().skip(1).map(|c| {
                    let token = token.clone();
                    async move {
                        c.expect(&token, Duration::from_secs(10)).await?;
                        Ok::<_, anyhow::Error>(started.elapsed())
                    }
                });
                for d in futures::future::join_all(waits).await {
                    samples.push(d?);
                }
                room[0].expect(&token, Duration::from_secs(10)).await?;
            }
            print_latency(
                &format!("say to a room of {}: each listener", args.clients),
                &mut samples,
            );
        }
        Scenario::Throughput => {
            let clients = players(args, args.clients, "Tp").await?;
            let per_client = (args.samples / args.clients.max(1)).max(10);
            let started = Instant::now();
            let tasks: Vec<_> = clients
                .into_iter()
                .enumerate()
                .map(|(i, mut c)| {
                    tokio::spawn(async move {
                        let mut lat = Vec::with_capacity(per_client);
                        for n in 0..per_client {
                            lat.push(round_trip(&mut c, &format!("tp{i}-{n}")).await?);
                        }
                        Ok::<_, anyhow::Error>(lat)
                    })
                })
                .collect();
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await??);
            }
            let secs = started.elapsed().as_secs_f64();
            println!(
                "throughput: {} clients back-to-back, {} commands in {secs:.2} s = {:.0} commands/s",
                args.clients,
                all.len(),
                all.len() as f64 / secs
            );
            print_latency("  their round trips", &mut all);
        }
        Scenario::Connect => {
            // `--clients` workers open connections one after another, each waiting for the
            // welcome text, then closing.
            let workers = args.clients.clamp(1, 200);
            let per_worker = (args.samples / workers).max(1);
            let started = Instant::now();
            let tasks: Vec<_> = (0..workers)
                .map(|_| {
                    let addr = args.addr;
                    let greeting_only = args.greeting_only;
                    tokio::spawn(async move {
                        let mut first_byte = Vec::with_capacity(per_worker);
                        for _ in 0..per_worker {
                            first_byte.push(time_to_welcome(addr, greeting_only).await?);
                        }
                        Ok::<_, anyhow::Error>(first_byte)
                    })
                })
                .collect();
            let mut first_byte = Vec::new();
            for t in tasks {
                first_byte.extend(t.await??);
            }
            let secs = started.elapsed().as_secs_f64();
            println!(
                "connections: {} by {workers} concurrent clients in {secs:.2} s = {:.0} connections/s",
                first_byte.len(),
                first_byte.len() as f64 / secs
            );
            let what = if args.greeting_only {
                "  time to the gateway's first byte (telnet greeting)"
            } else {
                "  time to the first byte of the game's welcome text"
            };
            print_latency(what, &mut first_byte);
        }
        Scenario::Idle => {
            let pid = args
                .pid
                .ok_or_else(|| anyhow::anyhow!("idle needs --pid of the server to measure"))?;
            let before = rss_kib(pid)?;
            let mut held = Vec::with_capacity(args.clients);
            let mut held_web = Vec::with_capacity(args.clients);
            for _ in 0..args.clients {
                match args.transport {
                    Transport::Telnet => {
                        let mut c = TelnetClient::connect(args.addr).await?;
                        c.expect(&args.welcome, Duration::from_secs(10)).await?;
                        held.push(c);
                    }
                    Transport::Websocket => {
                        let mut c = WebClient::connect(args.web_addr).await?;
                        c.expect(&args.welcome, Duration::from_secs(10)).await?;
                        held_web.push(c);
                    }
                }
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
            let after = rss_kib(pid)?;
            let count = held.len() + held_web.len();
            println!(
                "idle {:?} connections: {count} held; server RSS {} KiB -> {} KiB = {:.2} KiB per connection",
                args.transport,
                before,
                after,
                (after.saturating_sub(before)) as f64 / count.max(1) as f64
            );
        }
        Scenario::Restart => restart(args).await?,
        Scenario::Hostile => {
            let attack = args
                .attack
                .ok_or_else(|| anyhow::anyhow!("hostile needs --attack (see --help)"))?;
            crate::hostile::run(args, attack).await?
        }
        Scenario::GameAlone => crate::game_alone::run(args).await?,
        Scenario::Gateways => crate::gateways::run(args).await?,
    }
    Ok(())
}

/// Connects and waits for the first byte of the welcome text (telnet negotiation comes first
/// and is skipped).
async fn time_to_welcome(addr: SocketAddr, greeting_only: bool) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let mut buf = [0u8; 512];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await??;
        anyhow::ensure!(n > 0, "closed before the welcome text");
        if greeting_only || strip_telnet(&buf[..n]).iter().any(|b| b.is_ascii_graphic()) {
            return Ok(t.elapsed());
        }
    }
}

/// Drops telnet commands from a chunk (enough to find the first text byte).
fn strip_telnet(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            255 if i + 1 < bytes.len() && (251..=254).contains(&bytes[i + 1]) => i += 3,
            255 if i + 1 < bytes.len() && bytes[i + 1] == 250 => {
                while i + 1 < bytes.len() && !(bytes[i] == 255 && bytes[i + 1] == 240) {
                    i += 1;
                }
                i += 2;
            }
            255 => i += 2,
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Resident memory of a process, from /proc.
pub(crate) fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS for pid {pid}"))
}

/// The answers one client has seen to its numbered commands (`think <tag><n>`): how many came
/// back, how often each, in order or not, the longest gap between two, and each command's round
/// trip (used by `restart` and `hostile`).
pub(crate) struct Tracker {
    pub tag: String,
    /// When each command was sent, by number.
    sent_at: Vec<Instant>,
    /// How often each command was answered, by number.
    got: HashMap<u32, u32>,
    pub order_ok: bool,
    last: Option<u32>,
    last_at: Instant,
    pub gap: Duration,
    /// Round trip of each command's first answer.
    pub rtts: Vec<Duration>,
}

impl Tracker {
    pub fn new(tag: String) -> Self {
        Self {
            tag,
            sent_at: Vec::new(),
            got: HashMap::new(),
            order_ok: true,
            last: None,
            last_at: Instant::now(),
            gap: Duration::ZERO,
            rtts: Vec::new(),
        }
    }

    /// The next command to send; its send time is noted now.
    pub fn next_command(&mut self) -> String {
        let n = self.sent_at.len();
        self.sent_at.push(Instant::now());
        format!("think {}{n}", self.tag)
    }

    pub fn on_line(&mut self, line: &str) {
        if let Some(n) = line
            .trim()
            .strip_prefix(&self.tag)
            .and_then(|n| n.parse::<u32>().ok())
        {
            let count = self.got.entry(n).or_default();
            *count += 1;
            if *count == 1
                && let Some(at) = self.sent_at.get(n as usize)
            {
                self.rtts.push(at.elapsed());
            }
            if self.last.is_some_and(|l| n <= l) {
                self.order_ok = false;
            }
            self.last = Some(n);
            self.gap = self.gap.max(self.last_at.elapsed());
            self.last_at = Instant::now();
        }
    }

    pub fn sent(&self) -> u32 {
        self.sent_at.len() as u32
    }

    /// Commands answered at least once.
    pub fn answered(&self) -> u32 {
        self.got.len() as u32
    }

    /// Commands answered more than once.
    pub fn duplicated(&self) -> u32 {
        self.got.values().filter(|v| **v > 1).count() as u32
    }
}

async fn restart(args: &BenchArgs) -> anyhow::Result<()> {
    let clients = players(args, args.clients.min(50), "Rs").await?;
    let stop_at = Instant::now() + Duration::from_secs(8);
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut c)| {
            tokio::spawn(async move {
                let mut t = Tracker::new(format!("rs{i}-"));
                while Instant::now() < stop_at {
                    if c.send(&t.next_command()).await.is_err() {
                        break;
                    }
                    let until = Instant::now() + Duration::from_millis(50);
                    while let Ok(Some(line)) =
                        c.next_line(until.saturating_duration_since(Instant::now())).await
                    {
                        t.on_line(&line);
                    }
                }
                let until = Instant::now() + Duration::from_secs(15);
                while t.answered() < t.sent() && Instant::now() < until {
                    if let Ok(Some(line)) = c.next_line(Duration::from_millis(200)).await {
                        t.on_line(&line);
                    } else if c.is_closed() {
                        break;
                    }
                }
                let lost = (t.sent() - t.answered()) as usize;
                let dup = t.duplicated() as usize;
                (c.is_closed(), t.sent(), lost, dup, t.order_ok, t.gap)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = Instant::now();
    crate::control::restart(crate::control::RestartArgs {
        process: "game-server".into(),
        kill: args.kill,
        dir: args.dir.clone(),
    })
    .await?;
    let back = started.elapsed();
    let (mut drops, mut sent, mut lost, mut dup, mut disorder, mut gap) = (0, 0, 0, 0, 0, Duration::ZERO);
    for t in tasks {
        let (closed, s, l, d, ok, g) = t.await?;
        drops += usize::from(closed);
        sent += s;
        lost += l;
        dup += d;
        disorder += usize::from(!ok);
        gap = gap.max(g);
    }
    println!(
        "restart ({}): game-server back in {} ms; {sent} commands: {drops} players dropped, {lost} lost, {dup} duplicated, {disorder} out of order; longest gap {} ms",
        if args.kill { "SIGKILL" } else { "SIGTERM" },
        back.as_millis(),
        gap.as_millis()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_right_samples() {
        let mut s: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let (p50, p90, p99, max) = percentiles(&mut s);
        assert_eq!((p50, p90, p99, max), (50.0, 90.0, 99.0, 100.0));
        assert_eq!(percentiles(&mut []), (0.0, 0.0, 0.0, 0.0));
    }

    #[test]
    fn telnet_negotiation_is_not_mistaken_for_text() {
        assert!(strip_telnet(&[255, 251, 201, 255, 253, 31]).is_empty());
        assert_eq!(strip_telnet(&[255, 250, 201, b'x', 255, 240, b'W']), b"W");
    }
}
