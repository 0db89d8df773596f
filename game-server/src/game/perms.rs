//! Who may do what to which object, PennMUSH's way, in one place.
//!
//! * A **wizard** (flag `WIZARD` on a player, or on an object a wizard owns) controls everything
//!   but God (`#1`, the first player: see `create`), whom only God controls.
//! * **Royalty** (`ROYALTY`) sees everything (examines, reads attributes) but controls only what
//!   anyone would.
//! * Otherwise an object controls itself and everything its owner owns; a player owns itself.
//! * An attribute may be read by whoever controls the object, or by anyone when the object is
//!   `VISUAL` or the attribute has the `VISUAL` flag; never when the attribute is `MORTAL_DARK`
//!   (wizards and royalty aside) or `WIZARD`-flagged (wizards only).

use super::world::{Object, ObjectId, ObjectKind, World};

/// God: the first player of a world, who cannot be controlled by other wizards.
pub const GOD: ObjectId = ObjectId(1);

/// The player an object acts for: itself for a player, its owner otherwise.
pub fn owner_of(world: &World, id: ObjectId) -> ObjectId {
    match world.get(id) {
        Some(o) if o.kind == ObjectKind::Player => o.id,
        Some(o) => o.owner,
        None => id,
    }
}

/// Whether `who` has wizard powers: the `WIZARD` flag on it or on its owner.
pub fn is_wizard(world: &World, who: ObjectId) -> bool {
    who == GOD || world.has_flag(who, "WIZARD") || world.has_flag(owner_of(world, who), "WIZARD")
}

/// Whether `who` sees everything: a wizard, or `ROYALTY` on it or its owner.
pub fn sees_all(world: &World, who: ObjectId) -> bool {
    is_wizard(world, who) || world.has_flag(who, "ROYALTY") || world.has_flag(owner_of(world, who), "ROYALTY")
}

/// Whether `who` controls `what` (may change it, read all of it, destroy it).
pub fn controls(world: &World, who: ObjectId, what: ObjectId) -> bool {
    if world.get(what).is_none() || world.get(who).is_none() {
        return false;
    }
    if what == GOD {
        return who == GOD;
    }
    if is_wizard(world, who) {
        return true;
    }
    if who == what {
        return true;
    }
    let what_owner = owner_of(world, what);
    // A wizard's objects are not controlled by mortals, even of the same owner.
    if is_wizard(world, what) && !is_wizard(world, who) {
        return false;
    }
    owner_of(world, who) == what_owner
}

/// Whether `who` may examine `what` in full.
pub fn can_examine(world: &World, who: ObjectId, what: ObjectId) -> bool {
    controls(world, who, what) || sees_all(world, who) || world.has_flag(what, "VISUAL")
}

/// Whether `who` may read attribute `attr` of `object` (found on `object` or a parent).
pub fn can_read_attribute(world: &World, who: ObjectId, object: &Object, attr: &str) -> bool {
    let flags = object.attribute_flags.get(attr);
    let has = |f: &str| flags.is_some_and(|s| s.contains(f));
    if has("WIZARD") && !is_wizard(world, who) {
        return false;
    }
    if has("MORTAL_DARK") && !sees_all(world, who) {
        return false;
    }
    can_examine(world, who, object.id) || has("VISUAL")
}

/// Whether `who` may set or clear attribute `attr` of `what`.
pub fn can_write_attribute(world: &World, who: ObjectId, what: ObjectId, attr: &str) -> bool {
    if !controls(world, who, what) {
        return false;
    }
    let locked = world
        .get(what)
        .and_then(|o| o.attribute_flags.get(attr))
        .is_some_and(|f| f.contains("WIZARD") || f.contains("LOCKED"));
    !locked || is_wizard(world, who)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::world::{LOBBY, Object, ObjectKind};

    fn world() -> World {
        let mut god = Object::new(GOD, ObjectKind::Player, "One", GOD, 0);
        god.flags.insert("WIZARD".into());
        let mut wiz = Object::new(ObjectId(2), ObjectKind::Player, "Wiz", ObjectId(2), 0);
        wiz.flags.insert("WIZARD".into());
        let alice = Object::new(ObjectId(3), ObjectKind::Player, "Alice", ObjectId(3), 0);
        let bob = Object::new(ObjectId(4), ObjectKind::Player, "Bob", ObjectId(4), 0);
        let rose = Object::new(ObjectId(5), ObjectKind::Thing, "Rose", ObjectId(3), 0);
        let mut queen = Object::new(ObjectId(6), ObjectKind::Player, "Queen", ObjectId(6), 0);
        queen.flags.insert("ROYALTY".into());
        let lobby = Object::new(LOBBY, ObjectKind::Room, "The Lobby", GOD, 0);
        World::from_objects([lobby, god, wiz, alice, bob, rose, queen])
    }

    #[test]
    fn owners_control_what_they_own_and_wizards_everything_but_god() {
        let w = world();
        let (god, wiz, alice, bob, rose, queen) = (
            GOD,
            ObjectId(2),
            ObjectId(3),
            ObjectId(4),
            ObjectId(5),
            ObjectId(6),
        );
        assert!(controls(&w, alice, rose));
        assert!(controls(&w, rose, alice), "an object acts for its owner");
        assert!(controls(&w, alice, alice));
        assert!(!controls(&w, bob, rose));
        assert!(!controls(&w, bob, alice));
        assert!(controls(&w, wiz, rose));
        assert!(controls(&w, wiz, bob));
        assert!(!controls(&w, wiz, god), "only God controls God");
        assert!(controls(&w, god, wiz));
        assert!(!controls(&w, alice, wiz), "mortals never control wizards");
        assert!(!controls(&w, queen, rose), "royalty sees, does not control");
        assert!(can_examine(&w, queen, rose));
        assert!(!can_examine(&w, bob, rose));
        assert!(
            !controls(&w, alice, ObjectId(99)),
            "nothing controls what does not exist"
        );
    }

    #[test]
    fn attribute_visibility_follows_the_flags() {
        let mut w = world();
        let (alice, bob, queen) = (ObjectId(3), ObjectId(4), ObjectId(6));
        let mut rose = w.get(ObjectId(5)).unwrap().clone();
        rose.attributes.insert("COLOR".into(), "red".into());
        rose.attributes.insert("SECRET".into(), "x".into());
        rose.attributes.insert("HIDDEN".into(), "y".into());
        rose.attribute_flags
            .insert("COLOR".into(), ["VISUAL".to_owned()].into());
        rose.attribute_flags
            .insert("HIDDEN".into(), ["MORTAL_DARK".to_owned()].into());
        w.apply(&crate::game::WorldChange::Put(rose.clone()));
        assert!(can_read_attribute(&w, bob, &rose, "COLOR"));
        assert!(!can_read_attribute(&w, bob, &rose, "SECRET"));
        assert!(can_read_attribute(&w, alice, &rose, "SECRET"));
        assert!(
            !can_read_attribute(&w, alice, &rose, "HIDDEN"),
            "mortal_dark even to the owner"
        );
        assert!(can_read_attribute(&w, queen, &rose, "HIDDEN"));
        assert!(can_write_attribute(&w, alice, rose.id, "COLOR"));
        assert!(!can_write_attribute(&w, bob, rose.id, "COLOR"));
    }
}
