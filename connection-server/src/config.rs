//! The gateway's configuration: flags with environment fallbacks, validated at start.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use mush_platform::bus::KafkaArgs;
use mush_platform::redis::RedisArgs;
use mush_platform::telemetry::TelemetryArgs;

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
    /// Input events held for one connection while Kafka is unreachable, before input is refused.
    #[arg(long, env = "MUSH_HELD_INPUT", default_value_t = 100)]
    pub held_input: usize,
    /// Offer MCCP2 compression to clients.
    #[arg(long, env = "MUSH_MCCP", default_value_t = true, action = clap::ArgAction::Set)]
    pub mccp: bool,
    #[command(flatten)]
    pub redis: RedisArgs,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
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
        if self.output_queue < 8 {
            return Err("--output-queue must be at least 8".into());
        }
        if self.held_input == 0 {
            return Err("--held-input must be at least 1".into());
        }
        if self.max_connections == 0 {
            return Err("--max-connections must be at least 1".into());
        }
        if self.gateway_name.trim().is_empty() {
            return Err("--gateway-name is empty".into());
        }
        Ok(())
    }

    pub fn drain_time(&self) -> Duration {
        Duration::from_secs(self.drain_seconds)
    }

    /// A one-line summary for the start-up log (no secrets).
    pub fn summary(&self) -> String {
        format!(
            "telnet={} health={} name={} redis={} kafka={} topics={}.* slots={} drain={}s max_line={} rate={}/s burst={}",
            self.telnet_addr,
            self.health_addr,
            self.gateway_name,
            self.redis.redacted_url(),
            self.kafka.brokers,
            self.kafka.topic_prefix,
            self.slots,
            self.drain_seconds,
            self.max_line_bytes,
            self.commands_per_second,
            self.command_burst
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
        c = parse(&["--max-line-bytes", "10"]);
        assert!(c.validate().unwrap_err().contains("--max-line-bytes"));
        c = parse(&["--kafka-linger-ms", "20"]);
        assert!(c.validate().unwrap_err().contains("linger"));
    }

    #[test]
    fn the_summary_hides_the_redis_password() {
        let c = parse(&["--redis-url", "redis://:hunter2@redis:6379"]);
        assert!(!c.summary().contains("hunter2"));
    }
}
