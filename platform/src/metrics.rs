//! Small helpers for registering Prometheus metrics under a process prefix
//! (`mush_gateway_…`, `mush_game_…`).

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
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

    pub fn gauge_vec(&self, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
        self.register(IntGaugeVec::new(Opts::new(self.name(name), help), labels).expect("valid gauge"))
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

/// The children of a counter family for a fixed list of label values, resolved once at start
/// and exported at zero, so a hot path adds to a counter without hashing label values, taking
/// the family's lock or allocating.
#[derive(Clone)]
pub struct Children {
    family: IntCounterVec,
    first: Option<&'static str>,
    children: std::sync::Arc<[(&'static str, IntCounter)]>,
}

impl Children {
    /// Children of a one-label family.
    pub fn new(family: &IntCounterVec, values: &[&'static str]) -> Self {
        Self::resolve(family, None, values)
    }

    /// Children of a two-label family whose first label is fixed (e.g. `event="closed"`).
    pub fn under(family: &IntCounterVec, first: &'static str, values: &[&'static str]) -> Self {
        Self::resolve(family, Some(first), values)
    }

    fn resolve(family: &IntCounterVec, first: Option<&'static str>, values: &[&'static str]) -> Self {
        let children = values
            .iter()
            .map(|v| {
                let child = match first {
                    Some(f) => family.with_label_values(&[f, v]),
                    None => family.with_label_values(&[v]),
                };
                (*v, child)
            })
            .collect();
        Self {
            family: family.clone(),
            first,
            children,
        }
    }

    /// Adds one to the counter for `value`. Found by address first (callers pass literals or
    /// `&'static str`s from the same list), then by text; a value outside the list still counts,
    /// through the family (slower, and a reason to add it to the list).
    pub fn inc(&self, value: &str) {
        self.inc_by(value, 1);
    }

    pub fn inc_by(&self, value: &str, n: u64) {
        match self.find(value) {
            Some(c) => c.inc_by(n),
            None => self.outside(value).inc_by(n),
        }
    }

    /// The count for `value`.
    pub fn get(&self, value: &str) -> u64 {
        self.find(value)
            .map_or_else(|| self.outside(value).get(), IntCounter::get)
    }

    fn find(&self, value: &str) -> Option<&IntCounter> {
        self.children
            .iter()
            .find(|(v, _)| std::ptr::eq(*v, value))
            .or_else(|| self.children.iter().find(|(v, _)| *v == value))
            .map(|(_, c)| c)
    }

    fn outside(&self, value: &str) -> IntCounter {
        match self.first {
            Some(f) => self.family.with_label_values(&[f, value]),
            None => self.family.with_label_values(&[value]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_count_in_their_family_and_values_outside_the_list_still_count() {
        let registry = Registry::new();
        let m = Metrics::new("t", &registry);
        let family = m.counter_vec("events_total", "h", &["event", "reason"]);
        let closed = Children::under(&family, "closed", &["quit", "idle"]);
        // Exported at zero before any hit.
        assert_eq!(family.with_label_values(&["closed", "idle"]).get(), 0);
        closed.inc("quit");
        closed.inc(&String::from("quit")); // same text, another address
        closed.inc_by("idle", 3);
        closed.inc("other");
        assert_eq!(family.with_label_values(&["closed", "quit"]).get(), 2);
        assert_eq!(family.with_label_values(&["closed", "idle"]).get(), 3);
        assert_eq!(family.with_label_values(&["closed", "other"]).get(), 1);
        assert_eq!(closed.get("idle"), 3);
        let one = m.counter_vec("drops_total", "h", &["reason"]);
        Children::new(&one, &["foreign"]).inc("foreign");
        assert_eq!(one.with_label_values(&["foreign"]).get(), 1);
    }
}
