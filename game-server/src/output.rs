//! From a command's logical output to wire messages: one per gateway per output, each below the
//! broker's message size, each with its origin (so a re-sent copy is recognised) and the input's
//! read time (for latency).
//!
//! Why split: a message larger than the broker's `message.max.bytes` is refused forever, and a
//! refused message in the outbox used to stop every later start. So text is cut at line ends
//! (or, for one huge line, at a character boundary) and long target lists are cut in pieces, and
//! every piece gets its own origin sequence number, in order.

use mush_protocol::{GameMessage, GameMessageKind, GatewayEvent, GatewayEventKind, Handle, Origin, topics};

use crate::game::Outgoing;

/// What a message costs on the wire besides its text: envelope, origin, trace (generous).
const ENVELOPE_BYTES: usize = 512;
/// Bytes a target handle costs in a message (fixed64 plus tag).
const TARGET_BYTES: usize = 9;

/// Turns `output` of the input at (`partition`, `offset`) into wire messages of at most
/// `max_bytes` each.
pub fn build_messages(
    output: Vec<Outgoing>,
    event: &GatewayEvent,
    partition: i32,
    offset: i64,
    max_bytes: usize,
) -> Vec<GameMessage> {
    let input_at = matches!(event.kind, GatewayEventKind::Input { .. }).then_some(event.at);
    // Built inside the input's span (see `spans`): the output carries it onward.
    let trace = crate::spans::output_trace(event);
    let mut seq = 0u32;
    let mut messages = Vec::new();
    for out in output {
        for (_, targets) in topics::group_by_gateway(out.targets) {
            for (targets, kind) in split(targets, &out.kind, max_bytes) {
                messages.push(GameMessage {
                    targets,
                    input_at,
                    trace: trace.clone(),
                    origin: Some(Origin {
                        partition,
                        offset,
                        seq,
                    }),
                    kind,
                });
                seq += 1;
            }
        }
    }
    messages
}

/// Cuts one message for one gateway into pieces of at most `max_bytes` on the wire: targets in
/// groups, text at line ends. Structured data (GMCP, MSDP) cannot be cut: a piece of it too large
/// even alone is dropped, with a log line (the game never builds one).
pub fn split(
    targets: Vec<Handle>,
    kind: &GameMessageKind,
    max_bytes: usize,
) -> Vec<(Vec<Handle>, GameMessageKind)> {
    let budget = max_bytes.saturating_sub(ENVELOPE_BYTES).max(1024);
    // At most half the message goes to targets.
    let per_group = (budget / 2 / TARGET_BYTES).max(1);
    let target_groups: Vec<Vec<Handle>> = targets.chunks(per_group).map(<[Handle]>::to_vec).collect();
    let mut pieces = Vec::new();
    for group in target_groups {
        let room = budget - group.len() * TARGET_BYTES;
        match kind {
            GameMessageKind::Text { text } => {
                for chunk in cut_text(text, room) {
                    pieces.push((group.clone(), GameMessageKind::Text { text: chunk }));
                }
            }
            GameMessageKind::Prompt { text } => {
                for chunk in cut_text(text, room) {
                    pieces.push((group.clone(), GameMessageKind::Prompt { text: chunk }));
                }
            }
            GameMessageKind::Gmcp { package, json } if package.len() + json.len() > room => {
                tracing::warn!(%package, bytes = json.len(), "GMCP message too large to send: dropped");
            }
            GameMessageKind::Msdp { variable, value } if variable.len() + value.len() > room => {
                tracing::warn!(%variable, bytes = value.len(), "MSDP message too large to send: dropped");
            }
            other => pieces.push((group.clone(), other.clone())),
        }
    }
    pieces
}

