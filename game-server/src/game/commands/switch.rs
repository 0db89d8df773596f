//! `@switch[/all] <value>=<pattern>,<action>,...[,<default>]` (`@sw`): runs the action of the
//! first pattern (`*` and `?` wildcards, evaluated) the evaluated value matches, or the default;
//! `/all` runs every match. `#$` in an action stands for the value.

use super::{Args, Cx, split_eq, user_commands};
use crate::game::softcode::split_top;
use crate::game::wild;
use crate::game::world::ObjectId;

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let Some((value, cases)) = split_eq(args.rest) else {
        return cx.reply("Usage: @switch <value>=<pattern>,<action>,...[,<default>]");
    };
    let value = cx.evaluate(me, value);
    let parts = split_top(&[], cases, b',');
    let all = args.switches.eq_ignore_ascii_case("all");
    let (enactor, code_args) = match &cx.code {
        Some(c) => (c.enactor, c.args.clone()),
        None => (me, Vec::new()),
    };
    let mut ran = false;
    let mut pairs = parts.chunks_exact(2);
    for pair in pairs.by_ref() {
        let pattern = cx.evaluate(me, pair[0].trim());
        if wild::matches(&pattern, &value) {
            let action = pair[1].trim().replace("#$", &value);
            user_commands::run_action(cx, me, enactor, code_args.clone(), &action);
            ran = true;
            if !all {
                return;
            }
        }
    }
    if !ran && let [default] = pairs.remainder() {
        let action = default.trim().replace("#$", &value);
        user_commands::run_action(cx, me, enactor, code_args, &action);
    }
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;

    #[test]
    fn switch_runs_the_first_match_or_the_default() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let fx = t.input(
            alice,
            "@switch [add(2,3)]=1*,think small,5,think five #$,think other",
        );
        assert_eq!(texts_for(&fx, alice), ["five 5"]);
        let fx = t.input(alice, "@switch apple=b*,think b,think default");
        assert_eq!(texts_for(&fx, alice), ["default"]);
        let fx = t.input(alice, "@switch/all abc=a*,think one,*c,think two");
        assert_eq!(texts_for(&fx, alice), ["one", "two"]);
    }
}
