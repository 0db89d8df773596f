//! `@chown[/preserve] <object>=<player>`: gives an object (a thing, room or exit) to a player.
//!
//! Who may (PennMUSH's rules): a wizard may give anything but a player to any player. Anyone else
//! may only take an object for themselves, and only when they own it already or it is
//! `CHOWN_OK`, and it is within reach: carried, the room they stand in, or in (or leading out of)
//! that room. Players always own themselves and are never chowned.
//!
//! What changes besides the owner, as in PennMUSH: `CHOWN_OK` is cleared (the new owner sets it
//! again if they mean to pass the object on), and, unless a wizard asks for `/preserve`, the
//! privileged flags (`WIZARD`, `ROYALTY`) are cleared and the object is set `HALT`, so that code
//! written for the old owner does not run with the new owner's rights (and on their budget)
//! until they have looked at it.
//!
//! Why it is bounded: one object changes per command, and the new owner's object quota holds (a
//! chown is how a player would otherwise collect more objects than the quota allows).

use super::{Args, Cx, split_eq};
use crate::game::matching;
use crate::game::perms;
use crate::game::world::{ObjectId, ObjectKind};

const USAGE: &str = "Usage: @chown[/preserve] <object>=<player>";

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let preserve = match args.switches.to_ascii_lowercase().as_str() {
        "" => false,
        "preserve" => true,
        other => return cx.reply(format!("@chown has no /{other} switch (only /preserve).")),
    };
    let Some((what, who)) = split_eq(args.rest) else {
        return cx.reply(USAGE);
    };
    if what.is_empty() || who.is_empty() {
        return cx.reply(USAGE);
    }
    let Some(target) = cx.locate(me, what) else {
        return;
    };
    let world = &cx.game.world;
    let Some(new_owner) = matching::player(world, me, who)
        .filter(|p| world.get(*p).is_some_and(|o| o.kind == ObjectKind::Player))
    else {
        return cx.reply("I couldn't find that player.");
    };
    let Some(object) = world.get(target).cloned() else {
        return;
    };
    if object.kind == ObjectKind::Player {
        return cx.reply("Players always own themselves; they cannot be @chowned.");
    }
    let wizard = perms::is_wizard(world, me);
    if preserve && !wizard {
        return cx.reply("Only wizards may @chown/preserve.");
    }
    if wizard {
        if !perms::controls(world, me, target) {
            return cx.reply("Permission denied.");
        }
    } else {
        let myself = perms::owner_of(world, me);
        if new_owner != myself {
            return cx.reply("You may only @chown things to yourself.");
        }
        if object.owner != myself && !object.flags.contains("CHOWN_OK") {
            return cx.reply("Permission denied: that is not yours, and not set CHOWN_OK.");
        }
        let here = world.get(me).and_then(|o| o.location);
        let within_reach = Some(target) == here
            || object.location == Some(me)
            || (here.is_some() && object.location == here);
        if !within_reach {
            return cx.reply("You must be carrying it, or be in the same room, to @chown it.");
        }
    }
    if object.owner != new_owner && !within_quota(cx, new_owner) {
        return;
    }
    let mut object = object;
    object.owner = new_owner;
    object.flags.remove("CHOWN_OK");
    if !preserve {
        object.flags.remove("WIZARD");
        object.flags.remove("ROYALTY");
        object.flags.insert("HALT".to_owned());
    }
    cx.put(object);
    cx.reply("Owner changed.");
}

