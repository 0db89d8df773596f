//! The whole stack on one machine, built one way for `mush up` and for the end-to-end tests:
//! a Kafka-protocol broker (the embedded development broker, or one given), a redis-server (a
//! private one, or one given), connection-servers and a game-server (and a standby), wired
//! together; started in order, waited for, and stopped in order.
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use mush_devstack::{Binaries, StackBuilder};
//! let stack = StackBuilder::new(Binaries::Shipped { dir: "target/debug".into() })
//!     .gateways(2)
//!     .telnet_port(4201)
//!     .start()
//!     .await?;
//! println!("telnet 127.0.0.1 {}", stack.telnet_port());
//! stack.stop().await;
//! # Ok(()) }
//! ```

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::binaries::Binaries;
use crate::server::{Report, Server, StartError};
use crate::wiring::{PortPlan, Role, WebPort, Wiring, input_key_in};
use crate::{KafkaMock, RedisServer, free_port};

/// The topic prefix of a stack.
const TOPIC_PREFIX: &str = "mush";

/// How to build a [`Stack`]: every choice has a default fit for a test on free loopback ports.
pub struct StackBuilder {
    binaries: Binaries,
    state_dir: Option<PathBuf>,
    gateways: u16,
    standby: bool,
    ports: PortPlan,
    redis_url: Option<String>,
    redis_port: Option<u16>,
    kafka_brokers: Option<String>,
    fetch_wait_ms: Option<u64>,
    input_partitions: i32,
    output_partitions: i32,
    game_name: String,
    drain_seconds: u64,
    lease_ttl_ms: u64,
    welcome_file: Option<PathBuf>,
    gateway_args: Vec<String>,
    game_args: Vec<String>,
    game_input_key: Option<String>,
    echo: bool,
    ready_limit: Duration,
    require_ready: bool,
    report: Report,
}

impl StackBuilder {
    /// A stack whose servers run from `binaries`: one gateway, one game-server, an embedded
    /// broker and a private redis-server, every port free and picked now.
    pub fn new(binaries: Binaries) -> Self {
        Self {
            binaries,
            state_dir: None,
            gateways: 1,
            standby: false,
            ports: PortPlan {
                bind: [127, 0, 0, 1].into(),
                telnet: None,
                web: WebPort::Free,
                health: None,
            },
            redis_url: None,
            redis_port: None,
            kafka_brokers: None,
            fetch_wait_ms: None,
            input_partitions: 8,
            output_partitions: 16,
            game_name: "MUSH".to_owned(),
            drain_seconds: 2,
            lease_ttl_ms: 2000,
            welcome_file: None,
            gateway_args: vec![],
            game_args: vec![],
            game_input_key: None,
            echo: false,
            ready_limit: Duration::from_secs(60),
            require_ready: true,
            report: Arc::new(|_: &str| {}),
        }
    }

    /// Where the stack keeps what outlives it: Redis data in `<dir>/redis`, the input key in
    /// `<dir>/input.key`. Without one, a temporary folder and a new key.
    pub fn state_dir(mut self, dir: &Path) -> Self {
        self.state_dir = Some(dir.to_owned());
        self
    }

    /// How many gateways; gateway `i` holds slot `i` (its own output partition).
    pub fn gateways(mut self, n: u16) -> Self {
        self.gateways = n.max(1);
        self
    }

    /// Also run a standby game-server (not waited for: it is not ready until it leads).
    pub fn standby(mut self, standby: bool) -> Self {
        self.standby = standby;
        self
    }

    /// Address the player ports listen on.
    pub fn bind(mut self, bind: IpAddr) -> Self {
        self.ports.bind = bind;
        self
    }

    /// Gateway `i`'s telnet port is `port + i` (default: free ones).
    pub fn telnet_port(mut self, port: u16) -> Self {
        self.ports.telnet = Some(port);
        self
    }

    /// Gateway `i`'s web port is `port + i` (default: free ones).
    pub fn web_port(mut self, port: u16) -> Self {
        self.ports.web = WebPort::At(port);
        self
    }

    /// No web client.
    pub fn without_web(mut self) -> Self {
        self.ports.web = WebPort::Off;
        self
    }

