//! `@set <object>=[!]<flag>`, `@set <object>=<attribute>:<value>`, `@set <object>/<attribute>=[!]<attribute flag>`.
//!
//! Why the checks: flags are powers (`WIZARD` only by God, `ROYALTY` only by wizards); the rest
//! needs control of the object (see `perms` and `flags`).

use super::{Args, Cx, attribute, split_eq};
use crate::game::flags::{self, SetBy};
use crate::game::perms;
use crate::game::world::ObjectId;

const USAGE: &str = "Usage: @set <object>=[!]<flag>, @set <object>=<attribute>:<value>, or @set <object>/<attribute>=[!]<attribute flag>";

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let Some((what, setting)) = split_eq(args.rest) else {
        return cx.reply(USAGE);
    };
    if what.is_empty() || setting.is_empty() {
        return cx.reply(USAGE);
    }
    if let Some((object, attr)) = what.split_once('/') {
        let Some(target) = cx.locate(me, object) else {
            return;
        };
        return attribute_flag(cx, me, target, attr, setting);
    }
    let Some(target) = cx.locate(me, what) else {
        return;
    };
    if let Some((attr, value)) = setting.split_once(':')
        && !attr.contains(char::is_whitespace)
        && !attr.is_empty()
    {
        return attribute::set(cx, me, target, attr, value);
    }
    let (clear, name) = match setting.strip_prefix('!') {
        Some(n) => (true, n),
        None => (false, setting),
    };
    let Some(flag) = flags::find(name) else {
        return cx.reply(format!("I don't know the flag {}.", name.trim()));
    };
    let world = &cx.game.world;
    let allowed = match flag.set_by() {
        Some(SetBy::Controller) => perms::controls(world, me, target),
        Some(SetBy::Wizard) => perms::is_wizard(world, me),
        Some(SetBy::God) => me == perms::GOD,
        None => false,
    };
    if !allowed {
        return cx.reply("Permission denied.");
    }
    let Some(mut object) = cx.obj(target).cloned() else {
        return;
    };
    let changed = if clear {
        object.flags.remove(flag.name)
    } else {
        object.flags.insert(flag.name.to_owned())
    };
    let name = cx.name(target);
    if changed {
        cx.put(object);
    }
    cx.reply(format!(
        "{name} - {} {}.",
        flag.name,
        if clear { "reset" } else { "set" }
    ));
}

fn attribute_flag(cx: &mut Cx<'_>, me: ObjectId, target: ObjectId, attr: &str, setting: &str) {
    let attr = attr.trim().to_ascii_uppercase();
    let (clear, name) = match setting.strip_prefix('!') {
        Some(n) => (true, n),
        None => (false, setting),
    };
    let Some(flag) = flags::find_attribute_flag(name) else {
        return cx.reply(format!("I don't know the attribute flag {}.", name.trim()));
    };
    if flag == "REGEXP" {
        return cx.reply("Regular expression patterns are not supported: use * and ? wildcards.");
    }
    let world = &cx.game.world;
    if !perms::controls(world, me, target)
        || (matches!(flag, "WIZARD" | "LOCKED") && !perms::is_wizard(world, me))
    {
        return cx.reply("Permission denied.");
    }
    let Some(mut object) = cx.obj(target).cloned() else {
        return;
    };
    if !object.attributes.contains_key(&attr) {
        return cx.reply("No such attribute.");
    }
    let set = object.attribute_flags.entry(attr.clone()).or_default();
    if clear {
        set.remove(flag);
    } else {
        set.insert(flag.to_owned());
    }
    if set.is_empty() {
        object.attribute_flags.remove(&attr);
    }
    cx.put(object);
    cx.reply(format!(
        "{}/{attr} - {flag} {}.",
        cx.name(target),
        if clear { "reset" } else { "set" }
    ));
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;

    #[test]
    fn flags_are_set_by_whoever_may() {
        let mut t = Harness::new();
        let wiz = t.new_player("One");
        let alice = t.new_player("Alice");
        t.input(alice, "@create Rose");
        let fx = t.input(alice, "@set Rose=DARK");
        assert_eq!(texts_for(&fx, alice), ["Rose - DARK set."]);
        assert!(t.input(alice, "think [hasflag(Rose,DARK)]").output.len() == 1);
        let fx = t.input(alice, "@set Rose=!dark");
        assert_eq!(texts_for(&fx, alice), ["Rose - DARK reset."]);
        let fx = t.input(alice, "@set me=WIZARD");
        assert_eq!(texts_for(&fx, alice), ["Permission denied."]);
        let fx = t.input(alice, "@set me=ROYALTY");
        assert_eq!(texts_for(&fx, alice), ["Permission denied."]);
        let fx = t.input(wiz, "@set *Alice=ROYALTY");
        assert_eq!(texts_for(&fx, wiz), ["Alice - ROYALTY set."]);
        let fx = t.input(wiz, "@set *Alice=WIZARD");
        assert_eq!(texts_for(&fx, wiz), ["Alice - WIZARD set."], "God makes wizards");
        let fx = t.input(alice, "@set me=NOSUCH");
        assert_eq!(texts_for(&fx, alice), ["I don't know the flag NOSUCH."]);
    }

    #[test]
    fn attributes_and_attribute_flags() {
        let mut t = Harness::new();
        t.new_player("One");
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(alice, "@create Rose");
        t.input(alice, "drop Rose");
        let fx = t.input(alice, "@set Rose=COLOR:red");
        assert_eq!(texts_for(&fx, alice), ["Rose - COLOR set."]);
        let fx = t.input(bob, "think [get(Rose/COLOR)]");
        assert_eq!(texts_for(&fx, bob), ["#-1 NO PERMISSION TO GET ATTRIBUTE"]);
        let fx = t.input(alice, "@set Rose/COLOR=visual");
        assert_eq!(texts_for(&fx, alice), ["Rose/COLOR - VISUAL set."]);
        let fx = t.input(bob, "think [get(Rose/COLOR)]");
        assert_eq!(texts_for(&fx, bob), ["red"]);
        let fx = t.input(alice, "@set Rose/NOPE=visual");
        assert_eq!(texts_for(&fx, alice), ["No such attribute."]);
        let fx = t.input(alice, "@set Rose/COLOR=wizard");
        assert_eq!(texts_for(&fx, alice), ["Permission denied."]);
    }
}
