//! `@dolist <list>=<command>`: runs the command once for each word of the evaluated list, in
//! order, with `##` replaced by the word. `@dolist [lnum(1,100)]=think ##` prints 1 to 100.
//!
//! Why bounded: a list is cut at [`MAX_ITEMS`] items (with a message saying so), `@dolist`s nest at
//! most [`MAX_NESTING`] deep, and everything a line runs, nested lists included, burns the one
//! tank of fuel of that line (see `budget`), so one input cannot make the game run forever. It stops early if the player logs out (`QUIT` in the list).

use super::{Args, Cx, run_line, split_eq};
use crate::game::world::ObjectId;

pub const MAX_ITEMS: usize = 1_000;
pub const MAX_NESTING: u32 = 5;

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let Some((list, command)) = split_eq(args.rest) else {
        return cx.reply("Usage: @dolist <list>=<command>");
    };
    if command.is_empty() {
        return cx.reply("Usage: @dolist <list>=<command>");
    }
    if cx.depth >= MAX_NESTING {
        return cx.reply("@dolist: nested too deeply.");
    }
    let list = cx.evaluate(me, list);
    let typed_by = cx.player();
    let items: Vec<&str> = list.split_whitespace().collect();
    cx.depth += 1;
    for item in items.iter().take(MAX_ITEMS) {
        if cx.player() != typed_by || cx.fuel.is_exhausted() {
            break;
        }
        run_line(cx, &command.replace("##", item));
    }
    cx.depth -= 1;
    if items.len() > MAX_ITEMS && cx.player() == typed_by && !cx.fuel.is_exhausted() {
        cx.reply(format!(
            "@dolist: the list has {} items; only the first {MAX_ITEMS} were run.",
            items.len()
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;

    #[test]
    fn dolist_think_prints_one_to_a_hundred_in_order() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        let fx = t.input(alice, "@dolist [lnum(1,100)]=think ##");
        let expected: Vec<String> = (1..=100).map(|n| n.to_string()).collect();
        assert_eq!(texts_for(&fx, alice), expected);
        assert_eq!(fx.output.len(), 100, "one Text per item");
        assert!(texts_for(&fx, bob).is_empty());
    }

    #[test]
    fn dolist_runs_any_command_and_substitutes_everywhere() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        let fx = t.input(alice, "@dolist red green=say ## is ##!");
        assert_eq!(
            texts_for(&fx, bob),
            ["Alice says, \"red is red!\"", "Alice says, \"green is green!\""]
        );
        let fx = t.input(alice, "@dolist a b=think [strlen(##)]-[add(##,1)]");
        assert_eq!(texts_for(&fx, alice), ["1-#-1 ARGUMENTS MUST BE NUMBERS"; 2]);
        let fx = t.input(alice, "@dol 1 2=@dolist x y=think ##");
        assert_eq!(
            texts_for(&fx, alice),
            ["1", "1", "2", "2"],
            "the outer ## is replaced first"
        );
        assert!(
            t.input(alice, "@dolist =think x").output.is_empty(),
            "an empty list runs nothing"
        );
        assert_eq!(
            texts_for(&t.input(alice, "@dolist 1 2"), alice),
            ["Usage: @dolist <list>=<command>"]
        );
    }

    #[test]
    fn long_lists_are_cut_with_a_message() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let fx = t.input(alice, "@dolist [lnum(1,1005)]=think ##");
        let texts = texts_for(&fx, alice);
        assert_eq!(texts.len(), super::MAX_ITEMS + 1);
        assert_eq!(texts[999], "1000");
        assert_eq!(
            texts[1000],
            "@dolist: the list has 1005 items; only the first 1000 were run."
        );
    }

    #[test]
    fn nesting_is_bounded_and_quit_stops_the_list() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let nested = "@dolist 1=".repeat(7) + "think deep";
        let texts = texts_for(&t.input(alice, &nested), alice);
        assert_eq!(texts, ["@dolist: nested too deeply."]);
        let fx = t.input(alice, "@dolist 1 2 3=QUIT");
        let goodbyes = fx
            .output
            .iter()
            .filter(
                |o| matches!(&o.kind, mush_protocol::GameMessageKind::Text { text } if text == "Goodbye."),
            )
            .count();
        assert_eq!(goodbyes, 1);
    }
}
