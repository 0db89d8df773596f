//! `@ps`: the waiting actions you own (a wizard sees everyone's), soonest first.

use super::{Args, Cx};
use crate::game::perms;
use crate::game::world::ObjectId;

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, _args: &Args<'_>) {
    let world = &cx.game.world;
    let owner = perms::owner_of(world, me);
    let all = perms::is_wizard(world, me);
    let now = cx.now.as_micros();
    let mut entries: Vec<_> = world.queue().filter(|e| all || e.owner == owner).collect();
    entries.sort_by_key(|e| (e.due_micros, e.id));
    let mut lines: Vec<String> = entries
        .iter()
        .map(|e| {
            let secs = (e.due_micros - now).max(0) / 1_000_000;
            format!(
                "[{secs}s] {}({}): {}",
                world.name_of(e.executor),
                e.executor,
                e.action
            )
        })
        .collect();
    lines.push(format!("{} waiting.", entries.len()));
    cx.reply(lines.join("\n"));
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;

    #[test]
    fn ps_lists_and_halt_empties_the_queue() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        t.input(alice, "@wait 60=think later");
        t.input(alice, "@wait 5=think sooner");
        let fx = t.input(alice, "@ps");
        let text = texts_for(&fx, alice)[0].clone();
        assert!(text.starts_with("[5s] Alice(#"), "{text}");
        assert!(text.ends_with("2 waiting."), "{text}");
        let fx = t.input(alice, "@halt");
        assert_eq!(texts_for(&fx, alice), ["Halted: 2 waiting actions."]);
        let fx = t.input(alice, "@ps");
        assert_eq!(texts_for(&fx, alice), ["0 waiting."]);
    }
}
