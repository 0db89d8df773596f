//! The game itself: pure, no I/O.
//!
//! Why pure: the game-server must restart, fail over and replay input without players noticing,
//! so everything that touches Kafka, Redis or a clock lives around this module, and this module is
//! a function from (state, event, `now`) to [`Effects`]: the output to send, the world changes to
//! persist (with the input's "applied" mark) and the connection-state writes to make. The same
//! input on the same state always gives the same effects (password salts aside), which is what
//! makes replay after a crash safe and the game testable without any service running.
//!
//! Output addressed to a *player* (a command's answer, what others see) goes to every connection
//! bound to that player, as in PennMUSH; output of the login screen (welcome, "Connected.", the
//! first look) goes to the one connection concerned. Output to a room is one [`Outgoing`] with
//! every handle in it: one logical multicast.

pub mod budget;
pub mod commands;
pub mod flags;
mod gmcp;
pub mod locks;
mod matching;
mod names;
mod password;
pub mod perms;
pub mod softcode;
mod throttle;
mod timefmt;
pub mod wild;
pub mod world;

#[cfg(test)]
pub(crate) mod testkit;

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use mush_protocol::keys::field;
use mush_protocol::{ClientInfo, GameMessageKind, GatewayEvent, GatewayEventKind, Handle, Timestamp};

pub use budget::{Exhausted, Limits};
pub use commands::redact_for_log;
pub use password::{CredentialWork, Credentials, Scratch, verify as password_matches};
pub use world::{LOBBY, Object, ObjectId, ObjectKind, World, WorldChange};

/// Longest input line the game reads, in characters; the rest is cut off.
pub const MAX_LINE_CHARS: usize = 8_192;

/// What the operator configures about the game.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GameConfig {
    pub game_name: String,
    /// Shown on connect; may contain several lines.
    pub welcome: String,
    /// What a line and a player may spend (see `budget`).
    pub limits: Limits,
    /// The room whose things' `$`-commands work everywhere (global commands), if any.
    pub master_room: Option<ObjectId>,
}

impl Default for GameConfig {
    fn default() -> Self {
        Self {
            game_name: "MUSH".to_owned(),
            welcome: "Welcome to the MUSH!\n\
                      To log in:              connect <name> <password>\n\
                      To make a character:    create <name> <password>\n\
                      To see who is on:       WHO\n\
                      To leave:               QUIT"
                .to_owned(),
            limits: Limits::default(),
            master_room: None,
        }
    }
}

/// One live connection, as the game knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub handle: Handle,
    /// The bound player, when logged in.
    pub player: Option<ObjectId>,
    /// The peer address as the gateway saw it (`ip:port`).
    pub addr: String,
    pub connected_at: Timestamp,
    pub last_input_at: Timestamp,
    pub client: ClientInfo,
    pub width: Option<u16>,
    pub height: Option<u16>,
}

impl Connection {
    /// A fresh connection at the login screen.
    pub fn new(handle: Handle, addr: impl Into<String>, connected_at: Timestamp) -> Self {
        Self {
            handle,
            player: None,
            addr: addr.into(),
            connected_at,
            last_input_at: connected_at,
            client: ClientInfo::default(),
            width: None,
            height: None,
        }
    }
}

/// One message to send; many targets are one logical multicast (a room's `say`).
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub targets: Vec<Handle>,
    pub kind: GameMessageKind,
}

/// A write to a connection's Redis hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateWrite {
    /// Critical: stored with the input that caused it, before any of its output is sent (the
    /// game-server commits it in the same script as the input's applied mark).
    Bind {
        handle: Handle,
        player: ObjectId,
    },
    Unbind {
        handle: Handle,
    },
    /// Non-critical metadata; `name` is one of [`mush_protocol::keys::field`].
    Field {
        handle: Handle,
        name: &'static str,
        value: String,
    },
}

/// Everything one event makes happen, in order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Effects {
    /// In the order the players must see it.
    pub output: Vec<Outgoing>,
    pub changes: Vec<WorldChange>,
    pub state: Vec<StateWrite>,
    /// The line ran out of budget and was stopped (what it did until then is above).
    pub stopped: Option<Exhausted>,
    /// An object was refused because its owner reached the object quota.
    pub quota_refused: bool,
    /// What the input line ran, for metric labels (the dispatch's own verdict, so the line is
    /// not parsed again): a command's name, `other` (an exit or an unknown word) or `empty`.
    pub label: Option<&'static str>,
}

