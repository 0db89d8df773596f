//! `pose <action>`, `:<action>` and `;<text>`: acting something out in the room. The text is
//! evaluated as softcode first, as in PennMUSH.
//!
//! Why `;`: it joins the name without a space, for possessives (`;'s eyes narrow` shows
//! `Alice's eyes narrow`). Everyone in the room, the poser too, sees the same line: one multicast.

use super::{Args, Cx};
use crate::game::world::ObjectId;

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let name = cx.name(me);
    let text = if args.used == ";" {
        let action = cx.evaluate(me, args.rest.trim_end());
        format!("{name}{action}")
    } else {
        let action = cx.evaluate(me, args.rest.trim());
        let action = action.trim();
        if action.is_empty() {
            return cx.reply("Pose what?");
        }
        format!("{name} {action}")
    };
    let room = cx.location(me);
    cx.tell_room(room, None, text.clone());
    super::user_commands::hear(cx, room, me, &text);
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;

    #[test]
    fn pose_colon_and_semicolon() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        for (line, shown) in [
            ("pose waves.", "Alice waves."),
            (":waves.", "Alice waves."),
            (": waves.", "Alice waves."),
            (";'s eyes narrow.", "Alice's eyes narrow."),
        ] {
            let fx = t.input(alice, line);
            assert_eq!(fx.output.len(), 1, "{line}");
            assert_eq!(
                fx.output[0].targets,
                [alice, bob],
                "{line}: one message to the whole room"
            );
            assert_eq!(text_of(&fx.output[0]), shown, "{line}");
        }
        let fx = t.input(alice, ":");
        assert_eq!(texts_for(&fx, alice), ["Pose what?"]);
        assert!(texts_for(&fx, bob).is_empty());
    }
}
