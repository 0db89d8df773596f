//! `@dig <room>[=<exit>[,<back exit>]]`: builds a room, and optionally an exit to it from here and
//! one from it back here.
//!
//! Why all names are checked before anything is made: a typo in the back exit must not leave a
//! half-built room behind. The new objects are owned by the builder (anybody may build).

use super::{Args, Cx, split_eq};
use crate::game::world::{ObjectId, ObjectKind};
use crate::game::{names, perms};

const USAGE: &str = "Usage: @dig <room>[=<exit>[,<back exit>]]";

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let (room_name, exits) = split_eq(args.rest).unwrap_or((args.rest.trim(), ""));
    if room_name.is_empty() {
        return cx.reply(USAGE);
    }
    let (out_name, back_name) = match exits.split_once(',') {
        Some((out, back)) => (out.trim(), back.trim()),
        None => (exits.trim(), ""),
    };
    let checks = [
        names::check_object_name(room_name),
        if out_name.is_empty() {
            Ok(())
        } else {
            names::check_exit_name(out_name)
        },
        if back_name.is_empty() {
            Ok(())
        } else {
            names::check_exit_name(back_name)
        },
    ];
    if let Some(Err(why)) = checks.into_iter().find(Result::is_err) {
        return cx.reply(why);
    }
    let here = cx.location(me);
    let world = &cx.game.world;
    if !out_name.is_empty() && !perms::controls(world, me, here) {
        return cx.reply("Permission denied: you may open exits only from a room you control.");
    }
    if !back_name.is_empty() && !perms::controls(world, me, here) && !world.has_flag(here, "LINK_OK") {
        return cx.reply("Permission denied: the way back would lead into a room you do not control.");
    }
    let objects = 1 + u32::from(!out_name.is_empty()) + u32::from(!back_name.is_empty());
    if !cx.may_create(me, objects) {
        return;
    }
    let room = cx.new_object(ObjectKind::Room, room_name, me);
    let room_id = room.id;
    cx.put(room);
    let mut report = vec![format!("{room_name} created with room number {room_id}.")];
    for (name, from, to) in [(out_name, here, room_id), (back_name, room_id, here)] {
        if name.is_empty() {
            continue;
        }
        let id = open_exit(cx, me, name, from, to);
        report.push(format!(
            "Opened exit {} ({id}) from {} to {}.",
            cx.name(id),
            cx.name(from),
            cx.name(to)
        ));
    }
    cx.reply(report.join("\n"));
}

/// Makes an exit called `name` from `from` to `to`, owned by `owner`.
pub(super) fn open_exit(
    cx: &mut Cx<'_>,
    owner: ObjectId,
    name: &str,
    from: ObjectId,
    to: ObjectId,
) -> ObjectId {
    let mut exit = cx.new_object(ObjectKind::Exit, name, owner);
    exit.location = Some(from);
    exit.destination = Some(to);
    let id = exit.id;
    cx.put(exit);
    id
}

#[cfg(test)]
mod tests {
    use crate::game::WorldChange;
    use crate::game::testkit::*;
    use crate::game::world::{LOBBY, ObjectKind};

    #[test]
    fn dig_makes_a_room_and_exits_both_ways() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let me = t.id("Alice");
        let fx = t.input(alice, "@dig Rose Garden = North;n , South;s");
        let [
            WorldChange::Put(room),
            WorldChange::Put(out),
            WorldChange::Put(back),
        ] = fx.changes.as_slice()
        else {
            panic!("{:?}", fx.changes)
        };
        assert_eq!(
            (room.kind, room.name.as_str(), room.owner),
            (ObjectKind::Room, "Rose Garden", me)
        );
        assert_eq!((out.kind, out.name.as_str()), (ObjectKind::Exit, "North;n"));
        assert_eq!((out.location, out.destination), (Some(LOBBY), Some(room.id)));
        assert_eq!((back.location, back.destination), (Some(room.id), Some(LOBBY)));
        assert_eq!(
            texts_for(&fx, alice),
            [format!(
                "Rose Garden created with room number {}.\nOpened exit North ({}) from The Lobby to Rose Garden.\n\
                 Opened exit South ({}) from Rose Garden to The Lobby.",
                room.id, out.id, back.id
            )]
        );
        assert_eq!(t.game.world().exits(LOBBY).count(), 1);
    }

    #[test]
    fn dig_alone_and_with_one_exit() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let fx = t.input(alice, "@dig Cellar");
        assert_eq!(fx.changes.len(), 1);
        let fx = t.input(alice, "@dig Attic=Up");
        assert_eq!(fx.changes.len(), 2);
        assert_eq!(texts_for(&t.input(alice, "@dig"), alice), [super::USAGE]);
    }

    #[test]
    fn a_bad_name_builds_nothing() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let fx = t.input(alice, "@dig Attic=Up,;;");
        assert!(fx.changes.is_empty());
        assert!(texts_for(&fx, alice)[0].starts_with("Every alias"));
        let fx = t.input(alice, "@dig #3");
        assert!(fx.changes.is_empty());
    }
}
