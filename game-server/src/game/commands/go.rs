//! Movement: typing an exit's name (any of its `;` aliases), or `go <exit>`.
//!
//! Why the order of messages: the old room hears "Name has left." before the player moves, the
//! new room hears "Name has arrived." after, and the player then sees the new room (with GMCP
//! `Room.Info`), so each observer's story reads in order. `home` moves the same way.

use super::{Args, Cx, look};
use crate::game::world::{ObjectId, ObjectKind};

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let name = args.rest.trim();
    if name.is_empty() {
        return cx.reply("Go where?");
    }
    match exit_named(cx, me, name) {
        Some(exit) => traverse(cx, me, exit),
        None => cx.reply("You can't go that way."),
    }
}

/// The exit out of `me`'s room called `name` (the first by number if several are).
pub(super) fn exit_named(cx: &Cx<'_>, me: ObjectId, name: &str) -> Option<ObjectId> {
    let room = cx.location(me);
    cx.game
        .world
        .exits(room)
        .find(|e| e.is_called(name))
        .map(|e| e.id)
}

pub(super) fn traverse(cx: &mut Cx<'_>, me: ObjectId, exit: ObjectId) {
    if !crate::game::locks::passes_lock(&cx.game.world, exit, "Basic", me) {
        return cx.reply("You can't go that way.");
    }
    let destination = cx
        .obj(exit)
        .and_then(|e| e.destination)
        .filter(|d| cx.obj(*d).is_some_and(|r| r.kind == ObjectKind::Room));
    match destination {
        Some(room) => {
            let leaving = format!("{} has left.", cx.name(me));
            move_player(cx, me, room, leaving);
        }
        None => cx.reply("That exit leads nowhere."),
    }
}

/// Moves `me` to `room`: `leaving` to the old room, "has arrived." to the new one, then the look.
pub(super) fn move_player(cx: &mut Cx<'_>, me: ObjectId, room: ObjectId, leaving: String) {
    let Some(mut player) = cx.obj(me).cloned() else {
        return;
    };
    let from = player.location;
    if from != Some(room) {
        if let Some(from) = from {
            cx.tell_room(from, Some(me), leaving);
        }
        player.location = Some(room);
        let arriving = format!("{} has arrived.", player.name);
        cx.put(player);
        cx.tell_room(room, Some(me), arriving);
    }
    let targets = cx.game.handles_of(me);
    look::show_room(cx, me, targets);
}

#[cfg(test)]
mod tests {
    use crate::game::WorldChange;
    use crate::game::testkit::*;
    use crate::game::world::LOBBY;
    use mush_protocol::{ClientInfo, GatewayEventKind};

    #[test]
    fn walking_through_exits_by_any_alias_tells_both_rooms_and_shows_the_new_one() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(alice, "@dig Garden=North;n,South;s");
        let garden = t.game.world().objects().find(|o| o.name == "Garden").unwrap().id;
        t.event(
            alice,
            GatewayEventKind::ClientInfo(ClientInfo {
                gmcp: true,
                ..Default::default()
            }),
        );
        let fx = t.input(alice, "N");
        assert_eq!(texts_for(&fx, bob), ["Alice has left."]);
        let mine = texts_for(&fx, alice);
        assert_eq!(mine.len(), 1);
        assert!(mine[0].starts_with(&format!("Garden({garden})")), "{}", mine[0]);
        assert!(mine[0].ends_with("Obvious exits:\nSouth"));
        let info = gmcp_for(&fx, alice);
        assert_eq!(info[0].1["num"], garden.0);
        let [WorldChange::Put(moved)] = fx.changes.as_slice() else {
            panic!("{:?}", fx.changes)
        };
        assert_eq!(moved.location, Some(garden));

        let fx = t.input(bob, "go north");
        assert_eq!(texts_for(&fx, alice), ["Bob has arrived."]);
        let fx = t.input(bob, "south");
        assert_eq!(texts_for(&fx, alice), ["Bob has left."]);
        assert_eq!(t.game.world().get(t.id("Bob")).unwrap().location, Some(LOBBY));
    }

    #[test]
    fn there_is_no_going_where_there_is_no_exit() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        assert_eq!(
            texts_for(&t.input(alice, "go west"), alice),
            ["You can't go that way."]
        );
        assert_eq!(texts_for(&t.input(alice, "west"), alice), [HUH]);
        assert_eq!(texts_for(&t.input(alice, "go"), alice), ["Go where?"]);
    }
}
