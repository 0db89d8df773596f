//! `home`: back to the player's home (the Lobby unless it is gone).
//!
//! Why its own words: the old room sees "Name goes home." rather than "has left.", as in PennMUSH.

use super::{Args, Cx, go};
use crate::game::world::{LOBBY, ObjectId, ObjectKind};

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, _args: &Args<'_>) {
    let home = cx
        .obj(me)
        .and_then(|p| p.home)
        .filter(|h| cx.obj(*h).is_some_and(|r| r.kind == ObjectKind::Room))
        .unwrap_or(LOBBY);
    cx.reply("There's no place like home...");
    let leaving = format!("{} goes home.", cx.name(me));
    go::move_player(cx, me, home, leaving);
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;
    use crate::game::world::LOBBY;

    #[test]
    fn home_takes_the_player_back_to_the_lobby() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(alice, "@dig Attic=Up,Down");
        t.input(alice, "up");
        t.input(bob, "up");
        let fx = t.input(alice, "home");
        assert_eq!(texts_for(&fx, bob), ["Alice goes home."]);
        let mine = texts_for(&fx, alice);
        assert_eq!(mine[0], "There's no place like home...");
        assert!(mine[1].starts_with("The Lobby(#0)"));
        assert_eq!(t.game.world().get(t.id("Alice")).unwrap().location, Some(LOBBY));
        let fx = t.input(alice, "home");
        assert_eq!(fx.changes.len(), 0, "already home: nothing moves");
        assert!(texts_for(&fx, alice)[1].starts_with("The Lobby(#0)"));
    }
}
