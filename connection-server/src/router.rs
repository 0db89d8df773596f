//! Step 3 of a command's journey: the consumer of this gateway's own output partition puts each
//! message on the target connections' bounded queues. A full queue means the client stopped
//! reading: that connection is closed, never allowed to grow memory or hold up the others.

use std::sync::Arc;

use mush_platform::Shutdown;
use mush_platform::bus::Consumer;
use mush_protocol::GameMessage;
use tokio::sync::mpsc::error::TrySendError;

use crate::gateway::Gateway;

pub async fn run(gw: Arc<Gateway>, consumer: Consumer, stop: Shutdown) {
    loop {
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
    let sessions = gw.sessions.lock().expect("sessions lock");
    for handle in &message.targets {
        if !gw.allocator.owns(*handle) {
            gw.metrics.output_dropped.with_label_values(&["foreign"]).inc();
            continue;
        }
        let Some(link) = sessions.get(handle) else {
            gw.metrics
                .output_dropped
                .with_label_values(&["unknown_handle"])
                .inc();
            continue;
        };
        match link.tx.try_send(message.clone()) {
            Ok(()) => gw.metrics.output_queue_depth.inc(),
            Err(TrySendError::Full(_)) => {
                if !link.overflow.is_cancelled() {
                    gw.metrics.limit("output_overflow");
                    tracing::warn!(%handle, "client is not reading its output: closing it");
                    link.overflow.cancel();
                }
            }
            Err(TrySendError::Closed(_)) => {
                gw.metrics
                    .output_dropped
                    .with_label_values(&["unknown_handle"])
                    .inc();
            }
        }
    }
}