impl Effects {
    pub fn is_empty(&self) -> bool {
        self.output.is_empty() && self.changes.is_empty() && self.state.is_empty()
    }

    /// Queues `kind` for `targets` (nothing when there is nobody to send to).
    pub(crate) fn send(&mut self, targets: Vec<Handle>, kind: GameMessageKind) {
        if !targets.is_empty() {
            self.output.push(Outgoing { targets, kind });
        }
    }

    pub(crate) fn text(&mut self, targets: Vec<Handle>, text: impl Into<String>) {
        self.send(targets, GameMessageKind::Text { text: text.into() });
    }

    fn field(&mut self, handle: Handle, name: &'static str, value: impl ToString) {
        self.state.push(StateWrite::Field {
            handle,
            name,
            value: value.to_string(),
        });
    }
}

pub struct Game {
    world: World,
    config: GameConfig,
    connections: BTreeMap<Handle, Connection>,
    /// Logged-in player → their connections.
    online: BTreeMap<ObjectId, BTreeSet<Handle>>,
    gmcp: HashMap<Handle, gmcp::ClientGmcp>,
    throttle: throttle::LoginThrottle,
    /// Every player's (and logged-out connection's) fuel over time.
    tanks: budget::Tanks,
    /// Events handled, to prune the tanks now and then.
    events: u64,
    /// The password work of the line being handled, done before it (see [`Game::handle_with`]).
    prepared: Option<Credentials>,
}

/// What a player reads when a sealed line of theirs could not be opened.
pub const UNREADABLE_INPUT: &str = "*** The game could not read that line: the gateway and the game-server do not share an input key. Tell an administrator. ***";

impl Game {
    pub fn new(world: World, config: GameConfig) -> Self {
        Self {
            world,
            config,
            connections: BTreeMap::new(),
            online: BTreeMap::new(),
            gmcp: HashMap::new(),
            throttle: throttle::LoginThrottle::default(),
            tanks: budget::Tanks::default(),
            events: 0,
            prepared: None,
        }
    }

    pub fn world(&self) -> &World {
        &self.world
    }

    pub fn config(&self) -> &GameConfig {
        &self.config
    }

    /// Every connection, by handle.
    pub fn connections(&self) -> impl Iterator<Item = &Connection> {
        self.connections.values()
    }

    pub fn connection(&self, handle: Handle) -> Option<&Connection> {
        self.connections.get(&handle)
    }

    /// How many connections the game knows.
    pub fn connection_count(&self) -> usize {
        self.connections.len()
    }

    /// How many distinct players are logged in (a player on two connections counts once).
    pub fn logged_in_count(&self) -> usize {
        self.online.len()
    }

    /// Reconciliation after a restart: a connection known from storage, with its player binding.
    /// No output, no announcement. Replaces whatever was known of that handle. A binding to an
    /// object that is not a player in this world is dropped (the connection is logged out).
    pub fn restore(&mut self, mut connection: Connection) {
        let handle = connection.handle;
        if let Some(old) = self.connections.remove(&handle)
            && let Some(p) = old.player
        {
            self.forget_binding(p, handle);
        }
        if let Some(p) = connection.player {
            if self.is_player(p) {
                self.online.entry(p).or_default().insert(handle);
            } else {
                connection.player = None;
            }
        }
        self.connections.insert(handle, connection);
    }

    /// Handles one event from a gateway. `now` is the current time.
    ///
    /// Every time the game records (connected-at, last input, creation) is `now`, the game's own
    /// clock, not the gateway's `event.at`: one clock for WHO's columns, and no skew between hosts.
    ///
    /// An `Input` for a handle the game does not know (its `Connected` was lost) adopts the
    /// connection, logged out, so the player gets an answer; other events for unknown handles are
    /// ignored. A `Connected` for a handle already known changes nothing, except that a logged-out
    /// connection restored before its `Connected` was applied gets its welcome then.
    pub fn handle(&mut self, event: &GatewayEvent, now: Timestamp) -> Effects {
        self.handle_with(event, now, None)
    }

