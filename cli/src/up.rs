//! `mush up`: the whole stack on one machine, each server a separate process.
//!
//! It starts a Kafka-protocol broker (embedded: librdkafka's mock cluster hosted by this process,
//! a development broker that keeps everything in memory) or uses `--kafka-brokers`, a
//! `redis-server` on a private port with its data in `<dir>/redis` or uses `--redis-url`, then
//! one connection-server (`--gateways N`: N of them, on consecutive telnet ports) and one
//! game-server (two with `--standby`), wired together. It prints every
//! change of a process's state, restarts nothing by itself, answers `mush restart …` on
//! `<dir>/control.sock`, and on Ctrl-C stops everything in order: gateway (drains), game-server
//! (commits and releases its lease), Redis.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use mush_devstack::{KafkaMock, RedisServer, ServerProcess, free_port};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;

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

impl UpArgs {
    /// The health port of gateway `i` (gateway 0, the game-server and the standby keep the
    /// first three ports, as with one gateway).
    pub fn gateway_health_port(&self, i: u16) -> u16 {
        if i == 0 {
            self.health_port
        } else {
            self.health_port + 2 + i
        }
    }

    /// The process name of gateway `i` (`connection-server` for the first, as with one).
    pub fn gateway_name(i: u16) -> String {
        if i == 0 {
            "connection-server".to_owned()
        } else {
            format!("connection-server-{i}")
        }
    }
}

/// One supervised process.
struct Proc {
    name: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    health_port: u16,
    process: Option<ServerProcess>,
    ready: Option<bool>,
    stop_wait: Duration,
}

impl Proc {
    /// A process not started yet.
    fn new(
        name: impl Into<String>,
        args: Vec<String>,
        env: Vec<(String, String)>,
        health_port: u16,
        stop_wait: Duration,
    ) -> Self {
        Self {
            name: name.into(),
            args,
            env,
            health_port,
            process: None,
            ready: None,
            stop_wait,
        }
    }

    fn start(&mut self) -> anyhow::Result<u32> {
        let exe = std::env::current_exe().context("finding the mush executable")?;
        let process =
            ServerProcess::spawn_with_env(&self.name, &exe, &self.args, &self.env, self.health_port, true)
                .with_context(|| format!("starting {}", self.name))?;
        let pid = process.pid().unwrap_or(0);
        self.process = Some(process);
        self.ready = None;
        say(&format!("{} started (pid {pid})", self.name));
        Ok(pid)
    }

    fn pid(&self) -> Option<u32> {
        self.process.as_ref().and_then(ServerProcess::pid)
    }

    /// Stops the process (SIGTERM, or SIGKILL when `kill`), waiting for it to exit.
    async fn stop(&mut self, kill: bool) {
        let Some(mut process) = self.process.take() else {
            return;
        };
        if kill {
            process.kill().await;
            say(&format!("{} killed", self.name));
        } else {
            match process.stop(self.stop_wait).await {
                Some(status) => say(&format!("{} stopped ({status})", self.name)),
                None => say(&format!(
                    "{} did not stop within {:?}: killed",
                    self.name, self.stop_wait
                )),
            }
        }
        self.ready = Some(false);
    }

    /// Whether /readyz answers 200, or the first failing check.
    async fn readiness(&self) -> (bool, String) {
        match &self.process {
            None => (false, "not running".into()),
            Some(p) => {
                let (ready, body) = p.readiness().await;
                (
                    ready,
                    body.lines()
                        .find(|l| l.starts_with("[-]"))
                        .unwrap_or("")
                        .to_owned(),
                )
            }
        }
    }

    async fn wait_ready(&mut self, limit: Duration) -> bool {
        let Some(p) = self.process.as_mut() else {
            return false;
        };
        match p.wait_ready(limit).await {
            Ok(_) => {
                self.ready = Some(true);
                true
            }
            Err(_) => false,
        }
    }
}

fn say(what: &str) {
    println!("mush: {what}");
}

