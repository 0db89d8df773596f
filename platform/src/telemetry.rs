//! Logging and tracing set-up shared by every process.
//!
//! Logs go to stdout, as JSON (for log collectors) or pretty (for people), filtered by `RUST_LOG`
//! (default `info`). When an OTLP endpoint is configured, spans are also exported over OTLP/HTTP,
//! and [`inject_current`] / [`set_parent`] carry the W3C trace context in our messages so one
//! command can be followed from the gateway through the game and back.
//!
//! Spans made only for traces (one per input line in the gateway, one per applied input in the
//! game) are made when [`exporting`] says so: with no exporter, an input costs no span, no
//! context and no allocation.

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing_opentelemetry::{OpenTelemetryLayer, OpenTelemetrySpanExt};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use mush_protocol::TraceContext;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Telemetry flags shared by every binary (flatten into the binary's own `clap` struct).
#[derive(Debug, Clone, clap::Args)]
pub struct TelemetryArgs {
    /// Log line format.
    #[arg(long, env = "MUSH_LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,
    /// OTLP/HTTP endpoint for traces (e.g. http://otel-collector:4318/v1/traces); none = no export.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
}

/// Keeps the exporter alive; flushes pending spans when dropped.
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("trace exporter shutdown: {e}");
        }
    }
}

/// Installs the global subscriber. Call once, at the start of `main`.
pub fn init(service: &str, args: &TelemetryArgs) -> anyhow::Result<TelemetryGuard> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (fmt_json, fmt_pretty) = match args.log_format {
        LogFormat::Json => (
            Some(tracing_subscriber::fmt::layer().json().with_current_span(true)),
            None,
        ),
        LogFormat::Pretty => (
            None,
            Some(
                tracing_subscriber::fmt::layer()
                    .compact()
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout())),
            ),
        ),
    };
    let provider = match &args.otlp_endpoint {
        Some(endpoint) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_endpoint(endpoint)
                .build()
                .map_err(|e| anyhow::anyhow!("OTLP exporter for {endpoint}: {e}"))?;
            let resource = opentelemetry_sdk::Resource::builder()
                .with_service_name(service.to_owned())
                .build();
            Some(
                SdkTracerProvider::builder()
                    .with_batch_exporter(exporter)
                    .with_resource(resource)
                    .build(),
            )
        }
        None => None,
    };
    let otel = provider.as_ref().map(|p| otel_layer(p, service));
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt_json)
        .with(fmt_pretty)
        .with(otel)
        .try_init()
        .map_err(|e| anyhow::anyhow!("installing the log subscriber: {e}"))?;
    Ok(TelemetryGuard { provider })
}

/// Set once spans are exported (see [`otel_layer`]).
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether spans are exported: only then are spans made for traces alone worth their cost.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// The layer that turns `tracing` spans into OpenTelemetry spans of `provider`; from now on
/// [`exporting`] is true and trace context is read and written as W3C `traceparent`.
pub fn otel_layer<S>(provider: &SdkTracerProvider, service: &str) -> OpenTelemetryLayer<S, SdkTracer>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    EXPORTING.store(true, Ordering::Relaxed);
    tracing_opentelemetry::layer().with_tracer(provider.tracer(service.to_owned()))
}

/// The current span's trace context, to put in an outgoing message. Empty when not exporting.
pub fn inject_current() -> TraceContext {
    if !exporting() {
        return TraceContext::new();
    }
    let cx = tracing::Span::current().context();
    let mut carrier = TraceContext::new();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut carrier));
    carrier
}

/// Makes `span` a child of the trace a received message carried.
pub fn set_parent(span: &tracing::Span, carrier: &TraceContext) {
    if carrier.is_empty() || !exporting() || span.is_disabled() {
        return;
    }
    let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(carrier));
    let _ = span.set_parent(cx);
}
