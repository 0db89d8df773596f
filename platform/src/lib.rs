//! Shared I/O for the MUSH servers.
//!
//! * [`bus`]: the Kafka producer and consumers (rdkafka), and topic creation.
//! * [`store`]: the Redis connection-state store (fred), critical and coalesced writes.
//! * [`lease`]: Redis leases with fencing tokens (gateway slots, game-server leadership).
//! * [`health`]: `/livez`, `/readyz`, `/metrics` (axum, prometheus).
//! * [`telemetry`]: logs and OTLP traces.
//! * [`shutdown`]: the shutdown signal every task watches.

pub mod bus;
pub mod health;
pub mod lease;
pub mod metrics;
pub mod redis;
pub mod shutdown;
pub mod store;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

pub use shutdown::Shutdown;
