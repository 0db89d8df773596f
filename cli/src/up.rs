//! `mush up`: the whole stack on one machine, each server a separate process.
//!
//! The stack is `mush_devstack::StackBuilder`'s, the one the end-to-end tests run: a
//! Kafka-protocol broker (embedded: librdkafka's mock cluster hosted by this process, a
//! development broker that keeps everything in memory) or `--kafka-brokers`, a `redis-server` on
//! a private port with its data in `<dir>/redis` or `--redis-url`, then one game-server, one
//! connection-server (`--gateways N`: N of them, on consecutive telnet ports) and with
//! `--standby` a second game-server, wired together. The servers run from the shipped binaries
//! (`connection-server`, `game-server`) when they sit next to `mush`, else as `mush`'s own
//! subcommands. `mush up` prints every change of a process's state, restarts nothing by itself,
//! answers `mush restart …` on `<dir>/control.sock`, and on Ctrl-C stops everything in order:
//! gateways (they drain), game-servers (they commit and release the lease), Redis.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use mush_devstack::{Binaries, Change, Server, Stack, StackBuilder};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::control::{Request, socket_path};

#[derive(clap::Args, Clone)]
pub struct UpArgs {
    /// State directory: Redis data, the control socket.
    #[arg(long, default_value = ".mush")]
    pub dir: PathBuf,
    /// Port players connect to (telnet).
    #[arg(long, default_value_t = 4201)]
    pub telnet_port: u16,
    /// Port of the web client (a browser at `http://<bind>:<port>/`; its WebSocket at `/ws`).
    /// Gateway i serves it on `--web-port` + i. 0: no web client.
    #[arg(long, default_value_t = 4280)]
    pub web_port: u16,
    /// Address the player ports listen on (127.0.0.1: this machine only; 0.0.0.0: everyone).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// Use this Redis instead of starting one.
    #[arg(long)]
    pub redis_url: Option<String>,
    /// Port of the redis-server started here (default: a free one).
    #[arg(long)]
    pub redis_port: Option<u16>,
    /// Use this Kafka/Redpanda instead of the embedded development broker.
    #[arg(long)]
    pub kafka_brokers: Option<String>,
    /// Consumer fetch wait (ms). Default: 1 with the development broker (each Kafka hop then
    /// takes about a millisecond, for ~4% of a core per process at idle; 0 is ~0.2 ms a hop for
    /// about half a core each), 100 with a real broker (which answers as soon as data arrives).
    #[arg(long)]
    pub kafka_fetch_wait_ms: Option<u64>,
    #[arg(long, default_value_t = 8)]
    pub input_partitions: i32,
    #[arg(long, default_value_t = 16)]
    pub output_partitions: i32,
    /// Also run a standby game-server that takes over when the active one goes.
    #[arg(long)]
    pub standby: bool,
    /// Text greeting new connections.
    #[arg(long)]
    pub welcome_file: Option<PathBuf>,
    #[arg(long, default_value = "MUSH")]
    pub game_name: String,
    /// Gateway drain time on stop.
    #[arg(long, default_value_t = 2)]
    pub drain_seconds: u64,
    /// Game-server leadership lease (ms): how long a standby or a restarted game-server waits
    /// after a crash.
    #[arg(long, default_value_t = 2000)]
    pub lease_ttl_ms: u64,
    /// Health ports of the processes start here (gateway, game, standby).
    #[arg(long, default_value_t = 9101)]
    pub health_port: u16,
    /// Extra flags for the connection-server (repeatable), e.g. --gateway-flag=--commands-per-second=1000.
    #[arg(long = "gateway-flag", allow_hyphen_values = true)]
    pub gateway_flags: Vec<String>,
    /// How many gateways (connection-servers) to run: gateway i listens on telnet port
    /// `--telnet-port` + i and holds slot i (its own output partition). Consecutive ports rather
    /// than one port shared with SO_REUSEPORT: a player (and the load tool) knows which gateway it
    /// is on, which the kernel's hashing would hide; in a cluster the Service spreads players.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub gateways: u16,
}

/// How long a server started or restarted by `mush up` may take to become ready.
const READY_LIMIT: Duration = Duration::from_secs(60);

fn say(what: &str) {
    println!("mush: {what}");
}

pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir.display()))?;
    let dir = std::fs::canonicalize(&args.dir)?;
    let binaries = servers_binaries()?;
    let control = ControlSocket::bind(&dir)?;
    let mut stack = stack_builder(&args, &dir, binaries).start().await?;
    announce(&args);
    supervise(&mut stack, &control.listener).await?;
    say("stopping");
    stack.stop().await;
    drop(control);
    say("stopped");
    Ok(())
}

/// The shipped servers when they sit next to `mush`, else `mush`'s subcommands; says which.
fn servers_binaries() -> anyhow::Result<Binaries> {
    let mush = std::env::current_exe().context("finding the mush executable")?;
    let binaries = Binaries::beside(&mush);
    say(&format!("servers: {}", binaries.describe()));
    for (binary, source) in binaries.stale() {
        say(&format!(
            "note: {} is older than {}: `cargo build --bins` (with --release for a release mush) \
             builds it again",
            binary.display(),
            source.display()
        ));
    }
    Ok(binaries)
}

