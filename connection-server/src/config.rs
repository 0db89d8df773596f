//! The gateway's configuration: flags with environment fallbacks, validated at start.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use mush_platform::bus::KafkaArgs;
use mush_platform::redis::RedisArgs;
use mush_platform::telemetry::TelemetryArgs;

use crate::limits::{InputLimits, InputPolicy, Rate};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "connection-server",
    version,
    about = "The MUSH gateway: holds players' telnet sockets."
)]
pub struct Config {
    /// Address players connect to with telnet.
    #[arg(long, env = "MUSH_TELNET_ADDR", default_value = "0.0.0.0:4201")]
    pub telnet_addr: SocketAddr,
    /// Address of the web client and its WebSocket (`/` and `/ws`) over plain HTTP; off unless set.
    #[arg(long, env = "MUSH_WEB_ADDR")]
    pub web_addr: Option<SocketAddr>,
    /// Pages whose scripts may open the WebSocket, by origin (`https://play.example.org`),
    /// comma-separated. Empty: any page may. A browser always names the page's origin, so a
    /// list keeps other sites' pages from opening sessions in a visitor's browser; clients that
    /// are not browsers send no origin and are let in.
    #[arg(long, env = "MUSH_WEB_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub web_allowed_origins: Vec<String>,
    /// Address players connect to with telnet over TLS (a second port, the MUD convention); off
    /// unless set. Needs --tls-cert-file and --tls-key-file.
    #[arg(long, env = "MUSH_TELNET_TLS_ADDR")]
    pub telnet_tls_addr: Option<SocketAddr>,
    /// Address of the web client over HTTPS, its WebSocket as `wss://`; off unless set. Needs
    /// --tls-cert-file and --tls-key-file.
    #[arg(long, env = "MUSH_WEB_TLS_ADDR")]
    pub web_tls_addr: Option<SocketAddr>,
    /// PEM certificate chain for the TLS ports (`tls.crt` of a `kubernetes.io/tls` Secret).
    #[arg(long, env = "MUSH_TLS_CERT_FILE")]
    pub tls_cert_file: Option<std::path::PathBuf>,
    /// PEM private key for the TLS ports (`tls.key` of a `kubernetes.io/tls` Secret).
    #[arg(long, env = "MUSH_TLS_KEY_FILE")]
    pub tls_key_file: Option<std::path::PathBuf>,
    /// How often the certificate and key files are read again (a renewed certificate is used for
    /// new connections without a restart).
    #[arg(long, env = "MUSH_TLS_RELOAD_SECONDS", default_value_t = 10)]
    pub tls_reload_seconds: u64,
    /// Address of /livez, /readyz, /metrics and POST /drain.
    #[arg(long, env = "MUSH_HEALTH_ADDR", default_value = "0.0.0.0:9100")]
    pub health_addr: SocketAddr,
    /// This gateway's name in records and logs (the pod name in Kubernetes).
    #[arg(long, env = "MUSH_GATEWAY_NAME", default_value_t = default_name())]
    pub gateway_name: String,
    /// The game's name, as MSSP crawlers see it.
    #[arg(long, env = "MUSH_GAME_NAME", default_value = "MUSH")]
    pub game_name: String,
    /// How many gateways can run at once (slots leased in Redis).
    #[arg(long, env = "MUSH_GATEWAY_SLOTS", default_value_t = 64)]
    pub slots: u16,
    /// Slot lease time-to-live (ms); renewed every third of it.
    #[arg(long, env = "MUSH_SLOT_TTL_MS", default_value_t = 10_000)]
    pub slot_ttl_ms: u64,
    /// Token that `POST /drain` must carry (`Authorization: Bearer <token>`). Without one,
    /// `POST /drain` is off: the health port is reachable by other pods, and draining closes
    /// every player's connection. SIGTERM drains too.
    #[arg(long, env = "MUSH_DRAIN_TOKEN", hide_env_values = true)]
    pub drain_token: Option<String>,
    /// Longest wait for players to leave when draining, before the rest are closed.
    #[arg(long, env = "MUSH_DRAIN_SECONDS", default_value_t = 30)]
    pub drain_seconds: u64,
    /// Close connections that stay at the login screen this long without typing (0 = never).
    #[arg(long, env = "MUSH_LOGIN_IDLE_TIMEOUT_SECONDS", default_value_t = 300)]
    pub login_idle_timeout_seconds: u64,
    /// Close logged-in connections idle this long (0 = never).
    #[arg(long, env = "MUSH_IDLE_TIMEOUT_SECONDS", default_value_t = 0)]
    pub idle_timeout_seconds: u64,
    /// Longest input line kept; the rest is cut with a notice.
    #[arg(long, env = "MUSH_MAX_LINE_BYTES", default_value_t = 8192)]
    pub max_line_bytes: usize,
    /// Sustained commands per second per connection.
    #[arg(long, env = "MUSH_COMMANDS_PER_SECOND", default_value_t = 20)]
    pub commands_per_second: u32,
    /// Commands a connection may send at once before the rate applies; also how many are held
    /// back (delayed) before further ones are refused.
    #[arg(long, env = "MUSH_COMMAND_BURST", default_value_t = 60)]
    pub command_burst: u32,
    /// Raw bytes per second a logged-in connection may send; over it the gateway stops reading
    /// its socket until the budget refills (TCP pushes back on the client).
    #[arg(long, env = "MUSH_INPUT_BYTES_PER_SECOND", default_value_t = 16_384)]
    pub input_bytes_per_second: u32,
    /// Raw bytes a logged-in connection may send at once before the byte rate applies.
    #[arg(long, env = "MUSH_INPUT_BYTES_BURST", default_value_t = 65_536)]
    pub input_bytes_burst: u32,
    /// Events per second (lines, telnet subnegotiations, option changes) before login.
    #[arg(long, env = "MUSH_LOGIN_COMMANDS_PER_SECOND", default_value_t = 4)]
    pub login_commands_per_second: u32,
    /// Events at once before login. A full-featured client's opening negotiation (window
    /// size, terminal type cycle, charset, GMCP hello, compression) is about 20 events, which
    /// must fit without a loss.
    #[arg(long, env = "MUSH_LOGIN_COMMAND_BURST", default_value_t = 32)]
    pub login_command_burst: u32,
    /// Raw bytes per second a connection may send before login.
    #[arg(long, env = "MUSH_LOGIN_INPUT_BYTES_PER_SECOND", default_value_t = 2048)]
    pub login_input_bytes_per_second: u32,
    /// Raw bytes a connection may send at once before login.
    #[arg(long, env = "MUSH_LOGIN_INPUT_BYTES_BURST", default_value_t = 8192)]
    pub login_input_bytes_burst: u32,
    /// Strikes (lines refused, events dropped, negotiation answers over budget) within the
    /// strike window that disconnect a logged-in connection (0 = never).
    #[arg(long, env = "MUSH_STRIKE_LIMIT", default_value_t = 50)]
    pub strike_limit: u32,
    /// Strikes within the strike window that disconnect a connection before login (0 = never).
    #[arg(long, env = "MUSH_LOGIN_STRIKE_LIMIT", default_value_t = 20)]
    pub login_strike_limit: u32,
    /// The sliding window strikes are counted in.
    #[arg(long, env = "MUSH_STRIKE_WINDOW_SECONDS", default_value_t = 10)]
    pub strike_window_seconds: u64,
    /// A connection whose reading stood paused by its byte budget for longer than this within
    /// twice this time is disconnected (0 = never).
    #[arg(long, env = "MUSH_MAX_INPUT_PAUSED_SECONDS", default_value_t = 30)]
    pub max_input_paused_seconds: u64,
    /// A connection must log in within this time from accept (or from logging out), typing or
    /// not (0 = no deadline).
    #[arg(long, env = "MUSH_LOGIN_DEADLINE_SECONDS", default_value_t = 180)]
    pub login_deadline_seconds: u64,
    /// Open connections allowed per client address (0 = no limit).
    #[arg(long, env = "MUSH_MAX_CONNECTIONS_PER_IP", default_value_t = 20)]
    pub max_connections_per_ip: u32,
    /// New connections allowed per client address per minute (0 = no limit).
    #[arg(long, env = "MUSH_CONNECTIONS_PER_IP_PER_MINUTE", default_value_t = 120)]
    pub connections_per_ip_per_minute: u32,
    /// Open connections allowed in all.
    #[arg(long, env = "MUSH_MAX_CONNECTIONS", default_value_t = 20_000)]
    pub max_connections: usize,
    /// Messages queued for one connection before it counts as not reading and is closed.
    #[arg(long, env = "MUSH_OUTPUT_QUEUE", default_value_t = 512)]
    pub output_queue: usize,
    /// Bytes of output queued (or being written) for one connection before it counts as not
    /// reading and is closed. A message alone in the queue always fits.
    #[arg(long, env = "MUSH_OUTPUT_QUEUE_BYTES", default_value_t = 262_144)]
    pub output_queue_bytes: usize,
    /// Input events held for one connection while Kafka is unreachable, before input is refused.
    #[arg(long, env = "MUSH_HELD_INPUT", default_value_t = 100)]
    pub held_input: usize,
    /// Bytes of input events held for one connection while Kafka is unreachable, before input
    /// is refused. One event alone always fits.
    #[arg(long, env = "MUSH_HELD_INPUT_BYTES", default_value_t = 131_072)]
    pub held_input_bytes: usize,
    /// Bytes the gateway may hold for all its connections (queued output, unacknowledged
    /// input, lines waiting for the event budget, input being parsed). Over it, sessions stop
    /// reading their sockets and output waits in Kafka until it falls.
    #[arg(long, env = "MUSH_MEMORY_BUDGET_BYTES", default_value_t = 64 << 20)]
    pub memory_budget_bytes: usize,
    /// Offer MCCP2 compression to clients.
    #[arg(long, env = "MUSH_MCCP", default_value_t = true, action = clap::ArgAction::Set)]
    pub mccp: bool,
    #[command(flatten)]
    pub input_key: mush_platform::sealing::InputKeyArgs,
    #[command(flatten)]
    pub redis: RedisArgs,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

fn shown(addr: Option<SocketAddr>) -> String {
    addr.map_or_else(|| "off".to_owned(), |a| a.to_string())
}

fn default_name() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "gateway".to_owned())
}

