//! The gateway's metrics, all prefixed `mush_gateway_`.

use mush_platform::bus::BusMetrics;
use mush_platform::metrics::Metrics;
use mush_platform::store::StoreMetrics;
use prometheus::{Histogram, IntCounter, IntCounterVec, IntGauge, Registry};

pub const PREFIX: &str = "mush_gateway";

#[derive(Clone)]
pub struct GatewayMetrics {
    pub connections: IntGauge,
    pub connection_events: IntCounterVec,
    pub bytes_in: IntCounter,
    pub bytes_out: IntCounter,
    pub lines_in: IntCounter,
    pub messages_out: IntCounter,
    pub limit_hits: IntCounterVec,
    pub output_queue_depth: IntGauge,
    pub output_dropped: IntCounterVec,
    pub end_to_end_seconds: Histogram,
    pub protocol_errors: IntCounter,
    pub draining: IntGauge,
    pub held_input: IntGauge,
    pub held_bytes: IntGauge,
    pub bus: BusMetrics,
    pub store: StoreMetrics,
}

impl GatewayMetrics {
    pub fn new(registry: &Registry) -> Self {
        let m = Metrics::new(PREFIX, registry);
        Self {
            connections: m.gauge("connections", "Open player connections."),
            connection_events: m.counter_vec(
                "connection_events_total",
                "Connection events: accepted, closed (by reason), refused (by reason).",
                &["event", "reason"],
            ),
            bytes_in: m.counter("bytes_in_total", "Bytes read from players."),
            bytes_out: m.counter("bytes_out_total", "Bytes written to players (after compression)."),
            lines_in: m.counter("lines_in_total", "Input lines read from players."),
            messages_out: m.counter("messages_out_total", "Game messages written to players."),
            limit_hits: m.counter_vec(
                "limit_hits_total",
                "Times a limit acted: line_length, rate_delayed, rate_refused, ip_count, ip_rate, \
                 max_connections, output_overflow, output_queue_bytes, held_input_full, \
                 held_input_bytes, login_idle, idle, login_deadline, event_refused (a client \
                 event dropped over budget), event_coalesced (a window size or client info \
                 waiting for a token), answer_over_budget (a negotiation answer sent over \
                 budget), input_bytes (reading paused by the byte budget), input_strikes and \
                 input_paused (disconnected for sustained abuse), memory_budget (the gateway \
                 went over its memory budget: reading and routing paused).",
                &["limit"],
            ),
            output_queue_depth: m.gauge("output_queue_depth", "Messages queued for players, not yet written."),
            output_dropped: m.counter_vec(
                "output_dropped_total",
                "Output messages not written: unknown_handle (connection gone), duplicate (re-sent after a game-server crash), foreign (another gateway's).",
                &["reason"],
            ),
            end_to_end_seconds: m.histogram(
                "end_to_end_seconds",
                "From reading a player's input to writing the game's answer to the socket.",
            ),
            protocol_errors: m.counter("protocol_errors_total", "Telnet protocol errors recovered from."),
            draining: m.gauge("draining", "1 while the gateway drains."),
            held_input: m.gauge("held_input", "Input events handed to Kafka and not yet acknowledged."),
            held_bytes: m.gauge(
                "held_bytes",
                "Bytes held for all connections against the memory budget: queued and in-flight \
                 output, unacknowledged input, lines waiting for the event budget, input being \
                 parsed.",
            ),
            bus: BusMetrics::new(&m),
            store: StoreMetrics::new(&m),
        }
        .with_known_labels()
    }

    /// Exports every known label value at zero from the start, so `rate()` sees the first hit.
    fn with_known_labels(self) -> Self {
        for limit in [
            "line_length",
            "rate_delayed",
            "rate_refused",
            "ip_count",
            "ip_rate",
            "max_connections",
            "output_overflow",
            "output_queue_bytes",
            "held_input_full",
            "held_input_bytes",
            "login_idle",
            "idle",
            "login_deadline",
            "event_refused",
            "event_coalesced",
            "answer_over_budget",
            "input_bytes",
            "input_strikes",
            "input_paused",
            "memory_budget",
        ] {
            self.limit_hits.with_label_values(&[limit]);
        }
        for reason in ["unknown_handle", "duplicate", "foreign"] {
            self.output_dropped.with_label_values(&[reason]);
        }
        self
    }

    pub fn limit(&self, name: &str) {
        self.limit_hits.with_label_values(&[name]).inc();
    }
}
