//! The Redis key layout and the connection record, in one place.
//!
//! ```text
//! <ns>:conn:<handle>            hash   one connection (fields in [`field`])
//! <ns>:conns                    zset   live handles, scored by connected-at (µs)
//! <ns>:gateway:<slot>:conns     set    handles held by one gateway slot (for sweeping)
//! <ns>:slot:<slot>              string slot lease: owner id, with a TTL
//! <ns>:slot:<slot>:epoch        int    lease counter: each take increments it (fencing token)
//! <ns>:lease:<name>             string any other lease (e.g. the game-server leader), with a TTL
//! <ns>:lease:<name>:fence       int    that lease's fencing counter
//! <ns>:game:applied             hash   input partition → offset up to which every input is applied
//! <ns>:game:ahead:<partition>   zset   inputs applied past that offset (while an earlier login
//!                                      was hashing), scored by offset
//! <ns>:game:attempts            hash   `<partition>:<offset>` → times applying it was started and
//!                                      never finished (crash, hang): poison-event detection
//! <ns>:game:outbox:<partition>  hash   input offset → output of that input not yet acknowledged
//! <ns>:world:objects            hash   object id → object (JSON), owned by the game-server
//! ```

use std::collections::HashMap;

use crate::handle::{Handle, Slot};
use crate::messages::{Timestamp, Transport};

pub const DEFAULT_NAMESPACE: &str = "mush";

/// The game-server's leadership lease (`RedisKeys::lease`): held while a game-server runs the
/// game; the gateways read it to tell browsers the game is restarting.
pub const GAME_LEADER_LEASE: &str = "game-leader";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisKeys {
    ns: String,
}

impl Default for RedisKeys {
    fn default() -> Self {
        Self::new(DEFAULT_NAMESPACE)
    }
}

impl RedisKeys {
    pub fn new(namespace: &str) -> Self {
        Self {
            ns: namespace.to_owned(),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.ns
    }

    pub fn connection(&self, handle: Handle) -> String {
        format!("{}:conn:{handle}", self.ns)
    }

    pub fn live_connections(&self) -> String {
        format!("{}:conns", self.ns)
    }

    pub fn gateway_connections(&self, slot: Slot) -> String {
        format!("{}:gateway:{slot}:conns", self.ns)
    }

    pub fn slot_lease(&self, slot: Slot) -> String {
        format!("{}:slot:{slot}", self.ns)
    }

    pub fn slot_epoch(&self, slot: Slot) -> String {
        format!("{}:slot:{slot}:epoch", self.ns)
    }

    pub fn lease(&self, name: &str) -> String {
        format!("{}:lease:{name}", self.ns)
    }

    pub fn lease_fence(&self, name: &str) -> String {
        format!("{}:lease:{name}:fence", self.ns)
    }

    /// The fencing token of the tenure of lease `name` whose holder serves (for the game-server:
    /// reconciled and reading input), so others can tell "held" from "held and ready".
    pub fn lease_serving(&self, name: &str) -> String {
        format!("{}:lease:{name}:serving", self.ns)
    }

    pub fn applied_offsets(&self) -> String {
        format!("{}:game:applied", self.ns)
    }

    pub fn applied_ahead(&self, partition: i32) -> String {
        format!("{}:game:ahead:{partition}", self.ns)
    }

    pub fn attempts(&self) -> String {
        format!("{}:game:attempts", self.ns)
    }

    pub fn outbox(&self, partition: i32) -> String {
        format!("{}:game:outbox:{partition}", self.ns)
    }

    pub fn world_objects(&self) -> String {
        format!("{}:world:objects", self.ns)
    }

    /// The chat channels: lower-case name → JSON, written with the world.
    pub fn channels(&self) -> String {
        format!("{}:world:channels", self.ns)
    }

    /// The game's queue (`@wait`): queue entry id → JSON, written with the world.
    pub fn queue(&self) -> String {
        format!("{}:world:queue", self.ns)
    }
}

/// Field names of the connection hash.
pub mod field {
    pub const GATEWAY: &str = "gateway";
    pub const SLOT: &str = "slot";
    pub const ADDR: &str = "addr";
    pub const TRANSPORT: &str = "transport";
    pub const CONNECTED_AT: &str = "connected_at";
    pub const STATE: &str = "state";
    pub const PLAYER: &str = "player";
    pub const LAST_INPUT_AT: &str = "last_input_at";
    pub const TERMINAL_TYPE: &str = "terminal_type";
    pub const MTTS: &str = "mtts";
    pub const CHARSET: &str = "charset";
    pub const WIDTH: &str = "width";
    pub const HEIGHT: &str = "height";
    pub const GMCP: &str = "gmcp";
    pub const MSDP: &str = "msdp";
}

/// Where a connection is in its life, as the game sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ConnectionState {
    /// Connected, at the login screen.
    #[default]
    LoggedOut,
    /// Bound to a player.
    LoggedIn,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::LoggedOut => "logged_out",
            ConnectionState::LoggedIn => "logged_in",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "logged_out" => Some(ConnectionState::LoggedOut),
            "logged_in" => Some(ConnectionState::LoggedIn),
            _ => None,
        }
    }
}

