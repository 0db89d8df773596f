//! `@create <thing>`: makes a thing, owned and carried by its maker.
//!
//! Why it is here though the issue does not list it: without it nothing could ever be picked up
//! or dropped, and `get`/`drop`/`inventory` would be untestable end to end.

use super::{Args, Cx};
use crate::game::names;
use crate::game::world::{ObjectId, ObjectKind};

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let name = args.rest.trim();
    if name.is_empty() {
        return cx.reply("Usage: @create <thing>");
    }
    if let Err(why) = names::check_object_name(name) {
        return cx.reply(why);
    }
    if !cx.may_create(me, 1) {
        return;
    }
    let mut thing = cx.new_object(ObjectKind::Thing, name, me);
    thing.location = Some(me);
    thing.home = Some(cx.location(me));
    let id = thing.id;
    cx.put(thing);
    cx.reply(format!("Created: {name}({id})."));
}

#[cfg(test)]
mod tests {
    use crate::game::WorldChange;
    use crate::game::testkit::*;
    use crate::game::world::ObjectKind;

    #[test]
    fn a_created_thing_is_carried_by_its_maker() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let fx = t.input(alice, "@create brass lamp");
        let [WorldChange::Put(lamp)] = fx.changes.as_slice() else {
            panic!("{:?}", fx.changes)
        };
        assert_eq!(
            (lamp.kind, lamp.location, lamp.owner),
            (ObjectKind::Thing, Some(t.id("Alice")), t.id("Alice"))
        );
        assert_eq!(
            texts_for(&fx, alice),
            [format!("Created: brass lamp({}).", lamp.id)]
        );
        assert!(t.input(alice, "@create").changes.is_empty());
    }

    #[test]
    fn the_object_quota_and_the_per_line_budget_hold() {
        let mut t = Harness::new();
        t.game.config.limits.object_quota = 5;
        let alice = t.new_player("Alice");
        let fx = t.input(alice, "@dolist 1 2 3 4 5 6 7=@create rock##");
        let made = fx.changes.len();
        let owned = t.game.world().owned_by(t.id("Alice"));
        assert_eq!(owned, 5, "quota of 5 (made {made})");
        assert!(fx.quota_refused);
        assert!(
            texts_for(&fx, alice)
                .iter()
                .any(|s| s.contains("as many as a player may own"))
        );
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let per_line = t.game.config().limits.objects_per_line as usize;
        let fx = t.input(alice, "@dolist [lnum(100)]=@create rock##");
        assert_eq!(fx.changes.len(), per_line);
        assert_eq!(fx.stopped, Some(crate::game::Exhausted::Objects));
    }
}
