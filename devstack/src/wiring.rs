//! How the servers of a [`crate::Stack`] are wired together: each one's ports, flags and
//! environment, decided in one place for `mush up` and the tests alike.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::binaries::{Binaries, ServerKind};
use crate::free_port;

/// A server's place in the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Connection-server `i`: telnet port `telnet + i`, slot `i`, name `gateway-i`.
    Gateway(u16),
    /// The game-server started first (instance `game-a`): it takes the leadership lease.
    Game,
    /// A second game-server (instance `game-b`) waiting for the lease.
    Standby,
}

impl Role {
    /// The process name (`connection-server` for the first gateway, as with one).
    pub fn name(self) -> String {
        match self {
            Role::Gateway(0) => "connection-server".to_owned(),
            Role::Gateway(i) => format!("connection-server-{i}"),
            Role::Game => "game-server".to_owned(),
            Role::Standby => "game-standby".to_owned(),
        }
    }

    pub fn kind(self) -> ServerKind {
        match self {
            Role::Gateway(_) => ServerKind::ConnectionServer,
            Role::Game | Role::Standby => ServerKind::GameServer,
        }
    }

    pub fn is_gateway(self) -> bool {
        matches!(self, Role::Gateway(_))
    }
}

/// The ports a stack's servers listen on: a fixed port (consecutive from it, one per gateway) or
/// a free one picked for each server.
#[derive(Clone, Copy, Debug)]
pub struct PortPlan {
    /// Address the player ports (telnet, web) listen on; health ports are on 127.0.0.1.
    pub bind: IpAddr,
    pub telnet: Option<u16>,
    pub web: WebPort,
    /// Health ports from here: gateway 0, the game-server, the standby, then gateways 1, 2, …
    pub health: Option<u16>,
}

/// Whether and where the gateways serve the web client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebPort {
    Off,
    /// A free port for each gateway.
    Free,
    /// Gateway `i` on this port + `i`.
    At(u16),
}

/// The ports one server listens on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    pub health: u16,
    pub telnet: Option<u16>,
    pub web: Option<u16>,
}

impl PortPlan {
    /// The ports of the server in `role` (free ones picked now).
    pub fn ports(&self, role: Role) -> Ports {
        let at_or_free = |base: Option<u16>, offset: u16| base.map_or_else(free_port, |p| p + offset);
        let health_offset = match role {
            Role::Gateway(0) => 0,
            Role::Game => 1,
            Role::Standby => 2,
            Role::Gateway(i) => 2 + i,
        };
        let health = at_or_free(self.health, health_offset);
        let Role::Gateway(i) = role else {
            return Ports {
                health,
                telnet: None,
                web: None,
            };
        };
        let web = match self.web {
            WebPort::Off => None,
            WebPort::Free => Some(free_port()),
            WebPort::At(p) => Some(p + i),
        };
        Ports {
            health,
            telnet: Some(at_or_free(self.telnet, i)),
            web,
        }
    }

    /// Whether [`PortPlan::ports`] picks a port of `role` afresh (so starting again after
    /// "Address already in use" can succeed).
    pub fn picks_free(&self, role: Role) -> bool {
        self.health.is_none() || (role.is_gateway() && (self.telnet.is_none() || self.web == WebPort::Free))
    }
}

/// What a server process is started with.
#[derive(Clone, Debug)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Secrets go here, never on the command line (which every user of the machine can read).
    pub env: Vec<(String, String)>,
}

/// Everything the servers of one stack share, and the flags each one gets.
#[derive(Clone, Debug)]
pub struct Wiring {
    pub binaries: Binaries,
    pub redis_url: String,
    pub brokers: String,
    pub fetch_wait_ms: u64,
    pub input_partitions: i32,
    pub output_partitions: i32,
    pub game_name: String,
    pub bind: IpAddr,
    pub drain_seconds: u64,
    pub lease_ttl_ms: u64,
    pub welcome_file: Option<PathBuf>,
    /// Extra flags of every connection-server, after the stack's own.
    pub gateway_args: Vec<String>,
    /// Extra flags of every game-server, after the stack's own.
    pub game_args: Vec<String>,
    /// The key sealing input lines between gateways and game-servers.
    pub input_key: String,
    /// The game-servers' key when it differs from the gateways' (a misconfiguration, on purpose).
    pub game_input_key: Option<String>,
}