    /// Health ports from `port`: gateway 0, the game-server, the standby, then gateways 1, 2, …
    /// (default: free ones).
    pub fn health_port(mut self, port: u16) -> Self {
        self.ports.health = Some(port);
        self
    }

    /// Use this Redis instead of starting a redis-server.
    pub fn redis_url(mut self, url: Option<String>) -> Self {
        self.redis_url = url;
        self
    }

    /// The port of the redis-server started here (default: a free one).
    pub fn redis_port(mut self, port: Option<u16>) -> Self {
        self.redis_port = port;
        self
    }

    /// Use these Kafka brokers instead of the embedded development broker.
    pub fn kafka_brokers(mut self, brokers: Option<String>) -> Self {
        self.kafka_brokers = brokers;
        self
    }

    /// The consumers' fetch wait (default: 1 ms with the embedded broker, which holds every
    /// fetch for the whole wait; the servers' default with a real broker, which answers as soon
    /// as data arrives).
    pub fn kafka_fetch_wait_ms(mut self, ms: Option<u64>) -> Self {
        self.fetch_wait_ms = ms;
        self
    }

    pub fn partitions(mut self, input: i32, output: i32) -> Self {
        self.input_partitions = input;
        self.output_partitions = output;
        self
    }

    pub fn game_name(mut self, name: &str) -> Self {
        self.game_name = name.to_owned();
        self
    }

    /// Gateway drain time on stop (seconds).
    pub fn drain_seconds(mut self, seconds: u64) -> Self {
        self.drain_seconds = seconds;
        self
    }

    /// The game-servers' leadership lease.
    pub fn lease_ttl_ms(mut self, ms: u64) -> Self {
        self.lease_ttl_ms = ms;
        self
    }

    pub fn welcome_file(mut self, file: Option<PathBuf>) -> Self {
        self.welcome_file = file;
        self
    }

    /// Extra flags for every connection-server, after the stack's own.
    pub fn gateway_args(mut self, args: impl IntoIterator<Item = String>) -> Self {
        self.gateway_args.extend(args);
        self
    }

    /// Extra flags for every game-server, after the stack's own.
    pub fn game_args(mut self, args: impl IntoIterator<Item = String>) -> Self {
        self.game_args.extend(args);
        self
    }

    /// Give the game-servers another input key than the gateways (a misconfiguration).
    pub fn game_input_key(mut self, key: Option<String>) -> Self {
        self.game_input_key = key;
        self
    }

    /// Echo every server's output, prefixed with its name.
    pub fn echo(mut self, echo: bool) -> Self {
        self.echo = echo;
        self
    }

    /// How long each server may take to become ready.
    pub fn ready_limit(mut self, limit: Duration) -> Self {
        self.ready_limit = limit;
        self
    }

    /// Whether a server that does not become ready fails the start (the default) or is reported
    /// and left running (its output says why).
    pub fn require_ready(mut self, require: bool) -> Self {
        self.require_ready = require;
        self
    }

    /// Where the stack reports what it does, one line each.
    pub fn report(mut self, report: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.report = Arc::new(report);
        self
    }

    /// Starts the broker, Redis, then the game-server, the gateways and the standby, each
    /// waited for until ready (the standby excepted).
    pub async fn start(self) -> std::io::Result<Stack> {
        self.check_binaries()?;
        if let Some(dir) = &self.state_dir {
            std::fs::create_dir_all(dir)?;
        }
        let kafka = self.start_kafka()?;
        let redis = self.start_redis()?;
        let wiring = Arc::new(self.wiring(&kafka, &redis)?);
        let mut stack = Stack {
            servers: self.servers(&wiring),
            kafka,
            redis,
            wiring,
            report: self.report.clone(),
        };
        stack.start_servers(self.ready_limit, self.require_ready).await?;
        Ok(stack)
    }

