//! The two message families, as typed Rust values, and their encoding.
//!
//! * [`GatewayEvent`]: gateway → game, on the input topic, keyed by handle. Per connection the
//!   order is `Connected` < `Input` / `Gmcp` / `WindowSize` / … < `Disconnected`.
//! * [`GameMessage`]: game → gateway, on the output topic, in the partition of the gateway that
//!   holds the target sockets. One message may target many handles of that gateway (multicast),
//!   so a `say` to a room of fifty is one message per gateway.
//!
//! Encoding is protobuf (see `wire.rs`). Decoding is tolerant: fields a newer writer added are
//! skipped, kinds a newer writer added come back as `Unknown`, never as an error.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use prost::Message as _;

use crate::handle::Handle;
use crate::wire;

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = 1;

/// A point in time, microseconds since the Unix epoch: what travels on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn now() -> Self {
        SystemTime::now().into()
    }

    pub fn from_micros(micros: i64) -> Self {
        Timestamp(micros)
    }

    pub fn as_micros(self) -> i64 {
        self.0
    }

    /// Seconds since the Unix epoch (what MUSH functions such as `secs()` show).
    pub fn as_secs(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    /// Time from `self` to `later`, zero if `later` is not later.
    pub fn until(self, later: Timestamp) -> Duration {
        Duration::from_micros(later.0.saturating_sub(self.0).max(0) as u64)
    }

    /// Time from `self` to now, zero if `self` is in the future.
    pub fn elapsed(self) -> Duration {
        self.until(Timestamp::now())
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp(d.as_micros().min(i64::MAX as u128) as i64),
            Err(e) => Timestamp(-(e.duration().as_micros().min(i64::MAX as u128) as i64)),
        }
    }
}

/// W3C trace context carried with a message (`traceparent`, `tracestate`), so one command can be
/// followed across processes. Empty when tracing is off.
pub type TraceContext = HashMap<String, String>;

/// How the player reached the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Telnet,
    TelnetTls,
    WebSocket,
    /// Written by a newer version.
    Unknown,
}

impl Transport {
    fn to_wire(self) -> i32 {
        match self {
            Transport::Unknown => 0,
            Transport::Telnet => 1,
            Transport::TelnetTls => 2,
            Transport::WebSocket => 3,
        }
    }

    fn from_wire(n: i32) -> Self {
        match n {
            1 => Transport::Telnet,
            2 => Transport::TelnetTls,
            3 => Transport::WebSocket,
            _ => Transport::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Telnet => "telnet",
            Transport::TelnetTls => "tls",
            Transport::WebSocket => "websocket",
            Transport::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "telnet" => Transport::Telnet,
            "tls" => Transport::TelnetTls,
            "websocket" => Transport::WebSocket,
            _ => Transport::Unknown,
        }
    }
}

/// Why a connection ended (or is asked to end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// The client closed the socket or the network dropped it.
    ClientClosed,
    /// The player typed QUIT (or the game ended the session for its own reason).
    Quit,
    /// The game removed the player (e.g. an administrator's boot).
    Kicked,
    IdleTimeout,
    /// The client stopped reading and its output queue filled up.
    OutputOverflow,
    /// The client broke the protocol beyond repair (e.g. an endless subnegotiation).
    ProtocolError,
    /// The gateway drained and closed what remained.
    GatewayShutdown,
    /// The gateway died; its records were swept by the next life of its slot.
    GatewayLost,
    /// Written by a newer version.
    Unknown,
}

impl DisconnectReason {
    /// Every reason a current writer sends (not `Unknown`).
    pub const ALL: [DisconnectReason; 8] = [
        DisconnectReason::ClientClosed,
        DisconnectReason::Quit,
        DisconnectReason::Kicked,
        DisconnectReason::IdleTimeout,
        DisconnectReason::OutputOverflow,
        DisconnectReason::ProtocolError,
        DisconnectReason::GatewayShutdown,
        DisconnectReason::GatewayLost,
    ];

