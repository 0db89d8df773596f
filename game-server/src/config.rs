//! The game-server's configuration: flags with environment fallbacks, validated at start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use mush_platform::bus::KafkaArgs;
use mush_platform::redis::RedisArgs;
use mush_platform::telemetry::TelemetryArgs;

/// Shown to every new connection when no welcome file is given.
pub const DEFAULT_WELCOME: &str = "\
Welcome to the MUSH.

  connect <name> <password>   to play an existing character
  create <name> <password>    to make a new one
  WHO                         to see who is on
  QUIT                        to leave
";

#[derive(Debug, Clone, Parser)]
#[command(
    name = "game-server",
    version,
    about = "The MUSH game-server: runs the game behind the gateways."
)]
pub struct Config {
    /// Address of /livez, /readyz and /metrics.
    #[arg(long, env = "MUSH_HEALTH_ADDR", default_value = "0.0.0.0:9100")]
    pub health_addr: SocketAddr,
    /// This instance's name in logs and in the leadership lease (the pod name in Kubernetes).
    #[arg(long, env = "MUSH_INSTANCE_NAME", default_value_t = default_name())]
    pub instance_name: String,
    /// The game's name.
    #[arg(long, env = "MUSH_GAME_NAME", default_value = "MUSH")]
    pub game_name: String,
    /// A file whose text greets every new connection.
    #[arg(long, env = "MUSH_WELCOME_FILE")]
    pub welcome_file: Option<PathBuf>,
    /// Leadership lease time-to-live (ms): a standby takes over at most this long after the
    /// leader dies. Renewed every third of it.
    #[arg(long, env = "MUSH_LEASE_TTL_MS", default_value_t = 3000)]
    pub lease_ttl_ms: u64,
    /// Kafka consumer group the applied offsets are committed under (for lag tools).
    #[arg(long, env = "MUSH_CONSUMER_GROUP", default_value = "mush-game")]
    pub consumer_group: String,
    /// How long a graceful stop may take before the process exits anyway.
    #[arg(long, env = "MUSH_STOP_GRACE_SECONDS", default_value_t = 20)]
    pub stop_grace_seconds: u64,
    #[command(flatten)]
    pub redis: RedisArgs,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

fn default_name() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "game".to_owned())
}

impl Config {
    pub fn validate(&self) -> Result<(), String> {
        self.kafka.validate()?;
        if self.lease_ttl_ms < 600 {
            return Err("--lease-ttl-ms must be at least 600".into());
        }
        if self.instance_name.trim().is_empty() {
            return Err("--instance-name is empty".into());
        }
        if let Some(f) = &self.welcome_file
            && !f.is_file()
        {
            return Err(format!("--welcome-file {} is not a readable file", f.display()));
        }
        Ok(())
    }

    pub fn lease_ttl(&self) -> Duration {
        Duration::from_millis(self.lease_ttl_ms)
    }

    /// The welcome text: the file's, or the default.
    pub fn welcome(&self) -> std::io::Result<String> {
        match &self.welcome_file {
            Some(f) => std::fs::read_to_string(f),
            None => Ok(DEFAULT_WELCOME.to_owned()),
        }
    }

    pub fn summary(&self) -> String {
        format!(
            "health={} name={} redis={} kafka={} topics={}.* lease_ttl={}ms group={}",
            self.health_addr,
            self.instance_name,
            self.redis.redacted_url(),
            self.kafka.brokers,
            self.kafka.topic_prefix,
            self.lease_ttl_ms,
            self.consumer_group
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Config {
        Config::try_parse_from(std::iter::once("game-server").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn defaults_are_valid_and_greet_with_the_default_text() {
        let c = parse(&[]);
        c.validate().unwrap();
        assert!(c.welcome().unwrap().contains("connect <name> <password>"));
    }

    #[test]
    fn a_missing_welcome_file_is_refused_by_name() {
        let c = parse(&["--welcome-file", "/nonexistent/welcome.txt"]);
        assert!(c.validate().unwrap_err().contains("/nonexistent/welcome.txt"));
    }

    #[test]
    fn the_summary_hides_the_redis_password() {
        assert!(
            !parse(&["--redis-url", "redis://:pw123@r:6379"])
                .summary()
                .contains("pw123")
        );
    }
}
