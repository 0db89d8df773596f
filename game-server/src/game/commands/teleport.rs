//! `@teleport [<object>=]<destination>` (`@tel`): moves yourself, or an object, straight to a room
//! or into a thing, without an exit.
//!
//! Who may (PennMUSH's rules): you may teleport yourself, what you control, or what stands in a
//! place you control (a room owner may send visitors away). The destination must be yours, or
//! `JUMP_OK`, and its Teleport lock must let the object in. Wizards may teleport anything
//! anywhere, and to a player (they arrive where that player is; nobody teleports *into* a
//! player). Never into an exit, never an object into itself or into something it holds; rooms do
//! not move; an exit may only be moved to another room (it then leads out of that room). `home`
//! as the destination sends the object home, as `home` does.
//!
//! What is seen: as for walking through an exit, the old place hears "<name> has left.", the new
//! one "<name> has arrived.", and a teleported player sees the new room (with GMCP `Room.Info`).
//!
//! Why it is bounded: one object moves per command, and the check that a destination is not
//! inside the object walks at most [`MAX_DEPTH`] containers up.

use super::{Args, Cx, go, split_eq};
use crate::game::locks;
use crate::game::perms;
use crate::game::world::{LOBBY, ObjectId, ObjectKind};

const USAGE: &str = "Usage: @teleport [<object>=]<destination>";
/// How many containers up a destination is followed to see that it is not inside the object.
const MAX_DEPTH: usize = 100;

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    if !args.switches.is_empty() {
        return cx.reply(format!("@teleport has no /{} switch.", args.switches));
    }
    let (what, to) = match split_eq(args.rest) {
        Some((what, to)) => (Some(what), to),
        None => (None, args.rest.trim()),
    };
    if to.is_empty() || what.is_some_and(str::is_empty) {
        return cx.reply(USAGE);
    }
    let victim = match what {
        Some(what) => match cx.locate(me, what) {
            Some(id) => id,
            None => return,
        },
        None => me,
    };
    let world = &cx.game.world;
    let Some(object) = world.get(victim).cloned() else {
        return;
    };
    let wizard = perms::is_wizard(world, me);
    let may_move = wizard
        || perms::controls(world, me, victim)
        || object.location.is_some_and(|at| perms::controls(world, me, at));
    if !may_move {
        return cx.reply("Permission denied: you may teleport only yourself and what you control.");
    }
    if object.kind == ObjectKind::Room {
        return cx.reply("Rooms stay where they are: they cannot be teleported.");
    }
    if to.eq_ignore_ascii_case("home") {
        return send_home(cx, victim);
    }
    let Some(mut dest) = destination(cx, me, to) else {
        return;
    };
    let world = &cx.game.world;
    let Some(kind) = world.get(dest).map(|o| o.kind) else {
        return;
    };
    match kind {
        ObjectKind::Exit => return cx.reply("You can't teleport into an exit."),
        ObjectKind::Player if wizard => {
            // Wizards teleporting to a player arrive where the player is.
            match world.get(dest).and_then(|p| p.location) {
                Some(at) => dest = at,
                None => return cx.reply("That player is nowhere."),
            }
        }
        ObjectKind::Player => return cx.reply("Permission denied: you can't teleport into a player."),
        ObjectKind::Room | ObjectKind::Thing => {}
    }
    let dest_kind = world.get(dest).map(|o| o.kind);
    if object.kind == ObjectKind::Exit && dest_kind != Some(ObjectKind::Room) {
        return cx.reply("An exit can only be teleported to a room.");
    }
    if inside(cx, dest, victim) {
        return cx.reply("You can't put something inside itself.");
    }
    let world = &cx.game.world;
    if !wizard {
        if !perms::controls(world, me, dest) && !world.has_flag(dest, "JUMP_OK") {
            return cx.reply("Permission denied: that place is not yours and not JUMP_OK.");
        }
        if !locks::passes_lock(world, dest, "Teleport", victim) {
            return cx.reply("Permission denied: its Teleport lock keeps that out.");
        }
    }
    move_to(cx, victim, dest, None);
    if victim != me {
        cx.reply("Teleported.");
    }
}

/// The destination `what` names: anything [`Cx::locate`] finds, or any object by `#dbref`
/// (whether a mortal may go there is for the permission checks to say).
fn destination(cx: &mut Cx<'_>, me: ObjectId, what: &str) -> Option<ObjectId> {
    if what.starts_with('#')
        && let Ok(id) = what.parse::<ObjectId>()
        && cx.obj(id).is_some()
    {
        return Some(id);
    }
    cx.locate(me, what)
}