    fn to_wire(self) -> i32 {
        match self {
            DisconnectReason::Unknown => 0,
            DisconnectReason::ClientClosed => 1,
            DisconnectReason::Quit => 2,
            DisconnectReason::Kicked => 3,
            DisconnectReason::IdleTimeout => 4,
            DisconnectReason::OutputOverflow => 5,
            DisconnectReason::ProtocolError => 6,
            DisconnectReason::GatewayShutdown => 7,
            DisconnectReason::GatewayLost => 8,
        }
    }

    fn from_wire(n: i32) -> Self {
        Self::ALL
            .into_iter()
            .find(|r| r.to_wire() == n)
            .unwrap_or(DisconnectReason::Unknown)
    }

    /// A stable label, for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::ClientClosed => "client_closed",
            DisconnectReason::Quit => "quit",
            DisconnectReason::Kicked => "kicked",
            DisconnectReason::IdleTimeout => "idle_timeout",
            DisconnectReason::OutputOverflow => "output_overflow",
            DisconnectReason::ProtocolError => "protocol_error",
            DisconnectReason::GatewayShutdown => "gateway_shutdown",
            DisconnectReason::GatewayLost => "gateway_lost",
            DisconnectReason::Unknown => "unknown",
        }
    }
}

/// What the client told the gateway about itself (TTYPE / MTTS / CHARSET / negotiated options).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientInfo {
    pub terminal_type: String,
    /// MTTS capability bits (ANSI 1, VT100 2, UTF-8 4, 256 colours 8, …).
    pub mtts: u32,
    pub charset: String,
    pub gmcp: bool,
    pub msdp: bool,
}

/// Gateway → game.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayEvent {
    pub handle: Handle,
    /// When the gateway read the input or saw the event.
    pub at: Timestamp,
    pub trace: TraceContext,
    pub kind: GatewayEventKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum GatewayEventKind {
    Connected {
        peer_addr: String,
        transport: Transport,
        /// The gateway's instance name (pod name), for operators reading records.
        gateway: String,
    },
    /// One complete line, as read (after telnet decoding and charset conversion to UTF-8 where
    /// the charset was known); may still hold bytes that are not UTF-8.
    Input {
        line: Bytes,
    },
    /// An input line encrypted by the gateway for the game-server (authenticated encryption
    /// with a key they share, bound to the connection's handle), so what players type
    /// (passwords included) is never written in clear to the input topic. On the wire it is an
    /// `Input` whose `key_id` is set; a reader without the key sees only ciphertext.
    SealedInput {
        key_id: u32,
        nonce: Bytes,
        ciphertext: Bytes,
    },
    Gmcp {
        package: String,
        json: String,
    },
    Msdp {
        variable: String,
        value: String,
    },
    WindowSize {
        width: u16,
        height: u16,
    },
    ClientInfo(ClientInfo),
    Disconnected {
        reason: DisconnectReason,
        detail: String,
    },
    /// The game-server's own: its queue entry `entry` is due (`@wait`). Written by the
    /// game-server to the input topic under [`Handle::GAME`], so a queued command runs exactly
    /// once, like input, and survives restarts; a gateway never writes it.
    Timer {
        entry: u64,
        /// When it is due: a timer for an entry that was replaced (same id, other time) does
        /// nothing.
        due: Timestamp,
    },
    /// A kind this version does not know (written by a newer version): skip it.
    Unknown,
}

impl GatewayEventKind {
    /// A stable label, for logs and metric labels.
    pub fn label(&self) -> &'static str {
        match self {
            GatewayEventKind::Connected { .. } => "connected",
            GatewayEventKind::Input { .. } | GatewayEventKind::SealedInput { .. } => "input",
            GatewayEventKind::Gmcp { .. } => "gmcp",
            GatewayEventKind::Msdp { .. } => "msdp",
            GatewayEventKind::WindowSize { .. } => "window_size",
            GatewayEventKind::ClientInfo(_) => "client_info",
            GatewayEventKind::Disconnected { .. } => "disconnected",
            GatewayEventKind::Timer { .. } => "timer",
            GatewayEventKind::Unknown => "unknown",
        }
    }
}