/// The stack `args` describe, its state in `dir`.
fn stack_builder(args: &UpArgs, dir: &Path, binaries: Binaries) -> StackBuilder {
    let builder = StackBuilder::new(binaries)
        .state_dir(dir)
        .gateways(args.gateways)
        .standby(args.standby)
        .bind(args.bind)
        .telnet_port(args.telnet_port)
        .health_port(args.health_port)
        .redis_url(args.redis_url.clone())
        .redis_port(args.redis_port)
        .kafka_brokers(args.kafka_brokers.clone())
        .kafka_fetch_wait_ms(args.kafka_fetch_wait_ms)
        .partitions(args.input_partitions, args.output_partitions)
        .game_name(&args.game_name)
        .drain_seconds(args.drain_seconds)
        .lease_ttl_ms(args.lease_ttl_ms)
        .welcome_file(args.welcome_file.clone())
        .gateway_args(args.gateway_flags.iter().cloned())
        .echo(true)
        .ready_limit(READY_LIMIT)
        .require_ready(false)
        .report(say);
    match args.web_port {
        0 => builder.without_web(),
        port => builder.web_port(port),
    }
}

/// Where to connect.
fn announce(args: &UpArgs) {
    let ports = if args.gateways == 1 {
        args.telnet_port.to_string()
    } else {
        format!(
            "{}   (gateways on ports {}-{})",
            args.telnet_port,
            args.telnet_port,
            args.telnet_port + args.gateways - 1
        )
    };
    let host = if args.bind.is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        args.bind.to_string()
    };
    say(&format!(
        "ready. Connect with: telnet {host} {ports}   (restart the game with `mush restart game-server [--kill]`; Ctrl-C stops everything)",
    ));
    if args.web_port != 0 {
        say(&format!("Play in a browser: http://{host}:{}/", args.web_port));
    }
}

/// `<dir>/control.sock`, removed when dropped.
struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl ControlSocket {
    fn bind(dir: &Path) -> anyhow::Result<Self> {
        let path = socket_path(dir);
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).with_context(|| format!("binding {}", path.display()))?;
        Ok(Self { listener, path })
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Until Ctrl-C or SIGTERM: answers the control socket and reports what changes.
async fn supervise(stack: &mut Stack, control: &UnixListener) -> anyhow::Result<()> {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = term.recv() => return Ok(()),
            conn = control.accept() => {
                if let Ok((stream, _)) = conn {
                    serve_control(stream, stack).await;
                }
            }
            _ = tick.tick() => watch(stack).await,
        }
    }
}

/// Reports exits and readiness changes; restarts nothing.
async fn watch(stack: &mut Stack) {
    for name in server_names(stack) {
        let Some(server) = stack.server_mut(&name) else {
            continue;
        };
        match server.poll().await {
            None => {}
            Some(Change::Exited(status)) => say(&format!(
                "{name} EXITED ({status}); not restarted: `mush restart {name}` starts it again"
            )),
            Some(Change::Ready) => say(&format!("{name} ready")),
            Some(Change::NotReady(why)) => say(&format!("{name} not ready {why}")),
        }
    }
}

fn server_names(stack: &Stack) -> Vec<String> {
    stack.servers().iter().map(|s| s.name().to_owned()).collect()
}

async fn serve_control(stream: UnixStream, stack: &mut Stack) {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    let Ok(Some(line)) = lines.next_line().await else {
        return;
    };
    let reply = match Request::parse(&line) {
        Err(e) => format!("error {e}\n"),
        Ok(Request::Status) => status(stack),
        Ok(Request::Restart { process, kill }) => match stack.server_mut(&process) {
            None => format!("error no process named {process}\n"),
            Some(server) => {
                let what = if kill { "killing" } else { "stopping" };
                let _ = writer.write_all(format!("{what} {process} …\n").as_bytes()).await;
                restart(server, kill).await
            }
        },
    };
    let _ = writer.write_all(reply.as_bytes()).await;
}

/// One line per process, then `ok`.
fn status(stack: &Stack) -> String {
    let mut out = String::new();
    for server in stack.servers() {
        out.push_str(&format!(
            "{:<18} pid {:<8} {}\n",
            server.name(),
            server.pid().map_or("-".into(), |p| p.to_string()),
            match server.ready() {
                Some(true) => "ready",
                Some(false) => "not ready",
                None => "starting",
            }
        ));
    }
    out + "ok\n"
}

/// Restarts one server and waits until it is ready; the reply's last line.
async fn restart(server: &mut Server, kill: bool) -> String {
    let process = server.name().to_owned();
    say(&format!(
        "restart of {process} requested{}",
        if kill { " (SIGKILL)" } else { "" }
    ));
    match server.restart(kill, READY_LIMIT).await {
        Ok((pid, took)) => {
            let ms = took.as_millis();
            say(&format!("{process} ready again after {ms} ms"));
            format!("ok {process} ready in {ms} ms (pid {pid})\n")
        }
        Err(mush_devstack::StartError::Spawn(e)) => format!("error {e}\n"),
        Err(mush_devstack::StartError::NotReady(_)) => format!(
            "error {process} did not become ready within 60 s (pid {})\n",
            server.pid().unwrap_or(0)
        ),
    }
}
