use clap::Parser;
use mush_game_server::config::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let _telemetry = mush_platform::telemetry::init("game-server", &config.telemetry)?;
    if let Err(e) = mush_game_server::server::run(config).await {
        tracing::error!(error = %format!("{e:#}"), "game-server failed");
        return Err(e);
    }
    Ok(())
}