/// The stack's input key (`<dir>/input.key`, readable by its owner only), made on first use.
fn input_key(dir: &std::path::Path) -> anyhow::Result<String> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let path = dir.join("input.key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let key = text.trim().to_owned();
        mush_platform::sealing::InputKey::from_hex(&key).with_context(|| {
            format!(
                "{} holds no input key: delete it to make a new one",
                path.display()
            )
        })?;
        return Ok(key);
    }
    let key = mush_platform::sealing::InputKey::generate_hex();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    std::io::Write::write_all(&mut file, format!("{key}\n").as_bytes())?;
    Ok(key)
}

pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir.display()))?;
    let dir = std::fs::canonicalize(&args.dir)?;

    // Kafka.
    let _embedded_kafka;
    let brokers = match &args.kafka_brokers {
        Some(b) => {
            say(&format!("Kafka: {b}"));
            b.clone()
        }
        None => {
            let mock = KafkaMock::try_start("mush", args.input_partitions, args.output_partitions)
                .map_err(|e| anyhow::anyhow!("starting the embedded Kafka broker: {e}"))?;
            let b = mock.bootstrap_servers();
            say(&format!(
                "Kafka: embedded DEVELOPMENT broker (librdkafka mock cluster) at {b}; its data lives in memory only"
            ));
            _embedded_kafka = mock;
            b
        }
    };

    // Redis.
    let mut redis = None;
    let redis_url = match &args.redis_url {
        Some(u) => {
            say(&format!("Redis: {}", mush_platform::redis::redact_url(u)));
            u.clone()
        }
        None => {
            let port = args.redis_port.unwrap_or_else(free_port);
            let server = RedisServer::start_in(&dir.join("redis"), port)?;
            let url = server.url();
            say(&format!(
                "Redis: redis-server at {url}, data in {}",
                dir.join("redis").display()
            ));
            redis = Some(server);
            url
        }
    };

    // The development broker holds every fetch for the whole wait; a real one answers at once.
    let fetch_wait = args
        .kafka_fetch_wait_ms
        .unwrap_or(if args.kafka_brokers.is_some() {
            mush_platform::bus::DEFAULT_FETCH_WAIT_MS
        } else {
            1
        });
    let common = |health_port: u16| -> Vec<String> {
        vec![
            format!("--health-addr=127.0.0.1:{health_port}"),
            format!("--redis-url={redis_url}"),
            format!("--kafka-brokers={brokers}"),
            format!("--kafka-fetch-wait-ms={fetch_wait}"),
            format!("--input-partitions={}", args.input_partitions),
            format!("--output-partitions={}", args.output_partitions),
            format!("--game-name={}", args.game_name),
        ]
    };
    let gateway_args = |i: u16| {
        let mut a = vec!["connection-server".to_owned()];
        a.extend(common(args.gateway_health_port(i)));
        a.extend([
            format!(
                "--telnet-addr={}",
                std::net::SocketAddr::new(args.bind, args.telnet_port + i)
            ),
            format!("--gateway-name=gateway-{i}"),
            format!("--drain-seconds={}", args.drain_seconds),
        ]);
        if args.web_port != 0 {
            a.push(format!(
                "--web-addr={}",
                std::net::SocketAddr::new(args.bind, args.web_port + i)
            ));
        }
        a.extend(args.gateway_flags.iter().cloned());
        a
    };
    let game_args = |name: &str, port: u16| {
        let mut a = vec!["game-server".to_owned()];
        a.extend(common(port));
        a.push(format!("--instance-name={name}"));
        a.push(format!("--lease-ttl-ms={}", args.lease_ttl_ms));
        if let Some(w) = &args.welcome_file {
            a.push(format!("--welcome-file={}", w.display()));
        }
        a
    };
    // One input key per stack, kept in its folder so restarts of `mush up` keep it; handed to
    // the servers in their environment, never on a command line.
    let key = input_key(&dir)?;
    let secret_env = vec![("MUSH_INPUT_KEY".to_owned(), key)];
    let game_stop_wait = Duration::from_secs(25);
    let mut procs = vec![Proc::new(
        "game-server",
        game_args("game-a", args.health_port + 1),
        secret_env.clone(),
        args.health_port + 1,
        game_stop_wait,
    )];
    for i in 0..args.gateways {
        procs.push(Proc::new(
            UpArgs::gateway_name(i),
            gateway_args(i),
            secret_env.clone(),
            args.gateway_health_port(i),
            Duration::from_secs(args.drain_seconds + 15),
        ));
    }
    if args.standby {
        procs.push(Proc::new(
            "game-standby",
            game_args("game-b", args.health_port + 2),
            secret_env.clone(),
            args.health_port + 2,
            game_stop_wait,
        ));
    }

    let sock = socket_path(&dir);
    let _ = std::fs::remove_file(&sock);
    let control = UnixListener::bind(&sock).with_context(|| format!("binding {}", sock.display()))?;

    for p in procs.iter_mut() {
        p.start()?;
        if !p.wait_ready(Duration::from_secs(60)).await && p.name != "game-standby" {
            say(&format!("{} did not become ready; see its log above", p.name));
        }
    }
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

    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            conn = control.accept() => {
                if let Ok((stream, _)) = conn {
                    serve_control(stream, &mut procs).await;
                }
            }
            _ = tick.tick() => watch(&mut procs).await,
        }
    }

    say("stopping");
    // Gateways first (they drain), then the game-servers, then Redis.
    for p in procs
        .iter_mut()
        .filter(|p| p.name.starts_with("connection-server"))
    {
        p.stop(false).await;
    }
    for name in ["game-standby", "game-server"] {
        if let Some(p) = procs.iter_mut().find(|p| p.name == name) {
            p.stop(false).await;
        }
    }
    if let Some(mut r) = redis {
        r.stop();
        say("Redis stopped");
    }
    let _ = std::fs::remove_file(&sock);
    say("stopped");
    Ok(())
}

