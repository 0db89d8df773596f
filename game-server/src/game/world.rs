//! The world: every object (rooms, players, exits, things) in memory, with the indexes commands
//! need (players by name, contents per location, exits per room).
//!
//! Why this shape: the game keeps the whole world in memory so a command never waits on storage.
//! Storage holds one JSON document per object (this module's serde form), and every mutation a
//! command makes is reported as a [`WorldChange`] carrying the *full* new object, so persisting is
//! a plain overwrite or delete that can ride in the same transaction as the input's "applied" mark,
//! and replaying a change twice is harmless.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An object's number, shown as `#12`. Stored in JSON as a plain number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ObjectId(pub u64);

/// How many parents up an attribute is looked for.
pub const MAX_PARENT_DEPTH: usize = 10;

/// The starting room, where players are created and where their home is.
pub const LOBBY: ObjectId = ObjectId(0);

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A string that is not an object number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an object number: {0:?} (expected e.g. \"#12\")")]
pub struct BadObjectId(pub String);

/// Reads `#12` (as shown and as stored in the connection hash's `player` field) or a bare `12`.
impl FromStr for ObjectId {
    type Err = BadObjectId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_prefix('#').unwrap_or(s);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BadObjectId(s.to_owned()));
        }
        digits
            .parse()
            .map(ObjectId)
            .map_err(|_| BadObjectId(s.to_owned()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    Room,
    Player,
    Exit,
    Thing,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Room => "room",
            ObjectKind::Player => "player",
            ObjectKind::Exit => "exit",
            ObjectKind::Thing => "thing",
        }
    }
}

/// One object of the world.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Object {
    pub id: ObjectId,
    pub kind: ObjectKind,
    /// For exits, `;`-separated aliases, PennMUSH style: `North;n`. The first one is shown.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Where a player or thing is; the source room of an exit; `None` for rooms.
    #[serde(default)]
    pub location: Option<ObjectId>,
    /// Where an exit leads.
    #[serde(default)]
    pub destination: Option<ObjectId>,
    /// Where `home` takes a player (or a thing).
    #[serde(default)]
    pub home: Option<ObjectId>,
    pub owner: ObjectId,
    /// Players only: the argon2 PHC string (`$argon2id$v=19$...`), never the password. Persisted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    /// Attributes by upper-case name (`&COLOR obj=red` sets `COLOR`).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Flags of attributes that have any (`NO_COMMAND`, `VISUAL`, ...), by attribute name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attribute_flags: BTreeMap<String, BTreeSet<String>>,
    /// The object's flags by upper-case name (`WIZARD`, `DARK`, ...; see `softcode::flags`).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub flags: BTreeSet<String>,
    /// Lock keys by lock type (`Basic`, `Enter`, `Use`, `Page`...; see `softcode::locks`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub locks: BTreeMap<String, String>,
    /// Where attributes not set here are looked up (`@parent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ObjectId>,
    #[serde(default)]
    pub created_at_secs: i64,
}

/// Hand-written so that a stray `{:?}` in a log line never prints a password hash.
impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Object")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("description", &self.description)
            .field("location", &self.location)
            .field("destination", &self.destination)
            .field("home", &self.home)
            .field("owner", &self.owner)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .field("attributes", &self.attributes)
            .field("attribute_flags", &self.attribute_flags)
            .field("flags", &self.flags)
            .field("locks", &self.locks)
            .field("parent", &self.parent)
            .field("created_at_secs", &self.created_at_secs)
            .finish()
    }
}

impl Object {
    /// A bare object: no description, nowhere, no password.
    pub fn new(id: ObjectId, kind: ObjectKind, name: &str, owner: ObjectId, created_at_secs: i64) -> Self {
        Self {
            id,
            kind,
            name: name.to_owned(),
            description: String::new(),
            location: None,
            destination: None,
            home: None,
            owner,
            password_hash: None,
            attributes: BTreeMap::new(),
            attribute_flags: BTreeMap::new(),
            flags: BTreeSet::new(),
            locks: BTreeMap::new(),
            parent: None,
            created_at_secs,
        }
    }