    fn check_binaries(&self) -> std::io::Result<()> {
        let missing = self.binaries.missing();
        if missing.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = missing.iter().map(|p| p.display().to_string()).collect();
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("server executables not found: {}", names.join(", ")),
        ))
    }

    fn start_kafka(&self) -> std::io::Result<Broker> {
        if let Some(brokers) = &self.kafka_brokers {
            self.say(&format!("Kafka: {brokers}"));
            return Ok(Broker::External(brokers.clone()));
        }
        let mock = KafkaMock::try_start(TOPIC_PREFIX, self.input_partitions, self.output_partitions)
            .map_err(|e| std::io::Error::other(format!("starting the embedded Kafka broker: {e}")))?;
        self.say(&format!(
            "Kafka: embedded DEVELOPMENT broker (librdkafka mock cluster) at {}; its data lives in memory only",
            mock.bootstrap_servers()
        ));
        Ok(Broker::Embedded(mock))
    }

    fn start_redis(&self) -> std::io::Result<Redis> {
        if let Some(url) = &self.redis_url {
            self.say(&format!("Redis: {}", mush_platform::redis::redact_url(url)));
            return Ok(Redis::External(url.clone()));
        }
        let port = self.redis_port.unwrap_or_else(free_port);
        let server = match &self.state_dir {
            Some(dir) => RedisServer::start_in(&dir.join("redis"), port)?,
            None => RedisServer::try_start_on(port)?,
        };
        self.say(&format!(
            "Redis: redis-server at {}, data in {}",
            server.url(),
            server.data_dir().display()
        ));
        Ok(Redis::Started(server))
    }

    fn wiring(&self, kafka: &Broker, redis: &Redis) -> std::io::Result<Wiring> {
        let input_key = match &self.state_dir {
            Some(dir) => input_key_in(dir)?,
            None => mush_platform::sealing::InputKey::generate_hex(),
        };
        let fetch_wait_ms = self.fetch_wait_ms.unwrap_or(match kafka {
            Broker::Embedded(_) => 1,
            Broker::External(_) => mush_platform::bus::DEFAULT_FETCH_WAIT_MS,
        });
        Ok(Wiring {
            binaries: self.binaries.clone(),
            redis_url: redis.url(),
            brokers: kafka.bootstrap_servers(),
            fetch_wait_ms,
            input_partitions: self.input_partitions,
            output_partitions: self.output_partitions,
            game_name: self.game_name.clone(),
            bind: self.ports.bind,
            drain_seconds: self.drain_seconds,
            lease_ttl_ms: self.lease_ttl_ms,
            welcome_file: self.welcome_file.clone(),
            gateway_args: self.gateway_args.clone(),
            game_args: self.game_args.clone(),
            input_key,
            game_input_key: self.game_input_key.clone(),
        })
    }

    /// The servers in start order: the game-server, the gateways, the standby.
    fn servers(&self, wiring: &Arc<Wiring>) -> Vec<Server> {
        let roles = std::iter::once(Role::Game)
            .chain((0..self.gateways).map(Role::Gateway))
            .chain(self.standby.then_some(Role::Standby));
        roles
            .map(|role| Server::new(role, wiring.clone(), self.ports, self.echo, self.report.clone()))
            .collect()
    }

    fn say(&self, what: &str) {
        (self.report)(what);
    }
}

/// The Kafka-protocol broker of a stack.
enum Broker {
    Embedded(KafkaMock),
    External(String),
}

impl Broker {
    fn bootstrap_servers(&self) -> String {
        match self {
            Broker::Embedded(mock) => mock.bootstrap_servers(),
            Broker::External(brokers) => brokers.clone(),
        }
    }
}

/// The Redis of a stack.
enum Redis {
    Started(RedisServer),
    External(String),
}

impl Redis {
    fn url(&self) -> String {
        match self {
            Redis::Started(server) => server.url(),
            Redis::External(url) => url.clone(),
        }
    }
}

/// A running stack. Dropping it kills every process it started; [`Stack::stop`] stops them in
/// order instead.
pub struct Stack {
    // Declared first, dropped first: the servers go before their broker and Redis.
    servers: Vec<Server>,
    kafka: Broker,
    redis: Redis,
    wiring: Arc<Wiring>,
    report: Report,
}

