//! `&<attribute> <object>=<value>`: sets an attribute (an empty value clears it). Also what
//! `@set <object>=<attribute>:<value>` does. The value is stored as typed: it is code, evaluated
//! when it runs (`u()`, `$`-commands), not now.
//!
//! Why bounded: an attribute name is at most [`MAX_NAME`] characters, a value at most
//! [`MAX_VALUE`] bytes, and an object holds at most [`MAX_ATTRIBUTES`] attributes and
//! [`MAX_OBJECT_BYTES`] bytes of them: the world lives in memory and in Redis, and every object
//! is written whole when it changes.

use super::{Args, Cx, split_eq};
use crate::game::perms;
use crate::game::world::ObjectId;

pub const MAX_NAME: usize = 64;
pub const MAX_VALUE: usize = 8_192;
pub const MAX_ATTRIBUTES: usize = 500;
pub const MAX_OBJECT_BYTES: usize = 256 * 1024;

/// Names the game keeps for itself (shown by `examine` from the object's fields).
const RESERVED: &[&str] = &["NAME", "DESCRIBE", "DESC", "OWNER", "LOCATION", "PASSWORD"];

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let (attr, rest) = match args.rest.split_once(char::is_whitespace) {
        Some((a, r)) => (a, r.trim()),
        None => (args.rest.trim(), ""),
    };
    let Some((what, value)) = split_eq(rest) else {
        return cx.reply("Usage: &<attribute> <object>=<value>");
    };
    let Some(target) = cx.locate(me, what) else {
        return;
    };
    set(cx, me, target, attr, value);
}

/// Whether `name` may be an attribute's name: 1 to [`MAX_NAME`] characters of letters, digits
/// and `_-.~'?!#`, starting with a letter or `_`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= MAX_NAME
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.~'?!#`".contains(c))
}

/// Sets (or, with an empty value, clears) `attr` on `target` for `me`, with every check.
pub(super) fn set(cx: &mut Cx<'_>, me: ObjectId, target: ObjectId, attr: &str, value: &str) {
    let attr = attr.trim().to_ascii_uppercase();
    if !valid_name(&attr) {
        return cx.reply(format!(
            "\"{attr}\" is not a good attribute name (1-{MAX_NAME} letters, digits or _-.~'?!#, starting with a letter)."
        ));
    }
    if RESERVED.contains(&attr.as_str()) {
        return cx.reply(format!("{attr} is kept by the game: use @describe or @name."));
    }
    if !perms::can_write_attribute(&cx.game.world, me, target, &attr) {
        return cx.reply("Permission denied.");
    }
    if value.len() > MAX_VALUE {
        return cx.reply(format!("That value is too long ({MAX_VALUE} bytes at most)."));
    }
    let Some(mut object) = cx.obj(target).cloned() else {
        return;
    };
    if value.is_empty() {
        if object.attributes.remove(&attr).is_none() {
            return cx.reply("No such attribute.");
        }
        object.attribute_flags.remove(&attr);
        cx.put(object);
        return cx.reply(format!("{} - {attr} cleared.", cx.name(target)));
    }
    let old = object.attributes.get(&attr).map_or(0, |v| attr.len() + v.len());
    let total: usize = object.attributes.iter().map(|(k, v)| k.len() + v.len()).sum();
    if total - old + attr.len() + value.len() > MAX_OBJECT_BYTES {
        return cx.reply(format!(
            "That object's attributes would pass {} KiB: clear some first.",
            MAX_OBJECT_BYTES / 1024
        ));
    }
    if old == 0 && object.attributes.len() >= MAX_ATTRIBUTES {
        return cx.reply(format!("That object has {MAX_ATTRIBUTES} attributes already."));
    }
    object.attributes.insert(attr.clone(), value.to_owned());
    cx.put(object);
    cx.reply(format!("{} - {attr} set.", cx.name(target)));
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;

    #[test]
    fn attributes_are_set_read_and_cleared_by_their_controller_only() {
        let mut t = Harness::new();
        t.new_player("One");
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(alice, "@create Rose");
        let fx = t.input(alice, "&COLOR Rose=red");
        assert_eq!(texts_for(&fx, alice), ["Rose - COLOR set."]);
        assert_eq!(fx.changes.len(), 1);
        let fx = t.input(alice, "&double rose=[mul(%0,2)]");
        assert_eq!(texts_for(&fx, alice), ["Rose - DOUBLE set."]);
        let rose = t
            .game
            .world()
            .objects()
            .find(|o| o.name == "Rose")
            .unwrap()
            .clone();
        assert_eq!(rose.attributes["DOUBLE"], "[mul(%0,2)]", "stored unevaluated");
        let fx = t.input(alice, "think [get(Rose/COLOR)] [u(Rose/DOUBLE,21)]");
        assert_eq!(texts_for(&fx, alice), ["red 42"]);
        t.input(alice, "drop Rose");
        let fx = t.input(bob, "&COLOR Rose=blue");
        assert_eq!(texts_for(&fx, bob), ["Permission denied."]);
        assert!(fx.changes.is_empty());
        let fx = t.input(alice, "&COLOR Rose=");
        assert_eq!(texts_for(&fx, alice), ["Rose - COLOR cleared."]);
        let fx = t.input(alice, "&COLOR Rose=");
        assert_eq!(texts_for(&fx, alice), ["No such attribute."]);
    }

    #[test]
    fn names_values_and_totals_are_bounded() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        for (line, said) in [
            ("&1BAD me=x", "\"1BAD\" is not a good attribute name"),
            ("&DESC me=x", "DESC is kept by the game"),
            ("&X nobody=y", "I don't see that here."),
            ("&X me", "Usage: &<attribute>"),
        ] {
            let fx = t.input(alice, line);
            assert!(texts_for(&fx, alice)[0].starts_with(said), "{line}: {fx:?}");
        }
        let value = "v".repeat(4_000);
        let mut refused = false;
        for i in 0..80 {
            let fx = t.input(alice, &format!("&A{i} me={value}"));
            if texts_for(&fx, alice)[0].contains("KiB") {
                refused = true;
                break;
            }
        }
        assert!(refused, "an object's attributes are bounded in bytes");
    }
}
