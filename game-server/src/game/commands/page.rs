//! `page <player>=<message>`: a private message to a player wherever they are, on all their
//! connections. `page bob=:waves` pages a pose.
//!
//! Why the lookup is as it is: a full name (or `#id`) finds any player; failing that, a unique
//! prefix of a connected player's name, since that is whom one pages. An unknown name and an
//! offline player get different, clear answers: paging is no login screen, names are public here.

use super::{Args, Cx, split_eq};
use crate::game::matching;
use crate::game::world::ObjectId;

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let Some((who, message)) = split_eq(args.rest) else {
        return cx.reply("Page whom? (page <player>=<message>)");
    };
    if message.is_empty() {
        return cx.reply("What do you want to page? (page <player>=<message>)");
    }
    let Some(target) = find(cx, me, who) else {
        return cx.reply(format!("I don't recognize \"{who}\"."));
    };
    let (my_name, their_name) = (cx.name(me), cx.name(target));
    if !cx.game.is_online(target) {
        return cx.reply(format!("{their_name} is not connected."));
    }
    let world = &cx.game.world;
    if target != me
        && !crate::game::perms::is_wizard(world, me)
        && (world.has_flag(target, "HAVEN") || !crate::game::locks::passes_lock(world, target, "Page", me))
    {
        return cx.reply(format!("{their_name} is not accepting pages."));
    }
    if let Some(action) = message.strip_prefix(':') {
        let action = action.trim();
        cx.reply(format!("Long distance to {their_name}: {my_name} {action}"));
        cx.tell_player(target, format!("From afar, {my_name} {action}"));
    } else {
        cx.reply(format!("You paged {their_name} with '{message}'."));
        cx.tell_player(target, format!("{my_name} pages: {message}"));
    }
}

fn find(cx: &Cx<'_>, me: ObjectId, who: &str) -> Option<ObjectId> {
    if let Some(p) = matching::player(&cx.game.world, me, who) {
        return Some(p);
    }
    let who = who.to_ascii_lowercase();
    let mut online = cx.game.online.keys().filter(|p| {
        cx.obj(**p)
            .is_some_and(|o| o.name.to_ascii_lowercase().starts_with(&who))
    });
    match (online.next(), online.next()) {
        (Some(p), None) => Some(*p),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;

    #[test]
    fn paging_reaches_every_connection_of_the_player_anywhere() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(bob, "@dig Far=Go,Back");
        t.input(bob, "go");
        let bob2 = t.login_again("Bob", 9);
        let carol = t.new_player("Carol");
        let fx = t.input(alice, "page bob=Are you there?");
        assert_eq!(texts_for(&fx, alice), ["You paged Bob with 'Are you there?'."]);
        let to_bob: Vec<_> = fx.output.iter().filter(|o| o.targets.contains(&bob)).collect();
        assert_eq!(to_bob.len(), 1);
        let mut targets = to_bob[0].targets.clone();
        targets.sort();
        assert_eq!(targets, [bob2, bob]);
        assert_eq!(text_of(to_bob[0]), "Alice pages: Are you there?");
        assert!(texts_for(&fx, carol).is_empty(), "pages are private");
        let fx = t.input(alice, "p Bo=:waves.");
        assert_eq!(texts_for(&fx, alice), ["Long distance to Bob: Alice waves."]);
        assert_eq!(texts_for(&fx, bob), ["From afar, Alice waves."]);
    }

    #[test]
    fn unknown_offline_and_malformed_pages_are_explained() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.disconnect(bob);
        let fx = t.input(alice, "page Nobody=hi");
        assert_eq!(texts_for(&fx, alice), ["I don't recognize \"Nobody\"."]);
        let fx = t.input(alice, "page bob=hi");
        assert_eq!(texts_for(&fx, alice), ["Bob is not connected."]);
        let fx = t.input(alice, "page bob");
        assert_eq!(texts_for(&fx, alice), ["Page whom? (page <player>=<message>)"]);
        let fx = t.input(alice, "page bob=");
        assert!(texts_for(&fx, alice)[0].starts_with("What do you want to page?"));
    }
}
