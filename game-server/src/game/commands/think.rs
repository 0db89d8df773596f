//! `think <text>`: evaluates the text (see `eval.rs`) and shows the result to the thinker only.
//!
//! Why it exists: it is how players try functions, and, under `@dolist`, how lists get printed.

use super::{Args, Cx};
use crate::game::softcode as eval;
use crate::game::world::ObjectId;

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let text = eval::evaluate(cx.game, me, cx.now, args.rest.trim(), &mut cx.fuel);
    if !text.is_empty() {
        cx.tell_player(me, text);
    }
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;

    #[test]
    fn think_evaluates_for_the_thinker_only() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        let fx = t.input(alice, "think %n has [add(2,3)] ideas.%rSecond line.");
        assert_eq!(texts_for(&fx, alice), ["Alice has 5 ideas.\nSecond line."]);
        assert!(texts_for(&fx, bob).is_empty());
        let fx = t.input(alice, "think [nosuch()]");
        assert_eq!(texts_for(&fx, alice), ["#-1 FUNCTION (NOSUCH) NOT FOUND"]);
        assert!(t.input(alice, "think").output.is_empty());
    }
}
