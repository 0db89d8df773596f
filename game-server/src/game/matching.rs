//! Finding what a player means by a word: `me`, `here`, `#12`, or a name of something nearby.
//!
//! Why one matcher: `look`, `@describe`, `@name`, `get`, `drop` and the evaluator's `name()` must
//! agree on what "rock" or "north" refers to. Rules (PennMUSH-like, but deterministic): an exact
//! name wins (exits by any alias); duplicates of an exact name give the first by number; otherwise
//! a unique prefix of a name (not of an exit alias); several prefixes are ambiguous. `#12` reaches
//! an object only when it is nearby (here, carried, in the room, an exit of the room) or owned by
//! the looker.

use super::world::{Object, ObjectId, ObjectKind, World};

pub const NOT_FOUND: &str = "I don't see that here.";
pub const AMBIGUOUS: &str = "I don't know which one you mean!";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    One(ObjectId),
    Missing,
    Ambiguous,
}

impl Found {
    /// What to tell the player when this is not one object.
    pub fn complaint(self) -> &'static str {
        match self {
            Found::Ambiguous => AMBIGUOUS,
            _ => NOT_FOUND,
        }
    }
}

/// What `what` names from where `me` stands: themselves, their room, what they carry, what is in
/// the room (players and things), and the room's exits.
pub fn nearby(world: &World, me: ObjectId, what: &str) -> Found {
    let what = what.trim();
    let here = world.get(me).and_then(|o| o.location);
    if what.eq_ignore_ascii_case("me") {
        return Found::One(me);
    }
    if what.eq_ignore_ascii_case("here") {
        return here.map_or(Found::Missing, Found::One);
    }
    if what.starts_with('#') {
        return match what.parse::<ObjectId>().ok().and_then(|id| world.get(id)) {
            Some(o) if is_near(me, here, o) || o.owner == me => Found::One(o.id),
            _ => Found::Missing,
        };
    }
    let carried = world.contents(me);
    let in_room = here.into_iter().flat_map(|r| world.contents(r));
    let exits = here.into_iter().flat_map(|r| world.exits(r));
    by_name(carried.chain(in_room).chain(exits), what)
}

/// What `what` names among the players and things in `location` (by name or `#id`), `skip` aside.
pub fn within(world: &World, location: ObjectId, what: &str, skip: Option<ObjectId>) -> Found {
    let what = what.trim();
    if what.starts_with('#') {
        return match what.parse::<ObjectId>().ok().and_then(|id| world.get(id)) {
            Some(o) if o.location == Some(location) && o.kind != ObjectKind::Exit && Some(o.id) != skip => {
                Found::One(o.id)
            }
            _ => Found::Missing,
        };
    }
    by_name(world.contents(location).filter(|o| Some(o.id) != skip), what)
}

/// The player `what` names anywhere: `me`, `#id`, or a player's full name (a leading `*`, as in
/// PennMUSH's `*name`, is allowed).
pub fn player(world: &World, me: ObjectId, what: &str) -> Option<ObjectId> {
    let what = what.trim();
    let what = what.strip_prefix('*').unwrap_or(what);
    if what.eq_ignore_ascii_case("me") {
        return Some(me);
    }
    if what.starts_with('#') {
        let id = what.parse::<ObjectId>().ok()?;
        return world
            .get(id)
            .filter(|o| o.kind == ObjectKind::Player)
            .map(|o| o.id);
    }
    world.player_by_name(what).map(|o| o.id)
}

fn is_near(me: ObjectId, here: Option<ObjectId>, o: &Object) -> bool {
    o.id == me || Some(o.id) == here || o.location == Some(me) || (here.is_some() && o.location == here)
}