/// One connection as stored in its Redis hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRecord {
    pub handle: Handle,
    pub gateway: String,
    pub addr: String,
    pub transport: Transport,
    pub connected_at: Timestamp,
    pub state: ConnectionState,
    /// The bound player's object id, when logged in.
    pub player: Option<String>,
    pub last_input_at: Option<Timestamp>,
    pub terminal_type: Option<String>,
    pub mtts: Option<u32>,
    pub charset: Option<String>,
    pub width: Option<u16>,
    pub height: Option<u16>,
    pub gmcp: bool,
    pub msdp: bool,
}

/// A stored hash that is not a connection record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("connection record {handle} lacks field '{field}'")]
    Missing { handle: Handle, field: &'static str },
    #[error("connection record {handle} has a bad '{field}': {value:?}")]
    Bad {
        handle: Handle,
        field: &'static str,
        value: String,
    },
}

impl ConnectionRecord {
    /// A fresh record, as the gateway registers it on accept.
    pub fn new(
        handle: Handle,
        gateway: &str,
        addr: &str,
        transport: Transport,
        connected_at: Timestamp,
    ) -> Self {
        Self {
            handle,
            gateway: gateway.to_owned(),
            addr: addr.to_owned(),
            transport,
            connected_at,
            state: ConnectionState::LoggedOut,
            player: None,
            last_input_at: None,
            terminal_type: None,
            mtts: None,
            charset: None,
            width: None,
            height: None,
            gmcp: false,
            msdp: false,
        }
    }

