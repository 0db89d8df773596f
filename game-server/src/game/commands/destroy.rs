//! `@destroy[/override] <object>` (also `@recycle`; `@nuke` is `@destroy/override`): removes a
//! thing, room or exit from the world.
//!
//! Who may: whoever controls the object (for an exit, also whoever controls the room it leads
//! out of or into, as in PennMUSH). Never the Lobby (`#0`: every lost object and home falls back
//! on it), never God, and never a player: players are not destroyed by a command here at all.
//! An object set `SAFE` is refused unless `/override` (or `@nuke`) is used.
//!
//! What happens, as in PennMUSH: a destroyed thing's contents go home (to the Lobby when home is
//! gone); a destroyed room sends everyone and everything in it home (players are told and see
//! where they land), takes the exits out of it along, and leaves the exits that led into it
//! unlinked. Whatever had the destroyed objects as home gets the Lobby instead, and as parent
//! gets none. Their waiting actions leave the queue.
//!
//! Different from PennMUSH: the destruction is immediate. PennMUSH marks the object GOING and
//! purges it some minutes later (so `@undestroy` can save it); this game keeps no half-destroyed
//! objects, so there is no `@undestroy`, and the `SAFE` flag is the guard against mistakes.
//!
//! Why it is bounded: finding what points at the destroyed objects reads the world once, and
//! costs a unit of the line's fuel per thousand objects read; each object changes at most once.

use std::collections::{BTreeMap, BTreeSet};

use super::{Args, Cx, look};
use crate::game::perms::{self, GOD};
use crate::game::world::{LOBBY, Object, ObjectId, ObjectKind, WorldChange};

const USAGE: &str = "Usage: @destroy[/override] <object>";
/// How many containers up a home is followed to see that it is not inside what it would hold.
const MAX_DEPTH: usize = 100;

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let nuke = args.used.eq_ignore_ascii_case("@nuke");
    let override_safe = match args.switches.to_ascii_lowercase().as_str() {
        "" => nuke,
        "override" => true,
        other => return cx.reply(format!("@destroy has no /{other} switch (only /override).")),
    };
    let what = args.rest.trim();
    if what.is_empty() {
        return cx.reply(USAGE);
    }
    let Some(target) = cx.locate(me, what) else {
        return;
    };
    let world = &cx.game.world;
    let Some(object) = world.get(target) else {
        return;
    };
    if target == LOBBY {
        return cx.reply("The Lobby cannot be destroyed: every lost object and every home falls back on it.");
    }
    if target == GOD {
        return cx.reply("God cannot be destroyed.");
    }
    if object.kind == ObjectKind::Player {
        return cx.reply("Players cannot be destroyed with @destroy.");
    }
    let controls = |id: Option<ObjectId>| id.is_some_and(|id| perms::controls(world, me, id));
    let allowed = controls(Some(target))
        || (object.kind == ObjectKind::Exit && (controls(object.location) || controls(object.destination)));
    if !allowed {
        return cx.reply("Permission denied: you may destroy only what you control.");
    }
    if object.flags.contains("SAFE") && !override_safe {
        return cx.reply(
            "That object is set SAFE. Use @destroy/override (or @nuke) if you really mean to destroy it.",
        );
    }
    let cost = 1 + u32::try_from(world.len() / 1_000).unwrap_or(u32::MAX);
    if !cx.fuel.burn(cost) {
        return;
    }
    let shown = format!("{}({target})", object.display_name());
    cx.reply(format!("Destroyed: {shown}."));
    destroy(cx, target);
}

