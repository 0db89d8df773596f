//! Step 3 of a command's journey: the consumer of this gateway's own output partition puts each
//! message on the target connections' bounded queues. A full queue (in messages or in bytes)
//! means the client stopped reading: that connection is closed, never allowed to grow memory
//! or hold up the others. Over the gateway's memory budget the router stops taking output from
//! Kafka (it waits there) until the sessions have written enough of what they hold.

use std::sync::Arc;

use mush_platform::Shutdown;
use mush_platform::bus::Consumer;
use mush_protocol::{GameMessage, GameMessageKind};
use tokio::sync::mpsc::error::TrySendError;

use crate::gateway::Gateway;
use crate::limits::HeldBytes;

/// What one queued message costs beyond its text: the queue slot, the shared pointer, the
/// accounting guard.
const QUEUED_OVERHEAD: usize = 64;

/// One message on a session's queue, counted against the connection's output bound and the
/// gateway's memory budget until the session has taken it off (or the queue is dropped).
pub struct Queued {
    pub message: Arc<GameMessage>,
    pub held: HeldBytes,
}

/// The bytes a queued message holds for one connection. A message sent to many connections
/// is stored once but counted for each: the count is an upper bound, never an underestimate.
pub fn queued_cost(message: &GameMessage) -> usize {
    let text = match &message.kind {
        GameMessageKind::Text { text } | GameMessageKind::Prompt { text } => text.len(),
        GameMessageKind::Gmcp { package, json } => package.len() + json.len(),
        GameMessageKind::Msdp { variable, value } => variable.len() + value.len(),
        GameMessageKind::Disconnect { message, .. } => message.len(),
        GameMessageKind::Session { .. } | GameMessageKind::Unknown => 0,
    };
    text + QUEUED_OVERHEAD
}

/// Whether `size` more bytes for a connection that holds `held` pass its bound. A message
/// alone always fits, so one large message never closes a client that reads.
pub fn over_output_bound(held: usize, size: usize, bound: usize) -> bool {
    held > 0 && held.saturating_add(size) > bound
}

pub async fn run(gw: Arc<Gateway>, consumer: Consumer, stop: Shutdown) {
    loop {
        if gw.memory.is_over() {
            tracing::debug!(
                held = gw.memory.held(),
                "over the memory budget: output waits in Kafka"
            );
            tokio::select! {
                _ = gw.memory.wait_until_under() => {}
                _ = stop.triggered() => return,
            }
        }
        let record = tokio::select! {
            r = consumer.recv() => r,
            _ = stop.triggered() => return,
        };
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "output consumer error");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                continue;
            }
        };
        let message = match GameMessage::decode(&record.payload) {
            Ok(m) => Arc::new(m),
            Err(e) => {
                tracing::warn!(offset = record.offset, error = %e, "undecodable output message skipped");
                continue;
            }
        };
        route(&gw, message);
    }
}

/// Hands one message to every target session of this gateway.
pub fn route(gw: &Gateway, message: Arc<GameMessage>) {
    let size = queued_cost(&message);
    let sessions = gw.sessions.lock().expect("sessions lock");
    for handle in &message.targets {
        if !gw.allocator.owns(*handle) {
            gw.metrics.dropped.inc("foreign");
            continue;
        }
        let Some(link) = sessions.get(handle) else {
            gw.metrics.dropped.inc("unknown_handle");
            continue;
        };
        if link.overflow.is_cancelled() {
            // Closing already: nothing more is queued for it.
            continue;
        }
        if over_output_bound(link.output.bytes(), size, gw.config.output_queue_bytes) {
            gw.metrics.limit("output_queue_bytes");
            tracing::warn!(%handle, held = link.output.bytes(), "client is not reading its output: closing it");
            link.overflow.cancel();
            continue;
        }
        let queued = Queued {
            message: message.clone(),
            held: gw.memory.hold(Some(&link.output), size),
        };
        match link.tx.try_send(queued) {
            Ok(()) => gw.metrics.output_queue_depth.inc(),
            Err(TrySendError::Full(_)) => {
                gw.metrics.limit("output_overflow");
                tracing::warn!(%handle, "client is not reading its output: closing it");
                link.overflow.cancel();
            }
            Err(TrySendError::Closed(_)) => {
                gw.metrics.dropped.inc("unknown_handle");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mush_protocol::{DisconnectReason, Handle};

    fn to_one(kind: GameMessageKind) -> GameMessage {
        GameMessage::to(vec![Handle::from_u64(1)], kind)
    }

    #[test]
    fn a_message_costs_its_text_and_a_constant() {
        let text = to_one(GameMessageKind::Text {
            text: "x".repeat(1000),
        });
        assert_eq!(queued_cost(&text), 1000 + QUEUED_OVERHEAD);
        let gmcp = to_one(GameMessageKind::Gmcp {
            package: "Char.Vitals".into(),
            json: r#"{"hp":1}"#.into(),
        });
        assert_eq!(queued_cost(&gmcp), 11 + 8 + QUEUED_OVERHEAD);
        let bye = to_one(GameMessageKind::Disconnect {
            reason: DisconnectReason::Quit,
            message: "Goodbye.".into(),
        });
        assert_eq!(queued_cost(&bye), 8 + QUEUED_OVERHEAD);
        assert_eq!(
            queued_cost(&to_one(GameMessageKind::Session { logged_in: true })),
            QUEUED_OVERHEAD
        );
    }

    #[test]
    fn the_output_bound_closes_a_queue_that_grows_but_not_one_big_message() {
        assert!(!over_output_bound(0, 10_000_000, 262_144), "alone it fits");
        assert!(
            !over_output_bound(200_000, 62_144, 262_144),
            "exactly at the bound"
        );
        assert!(over_output_bound(200_000, 62_145, 262_144));
        assert!(
            over_output_bound(1, usize::MAX, 262_144),
            "no overflow in the sum"
        );
    }
}
