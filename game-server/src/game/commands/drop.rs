//! `drop <thing>`: puts down something the player carries, in the room they are in.
//!
//! Why it mirrors `get`: the thing's location goes back to the room, one `Put` of the thing.

use super::{Args, Cx};
use crate::game::matching::{self, Found};
use crate::game::world::ObjectId;

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let what = args.rest.trim();
    if what.is_empty() {
        return cx.reply("Drop what?");
    }
    let found = match matching::within(&cx.game.world, me, what, None) {
        Found::One(id) => id,
        Found::Missing => return cx.reply("You don't have that."),
        other => return cx.reply(other.complaint()),
    };
    let here = cx.location(me);
    let Some(mut thing) = cx.obj(found).cloned() else {
        return;
    };
    thing.location = Some(here);
    cx.put(thing);
    cx.reply("Dropped.");
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;

    #[test]
    fn only_what_is_carried_can_be_dropped() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(bob, "@create hat");
        t.input(bob, "drop hat");
        let fx = t.input(alice, "drop hat");
        assert_eq!(texts_for(&fx, alice), ["You don't have that."]);
        assert!(fx.changes.is_empty());
        assert_eq!(texts_for(&t.input(alice, "drop"), alice), ["Drop what?"]);
        t.input(alice, "@create hat");
        t.input(alice, "@create hatchet");
        assert_eq!(
            texts_for(&t.input(alice, "drop hat"), alice),
            ["Dropped."],
            "the exact name wins"
        );
        assert_eq!(
            texts_for(&t.input(alice, "i"), alice),
            ["You are carrying:\nhatchet"]
        );
    }
}