impl Config {
    /// Refuses settings that cannot work, saying which flag to fix.
    pub fn validate(&self) -> Result<(), String> {
        self.kafka.validate()?;
        if self.slots == 0 || self.slots > mush_protocol::handle::MAX_SLOT + 1 {
            return Err(format!(
                "--slots must be 1..={}, not {}",
                mush_protocol::handle::MAX_SLOT + 1,
                self.slots
            ));
        }
        if self.slot_ttl_ms < 1000 {
            return Err("--slot-ttl-ms must be at least 1000".into());
        }
        if !(64..=1 << 20).contains(&self.max_line_bytes) {
            return Err("--max-line-bytes must be between 64 and 1048576".into());
        }
        if self.commands_per_second == 0 || self.command_burst == 0 {
            return Err("--commands-per-second and --command-burst must be at least 1".into());
        }
        if self.input_bytes_per_second < 64
            || self.input_bytes_burst < 512
            || self.login_input_bytes_per_second < 64
            || self.login_input_bytes_burst < 512
        {
            return Err(
                "--input-bytes-per-second and --login-input-bytes-per-second must be at least 64, \
                 --input-bytes-burst and --login-input-bytes-burst at least 512"
                    .into(),
            );
        }
        if self.login_commands_per_second == 0 || self.login_command_burst == 0 {
            return Err("--login-commands-per-second and --login-command-burst must be at least 1".into());
        }
        if self.strike_window_seconds == 0 {
            return Err("--strike-window-seconds must be at least 1".into());
        }
        if self.output_queue_bytes < 4096 {
            return Err("--output-queue-bytes must be at least 4096".into());
        }
        if self.held_input_bytes < 1024 {
            return Err("--held-input-bytes must be at least 1024".into());
        }
        if self.memory_budget_bytes < 1 << 20 {
            return Err("--memory-budget-bytes must be at least 1048576 (1 MiB)".into());
        }
        if self.output_queue < 8 {
            return Err("--output-queue must be at least 8".into());
        }
        if self.held_input == 0 {
            return Err("--held-input must be at least 1".into());
        }
        if self.max_connections == 0 {
            return Err("--max-connections must be at least 1".into());
        }
        let tls_ports = self.telnet_tls_addr.is_some() || self.web_tls_addr.is_some();
        if tls_ports && (self.tls_cert_file.is_none() || self.tls_key_file.is_none()) {
            return Err(
                "--telnet-tls-addr and --web-tls-addr need --tls-cert-file and --tls-key-file".into(),
            );
        }
        if self.tls_reload_seconds == 0 {
            return Err("--tls-reload-seconds must be at least 1".into());
        }
        if self.gateway_name.trim().is_empty() {
            return Err("--gateway-name is empty".into());
        }
        Ok(())
    }

