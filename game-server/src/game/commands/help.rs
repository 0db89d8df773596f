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
        lines.push("Type \"help <command>\" for more on one command.".to_owned());
        return cx.reply(lines.join("\n"));
    }
    let topic_lc = topic.to_ascii_lowercase();
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

#[cfg(test)]
mod tests {
    use crate::game::commands::COMMANDS;
    use crate::game::testkit::*;

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
