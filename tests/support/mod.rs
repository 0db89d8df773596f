//! The whole stack for end-to-end tests: the embedded Kafka-protocol broker (hosted by the test
//! process), a real redis-server, and the real `connection-server` and `game-server` processes
//! (run as `mush connection-server …` / `mush game-server …`), all on loopback ports.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use mush_devstack::{KafkaMock, LineClient, RedisServer, ServerProcess, TelnetClient, WebClient, free_port};

pub const T: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct StackOptions {
    pub standby: bool,
    pub gateway_flags: Vec<String>,
    pub game_flags: Vec<String>,
    pub lease_ttl_ms: u64,
    pub echo: bool,
    /// The game-server's input key when it must differ from the gateway's (a misconfiguration).
    pub game_input_key: Option<String>,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            standby: false,
            gateway_flags: vec![],
            game_flags: vec![],
            lease_ttl_ms: 1500,
            echo: std::env::var_os("MUSH_E2E_ECHO").is_some(),
            game_input_key: None,
        }
    }
}

pub struct Stack {
    pub kafka: KafkaMock,
    pub redis: RedisServer,
    pub gateway: ServerProcess,
    pub game: ServerProcess,
    pub standby: Option<ServerProcess>,
    pub telnet_port: u16,
    /// The gateway's web port (the browser client and its WebSocket).
    pub web_port: u16,
    /// The gateway's input key (the game-server's too, unless `game_input_key`).
    pub input_key: String,
    gateway_args: Vec<String>,
    game_args: Vec<String>,
    standby_args: Vec<String>,
    opts: StackOptions,
}

fn mush() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mush"))
}

impl Stack {
    pub async fn start(opts: StackOptions) -> Stack {
        let kafka = KafkaMock::start("mush", 8, 16);
        let redis = RedisServer::start();
        let mut telnet_port = free_port();
        let mut web_port = free_port();
        let common = |health: u16| {
            vec![
                format!("--health-addr=127.0.0.1:{health}"),
                format!("--redis-url={}", redis.url()),
                format!("--kafka-brokers={}", kafka.bootstrap_servers()),
                "--kafka-fetch-wait-ms=1".into(),
                "--create-topics=false".to_owned(),
            ]
        };
        let gateway_args_for = |telnet_port: u16, web_port: u16| {
            let mut a = vec!["connection-server".to_owned()];
            a.extend(common(free_port()));
            a.extend([
                format!("--telnet-addr=127.0.0.1:{telnet_port}"),
                format!("--web-addr=127.0.0.1:{web_port}"),
                "--gateway-name=gateway-0".to_owned(),
                "--drain-seconds=2".to_owned(),
                "--slot-ttl-ms=2000".to_owned(),
            ]);
            a.extend(opts.gateway_flags.iter().cloned());
            a
        };
        let mut gateway_args = gateway_args_for(telnet_port, web_port);
        let game_args = |name: &str| {
            let mut a = vec!["game-server".to_owned()];
            a.extend(common(free_port()));
            a.push(format!("--instance-name={name}"));
            a.push(format!("--lease-ttl-ms={}", opts.lease_ttl_ms));
            a.extend(opts.game_flags.iter().cloned());
            a
        };
        let mut game_args_a = game_args("game-a");
        let standby_args = game_args("game-b");
        let input_key = mush_platform::sealing::InputKey::generate_hex();
        let game_key = opts.game_input_key.clone().unwrap_or_else(|| input_key.clone());
        let mut attempts = 0;
        let game = loop {
            let mut game = spawn("game-server", &game_args_a, &game_key, opts.echo);
            match game.wait_ready(Duration::from_secs(30)).await {
                Ok(_) => break game,
                Err(e) if e.contains("Address already in use") && attempts < 3 => {
                    attempts += 1;
                    game_args_a = game_args("game-a");
                }
                Err(e) => panic!("{e}"),
            }
        };
        // A port picked free may be taken before the gateway binds it (by another test's
        // connection): then the gateway says so and starts again on new ports.
        let mut attempts = 0;
        let gateway = loop {
            let mut gateway = spawn("connection-server", &gateway_args, &input_key, opts.echo);
            match gateway.wait_ready(Duration::from_secs(30)).await {
                Ok(_) => break gateway,
                Err(e) if e.contains("Address already in use") && attempts < 3 => {
                    attempts += 1;
                    telnet_port = free_port();
                    web_port = free_port();
                    gateway_args = gateway_args_for(telnet_port, web_port);
                }
                Err(e) => panic!("{e}"),
            }
        };
        let standby = if opts.standby {
            Some(spawn("game-standby", &standby_args, &game_key, opts.echo))
        } else {
            None
        };
        Stack {
            kafka,
            redis,
            gateway,
            game,
            standby,
            telnet_port,
            web_port,
            input_key,
            gateway_args,
            game_args: game_args_a,
            standby_args,
            opts,
        }
    }