    /// The exit's aliases (`North;n` → `North`, `n`); for other objects, the name alone.
    pub fn aliases(&self) -> impl Iterator<Item = &str> {
        let exit = self.kind == ObjectKind::Exit;
        let mut whole = Some(self.name.as_str());
        let mut parts = self.name.split(';');
        std::iter::from_fn(move || {
            if exit {
                parts.by_ref().map(str::trim).find(|a| !a.is_empty())
            } else {
                whole.take()
            }
        })
    }

    /// The name as shown to players: an exit's first alias, otherwise the whole name.
    pub fn display_name(&self) -> &str {
        self.aliases().next().unwrap_or(&self.name)
    }

    /// Whether `word` names this exit (any alias, case-insensitively).
    pub fn is_called(&self, word: &str) -> bool {
        self.aliases().any(|a| a.eq_ignore_ascii_case(word))
    }
}

/// One mutation of the world, with the full new object (written whole to storage: a boxed
/// object would only add an allocation per change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)]
pub enum WorldChange {
    Put(Object),
    Delete(ObjectId),
    /// A queue entry added (`@wait`).
    Queue(QueueEntry),
    /// A queue entry gone (it ran, or was halted).
    Dequeue(u64),
    /// A channel created or changed (members, history).
    Channel(Channel),
    /// A channel gone, by its key (lower-case name).
    DropChannel(String),
}

/// A chat channel (`@channel`): who is on it and its last lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub name: String,
    pub owner: ObjectId,
    #[serde(default)]
    pub members: BTreeSet<ObjectId>,
    /// The last lines said on it, oldest first (at most `commands::channel::MAX_HISTORY`).
    #[serde(default)]
    pub history: Vec<String>,
}

impl Channel {
    /// The key it is stored and found under.
    pub fn key(&self) -> String {
        self.name.to_lowercase()
    }
}

/// Code waiting to run (`@wait <seconds>=<action>`): persisted with the world, run once when
/// due by the game-server's timer (see `GatewayEventKind::Timer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    pub id: u64,
    /// When it runs (µs since the epoch).
    pub due_micros: i64,
    /// Whose code it is (`%!`) and who caused it (`%#`).
    pub executor: ObjectId,
    pub enactor: ObjectId,
    /// Who pays for it (the executor's owner).
    pub owner: ObjectId,
    pub action: String,
    #[serde(default)]
    pub args: Vec<String>,
}

/// Every object, in memory, with indexes kept in step by [`World::apply`].
#[derive(Debug, Clone)]
pub struct World {
    objects: BTreeMap<ObjectId, Object>,
    /// Code waiting to run, by id, and by when it is due.
    queue: BTreeMap<u64, QueueEntry>,
    queue_by_due: BTreeSet<(i64, u64)>,
    /// Chat channels by lower-case name.
    channels: BTreeMap<String, Channel>,
    /// Lower-cased player name → player.
    players_by_name: HashMap<String, ObjectId>,
    /// Location → the players and things in it.
    contents: HashMap<ObjectId, BTreeSet<ObjectId>>,
    /// Room → the exits leading out of it.
    exits: HashMap<ObjectId, BTreeSet<ObjectId>>,
    /// Owner → how many objects they own (for the object quota).
    owned: HashMap<ObjectId, usize>,
    next_id: u64,
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    /// The starting world: `#0`, The Lobby. Nothing of it is stored yet: write [`World::objects`]
    /// when storage is empty (a missing `#0` is also recreated by [`World::from_objects`]).
    pub fn new() -> Self {
        let mut world = Self::empty();
        world.apply(&WorldChange::Put(Self::lobby()));
        world
    }

    fn empty() -> Self {
        Self {
            objects: BTreeMap::new(),
            queue: BTreeMap::new(),
            queue_by_due: BTreeSet::new(),
            channels: BTreeMap::new(),
            players_by_name: HashMap::new(),
            contents: HashMap::new(),
            exits: HashMap::new(),
            owned: HashMap::new(),
            next_id: 0,
        }
    }

    fn lobby() -> Object {
        let mut lobby = Object::new(LOBBY, ObjectKind::Room, "The Lobby", LOBBY, 0);
        lobby.description = "A quiet, lamp-lit hall where every story here begins. Worn benches line the \
             walls, and a brass plaque by the door reads: \"Type help to see what you can do.\""
            .to_owned();
        lobby
    }

