//! Test helpers: a game with a fixed clock, handles by number, and ways to read Effects.
//!
//! Why: every command's tests drive the real `Game::handle` the way the gateway would, so they
//! prove what a player sees, not what a helper returns.

use mush_protocol::{GameMessageKind, GatewayEvent, GatewayEventKind, Handle, Slot, Timestamp, TraceContext};

use super::{Effects, Game, GameConfig, Outgoing, StateWrite, World};

pub use super::commands::HUH;

/// Handle number `n` (slot 1, epoch 1).
pub fn h(n: u32) -> Handle {
    Handle::new(Slot::new(1).unwrap(), 1, n).unwrap()
}

pub struct Harness {
    pub game: Game,
    pub now: Timestamp,
    next_handle: u32,
}

impl Harness {
    /// A new world, the clock at Tue Nov 24 08:00:00 2026 UTC.
    pub fn new() -> Self {
        let config = GameConfig {
            game_name: "Test".into(),
            welcome: "Welcome to the test game!\r\nconnect <name> <password>\n\n".into(),
            // No wall clock: the same events must give the same effects.
            limits: crate::game::Limits {
                time_per_line: None,
                ..Default::default()
            },
            master_room: None,
        };
        Self {
            game: Game::new(World::new(), config),
            now: Timestamp::from_micros(1_795_507_200 * 1_000_000),
            next_handle: 100,
        }
    }

    pub fn advance(&mut self, secs: i64) {
        self.now = Timestamp::from_micros(self.now.as_micros() + secs * 1_000_000);
    }

    pub fn event(&mut self, handle: Handle, kind: GatewayEventKind) -> Effects {
        let event = GatewayEvent {
            handle,
            at: self.now,
            trace: TraceContext::new(),
            kind,
        };
        self.game.handle(&event, self.now)
    }

    /// `Connected` for handle `n` from `addr`.
    pub fn connect_handle(&mut self, n: u32, addr: &str) -> Effects {
        self.event(
            h(n),
            GatewayEventKind::Connected {
                peer_addr: addr.into(),
                transport: mush_protocol::Transport::Telnet,
                gateway: "gw-0".into(),
            },
        )
    }

    pub fn input(&mut self, handle: Handle, line: &str) -> Effects {
        self.event(
            handle,
            GatewayEventKind::Input {
                line: line.as_bytes().to_vec().into(),
            },
        )
    }

    pub fn disconnect(&mut self, handle: Handle) -> Effects {
        self.event(
            handle,
            GatewayEventKind::Disconnected {
                reason: mush_protocol::DisconnectReason::ClientClosed,
                detail: String::new(),
            },
        )
    }

    /// A new connection (own address) that creates `name` and is left logged in as them.
    pub fn create(&mut self, name: &str, password: &str) -> Handle {
        self.next_handle += 1;
        let n = self.next_handle;
        self.connect_handle(n, &format!("10.1.{}.{}:4000", n / 256, n % 256));
        let fx = self.input(h(n), &format!("create \"{name}\" {password}"));
        assert!(
            texts_for(&fx, h(n))
                .first()
                .is_some_and(|t| t.starts_with("Connected.")),
            "create {name}: {fx:?}"
        );
        h(n)
    }

    /// A new player with the password `password`, logged in on a new connection.
    pub fn new_player(&mut self, name: &str) -> Handle {
        self.create(name, "password")
    }

    /// Another connection (handle `n`) logged in as `name` (password `password`).
    pub fn login_again(&mut self, name: &str, n: u32) -> Handle {
        self.connect_handle(n, &format!("10.2.0.{n}:4000"));
        let fx = self.input(h(n), &format!("connect \"{name}\" password"));
        assert!(texts_for(&fx, h(n))[0].starts_with("Connected."), "{fx:?}");
        h(n)
    }

    /// The object id of the player called `name`.
    pub fn id(&self, name: &str) -> super::ObjectId {
        self.game.world().player_by_name(name).unwrap().id
    }
}

/// The text of a Text message (panics on other kinds).
pub fn text_of(o: &Outgoing) -> &str {
    match &o.kind {
        GameMessageKind::Text { text } => text,
        other => panic!("not text: {other:?}"),
    }
}

/// The texts `handle` receives, in order.
pub fn texts_for(fx: &Effects, handle: Handle) -> Vec<String> {
    fx.output
        .iter()
        .filter(|o| o.targets.contains(&handle))
        .filter_map(|o| match &o.kind {
            GameMessageKind::Text { text } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

/// The GMCP messages `handle` receives, as (package, parsed JSON).
pub fn gmcp_for(fx: &Effects, handle: Handle) -> Vec<(String, serde_json::Value)> {
    fx.output
        .iter()
        .filter(|o| o.targets.contains(&handle))
        .filter_map(|o| match &o.kind {
            GameMessageKind::Gmcp { package, json } => {
                Some((package.clone(), serde_json::from_str(json).unwrap()))
            }
            _ => None,
        })
        .collect()
}

/// The field writes, as (name, value).
pub fn fields(fx: &Effects) -> Vec<(&'static str, String)> {
    fx.state
        .iter()
        .filter_map(|s| match s {
            StateWrite::Field { name, value, .. } => Some((*name, value.clone())),
            _ => None,
        })
        .collect()
}
