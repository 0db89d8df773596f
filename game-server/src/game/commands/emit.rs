//! `@emit <text>`: text shown to everyone in the room, the emitter too, with no name in front.
//! The text is evaluated as softcode first.
//!
//! Why one message: like a pose, everyone sees the same line, so it is one multicast.

use super::{Args, Cx};
use crate::game::world::ObjectId;

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let text = cx.evaluate(me, args.rest.trim());
    if text.is_empty() {
        return cx.reply("Emit what?");
    }
    let room = cx.location(me);
    cx.tell_room(room, None, text.clone());
    super::user_commands::hear(cx, room, me, &text);
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;

    #[test]
    fn emit_shows_the_bare_text_to_the_whole_room() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        let fx = t.input(alice, "@emit The lights flicker.");
        assert_eq!(fx.output.len(), 1);
        assert_eq!(fx.output[0].targets, [alice, bob]);
        assert_eq!(text_of(&fx.output[0]), "The lights flicker.");
        assert_eq!(texts_for(&t.input(alice, "@emit"), alice), ["Emit what?"]);
    }
}