/// Exact names first (exits by alias), then a unique prefix of a non-exit's name.
pub fn by_name<'a>(candidates: impl Iterator<Item = &'a Object>, what: &str) -> Found {
    if what.is_empty() {
        return Found::Missing;
    }
    let mut prefixed: Vec<ObjectId> = Vec::new();
    let mut exact: Option<ObjectId> = None;
    for o in candidates {
        let is_exact = if o.kind == ObjectKind::Exit {
            o.is_called(what)
        } else {
            o.name.eq_ignore_ascii_case(what)
        };
        if is_exact {
            exact = Some(exact.map_or(o.id, |e| e.min(o.id)));
        } else if o.kind != ObjectKind::Exit && starts_with_ignore_case(&o.name, what) {
            prefixed.push(o.id);
        }
    }
    match (exact, prefixed.as_slice()) {
        (Some(id), _) => Found::One(id),
        (None, [one]) => Found::One(*one),
        (None, []) => Found::Missing,
        (None, _) => Found::Ambiguous,
    }
}

fn starts_with_ignore_case(name: &str, prefix: &str) -> bool {
    name.len() >= prefix.len()
        && name.is_char_boundary(prefix.len())
        && name[..prefix.len()].eq_ignore_ascii_case(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::world::{LOBBY, WorldChange};

    fn world() -> World {
        let mut w = World::new();
        let mut put = |id: u64, kind: ObjectKind, name: &str, loc: u64, owner: u64| {
            let mut o = Object::new(ObjectId(id), kind, name, ObjectId(owner), 0);
            o.location = Some(ObjectId(loc));
            w.apply(&WorldChange::Put(o));
        };
        put(1, ObjectKind::Player, "Alice", 0, 1);
        put(2, ObjectKind::Player, "Bob", 0, 2);
        put(3, ObjectKind::Thing, "red rock", 0, 2);
        put(4, ObjectKind::Thing, "red ruby", 1, 1);
        put(5, ObjectKind::Exit, "North;n", 0, 2);
        put(6, ObjectKind::Room, "Far away", 0, 2);
        put(7, ObjectKind::Thing, "lamp", 6, 1);
        put(8, ObjectKind::Thing, "bell", 6, 2);
        put(9, ObjectKind::Thing, "red rock", 0, 2);
        w
    }

    #[test]
    fn names_prefixes_aliases_and_words() {
        let w = world();
        let me = ObjectId(1);
        assert_eq!(nearby(&w, me, "me"), Found::One(me));
        assert_eq!(nearby(&w, me, "HERE"), Found::One(LOBBY));
        assert_eq!(nearby(&w, me, "bob"), Found::One(ObjectId(2)));
        assert_eq!(
            nearby(&w, me, "red rock"),
            Found::One(ObjectId(3)),
            "duplicates: the first"
        );
        assert_eq!(nearby(&w, me, "red ru"), Found::One(ObjectId(4)));
        assert_eq!(nearby(&w, me, "red"), Found::Ambiguous);
        assert_eq!(nearby(&w, me, "n"), Found::One(ObjectId(5)));
        assert_eq!(
            nearby(&w, me, "nor"),
            Found::Missing,
            "exits match whole aliases only"
        );
        assert_eq!(nearby(&w, me, "lamp"), Found::Missing);
    }

    #[test]
    fn dbrefs_reach_nearby_or_owned_objects_only() {
        let w = world();
        let me = ObjectId(1);
        assert_eq!(nearby(&w, me, "#3"), Found::One(ObjectId(3)));
        assert_eq!(nearby(&w, me, "#7"), Found::One(ObjectId(7)), "owned, elsewhere");
        assert_eq!(nearby(&w, me, "#8"), Found::Missing, "not owned, elsewhere");
        assert_eq!(nearby(&w, me, "#99"), Found::Missing);
        assert_eq!(
            within(&w, LOBBY, "#4", None),
            Found::Missing,
            "carried, not in the room"
        );
        assert_eq!(within(&w, ObjectId(1), "#4", None), Found::One(ObjectId(4)));
    }

    #[test]
    fn players_are_found_anywhere_by_full_name() {
        let w = world();
        assert_eq!(player(&w, ObjectId(2), "*ALICE"), Some(ObjectId(1)));
        assert_eq!(player(&w, ObjectId(2), "me"), Some(ObjectId(2)));
        assert_eq!(player(&w, ObjectId(2), "#1"), Some(ObjectId(1)));
        assert_eq!(player(&w, ObjectId(2), "#3"), None);
        assert_eq!(player(&w, ObjectId(2), "Ali"), None);
    }
}
