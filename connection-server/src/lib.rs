//! The MUSH gateway (connection-server): owns players' sockets and the telnet protocol, and
//! forwards everything to the game over Kafka. It never interprets game commands.
//!
//! * [`gateway`]: start-up, accept loop, draining.
//! * [`session`]: one connection of any transport (read, publish, write, limits).
//! * [`codec`]: the protocol a connection speaks (telnet, or the browser's JSON); [`link`]: its
//!   socket (TCP, TLS, WebSocket).
//! * [`web`]: the web port (the browser client and its WebSocket); [`tls`]: certificates.
//! * [`router`]: this gateway's output partition → the sessions' queues.
//! * [`telnet`]: the telnet codec (pure).
//! * [`limits`]: the input budgets, the memory budget and the per-address limits (pure).

pub mod codec;
pub mod config;
pub mod gateway;
pub mod limits;
pub mod link;
pub mod metrics;
pub mod router;
pub mod session;
pub mod telnet;
pub mod tls;
pub mod web;
