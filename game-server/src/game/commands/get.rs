//! `get <thing>` (`take`): picks up a thing lying in the room.
//!
//! Why only things: players, exits and rooms are not carried; a thing's Basic lock says who may
//! pick it up. Picking something up moves it into
//! the player (its location becomes the player), one `Put` of the thing.

use super::{Args, Cx};
use crate::game::matching::{self, Found};
use crate::game::world::{ObjectId, ObjectKind};

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let what = args.rest.trim();
    if what.is_empty() {
        return cx.reply("Get what?");
    }
    let here = cx.location(me);
    let found = match matching::within(&cx.game.world, here, what, Some(me)) {
        Found::One(id) => id,
        Found::Missing if cx.game.world.exits(here).any(|e| e.is_called(what)) => {
            return cx.reply("You can't pick that up.");
        }
        other => return cx.reply(other.complaint()),
    };
    let Some(mut thing) = cx.obj(found).cloned() else {
        return;
    };
    if thing.kind != ObjectKind::Thing || !crate::game::locks::passes_lock(&cx.game.world, found, "Basic", me)
    {
        return cx.reply("You can't pick that up.");
    }
    thing.location = Some(me);
    cx.put(thing);
    cx.reply("Taken.");
}

#[cfg(test)]
mod tests {
    use crate::game::WorldChange;
    use crate::game::testkit::*;

    #[test]
    fn get_drop_and_inventory_move_things_between_room_and_player() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(alice, "@create gold coin");
        let fx = t.input(alice, "drop gold");
        assert_eq!(texts_for(&fx, alice), ["Dropped."]);
        let [WorldChange::Put(coin)] = fx.changes.as_slice() else {
            panic!("{:?}", fx.changes)
        };
        assert_eq!(coin.location, Some(crate::game::LOBBY));
        assert!(texts_for(&t.input(bob, "look"), bob)[0].contains("\ngold coin"));

        let fx = t.input(bob, "get gold coin");
        assert_eq!(texts_for(&fx, bob), ["Taken."]);
        let [WorldChange::Put(coin)] = fx.changes.as_slice() else {
            panic!("{:?}", fx.changes)
        };
        assert_eq!(coin.location, Some(t.id("Bob")));
        assert_eq!(
            texts_for(&t.input(bob, "inventory"), bob),
            ["You are carrying:\ngold coin"]
        );
        assert_eq!(
            texts_for(&t.input(alice, "inventory"), alice),
            ["You aren't carrying anything."]
        );
        assert!(!texts_for(&t.input(alice, "look"), alice)[0].contains("gold coin"));
    }

    #[test]
    fn what_cannot_be_taken() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        t.new_player("Bob");
        t.input(alice, "@open Door=#0");
        for (line, said) in [
            ("get bob", "You can't pick that up."),
            ("get door", "You can't pick that up."),
            ("get unicorn", "I don't see that here."),
            ("get me", "I don't see that here."),
            ("get", "Get what?"),
        ] {
            let fx = t.input(alice, line);
            assert_eq!(texts_for(&fx, alice), [said], "{line}");
            assert!(fx.changes.is_empty(), "{line}");
        }
    }
}
