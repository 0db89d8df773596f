//! Small helpers for registering Prometheus metrics under a process prefix
//! (`mush_gateway_…`, `mush_game_…`).

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};

/// Latency buckets from 100 µs to 10 s, for anything from a Redis write to a whole restart.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Registers metrics named `<prefix>_<name>` in one registry.
#[derive(Clone)]
pub struct Metrics {
    prefix: String,
    registry: Registry,
}

impl Metrics {
    pub fn new(prefix: &str, registry: &Registry) -> Self {
        Self {
            prefix: prefix.to_owned(),
            registry: registry.clone(),
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    fn name(&self, name: &str) -> String {
        format!("{}_{name}", self.prefix)
    }

    fn register<C: prometheus::core::Collector + Clone + 'static>(&self, c: C) -> C {
        // Registering the same name twice is a programming error: fail loudly at start.
        self.registry
            .register(Box::new(c.clone()))
            .unwrap_or_else(|e| panic!("registering a metric: {e}"));
        c
    }

    pub fn counter(&self, name: &str, help: &str) -> IntCounter {
        self.register(IntCounter::new(self.name(name), help).expect("valid counter"))
    }

    pub fn counter_vec(&self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        self.register(IntCounterVec::new(Opts::new(self.name(name), help), labels).expect("valid counter"))
    }

    pub fn gauge(&self, name: &str, help: &str) -> IntGauge {
        self.register(IntGauge::new(self.name(name), help).expect("valid gauge"))
    }

    pub fn histogram(&self, name: &str, help: &str) -> Histogram {
        let opts = HistogramOpts::new(self.name(name), help).buckets(LATENCY_BUCKETS.to_vec());
        self.register(Histogram::with_opts(opts).expect("valid histogram"))
    }

    /// A histogram of something other than a latency, with its own buckets.
    pub fn histogram_with(&self, name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
        let opts = HistogramOpts::new(self.name(name), help).buckets(buckets);
        self.register(Histogram::with_opts(opts).expect("valid histogram"))
    }

    pub fn histogram_vec(&self, name: &str, help: &str, labels: &[&str]) -> HistogramVec {
        let opts = HistogramOpts::new(self.name(name), help).buckets(LATENCY_BUCKETS.to_vec());
        self.register(HistogramVec::new(opts, labels).expect("valid histogram"))
    }
}