/// `text` in pieces of at most `max` bytes, cut after a `\n` where there is one (the `\n` is
/// then dropped: each piece is shown as its own lines), else at a character boundary.
fn cut_text(text: &str, max: usize) -> Vec<String> {
    if text.len() <= max {
        return vec![text.to_owned()];
    }
    let mut pieces = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        match rest[..cut].rfind('\n') {
            Some(nl) if nl > 0 => {
                pieces.push(rest[..nl].to_owned());
                rest = &rest[nl + 1..];
            }
            _ => {
                pieces.push(rest[..cut].to_owned());
                rest = &rest[cut..];
            }
        }
    }
    pieces.push(rest.to_owned());
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use mush_protocol::{Slot, Timestamp};

    fn h(slot: u16, n: u32) -> Handle {
        Handle::new(Slot::new(slot).unwrap(), 1, n).unwrap()
    }

    fn input_event() -> GatewayEvent {
        let mut ev = GatewayEvent::new(
            h(0, 1),
            GatewayEventKind::Input {
                line: Bytes::from_static(b"say hi"),
            },
        );
        ev.at = Timestamp::from_micros(42);
        ev
    }

    #[test]
    fn output_is_split_per_gateway_with_growing_origins() {
        let out = vec![
            Outgoing {
                targets: vec![h(0, 1)],
                kind: GameMessageKind::Text {
                    text: "You say, \"hi\"".into(),
                },
            },
            Outgoing {
                targets: vec![h(0, 2), h(1, 3), h(0, 4)],
                kind: GameMessageKind::Text {
                    text: "A says, \"hi\"".into(),
                },
            },
        ];
        let msgs = build_messages(out, &input_event(), 3, 77, 1 << 20);
        assert_eq!(msgs.len(), 3, "one for the speaker, one per gateway for the room");
        assert_eq!(msgs[1].targets, vec![h(0, 2), h(0, 4)]);
        assert_eq!(msgs[2].targets, vec![h(1, 3)]);
        let seqs: Vec<u32> = msgs.iter().map(|m| m.origin.unwrap().seq).collect();
        assert_eq!(seqs, vec![0, 1, 2]);
        assert!(
            msgs.iter()
                .all(|m| m.origin.unwrap().offset == 77 && m.input_at == Some(Timestamp::from_micros(42)))
        );
    }

    #[test]
    fn every_message_fits_the_broker_and_nothing_is_lost() {
        let max = 16 * 1024;
        let line = "0123456789".repeat(30);
        let text: String =
            (0..500).map(|i| format!("{i}: {line}\n")).collect::<String>() + "é".repeat(20_000).as_str();
        let targets: Vec<Handle> = (0..3_000).map(|n| h(0, n)).collect();
        let out = vec![Outgoing {
            targets: targets.clone(),
            kind: GameMessageKind::Text { text: text.clone() },
        }];
        let msgs = build_messages(out, &input_event(), 0, 1, max);
        assert!(msgs.len() > 10);
        for m in &msgs {
            assert!(m.encode().len() <= max, "{}", m.encode().len());
        }
        let seqs: Vec<u32> = msgs.iter().map(|m| m.origin.unwrap().seq).collect();
        assert_eq!(seqs, (0..msgs.len() as u32).collect::<Vec<_>>(), "in order");
        // Every target gets the whole text, in order.
        for t in [targets[0], targets[2_999]] {
            let got: Vec<&str> = msgs
                .iter()
                .filter(|m| m.targets.contains(&t))
                .map(|m| match &m.kind {
                    GameMessageKind::Text { text } => text.as_str(),
                    _ => "",
                })
                .collect();
            let joined = got.join("\n");
            assert_eq!(joined.replace('\n', ""), text.replace('\n', ""));
        }
    }

    #[test]
    fn huge_structured_data_is_dropped_not_sent() {
        let kind = GameMessageKind::Gmcp {
            package: "Room.Info".into(),
            json: "x".repeat(100_000),
        };
        assert!(split(vec![h(0, 1)], &kind, 16 * 1024).is_empty());
        let small = GameMessageKind::Gmcp {
            package: "Room.Info".into(),
            json: "{}".into(),
        };
        assert_eq!(split(vec![h(0, 1)], &small, 16 * 1024).len(), 1);
    }
}