impl Stack {
    async fn start_servers(&mut self, limit: Duration, require_ready: bool) -> std::io::Result<()> {
        for server in self.servers.iter_mut() {
            if server.role() == Role::Standby {
                server.start()?;
                continue;
            }
            match server.start_ready(limit).await {
                Ok(_) => {}
                Err(StartError::Spawn(e)) => return Err(e),
                Err(StartError::NotReady(why)) if require_ready => return Err(std::io::Error::other(why)),
                Err(StartError::NotReady(_)) => (self.report)(&format!(
                    "{} did not become ready; see its log above",
                    server.name()
                )),
            }
        }
        Ok(())
    }

    /// Every server, in start order.
    pub fn servers(&self) -> &[Server] {
        &self.servers
    }

    pub fn server(&self, name: &str) -> Option<&Server> {
        self.servers.iter().find(|s| s.name() == name)
    }

    pub fn server_mut(&mut self, name: &str) -> Option<&mut Server> {
        self.servers.iter_mut().find(|s| s.name() == name)
    }

    fn by_role(&self, role: Role) -> Option<&Server> {
        self.servers.iter().find(|s| s.role() == role)
    }

    fn by_role_mut(&mut self, role: Role) -> Option<&mut Server> {
        self.servers.iter_mut().find(|s| s.role() == role)
    }

    /// The (first) game-server.
    pub fn game(&self) -> &Server {
        self.by_role(Role::Game).expect("a stack has a game-server")
    }

    pub fn game_mut(&mut self) -> &mut Server {
        self.by_role_mut(Role::Game).expect("a stack has a game-server")
    }

    /// Gateway 0.
    pub fn gateway(&self) -> &Server {
        self.by_role(Role::Gateway(0)).expect("a stack has a gateway")
    }

    pub fn gateway_mut(&mut self) -> &mut Server {
        self.by_role_mut(Role::Gateway(0)).expect("a stack has a gateway")
    }

    /// The standby game-server, when the stack has one.
    pub fn standby_mut(&mut self) -> Option<&mut Server> {
        self.by_role_mut(Role::Standby)
    }

    /// Gateway 0's telnet port.
    pub fn telnet_port(&self) -> u16 {
        self.gateway()
            .ports()
            .telnet
            .expect("a gateway has a telnet port")
    }

    /// Gateway 0's web port, when the gateways serve the web client.
    pub fn web_port(&self) -> Option<u16> {
        self.gateway().ports().web
    }

    pub fn binaries(&self) -> &Binaries {
        &self.wiring.binaries
    }

    pub fn kafka_brokers(&self) -> String {
        self.kafka.bootstrap_servers()
    }

    /// The embedded broker (to take it down and up), unless the stack uses given brokers.
    pub fn embedded_kafka(&self) -> Option<&KafkaMock> {
        match &self.kafka {
            Broker::Embedded(mock) => Some(mock),
            Broker::External(_) => None,
        }
    }

    pub fn redis_url(&self) -> String {
        self.redis.url()
    }

    /// The redis-server started here (to stop and start it), unless the stack uses a given Redis.
    pub fn redis_server_mut(&mut self) -> Option<&mut RedisServer> {
        match &mut self.redis {
            Redis::Started(server) => Some(server),
            Redis::External(_) => None,
        }
    }

    pub fn redis_server(&self) -> Option<&RedisServer> {
        match &self.redis {
            Redis::Started(server) => Some(server),
            Redis::External(_) => None,
        }
    }

    /// The gateways' input key (the game-servers' too, unless given another).
    pub fn input_key(&self) -> &str {
        &self.wiring.input_key
    }

    /// Stops everything in order: the gateways (they drain), the standby, the game-server
    /// (it commits and releases its lease), then Redis.
    pub async fn stop(mut self) {
        let order = |role: Role| match role {
            Role::Gateway(_) => 0,
            Role::Standby => 1,
            Role::Game => 2,
        };
        self.servers.sort_by_key(|s| order(s.role()));
        for server in self.servers.iter_mut() {
            server.stop(false).await;
        }
        if let Redis::Started(server) = &mut self.redis {
            server.stop();
            (self.report)("Redis stopped");
        }
    }
}
