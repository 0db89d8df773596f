//! `QUIT` (in capitals): "Goodbye.", then a request to the gateway to close the connection.
//!
//! Why the order and the unbinding: the gateway writes everything sent before the `Disconnect`
//! and then closes, so "Goodbye." must come first. The connection is unbound at once (with a
//! state write), and the room is told now if this was the player's last connection, so the
//! `Disconnected` that follows when the socket closes announces nothing a second time.

use mush_protocol::{DisconnectReason, GameMessageKind};

use super::{Args, Cx};
use crate::game::StateWrite;
use crate::game::world::ObjectId;

pub(super) fn run(cx: &mut Cx<'_>, me: Option<ObjectId>, _args: &Args<'_>) {
    cx.tell_handle("Goodbye.");
    cx.send(
        vec![cx.handle],
        GameMessageKind::Disconnect {
            reason: DisconnectReason::Quit,
            message: String::new(),
        },
    );
    if me.is_some()
        && let Some(player) = cx.game.unbind(cx.handle)
    {
        cx.fx.state.push(StateWrite::Unbind { handle: cx.handle });
        cx.game.announce_if_gone(player, cx.fx);
    }
}

#[cfg(test)]
mod tests {
    use crate::game::StateWrite;
    use crate::game::testkit::*;
    use mush_protocol::{DisconnectReason, GameMessageKind};

    #[test]
    fn quit_says_goodbye_then_disconnects_then_tells_the_room() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        let fx = t.input(alice, "QUIT");
        assert_eq!(fx.output.len(), 3, "{fx:?}");
        assert_eq!(fx.output[0].targets, [alice]);
        assert_eq!(text_of(&fx.output[0]), "Goodbye.");
        assert_eq!(fx.output[1].targets, [alice]);
        assert_eq!(
            fx.output[1].kind,
            GameMessageKind::Disconnect {
                reason: DisconnectReason::Quit,
                message: String::new()
            }
        );
        assert_eq!(texts_for(&fx, bob), ["Alice has disconnected."]);
        assert_eq!(fx.state.last(), Some(&StateWrite::Unbind { handle: alice }));
        let fx = t.disconnect(alice);
        assert!(
            fx.output.is_empty(),
            "no second announcement when the socket closes"
        );
        let fx = t.input(bob, "quit");
        assert_eq!(texts_for(&fx, bob), [HUH], "QUIT must be typed in capitals");
    }

    #[test]
    fn quit_at_the_login_screen_also_disconnects() {
        let mut t = Harness::new();
        t.connect_handle(1, "10.0.0.1:1");
        let fx = t.input(h(1), "QUIT");
        assert_eq!(text_of(&fx.output[0]), "Goodbye.");
        assert!(matches!(fx.output[1].kind, GameMessageKind::Disconnect { .. }));
        assert!(fx.state.iter().all(|s| !matches!(s, StateWrite::Unbind { .. })));
    }
}
