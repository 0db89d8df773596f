use clap::Parser;
use mush_game_server::config::Config;

/// At least two runtime threads, whatever the CPU limit: while one applies an input, the other
/// keeps answering `/livez` and recording slow inputs.
fn main() -> anyhow::Result<()> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let config = Config::parse();
    let _telemetry = mush_platform::telemetry::init("game-server", &config.telemetry)?;
    if let Err(e) = mush_game_server::server::run(config).await {
        tracing::error!(error = %format!("{e:#}"), "game-server failed");
        return Err(e);
    }
    Ok(())
}