    /// Rebuilds the world from storage. The next new object gets the highest id + 1. If `#0` is
    /// missing (nothing stored yet), the starting room is put back, since players' homes point there.
    pub fn from_objects(objects: impl IntoIterator<Item = Object>) -> Self {
        let mut world = Self::empty();
        for object in objects {
            world.apply(&WorldChange::Put(object));
        }
        if !world.objects.contains_key(&LOBBY) {
            world.apply(&WorldChange::Put(Self::lobby()));
        }
        world
    }

    /// Applies one change, keeping the indexes in step.
    pub fn apply(&mut self, change: &WorldChange) {
        match change {
            WorldChange::Put(object) => {
                self.unindex(object.id);
                self.index(object);
                self.next_id = self.next_id.max(object.id.0.saturating_add(1));
                self.objects.insert(object.id, object.clone());
            }
            WorldChange::Delete(id) => {
                self.unindex(*id);
                self.objects.remove(id);
            }
            WorldChange::Queue(entry) => {
                if let Some(old) = self.queue.insert(entry.id, entry.clone()) {
                    self.queue_by_due.remove(&(old.due_micros, old.id));
                }
                self.queue_by_due.insert((entry.due_micros, entry.id));
            }
            WorldChange::Dequeue(id) => {
                if let Some(old) = self.queue.remove(id) {
                    self.queue_by_due.remove(&(old.due_micros, old.id));
                }
            }
            WorldChange::Channel(channel) => {
                self.channels.insert(channel.key(), channel.clone());
            }
            WorldChange::DropChannel(key) => {
                self.channels.remove(key);
            }
        }
    }

    /// The channels, by name.
    pub fn channels(&self) -> impl Iterator<Item = &Channel> {
        self.channels.values()
    }

    /// The channel called `name` (any case).
    pub fn channel(&self, name: &str) -> Option<&Channel> {
        self.channels.get(&name.trim().to_lowercase())
    }

    /// The queue, by id.
    pub fn queue(&self) -> impl Iterator<Item = &QueueEntry> {
        self.queue.values()
    }

    /// The entries due at `now_micros` or before, soonest first.
    pub fn due(&self, now_micros: i64) -> impl Iterator<Item = &QueueEntry> {
        self.queue_by_due
            .range(..=(now_micros, u64::MAX))
            .filter_map(|(_, id)| self.queue.get(id))
    }

    pub fn queue_entry(&self, id: u64) -> Option<&QueueEntry> {
        self.queue.get(&id)
    }

    /// An id for a new queue entry: after every one in the queue. (A timer for an entry that
    /// ran names its due time too, so a reused id never runs early.)
    pub fn next_queue_id(&self) -> u64 {
        self.queue.keys().next_back().map_or(1, |id| id + 1)
    }

    fn index(&mut self, object: &Object) {
        *self.owned.entry(object.owner).or_default() += 1;
        match object.kind {
            ObjectKind::Player | ObjectKind::Thing => {
                if let Some(loc) = object.location {
                    self.contents.entry(loc).or_default().insert(object.id);
                }
            }
            ObjectKind::Exit => {
                if let Some(room) = object.location {
                    self.exits.entry(room).or_default().insert(object.id);
                }
            }
            ObjectKind::Room => {}
        }
        if object.kind == ObjectKind::Player {
            self.players_by_name.insert(object.name.to_lowercase(), object.id);
        }
    }

    fn unindex(&mut self, id: ObjectId) {
        let Some(old) = self.objects.get(&id) else { return };
        if let Some(n) = self.owned.get_mut(&old.owner) {
            *n -= 1;
            if *n == 0 {
                self.owned.remove(&old.owner);
            }
        }
        let index = match old.kind {
            ObjectKind::Player | ObjectKind::Thing => Some(&mut self.contents),
            ObjectKind::Exit => Some(&mut self.exits),
            ObjectKind::Room => None,
        };
        if let (Some(index), Some(loc)) = (index, old.location)
            && let Some(set) = index.get_mut(&loc)
        {
            set.remove(&id);
            if set.is_empty() {
                index.remove(&loc);
            }
        }
        if old.kind == ObjectKind::Player {
            let key = old.name.to_lowercase();
            if self.players_by_name.get(&key) == Some(&id) {
                self.players_by_name.remove(&key);
            }
        }
    }

