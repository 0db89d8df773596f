//! `say <message>` and `"<message>`: speech to the room. The message is evaluated as softcode
//! first, as in PennMUSH (`say [add(1,2)]` says 3; `\[` keeps a bracket).
//!
//! Why one message for the listeners: the room hears the same words, so it is one multicast
//! (the lead splits it per gateway), not one message per listener; the speaker's own view differs.

use super::{Args, Cx};
use crate::game::world::ObjectId;

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let message = cx.evaluate(me, args.rest.trim());
    if message.is_empty() {
        return cx.reply("Say what?");
    }
    let name = cx.name(me);
    cx.reply(format!("You say, \"{message}\""));
    let room = cx.location(me);
    let heard = format!("{name} says, \"{message}\"");
    cx.tell_room(room, Some(me), heard.clone());
    super::user_commands::hear(cx, room, me, &heard);
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;

    #[test]
    fn the_speaker_and_the_room_see_their_own_lines_in_one_message_to_the_room() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        let carol = t.new_player("Carol");
        let dave = t.new_player("Dave");
        t.input(alice, "@dig Elsewhere=Out,Back");
        t.input(dave, "Out");
        let fx = t.input(alice, "say Hello, world!");
        assert_eq!(fx.output.len(), 2, "{fx:?}");
        assert_eq!(fx.output[0].targets, [alice]);
        assert_eq!(text_of(&fx.output[0]), "You say, \"Hello, world!\"");
        assert_eq!(
            fx.output[1].targets,
            [bob, carol],
            "one multicast to the others in the room"
        );
        assert_eq!(text_of(&fx.output[1]), "Alice says, \"Hello, world!\"");
        assert!(texts_for(&fx, dave).is_empty(), "other rooms hear nothing");
        assert!(fx.changes.is_empty());
    }

    #[test]
    fn the_quote_prefix_says_too() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        let fx = t.input(alice, "\"Hi there");
        assert_eq!(texts_for(&fx, alice), ["You say, \"Hi there\""]);
        assert_eq!(texts_for(&fx, bob), ["Alice says, \"Hi there\""]);
        let fx = t.input(alice, "say");
        assert_eq!(texts_for(&fx, alice), ["Say what?"]);
        assert!(texts_for(&fx, bob).is_empty());
    }
}
