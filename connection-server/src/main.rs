use clap::Parser;
use mush_connection_server::config::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let _telemetry = mush_platform::telemetry::init("connection-server", &config.telemetry)?;
    if let Err(e) = mush_connection_server::gateway::run(config).await {
        tracing::error!(error = %format!("{e:#}"), "connection-server failed");
        return Err(e);
    }
    Ok(())
}
