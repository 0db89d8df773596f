//! The game-server's metrics, all prefixed `mush_game_`.

use std::collections::HashMap;

use mush_platform::bus::BusMetrics;
use mush_platform::metrics::{Children, Metrics};
use mush_platform::store::StoreMetrics;
use mush_protocol::figures;
use prometheus::{
    Gauge, Histogram, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

pub const PREFIX: &str = mush_protocol::figures::GAME_PREFIX;

#[derive(Clone)]
pub struct GameMetrics {
    pub command_seconds: HistogramVec,
    pub commands: IntCounterVec,
    pub input_lag: IntGaugeVec,
    pub reconciliation_seconds: Gauge,
    pub restored_connections: IntGauge,
    pub logged_in_players: IntGauge,
    pub connections: IntGauge,
    pub leader: IntGauge,
    pub replays_skipped: IntCounter,
    pub outbox_resent: IntCounter,
    pub world_write_failures: IntCounter,
    pub line_stops: Children,
    pub quota_refusals: IntCounter,
    pub outbox_dropped: IntCounter,
    pub poison_skipped: IntCounter,
    pub slow_events: IntCounter,
    pub logins_refused_busy: IntCounter,
    pub input_unreadable: IntCounter,
    pub batch_size: Histogram,
    pub bus: BusMetrics,
    pub store: StoreMetrics,
}

impl GameMetrics {
    pub fn new(registry: &Registry) -> Self {
        let m = Metrics::new(PREFIX, registry);
        let reconciliation_seconds = Gauge::with_opts(Opts::new(
            figures::GAME_RECONCILIATION_SECONDS.full_name(),
            "How long the last reconciliation (rebuilding connections and world from Redis) took.",
        ))
        .expect("valid gauge");
        registry
            .register(Box::new(reconciliation_seconds.clone()))
            .expect("registering a metric");
        let input_lag = IntGaugeVec::new(
            Opts::new(
                figures::GAME_INPUT_LAG.full_name(),
                "Input events waiting in Kafka (high watermark minus next to apply), per partition.",
            ),
            &["partition"],
        )
        .expect("valid gauge");
        registry
            .register(Box::new(input_lag.clone()))
            .expect("registering a metric");
        Self {
            command_seconds: m.histogram_vec(
                "command_duration_seconds",
                "Time to run one input event through the game and persist its effects, by command.",
                &["command"],
            ),
            commands: m.counter_vec(
                "commands_total",
                "Input events applied, by command.",
                &["command"],
            ),
            input_lag,
            reconciliation_seconds,
            restored_connections: m.gauge(
                figures::GAME_RESTORED_CONNECTIONS.name,
                "Connections restored from Redis by the last reconciliation.",
            ),
            logged_in_players: m.gauge(figures::GAME_LOGGED_IN_PLAYERS.name, "Connections bound to a player."),
            connections: m.gauge("connections", "Connections the game knows of."),
            leader: m.gauge("leader", "1 while this instance holds the leadership lease."),
            replays_skipped: m.counter(
                "replays_skipped_total",
                "Input events skipped because they were already applied (replayed after a restart).",
            ),
            outbox_resent: m.counter(
                "outbox_resent_total",
                "Output messages sent again at start because their delivery was not confirmed.",
            ),
            world_write_failures: m.counter(
                "world_write_failures_total",
                "Attempts to persist a command's effects that failed and were retried.",
            ),
            line_stops: Children::new(
                &m.counter_vec(
                    "line_budget_stops_total",
                    "Input lines stopped for want of budget: fuel (commands and function calls), output, objects, time.",
                    &["reason"],
                ),
                &crate::game::Exhausted::ALL.map(|why| why.label()),
            ),
            quota_refusals: m.counter(
                "object_quota_refusals_total",
                "Objects not created because their owner had reached the object quota.",
            ),
            outbox_dropped: m.counter(
                "outbox_dropped_total",
                "Unsendable or unreadable outbox entries dropped at start (logged) instead of stopping it.",
            ),
            poison_skipped: m.counter(
                "poison_events_skipped_total",
                "Input events skipped because earlier attempts to apply them never finished (crash, hang).",
            ),
            slow_events: m.counter(
                "slow_events_total",
                "Input events that were still being applied after --slow-event-ms (each recorded as an attempt).",
            ),
            logins_refused_busy: m.counter(
                "logins_refused_busy_total",
                "Logins refused with \"busy\" because too many were waiting for password hashing.",
            ),
            input_unreadable: m.counter(
                "input_unreadable_total",
                "Sealed input lines that could not be opened (the gateway's input key is not one of this game-server's).",
            ),
            batch_size: m.histogram_with(
                "batch_size",
                "Inputs committed together in one Redis script (group commit).",
                vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0],
            ),
            bus: BusMetrics::new(&m),
            store: StoreMetrics::new(&m),
        }
    }
}

/// The per-command children of `command_duration_seconds` and `commands_total`, resolved once
/// per label (labels are the dispatch's `&'static str`s: a few dozen), so recording an input
/// costs no label hashing in the families, no lock and no allocation.
pub struct CommandMeters {
    seconds: HistogramVec,
    count: IntCounterVec,
    children: HashMap<&'static str, (Histogram, IntCounter)>,
}

impl CommandMeters {
    pub fn new(metrics: &GameMetrics) -> Self {
        Self {
            seconds: metrics.command_seconds.clone(),
            count: metrics.commands.clone(),
            children: HashMap::new(),
        }
    }

    pub fn record(&mut self, label: &'static str, seconds: f64) {
        let (histogram, counter) = self.children.entry(label).or_insert_with(|| {
            (
                self.seconds.with_label_values(&[label]),
                self.count.with_label_values(&[label]),
            )
        });
        histogram.observe(seconds);
        counter.inc();
    }
}

#[cfg(test)]
mod figure_tests {
    #[test]
    fn every_figure_the_operator_reads_is_exported_under_its_name() {
        let registry = prometheus::Registry::new();
        let metrics = super::GameMetrics::new(&registry);
        // A labelled family is exported once one of its label sets is used.
        metrics.input_lag.with_label_values(&["0"]).set(0);
        let names: Vec<String> = registry.gather().iter().map(|f| f.name().to_owned()).collect();
        for figure in mush_protocol::figures::of(super::PREFIX) {
            assert!(
                names.contains(&figure.full_name()),
                "{} not exported",
                figure.full_name()
            );
        }
    }
}
