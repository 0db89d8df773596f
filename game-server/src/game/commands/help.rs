//! `help [command]`: the list of commands, generated from the dispatch table, or one command's
//! usage and description.
//!
//! Why generated: the help can never list a command that does not exist or miss one that does.
//! The list shows what works where the player is (the login screen or the game).

use super::{Args, COMMANDS, Cx};
use crate::game::world::ObjectId;

pub(super) fn run(cx: &mut Cx<'_>, me: Option<ObjectId>, args: &Args<'_>) {
    let topic = args.rest.trim();
    let logged_in = me.is_some();
    if topic.is_empty() {
        let width = COMMANDS.iter().map(|c| c.usage.len()).max().unwrap_or(0);
        let mut lines = vec![
            if logged_in {
                "Commands:"
            } else {
                "Commands at the login screen:"
            }
            .to_owned(),
        ];
        for c in COMMANDS.iter().filter(|c| c.available(logged_in)) {
            let mut usage = c.usage.to_owned();
            if !c.prefixes.is_empty() {
                usage = format!("{usage}  (or {})", c.prefixes.join(" "));
            }
            lines.push(format!("  {usage:<width$}  {}", c.help));
        }
        if logged_in {
            lines.push(
                "  <exit name>".to_owned()
                    + &" ".repeat(width.saturating_sub(11))
                    + "  Go through that exit.",
            );
        }
        lines.push(
            "Type \"help <command>\" for more on one command; \"help softcode\", \"help functions\", \"help flags\" and \"help locks\" for programming the world."
                .to_owned(),
        );
        return cx.reply(lines.join("\n"));
    }
    let topic_lc = topic.to_ascii_lowercase();
    if let Some(text) = topic_text(&topic_lc) {
        return cx.reply(text);
    }
    let found = COMMANDS.iter().find(|c| {
        std::iter::once(&c.name)
            .chain(c.aliases)
            .chain(c.prefixes)
            .any(|n| n.to_ascii_lowercase() == topic_lc)
    });
    match found {
        Some(c) => {
            let mut text = format!("{}\n  {}", c.usage, c.help);
            let other_names: Vec<&str> = c.aliases.iter().chain(c.prefixes).copied().collect();
            if !other_names.is_empty() {
                text.push_str(&format!("\n  Also: {}", other_names.join(" ")));
            }
            if c.requires_login() && !logged_in {
                text.push_str("\n  (Once you are logged in.)");
            }
            cx.reply(text);
        }
        None => cx.reply(format!(
            "There is no help for \"{topic}\". Type \"help\" for the list of commands."
        )),
    }
}

/// How softcode works here, and where it differs from PennMUSH on purpose.
const SOFTCODE: &str =
    "Softcode: the language you program the world in (PennMUSH's, see its help for each function).
  [func(args)] evaluates a function; %0-%9 are arguments, %# who caused it, %! the object running,
  %n their name, %q0-%qz registers (setq), %r a new line; \\x keeps x as it is; {...} is not evaluated.
  &ATTR obj=code stores code; u(obj/ATTR,args) runs it. $pattern:action on an object is a command
  (* and ? wildcards become %0-%9); ^pattern:action on a MONITOR object answers what it hears.
  @wait seconds=action runs later (kept across game restarts); @trigger obj/ATTR=args runs an attribute.
Where this game differs from PennMUSH on purpose:
  - Text is Unicode: lengths and positions count characters, not bytes; integers are 64-bit.
  - say, pose, @emit and @pemit evaluate their text (as PennMUSH does); attribute values are stored as typed.
  - @trigger and @switch run at once, inside the line that ran them (PennMUSH queues them): the order
    of what players see is the same. @wait has no semaphores.
  - @destroy is immediate. Patterns are * and ? wildcards only (no regular expressions).
  - Registers are 0-9 and a-z only. Every line has a budget (fuel): see \"help budgets\" in docs/budgets.md.";