    /// A connection at the login screen (welcome text read).
    pub async fn connect(&self) -> TelnetClient {
        let mut c = TelnetClient::connect(("127.0.0.1", self.telnet_port))
            .await
            .unwrap();
        c.expect("connect <name> <password>", T).await.unwrap();
        c
    }

    /// A new player, created and logged in.
    pub async fn player(&self, name: &str) -> TelnetClient {
        let mut c = self.connect().await;
        c.send(&format!("create {name} secret-{name}")).await.unwrap();
        c.expect("Connected.", T).await.unwrap();
        c
    }

    /// A new player in a browser's place (the web port's WebSocket), created and logged in.
    pub async fn web_player(&self, name: &str) -> WebClient {
        let mut c = WebClient::connect(([127, 0, 0, 1], self.web_port).into())
            .await
            .unwrap();
        c.expect("connect <name> <password>", T).await.unwrap();
        c.send(&format!("create {name} secret-{name}")).await.unwrap();
        c.expect("Connected.", T).await.unwrap();
        c
    }

    /// Restarts the game-server (SIGTERM, or SIGKILL when `kill`) and waits until it is ready.
    pub async fn restart_game(&mut self, kill: bool) -> Duration {
        let started = std::time::Instant::now();
        if kill {
            self.game.kill().await;
        } else {
            self.game.stop(Duration::from_secs(20)).await;
        }
        self.game = spawn("game-server", &self.game_args, &self.game_key(), self.opts.echo);
        self.game.wait_ready(Duration::from_secs(30)).await.unwrap();
        started.elapsed()
    }

    /// Starts the game-server again (after a kill or stop) and waits until it is ready.
    pub async fn start_game_again(&mut self) {
        self.game = spawn("game-server", &self.game_args, &self.game_key(), self.opts.echo);
        self.game.wait_ready(Duration::from_secs(30)).await.unwrap();
    }

    /// Starts the gateway again (after a kill or stop).
    pub async fn start_gateway_again(&mut self) {
        self.gateway = spawn(
            "connection-server",
            &self.gateway_args,
            &self.input_key,
            self.opts.echo,
        );
        self.gateway.wait_ready(Duration::from_secs(30)).await.unwrap();
    }

    /// The game-server's input key.
    pub fn game_key(&self) -> String {
        self.opts
            .game_input_key
            .clone()
            .unwrap_or_else(|| self.input_key.clone())
    }

    pub fn standby_args(&self) -> &[String] {
        &self.standby_args
    }

    /// Counts of connection records in Redis (live index and hashes).
    pub async fn redis_connection_count(&self) -> (usize, usize) {
        use fred::prelude::*;
        let client =
            mush_platform::redis::connect(&mush_platform::redis::RedisArgs::for_url(&self.redis.url()))
                .await
                .unwrap();
        let live: usize = client.zcard("mush:conns").await.unwrap();
        let mut hashes = 0;
        let mut cursor = "0".to_owned();
        loop {
            let (next, keys): (String, Vec<String>) = client
                .custom(
                    fred::types::CustomCommand::new_static("SCAN", fred::types::ClusterHash::FirstKey, false),
                    vec![
                        cursor.clone(),
                        "MATCH".into(),
                        "mush:conn:*".into(),
                        "COUNT".into(),
                        "1000".into(),
                    ],
                )
                .await
                .unwrap();
            hashes += keys.len();
            if next == "0" {
                break;
            }
            cursor = next;
        }
        (live, hashes)
    }
}

/// The `mush` binary the tests run.
pub fn mush_binary() -> PathBuf {
    mush()
}

/// A server process with its input key in the environment (`MUSH_INPUT_KEY`).
pub fn spawn(name: &str, args: &[String], input_key: &str, echo: bool) -> ServerProcess {
    let health = args
        .iter()
        .find_map(|a| a.strip_prefix("--health-addr=127.0.0.1:"))
        .and_then(|p| p.parse().ok())
        .expect("a health port");
    let env = [("MUSH_INPUT_KEY".to_owned(), input_key.to_owned())];
    ServerProcess::spawn_with_env(name, &mush(), args, &env, health, echo).expect("starting a server process")
}
