//! The health and metrics server every process runs (axum).
//!
//! * `GET /livez`: 200 while the process works (liveness checks, usually none).
//! * `GET /readyz`: 200 only when every readiness check passes within its own timeout; 503 with
//!   one line per check otherwise (`[+]redis ok`, `[-]kafka failed: …`), so `kubectl describe`
//!   and a person with curl both see why.
//! * `GET /metrics`: the process's Prometheus registry in the text format.
//! * `GET /status`: the figures the operator reads, as a typed JSON document
//!   ([`mush_protocol::figures::StatusDocument`]).
//!
//! Processes add routes of their own (e.g. `POST /drain`) by merging into [`Health::router`].

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus::{Encoder, Registry, TextEncoder};
use tokio::net::TcpListener;

use crate::shutdown::Shutdown;

type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
type CheckFn = Arc<dyn Fn() -> CheckFuture + Send + Sync>;

#[derive(Clone)]
struct Check {
    name: String,
    timeout: Duration,
    run: CheckFn,
}

/// A readiness condition the process sets itself (e.g. "accepting", "reconciled", "lease").
#[derive(Debug, Clone)]
pub struct Flag {
    state: Arc<Mutex<Result<(), String>>>,
}

impl Flag {
    /// A flag that starts not ready, with `reason`.
    pub fn new(reason: &str) -> Self {
        Self {
            state: Arc::new(Mutex::new(Err(reason.to_owned()))),
        }
    }

    pub fn set_ready(&self) {
        *self.state.lock().expect("flag lock") = Ok(());
    }

    pub fn set_not_ready(&self, reason: impl Into<String>) {
        *self.state.lock().expect("flag lock") = Err(reason.into());
    }

    pub fn get(&self) -> Result<(), String> {
        self.state.lock().expect("flag lock").clone()
    }

    pub fn is_ready(&self) -> bool {
        self.get().is_ok()
    }
}

/// Builder and state of the health server.
#[derive(Clone)]
pub struct Health {
    registry: Registry,
    readiness: Vec<Check>,
    liveness: Vec<Check>,
}

/// What one round of checks found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub lines: Vec<(String, Result<(), String>)>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.lines.iter().all(|(_, r)| r.is_ok())
    }

    /// The body served for this report.
    pub fn render(&self, what: &str) -> String {
        let mut out = String::new();
        for (name, result) in &self.lines {
            match result {
                Ok(()) => out.push_str(&format!("[+]{name} ok\n")),
                Err(e) => out.push_str(&format!("[-]{name} failed: {e}\n")),
            }
        }
        if self.ok() {
            out.push_str(&format!("{what} check passed\n"));
        } else {
            out.push_str(&format!("{what} check failed\n"));
        }
        out
    }
}

impl Health {
    pub fn new(registry: Registry) -> Self {
        Self {
            registry,
            readiness: Vec::new(),
            liveness: Vec::new(),
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Adds a readiness check; it fails if it does not answer within `timeout`.
    pub fn readiness_check<F, Fut>(mut self, name: &str, timeout: Duration, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.readiness.push(Check {
            name: name.to_owned(),
            timeout,
            run: Arc::new(move || Box::pin(check())),
        });
        self
    }

    /// Adds a readiness check backed by a [`Flag`] the process sets.
    pub fn readiness_flag(self, name: &str, flag: &Flag) -> Self {
        let flag = flag.clone();
        self.readiness_check(name, Duration::from_secs(1), move || {
            let result = flag.get();
            async move { result }
        })
    }

    /// Adds a liveness check (keep these about the process itself, never about dependencies).
    pub fn liveness_check<F, Fut>(mut self, name: &str, timeout: Duration, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.liveness.push(Check {
            name: name.to_owned(),
            timeout,
            run: Arc::new(move || Box::pin(check())),
        });
        self
    }

    /// Runs the readiness checks concurrently, each under its timeout.
    pub async fn readiness(&self) -> Report {
        run_checks(&self.readiness).await
    }

    pub async fn liveness(&self) -> Report {
        run_checks(&self.liveness).await
    }

    /// `/livez`, `/readyz` and `/metrics`; merge more routes into it as needed.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/livez", get(livez))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics))
            .route(mush_protocol::figures::STATUS_PATH, get(status))
            .with_state(Arc::new(self.clone()))
    }

    /// Serves `router` on `listener` until shutdown.
    pub async fn serve(router: Router, listener: TcpListener, shutdown: Shutdown) -> std::io::Result<()> {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move { shutdown.triggered().await })
            .await
    }
}

async fn run_checks(checks: &[Check]) -> Report {
    let runs = checks.iter().map(|c| async move {
        let result = match tokio::time::timeout(c.timeout, (c.run)()).await {
            Ok(r) => r,
            Err(_) => Err(format!("no answer within {:?}", c.timeout)),
        };
        (c.name.clone(), result)
    });
    Report {
        lines: futures::future::join_all(runs).await,
    }
}

fn report_response(report: Report, what: &str) -> Response {
    let status = if report.ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, report.render(what)).into_response()
}

async fn livez(State(health): State<Arc<Health>>) -> Response {
    report_response(health.liveness().await, "livez")
}

async fn readyz(State(health): State<Arc<Health>>) -> Response {
    report_response(health.readiness().await, "readyz")
}