    pub fn get(&self, id: ObjectId) -> Option<&Object> {
        self.objects.get(&id)
    }

    /// Every object, by id.
    pub fn objects(&self) -> impl Iterator<Item = &Object> {
        self.objects.values()
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// How many objects `owner` owns.
    pub fn owned_by(&self, owner: ObjectId) -> usize {
        self.owned.get(&owner).copied().unwrap_or(0)
    }

    /// The id the next created object will get.
    pub fn next_id(&self) -> ObjectId {
        ObjectId(self.next_id)
    }

    /// The player called `name`, case-insensitively.
    pub fn player_by_name(&self, name: &str) -> Option<&Object> {
        self.players_by_name
            .get(&name.to_lowercase())
            .and_then(|id| self.objects.get(id))
    }

    /// The players and things in `location`, by id.
    pub fn contents(&self, location: ObjectId) -> impl Iterator<Item = &Object> {
        self.contents
            .get(&location)
            .into_iter()
            .flatten()
            .filter_map(|id| self.objects.get(id))
    }

    /// The exits out of `room`, by id.
    pub fn exits(&self, room: ObjectId) -> impl Iterator<Item = &Object> {
        self.exits
            .get(&room)
            .into_iter()
            .flatten()
            .filter_map(|id| self.objects.get(id))
    }

    /// The name to show for `id`, or the bare `#12` when there is no such object.
    /// Whether the object has `flag` (upper case).
    pub fn has_flag(&self, id: ObjectId, flag: &str) -> bool {
        self.get(id).is_some_and(|o| o.flags.contains(flag))
    }

    /// An attribute of `id` or, when it has none by that name, of its parents (at most
    /// [`MAX_PARENT_DEPTH`] up): the value and the object it was found on.
    pub fn attribute(&self, id: ObjectId, name: &str) -> Option<(&str, ObjectId)> {
        let mut at = id;
        for _ in 0..=MAX_PARENT_DEPTH {
            let object = self.get(at)?;
            if let Some(value) = object.attributes.get(name) {
                return Some((value, at));
            }
            at = object.parent?;
        }
        None
    }

    pub fn name_of(&self, id: ObjectId) -> String {
        self.get(id)
            .map_or_else(|| id.to_string(), |o| o.display_name().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn player(id: u64, name: &str, location: ObjectId) -> Object {
        let mut p = Object::new(ObjectId(id), ObjectKind::Player, name, ObjectId(id), 0);
        p.location = Some(location);
        p.home = Some(LOBBY);
        p
    }

    #[test]
    fn ids_show_and_parse_as_dbrefs() {
        assert_eq!(ObjectId(12).to_string(), "#12");
        assert_eq!("#12".parse::<ObjectId>(), Ok(ObjectId(12)));
        assert_eq!("7".parse::<ObjectId>(), Ok(ObjectId(7)));
        assert!("#".parse::<ObjectId>().is_err());
        assert!("#-1".parse::<ObjectId>().is_err());
        assert!("#1x".parse::<ObjectId>().is_err());
    }

    #[test]
    fn a_new_world_has_a_described_lobby_and_numbers_from_one() {
        let w = World::new();
        let lobby = w.get(LOBBY).unwrap();
        assert_eq!(lobby.kind, ObjectKind::Room);
        assert_eq!(lobby.name, "The Lobby");
        assert!(!lobby.description.is_empty());
        assert_eq!(w.next_id(), ObjectId(1));
    }

    #[test]
    fn indexes_follow_moves_renames_and_deletes() {
        let mut w = World::new();
        let room = Object::new(ObjectId(5), ObjectKind::Room, "Garden", ObjectId(1), 0);
        w.apply(&WorldChange::Put(room));
        let mut alice = player(1, "Alice", LOBBY);
        w.apply(&WorldChange::Put(alice.clone()));
        assert_eq!(w.player_by_name("aLiCe").unwrap().id, ObjectId(1));
        assert_eq!(w.contents(LOBBY).map(|o| o.id).collect::<Vec<_>>(), [ObjectId(1)]);

        alice.location = Some(ObjectId(5));
        alice.name = "Alicia".into();
        w.apply(&WorldChange::Put(alice));
        assert_eq!(w.contents(LOBBY).count(), 0);
        assert_eq!(w.contents(ObjectId(5)).count(), 1);
        assert!(w.player_by_name("alice").is_none());
        assert!(w.player_by_name("ALICIA").is_some());
        assert_eq!(w.next_id(), ObjectId(6));

        w.apply(&WorldChange::Delete(ObjectId(1)));
        assert!(w.player_by_name("alicia").is_none());
        assert_eq!(w.contents(ObjectId(5)).count(), 0);
    }

    #[test]
    fn exit_aliases_are_split_on_semicolons() {
        let mut exit = Object::new(ObjectId(3), ObjectKind::Exit, "North;n; no", LOBBY, 0);
        exit.location = Some(LOBBY);
        assert_eq!(exit.aliases().collect::<Vec<_>>(), ["North", "n", "no"]);
        assert_eq!(exit.display_name(), "North");
        assert!(exit.is_called("N"));
        assert!(!exit.is_called("north;n"));
        let thing = Object::new(ObjectId(4), ObjectKind::Thing, "a; b", LOBBY, 0);
        assert_eq!(thing.display_name(), "a; b");
    }

    #[test]
    fn storage_round_trip_rebuilds_indexes_and_next_id() {
        let mut w = World::new();
        let mut exit = Object::new(ObjectId(9), ObjectKind::Exit, "Out;o", ObjectId(1), 3);
        exit.location = Some(LOBBY);
        exit.destination = Some(LOBBY);
        let mut alice = player(1, "Alice", LOBBY);
        alice.password_hash = Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
        for o in [exit, alice] {
            w.apply(&WorldChange::Put(o));
        }
        let stored: Vec<String> = w.objects().map(|o| serde_json::to_string(o).unwrap()).collect();
        let back = World::from_objects(stored.iter().map(|s| serde_json::from_str(s).unwrap()));
        assert_eq!(
            back.objects().collect::<Vec<_>>(),
            w.objects().collect::<Vec<_>>()
        );
        assert_eq!(back.next_id(), ObjectId(10));
        assert_eq!(back.exits(LOBBY).count(), 1);
        assert!(back.player_by_name("alice").unwrap().password_hash.is_some());
    }

    #[test]
    fn an_empty_store_gives_the_starting_world() {
        let w = World::from_objects([]);
        assert_eq!(w.get(LOBBY).unwrap().name, "The Lobby");
        let w = World::from_objects([player(4, "Bob", LOBBY)]);
        assert!(w.get(LOBBY).is_some());
        assert_eq!(w.next_id(), ObjectId(5));
    }

    #[test]
    fn debug_output_never_shows_the_password_hash() {
        let mut p = player(1, "Alice", LOBBY);
        p.password_hash = Some("$argon2id$v=19$secretish".into());
        let shown = format!("{p:?} {:?}", WorldChange::Put(p.clone()));
        assert!(!shown.contains("argon2"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn json_is_readable_and_omits_absent_password() {
        let json = serde_json::to_value(Object::new(
            ObjectId(2),
            ObjectKind::Thing,
            "rock",
            ObjectId(1),
            5,
        ))
        .unwrap();
        assert_eq!(json["id"], 2);
        assert_eq!(json["kind"], "thing");
        assert!(json.get("password_hash").is_none());
    }

    proptest! {
        #[test]
        fn any_object_survives_json(id in 0u64..1_000_000, name in ".{0,20}", desc in ".{0,40}",
                                    loc in proptest::option::of(0u64..50), kind in 0u8..4) {
            let kind = [ObjectKind::Room, ObjectKind::Player, ObjectKind::Exit, ObjectKind::Thing][kind as usize];
            let mut o = Object::new(ObjectId(id), kind, &name, ObjectId(1), -3);
            o.description = desc;
            o.location = loc.map(ObjectId);
            o.attributes.insert("X".into(), "y".into());
            let back: Object = serde_json::from_str(&serde_json::to_string(&o).unwrap()).unwrap();
            prop_assert_eq!(back, o);
        }
    }
}