    /// The password work `event` needs before it can be applied, if any: a `connect` or `create`
    /// line at the login screen that would get as far as hashing (well-formed, not throttled, a
    /// free name for `create`), or a logged-in player's `@password` / `@newpassword` (checking
    /// the old password, hashing the new one). The game-server does it off the input loop and
    /// hands the outcome to [`Game::handle_with`]; this connection's later events wait for it.
    pub fn credential_work(&self, event: &GatewayEvent, now: Timestamp) -> Option<CredentialWork> {
        match &event.kind {
            GatewayEventKind::Input { line } => commands::credential_work(self, event.handle, line, now),
            _ => None,
        }
    }

    /// [`Game::handle`], with the outcome of the event's [`CredentialWork`] (without it, a login
    /// line hashes in place: tests and tools).
    pub fn handle_with(
        &mut self,
        event: &GatewayEvent,
        now: Timestamp,
        prepared: Option<Credentials>,
    ) -> Effects {
        self.prepared = prepared;
        let fx = self.apply_event(event, now);
        self.prepared = None;
        fx
    }

    fn apply_event(&mut self, event: &GatewayEvent, now: Timestamp) -> Effects {
        self.events += 1;
        if self.events.is_multiple_of(1024) {
            self.tanks.prune(now, &self.config.limits);
        }
        let mut fx = Effects::default();
        let handle = event.handle;
        match &event.kind {
            GatewayEventKind::Connected { peer_addr, .. } => {
                match self.connections.entry(handle) {
                    Entry::Vacant(slot) => {
                        slot.insert(Connection::new(handle, peer_addr.as_str(), now));
                        fx.text(vec![handle], welcome_text(&self.config.welcome));
                    }
                    // Restored from Redis before its `Connected` was applied (the game restarted
                    // in between): this is the first time the game greets it. Applied offsets
                    // make sure a `Connected` is applied once, so this never greets twice.
                    Entry::Occupied(existing) if existing.get().player.is_none() => {
                        fx.text(vec![handle], welcome_text(&self.config.welcome));
                    }
                    Entry::Occupied(_) => {}
                }
            }
            GatewayEventKind::Input { line } => self.on_input(handle, line, now, &mut fx),
            // The server could not open it (see `mush_platform::sealing`): the player is told,
            // the operator finds the reason in the log and `mush_game_input_unreadable_total`.
            GatewayEventKind::SealedInput { .. } => fx.text(vec![handle], UNREADABLE_INPUT.to_owned()),
            GatewayEventKind::Disconnected { .. } => self.on_disconnected(handle, &mut fx),
            GatewayEventKind::WindowSize { width, height } => {
                if let Some(c) = self.connections.get_mut(&handle) {
                    c.width = Some(*width);
                    c.height = Some(*height);
                    fx.field(handle, field::WIDTH, width);
                    fx.field(handle, field::HEIGHT, height);
                }
            }
            GatewayEventKind::ClientInfo(info) => {
                if let Some(c) = self.connections.get_mut(&handle) {
                    c.client = info.clone();
                    fx.field(handle, field::TERMINAL_TYPE, &info.terminal_type);
                    fx.field(handle, field::MTTS, info.mtts);
                    fx.field(handle, field::CHARSET, &info.charset);
                    fx.field(handle, field::GMCP, u8::from(info.gmcp));
                    fx.field(handle, field::MSDP, u8::from(info.msdp));
                }
            }
            GatewayEventKind::Gmcp { package, json } => {
                if let Some(c) = self.connections.get_mut(&handle) {
                    if !c.client.gmcp {
                        c.client.gmcp = true;
                        fx.field(handle, field::GMCP, 1);
                    }
                    let limit = self.config.limits.gmcp_packages;
                    gmcp::note(self.gmcp.entry(handle).or_default(), package, json, limit);
                }
            }
            GatewayEventKind::Msdp { .. } => {
                if let Some(c) = self.connections.get_mut(&handle)
                    && !c.client.msdp
                {
                    c.client.msdp = true;
                    fx.field(handle, field::MSDP, 1);
                }
            }
            GatewayEventKind::Timer { entry, due } if handle == Handle::GAME => {
                commands::run_timer(self, *entry, *due, now, &mut fx)
            }
            GatewayEventKind::Timer { .. } => {}
            GatewayEventKind::Unknown => {}
        }
        fx
    }

    /// Queue entries due at `now` (id, due time), soonest first: the game-server writes a timer
    /// for each (see `GatewayEventKind::Timer`).
    pub fn due_timers(&self, now: Timestamp) -> Vec<(u64, Timestamp)> {
        self.world
            .due(now.as_micros())
            .map(|e| (e.id, Timestamp::from_micros(e.due_micros)))
            .collect()
    }

