//! The MUSH gateway (connection-server): owns players' sockets and the telnet protocol, and
//! forwards everything to the game over Kafka. It never interprets game commands.
//!
//! * [`gateway`]: start-up, accept loop, draining.
//! * [`session`]: one connection (read, publish, write, limits).
//! * [`router`]: this gateway's output partition → the sessions' queues.
//! * [`telnet`]: the telnet codec (pure).
//! * [`limits`]: the input budgets, the memory budget and the per-address limits (pure).

pub mod config;
pub mod gateway;
pub mod limits;
pub mod metrics;
pub mod router;
pub mod session;
pub mod telnet;