/// Whether `owner` may own one more object; says why not when not.
fn within_quota(cx: &mut Cx<'_>, owner: ObjectId) -> bool {
    let quota = cx.game.config.limits.object_quota;
    if quota > 0 && cx.game.world.owned_by(owner) >= quota as usize {
        cx.fx.quota_refused = true;
        let name = cx.name(owner);
        cx.reply(format!(
            "{name} owns {quota} objects already, which is as many as a player may own."
        ));
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use crate::game::WorldChange;
    use crate::game::testkit::*;
    use crate::game::world::{LOBBY, ObjectId};

    fn id_of(t: &Harness, name: &str) -> ObjectId {
        t.game.world().objects().find(|o| o.name == name).unwrap().id
    }

    fn owner(t: &Harness, id: ObjectId) -> ObjectId {
        t.game.world().get(id).unwrap().owner
    }

    #[test]
    fn a_wizard_gives_anything_to_anyone_and_chowning_clears_chown_ok_and_halts() {
        let mut t = Harness::new();
        let wiz = t.new_player("One");
        t.new_player("Alice");
        t.input(wiz, "@create lamp");
        let lamp = id_of(&t, "lamp");
        t.input(wiz, "@set lamp=CHOWN_OK");
        let fx = t.input(wiz, "@chown lamp=*Alice");
        assert_eq!(texts_for(&fx, wiz), ["Owner changed."]);
        let [WorldChange::Put(o)] = fx.changes.as_slice() else {
            panic!("{:?}", fx.changes)
        };
        assert_eq!((o.id, o.owner), (lamp, t.id("Alice")));
        assert!(
            !o.flags.contains("CHOWN_OK") && o.flags.contains("HALT"),
            "{:?}",
            o.flags
        );
        // Rooms too, and /preserve keeps the flags as they were.
        let fx = t.input(wiz, "@chown/preserve here=Alice");
        assert_eq!(texts_for(&fx, wiz), ["Owner changed."]);
        assert_eq!(owner(&t, LOBBY), t.id("Alice"));
        assert!(!t.game.world().has_flag(LOBBY, "HALT"));
    }

    #[test]
    fn players_are_never_chowned_and_the_new_owner_must_be_a_player() {
        let mut t = Harness::new();
        let wiz = t.new_player("One");
        t.new_player("Alice");
        t.input(wiz, "@create lamp");
        for (line, said) in [
            ("@chown *Alice=me", "Players always own themselves"),
            ("@chown lamp=nobody", "I couldn't find that player."),
            ("@chown lamp=here", "I couldn't find that player."),
            ("@chown lamp", "Usage: @chown"),
            ("@chown/bogus lamp=me", "@chown has no /bogus switch"),
        ] {
            let fx = t.input(wiz, line);
            assert!(fx.changes.is_empty(), "{line}");
            assert!(
                texts_for(&fx, wiz)[0].starts_with(said),
                "{line}: {:?}",
                texts_for(&fx, wiz)
            );
        }
    }

    #[test]
    fn a_mortal_takes_chown_ok_objects_within_reach_for_themselves_only() {
        let mut t = Harness::new();
        t.new_player("One");
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(bob, "@create statue");
        t.input(bob, "drop statue");
        let statue = id_of(&t, "statue");
        let fx = t.input(alice, "@chown statue=me");
        assert!(texts_for(&fx, alice)[0].starts_with("Permission denied"));
        t.input(bob, "@set statue=CHOWN_OK");
        let fx = t.input(alice, "@chown statue=Bob");
        assert_eq!(texts_for(&fx, alice), ["You may only @chown things to yourself."]);
        let fx = t.input(alice, "@chown statue=me");
        assert_eq!(texts_for(&fx, alice), ["Owner changed."]);
        assert_eq!(owner(&t, statue), t.id("Alice"));
        assert!(!t.game.world().has_flag(statue, "CHOWN_OK"));
        // Bob cannot take it back: it is no longer CHOWN_OK.
        let fx = t.input(bob, "@chown statue=me");
        assert!(texts_for(&fx, bob)[0].starts_with("Permission denied"));
        let fx = t.input(alice, "@chown/preserve statue=me");
        assert_eq!(texts_for(&fx, alice), ["Only wizards may @chown/preserve."]);
    }

    #[test]
    fn a_mortal_cannot_chown_what_is_out_of_reach() {
        let mut t = Harness::new();
        t.new_player("One");
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(bob, "@dig Vault");
        let vault = id_of(&t, "Vault");
        t.input(bob, "@create coin");
        let coin = id_of(&t, "coin");
        t.input(bob, "@set coin=CHOWN_OK");
        // Alice names the coin by number: Bob carries it, not her, and not her room.
        let fx = t.input(alice, &format!("@chown {coin}=me"));
        assert_eq!(texts_for(&fx, alice), ["I don't see that here."]);
        t.input(bob, &format!("@set {vault}=CHOWN_OK"));
        let fx = t.input(alice, &format!("@chown {vault}=me"));
        assert_eq!(texts_for(&fx, alice), ["I don't see that here."]);
        assert_eq!(owner(&t, vault), t.id("Bob"));
        // Found (anyone may examine what is VISUAL), but still out of reach.
        t.input(bob, "@set coin=VISUAL");
        let fx = t.input(alice, &format!("@chown {coin}=me"));
        assert_eq!(
            texts_for(&fx, alice),
            ["You must be carrying it, or be in the same room, to @chown it."]
        );
        assert_eq!(owner(&t, coin), t.id("Bob"));
    }

    #[test]
    fn the_new_owners_quota_holds() {
        let mut t = Harness::new();
        // A player counts as one of their own objects.
        t.game.config.limits.object_quota = 3;
        let wiz = t.new_player("One");
        let alice = t.new_player("Alice");
        t.input(alice, "@create a");
        t.input(alice, "@create b");
        t.input(wiz, "@create gift");
        let fx = t.input(wiz, "@chown gift=Alice");
        assert!(fx.changes.is_empty());
        assert!(fx.quota_refused);
        assert_eq!(
            texts_for(&fx, wiz),
            ["Alice owns 3 objects already, which is as many as a player may own."]
        );
        let fx = t.input(alice, "@chown a=me");
        assert_eq!(
            texts_for(&fx, alice),
            ["Owner changed."],
            "already hers: no new object"
        );
    }
}
