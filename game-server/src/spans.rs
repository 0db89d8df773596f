//! The input loop's spans, for traces (see `mush_platform::telemetry`): one per applied input,
//! a child of the gateway's span that the input's trace context names, under which the game runs
//! the input and builds its output (so the output carries this span's context onward); one per
//! batch commit, linked to the inputs it commits. An input's span stays open until its output is
//! handed to the producer, so it shows the wait for the commit too.
//!
//! Why only when exporting: these spans exist for traces alone (the logs already name the
//! handle). With no exporter they are never made: an input costs no span and no allocation.

use mush_platform::telemetry;
use mush_protocol::{GatewayEvent, TraceContext};
use tracing::Span;

/// The span to apply `event` (read at `partition`, `offset`) in, a child of the gateway's span
/// its trace context names. [`Span::none`] when not exporting.
pub fn input_span(event: &GatewayEvent, partition: i32, offset: i64) -> Span {
    if !telemetry::exporting() {
        return Span::none();
    }
    // No parent in this process: the input's parent is the gateway's span (or none at all).
    let span = tracing::info_span!(
        parent: None,
        "apply input",
        handle = %event.handle,
        kind = event.kind.label(),
        partition,
        offset,
    );
    telemetry::set_parent(&span, &event.trace);
    span
}

/// The span of one batch commit, linked to the spans of the inputs it commits. [`Span::none`]
/// when not exporting.
pub fn commit_span<'a>(inputs: impl ExactSizeIterator<Item = &'a Span>) -> Span {
    if !telemetry::exporting() {
        return Span::none();
    }
    let span = tracing::info_span!(parent: None, "commit batch", inputs = inputs.len());
    for input in inputs {
        span.follows_from(input);
    }
    span
}

/// The trace context for the output of `event`, built inside its [`input_span`]: that span's
/// context when exporting, else the context the gateway sent (passed on unchanged).
pub fn output_trace(event: &GatewayEvent) -> TraceContext {
    if telemetry::exporting() {
        telemetry::inject_current()
    } else {
        event.trace.clone()
    }
}

#[cfg(test)]
mod tests {
    use mush_protocol::{GatewayEventKind, Transport};
    use opentelemetry::trace::{SpanId, TraceId};
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::game::testkit::{Harness, h};
    use crate::output;

    fn find<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
        spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no span {name:?} among {spans:?}"))
    }

    #[test]
    fn an_inputs_span_is_a_child_of_the_gateways_span_and_its_output_carries_it_on() {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let subscriber = tracing_subscriber::registry().with(telemetry::otel_layer(&provider, "test"));
        let mut harness = Harness::new();
        let messages = tracing::subscriber::with_default(subscriber, || {
            // The gateway: the line's span, its context injected into the event it publishes.
            let gateway = tracing::info_span!("gateway line");
            let trace = gateway.in_scope(telemetry::inject_current);
            drop(gateway);
            assert!(trace.contains_key("traceparent"), "{trace:?}");
            let event = GatewayEvent {
                handle: h(1),
                at: harness.now,
                trace,
                kind: GatewayEventKind::Connected {
                    peer_addr: "192.0.2.1:5000".into(),
                    transport: Transport::Telnet,
                    gateway: "gw-0".into(),
                },
            };
            // The game-server: applies the input and builds its output inside the input's span.
            let span = input_span(&event, 3, 42);
            let messages = span.in_scope(|| {
                let effects = harness.game.handle(&event, harness.now);
                output::build_messages(effects.output, &event, 3, 42, 1 << 20)
            });
            let commit = commit_span(std::iter::once(&span));
            drop(commit);
            drop(span);
            messages
        });
        provider.force_flush().expect("flush");
        let spans = exporter.get_finished_spans().expect("finished spans");
        let gateway = find(&spans, "gateway line");
        let input = find(&spans, "apply input");
        let commit = find(&spans, "commit batch");

        assert_ne!(gateway.span_context.trace_id(), TraceId::INVALID);
        assert_eq!(input.span_context.trace_id(), gateway.span_context.trace_id());
        assert_eq!(input.parent_span_id, gateway.span_context.span_id());
        assert_eq!(commit.parent_span_id, SpanId::INVALID, "a batch commit is a root");
        assert!(
            commit
                .links
                .iter()
                .any(|l| l.span_context.span_id() == input.span_context.span_id()),
            "the commit links the inputs it commits"
        );

        assert!(!messages.is_empty(), "a connection is greeted");
        let traceparent = format!(
            "00-{}-{}-01",
            input.span_context.trace_id(),
            input.span_context.span_id()
        );
        for m in &messages {
            assert_eq!(m.trace.get("traceparent"), Some(&traceparent), "{m:?}");
        }
    }
}
