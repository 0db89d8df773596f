//! `@wait <seconds>=<action>`: runs an action later, as the object that asked, for whoever
//! caused it (`%#` and `%0`-`%9` are kept).
//!
//! Why it survives restarts: the entry is part of the world (written with the input that queued
//! it); when it is due the game-server writes a timer to its own input topic, and the entry runs
//! when that timer is applied, leaving the queue in the same commit. A timer written twice (a
//! restart in between) finds the entry gone and does nothing: it runs exactly once.
//!
//! Why bounded: an owner has at most [`MAX_PER_OWNER`] entries waiting, a wait is at most
//! [`MAX_SECONDS`], and the action runs on its owner's fuel.

use super::{Args, Cx, split_eq};
use crate::game::perms;
use crate::game::world::{ObjectId, QueueEntry, WorldChange};

pub const MAX_PER_OWNER: usize = 100;
pub const MAX_SECONDS: i64 = 366 * 86_400;

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let Some((seconds, action)) = split_eq(args.rest) else {
        return cx.reply("Usage: @wait <seconds>=<action>");
    };
    let seconds = cx.evaluate(me, seconds);
    let Ok(seconds) = seconds.trim().parse::<f64>() else {
        return cx.reply("@wait: how many seconds? (semaphores are not supported)");
    };
    if !(0.0..=MAX_SECONDS as f64).contains(&seconds) {
        return cx.reply(format!("@wait: between 0 and {MAX_SECONDS} seconds."));
    }
    if action.is_empty() {
        return cx.reply("@wait: what should happen then?");
    }
    queue(cx, me, (seconds * 1e6) as i64, action);
}

/// Queues `action` to run as `executor` in `micros`, for the current code's enactor and
/// arguments (or `executor` itself when a player typed it).
pub(super) fn queue(cx: &mut Cx<'_>, executor: ObjectId, micros: i64, action: &str) {
    let owner = perms::owner_of(&cx.game.world, executor);
    let waiting = cx.game.world.queue().filter(|e| e.owner == owner).count();
    if waiting >= MAX_PER_OWNER {
        return cx.reply(format!(
            "You have {MAX_PER_OWNER} actions waiting already: @halt some first."
        ));
    }
    let (enactor, args) = match &cx.code {
        Some(code) => (code.enactor, code.args.clone()),
        None => (executor, Vec::new()),
    };
    let entry = QueueEntry {
        id: cx.game.world.next_queue_id(),
        due_micros: cx.now.as_micros().saturating_add(micros),
        executor,
        enactor,
        owner,
        action: action.to_owned(),
        args,
    };
    let change = WorldChange::Queue(entry);
    cx.game.world.apply(&change);
    cx.fx.changes.push(change);
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;
    use crate::game::world::WorldChange;
    use mush_protocol::{GatewayEventKind, Handle, Timestamp};

    fn timer(t: &mut Harness, entry: u64, due: Timestamp) -> crate::game::Effects {
        t.event(Handle::GAME, GatewayEventKind::Timer { entry, due })
    }

    #[test]
    fn a_wait_runs_once_when_its_timer_comes_and_never_again() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        let fx = t.input(alice, "@wait 30=say Time's up, [add(1,2)]!");
        assert!(fx.output.is_empty(), "nothing yet: {fx:?}");
        let [WorldChange::Queue(entry)] = fx.changes.as_slice() else {
            panic!("{fx:?}")
        };
        assert_eq!(entry.due_micros, t.now.as_micros() + 30_000_000);
        assert!(t.game.due_timers(t.now).is_empty());
        t.advance(30);
        let due = t.game.due_timers(t.now);
        assert_eq!(due.len(), 1);
        let (id, at) = due[0];
        let fx = timer(&mut t, id, at);
        assert_eq!(texts_for(&fx, bob), ["Alice says, \"Time's up, 3!\""]);
        assert!(matches!(fx.changes[0], WorldChange::Dequeue(i) if i == id));
        let again = timer(&mut t, id, at);
        assert!(
            again.output.is_empty() && again.changes.is_empty(),
            "a second timer does nothing"
        );
        assert!(t.game.due_timers(t.now).is_empty());
    }

    #[test]
    fn a_stale_timer_never_runs_a_newer_entry_early_and_owners_are_bounded() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        t.input(alice, "@wait 10=think first");
        let (id, at) = {
            t.advance(10);
            t.game.due_timers(t.now)[0]
        };
        timer(&mut t, id, at);
        t.input(alice, "@wait 100=think second");
        let fx = timer(&mut t, id, at);
        assert!(fx.output.is_empty(), "the old timer names the old due time");
        for _ in 0..super::MAX_PER_OWNER {
            t.input(alice, "@wait 5=think x");
        }
        let fx = t.input(alice, "@wait 5=think one too many");
        assert!(texts_for(&fx, alice)[0].contains("@halt"), "{fx:?}");
        let fx = t.input(alice, "@wait soon=think x");
        assert!(texts_for(&fx, alice)[0].contains("seconds"));
    }
}
