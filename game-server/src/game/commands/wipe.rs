//! `@wipe <object>[/<pattern>]`: clears every attribute of an object (matching a `*`/`?`
//! pattern when given) that its controller may change.

use super::{Args, Cx};
use crate::game::perms;
use crate::game::wild;
use crate::game::world::ObjectId;

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let (what, pattern) = match args.rest.split_once('/') {
        Some((w, p)) => (w, p.trim()),
        None => (args.rest, "*"),
    };
    if what.trim().is_empty() {
        return cx.reply("Usage: @wipe <object>[/<pattern>]");
    }
    let Some(target) = cx.locate(me, what) else {
        return;
    };
    if !perms::controls(&cx.game.world, me, target) {
        return cx.reply("Permission denied.");
    }
    let Some(mut object) = cx.obj(target).cloned() else {
        return;
    };
    let world = &cx.game.world;
    let doomed: Vec<String> = object
        .attributes
        .keys()
        .filter(|a| wild::matches(pattern, a) && perms::can_write_attribute(world, me, target, a))
        .cloned()
        .collect();
    for a in &doomed {
        object.attributes.remove(a);
        object.attribute_flags.remove(a);
    }
    if !doomed.is_empty() {
        cx.put(object);
    }
    cx.reply(format!(
        "{} - {} attributes wiped.",
        cx.name(target),
        doomed.len()
    ));
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;

    #[test]
    fn wipe_clears_what_matches() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        for line in ["&A1 me=x", "&A2 me=y", "&B me=z"] {
            t.input(alice, line);
        }
        let fx = t.input(alice, "@wipe me/A*");
        assert_eq!(texts_for(&fx, alice), ["Alice - 2 attributes wiped."]);
        let fx = t.input(alice, "think [lattr(me)]");
        assert_eq!(texts_for(&fx, alice).len(), 1);
        let fx = t.input(alice, "@wipe me");
        assert_eq!(texts_for(&fx, alice), ["Alice - 1 attributes wiped."]);
    }
}