    fn on_input(&mut self, handle: Handle, line: &[u8], now: Timestamp, fx: &mut Effects) {
        let conn = self
            .connections
            .entry(handle)
            .or_insert_with(|| Connection::new(handle, "", now));
        conn.last_input_at = now;
        let player = conn.player;
        fx.field(handle, field::LAST_INPUT_AT, now.as_micros());
        if let Some(p) = player
            && !self.is_player(p)
        {
            // The player object is gone (it cannot be, short of storage edits): log out.
            self.unbind(handle);
            fx.state.push(StateWrite::Unbind { handle });
        }
        let line = clean_line(line);
        if line.is_empty() {
            fx.label = Some("empty");
        } else {
            commands::run_input(self, handle, now, &line, fx);
        }
    }

    fn on_disconnected(&mut self, handle: Handle, fx: &mut Effects) {
        self.gmcp.remove(&handle);
        self.tanks.forget(handle);
        let Some(conn) = self.connections.remove(&handle) else {
            return;
        };
        if let Some(p) = conn.player {
            self.forget_binding(p, handle);
            self.announce_if_gone(p, fx);
        }
    }

    /// After `player` lost a connection: if it was their last, tells their room they left.
    fn announce_if_gone(&mut self, player: ObjectId, fx: &mut Effects) {
        if self.online.contains_key(&player) {
            return;
        }
        if let Some(p) = self.world.get(player) {
            let text = format!("{} has disconnected.", p.name);
            if let Some(room) = p.location {
                fx.text(self.room_handles(room, Some(player)), text);
            }
        }
    }

    fn is_player(&self, id: ObjectId) -> bool {
        self.world.get(id).is_some_and(|o| o.kind == ObjectKind::Player)
    }

    fn bind(&mut self, handle: Handle, player: ObjectId) {
        if let Some(c) = self.connections.get_mut(&handle) {
            c.player = Some(player);
            self.online.entry(player).or_default().insert(handle);
        }
    }

    /// Unbinds `handle` in memory; returns the player it was bound to.
    fn unbind(&mut self, handle: Handle) -> Option<ObjectId> {
        let p = self.connections.get_mut(&handle)?.player.take()?;
        self.forget_binding(p, handle);
        Some(p)
    }

    fn forget_binding(&mut self, player: ObjectId, handle: Handle) {
        if let Some(set) = self.online.get_mut(&player) {
            set.remove(&handle);
            if set.is_empty() {
                self.online.remove(&player);
            }
        }
    }

