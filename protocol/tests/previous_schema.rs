//! Rolling upgrades run old and new servers side by side, so each must read the other's messages.
//!
//! `v1` below is a frozen copy of the schema as first shipped (SCHEMA_VERSION 1). It must never be
//! edited: when the schema changes, the current code must still read what `v1` writes, and `v1`
//! must still read what the current code writes. `v2` stands for a future writer that adds a field
//! and new message kinds; the current code must skip the field and surface the kinds as Unknown.

use std::collections::HashMap;

use bytes::Bytes;
use mush_protocol::{
    DisconnectReason, GameMessage, GameMessageKind, GatewayEvent, GatewayEventKind, Handle, Timestamp,
    Transport,
};
use prost::Message;

#[allow(dead_code)]
mod v1 {
    use std::collections::HashMap;

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct GatewayEnvelope {
        #[prost(uint32, tag = "1")]
        pub version: u32,
        #[prost(fixed64, tag = "2")]
        pub handle: u64,
        #[prost(int64, tag = "3")]
        pub at_micros: i64,
        #[prost(map = "string, string", tag = "4")]
        pub trace: HashMap<String, String>,
        #[prost(oneof = "GatewayKind", tags = "10, 11, 12, 13, 14, 15, 16")]
        pub kind: Option<GatewayKind>,
    }

    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum GatewayKind {
        #[prost(message, tag = "10")]
        Connected(Connected),
        #[prost(message, tag = "11")]
        Input(Input),
        #[prost(message, tag = "12")]
        Gmcp(Gmcp),
        #[prost(message, tag = "13")]
        WindowSize(WindowSize),
        #[prost(message, tag = "14")]
        ClientInfo(ClientInfo),
        #[prost(message, tag = "15")]
        Disconnected(Disconnected),
        #[prost(message, tag = "16")]
        Msdp(Msdp),
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
        #[prost(bytes = "vec", tag = "1")]
        pub line: Vec<u8>,
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

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct GameEnvelope {
        #[prost(uint32, tag = "1")]
        pub version: u32,
        #[prost(fixed64, repeated, tag = "2")]
        pub targets: Vec<u64>,
        #[prost(int64, tag = "3")]
        pub input_at_micros: i64,
        #[prost(map = "string, string", tag = "4")]
        pub trace: HashMap<String, String>,
        #[prost(message, optional, tag = "5")]
        pub origin: Option<Origin>,
        #[prost(oneof = "GameKind", tags = "10, 11, 12, 13, 14")]
        pub kind: Option<GameKind>,
    }

    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum GameKind {
        #[prost(message, tag = "10")]
        Text(Text),
        #[prost(message, tag = "11")]
        Prompt(Text),
        #[prost(message, tag = "12")]
        Gmcp(Gmcp),
        #[prost(message, tag = "13")]
        Disconnect(Disconnected),
        #[prost(message, tag = "14")]
        Msdp(Msdp),
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
}

/// A future writer: adds an envelope field, a field inside `Input`, and new kinds on both topics.
mod v2 {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct GatewayEnvelope {
        #[prost(uint32, tag = "1")]
        pub version: u32,
        #[prost(fixed64, tag = "2")]
        pub handle: u64,
        #[prost(int64, tag = "3")]
        pub at_micros: i64,
        #[prost(string, tag = "5")]
        pub region: String,
        #[prost(oneof = "GatewayKind", tags = "11, 18")]
        pub kind: Option<GatewayKind>,
    }

    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum GatewayKind {
        #[prost(message, tag = "11")]
        Input(Input),
        #[prost(message, tag = "18")]
        Resumed(Resumed),
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Input {
        #[prost(bytes = "vec", tag = "1")]
        pub line: Vec<u8>,
        // Tags 2 and 3 carry a sealed line's key id and nonce (current schema): a newer
        // writer's field takes the next free tag.
        #[prost(bool, tag = "4")]
        pub echo_off: bool,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Resumed {
        #[prost(string, tag = "1")]
        pub token: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct GameEnvelope {
        #[prost(uint32, tag = "1")]
        pub version: u32,
        #[prost(fixed64, repeated, tag = "2")]
        pub targets: Vec<u64>,
        #[prost(oneof = "GameKind", tags = "99")]
        pub kind: Option<GameKind>,
    }

    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum GameKind {
        // A tag no version of ours uses yet (15 became `Session`).
        #[prost(message, tag = "99")]
        Sound(Sound),
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sound {
        #[prost(string, tag = "1")]
        pub url: String,
    }
}

fn handle() -> Handle {
    "4.2.1000".parse().unwrap()
}

#[test]
fn current_code_reads_what_version_1_wrote() {
    let written = v1::GatewayEnvelope {
        version: 1,
        handle: handle().to_u64(),
        at_micros: 1_700_000_000_123_456,
        trace: HashMap::from([("traceparent".to_owned(), "00-aa-bb-01".to_owned())]),
        kind: Some(v1::GatewayKind::Connected(v1::Connected {
            peer_addr: "10.1.2.3:5555".into(),
            transport: 1,
            gateway: "gw-a".into(),
        })),
    }
    .encode_to_vec();
    let ev = GatewayEvent::decode(&written).unwrap();
    assert_eq!(ev.handle, handle());
    assert_eq!(ev.at, Timestamp::from_micros(1_700_000_000_123_456));
    assert_eq!(ev.trace["traceparent"], "00-aa-bb-01");
    assert_eq!(
        ev.kind,
        GatewayEventKind::Connected {
            peer_addr: "10.1.2.3:5555".into(),
            transport: Transport::Telnet,
            gateway: "gw-a".into()
        }
    );

    let written = v1::GameEnvelope {
        version: 1,
        targets: vec![handle().to_u64(), handle().to_u64() + 1],
        input_at_micros: 0,
        trace: HashMap::new(),
        origin: Some(v1::Origin {
            partition: 1,
            offset: 77,
            seq: 0,
        }),
        kind: Some(v1::GameKind::Disconnect(v1::Disconnected {
            reason: 2,
            detail: "Goodbye.".into(),
        })),
    }
    .encode_to_vec();
    let msg = GameMessage::decode(&written).unwrap();
    assert_eq!(msg.targets.len(), 2);
    assert_eq!(msg.input_at, None);
    assert_eq!(
        msg.origin.map(|o| (o.partition, o.offset, o.seq)),
        Some((1, 77, 0))
    );
    assert_eq!(
        msg.kind,
        GameMessageKind::Disconnect {
            reason: DisconnectReason::Quit,
            message: "Goodbye.".into()
        }
    );
}

#[test]
fn version_1_reads_what_current_code_writes() {
    let ev = GatewayEvent::new(
        handle(),
        GatewayEventKind::Input {
            line: Bytes::from_static(b"look"),
        },
    );
    let old = v1::GatewayEnvelope::decode(ev.encode().as_slice()).unwrap();
    assert_eq!(old.handle, handle().to_u64());
    assert_eq!(
        old.kind,
        Some(v1::GatewayKind::Input(v1::Input {
            line: b"look".to_vec()
        }))
    );

    let msg = GameMessage::text(handle(), "You see a lobby.");
    let old = v1::GameEnvelope::decode(msg.encode().as_slice()).unwrap();
    assert_eq!(old.targets, vec![handle().to_u64()]);
    assert_eq!(
        old.kind,
        Some(v1::GameKind::Text(v1::Text {
            text: "You see a lobby.".into()
        }))
    );
}

#[test]
fn a_newer_writers_fields_are_skipped_and_its_new_kinds_are_unknown() {
    let with_new_field = v2::GatewayEnvelope {
        version: 2,
        handle: handle().to_u64(),
        at_micros: 7,
        region: "eu".into(),
        kind: Some(v2::GatewayKind::Input(v2::Input {
            line: b"say hi".to_vec(),
            echo_off: true,
        })),
    };
    let ev = GatewayEvent::decode(&with_new_field.encode_to_vec()).unwrap();
    assert_eq!(
        ev.kind,
        GatewayEventKind::Input {
            line: Bytes::from_static(b"say hi")
        }
    );

    let new_kind = v2::GatewayEnvelope {
        kind: Some(v2::GatewayKind::Resumed(v2::Resumed { token: "t".into() })),
        ..with_new_field
    };
    let ev = GatewayEvent::decode(&new_kind.encode_to_vec()).unwrap();
    assert_eq!(ev.handle, handle());
    assert_eq!(ev.kind, GatewayEventKind::Unknown);

    let sound = v2::GameEnvelope {
        version: 2,
        targets: vec![handle().to_u64()],
        kind: Some(v2::GameKind::Sound(v2::Sound { url: "x.ogg".into() })),
    };
    let msg = GameMessage::decode(&sound.encode_to_vec()).unwrap();
    assert_eq!(msg.targets, vec![handle()]);
    assert_eq!(msg.kind, GameMessageKind::Unknown);
}

/// The bytes of one version-1 input event, pinned: a change to tags or field types breaks this.
#[test]
fn version_1_bytes_are_pinned() {
    let mut ev = GatewayEvent::new(
        handle(),
        GatewayEventKind::Input {
            line: Bytes::from_static(b"hi"),
        },
    );
    ev.at = Timestamp::from_micros(1);
    let hex: String = ev.encode().iter().map(|b| format!("{b:02x}")).collect();
    // version=1, handle (fixed64 LE), at=1, input{line="hi"}
    assert_eq!(hex, "0801_11e803000002004000_1801_5a04_0a026869".replace('_', ""));
}
