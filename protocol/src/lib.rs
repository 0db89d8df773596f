//! The contract between the MUSH gateway (connection-server) and the game-server.
//!
//! Everything both sides must agree on lives here and nowhere else: how connections are named
//! ([`handle`]), what travels between the servers and how it is encoded ([`messages`]), which
//! Kafka topics and partitions carry it ([`topics`]), and where connection state sits in Redis
//! ([`keys`]). This crate does no I/O.

pub mod figures;
pub mod handle;
pub mod keys;
pub mod messages;
pub mod topics;
mod wire;

pub use handle::{Handle, HandleAllocator, HandleError, Slot};
pub use keys::{ConnectionRecord, ConnectionState, RedisKeys};
pub use messages::{
    ClientInfo, DecodeError, DisconnectReason, GameMessage, GameMessageKind, GatewayEvent, GatewayEventKind,
    Origin, SCHEMA_VERSION, Timestamp, TraceContext, Transport,
};
pub use topics::Topics;