    /// The certificate and key files, when the TLS ports are on.
    pub fn tls_files(&self) -> Option<crate::tls::TlsFiles> {
        if self.telnet_tls_addr.is_none() && self.web_tls_addr.is_none() {
            return None;
        }
        Some(crate::tls::TlsFiles {
            cert: self.tls_cert_file.clone()?,
            key: self.tls_key_file.clone()?,
        })
    }

    /// The largest WebSocket message a browser may send: the longest line plus room for the
    /// JSON around it.
    pub fn max_web_message_bytes(&self) -> usize {
        self.max_line_bytes + 1024
    }

    pub fn drain_time(&self) -> Duration {
        Duration::from_secs(self.drain_seconds)
    }

    /// The per-connection input policy these settings make.
    pub fn input_policy(&self) -> InputPolicy {
        InputPolicy {
            before_login: InputLimits {
                events: Rate {
                    per_second: self.login_commands_per_second,
                    burst: self.login_command_burst,
                },
                bytes: Rate {
                    per_second: self.login_input_bytes_per_second,
                    burst: self.login_input_bytes_burst,
                },
                strikes: self.login_strike_limit,
            },
            logged_in: InputLimits {
                events: Rate {
                    per_second: self.commands_per_second,
                    burst: self.command_burst,
                },
                bytes: Rate {
                    per_second: self.input_bytes_per_second,
                    burst: self.input_bytes_burst,
                },
                strikes: self.strike_limit,
            },
            strike_window: Duration::from_secs(self.strike_window_seconds),
            max_paused: Duration::from_secs(self.max_input_paused_seconds),
        }
    }

