//! `@open <exit>=<#room>`: an exit from the room the builder stands in to an existing room.
//!
//! Why a number for the room: room names need not be unique, and the room may be anywhere.
//! Why the permissions: an exit changes the room it leaves from, so the builder must control it,
//! and leads into another, which must be the builder's or open to links (`LINK_OK`).

use super::{Args, Cx, dig, split_eq};
use crate::game::world::{ObjectId, ObjectKind};
use crate::game::{names, perms};

const USAGE: &str = "Usage: @open <exit>=<#room>   (e.g. @open North;n=#12)";

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let Some((name, target)) = split_eq(args.rest) else {
        return cx.reply(USAGE);
    };
    if name.is_empty() || target.is_empty() {
        return cx.reply(USAGE);
    }
    if let Err(why) = names::check_exit_name(name) {
        return cx.reply(why);
    }
    let here = cx.location(me);
    let destination = if target.eq_ignore_ascii_case("here") {
        Some(here)
    } else {
        target
            .parse::<ObjectId>()
            .ok()
            .filter(|_| target.starts_with('#'))
    };
    let Some(destination) = destination.filter(|d| cx.obj(*d).is_some_and(|o| o.kind == ObjectKind::Room))
    else {
        return cx.reply(format!("\"{target}\" is not a room number (e.g. #12)."));
    };
    let world = &cx.game.world;
    if !perms::controls(world, me, here) {
        return cx.reply("Permission denied: you may open exits only from a room you control.");
    }
    if !perms::controls(world, me, destination) && !world.has_flag(destination, "LINK_OK") {
        return cx
            .reply("Permission denied: you may link only to a room you control or one that is LINK_OK.");
    }
    if !cx.may_create(me, 1) {
        return;
    }
    let id = dig::open_exit(cx, me, name, here, destination);
    let text = format!(
        "Opened exit {} ({id}) to {}({destination}).",
        cx.name(id),
        cx.name(destination)
    );
    cx.reply(text);
}

#[cfg(test)]
mod tests {
    use crate::game::WorldChange;
    use crate::game::testkit::*;
    use crate::game::world::{LOBBY, ObjectKind};

    #[test]
    fn open_links_here_to_a_room_by_number() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        t.input(alice, "@dig Vault");
        let vault = t.game.world().objects().find(|o| o.name == "Vault").unwrap().id;
        let fx = t.input(alice, &format!("@open Trapdoor;t={vault}"));
        let [WorldChange::Put(exit)] = fx.changes.as_slice() else {
            panic!("{:?}", fx.changes)
        };
        assert_eq!(exit.kind, ObjectKind::Exit);
        assert_eq!((exit.location, exit.destination), (Some(LOBBY), Some(vault)));
        assert_eq!(
            texts_for(&fx, alice),
            [format!("Opened exit Trapdoor ({}) to Vault({vault}).", exit.id)]
        );
        let fx = t.input(alice, "t");
        assert!(texts_for(&fx, alice)[0].starts_with("Vault("));
    }

    #[test]
    fn open_refuses_what_is_not_a_room() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let me = t.id("Alice");
        for line in [
            "@open Door=#999",
            &format!("@open Door={me}"),
            "@open Door=Vault",
            "@open Door",
            "@open =#0",
        ] {
            let fx = t.input(alice, line);
            assert!(fx.changes.is_empty(), "{line}");
            assert_eq!(texts_for(&fx, alice).len(), 1, "{line}");
        }
    }

    #[test]
    fn exits_need_control_of_the_room_and_a_linkable_destination() {
        let mut t = Harness::new();
        let wizard = t.new_player("One");
        let bob = t.new_player("Bob");
        let fx = t.input(bob, "@open Hole=#0");
        assert!(
            texts_for(&fx, bob)[0].starts_with("Permission denied"),
            "the Lobby is not Bob's"
        );
        assert!(fx.changes.is_empty());
        let fx = t.input(bob, "@dig Shed=In,Out");
        assert!(texts_for(&fx, bob)[0].starts_with("Permission denied"));
        t.input(bob, "@dig Shed");
        let shed = t.game.world().objects().find(|o| o.name == "Shed").unwrap().id;
        t.input(wizard, "@dig Tower");
        let tower = t.game.world().objects().find(|o| o.name == "Tower").unwrap().id;
        t.input(wizard, &format!("@open Up={shed}"));
        let fx = t.input(bob, &format!("@tel {shed}"));
        let _ = fx;
        let fx = t.input(bob, &format!("@open Ladder={tower}"));
        assert!(texts_for(&fx, bob)[0].contains("LINK_OK"), "{fx:?}");
        t.input(wizard, &format!("@set {tower}=LINK_OK"));
        let fx = t.input(bob, &format!("@open Ladder={tower}"));
        assert!(texts_for(&fx, bob)[0].starts_with("Opened exit Ladder"), "{fx:?}");
    }
}