/// The bytes could not be read as a message at all (not a newer version's message: those decode).
#[derive(Debug, thiserror::Error)]
#[error("undecodable {what} message: {source}")]
pub struct DecodeError {
    what: &'static str,
    #[source]
    source: prost::DecodeError,
}

impl GatewayEvent {
    pub fn new(handle: Handle, kind: GatewayEventKind) -> Self {
        Self {
            handle,
            at: Timestamp::now(),
            trace: TraceContext::new(),
            kind,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        use wire::gateway_kind::Kind;
        let kind = match &self.kind {
            GatewayEventKind::Connected {
                peer_addr,
                transport,
                gateway,
            } => Some(Kind::Connected(wire::Connected {
                peer_addr: peer_addr.clone(),
                transport: transport.to_wire(),
                gateway: gateway.clone(),
            })),
            GatewayEventKind::Input { line } => Some(Kind::Input(wire::Input {
                line: line.clone(),
                key_id: 0,
                nonce: Bytes::new(),
            })),
            GatewayEventKind::SealedInput {
                key_id,
                nonce,
                ciphertext,
            } => Some(Kind::Input(wire::Input {
                line: ciphertext.clone(),
                key_id: *key_id,
                nonce: nonce.clone(),
            })),
            GatewayEventKind::Gmcp { package, json } => Some(Kind::Gmcp(wire::Gmcp {
                package: package.clone(),
                json: json.clone(),
            })),
            GatewayEventKind::Msdp { variable, value } => Some(Kind::Msdp(wire::Msdp {
                variable: variable.clone(),
                value: value.clone(),
            })),
            GatewayEventKind::WindowSize { width, height } => Some(Kind::WindowSize(wire::WindowSize {
                width: (*width).into(),
                height: (*height).into(),
            })),
            GatewayEventKind::ClientInfo(info) => Some(Kind::ClientInfo(wire::ClientInfo {
                terminal_type: info.terminal_type.clone(),
                mtts: info.mtts,
                charset: info.charset.clone(),
                gmcp: info.gmcp,
                msdp: info.msdp,
            })),
            GatewayEventKind::Disconnected { reason, detail } => {
                Some(Kind::Disconnected(wire::Disconnected {
                    reason: reason.to_wire(),
                    detail: detail.clone(),
                }))
            }
            GatewayEventKind::Timer { entry, due } => Some(Kind::Timer(wire::Timer {
                entry: *entry,
                due_micros: due.as_micros(),
            })),
            GatewayEventKind::Unknown => None,
        };
        wire::GatewayEnvelope {
            version: SCHEMA_VERSION,
            handle: self.handle.to_u64(),
            at_micros: self.at.as_micros(),
            trace: self.trace.clone(),
            kind,
        }
        .encode_to_vec()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        use wire::gateway_kind::Kind;
        let env = wire::GatewayEnvelope::decode(bytes).map_err(|source| DecodeError {
            what: "gateway event",
            source,
        })?;
        let kind = match env.kind {
            Some(Kind::Connected(c)) => GatewayEventKind::Connected {
                peer_addr: c.peer_addr,
                transport: Transport::from_wire(c.transport),
                gateway: c.gateway,
            },
            Some(Kind::Input(i)) if i.key_id != 0 => GatewayEventKind::SealedInput {
                key_id: i.key_id,
                nonce: i.nonce,
                ciphertext: i.line,
            },
            Some(Kind::Input(i)) => GatewayEventKind::Input { line: i.line },
            Some(Kind::Gmcp(g)) => GatewayEventKind::Gmcp {
                package: g.package,
                json: g.json,
            },
            Some(Kind::Msdp(m)) => GatewayEventKind::Msdp {
                variable: m.variable,
                value: m.value,
            },
            Some(Kind::WindowSize(w)) => GatewayEventKind::WindowSize {
                width: w.width.min(u16::MAX.into()) as u16,
                height: w.height.min(u16::MAX.into()) as u16,
            },
            Some(Kind::ClientInfo(c)) => GatewayEventKind::ClientInfo(ClientInfo {
                terminal_type: c.terminal_type,
                mtts: c.mtts,
                charset: c.charset,
                gmcp: c.gmcp,
                msdp: c.msdp,
            }),
            Some(Kind::Disconnected(d)) => GatewayEventKind::Disconnected {
                reason: DisconnectReason::from_wire(d.reason),
                detail: d.detail,
            },
            Some(Kind::Timer(t)) => GatewayEventKind::Timer {
                entry: t.entry,
                due: Timestamp::from_micros(t.due_micros),
            },
            None => GatewayEventKind::Unknown,
        };
        Ok(GatewayEvent {
            handle: Handle::from_u64(env.handle),
            at: Timestamp::from_micros(env.at_micros),
            trace: env.trace,
            kind,
        })
    }
}

/// Which input caused an output, and its place among that input's outputs.
///
/// Input of one connection lives in one partition, so for one target the origins of the outputs
/// it receives from one partition only grow. A game-server that re-sends output after a crash
/// re-sends it with the same origin, and the gateway drops what it has already written
/// ([`Origin::is_after`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Origin {
    /// Input partition.
    pub partition: i32,
    /// Offset of the input in that partition.
    pub offset: i64,
    /// Index of this message among the messages that input caused.
    pub seq: u32,
}

