//! Real servers on loopback ports, for the local stack (`mush up`) and for tests.
//!
//! * [`StackBuilder`] / [`Stack`]: the whole stack (broker, Redis, gateways, game-server and
//!   standby) wired one way for `mush up` and the end-to-end tests; [`Binaries`] says whether the
//!   servers run from the shipped binaries or the `mush` command's subcommands.
//! * [`RedisServer`]: a real `redis-server` (Debian's package) on a free port with its own data
//!   directory, never the machine's 6379. It can be stopped and started again on the same port
//!   with the same data, to test what happens while Redis is away.
//! * [`KafkaMock`]: librdkafka's mock cluster, a Kafka-protocol broker reached over TCP by the real
//!   rdkafka clients. A development broker: it keeps everything in memory.

mod binaries;
mod client;
mod process;
mod server;
mod stack;
mod web_client;
mod wiring;

pub use binaries::{Binaries, ServerKind};
pub use client::{LineClient, TelnetClient};
pub use process::{ServerProcess, http_get, http_post, http_post_bearer, metric};
pub use server::{Change, Report, Server, StartError};
pub use stack::{Stack, StackBuilder};
pub use web_client::WebClient;
pub use wiring::{Ports, Role};

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding a loopback port")
}

/// Where a [`RedisServer`] keeps its data.
enum DataDir {
    Temp(tempfile::TempDir),
    Kept(PathBuf),
}

impl DataDir {
    fn path(&self) -> &Path {
        match self {
            DataDir::Temp(t) => t.path(),
            DataDir::Kept(p) => p,
        }
    }
}

/// A real redis-server owned by this process (killed when dropped).
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: DataDir,
}

fn redis_binary() -> PathBuf {
    for p in ["/usr/bin/redis-server", "/usr/local/bin/redis-server"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    PathBuf::from("redis-server")
}

impl RedisServer {
    /// Starts redis-server on a free loopback port with append-only persistence in a temporary
    /// directory. Panics with a clear message if it cannot (tests).
    pub fn start() -> Self {
        Self::try_start_on(free_port()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts redis-server on `port` with its data in a temporary directory (removed when it is
    /// dropped).
    pub fn try_start_on(port: u16) -> std::io::Result<Self> {
        let mut server = Self {
            child: None,
            port,
            dir: DataDir::Temp(tempfile::tempdir()?),
        };
        server.spawn()?;
        Ok(server)
    }

    /// Starts redis-server on `port` keeping its data in `dir` (created if missing).
    pub fn start_in(dir: &Path, port: u16) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut server = Self {
            child: None,
            port,
            dir: DataDir::Kept(dir.to_owned()),
        };
        server.spawn()?;
        Ok(server)
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let mut command = Command::new(redis_binary());
        // SAFETY: prctl(2) only, between fork and exec: redis-server is told SIGTERM when this
        // process dies, so a killed launcher or test never leaves it behind.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let child = command
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string(), "--dir"])
            .arg(self.dir.path())
            .args(["--save", "", "--appendonly", "yes", "--appendfsync", "everysec"])
            .args(["--protected-mode", "yes", "--loglevel", "warning"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("starting redis-server: {e} (install it: apt-get install -y redis-server)"),
                )
            })?;
        self.child = Some(child);
        self.wait_until_up()
    }

    fn wait_until_up(&mut self) -> std::io::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let mut buf = [0u8; 16];
                if s.write_all(b"PING\r\n").is_ok()
                    && s.read(&mut buf).is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
                {
                    return Ok(());
                }
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                return Err(std::io::Error::other(format!(
                    "redis-server on port {} exited at start ({status}); is the port taken?",
                    self.port
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(std::io::Error::other(format!(
            "redis-server on port {} did not come up",
            self.port
        )))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Where it keeps its data.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops the server (SIGTERM, so it finishes writing its data) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port with the same data.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn().unwrap_or_else(|e| panic!("{e}"));
    }

    /// Starts it again after [`RedisServer::stop`].
    pub fn start_again(&mut self) -> std::io::Result<()> {
        self.spawn()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// librdkafka's mock Kafka cluster, listening on a loopback port.
pub struct KafkaMock {
    cluster: MockCluster<'static, DefaultProducerContext>,
}

impl KafkaMock {
    /// One broker, with the project's two topics created at the given partition counts.
    pub fn start(prefix: &str, input_partitions: i32, output_partitions: i32) -> Self {
        Self::try_start(prefix, input_partitions, output_partitions).expect("starting the mock Kafka cluster")
    }

    pub fn try_start(
        prefix: &str,
        input_partitions: i32,
        output_partitions: i32,
    ) -> Result<Self, rdkafka::error::KafkaError> {
        let cluster = MockCluster::new(1)?;
        let topics = mush_protocol::Topics::new(prefix);
        cluster.create_topic(&topics.input, input_partitions, 1)?;
        cluster.create_topic(&topics.output, output_partitions, 1)?;
        Ok(Self { cluster })
    }

    pub fn bootstrap_servers(&self) -> String {
        self.cluster.bootstrap_servers()
    }

    pub fn create_topic(&self, name: &str, partitions: i32) {
        self.cluster
            .create_topic(name, partitions, 1)
            .expect("creating a topic");
    }

    /// Makes the broker refuse connections until [`KafkaMock::broker_up`].
    pub fn broker_down(&self) {
        self.cluster
            .broker_down(-1)
            .expect("setting the mock broker down");
    }

    pub fn broker_up(&self) {
        self.cluster.broker_up(-1).expect("setting the mock broker up");
    }

    /// Kafka settings pointing at this broker.
    pub fn args(&self, prefix: &str) -> mush_platform::bus::KafkaArgs {
        let mut args = mush_platform::bus::KafkaArgs::for_brokers(&self.bootstrap_servers());
        args.topic_prefix = prefix.to_owned();
        args
    }
}