/// Destroys `target` (and, for a room, the exits out of it), fixing up whatever pointed at it.
fn destroy(cx: &mut Cx<'_>, target: ObjectId) {
    let world = &cx.game.world;
    let mut doomed: BTreeSet<ObjectId> = BTreeSet::from([target]);
    doomed.extend(world.exits(target).map(|e| e.id));
    let gone = |id: Option<ObjectId>| id.is_some_and(|id| doomed.contains(&id));
    // What stays but points at what goes, changed (each object once), and what must leave.
    let mut changed: BTreeMap<ObjectId, Object> = BTreeMap::new();
    let mut evicted: Vec<ObjectId> = Vec::new();
    for o in world.objects().filter(|o| !doomed.contains(&o.id)) {
        let mut fixed = o.clone();
        if gone(o.home) {
            fixed.home = Some(LOBBY);
        }
        if gone(o.destination) {
            fixed.destination = None;
        }
        if gone(o.parent) {
            fixed.parent = None;
        }
        if matches!(o.kind, ObjectKind::Player | ObjectKind::Thing) && gone(o.location) {
            evicted.push(o.id);
        }
        if fixed != *o {
            changed.insert(o.id, fixed);
        }
    }
    let name = cx.name(target);
    let mut moving: Vec<Object> = Vec::new();
    for id in &evicted {
        let Some(mut moved) = changed.remove(id).or_else(|| world.get(*id).cloned()) else {
            continue;
        };
        let home = moved
            .home
            .filter(|h| usable_home(cx, *h, *id, &doomed))
            .unwrap_or(LOBBY);
        moved.location = Some(home);
        moving.push(moved);
    }
    for (_, object) in changed {
        cx.put(object);
    }
    // One at a time, so each arrival is seen by those already there.
    for moved in moving {
        let (id, kind, home) = (moved.id, moved.kind, moved.location);
        let arriving = format!("{} has arrived.", moved.name);
        if kind == ObjectKind::Player {
            cx.tell_player(
                id,
                format!("{name} has been destroyed around you; you are sent home."),
            );
        }
        cx.put(moved);
        if let Some(home) = home {
            cx.tell_room(home, Some(id), arriving);
        }
        if kind == ObjectKind::Player {
            let targets = cx.game.handles_of(id);
            look::show_room(cx, id, targets);
        }
    }
    let queued: Vec<u64> = cx
        .game
        .world
        .queue()
        .filter(|e| doomed.contains(&e.executor))
        .map(|e| e.id)
        .collect();
    let changes = doomed
        .into_iter()
        .map(WorldChange::Delete)
        .chain(queued.into_iter().map(WorldChange::Dequeue));
    for change in changes {
        cx.game.world.apply(&change);
        cx.fx.changes.push(change);
    }
}

/// Whether `home` can take `object` when what it is in is destroyed: a room or thing (or player)
/// that stays, and is neither the object nor inside it.
fn usable_home(cx: &Cx<'_>, home: ObjectId, object: ObjectId, doomed: &BTreeSet<ObjectId>) -> bool {
    let mut at = Some(home);
    for _ in 0..MAX_DEPTH {
        let Some(id) = at else { return true };
        if id == object || doomed.contains(&id) {
            return false;
        }
        let Some(o) = cx.obj(id) else { return false };
        if o.kind == ObjectKind::Exit {
            return false;
        }
        if o.kind == ObjectKind::Room {
            return true;
        }
        at = o.location;
    }
    false
}

#[cfg(test)]
mod tests {
    use crate::game::WorldChange;
    use crate::game::testkit::*;
    use crate::game::world::{LOBBY, ObjectId};

    fn id_of(t: &Harness, name: &str) -> ObjectId {
        t.game.world().objects().find(|o| o.name == name).unwrap().id
    }

    fn exists(t: &Harness, id: ObjectId) -> bool {
        t.game.world().get(id).is_some()
    }

    #[test]
    fn destroying_a_thing_sends_what_it_holds_home() {
        let mut t = Harness::new();
        t.new_player("One");
        let alice = t.new_player("Alice");
        t.input(alice, "@create box");
        t.input(alice, "@create pearl");
        let (box_, pearl) = (id_of(&t, "box"), id_of(&t, "pearl"));
        t.input(alice, &format!("@tel pearl={box_}"));
        assert_eq!(t.game.world().get(pearl).unwrap().location, Some(box_));
        let fx = t.input(alice, "@destroy box");
        assert_eq!(texts_for(&fx, alice)[0], format!("Destroyed: box({box_})."));
        assert!(fx.changes.contains(&WorldChange::Delete(box_)));
        assert!(!exists(&t, box_));
        assert_eq!(
            t.game.world().get(pearl).unwrap().location,
            Some(LOBBY),
            "the pearl's home is where it was made"
        );
        assert_eq!(
            texts_for(&t.input(alice, "@destroy box"), alice),
            ["I don't see that here."]
        );
    }

