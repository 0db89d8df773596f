//! `$`-commands: commands builders write. An attribute `$<pattern>:<action>` on an object makes
//! typing a line that matches the pattern (`*` and `?` wildcards; what they matched becomes
//! `%0`-`%9`) run the action as that object, for the player who typed it (`%#`).
//!
//! Where the game looks, in order (PennMUSH's): the room the player is in, the things in it
//! (players aside), what the player carries, the player, and the things in the master room
//! (`--master-room`: global commands). Every object with a matching
//! pattern runs its action (several objects may answer one line). An object flagged
//! `NO_COMMAND` or `HALT`, or an attribute flagged `NO_COMMAND`, is skipped; an object whose Use
//! lock the player fails says so instead of running.
//!
//! `^`-patterns listen: an object flagged `MONITOR` with an attribute `^<pattern>:<action>` runs
//! the action when something it hears in its room (a `say`, `pose` or `@emit`) matches the
//! pattern, with the speaker as `%#` and the wildcards as `%0`-`%9`. An object never hears
//! itself.
//!
//! Why bounded: each object looked at burns a unit of the line's fuel (and each KiB of `$`-patterns
//! read another), actions run on the same tank, and code running code nests at most
//! [`MAX_NESTING`] deep.

use super::{CodeContext, Cx, run_as};
use crate::game::softcode::split_top;
use crate::game::world::{ObjectId, ObjectKind};
use crate::game::{locks, wild};

pub const MAX_NESTING: u32 = 5;

/// Runs the `$`-commands `line` matches for `me`; false when none does.
pub(super) fn try_run(cx: &mut Cx<'_>, me: ObjectId, line: &str) -> bool {
    if cx.depth >= MAX_NESTING {
        return false;
    }
    let room = cx.location(me);
    let world = &cx.game.world;
    let mut candidates: Vec<ObjectId> = vec![room];
    candidates.extend(
        world
            .contents(room)
            .filter(|o| o.kind != ObjectKind::Player)
            .map(|o| o.id),
    );
    candidates.extend(world.contents(me).map(|o| o.id));
    candidates.push(me);
    if let Some(master) = cx.game.config.master_room.filter(|m| *m != room) {
        candidates.extend(
            world
                .contents(master)
                .filter(|o| o.kind != ObjectKind::Player)
                .map(|o| o.id),
        );
    }
    let Some(matched) = matching(cx, candidates, '$', line) else {
        return true;
    };
    if matched.is_empty() {
        return false;
    }
    for (object, action, captures) in matched {
        if cx.fuel.is_exhausted() {
            break;
        }
        if !locks::passes_lock(&cx.game.world, object, "Use", me) {
            cx.reply(format!("You can't use {}.", cx.name(object)));
            continue;
        }
        run_action(cx, object, me, captures, &action);
    }
    true
}

/// Runs the `^`-patterns of the `MONITOR` objects in `room` (but `speaker`) that `text` matches.
pub(super) fn hear(cx: &mut Cx<'_>, room: ObjectId, speaker: ObjectId, text: &str) {
    if cx.depth >= MAX_NESTING {
        return;
    }
    let world = &cx.game.world;
    let listeners: Vec<ObjectId> = std::iter::once(room)
        .chain(world.contents(room).map(|o| o.id))
        .filter(|id| *id != speaker)
        .filter(|id| world.has_flag(*id, "MONITOR") && !world.has_flag(*id, "HALT"))
        .collect();
    let Some(matched) = matching(cx, listeners, '^', text) else {
        return;
    };
    for (object, action, captures) in matched {
        if cx.fuel.is_exhausted() {
            break;
        }
        run_action(cx, object, speaker, captures, &action);
    }
}

/// The `<prefix>pattern:action` attributes of `objects` (those not `NO_COMMAND`) whose pattern
/// `text` matches: (object, action, what the wildcards took). Each object looked at burns a unit
/// of fuel, each KiB of patterns read another; `None` once the fuel is gone.
fn matching(
    cx: &mut Cx<'_>,
    objects: Vec<ObjectId>,
    prefix: char,
    text: &str,
) -> Option<Vec<(ObjectId, String, Vec<String>)>> {
    let mut matched = Vec::new();
    for id in objects {
        let Some(object) = cx.game.world.get(id) else {
            continue;
        };
        if object.flags.contains("NO_COMMAND") || object.flags.contains("HALT") {
            continue;
        }
        if !cx.fuel.burn(1) {
            return None;
        }
        for (attr, value) in &object.attributes {
            let Some(rest) = value.strip_prefix(prefix) else {
                continue;
            };
            if !cx.fuel.burn_text(value.len()) {
                return None;
            }
            if object
                .attribute_flags
                .get(attr)
                .is_some_and(|f| f.contains("NO_COMMAND"))
            {
                continue;
            }
            let Some((pattern, action)) = split_command(rest) else {
                continue;
            };
            if let Some(captures) = wild::captures(pattern, text) {
                matched.push((id, action.to_owned(), captures));
            }
        }
    }
    Some(matched)
}