/// Whether `place` is `object` or somewhere inside it.
fn inside(cx: &Cx<'_>, place: ObjectId, object: ObjectId) -> bool {
    let mut at = Some(place);
    for _ in 0..MAX_DEPTH {
        match at {
            Some(id) if id == object => return true,
            Some(id) => {
                at = cx
                    .obj(id)
                    .filter(|o| o.kind != ObjectKind::Room)
                    .and_then(|o| o.location)
            }
            None => return false,
        }
    }
    // Deeper than any real nesting: refuse rather than risk a loop.
    true
}

/// `@teleport <object>=home`: where `home` would take it (the Lobby when its home is gone).
fn send_home(cx: &mut Cx<'_>, victim: ObjectId) {
    let Some(object) = cx.obj(victim) else { return };
    let home = object
        .home
        .filter(|h| {
            *h != victim
                && cx
                    .obj(*h)
                    .is_some_and(|o| matches!(o.kind, ObjectKind::Room | ObjectKind::Thing))
        })
        .filter(|h| object.kind != ObjectKind::Exit || cx.obj(*h).is_some_and(|o| o.kind == ObjectKind::Room))
        .filter(|h| !inside(cx, *h, victim))
        .unwrap_or(LOBBY);
    let leaving = format!("{} goes home.", cx.name(victim));
    move_to(cx, victim, home, Some(leaving));
}

