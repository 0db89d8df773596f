//! One command, one trace, across both processes: the real gateway and game-server export their
//! spans over OTLP/HTTP to a collector in this test (an HTTP endpoint decoding the protobuf
//! export requests), and the spans of a `think` line form one trace: the gateway's read
//! ("input line"), the game-server's application of it ("apply input", its child), and the
//! gateway's write of the answer ("write output", a child of the game-server's span).

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::routing::post;
use prost::Message as _;
use support::{Stack, StackOptions, T};

/// The parts of OTLP's `ExportTraceServiceRequest` this test reads (field numbers from
/// opentelemetry-proto's trace and common protos).
mod otlp {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ExportTraceServiceRequest {
        #[prost(message, repeated, tag = "1")]
        pub resource_spans: Vec<ResourceSpans>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ResourceSpans {
        #[prost(message, optional, tag = "1")]
        pub resource: Option<Resource>,
        #[prost(message, repeated, tag = "2")]
        pub scope_spans: Vec<ScopeSpans>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Resource {
        #[prost(message, repeated, tag = "1")]
        pub attributes: Vec<KeyValue>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct KeyValue {
        #[prost(string, tag = "1")]
        pub key: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<AnyValue>,
    }
    /// `AnyValue`'s `string_value` (the first case of its `oneof`).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct AnyValue {
        #[prost(string, tag = "1")]
        pub string_value: String,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ScopeSpans {
        #[prost(message, repeated, tag = "2")]
        pub spans: Vec<Span>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Span {
        #[prost(bytes = "vec", tag = "1")]
        pub trace_id: Vec<u8>,
        #[prost(bytes = "vec", tag = "2")]
        pub span_id: Vec<u8>,
        #[prost(bytes = "vec", tag = "4")]
        pub parent_span_id: Vec<u8>,
        #[prost(string, tag = "5")]
        pub name: String,
    }
}

/// A span as collected: its service, name and ids.
#[derive(Debug, Clone)]
struct Collected {
    service: String,
    name: String,
    trace: Vec<u8>,
    id: Vec<u8>,
    parent: Vec<u8>,
}

/// An OTLP/HTTP trace collector on a loopback port.
async fn collector() -> (String, Arc<Mutex<Vec<Collected>>>) {
    let spans = Arc::new(Mutex::new(Vec::new()));
    let sink = spans.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let sink = sink.clone();
            async move {
                if let Ok(request) = otlp::ExportTraceServiceRequest::decode(body) {
                    let mut sink = sink.lock().unwrap();
                    for rs in request.resource_spans {
                        let service = rs
                            .resource
                            .iter()
                            .flat_map(|r| &r.attributes)
                            .find(|kv| kv.key == "service.name")
                            .and_then(|kv| kv.value.as_ref())
                            .map(|v| v.string_value.clone())
                            .unwrap_or_default();
                        for span in rs.scope_spans.into_iter().flat_map(|s| s.spans) {
                            sink.push(Collected {
                                service: service.clone(),
                                name: span.name,
                                trace: span.trace_id,
                                id: span.span_id,
                                parent: span.parent_span_id,
                            });
                        }
                    }
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (endpoint, spans)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_command_is_one_trace_from_the_gateways_read_to_its_write() {
    let (endpoint, spans) = collector().await;
    // The servers export every 200 ms (the SDK's batch delay) instead of every 5 s. The only
    // test in this binary, so changing the environment races with nothing.
    unsafe { std::env::set_var("OTEL_BSP_SCHEDULE_DELAY", "200") };
    let flag = format!("--otlp-endpoint={endpoint}");
    let stack = Stack::start(StackOptions {
        gateway_flags: vec![flag.clone()],
        game_flags: vec![flag],
        ..StackOptions::default()
    })
    .await;
    let mut alice = stack.player("Alice").await;
    alice.send("think traced-line").await.unwrap();
    alice.expect("traced-line", T).await.unwrap();

    // The trace whose game-server span applied an input and whose gateway wrote its output.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (read, apply, write) = loop {
        let found = {
            let all = spans.lock().unwrap().clone();
            all.iter().filter(|s| s.name == "write output").find_map(|write| {
                let apply = all
                    .iter()
                    .find(|s| s.name == "apply input" && s.id == write.parent)?;
                let read = all
                    .iter()
                    .find(|s| s.name == "input line" && s.id == apply.parent)?;
                Some((read.clone(), apply.clone(), write.clone()))
            })
        };
        if let Some(found) = found {
            break found;
        }
        assert!(
            Instant::now() < deadline,
            "no complete trace within 20 s; spans collected: {:?}",
            spans
                .lock()
                .unwrap()
                .iter()
                .map(|s| (&s.service, &s.name))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(read.trace, apply.trace, "one trace");
    assert_eq!(apply.trace, write.trace, "one trace");
    assert_ne!(
        read.service, apply.service,
        "across two processes: {} and {}",
        read.service, apply.service
    );
    assert_eq!(read.service, write.service, "read and written by the gateway");
}
