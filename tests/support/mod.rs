//! The whole stack for end-to-end tests: `mush_devstack::StackBuilder`'s, the one `mush up`
//! runs (the embedded Kafka-protocol broker hosted by the test process, a real redis-server,
//! a game-server and a gateway, all on free loopback ports), with the binaries that ship:
//! `connection-server` and `game-server`, found next to the `mush` binary under test.
//!
//! Cargo builds only the test's own package's binaries (`mush`) before running a test, so
//! running one e2e test alone needs the servers built first:
//!
//! ```text
//! cargo build --bins
//! cargo test -p mush-cli --test e2e_play
//! ```
//!
//! (`cargo test --workspace` builds them itself.) A server binary older than a source file it is
//! built from (per the dep-info file cargo writes beside it) stops the test with that message:
//! an old binary would pass or fail for the wrong reason.
#![allow(dead_code)]

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::time::Duration;

use mush_devstack::{Binaries, KafkaMock, LineClient, RedisServer, StackBuilder, TelnetClient, WebClient};

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

/// Flags the tests give every gateway beyond `mush up`'s: the topics exist already (the
/// embedded broker made them), and a killed gateway's slot frees up within 2 s.
const TEST_GATEWAY_FLAGS: [&str; 2] = ["--create-topics=false", "--slot-ttl-ms=2000"];
/// Flags the tests give every game-server beyond `mush up`'s.
const TEST_GAME_FLAGS: [&str; 1] = ["--create-topics=false"];
/// How long a test waits for a server to become ready.
const READY_LIMIT: Duration = Duration::from_secs(30);

/// A running stack (`mush_devstack::Stack`, which it derefs to) and what the tests do with it.
pub struct Stack {
    inner: mush_devstack::Stack,
    /// Gateway 0's telnet port.
    pub telnet_port: u16,
    /// Gateway 0's web port (the browser client and its WebSocket).
    pub web_port: u16,
}

impl Deref for Stack {
    type Target = mush_devstack::Stack;

    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl DerefMut for Stack {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.inner
    }
}

/// The `mush` binary the tests run.
pub fn mush_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mush"))
}

/// The shipped `connection-server` and `game-server`, in the target folder of the `mush` binary
/// under test; a clear failure when they are not built.
pub fn shipped_binaries() -> Binaries {
    let mush = mush_binary();
    let dir = mush.parent().unwrap_or(Path::new("."));
    let binaries = Binaries::shipped_in(dir).unwrap_or_else(|| {
        panic!(
            "the e2e tests run the shipped servers, {0}/connection-server and {0}/game-server, \
             and they are not built: run `cargo build --bins` first \
             (`cargo test --workspace` builds them)",
            dir.display()
        )
    });
    // A test of an old binary would pass or fail for the wrong reason.
    if let Some((binary, source)) = binaries.stale().into_iter().next() {
        panic!(
            "{} is older than {}: run `cargo build --bins` first (`cargo test --workspace` builds it)",
            binary.display(),
            source.display()
        );
    }
    binaries
}

impl Stack {
    pub async fn start(opts: StackOptions) -> Stack {
        let echo = opts.echo;
        let gateway_flags = TEST_GATEWAY_FLAGS.iter().map(|f| f.to_string());
        let game_flags = TEST_GAME_FLAGS.iter().map(|f| f.to_string());
        let inner = StackBuilder::new(shipped_binaries())
            .standby(opts.standby)
            .lease_ttl_ms(opts.lease_ttl_ms)
            .gateway_args(gateway_flags.chain(opts.gateway_flags))
            .game_args(game_flags.chain(opts.game_flags))
            .game_input_key(opts.game_input_key)
            .echo(echo)
            .report(move |line| {
                if echo {
                    println!("stack: {line}");
                }
            })
            .ready_limit(READY_LIMIT)
            .start()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        Stack {
            telnet_port: inner.telnet_port(),
            web_port: inner.web_port().expect("the test stack serves the web client"),
            inner,
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
        let (_, took) = self
            .game_mut()
            .restart(kill, READY_LIMIT)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        took
    }

    /// Starts the game-server again (after a kill or stop) and waits until it is ready.
    pub async fn start_game_again(&mut self) {
        let game = self.game_mut();
        game.start().unwrap();
        game.wait_ready(READY_LIMIT).await.unwrap();
    }

    /// Starts the gateway again (after a kill or stop), on the same ports.
    pub async fn start_gateway_again(&mut self) {
        let gateway = self.gateway_mut();
        gateway.start().unwrap();
        gateway.wait_ready(READY_LIMIT).await.unwrap();
    }

    /// The embedded broker.
    pub fn kafka(&self) -> &KafkaMock {
        self.embedded_kafka()
            .expect("the test stack's broker is embedded")
    }

    /// The test stack's redis-server.
    pub fn redis(&self) -> &RedisServer {
        self.redis_server()
            .expect("the test stack starts its redis-server")
    }

    pub fn redis_mut(&mut self) -> &mut RedisServer {
        self.redis_server_mut()
            .expect("the test stack starts its redis-server")
    }

    /// Counts of connection records in Redis (live index and hashes).
    pub async fn redis_connection_count(&self) -> (usize, usize) {
        use fred::prelude::*;
        let client =
            mush_platform::redis::connect(&mush_platform::redis::RedisArgs::for_url(&self.redis_url()))
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
