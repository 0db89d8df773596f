//! The protobuf wire schema (written with prost's derive, no `.proto` build step).
//!
//! Rules for changing it, so that old and new servers read each other during a rolling upgrade:
//! never renumber or reuse a tag, never change a field's type, add new fields and new `oneof`
//! variants with fresh tags. Readers skip unknown fields; an unknown `oneof` variant decodes to
//! `None` and is surfaced as `Unknown` by the typed layer in `messages.rs`.
//! `protocol/tests/previous_schema.rs` keeps a frozen copy of version 1 and checks both directions.

use std::collections::HashMap;

/// Gateway → game, on the input topic.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GatewayEnvelope {
    #[prost(uint32, tag = "1")]
    pub version: u32,
    #[prost(fixed64, tag = "2")]
    pub handle: u64,
    /// When the gateway read the bytes (or saw the event), microseconds since the Unix epoch.
    #[prost(int64, tag = "3")]
    pub at_micros: i64,
    /// W3C trace context (`traceparent`, `tracestate`).
    #[prost(map = "string, string", tag = "4")]
    pub trace: HashMap<String, String>,
    #[prost(oneof = "gateway_kind::Kind", tags = "10, 11, 12, 13, 14, 15, 16, 17")]
    pub kind: Option<gateway_kind::Kind>,
}

pub mod gateway_kind {
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Kind {
        #[prost(message, tag = "10")]
        Connected(super::Connected),
        #[prost(message, tag = "11")]
        Input(super::Input),
        #[prost(message, tag = "12")]
        Gmcp(super::Gmcp),
        #[prost(message, tag = "13")]
        WindowSize(super::WindowSize),
        #[prost(message, tag = "14")]
        ClientInfo(super::ClientInfo),
        #[prost(message, tag = "15")]
        Disconnected(super::Disconnected),
        #[prost(message, tag = "16")]
        Msdp(super::Msdp),
        #[prost(message, tag = "17")]
        Timer(super::Timer),
    }
}

/// The game-server's own timer: queue entry `entry` is due (written by the game-server to its
/// input topic, so the entry runs exactly once, in order with the players' input).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Timer {
    #[prost(uint64, tag = "1")]
    pub entry: u64,
    /// When the entry is due (µs since the epoch): an entry runs only for its own timer.
    #[prost(int64, tag = "2")]
    pub due_micros: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Connected {
    #[prost(string, tag = "1")]
    pub peer_addr: String,
    #[prost(int32, tag = "2")]
    pub transport: i32,
    #[prost(string, tag = "3")]
    pub gateway: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Input {
    /// The line, or with `key_id` set its ciphertext (see `GatewayEventKind::SealedInput`).
    #[prost(bytes = "bytes", tag = "1")]
    pub line: bytes::Bytes,
    #[prost(uint32, tag = "2")]
    pub key_id: u32,
    #[prost(bytes = "bytes", tag = "3")]
    pub nonce: bytes::Bytes,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Gmcp {
    #[prost(string, tag = "1")]
    pub package: String,
    #[prost(string, tag = "2")]
    pub json: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Msdp {
    #[prost(string, tag = "1")]
    pub variable: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct WindowSize {
    #[prost(uint32, tag = "1")]
    pub width: u32,
    #[prost(uint32, tag = "2")]
    pub height: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ClientInfo {
    #[prost(string, tag = "1")]
    pub terminal_type: String,
    #[prost(uint32, tag = "2")]
    pub mtts: u32,
    #[prost(string, tag = "3")]
    pub charset: String,
    #[prost(bool, tag = "4")]
    pub gmcp: bool,
    #[prost(bool, tag = "5")]
    pub msdp: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Disconnected {
    #[prost(int32, tag = "1")]
    pub reason: i32,
    #[prost(string, tag = "2")]
    pub detail: String,
}

/// Game → gateway, on the output topic, in the partition of the target gateway's slot.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GameEnvelope {
    #[prost(uint32, tag = "1")]
    pub version: u32,
    /// One handle for a unicast, several (all of one gateway) for a multicast.
    #[prost(fixed64, repeated, tag = "2")]
    pub targets: Vec<u64>,
    /// When the gateway read the input that caused this output; 0 when none did.
    #[prost(int64, tag = "3")]
    pub input_at_micros: i64,
    #[prost(map = "string, string", tag = "4")]
    pub trace: HashMap<String, String>,
    /// The input that caused this output, so a gateway can drop a copy re-sent after a crash.
    #[prost(message, optional, tag = "5")]
    pub origin: Option<Origin>,
    #[prost(oneof = "game_kind::Kind", tags = "10, 11, 12, 13, 14, 15")]
    pub kind: Option<game_kind::Kind>,
}

pub mod game_kind {
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Kind {
        #[prost(message, tag = "10")]
        Text(super::Text),
        #[prost(message, tag = "11")]
        Prompt(super::Text),
        #[prost(message, tag = "12")]
        Gmcp(super::Gmcp),
        #[prost(message, tag = "13")]
        Disconnect(super::Disconnected),
        #[prost(message, tag = "14")]
        Msdp(super::Msdp),
        #[prost(message, tag = "15")]
        Session(super::Session),
    }
}

/// The game's word on a connection's login state (added after v1: old gateways skip it).
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Session {
    #[prost(bool, tag = "1")]
    pub logged_in: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Text {
    #[prost(string, tag = "1")]
    pub text: String,
}

#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Origin {
    #[prost(int32, tag = "1")]
    pub partition: i32,
    #[prost(int64, tag = "2")]
    pub offset: i64,
    #[prost(uint32, tag = "3")]
    pub seq: u32,
}
