//! `@trigger <object>/<attribute>[=<arg0>,...]` (`@tr`): runs an attribute's action as its
//! object, with the arguments as `%0`-`%9`, for whoever triggered it. It runs at once, inside
//! the line that triggered it (PennMUSH queues it: here the output order is the same, and the
//! line's fuel pays).

use super::{Args, Cx, split_eq, user_commands};
use crate::game::perms;
use crate::game::softcode::split_top;
use crate::game::world::ObjectId;

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let (spec, arguments) = match split_eq(args.rest) {
        Some((s, a)) => (s, a),
        None => (args.rest.trim(), ""),
    };
    let Some((what, attr)) = spec.split_once('/') else {
        return cx.reply("Usage: @trigger <object>/<attribute>[=<arguments>]");
    };
    let Some(target) = cx.locate(me, what) else {
        return;
    };
    let world = &cx.game.world;
    if !perms::controls(world, me, target) {
        return cx.reply("Permission denied.");
    }
    let attr = attr.trim().to_ascii_uppercase();
    let Some((action, _)) = world.attribute(target, &attr) else {
        return cx.reply("No such attribute.");
    };
    let action = action.to_owned();
    if cx.depth >= user_commands::MAX_NESTING {
        return cx.reply("@trigger: nested too deeply.");
    }
    let values: Vec<String> = split_top(&[], arguments, b',')
        .into_iter()
        .take(10)
        .map(|a| cx.evaluate(me, a.trim()))
        .collect();
    let enactor = cx.code.as_ref().map_or(me, |c| c.enactor);
    user_commands::run_action(cx, target, enactor, values, &action);
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;

    #[test]
    fn trigger_runs_the_attribute_with_arguments() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(alice, "@create Bell");
        t.input(alice, "&RING Bell=say %0 rings [add(%1,1)] times!");
        t.input(alice, "drop Bell");
        let fx = t.input(alice, "@trigger Bell/RING=The bell,2");
        assert_eq!(texts_for(&fx, bob), ["Bell says, \"The bell rings 3 times!\""]);
        let fx = t.input(bob, "@tr Bell/RING=x");
        assert_eq!(texts_for(&fx, bob), ["Permission denied."]);
        let fx = t.input(alice, "@tr Bell/NOPE");
        assert_eq!(texts_for(&fx, alice), ["No such attribute."]);
    }
}
