//! `@pemit <player or object>=<message>`: a message to one player (anywhere, by `*name`) or to
//! something near, with no name in front. The message is evaluated as softcode first.
//!
//! Why the checks: a `HAVEN` player or one whose page lock refuses you gets nothing, as with
//! pages.

use super::{Args, Cx, split_eq};
use crate::game::locks;
use crate::game::world::{ObjectId, ObjectKind};

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let Some((who, message)) = split_eq(args.rest) else {
        return cx.reply("Usage: @pemit <player>=<message>");
    };
    let who = cx.evaluate(me, who);
    let Some(target) = cx.locate(me, &who) else {
        return;
    };
    let world = &cx.game.world;
    let is_player = world.get(target).is_some_and(|o| o.kind == ObjectKind::Player);
    let near = world.get(target).and_then(|o| o.location) == world.get(me).and_then(|o| o.location);
    if is_player
        && target != me
        && !crate::game::perms::controls(world, me, target)
        && (world.has_flag(target, "HAVEN") || !locks::passes_lock(world, target, "Page", me))
        && !near
    {
        return cx.reply(format!("{} is not accepting messages.", cx.name(target)));
    }
    let text = cx.evaluate(me, message);
    cx.tell_player(target, text);
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;

    #[test]
    fn pemit_reaches_one_player_with_evaluated_text() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        let fx = t.input(alice, "@pemit *Bob=You have [add(2,3)] coins, %n says.");
        assert_eq!(texts_for(&fx, bob), ["You have 5 coins, Alice says."]);
        assert!(texts_for(&fx, alice).is_empty());
        let fx = t.input(alice, "@pemit nobody=x");
        assert_eq!(texts_for(&fx, alice), ["I don't see that here."]);
    }
}
