//! `examine <object>[/<pattern>]` (`ex`): everything about an object its controller (or anyone,
//! when it is VISUAL; royalty always) may see: type, flags, owner, parent, locks, description,
//! attributes (those matching the pattern), contents, exits, home and location. Anyone else
//! learns the owner and the attributes flagged VISUAL.

use super::{Args, Cx};
use crate::game::flags;
use crate::game::perms;
use crate::game::wild;
use crate::game::world::{ObjectId, ObjectKind};

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let (what, pattern) = match args.rest.split_once('/') {
        Some((w, p)) => (w.trim(), p.trim()),
        None => (args.rest.trim(), "*"),
    };
    let what = if what.is_empty() { "here" } else { what };
    let Some(target) = cx.locate(me, what) else {
        return;
    };
    let world = &cx.game.world;
    let Some(o) = world.get(target) else {
        return;
    };
    let shown = |id: ObjectId| format!("{}({id})", world.name_of(id));
    let full = perms::can_examine(world, me, target);
    let mut lines = Vec::new();
    let letters = flags::letters(o.kind, &o.flags);
    lines.push(format!("{}({target}{letters})", o.display_name()));
    if full {
        let flag_names: Vec<&str> = o.flags.iter().map(String::as_str).collect();
        lines.push(format!(
            "Type: {} Flags: {}",
            o.kind.as_str().to_ascii_uppercase(),
            flag_names.join(" ")
        ));
        let mut owner = format!("Owner: {}", shown(o.owner));
        if let Some(p) = o.parent {
            owner.push_str(&format!("  Parent: {}", shown(p)));
        }
        lines.push(owner);
        lines.push(format!(
            "Created: {}",
            crate::game::timefmt::ctime(o.created_at_secs)
        ));
        for (kind, key) in &o.locks {
            lines.push(format!("{kind} Lock: {key}"));
        }
        if !o.description.is_empty() {
            lines.push(format!("Description: {}", o.description));
        }
    } else {
        lines.push(format!("Owner: {}", shown(o.owner)));
    }
    for (name, value) in &o.attributes {
        if !wild::matches(pattern, name) || !perms::can_read_attribute(world, me, o, name) {
            continue;
        }
        match o.attribute_flags.get(name) {
            Some(f) if !f.is_empty() => {
                let f: Vec<&str> = f.iter().map(String::as_str).collect();
                lines.push(format!("{name} [{}]: {value}", f.join(" ")));
            }
            _ => lines.push(format!("{name}: {value}")),
        }
    }
    if full && pattern == "*" {
        let contents: Vec<String> = world.contents(target).map(|c| shown(c.id)).collect();
        if !contents.is_empty() {
            lines.push("Contents:".into());
            lines.extend(contents);
        }
        if o.kind == ObjectKind::Room {
            let exits: Vec<String> = world.exits(target).map(|e| shown(e.id)).collect();
            if !exits.is_empty() {
                lines.push("Exits:".into());
                lines.extend(exits);
            }
        }
        if let Some(d) = o.destination {
            lines.push(format!("Destination: {}", shown(d)));
        }
        if let Some(h) = o.home {
            lines.push(format!("Home: {}", shown(h)));
        }
        if let Some(l) = o.location {
            lines.push(format!("Location: {}", shown(l)));
        }
    }
    cx.reply(lines.join("\n"));
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;

    #[test]
    fn the_owner_sees_everything_and_others_what_is_visual() {
        let mut t = Harness::new();
        t.new_player("One");
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(alice, "@create Rose");
        t.input(alice, "&COLOR Rose=red");
        t.input(alice, "&SMELL Rose=sweet");
        t.input(alice, "@set Rose/SMELL=VISUAL");
        t.input(alice, "@lock Rose=me");
        t.input(alice, "@desc Rose=A red rose.");
        t.input(alice, "drop Rose");
        let fx = t.input(alice, "examine Rose");
        let text = texts_for(&fx, alice).join("\n");
        for part in [
            "Rose(#",
            "Type: THING",
            "Owner: Alice(#",
            "Basic Lock: #",
            "Description: A red rose.",
            "COLOR: red",
            "SMELL [VISUAL]: sweet",
            "Location: The Lobby(#0)",
        ] {
            assert!(text.contains(part), "{part} in:\n{text}");
        }
        let fx = t.input(bob, "ex Rose");
        let text = texts_for(&fx, bob).join("\n");
        assert!(text.contains("Owner: Alice"), "{text}");
        assert!(text.contains("SMELL [VISUAL]: sweet"), "{text}");
        assert!(!text.contains("COLOR"), "{text}");
        assert!(!text.contains("Lock"), "{text}");
        let fx = t.input(alice, "ex Rose/C*");
        let text = texts_for(&fx, alice).join("\n");
        assert!(text.contains("COLOR: red") && !text.contains("SMELL"), "{text}");
    }
}