impl Wiring {
    /// How to start the server in `role` on `ports`.
    pub fn launch(&self, role: Role, ports: Ports) -> Launch {
        let (program, mut args) = self.binaries.command(role.kind());
        args.extend(self.common_args(ports.health));
        match role {
            Role::Gateway(i) => args.extend(self.gateway_args(i, ports)),
            Role::Game => args.extend(self.game_args("game-a")),
            Role::Standby => args.extend(self.game_args("game-b")),
        }
        let key = match role {
            Role::Gateway(_) => &self.input_key,
            Role::Game | Role::Standby => self.game_input_key.as_ref().unwrap_or(&self.input_key),
        };
        Launch {
            program,
            args,
            env: vec![("MUSH_INPUT_KEY".to_owned(), key.clone())],
        }
    }

    /// How long a stop (SIGTERM) of the server in `role` may take before it is killed.
    pub fn stop_wait(&self, role: Role) -> Duration {
        match role {
            Role::Gateway(_) => Duration::from_secs(self.drain_seconds + 15),
            Role::Game | Role::Standby => Duration::from_secs(25),
        }
    }

    fn common_args(&self, health_port: u16) -> Vec<String> {
        vec![
            format!("--health-addr=127.0.0.1:{health_port}"),
            format!("--redis-url={}", self.redis_url),
            format!("--kafka-brokers={}", self.brokers),
            format!("--kafka-fetch-wait-ms={}", self.fetch_wait_ms),
            format!("--input-partitions={}", self.input_partitions),
            format!("--output-partitions={}", self.output_partitions),
            format!("--game-name={}", self.game_name),
        ]
    }

    fn gateway_args(&self, i: u16, ports: Ports) -> Vec<String> {
        let addr = |port: u16| SocketAddr::new(self.bind, port);
        let mut args = Vec::new();
        if let Some(telnet) = ports.telnet {
            args.push(format!("--telnet-addr={}", addr(telnet)));
        }
        args.push(format!("--gateway-name=gateway-{i}"));
        args.push(format!("--drain-seconds={}", self.drain_seconds));
        if let Some(web) = ports.web {
            args.push(format!("--web-addr={}", addr(web)));
        }
        args.extend(self.gateway_args.iter().cloned());
        args
    }

    fn game_args(&self, instance: &str) -> Vec<String> {
        let mut args = vec![
            format!("--instance-name={instance}"),
            format!("--lease-ttl-ms={}", self.lease_ttl_ms),
        ];
        if let Some(welcome) = &self.welcome_file {
            args.push(format!("--welcome-file={}", welcome.display()));
        }
        args.extend(self.game_args.iter().cloned());
        args
    }
}