    /// The hash fields to write, one pair per set field.
    pub fn to_fields(&self) -> Vec<(&'static str, String)> {
        let mut f = vec![
            (field::GATEWAY, self.gateway.clone()),
            (field::SLOT, self.handle.slot().to_string()),
            (field::ADDR, self.addr.clone()),
            (field::TRANSPORT, self.transport.as_str().to_owned()),
            (field::CONNECTED_AT, self.connected_at.as_micros().to_string()),
            (field::STATE, self.state.as_str().to_owned()),
            (field::GMCP, u8::from(self.gmcp).to_string()),
            (field::MSDP, u8::from(self.msdp).to_string()),
        ];
        let optional = [
            (field::PLAYER, self.player.clone()),
            (
                field::LAST_INPUT_AT,
                self.last_input_at.map(|t| t.as_micros().to_string()),
            ),
            (field::TERMINAL_TYPE, self.terminal_type.clone()),
            (field::MTTS, self.mtts.map(|v| v.to_string())),
            (field::CHARSET, self.charset.clone()),
            (field::WIDTH, self.width.map(|v| v.to_string())),
            (field::HEIGHT, self.height.map(|v| v.to_string())),
        ];
        f.extend(optional.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
        f
    }

    /// Reads a record from its hash fields. Unknown fields (written by a newer version) are ignored.
    pub fn from_fields(handle: Handle, fields: &HashMap<String, String>) -> Result<Self, RecordError> {
        let required = |name: &'static str| {
            fields
                .get(name)
                .ok_or(RecordError::Missing { handle, field: name })
        };
        let bad = |name: &'static str, value: &str| RecordError::Bad {
            handle,
            field: name,
            value: value.to_owned(),
        };
        fn parse_opt<T: std::str::FromStr>(
            fields: &HashMap<String, String>,
            name: &'static str,
            bad: &dyn Fn(&'static str, &str) -> RecordError,
        ) -> Result<Option<T>, RecordError> {
            fields
                .get(name)
                .map(|v| v.parse::<T>().map_err(|_| bad(name, v)))
                .transpose()
        }
        let connected_at = required(field::CONNECTED_AT)?;
        let connected_at = connected_at
            .parse::<i64>()
            .map_err(|_| bad(field::CONNECTED_AT, connected_at))?;
        let state = match fields.get(field::STATE) {
            Some(s) => ConnectionState::parse(s).ok_or_else(|| bad(field::STATE, s))?,
            None => ConnectionState::LoggedOut,
        };
        let flag = |name: &'static str| fields.get(name).is_some_and(|v| v == "1");
        Ok(Self {
            handle,
            gateway: required(field::GATEWAY)?.clone(),
            addr: fields.get(field::ADDR).cloned().unwrap_or_default(),
            transport: fields
                .get(field::TRANSPORT)
                .map_or(Transport::Unknown, |t| Transport::parse(t)),
            connected_at: Timestamp::from_micros(connected_at),
            state,
            player: fields.get(field::PLAYER).filter(|p| !p.is_empty()).cloned(),
            last_input_at: parse_opt::<i64>(fields, field::LAST_INPUT_AT, &bad)?.map(Timestamp::from_micros),
            terminal_type: fields.get(field::TERMINAL_TYPE).cloned(),
            mtts: parse_opt(fields, field::MTTS, &bad)?,
            charset: fields.get(field::CHARSET).cloned(),
            width: parse_opt(fields, field::WIDTH, &bad)?,
            height: parse_opt(fields, field::HEIGHT, &bad)?,
            gmcp: flag(field::GMCP),
            msdp: flag(field::MSDP),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle() -> Handle {
        "2.5.77".parse().unwrap()
    }

    #[test]
    fn keys_are_namespaced_and_readable() {
        let k = RedisKeys::new("game1");
        assert_eq!(k.connection(handle()), "game1:conn:2.5.77");
        assert_eq!(k.live_connections(), "game1:conns");
        assert_eq!(k.gateway_connections(handle().slot()), "game1:gateway:2:conns");
        assert_eq!(k.slot_epoch(handle().slot()), "game1:slot:2:epoch");
        assert_eq!(k.lease("game-leader"), "game1:lease:game-leader");
    }

    #[test]
    fn a_full_record_round_trips_through_fields() {
        let mut r = ConnectionRecord::new(
            handle(),
            "gw-1",
            "127.0.0.1:4000",
            Transport::Telnet,
            Timestamp::from_micros(5),
        );
        r.state = ConnectionState::LoggedIn;
        r.player = Some("#12".into());
        r.last_input_at = Some(Timestamp::from_micros(99));
        r.terminal_type = Some("MUDLET".into());
        r.mtts = Some(2317);
        r.charset = Some("UTF-8".into());
        r.width = Some(120);
        r.height = Some(40);
        r.gmcp = true;
        let fields: HashMap<String, String> = r
            .to_fields()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        assert_eq!(ConnectionRecord::from_fields(handle(), &fields).unwrap(), r);
    }

    #[test]
    fn a_fresh_record_round_trips_and_unknown_fields_are_ignored() {
        let r = ConnectionRecord::new(
            handle(),
            "gw-1",
            "[::1]:4000",
            Transport::WebSocket,
            Timestamp::from_micros(5),
        );
        let mut fields: HashMap<String, String> = r
            .to_fields()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        fields.insert("added_by_a_newer_version".into(), "x".into());
        assert_eq!(ConnectionRecord::from_fields(handle(), &fields).unwrap(), r);
    }

    #[test]
    fn broken_records_say_what_is_wrong() {
        let mut fields = HashMap::new();
        assert_eq!(
            ConnectionRecord::from_fields(handle(), &fields),
            Err(RecordError::Missing {
                handle: handle(),
                field: field::CONNECTED_AT
            })
        );
        fields.insert(field::CONNECTED_AT.into(), "yesterday".into());
        let err = ConnectionRecord::from_fields(handle(), &fields).unwrap_err();
        assert!(err.to_string().contains("connected_at"), "{err}");
    }
}