/// Moves `victim` to `dest`: a player as `go` moves one (they see the new room), a thing with
/// the same words to both places, an exit silently.
fn move_to(cx: &mut Cx<'_>, victim: ObjectId, dest: ObjectId, leaving: Option<String>) {
    let Some(mut object) = cx.obj(victim).cloned() else {
        return;
    };
    let leaving = leaving.unwrap_or_else(|| format!("{} has left.", object.name));
    match object.kind {
        ObjectKind::Player => go::move_player(cx, victim, dest, leaving),
        ObjectKind::Thing => {
            let from = object.location;
            if from == Some(dest) {
                return;
            }
            if let Some(from) = from {
                cx.tell_room(from, Some(victim), leaving);
            }
            let arriving = format!("{} has arrived.", object.name);
            object.location = Some(dest);
            cx.put(object);
            cx.tell_room(dest, Some(victim), arriving);
        }
        ObjectKind::Exit => {
            object.location = Some(dest);
            cx.put(object);
        }
        ObjectKind::Room => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;
    use crate::game::world::{LOBBY, ObjectId};

    fn id_of(t: &Harness, name: &str) -> ObjectId {
        t.game.world().objects().find(|o| o.name == name).unwrap().id
    }

    fn location(t: &Harness, id: ObjectId) -> Option<ObjectId> {
        t.game.world().get(id).unwrap().location
    }

    #[test]
    fn teleporting_yourself_to_your_room_tells_both_rooms_and_shows_the_new_one() {
        let mut t = Harness::new();
        t.new_player("One");
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(alice, "@dig Attic");
        let attic = id_of(&t, "Attic");
        let fx = t.input(alice, &format!("@tel {attic}"));
        assert_eq!(texts_for(&fx, bob), ["Alice has left."]);
        let mine = texts_for(&fx, alice);
        assert_eq!(mine.len(), 1, "{mine:?}");
        assert!(mine[0].starts_with(&format!("Attic({attic})")), "{}", mine[0]);
        assert_eq!(location(&t, t.id("Alice")), Some(attic));
        let fx = t.input(alice, "@teleport #0");
        assert!(
            texts_for(&fx, alice)[0].starts_with("Permission denied"),
            "the Lobby is neither Alice's nor JUMP_OK"
        );
        let fx = t.input(alice, "@tel me=home");
        assert_eq!(texts_for(&fx, bob), ["Alice has arrived."]);
        assert_eq!(location(&t, t.id("Alice")), Some(LOBBY));
    }

    #[test]
    fn jump_ok_and_teleport_locks_decide_for_mortals_and_wizards_go_anywhere() {
        let mut t = Harness::new();
        let wiz = t.new_player("One");
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(bob, "@dig Vault");
        let vault = id_of(&t, "Vault");
        let tel = format!("@tel {vault}");
        let fx = t.input(alice, &tel);
        assert!(texts_for(&fx, alice)[0].contains("not JUMP_OK"));
        assert!(fx.changes.is_empty());
        t.input(bob, &format!("@set {vault}=JUMP_OK"));
        t.input(bob, &format!("@lock/teleport {vault}=!*Alice"));
        let fx = t.input(alice, &tel);
        assert!(texts_for(&fx, alice)[0].contains("Teleport lock"));
        t.input(bob, &format!("@unlock/teleport {vault}"));
        t.input(alice, &tel);
        assert_eq!(location(&t, t.id("Alice")), Some(vault));
        // A wizard goes anywhere, even locked out, and to a player's side.
        t.input(bob, &format!("@lock/teleport {vault}=#false"));
        t.input(bob, &format!("@set {vault}=!JUMP_OK"));
        let fx = t.input(wiz, "@tel *Alice");
        assert!(texts_for(&fx, alice).contains(&"One has arrived.".to_owned()));
        assert_eq!(location(&t, t.id("One")), Some(vault));
        let fx = t.input(alice, "@tel *Bob");
        assert!(texts_for(&fx, alice)[0].starts_with("Permission denied"));
    }

    #[test]
    fn objects_move_by_their_controller_and_visitors_can_be_sent_away() {
        let mut t = Harness::new();
        t.new_player("One");
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(alice, "@dig Attic");
        let attic = id_of(&t, "Attic");
        t.input(alice, "@create rock");
        let rock = id_of(&t, "rock");
        let fx = t.input(alice, &format!("@tel rock={attic}"));
        assert_eq!(texts_for(&fx, alice), ["Teleported."]);
        assert_eq!(location(&t, rock), Some(attic));
        // Bob may not move Alice's things, nor Alice herself.
        let fx = t.input(bob, &format!("@tel {rock}=here"));
        assert_eq!(texts_for(&fx, bob), ["I don't see that here."]);
        let fx = t.input(bob, &format!("@tel *Alice={attic}"));
        assert!(texts_for(&fx, bob)[0].starts_with("Permission denied"));
        // In Alice's attic, Bob can be sent home by Alice.
        t.input(alice, &format!("@set {attic}=JUMP_OK"));
        t.input(bob, &format!("@tel {attic}"));
        assert_eq!(location(&t, t.id("Bob")), Some(attic));
        t.input(alice, &format!("@tel {attic}"));
        let fx = t.input(alice, "@tel *Bob=#0");
        assert!(
            texts_for(&fx, alice)[0].starts_with("Permission denied"),
            "the Lobby is not Alice's"
        );
        let fx = t.input(alice, "@tel *Bob=home");
        assert_eq!(texts_for(&fx, alice)[0], "Bob goes home.");
        assert!(texts_for(&fx, bob)[0].starts_with("The Lobby(#0)"));
        assert_eq!(location(&t, t.id("Bob")), Some(LOBBY));
    }

    #[test]
    fn never_into_an_exit_nor_into_itself_and_rooms_stay_put() {
        let mut t = Harness::new();
        let wiz = t.new_player("One");
        t.input(wiz, "@dig Garden=North");
        t.input(wiz, "@create box");
        t.input(wiz, "@create ring");
        t.input(wiz, "drop box");
        let (box_, ring) = (id_of(&t, "box"), id_of(&t, "ring"));
        t.input(wiz, &format!("@tel ring={box_}"));
        assert_eq!(location(&t, ring), Some(box_));
        for (line, said) in [
            ("@tel north".to_owned(), "You can't teleport into an exit."),
            (
                format!("@tel box={box_}"),
                "You can't put something inside itself.",
            ),
            (
                format!("@tel box={ring}"),
                "You can't put something inside itself.",
            ),
            ("@tel here=#0".to_owned(), "Rooms stay where they are"),
            (
                "@tel north=box".to_owned(),
                "An exit can only be teleported to a room.",
            ),
            ("@tel".to_owned(), "Usage: @teleport"),
            ("@tel/list box=#0".to_owned(), "@teleport has no /list switch."),
        ] {
            let fx = t.input(wiz, &line);
            assert!(fx.changes.is_empty(), "{line}");
            assert!(
                texts_for(&fx, wiz)[0].starts_with(said),
                "{line}: {:?}",
                texts_for(&fx, wiz)
            );
        }
        // An exit moves to another room and leads out of it.
        let garden = id_of(&t, "Garden");
        let north = id_of(&t, "North");
        t.input(wiz, &format!("@tel north={garden}"));
        assert_eq!(location(&t, north), Some(garden));
        // Into a thing: the box now holds the wizard.
        let fx = t.input(wiz, "@tel box");
        assert!(texts_for(&fx, wiz)[0].starts_with(&format!("box({box_})")));
        assert_eq!(location(&t, t.id("One")), Some(box_));
    }
}
