//! `@halt [<object>]`: takes waiting actions off the queue: one object's (that you control), or
//! every one you own.

use super::{Args, Cx};
use crate::game::perms;
use crate::game::world::{ObjectId, WorldChange};

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let what = args.rest.trim();
    let owner = perms::owner_of(&cx.game.world, me);
    let doomed: Vec<u64> = if what.is_empty() {
        cx.game
            .world
            .queue()
            .filter(|e| e.owner == owner)
            .map(|e| e.id)
            .collect()
    } else {
        let Some(target) = cx.locate(me, what) else {
            return;
        };
        if !perms::controls(&cx.game.world, me, target) {
            return cx.reply("Permission denied.");
        }
        cx.game
            .world
            .queue()
            .filter(|e| e.executor == target)
            .map(|e| e.id)
            .collect()
    };
    for id in &doomed {
        let change = WorldChange::Dequeue(*id);
        cx.game.world.apply(&change);
        cx.fx.changes.push(change);
    }
    cx.reply(format!("Halted: {} waiting actions.", doomed.len()));
}
