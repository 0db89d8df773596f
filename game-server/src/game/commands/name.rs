//! `@name <thing>=<new name>`: renames what you control (yourself, what you own; see `perms`).
//!
//! Why players are special: a player's name is how others page them and how they log in, so it
//! follows the player-name rules and stays unique (changing only its case is allowed). Exits keep
//! their `;` aliases. GMCP clients get a fresh `Char.Name` when players rename themselves.

use super::{Args, Cx, split_eq};
use crate::game::matching::{self, Found};
use crate::game::world::{ObjectId, ObjectKind};
use crate::game::{gmcp, names};

const USAGE: &str = "Usage: @name <thing>=<new name>";

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let Some((what, new_name)) = split_eq(args.rest) else {
        return cx.reply(USAGE);
    };
    if what.is_empty() || new_name.is_empty() {
        return cx.reply(USAGE);
    }
    let target = match matching::nearby(&cx.game.world, me, what) {
        Found::One(id) => id,
        other => return cx.reply(other.complaint()),
    };
    if !cx.may_modify(me, target) {
        return cx
            .reply("Permission denied: you may rename only what you control (yourself and what you own).");
    }
    let Some(mut object) = cx.obj(target).cloned() else {
        return;
    };
    let check = match object.kind {
        ObjectKind::Player => {
            names::check_player_name(new_name).and_then(|()| match cx.game.world.player_by_name(new_name) {
                Some(other) if other.id != target => Err("There is already a player with that name."),
                _ => Ok(()),
            })
        }
        ObjectKind::Exit => names::check_exit_name(new_name),
        ObjectKind::Room | ObjectKind::Thing => names::check_object_name(new_name),
    };
    if let Err(why) = check {
        return cx.reply(why);
    }
    object.name = new_name.to_owned();
    let is_player = object.kind == ObjectKind::Player;
    cx.put(object.clone());
    cx.reply("Name set.");
    if is_player {
        let handles = cx.game.handles_of(target);
        let targets = gmcp::filter(cx.game, &handles, "Char.Name");
        cx.send(targets, gmcp::char_name(&object));
    }
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;

    #[test]
    fn renaming_self_things_and_exits() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        let fx = t.input(alice, "@name me=Alicia");
        assert_eq!(texts_for(&fx, alice), ["Name set."]);
        assert_eq!(fx.changes.len(), 1);
        assert!(t.game.world().player_by_name("alice").is_none());
        let fx = t.input(bob, "page alicia=hi");
        assert_eq!(texts_for(&fx, alice), ["Bob pages: hi"]);
        assert_eq!(
            texts_for(&t.input(alice, "@name me=ALICIA"), alice),
            ["Name set."],
            "case only"
        );
        t.input(alice, "@create pebble");
        t.input(alice, "@name pebble=shiny pebble");
        assert_eq!(
            texts_for(&t.input(alice, "i"), alice),
            ["You are carrying:\nshiny pebble"]
        );
        t.input(alice, "@open Door=#0");
        t.input(alice, "@name door=Gate;g");
        assert!(texts_for(&t.input(alice, "look g"), alice)[0].starts_with("Gate("));
        t.input(alice, "@name here=Great Hall");
        assert!(texts_for(&t.input(bob, "look"), bob)[0].starts_with("Great Hall(#0)"));
    }

    #[test]
    fn names_must_be_valid_unique_and_ours() {
        let mut t = Harness::new();
        // The first player of a world is its wizard (God): Alice is a mortal here.
        t.new_player("One");
        let alice = t.new_player("Alice");
        t.new_player("Bob");
        for (line, said) in [
            ("@name me=bob", "There is already a player with that name."),
            ("@name me=X", "A player name must be 2 to 30 characters long."),
            ("@name bob=Robert", "Permission denied"),
            ("@name me", "Usage: @name"),
            ("@create rock", "Created"),
            ("@name rock=#1", "A name cannot start with '#'."),
        ] {
            let fx = t.input(alice, line);
            assert!(fx.changes.is_empty() || line.starts_with("@create"), "{line}");
            assert!(texts_for(&fx, alice)[0].starts_with(said), "{line}: {fx:?}");
        }
    }
}
