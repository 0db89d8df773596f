//! `enter <thing>` and `leave`: going into a thing (a vehicle, a box, a booth) and back out to
//! where it stands. A thing may be entered by whoever controls it, or by anyone when it is
//! `ENTER_OK`, and in both cases only by who passes its Enter lock.

use super::{Args, Cx, go};
use crate::game::locks;
use crate::game::matching::{self, Found};
use crate::game::perms;
use crate::game::world::{ObjectId, ObjectKind};

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let what = args.rest.trim();
    if what.is_empty() {
        return cx.reply("Enter what?");
    }
    let here = cx.location(me);
    let target = match matching::within(&cx.game.world, here, what, Some(me)) {
        Found::One(id) => id,
        other => return cx.reply(other.complaint()),
    };
    let world = &cx.game.world;
    let is_thing = world.get(target).is_some_and(|o| o.kind == ObjectKind::Thing);
    let allowed = perms::controls(world, me, target) || world.has_flag(target, "ENTER_OK");
    if !is_thing || !allowed || !locks::passes_lock(world, target, "Enter", me) {
        return cx.reply("You can't enter that.");
    }
    let leaving = format!("{} has left.", cx.name(me));
    go::move_player(cx, me, target, leaving);
}

pub(super) fn leave(cx: &mut Cx<'_>, me: ObjectId, _args: &Args<'_>) {
    let inside = cx.location(me);
    let world = &cx.game.world;
    let Some(out) = world
        .get(inside)
        .filter(|o| o.kind == ObjectKind::Thing)
        .and_then(|o| o.location)
    else {
        return cx.reply("You can't leave here: take an exit.");
    };
    let leaving = format!("{} has left.", cx.name(me));
    go::move_player(cx, me, out, leaving);
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;

    #[test]
    fn things_are_entered_when_enter_ok_and_the_enter_lock_allows() {
        let mut t = Harness::new();
        t.new_player("One");
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(alice, "@create Booth");
        t.input(alice, "drop Booth");
        let fx = t.input(bob, "enter Booth");
        assert_eq!(texts_for(&fx, bob), ["You can't enter that."]);
        t.input(alice, "@set Booth=ENTER_OK");
        t.input(alice, "@lock/enter Booth=!=*Bob");
        let fx = t.input(bob, "enter Booth");
        assert_eq!(texts_for(&fx, bob), ["You can't enter that."], "the Enter lock");
        t.input(alice, "@unlock/enter Booth");
        let fx = t.input(bob, "enter Booth");
        assert!(texts_for(&fx, bob)[0].starts_with("Booth(#"), "{fx:?}");
        assert_eq!(texts_for(&fx, alice), ["Bob has left."]);
        let fx = t.input(bob, "leave");
        assert!(texts_for(&fx, bob)[0].starts_with("The Lobby(#0)"), "{fx:?}");
        let fx = t.input(bob, "leave");
        assert_eq!(texts_for(&fx, bob), ["You can't leave here: take an exit."]);
    }
}