/// `pattern:action` at the first `:` that is not escaped.
fn split_command(s: &str) -> Option<(&str, &str)> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b':' => return Some((&s[..i], &s[i + 1..])),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Runs `action` (commands separated by `;`) as `executor` for `enactor` with `args`.
pub(super) fn run_action(
    cx: &mut Cx<'_>,
    executor: ObjectId,
    enactor: ObjectId,
    args: Vec<String>,
    action: &str,
) {
    let saved = cx.code.replace(CodeContext { enactor, args });
    cx.depth += 1;
    for command in split_top(&[], action, b';') {
        if cx.fuel.is_exhausted() {
            break;
        }
        run_as(cx, executor, command.trim());
    }
    cx.depth -= 1;
    cx.code = saved;
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;

    #[test]
    fn a_dollar_command_on_a_thing_in_the_room_runs_for_whoever_types_it() {
        let mut t = Harness::new();
        t.new_player("One");
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(alice, "@create Rose");
        t.input(
            alice,
            "&CMD Rose=$smell *:@pemit %#=You smell %0. It is [get(me/COLOR)].",
        );
        t.input(alice, "&COLOR Rose=red");
        t.input(alice, "drop Rose");
        let fx = t.input(bob, "smell the rose");
        assert_eq!(texts_for(&fx, bob), ["You smell the rose. It is red."]);
        assert!(texts_for(&fx, alice).is_empty());
        let fx = t.input(bob, "sniff the rose");
        assert_eq!(texts_for(&fx, bob), [HUH], "no match: Huh?");
    }

    #[test]
    fn several_commands_captures_and_locks() {
        let mut t = Harness::new();
        t.new_player("One");
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(alice, "@create Box");
        t.input(
            alice,
            "&GIVE Box=$give * to *:@pemit %#=%0 goes to %1.;say Done: %0!",
        );
        t.input(alice, "drop Box");
        let fx = t.input(bob, "give a coin to Carol");
        assert_eq!(texts_for(&fx, bob)[0], "a coin goes to Carol.");
        assert!(
            texts_for(&fx, bob)
                .iter()
                .any(|l| l == "Box says, \"Done: a coin!\""),
            "{fx:?}"
        );
        t.input(alice, "@lock/use Box=me");
        let fx = t.input(bob, "give x to y");
        assert_eq!(texts_for(&fx, bob), ["You can't use Box."]);
        t.input(alice, "@set Box=NO_COMMAND");
        let fx = t.input(bob, "give x to y");
        assert_eq!(texts_for(&fx, bob), [HUH]);
    }

    #[test]
    fn things_in_the_master_room_answer_everywhere() {
        let mut t = Harness::new();
        let wizard = t.new_player("One");
        let bob = t.new_player("Bob");
        t.input(wizard, "@dig Master Room");
        let master = t
            .game
            .world()
            .objects()
            .find(|o| o.name == "Master Room")
            .unwrap()
            .id;
        t.input(wizard, "@create Globals");
        t.input(wizard, "&WHO Globals=$+finger *:@pemit %#=%0 is a player.");
        t.input(wizard, &format!("@tel Globals={master}"));
        let fx = t.input(bob, "+finger Alice");
        assert_eq!(texts_for(&fx, bob), [HUH], "no master room configured");
        t.game.config.master_room = Some(master);
        let fx = t.input(bob, "+finger Alice");
        assert_eq!(texts_for(&fx, bob), ["Alice is a player."]);
    }

    #[test]
    fn a_monitor_hears_what_is_said_and_answers() {
        let mut t = Harness::new();
        t.new_player("One");
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(alice, "@create Parrot");
        t.input(alice, "&HEAR Parrot=^* says, \"hello\":say Hello, %N!");
        t.input(alice, "drop Parrot");
        let fx = t.input(bob, "say hello");
        assert!(
            texts_for(&fx, bob).iter().all(|l| !l.contains("Parrot")),
            "not a MONITOR yet"
        );
        t.input(alice, "@set Parrot=MONITOR");
        let fx = t.input(bob, "say hello");
        assert!(
            texts_for(&fx, bob)
                .iter()
                .any(|l| l == "Parrot says, \"Hello, Bob!\""),
            "{fx:?}"
        );
        let fx = t.input(bob, "say goodbye");
        assert!(texts_for(&fx, bob).iter().all(|l| !l.contains("Parrot")));
    }

    #[test]
    fn code_that_types_its_own_command_stops() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        t.input(alice, "&LOOP me=$loop:loop;think looped");
        let fx = t.input(alice, "loop");
        assert!(!fx.output.is_empty());
    }
}
