//! The operator's own metrics (served on `/metrics` by the health server).

use std::time::Instant;

use mush_platform::metrics::Metrics;
use prometheus::{Histogram, IntCounter, IntCounterVec, IntGauge, Registry};

#[derive(Clone)]
pub struct OperatorMetrics {
    pub reconciliations: IntCounter,
    /// Failed reconciliations by reason (the error's kind, e.g. `apply`, `status`, `invalid_spec`).
    pub failures: IntCounterVec,
    pub duration: Histogram,
    /// 1 while this replica holds the leader Lease.
    pub leader: IntGauge,
    /// Game-server restarts started, and refused for lack of dependencies.
    pub restarts_started: IntCounter,
    pub restarts_refused: IntCounter,
}

impl OperatorMetrics {
    pub fn new(registry: &Registry) -> Self {
        let m = Metrics::new("mush_operator", registry);
        Self {
            reconciliations: m.counter("reconciliations_total", "Reconciliations run."),
            failures: m.counter_vec(
                "reconcile_failures_total",
                "Reconciliations that failed, by reason.",
                &["reason"],
            ),
            duration: m.histogram("reconcile_duration_seconds", "Time one reconciliation took."),
            leader: m.gauge("leader", "1 while this replica holds the leader Lease."),
            restarts_started: m.counter("game_restarts_started_total", "Game-server restarts started."),
            restarts_refused: m.counter(
                "game_restarts_refused_total",
                "Reconciliations that refused a game-server restart because Redis or Kafka was not ready.",
            ),
        }
    }

    /// Counts a reconciliation and times it until the guard drops.
    pub fn start(&self) -> ReconcileTimer {
        self.reconciliations.inc();
        ReconcileTimer {
            started: Instant::now(),
            histogram: self.duration.clone(),
        }
    }
}

pub struct ReconcileTimer {
    started: Instant,
    histogram: Histogram,
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        self.histogram.observe(self.started.elapsed().as_secs_f64());
    }
}
