//! `inventory` (`i`, `inv`): what the player carries.
//!
//! Why so plain: one name per line reads well on any client and is easy to test against.

use super::{Args, Cx};
use crate::game::world::ObjectId;

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, _args: &Args<'_>) {
    let carried: Vec<String> = cx.game.world.contents(me).map(|o| o.name.clone()).collect();
    if carried.is_empty() {
        cx.reply("You aren't carrying anything.");
    } else {
        cx.reply(format!("You are carrying:\n{}", carried.join("\n")));
    }
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;

    #[test]
    fn inventory_lists_what_is_carried() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        assert_eq!(
            texts_for(&t.input(alice, "inventory"), alice),
            ["You aren't carrying anything."]
        );
        t.input(alice, "@create apple");
        t.input(alice, "@create pear");
        assert_eq!(
            texts_for(&t.input(alice, "i"), alice),
            ["You are carrying:\napple\npear"]
        );
    }
}