async fn metrics(State(health): State<Arc<Health>>) -> Response {
    let encoder = TextEncoder::new();
    let mut body = Vec::new();
    if let Err(e) = encoder.encode(&health.registry.gather(), &mut body) {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding metrics: {e}"),
        )
            .into_response();
    }
    ([(header::CONTENT_TYPE, encoder.format_type().to_owned())], body).into_response()
}

/// The figures of [`mush_protocol::figures::READ_BY_OPERATOR`] in `families`, each summed
/// over its samples (counters and gauges; a family without samples is left out).
pub fn status_document(
    families: &[prometheus::proto::MetricFamily],
) -> mush_protocol::figures::StatusDocument {
    use prometheus::proto::MetricType;
    let mut doc = mush_protocol::figures::StatusDocument::default();
    for figure in mush_protocol::figures::READ_BY_OPERATOR {
        let name = figure.full_name();
        let Some(family) = families.iter().find(|f| f.name() == name) else {
            continue;
        };
        let samples = family
            .get_metric()
            .iter()
            .filter_map(|m| match family.get_field_type() {
                MetricType::COUNTER => Some(m.get_counter().get_value()),
                MetricType::GAUGE => Some(m.get_gauge().get_value()),
                _ => None,
            });
        let mut sum = None;
        for value in samples {
            *sum.get_or_insert(0.0) += value;
        }
        if let Some(sum) = sum {
            doc.set(figure, sum);
        }
    }
    doc
}

async fn status(State(health): State<Arc<Health>>) -> Response {
    match serde_json::to_vec(&status_document(&health.registry.gather())) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding the status: {e}"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut buf = String::new();
        s.read_to_string(&mut buf).await.unwrap();
        let status = buf[9..12].parse().unwrap();
        let body = buf.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
        (status, body)
    }

    #[tokio::test]
    async fn readiness_follows_its_checks_and_says_which_failed() {
        let registry = Registry::new();
        let counter = prometheus::IntCounter::new("mush_test_things_total", "things").unwrap();
        registry.register(Box::new(counter.clone())).unwrap();
        counter.inc_by(3);
        let accepting = Flag::new("starting");
        let health = Health::new(registry)
            .readiness_flag("accepting", &accepting)
            .readiness_check("redis", Duration::from_millis(50), || async { Ok(()) })
            .readiness_check("slow", Duration::from_millis(50), || async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = Shutdown::new();
        let server = tokio::spawn(Health::serve(health.router(), listener, shutdown.clone()));

        let (status, body) = get(addr, "/readyz").await;
        assert_eq!(status, 503);
        assert!(body.contains("[-]accepting failed: starting"), "{body}");
        assert!(body.contains("[+]redis ok"), "{body}");
        assert!(body.contains("[-]slow failed: no answer within"), "{body}");

        let (status, _) = get(addr, "/livez").await;
        assert_eq!(status, 200);
        let (status, body) = get(addr, "/metrics").await;
        assert_eq!(status, 200);
        assert!(body.contains("mush_test_things_total 3"), "{body}");

        shutdown.trigger();
        server.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn status_serves_the_figures_the_operator_reads_summed_over_their_labels() {
        use mush_protocol::figures::{
            GAME_INPUT_LAG, GAME_LOGGED_IN_PLAYERS, GAME_RESTORED_CONNECTIONS, StatusDocument,
        };
        let registry = Registry::new();
        let players = prometheus::IntGauge::new(GAME_LOGGED_IN_PLAYERS.full_name(), "p").unwrap();
        let lag = prometheus::IntGaugeVec::new(
            prometheus::Opts::new(GAME_INPUT_LAG.full_name(), "lag"),
            &["partition"],
        )
        .unwrap();
        let restored = prometheus::IntGaugeVec::new(
            prometheus::Opts::new(GAME_RESTORED_CONNECTIONS.full_name(), "r"),
            &["x"],
        )
        .unwrap();
        let other = prometheus::IntGauge::new("mush_game_players_longer_name", "o").unwrap();
        for c in [
            Box::new(players.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(lag.clone()),
            Box::new(restored),
            Box::new(other.clone()),
        ] {
            registry.register(c).unwrap();
        }
        players.set(3);
        lag.with_label_values(&["0"]).set(5);
        lag.with_label_values(&["1"]).set(2);
        other.set(99);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = Shutdown::new();
        let server = tokio::spawn(Health::serve(
            Health::new(registry).router(),
            listener,
            shutdown.clone(),
        ));
        let (code, body) = get(addr, "/status").await;
        assert_eq!(code, 200);
        let doc: StatusDocument = serde_json::from_str(&body).unwrap();
        assert_eq!(
            doc,
            StatusDocument::with(&[(GAME_LOGGED_IN_PLAYERS, 3.0), (GAME_INPUT_LAG, 7.0)]),
            "summed over partitions; a family with no sample yet is absent; other metrics left out"
        );
        shutdown.trigger();
        server.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_set_flag_turns_ready() {
        let flag = Flag::new("reconciling");
        let health = Health::new(Registry::new()).readiness_flag("reconciled", &flag);
        assert!(!health.readiness().await.ok());
        flag.set_ready();
        let report = health.readiness().await;
        assert!(report.ok());
        assert_eq!(report.render("readyz"), "[+]reconciled ok\nreadyz check passed\n");
        flag.set_not_ready("lease lost");
        assert!(health.readiness().await.render("readyz").contains("lease lost"));
    }
}