impl Origin {
    /// Whether `self` comes after `earlier` from the same partition.
    pub fn is_after(&self, earlier: &Origin) -> bool {
        (self.offset, self.seq) > (earlier.offset, earlier.seq)
    }
}

/// Game → gateway.
#[derive(Debug, Clone, PartialEq)]
pub struct GameMessage {
    /// Every target is held by one gateway (see [`crate::topics::group_by_gateway`]).
    pub targets: Vec<Handle>,
    /// When the gateway read the input this answers; lets the gateway measure end-to-end latency.
    pub input_at: Option<Timestamp>,
    pub trace: TraceContext,
    /// The input that caused it; `None` for output no input caused.
    pub origin: Option<Origin>,
    pub kind: GameMessageKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum GameMessageKind {
    /// Complete lines of text; the gateway ends each with CR LF. Embedded `\n` separate lines.
    Text {
        text: String,
    },
    /// A prompt: written without a line end, followed by EOR or GA as the client negotiated.
    Prompt {
        text: String,
    },
    Gmcp {
        package: String,
        json: String,
    },
    Msdp {
        variable: String,
        value: String,
    },
    /// Close the connection after everything sent before this has been written.
    Disconnect {
        reason: DisconnectReason,
        message: String,
    },
    /// The connection logged in (`true`) or out (`false`). The gateway holds connections that
    /// are not logged in to stricter limits and to a login deadline; it is never shown.
    Session {
        logged_in: bool,
    },
    /// A kind this version does not know (written by a newer version): skip it.
    Unknown,
}

impl GameMessageKind {
    pub fn label(&self) -> &'static str {
        match self {
            GameMessageKind::Text { .. } => "text",
            GameMessageKind::Prompt { .. } => "prompt",
            GameMessageKind::Gmcp { .. } => "gmcp",
            GameMessageKind::Msdp { .. } => "msdp",
            GameMessageKind::Disconnect { .. } => "disconnect",
            GameMessageKind::Session { .. } => "session",
            GameMessageKind::Unknown => "unknown",
        }
    }
}

impl GameMessage {
    pub fn to(targets: Vec<Handle>, kind: GameMessageKind) -> Self {
        Self {
            targets,
            input_at: None,
            trace: TraceContext::new(),
            origin: None,
            kind,
        }
    }