const LOCKS: &str =
    "Locks (@lock[/type] object=key): who may pass an exit, pick up a thing, page a player, use $-commands.
  Types: Basic (default), Enter, Use, Page, Teleport, Speech.
  Keys: me or #5 (is or carries it), =#5 (is it), +#5 (carries it), $#5 (same owner), @#5 (passes its lock),
  flag^WIZARD, type^PLAYER, ATTR:pattern (the one trying has that attribute matching), #true, #false;
  combined with ! (not), & (and), | (or) and ( ). Names are stored as #numbers when set.";

/// A help topic that is not a command.
fn topic_text(topic: &str) -> Option<String> {
    match topic {
        "softcode" | "code" => Some(SOFTCODE.to_owned()),
        "locks" | "lock keys" => Some(LOCKS.to_owned()),
        "functions" => {
            let names = crate::game::softcode::functions::names();
            let mut lines = vec![format!(
                "{} functions (PennMUSH's; see \"help softcode\"):",
                names.len()
            )];
            for chunk in names.chunks(8) {
                lines.push(format!("  {}", chunk.join(" ")));
            }
            Some(lines.join("\n"))
        }
        "flags" => {
            let mut lines = vec!["Flags (@set object=FLAG, @set object=!FLAG):".to_owned()];
            for f in crate::game::flags::settable() {
                let (letter, help) = (f.letter.unwrap_or(' '), f.settable.map_or("", |(_, h)| h));
                lines.push(format!("  {:<12} {letter}  {help}", f.name));
            }
            lines.push("Attribute flags (@set object/ATTR=FLAG):".to_owned());
            for f in crate::game::flags::ATTRIBUTE_FLAGS {
                if let Some(help) = f.help {
                    lines.push(format!("  {:<12} {}  {help}", f.name, f.letter));
                }
            }
            Some(lines.join("\n"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::game::commands::COMMANDS;
    use crate::game::testkit::*;

    #[test]
    fn help_topics_cover_softcode_functions_flags_and_locks() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let text = &texts_for(&t.input(alice, "help functions"), alice)[0];
        let count = crate::game::softcode::functions::names().len();
        assert!(text.starts_with(&format!("{count} functions")), "{text}");
        assert!(text.contains("ADD") && text.contains("ITER"), "{text}");
        let text = &texts_for(&t.input(alice, "help softcode"), alice)[0];
        assert!(text.contains("differs from PennMUSH on purpose"), "{text}");
        let text = &texts_for(&t.input(alice, "help flags"), alice)[0];
        assert!(text.contains("WIZARD") && text.contains("NO_COMMAND"));
        let text = &texts_for(&t.input(alice, "help locks"), alice)[0];
        assert!(text.contains("flag^WIZARD"));
    }

    #[test]
    fn help_lists_every_in_game_command_from_the_table() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let text = &texts_for(&t.input(alice, "help"), alice)[0];
        for c in COMMANDS.iter().filter(|c| c.available(true)) {
            assert!(
                text.contains(c.usage) && text.contains(c.help),
                "{} missing from help",
                c.name
            );
        }
        assert!(
            !text.contains("connect <name>"),
            "login commands are not listed in game"
        );
    }

    #[test]
    fn help_at_the_login_screen_lists_what_works_there() {
        let mut t = Harness::new();
        t.connect_handle(1, "10.0.0.1:1");
        let text = &texts_for(&t.input(h(1), "help"), h(1))[0];
        for usage in [
            "connect <name> <password>",
            "create <name> <password>",
            "WHO",
            "QUIT",
        ] {
            assert!(text.contains(usage), "{usage}");
        }
        assert!(!text.contains("@dig"));
    }

    #[test]
    fn help_on_one_command() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let text = &texts_for(&t.input(alice, "help \""), alice)[0];
        assert!(text.starts_with("say <message>\n"), "{text}");
        let text = &texts_for(&t.input(alice, "help @DESC"), alice)[0];
        assert!(text.starts_with("@describe <thing>=<text>"));
        assert!(text.contains("Also: @desc"));
        let text = &texts_for(&t.input(alice, "help frobnicate"), alice)[0];
        assert!(text.starts_with("There is no help for \"frobnicate\""));
    }
}
