//! `@lock[/<type>] <object>=<key>` and `@unlock[/<type>] <object>`: who may pass an exit, pick a
//! thing up, page a player, use an object's `$`-commands (see `locks.rs` for keys and types).

use super::{Args, Cx, split_eq};
use crate::game::locks;
use crate::game::perms;
use crate::game::world::ObjectId;

/// The lock type named by the command's switch (`Basic` without one).
fn lock_type(cx: &mut Cx<'_>, args: &Args<'_>) -> Option<&'static str> {
    if args.switches.is_empty() {
        return Some("Basic");
    }
    match locks::lock_type(args.switches) {
        Some(t) => Some(t),
        None => {
            let known: Vec<&str> = locks::TYPES.iter().map(|(t, _)| *t).collect();
            cx.reply(format!(
                "There is no {} lock (types: {}).",
                args.switches,
                known.join(", ")
            ));
            None
        }
    }
}

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let Some(kind) = lock_type(cx, args) else {
        return;
    };
    let Some((what, key)) = split_eq(args.rest) else {
        return cx.reply("Usage: @lock[/<type>] <object>=<key>");
    };
    let Some(target) = cx.locate(me, what) else {
        return;
    };
    if !perms::controls(&cx.game.world, me, target) {
        return cx.reply("Permission denied.");
    }
    let world = &cx.game.world;
    let mut resolve = |word: &str| -> Result<ObjectId, String> {
        use crate::game::matching::{self, Found};
        if let Ok(id) = word.parse::<ObjectId>()
            && world.get(id).is_some()
        {
            return Ok(id);
        }
        match matching::nearby(world, me, word) {
            Found::One(id) => Ok(id),
            Found::Ambiguous => Err(format!("I don't know which \"{word}\" you mean.")),
            Found::Missing => {
                matching::player(world, me, word).ok_or_else(|| format!("I don't see \"{word}\" here."))
            }
        }
    };
    let stored = match locks::normalize(key, &mut resolve) {
        Ok(k) => k,
        Err(why) => return cx.reply(why),
    };
    let Some(mut object) = cx.obj(target).cloned() else {
        return;
    };
    object.locks.insert(kind.to_owned(), stored);
    cx.put(object);
    cx.reply(format!("{} - {kind} locked.", cx.name(target)));
}

pub(super) fn unlock(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let Some(kind) = lock_type(cx, args) else {
        return;
    };
    let Some(target) = cx.locate(me, args.rest) else {
        return;
    };
    if !perms::controls(&cx.game.world, me, target) {
        return cx.reply("Permission denied.");
    }
    let Some(mut object) = cx.obj(target).cloned() else {
        return;
    };
    if object.locks.remove(kind).is_some() {
        cx.put(object);
    }
    cx.reply(format!("{} - {kind} unlocked.", cx.name(target)));
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;

    #[test]
    fn a_locked_thing_cannot_be_picked_up_by_who_fails_the_key() {
        let mut t = Harness::new();
        t.new_player("One");
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(alice, "@create Rose");
        t.input(alice, "drop Rose");
        let fx = t.input(alice, "@lock Rose=me");
        assert_eq!(texts_for(&fx, alice), ["Rose - Basic locked."]);
        let stored = t.game.world().objects().find(|o| o.name == "Rose").unwrap().locks["Basic"].clone();
        assert_eq!(stored, t.id("Alice").to_string(), "names are stored as dbrefs");
        let fx = t.input(bob, "get Rose");
        assert_eq!(texts_for(&fx, bob), ["You can't pick that up."]);
        let fx = t.input(alice, "get Rose");
        assert_eq!(texts_for(&fx, alice), ["Taken."]);
        t.input(alice, "drop Rose");
        t.input(alice, "@unlock Rose");
        let fx = t.input(bob, "get Rose");
        assert_eq!(texts_for(&fx, bob), ["Taken."]);
    }

    #[test]
    fn lock_types_and_bad_keys_say_what_is_wrong() {
        let mut t = Harness::new();
        t.new_player("One");
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        let fx = t.input(alice, "@lock/page me=!=*Bob");
        assert_eq!(texts_for(&fx, alice), ["Alice - Page locked."]);
        let fx = t.input(bob, "page Alice=hi");
        assert!(texts_for(&fx, bob)[0].contains("not accepting pages"), "{fx:?}");
        let fx = t.input(alice, "@lock/nosuch me=me");
        assert!(texts_for(&fx, alice)[0].starts_with("There is no nosuch lock"));
        let fx = t.input(alice, "@lock me=(me");
        assert!(texts_for(&fx, alice)[0].contains("not closed"));
        let fx = t.input(bob, "@lock *Alice=me");
        assert_eq!(texts_for(&fx, bob), ["Permission denied."]);
    }
}
