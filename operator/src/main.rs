//! `mush-operator`: run the controller (default), print the CRD, or render a MushGame offline.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use kube::Client;
use mush_operator::controller::{self, Context};
use mush_operator::crd::MushGame;
use mush_operator::leader::LeaderElector;
use mush_operator::metrics::OperatorMetrics;
use mush_operator::render;
use mush_platform::Shutdown;
use mush_platform::health::{Flag, Health};
use mush_platform::telemetry::{self, TelemetryArgs};
use prometheus::Registry;
use serde::Deserialize as _;
use tokio::net::TcpListener;
use tracing::info;

#[derive(Debug, Parser)]
#[command(
    name = "mush-operator",
    version,
    about = "Runs MushGame resources on Kubernetes."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the controller (the default).
    Run,
    /// Print the MushGame CRD as YAML (`mush-operator crd | kubectl apply -f -`).
    Crd,
    /// Print every object the operator would create for a MushGame, as a YAML stream. No cluster needed.
    Render {
        /// A file with one or more MushGame documents (`-` for standard input).
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
        /// Namespace to render into when the MushGame names none.
        #[arg(short = 'n', long, default_value = "default")]
        namespace: String,
        /// The operator's namespace (its pods may read the game pods' metrics port).
        #[arg(long, default_value = render::DEFAULT_OPERATOR_NAMESPACE)]
        operator_namespace: String,
    },
}

#[derive(Debug, Clone, clap::Args)]
struct RunArgs {
    /// Address of /livez, /readyz and /metrics.
    #[arg(long, env = "MUSH_HEALTH_ADDR", default_value = "0.0.0.0:9100", global = true)]
    health_addr: SocketAddr,
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "MUSH_WATCH_NAMESPACE", global = true)]
    watch_namespace: Option<String>,
    /// Namespace of the leader-election Lease (default: the operator's own namespace).
    #[arg(long, env = "POD_NAMESPACE", global = true)]
    lease_namespace: Option<String>,
    /// Name of the leader-election Lease.
    #[arg(long, default_value = "mush-operator", global = true)]
    lease_name: String,
    /// Seconds a leader's Lease lasts without renewal.
    #[arg(long, default_value_t = 15, global = true)]
    lease_seconds: u64,
    /// This replica's identity in the Lease and in Events (default: the pod's host name).
    #[arg(long, env = "POD_NAME", global = true)]
    identity: Option<String>,
    /// Read players and connections from the pods' /status documents through the API server's pod proxy.
    #[arg(long, env = "MUSH_SCRAPE_POD_METRICS", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    scrape_pod_metrics: bool,
    #[command(flatten)]
    telemetry: TelemetryArgs,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Crd) => {
            print!("{}", mush_operator::crd::crd_yaml());
            Ok(())
        }
        Some(Command::Render {
            file,
            namespace,
            operator_namespace,
        }) => {
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).context("reading standard input")?
            } else {
                std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?
            };
            let options = render::RenderOptions { operator_namespace };
            print!("{}", render_text(&text, &namespace, &options)?);
            Ok(())
        }
        Some(Command::Run) | None => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the runtime")?
            .block_on(run(cli.run)),
    }
}

/// Renders every MushGame document in `text`.
fn render_text(text: &str, namespace: &str, options: &render::RenderOptions) -> anyhow::Result<String> {
    let mut out = String::new();
    let mut found = 0;
    for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let value = serde_yaml::Value::deserialize(doc).with_context(|| format!("document {}", i + 1))?;
        if value.is_null() || value.get("kind").and_then(|k| k.as_str()) != Some("MushGame") {
            continue;
        }
        let mut game: MushGame = serde_yaml::from_value(value)
            .with_context(|| format!("document {} is not a valid MushGame", i + 1))?;
        if game.metadata.namespace.is_none() {
            game.metadata.namespace = Some(namespace.to_owned());
        }
        let rendered = render::render_with(&game, options)?;
        out.push_str(&rendered.to_yaml());
        found += 1;
    }
    if found == 0 {
        bail!("no MushGame document found");
    }
    Ok(out)
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let _telemetry = telemetry::init("mush-operator", &args.telemetry)?;
    let shutdown = Shutdown::new();
    shutdown
        .listen_for_signals()
        .context("installing signal handlers")?;

    let registry = Registry::new();
    let metrics = OperatorMetrics::new(&registry);
    let ready = Flag::new("starting");
    let health = Health::new(registry).readiness_flag("api", &ready);
    let listener = TcpListener::bind(args.health_addr)
        .await
        .with_context(|| format!("binding the health address {}", args.health_addr))?;
    shutdown.spawn(Health::serve(health.router(), listener, shutdown.clone()));
    info!(health = %args.health_addr, namespace = ?args.watch_namespace, "mush-operator starting");

    let client = Client::try_default()
        .await
        .context("connecting to the Kubernetes API (in a pod, or through KUBECONFIG)")?;
    controller::check_crd_installed(&client).await.context(
        "listing MushGames failed: is the CRD installed? (`mush-operator crd | kubectl apply -f -`)",
    )?;
    ready.set_ready();

    let identity = args.identity.clone().unwrap_or_else(|| {
        std::env::var("HOSTNAME").unwrap_or_else(|_| format!("mush-operator-{}", std::process::id()))
    });
    let lease_namespace = args
        .lease_namespace
        .clone()
        .unwrap_or_else(|| client.default_namespace().to_owned());
    let elector = LeaderElector::new(
        client.clone(),
        &lease_namespace,
        &args.lease_name,
        &identity,
        Duration::from_secs(args.lease_seconds),
    );
    tokio::select! {
        _ = elector.acquire() => {}
        _ = shutdown.triggered() => return Ok(()),
    }
    metrics.leader.set(1);

    // Stop the controller on SIGTERM or when leadership is lost, whichever comes first.
    let stop = shutdown.child_token();
    {
        let elector = elector.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            elector.keep().await;
            stop.cancel();
        });
    }
    let mut ctx = Context::new(client, metrics.clone(), Some(identity), args.scrape_pod_metrics);
    // The Lease lives in the operator's own namespace (POD_NAMESPACE in the install).
    ctx.render_options.operator_namespace = lease_namespace.clone();
    let ctx = Arc::new(ctx);
    controller::run(ctx, args.watch_namespace.clone(), async move {
        stop.cancelled().await
    })
    .await;
    metrics.leader.set(0);
    elector.release().await;
    let lost = !shutdown.is_triggered();
    shutdown.trigger();
    shutdown.wait(Duration::from_secs(5)).await;
    if lost {
        bail!("lost the leader Lease; exiting so that a fresh start stands as a candidate again");
    }
    Ok(())
}
