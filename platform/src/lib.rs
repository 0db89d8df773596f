//! Shared I/O for the MUSH servers.
//!
//! * [`bus`]: the Kafka producer and consumers (rdkafka), and topic creation.
//! * [`store`]: the Redis connection-state store (fred), critical and coalesced writes.
//! * [`lease`]: Redis leases with fencing tokens (gateway slots, game-server leadership).
//! * [`deps`]: the Redis and Kafka readiness checks every server has.
//! * [`health`]: `/livez`, `/readyz`, `/metrics` (axum, prometheus).
//! * [`telemetry`]: logs and OTLP traces.
//! * [`runtime`]: the boot sequence and phased stop every server shares.
//! * [`shutdown`]: the shutdown signal every task watches.
//! * [`retry`]: retrying with backoff until success, the last attempt, or a stop.
//! * [`sealing`]: input lines encrypted between gateway and game-server.
//!
//! The development stack (a real redis-server, the embedded Kafka broker, test clients) is the
//! `mush-devstack` crate: nothing of it ships in the servers.

pub mod bus;
pub mod deps;
pub mod health;
pub mod lease;
pub mod metrics;
pub mod redis;
pub mod retry;
pub mod runtime;
pub mod sealing;
pub mod shutdown;
pub mod store;
pub mod telemetry;

pub use shutdown::Shutdown;