    pub fn text(target: Handle, text: impl Into<String>) -> Self {
        Self::to(vec![target], GameMessageKind::Text { text: text.into() })
    }

    pub fn encode(&self) -> Vec<u8> {
        use wire::game_kind::Kind;
        let kind = match &self.kind {
            GameMessageKind::Text { text } => Some(Kind::Text(wire::Text { text: text.clone() })),
            GameMessageKind::Prompt { text } => Some(Kind::Prompt(wire::Text { text: text.clone() })),
            GameMessageKind::Gmcp { package, json } => Some(Kind::Gmcp(wire::Gmcp {
                package: package.clone(),
                json: json.clone(),
            })),
            GameMessageKind::Msdp { variable, value } => Some(Kind::Msdp(wire::Msdp {
                variable: variable.clone(),
                value: value.clone(),
            })),
            GameMessageKind::Disconnect { reason, message } => Some(Kind::Disconnect(wire::Disconnected {
                reason: reason.to_wire(),
                detail: message.clone(),
            })),
            GameMessageKind::Session { logged_in } => Some(Kind::Session(wire::Session {
                logged_in: *logged_in,
            })),
            GameMessageKind::Unknown => None,
        };
        wire::GameEnvelope {
            version: SCHEMA_VERSION,
            targets: self.targets.iter().map(|h| h.to_u64()).collect(),
            input_at_micros: self.input_at.map_or(0, Timestamp::as_micros),
            trace: self.trace.clone(),
            origin: self.origin.map(|o| wire::Origin {
                partition: o.partition,
                offset: o.offset,
                seq: o.seq,
            }),
            kind,
        }
        .encode_to_vec()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        use wire::game_kind::Kind;
        let env = wire::GameEnvelope::decode(bytes).map_err(|source| DecodeError {
            what: "game message",
            source,
        })?;
        let kind = match env.kind {
            Some(Kind::Text(t)) => GameMessageKind::Text { text: t.text },
            Some(Kind::Prompt(t)) => GameMessageKind::Prompt { text: t.text },
            Some(Kind::Gmcp(g)) => GameMessageKind::Gmcp {
                package: g.package,
                json: g.json,
            },
            Some(Kind::Msdp(m)) => GameMessageKind::Msdp {
                variable: m.variable,
                value: m.value,
            },
            Some(Kind::Disconnect(d)) => GameMessageKind::Disconnect {
                reason: DisconnectReason::from_wire(d.reason),
                message: d.detail,
            },
            Some(Kind::Session(s)) => GameMessageKind::Session {
                logged_in: s.logged_in,
            },
            None => GameMessageKind::Unknown,
        };
        Ok(GameMessage {
            targets: env.targets.into_iter().map(Handle::from_u64).collect(),
            input_at: (env.input_at_micros != 0).then(|| Timestamp::from_micros(env.input_at_micros)),
            trace: env.trace,
            origin: env.origin.map(|o| Origin {
                partition: o.partition,
                offset: o.offset,
                seq: o.seq,
            }),
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handle::Slot;
    use proptest::prelude::*;

    fn handle(n: u32) -> Handle {
        Handle::new(Slot::new(3).unwrap(), 7, n).unwrap()
    }

    fn gateway_kinds() -> Vec<GatewayEventKind> {
        vec![
            GatewayEventKind::Connected {
                peer_addr: "127.0.0.1:50000".into(),
                transport: Transport::WebSocket,
                gateway: "gw-0".into(),
            },
            GatewayEventKind::Input {
                line: Bytes::from_static(b"say hello \xff\x00 world"),
            },
            GatewayEventKind::Gmcp {
                package: "Core.Hello".into(),
                json: r#"{"client":"Mudlet"}"#.into(),
            },
            GatewayEventKind::Timer {
                entry: 42,
                due: Timestamp::from_micros(1_795_507_230_000_000),
            },
            GatewayEventKind::Msdp {
                variable: "HEALTH".into(),
                value: "10".into(),
            },
            GatewayEventKind::WindowSize {
                width: 132,
                height: 50,
            },
            GatewayEventKind::ClientInfo(ClientInfo {
                terminal_type: "MUDLET".into(),
                mtts: 0b1_0000_1101,
                charset: "UTF-8".into(),
                gmcp: true,
                msdp: false,
            }),
            GatewayEventKind::Disconnected {
                reason: DisconnectReason::IdleTimeout,
                detail: "idle for 3600s".into(),
            },
        ]
    }

    #[test]
    fn every_gateway_event_round_trips() {
        for kind in gateway_kinds() {
            let mut ev = GatewayEvent::new(handle(42), kind);
            ev.trace.insert("traceparent".into(), "00-abc-def-01".into());
            assert_eq!(GatewayEvent::decode(&ev.encode()).unwrap(), ev);
        }
    }

    #[test]
    fn every_game_message_round_trips() {
        let kinds = [
            GameMessageKind::Text {
                text: "Hello\nthere".into(),
            },
            GameMessageKind::Prompt { text: "> ".into() },
            GameMessageKind::Gmcp {
                package: "Char.Name".into(),
                json: r#"{"name":"Alice"}"#.into(),
            },
            GameMessageKind::Msdp {
                variable: "ROOM".into(),
                value: "Lobby".into(),
            },
            GameMessageKind::Disconnect {
                reason: DisconnectReason::Quit,
                message: "Goodbye.".into(),
            },
            GameMessageKind::Session { logged_in: true },
            GameMessageKind::Session { logged_in: false },
        ];
        for kind in kinds {
            let mut msg = GameMessage::to(vec![handle(1), handle(2), handle(3)], kind);
            msg.input_at = Some(Timestamp::from_micros(1_700_000_000_000_000));
            msg.origin = Some(Origin {
                partition: 3,
                offset: 1234,
                seq: 2,
            });
            assert_eq!(GameMessage::decode(&msg.encode()).unwrap(), msg);
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(GatewayEvent::decode(&[0xff, 0xff, 0xff]).is_err());
        assert!(GameMessage::decode(&[0x0a, 0x10, 0x01]).is_err());
    }

    #[test]
    fn disconnect_reasons_round_trip_and_unknown_numbers_are_unknown() {
        for r in DisconnectReason::ALL {
            assert_eq!(DisconnectReason::from_wire(r.to_wire()), r);
        }
        assert_eq!(DisconnectReason::from_wire(999), DisconnectReason::Unknown);
        assert_eq!(Transport::from_wire(999), Transport::Unknown);
    }

    proptest! {
        #[test]
        fn decoding_random_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = GatewayEvent::decode(&bytes);
            let _ = GameMessage::decode(&bytes);
        }

        #[test]
        fn input_lines_round_trip(line in proptest::collection::vec(any::<u8>(), 0..512), n: u32) {
            let ev = GatewayEvent::new(handle(n), GatewayEventKind::Input { line: Bytes::from(line) });
            prop_assert_eq!(GatewayEvent::decode(&ev.encode()).unwrap(), ev);
        }
    }

    #[test]
    fn origins_order_by_offset_then_seq() {
        let o = |offset, seq| Origin {
            partition: 0,
            offset,
            seq,
        };
        assert!(o(5, 0).is_after(&o(4, 9)));
        assert!(o(5, 1).is_after(&o(5, 0)));
        assert!(!o(5, 0).is_after(&o(5, 0)));
        assert!(!o(4, 3).is_after(&o(5, 0)));
    }

    #[test]
    fn timestamps_measure_forward_only() {
        let a = Timestamp::from_micros(1_000_000);
        let b = Timestamp::from_micros(3_500_000);
        assert_eq!(a.until(b), Duration::from_micros(2_500_000));
        assert_eq!(b.until(a), Duration::ZERO);
        assert_eq!(b.as_secs(), 3);
    }
}
