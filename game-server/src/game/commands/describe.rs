//! `@describe <thing>=<text>` (`@desc`): sets what `look` shows. An empty text clears it.
//!
//! Why the permission: anybody may describe themselves, what they own, and the room they are in
//! (see the module comment of `commands`); everything else belongs to someone else.

use super::{Args, Cx, split_eq};
use crate::game::matching::{self, Found};
use crate::game::world::ObjectId;

const USAGE: &str = "Usage: @describe <thing>=<text>   (here, me, a name, or #id)";
const MAX_DESCRIPTION: usize = 4_000;

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let Some((what, text)) = split_eq(args.rest) else {
        return cx.reply(USAGE);
    };
    if what.is_empty() {
        return cx.reply(USAGE);
    }
    if text.chars().count() > MAX_DESCRIPTION {
        return cx.reply("That description is too long (4,000 characters at most).");
    }
    let target = match matching::nearby(&cx.game.world, me, what) {
        Found::One(id) => id,
        other => return cx.reply(other.complaint()),
    };
    if !cx.may_modify(me, target) {
        return cx
            .reply("Permission denied: you may describe only what you control (yourself and what you own).");
    }
    let Some(mut object) = cx.obj(target).cloned() else {
        return;
    };
    object.description = text.to_owned();
    cx.put(object);
    cx.reply(if text.is_empty() {
        "Description cleared."
    } else {
        "Description set."
    });
}

#[cfg(test)]
mod tests {
    use crate::game::WorldChange;
    use crate::game::testkit::*;
    use crate::game::world::LOBBY;

    #[test]
    fn describe_self_room_owned_things_and_exits() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        t.input(alice, "@create lamp");
        t.input(alice, "@open Door=#0");
        let find = |t: &Harness, name: &str| t.game.world().objects().find(|o| o.name == name).unwrap().id;
        let (lamp, door) = (find(&t, "lamp"), find(&t, "Door"));
        for (line, id) in [
            ("@describe me=Short and cheerful.", t.id("Alice")),
            ("@desc here=A bare room.", LOBBY),
            ("@desc lamp=Brass, dented.", lamp),
            ("@desc door=Oak.", door),
        ] {
            let fx = t.input(alice, line);
            assert_eq!(texts_for(&fx, alice), ["Description set."], "{line}");
            let [WorldChange::Put(o)] = fx.changes.as_slice() else {
                panic!("{line}: {:?}", fx.changes)
            };
            assert_eq!(o.id, id);
            assert_eq!(o.description, line.split_once('=').unwrap().1);
        }
        let fx = t.input(alice, "look");
        assert_eq!(texts_for(&fx, alice)[0].lines().nth(1), Some("A bare room."));
        let fx = t.input(alice, "@desc me=");
        assert_eq!(texts_for(&fx, alice), ["Description cleared."]);
        assert!(t.game.world().get(t.id("Alice")).unwrap().description.is_empty());
    }

    #[test]
    fn others_things_are_not_ours_to_describe() {
        let mut t = Harness::new();
        // The first player of a world is its wizard (God): Alice is a mortal here.
        t.new_player("One");
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(bob, "@create statue");
        t.input(bob, "drop statue");
        for line in ["@desc bob=Grumpy.", "@desc statue=Ugly."] {
            let fx = t.input(alice, line);
            assert!(fx.changes.is_empty(), "{line}");
            assert!(
                texts_for(&fx, alice)[0].starts_with("Permission denied"),
                "{line}"
            );
        }
        assert_eq!(
            texts_for(&t.input(alice, "@desc ghost=x"), alice),
            ["I don't see that here."]
        );
        assert_eq!(texts_for(&t.input(alice, "@desc me"), alice), [super::USAGE]);
    }
}
