//! What sealing an input line costs (prints figures; not a timed assertion).
//!
//! `cargo test --release -p mush-platform --test sealing_cost -- --ignored --nocapture`

use std::time::Instant;

use bytes::Bytes;
use mush_platform::sealing::{InputKey, InputKeyArgs};
use mush_protocol::{GatewayEvent, GatewayEventKind, Handle, Slot};

#[test]
#[ignore = "prints measurements; run in release with --ignored --nocapture"]
fn sealing_and_opening_a_line_costs_microseconds() {
    let keys = InputKeyArgs {
        key: Some(InputKey::generate_hex()),
        previous: None,
    }
    .keys()
    .unwrap();
    let handle = Handle::new(Slot::new(1).unwrap(), 1, 1).unwrap();
    let line = GatewayEvent::new(
        handle,
        GatewayEventKind::Input {
            line: Bytes::from_static(
                b"say The quick brown fox jumps over the lazy dog, twice over, for luck.",
            ),
        },
    );
    let GatewayEventKind::Input { line: text } = &line.kind else {
        unreachable!()
    };
    let bytes = text.len();
    let n = 100_000;
    let started = Instant::now();
    let mut sealed = Vec::with_capacity(n);
    for _ in 0..n {
        let mut event = line.clone();
        keys.seal(&mut event);
        sealed.push(event);
    }
    let seal = started.elapsed();
    let started = Instant::now();
    for s in &mut sealed {
        keys.open(s).unwrap();
    }
    let open = started.elapsed();
    println!(
        "a {bytes}-byte line: seal {:.2} µs, open {:.2} µs (mean of {n})",
        seal.as_secs_f64() * 1e6 / n as f64,
        open.as_secs_f64() * 1e6 / n as f64
    );
}