    #[test]
    fn destroying_a_room_sends_everyone_home_and_takes_its_exits_along() {
        let mut t = Harness::new();
        let wiz = t.new_player("One");
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        // The wizard builds the way up from the Lobby, and gives the attic to Alice.
        t.input(wiz, "@dig Attic=Up,Down");
        let (attic, up, down) = (id_of(&t, "Attic"), id_of(&t, "Up"), id_of(&t, "Down"));
        t.input(wiz, &format!("@chown {attic}=Alice"));
        t.input(alice, "up");
        t.input(bob, "up");
        t.input(alice, "@create rock");
        t.input(alice, "drop rock");
        let rock = id_of(&t, "rock");
        t.input(alice, "@dig Closet");
        let closet = id_of(&t, "Closet");
        t.input(alice, &format!("@open Hatch={closet}"));
        let hatch = id_of(&t, "Hatch");
        // Bob's home is Alice's attic; a queued action of the attic is waiting.
        let mut b = t.game.world().get(t.id("Bob")).unwrap().clone();
        b.home = Some(attic);
        t.game.world.apply(&WorldChange::Put(b));
        t.input(alice, "@wait 100=@emit tick");
        let entry = WorldChange::Queue(crate::game::world::QueueEntry {
            id: 77,
            due_micros: t.now.as_micros() + 1_000_000,
            executor: attic,
            enactor: attic,
            owner: t.id("Alice"),
            action: "@emit boo".into(),
            args: Vec::new(),
        });
        t.game.world.apply(&entry);
        let fx = t.input(alice, "@destroy here");
        let mine = texts_for(&fx, alice);
        assert_eq!(mine[0], format!("Destroyed: Attic({attic})."));
        assert_eq!(mine[1], "Attic has been destroyed around you; you are sent home.");
        assert!(mine[2].starts_with("The Lobby(#0)"), "{mine:?}");
        let bobs = texts_for(&fx, bob);
        assert_eq!(bobs[0], "Attic has been destroyed around you; you are sent home.");
        assert!(bobs.iter().any(|s| s.starts_with("The Lobby(#0)")));
        assert!(texts_for(&fx, wiz).contains(&"Alice has arrived.".to_owned()));
        assert!(mine.contains(&"Bob has arrived.".to_owned()), "{mine:?}");
        for gone in [attic, down, hatch] {
            assert!(!exists(&t, gone), "{gone}");
        }
        let w = t.game.world();
        assert_eq!(w.get(up).unwrap().destination, None, "the way in is unlinked");
        assert_eq!(w.get(t.id("Bob")).unwrap().home, Some(LOBBY));
        assert_eq!(w.get(t.id("Bob")).unwrap().location, Some(LOBBY));
        assert_eq!(w.get(rock).unwrap().location, Some(LOBBY));
        assert!(w.queue_entry(77).is_none());
        assert!(fx.changes.contains(&WorldChange::Dequeue(77)));
        assert_eq!(w.queue().count(), 1, "Alice's own wait stays");
    }

    #[test]
    fn destroying_an_exit_just_removes_it() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        t.input(alice, "@open Door=#0");
        let door = id_of(&t, "Door");
        let fx = t.input(alice, "@destroy door");
        assert_eq!(fx.changes, [WorldChange::Delete(door)]);
        assert_eq!(texts_for(&t.input(alice, "door"), alice), [HUH]);
    }

    #[test]
    fn the_lobby_god_players_others_things_and_safe_objects_are_refused() {
        let mut t = Harness::new();
        let wiz = t.new_player("One");
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(bob, "@create statue");
        t.input(bob, "drop statue");
        t.input(alice, "@create vase");
        t.input(alice, "@set vase=SAFE");
        for (who, line, said) in [
            (wiz, "@destroy here", "The Lobby cannot be destroyed"),
            (wiz, "@nuke #0", "The Lobby cannot be destroyed"),
            (wiz, "@destroy *One", "God cannot be destroyed."),
            (wiz, "@nuke *Alice", "Players cannot be destroyed"),
            (alice, "@destroy me", "Players cannot be destroyed"),
            (alice, "@destroy statue", "Permission denied"),
            (alice, "@destroy vase", "That object is set SAFE."),
            (alice, "@destroy/bogus vase", "@destroy has no /bogus switch"),
            (alice, "@destroy", "Usage: @destroy"),
        ] {
            let fx = t.input(who, line);
            assert!(fx.changes.is_empty(), "{line}");
            assert!(
                texts_for(&fx, who)[0].starts_with(said),
                "{line}: {:?}",
                texts_for(&fx, who)
            );
        }
        let vase = id_of(&t, "vase");
        t.input(alice, "@destroy/override vase");
        assert!(!exists(&t, vase));
        t.input(alice, "@create urn");
        t.input(alice, "@set urn=SAFE");
        let urn = id_of(&t, "urn");
        t.input(alice, "@nuke urn");
        assert!(!exists(&t, urn));
        // A wizard destroys what anyone owns.
        let statue = id_of(&t, "statue");
        t.input(wiz, "@recycle statue");
        assert!(!exists(&t, statue));
    }

    #[test]
    fn destroying_frees_quota() {
        let mut t = Harness::new();
        t.game.config.limits.object_quota = 2;
        let alice = t.new_player("Alice");
        t.input(alice, "@create rock");
        let fx = t.input(alice, "@create pebble");
        assert!(fx.quota_refused);
        t.input(alice, "@destroy rock");
        let fx = t.input(alice, "@create pebble");
        assert!(!fx.quota_refused);
        assert!(t.game.world().objects().any(|o| o.name == "pebble"));
    }
}
