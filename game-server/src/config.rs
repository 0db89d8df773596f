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
    /// The master room: the `$`-commands of the things in it work everywhere (global commands,
    /// PennMUSH's master room), e.g. `#2`. None unless set.
    #[arg(long, env = "MUSH_MASTER_ROOM")]
    pub master_room: Option<crate::game::ObjectId>,
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
    pub budgets: BudgetArgs,
    /// For tests only: lines `@fault panic` and `@fault hang <ms>` make the game-server fail on
    /// purpose (to prove that poison inputs are skipped and a stuck loop is restarted).
    #[arg(long, env = "MUSH_FAULT_INJECTION", default_value_t = false, hide = true)]
    pub fault_injection: bool,
    #[command(flatten)]
    pub input_key: mush_platform::sealing::InputKeyArgs,
    #[command(flatten)]
    pub redis: RedisArgs,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

/// What one line, one player and one event may cost the game (see `game::budget`).
#[derive(Debug, Clone, clap::Args)]
pub struct BudgetArgs {
    /// Fuel one input line may burn: 1 per command run and per function call, 1 per KiB of text
    /// a function returns, 1 per 16 bytes of output.
    #[arg(long, env = "MUSH_FUEL_PER_LINE", default_value_t = 10_000)]
    pub fuel_per_line: u32,
    /// Fuel a player regains per second across lines.
    #[arg(long, env = "MUSH_FUEL_PER_SECOND", default_value_t = 10_000)]
    pub fuel_per_second: u32,
    /// Fuel a player may save up.
    #[arg(long, env = "MUSH_FUEL_BURST", default_value_t = 20_000)]
    pub fuel_burst: u32,
    /// Bytes of output one line may send.
    #[arg(long, env = "MUSH_OUTPUT_BYTES_PER_LINE", default_value_t = 64 * 1024)]
    pub output_bytes_per_line: usize,
    /// Objects one line may create.
    #[arg(long, env = "MUSH_OBJECTS_PER_LINE", default_value_t = 20)]
    pub objects_per_line: u32,
    /// Objects one player may own (0 = no quota).
    #[arg(long, env = "MUSH_OBJECT_QUOTA", default_value_t = 1_000)]
    pub object_quota: u32,
    /// Wall-clock milliseconds one line may take before it is stopped.
    #[arg(long, env = "MUSH_LINE_TIME_MS", default_value_t = 250)]
    pub line_time_ms: u64,
    /// GMCP packages remembered per connection.
    #[arg(long, env = "MUSH_GMCP_PACKAGES", default_value_t = 64)]
    pub gmcp_packages: usize,
    /// Times an event may be started without finishing (the game-server crashed, hung or was
    /// killed while applying it) before it is skipped with a message to its player.
    #[arg(long, env = "MUSH_POISON_ATTEMPTS", default_value_t = 3)]
    pub poison_attempts: u32,
    /// An event still being applied after this many milliseconds is recorded as an attempt (so a
    /// crash in it counts); `/livez` fails after `--stuck-seconds`.
    #[arg(long, env = "MUSH_SLOW_EVENT_MS", default_value_t = 500)]
    pub slow_event_ms: u64,
    /// `/livez` fails when the input loop has been on one event this long.
    #[arg(long, env = "MUSH_STUCK_SECONDS", default_value_t = 15)]
    pub stuck_seconds: u64,
    /// Largest output message produced, in bytes (below the broker's message.max.bytes); bigger
    /// output is split.
    #[arg(long, env = "MUSH_MAX_MESSAGE_BYTES", default_value_t = 512 * 1024)]
    pub max_message_bytes: usize,
    /// Threads hashing passwords, off the input loop.
    #[arg(long, env = "MUSH_HASH_WORKERS", default_value_t = 2)]
    pub hash_workers: usize,
}

impl BudgetArgs {
    pub fn validate(&self) -> Result<(), String> {
        if self.fuel_per_line < 100 || self.fuel_per_second == 0 {
            return Err("--fuel-per-line must be at least 100 and --fuel-per-second at least 1".into());
        }
        if self.output_bytes_per_line < 4096 {
            return Err("--output-bytes-per-line must be at least 4096".into());
        }
        if self.line_time_ms == 0 || self.slow_event_ms == 0 {
            return Err("--line-time-ms and --slow-event-ms must be at least 1".into());
        }
        if self.stuck_seconds * 1000 <= self.line_time_ms.max(self.slow_event_ms) {
            return Err("--stuck-seconds must be longer than --line-time-ms and --slow-event-ms".into());
        }
        if self.poison_attempts == 0 {
            return Err("--poison-attempts must be at least 1".into());
        }
        if !(16 * 1024..=64 * 1024 * 1024).contains(&self.max_message_bytes) {
            return Err("--max-message-bytes must be between 16384 and 67108864".into());
        }
        if !(1..=64).contains(&self.hash_workers) {
            return Err("--hash-workers must be between 1 and 64".into());
        }
        Ok(())
    }

    /// The game's limits.
    pub fn limits(&self) -> crate::game::Limits {
        crate::game::Limits {
            fuel_per_line: self.fuel_per_line,
            fuel_per_second: self.fuel_per_second,
            fuel_burst: self.fuel_burst.max(self.fuel_per_line),
            output_bytes_per_line: self.output_bytes_per_line,
            objects_per_line: self.objects_per_line,
            object_quota: self.object_quota,
            time_per_line: Some(Duration::from_millis(self.line_time_ms)),
            gmcp_packages: self.gmcp_packages,
        }
    }
}

fn default_name() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "game".to_owned())
}

impl Config {
    pub fn validate(&self) -> Result<(), String> {
        self.kafka.validate()?;
        self.budgets.validate()?;
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

    /// How long one input may run before the process counts as not live.
    pub fn stuck_time(&self) -> Duration {
        Duration::from_secs(self.budgets.stuck_seconds)
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
            "health={} name={} redis={} kafka={} topics={}.* lease_ttl={}ms group={} fuel={}/line {}/s output={}B/line objects={}/line quota={} line_time={}ms poison_attempts={} hash_workers={}",
            self.health_addr,
            self.instance_name,
            self.redis.redacted_url(),
            self.kafka.brokers,
            self.kafka.topic_prefix,
            self.lease_ttl_ms,
            self.consumer_group,
            self.budgets.fuel_per_line,
            self.budgets.fuel_per_second,
            self.budgets.output_bytes_per_line,
            self.budgets.objects_per_line,
            self.budgets.object_quota,
            self.budgets.line_time_ms,
            self.budgets.poison_attempts,
            self.budgets.hash_workers
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