    /// The connections of `player`, by handle (empty when offline).
    fn handles_of(&self, player: ObjectId) -> Vec<Handle> {
        self.online
            .get(&player)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    fn is_online(&self, player: ObjectId) -> bool {
        self.online.contains_key(&player)
    }

    /// Every connection of every logged-in player in `room`, but `except`'s.
    fn room_handles(&self, room: ObjectId, except: Option<ObjectId>) -> Vec<Handle> {
        self.world
            .contents(room)
            .filter(|o| o.kind == ObjectKind::Player && Some(o.id) != except)
            .flat_map(|o| self.online.get(&o.id).into_iter().flatten().copied())
            .collect()
    }

    fn bound_connections(&self, player: ObjectId) -> impl Iterator<Item = &Connection> {
        self.online
            .get(&player)
            .into_iter()
            .flatten()
            .filter_map(|h| self.connections.get(h))
    }

    /// Seconds `player`'s longest connection has been up, if online.
    fn connected_secs(&self, player: ObjectId, now: Timestamp) -> Option<u64> {
        self.bound_connections(player)
            .map(|c| c.connected_at.until(now).as_secs())
            .max()
    }

    /// Seconds since `player` last typed on their least idle connection, if online.
    fn idle_secs(&self, player: ObjectId, now: Timestamp) -> Option<u64> {
        self.bound_connections(player)
            .map(|c| c.last_input_at.until(now).as_secs())
            .min()
    }
}

/// The welcome as configured, with line ends normalised and no blank tail.
fn welcome_text(welcome: &str) -> String {
    let text = welcome.replace("\r\n", "\n");
    let text = text.trim_end();
    if text.is_empty() {
        "Welcome! Type \"help\" to see what you can do here.".to_owned()
    } else {
        text.to_owned()
    }
}

/// An input line as commands see it: UTF-8 (invalid bytes replaced), tabs as spaces, no other
/// control characters (nobody gets to send terminal escapes to other players), trimmed, bounded.
fn clean_line(line: &[u8]) -> String {
    String::from_utf8_lossy(line)
        .chars()
        .filter_map(|c| match c {
            '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .take(MAX_LINE_CHARS)
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::testkit::*;
    use super::*;

    #[test]
    fn a_new_connection_gets_the_welcome_and_is_logged_out() {
        let mut t = Harness::new();
        let fx = t.connect_handle(1, "10.0.0.1:4000");
        assert_eq!(fx.output.len(), 1);
        assert_eq!(fx.output[0].targets, [h(1)]);
        assert!(text_of(&fx.output[0]).starts_with("Welcome to the test game"));
        let c = t.game.connection(h(1)).unwrap();
        assert_eq!(c.player, None);
        assert_eq!(c.addr, "10.0.0.1:4000");
        assert_eq!(t.game.logged_in_count(), 0);
    }

    #[test]
    fn a_connection_restored_before_its_connected_is_welcomed_once_then() {
        let mut t = Harness::new();
        t.game.restore(Connection::new(h(9), "10.0.0.9:1", t.now));
        let fx = t.event(
            h(9),
            GatewayEventKind::Connected {
                peer_addr: "10.0.0.9:1".into(),
                transport: mush_protocol::Transport::Telnet,
                gateway: "gw".into(),
            },
        );
        assert_eq!(fx.output.len(), 1);
        assert!(text_of(&fx.output[0]).starts_with("Welcome to the test game"));
        assert_eq!(t.game.connections().count(), 1, "not added twice");
    }

    #[test]
    fn a_second_connected_for_a_known_handle_changes_nothing() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let fx = t.event(
            alice,
            GatewayEventKind::Connected {
                peer_addr: "1.1.1.1:1".into(),
                transport: mush_protocol::Transport::Telnet,
                gateway: "gw".into(),
            },
        );
        assert!(fx.is_empty(), "{fx:?}");
        assert!(t.game.connection(alice).unwrap().player.is_some());
    }

    #[test]
    fn input_updates_last_input_at_and_writes_it_as_micros() {
        let mut t = Harness::new();
        t.connect_handle(1, "10.0.0.1:4000");
        t.advance(7);
        let fx = t.input(h(1), "   ");
        assert!(fx.output.is_empty());
        assert_eq!(
            fx.state,
            [StateWrite::Field {
                handle: h(1),
                name: field::LAST_INPUT_AT,
                value: t.now.as_micros().to_string()
            }]
        );
        assert_eq!(t.game.connection(h(1)).unwrap().last_input_at, t.now);
    }

    #[test]
    fn input_is_decoded_lossily_and_stripped_of_control_characters() {
        assert_eq!(clean_line(b"  say hi\x1b[31m there\t!  "), "say hi[31m there !");
        assert_eq!(clean_line(b"say caf\xc3\xa9 \xff"), "say café \u{fffd}");
        assert_eq!(clean_line(&[b'x'; 10_000]).len(), MAX_LINE_CHARS);
    }

    #[test]
    fn metadata_events_update_the_connection_and_write_fields_without_output() {
        let mut t = Harness::new();
        t.connect_handle(1, "10.0.0.1:4000");
        let fx = t.event(
            h(1),
            GatewayEventKind::WindowSize {
                width: 120,
                height: 40,
            },
        );
        assert!(fx.output.is_empty());
        assert_eq!(fields(&fx), [("width", "120".into()), ("height", "40".into())]);
        let info = ClientInfo {
            terminal_type: "MUDLET".into(),
            mtts: 2317,
            charset: "UTF-8".into(),
            gmcp: true,
            msdp: false,
        };
        let fx = t.event(h(1), GatewayEventKind::ClientInfo(info.clone()));
        assert!(fx.output.is_empty());
        assert_eq!(
            fields(&fx),
            [
                ("terminal_type", "MUDLET".into()),
                ("mtts", "2317".into()),
                ("charset", "UTF-8".into()),
                ("gmcp", "1".into()),
                ("msdp", "0".into())
            ]
        );
        let fx = t.event(
            h(1),
            GatewayEventKind::Msdp {
                variable: "LIST".into(),
                value: "COMMANDS".into(),
            },
        );
        assert_eq!(fields(&fx), [("msdp", "1".into())]);
        let c = t.game.connection(h(1)).unwrap();
        assert_eq!((c.width, c.height), (Some(120), Some(40)));
        assert_eq!(c.client.terminal_type, "MUDLET");
        assert!(c.client.gmcp && c.client.msdp);
        assert!(t.event(h(1), GatewayEventKind::Unknown).is_empty());
    }

    #[test]
    fn a_gmcp_message_turns_gmcp_on_once() {
        let mut t = Harness::new();
        t.connect_handle(1, "10.0.0.1:4000");
        let hello = GatewayEventKind::Gmcp {
            package: "Core.Hello".into(),
            json: r#"{"client":"Mudlet","version":"4.17"}"#.into(),
        };
        assert_eq!(fields(&t.event(h(1), hello.clone())), [("gmcp", "1".into())]);
        assert!(t.event(h(1), hello).is_empty());
        assert!(t.game.connection(h(1)).unwrap().client.gmcp);
    }

    #[test]
    fn disconnecting_the_last_connection_is_announced_to_the_room() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        let alice2 = t.login_again("Alice", 9);
        let fx = t.disconnect(alice);
        assert!(fx.output.is_empty(), "another connection is still on: {fx:?}");
        assert_eq!(t.game.logged_in_count(), 2);
        let fx = t.disconnect(alice2);
        assert_eq!(texts_for(&fx, bob), ["Alice has disconnected."]);
        assert!(t.game.connection(alice2).is_none());
        assert_eq!(t.game.logged_in_count(), 1);
        assert!(t.disconnect(alice2).is_empty(), "a second disconnect is ignored");
    }

    #[test]
    fn restore_binds_silently_and_drops_bindings_to_non_players() {
        let mut t = Harness::new();
        let mut c = Connection::new(h(5), "10.0.0.5:1", t.now);
        c.player = Some(LOBBY);
        t.game.restore(c);
        assert_eq!(t.game.connection(h(5)).unwrap().player, None);
        assert_eq!(t.game.logged_in_count(), 0);

        let alice = t.new_player("Alice");
        let id = t.game.connection(alice).unwrap().player.unwrap();
        let mut c = Connection::new(h(6), "10.0.0.6:1", t.now);
        c.player = Some(id);
        t.game.restore(c);
        assert_eq!(t.game.logged_in_count(), 1);
        let fx = t.input(h(6), "think %n");
        assert_eq!(texts_for(&fx, h(6)), ["Alice"]);
        // Restoring again with no binding logs it out.
        t.game.restore(Connection::new(h(6), "10.0.0.6:1", t.now));
        let fx = t.disconnect(alice);
        assert_eq!(fx.output.len(), 0);
        assert_eq!(t.game.logged_in_count(), 0);
    }

    #[test]
    fn input_for_an_unknown_handle_adopts_it_at_the_login_screen() {
        let mut t = Harness::new();
        let fx = t.input(h(3), "look");
        assert!(text_of(&fx.output[0]).contains("connect <name> <password>"));
        assert!(t.game.connection(h(3)).is_some());
        let fx = t.event(h(4), GatewayEventKind::WindowSize { width: 1, height: 1 });
        assert!(fx.is_empty());
        assert!(t.game.connection(h(4)).is_none());
    }

    #[test]
    fn the_same_events_give_the_same_effects_apart_from_password_salts() {
        let script = |t: &mut Harness| -> Vec<Effects> {
            let mut all = vec![t.connect_handle(1, "10.0.0.1:1")];
            all.push(t.input(h(1), "create Alice secret1"));
            all.push(t.connect_handle(2, "10.0.0.2:1"));
            all.push(t.input(h(2), "create Bob secret2"));
            for line in [
                "@dig Garden=North;n,South;s",
                "say hi",
                "n",
                "@create rock",
                "drop rock",
                "WHO",
            ] {
                t.advance(3);
                all.push(t.input(h(1), line));
            }
            all.push(t.input(h(2), "@dolist [lnum(3)]=think [add(##,%#)]"));
            all.push(t.disconnect(h(1)));
            for fx in &mut all {
                for change in &mut fx.changes {
                    if let WorldChange::Put(o) = change {
                        o.password_hash = o.password_hash.as_ref().map(|_| "<salted>".into());
                    }
                }
            }
            all
        };
        let (mut a, mut b) = (Harness::new(), Harness::new());
        assert_eq!(script(&mut a), script(&mut b));
    }
}
