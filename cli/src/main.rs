//! `mush`: the user's entry point on one machine.
//!
//! * `mush up`: runs the whole stack (embedded Kafka-protocol broker, a private redis-server,
//!   one connection-server and one game-server as separate processes) and prints where to connect.
//! * `mush restart game-server [--kill]`: asks the running `mush up` to restart a process and
//!   returns once the new one is ready.
//! * `mush status`: what the running `mush up` runs.
//! * `mush bench <scenario>`: load-tests any telnet MUSH and prints figures.
//! * `mush connection-server …`, `mush game-server …`: the servers themselves, the same as the
//!   shipped binaries (`mush up` runs these when the shipped binaries are not beside it).

mod bench;
mod control;
mod game_alone;
mod gateways;
mod hostile;
mod up;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "mush",
    version,
    about = "Run, restart and measure the MUSH stack on one machine."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole stack locally.
    Up(up::UpArgs),
    /// Restart one process of the running stack and wait until the new one is ready.
    Restart(control::RestartArgs),
    /// Measure a telnet MUSH (ours or another) and print the figures.
    Bench(bench::BenchArgs),
    /// Show the processes of the running stack.
    Status(control::StatusArgs),
    /// Run a connection-server (gateway) in this process.
    #[command(name = "connection-server")]
    ConnectionServer(Box<mush_connection_server::config::Config>),
    /// Run a game-server in this process.
    #[command(name = "game-server")]
    GameServer(Box<mush_game_server::config::Config>),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Command::Up(args) => runtime.block_on(up::run(args)),
        Command::Restart(args) => runtime.block_on(control::restart(args)),
        Command::Status(args) => runtime.block_on(control::status(args)),
        Command::Bench(args) => runtime.block_on(bench::run(args)),
        Command::ConnectionServer(config) => {
            let _t = mush_platform::telemetry::init("connection-server", &config.telemetry)?;
            runtime.block_on(mush_connection_server::gateway::run(*config))
        }
        Command::GameServer(config) => {
            let _t = mush_platform::telemetry::init("game-server", &config.telemetry)?;
            runtime.block_on(mush_game_server::server::run(*config))
        }
    }
}
