//! The gateway's metrics, all prefixed `mush_gateway_`.

use mush_platform::bus::BusMetrics;
use mush_platform::metrics::{Children, Metrics};
use mush_platform::store::StoreMetrics;
use mush_protocol::{DisconnectReason, Transport};
use prometheus::{Histogram, IntCounter, IntCounterVec, IntGauge, Registry};

pub const PREFIX: &str = mush_protocol::figures::GATEWAY_PREFIX;

#[derive(Clone)]
pub struct GatewayMetrics {
    pub connections: IntGauge,
    /// `connections_by_transport`: telnet, tls (telnet over TLS), websocket.
    by_transport: [IntGauge; 3],
    pub connection_events: IntCounterVec,
    pub bytes_in: IntCounter,
    pub bytes_out: IntCounter,
    pub lines_in: IntCounter,
    pub messages_out: IntCounter,
    pub limit_hits: IntCounterVec,
    limits: Children,
    pub output_queue_depth: IntGauge,
    pub output_dropped: IntCounterVec,
    /// `output_dropped_total` by reason: unknown_handle, duplicate, foreign.
    pub dropped: Children,
    /// `connection_events_total{event="accepted"}`.
    pub accepted: IntCounter,
    /// `connection_events_total{event="closed"}` by reason.
    pub closed: Children,
    /// `connection_events_total{event="refused"}` by reason.
    pub refused: Children,
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
        let connection_events = m.counter_vec(
            "connection_events_total",
            "Connection events: accepted, closed (by reason), refused (by reason).",
            &["event", "reason"],
        );
        let limit_hits = m.counter_vec(
            "limit_hits_total",
            "Times a limit acted: line_length, rate_delayed, rate_refused, ip_count, ip_rate, \
             max_connections, output_overflow, output_queue_bytes, held_input_full, \
             held_input_bytes, login_idle, idle, login_deadline, event_refused (a client \
             event dropped over budget), event_coalesced (a window size or client info \
             waiting for a token), answer_over_budget (a negotiation answer sent over \
             budget), input_bytes (reading paused by the byte budget), input_strikes and \
             input_paused (disconnected for sustained abuse), memory_budget (the gateway \
             went over its memory budget: reading and routing paused), message_size (a \
             WebSocket message over the size limit: disconnected).",
            &["limit"],
        );
        let output_dropped = m.counter_vec(
            "output_dropped_total",
            "Output messages not written: unknown_handle (connection gone), duplicate (re-sent after a game-server crash), foreign (another gateway's).",
            &["reason"],
        );
        let reasons: Vec<&'static str> = DisconnectReason::ALL.iter().map(|r| r.as_str()).collect();
        let by_transport = m.gauge_vec(
            "connections_by_transport",
            "Open player connections by transport: telnet, tls (telnet over TLS), websocket (ws:// and wss://).",
            &["transport"],
        );
        Self {
            connections: m.gauge(
                mush_protocol::figures::GATEWAY_CONNECTIONS.name,
                "Open player connections.",
            ),
            by_transport: [Transport::Telnet, Transport::TelnetTls, Transport::WebSocket]
                .map(|t| by_transport.with_label_values(&[t.as_str()])),
            accepted: connection_events.with_label_values(&["accepted", ""]),
            closed: Children::under(&connection_events, "closed", &reasons),
            refused: Children::under(&connection_events, "refused", REFUSALS),
            connection_events,
            bytes_in: m.counter("bytes_in_total", "Bytes read from players."),
            bytes_out: m.counter("bytes_out_total", "Bytes written to players (after compression)."),
            lines_in: m.counter("lines_in_total", "Input lines read from players."),
            messages_out: m.counter("messages_out_total", "Game messages written to players."),
            limits: Children::new(&limit_hits, LIMITS),
            limit_hits,
            output_queue_depth: m.gauge(
                "output_queue_depth",
                "Messages queued for players, not yet written.",
            ),
            dropped: Children::new(&output_dropped, &["unknown_handle", "duplicate", "foreign"]),
            output_dropped,
            end_to_end_seconds: m.histogram(
                "end_to_end_seconds",
                "From reading a player's input to writing the game's answer to the socket.",
            ),
            protocol_errors: m.counter("protocol_errors_total", "Telnet protocol errors recovered from."),
            draining: m.gauge("draining", "1 while the gateway drains."),
            held_input: m.gauge(
                "held_input",
                "Input events handed to Kafka and not yet acknowledged.",
            ),
            held_bytes: m.gauge(
                "held_bytes",
                "Bytes held for all connections against the memory budget: queued and in-flight \
                 output, unacknowledged input, lines waiting for the event budget, input being \
                 parsed.",
            ),
            bus: BusMetrics::new(&m),
            store: StoreMetrics::new(&m),
        }
    }

    pub fn limit(&self, name: &str) {
        self.limits.inc(name);
    }

    /// The open connections of one transport.
    pub fn transport(&self, transport: Transport) -> &IntGauge {
        match transport {
            Transport::TelnetTls => &self.by_transport[1],
            Transport::WebSocket => &self.by_transport[2],
            Transport::Telnet | Transport::Unknown => &self.by_transport[0],
        }
    }
}

/// Every limit counted in `limit_hits_total`, exported at zero from the start so `rate()` sees
/// the first hit.
const LIMITS: &[&str] = &[
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
    "message_size",
];

/// Why a connection is refused at accept, or before it reaches the game.
const REFUSALS: &[&str] = &[
    "ip_count",
    "ip_rate",
    "max_connections",
    "handles_exhausted",
    "redis_unavailable",
    "tls_handshake",
    "draining",
    "origin",
];

#[cfg(test)]
mod figure_tests {
    #[test]
    fn every_figure_the_operator_reads_is_exported_under_its_name() {
        let registry = prometheus::Registry::new();
        let _metrics = super::GatewayMetrics::new(&registry);
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