/// The stack's input key, kept in `<dir>/input.key` (readable by its owner only) so a stack
/// started again in the same folder keeps it; made on first use.
pub fn input_key_in(dir: &Path) -> std::io::Result<String> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let path = dir.join("input.key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let key = text.trim().to_owned();
        return match mush_platform::sealing::InputKey::from_hex(&key) {
            Ok(_) => Ok(key),
            Err(e) => Err(std::io::Error::other(format!(
                "{} holds no input key ({e}): delete it to make a new one",
                path.display()
            ))),
        };
    }
    let key = mush_platform::sealing::InputKey::generate_hex();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("creating {}: {e}", path.display())))?;
    std::io::Write::write_all(&mut file, format!("{key}\n").as_bytes())?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(telnet: Option<u16>, web: WebPort, health: Option<u16>) -> PortPlan {
        PortPlan {
            bind: [127, 0, 0, 1].into(),
            telnet,
            web,
            health,
        }
    }

    #[test]
    fn fixed_ports_follow_mush_ups_layout() {
        let p = plan(Some(4201), WebPort::At(4280), Some(9101));
        let gateway = |i| p.ports(Role::Gateway(i));
        assert_eq!(
            gateway(0),
            Ports {
                health: 9101,
                telnet: Some(4201),
                web: Some(4280)
            }
        );
        assert_eq!(p.ports(Role::Game).health, 9102);
        assert_eq!(p.ports(Role::Standby).health, 9103);
        assert_eq!(
            gateway(2),
            Ports {
                health: 9105,
                telnet: Some(4203),
                web: Some(4282)
            }
        );
        assert!(!p.picks_free(Role::Gateway(0)) && !p.picks_free(Role::Game));
        assert_eq!(
            plan(None, WebPort::Off, Some(9101)).ports(Role::Gateway(0)).web,
            None
        );
    }

    #[test]
    fn free_ports_are_picked_again() {
        let p = plan(None, WebPort::Free, None);
        assert!(p.picks_free(Role::Gateway(0)) && p.picks_free(Role::Game));
        let gateway = p.ports(Role::Gateway(0));
        assert!(gateway.telnet.is_some() && gateway.web.is_some());
        assert!(plan(None, WebPort::Off, Some(9101)).picks_free(Role::Gateway(1)));
        assert!(!plan(None, WebPort::Off, Some(9101)).picks_free(Role::Game));
    }

    fn wiring() -> Wiring {
        Wiring {
            binaries: Binaries::Mush("/bin/mush".into()),
            redis_url: "redis://127.0.0.1:7000".into(),
            brokers: "127.0.0.1:9092".into(),
            fetch_wait_ms: 1,
            input_partitions: 8,
            output_partitions: 16,
            game_name: "MUSH".into(),
            bind: [127, 0, 0, 1].into(),
            drain_seconds: 2,
            lease_ttl_ms: 2000,
            welcome_file: None,
            gateway_args: vec!["--max-connections=5".into()],
            game_args: vec![],
            input_key: "gateway-key".into(),
            game_input_key: Some("game-key".into()),
        }
    }

    #[test]
    fn a_gateway_gets_the_shared_flags_its_own_then_the_extra_ones() {
        let ports = Ports {
            health: 9101,
            telnet: Some(4201),
            web: Some(4280),
        };
        let launch = wiring().launch(Role::Gateway(0), ports);
        assert_eq!(launch.program, PathBuf::from("/bin/mush"));
        assert_eq!(
            launch.args,
            [
                "connection-server",
                "--health-addr=127.0.0.1:9101",
                "--redis-url=redis://127.0.0.1:7000",
                "--kafka-brokers=127.0.0.1:9092",
                "--kafka-fetch-wait-ms=1",
                "--input-partitions=8",
                "--output-partitions=16",
                "--game-name=MUSH",
                "--telnet-addr=127.0.0.1:4201",
                "--gateway-name=gateway-0",
                "--drain-seconds=2",
                "--web-addr=127.0.0.1:4280",
                "--max-connections=5",
            ]
        );
        assert_eq!(
            launch.env,
            [("MUSH_INPUT_KEY".to_owned(), "gateway-key".to_owned())]
        );
    }

    #[test]
    fn a_game_server_gets_its_instance_name_lease_and_key() {
        let ports = Ports {
            health: 9103,
            telnet: None,
            web: None,
        };
        let launch = wiring().launch(Role::Standby, ports);
        assert!(launch.args.contains(&"--instance-name=game-b".to_owned()));
        assert!(launch.args.contains(&"--lease-ttl-ms=2000".to_owned()));
        assert!(!launch.args.iter().any(|a| a.starts_with("--telnet-addr")));
        assert_eq!(launch.env, [("MUSH_INPUT_KEY".to_owned(), "game-key".to_owned())]);
    }

    #[test]
    fn the_input_key_is_kept_in_the_state_folder() {
        let dir = tempfile::tempdir().unwrap();
        let key = input_key_in(dir.path()).unwrap();
        assert_eq!(input_key_in(dir.path()).unwrap(), key);
        std::fs::write(dir.path().join("input.key"), "not a key").unwrap();
        assert!(input_key_in(dir.path()).is_err());
    }
}