/// Reports exits and readiness changes; restarts nothing.
async fn watch(procs: &mut [Proc]) {
    for p in procs.iter_mut() {
        let Some(process) = p.process.as_mut() else {
            continue;
        };
        if let Some(status) = process.try_wait() {
            say(&format!(
                "{} EXITED ({status}); not restarted: `mush restart {}` starts it again",
                p.name, p.name
            ));
            p.process = None;
            p.ready = Some(false);
            continue;
        }
        let (ready, why) = p.readiness().await;
        if p.ready != Some(ready) {
            if ready {
                say(&format!("{} ready", p.name));
            } else {
                say(&format!("{} not ready {why}", p.name));
            }
            p.ready = Some(ready);
        }
    }
}

async fn serve_control(stream: tokio::net::UnixStream, procs: &mut [Proc]) {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    let Ok(Some(line)) = lines.next_line().await else {
        return;
    };
    let reply = match Request::parse(&line) {
        Err(e) => format!("error {e}\n"),
        Ok(Request::Status) => {
            let mut out = String::new();
            for p in procs.iter() {
                out.push_str(&format!(
                    "{:<18} pid {:<8} {}\n",
                    p.name,
                    p.pid().map_or("-".into(), |p| p.to_string()),
                    match p.ready {
                        Some(true) => "ready",
                        Some(false) => "not ready",
                        None => "starting",
                    }
                ));
            }
            out + "ok\n"
        }
        Ok(Request::Restart { process, kill }) => match procs.iter_mut().find(|p| p.name == process) {
            None => format!("error no process named {process}\n"),
            Some(p) => {
                let _ = writer
                    .write_all(
                        format!("{} {process} …\n", if kill { "killing" } else { "stopping" }).as_bytes(),
                    )
                    .await;
                say(&format!(
                    "restart of {process} requested{}",
                    if kill { " (SIGKILL)" } else { "" }
                ));
                let started = Instant::now();
                p.stop(kill).await;
                match p.start() {
                    Err(e) => format!("error {e:#}\n"),
                    Ok(pid) => {
                        if p.wait_ready(Duration::from_secs(60)).await {
                            let ms = started.elapsed().as_millis();
                            say(&format!("{process} ready again after {ms} ms"));
                            format!("ok {process} ready in {ms} ms (pid {pid})\n")
                        } else {
                            format!("error {process} did not become ready within 60 s (pid {pid})\n")
                        }
                    }
                }
            }
        },
    };
    let _ = writer.write_all(reply.as_bytes()).await;
}