    /// A one-line summary for the start-up log (no secrets).
    pub fn summary(&self) -> String {
        format!(
            "telnet={} telnet_tls={} web={} web_tls={} web_origins={} health={} name={} redis={} kafka={} topics={}.* slots={} drain={}s max_line={} \
             rate={}/s burst={} bytes={}/s burst={} login: rate={}/s burst={} bytes={}/s burst={} \
             deadline={}s strikes={}/{} per {}s max_paused={}s output_queue={}msgs/{}B \
             held_input={}/{}B memory_budget={}B",
            self.telnet_addr,
            shown(self.telnet_tls_addr),
            shown(self.web_addr),
            shown(self.web_tls_addr),
            if self.web_allowed_origins.is_empty() {
                "any".to_owned()
            } else {
                self.web_allowed_origins.join(",")
            },
            self.health_addr,
            self.gateway_name,
            self.redis.redacted_url(),
            self.kafka.brokers,
            self.kafka.topic_prefix,
            self.slots,
            self.drain_seconds,
            self.max_line_bytes,
            self.commands_per_second,
            self.command_burst,
            self.input_bytes_per_second,
            self.input_bytes_burst,
            self.login_commands_per_second,
            self.login_command_burst,
            self.login_input_bytes_per_second,
            self.login_input_bytes_burst,
            self.login_deadline_seconds,
            self.strike_limit,
            self.login_strike_limit,
            self.strike_window_seconds,
            self.max_input_paused_seconds,
            self.output_queue,
            self.output_queue_bytes,
            self.held_input,
            self.held_input_bytes,
            self.memory_budget_bytes,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Config {
        Config::try_parse_from(std::iter::once("connection-server").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn defaults_are_valid() {
        let c = parse(&[]);
        assert_eq!(c.telnet_addr.port(), 4201);
        c.validate().unwrap();
    }

    #[test]
    fn bad_settings_name_the_flag_to_fix() {
        let mut c = parse(&["--slots", "0"]);
        assert!(c.validate().unwrap_err().contains("--slots"));
        c = parse(&["--web-tls-addr", "127.0.0.1:4243"]);
        assert!(c.validate().unwrap_err().contains("--tls-cert-file"));
        c = parse(&["--max-line-bytes", "10"]);
        assert!(c.validate().unwrap_err().contains("--max-line-bytes"));
        c = parse(&["--kafka-linger-ms", "20"]);
        assert!(c.validate().unwrap_err().contains("linger"));
        for (flag, value) in [
            ("--input-bytes-burst", "100"),
            ("--login-input-bytes-per-second", "10"),
            ("--login-command-burst", "0"),
            ("--strike-window-seconds", "0"),
            ("--output-queue-bytes", "100"),
            ("--held-input-bytes", "100"),
            ("--memory-budget-bytes", "1000"),
        ] {
            let err = parse(&[flag, value]).validate().unwrap_err();
            assert!(err.contains(flag), "{flag}={value}: {err}");
        }
    }

    #[test]
    fn budgets_have_env_fallbacks_and_show_in_the_summary() {
        let command = <Config as clap::CommandFactory>::command();
        for flag in [
            "input_bytes_per_second",
            "input_bytes_burst",
            "login_commands_per_second",
            "login_command_burst",
            "login_input_bytes_per_second",
            "login_input_bytes_burst",
            "strike_limit",
            "login_strike_limit",
            "strike_window_seconds",
            "max_input_paused_seconds",
            "login_deadline_seconds",
            "output_queue_bytes",
            "held_input_bytes",
            "memory_budget_bytes",
        ] {
            let arg = command.get_arguments().find(|a| a.get_id() == flag).unwrap();
            let env = arg.get_env().and_then(|e| e.to_str()).unwrap_or_default();
            assert_eq!(env, format!("MUSH_{}", flag.to_uppercase()), "{flag}");
        }
        let c = parse(&[
            "--memory-budget-bytes",
            "33554432",
            "--login-deadline-seconds",
            "77",
        ]);
        let s = c.summary();
        assert!(s.contains("deadline=77s"), "{s}");
        assert!(s.contains("memory_budget=33554432B"), "{s}");
        assert!(
            s.contains("login: rate=4/s burst=32 bytes=2048/s burst=8192"),
            "{s}"
        );
        let p = c.input_policy();
        assert_eq!(
            p.logged_in.bytes,
            Rate {
                per_second: 16384,
                burst: 65536
            }
        );
        assert_eq!(p.before_login.strikes, 20);
        assert_eq!(p.max_paused, Duration::from_secs(30));
    }

    #[test]
    fn the_summary_hides_the_redis_password() {
        let c = parse(&["--redis-url", "redis://:hunter2@redis:6379"]);
        assert!(!c.summary().contains("hunter2"));
    }
}
