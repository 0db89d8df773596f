//! `look [thing]`: the room (name and number, description, who and what is here, the exits), or
//! one thing, player or exit.
//!
//! DARK objects are left out of what a room lists (their controllers still see them), and an
//! OPAQUE thing does not show what it carries.
//!
//! Why here: login, movement and `home` all end with the same room view, so `show_room` is shared
//! and is also where GMCP `Room.Info` goes out, to the connections that take it.

use mush_protocol::Handle;

use super::{Args, Cx};
use crate::game::matching::{self, Found};
use crate::game::world::{ObjectId, ObjectKind};
use crate::game::{Game, gmcp, perms};

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    let what = args.rest.trim();
    if what.is_empty() {
        let targets = cx.game.handles_of(me);
        return show_room(cx, me, targets);
    }
    match matching::nearby(&cx.game.world, me, what) {
        Found::One(id) if id == cx.location(me) => {
            let targets = cx.game.handles_of(me);
            show_room(cx, me, targets);
        }
        Found::One(id) => {
            let text = describe(cx.game, me, id);
            cx.reply(text);
        }
        other => cx.reply(other.complaint()),
    }
}

/// Shows `me` their room on `targets`, with GMCP `Room.Info` to those of them that take it.
pub(super) fn show_room(cx: &mut Cx<'_>, me: ObjectId, targets: Vec<Handle>) {
    let room = cx.location(me);
    let text = describe(cx.game, me, room);
    let gmcp_targets = gmcp::filter(cx.game, &targets, "Room.Info");
    cx.text(targets, text);
    let info = gmcp::room_info(&cx.game.world, room);
    cx.send(gmcp_targets, info);
}

/// What `viewer` sees looking at `id`.
pub(crate) fn describe(game: &Game, viewer: ObjectId, id: ObjectId) -> String {
    let world = &game.world;
    let Some(o) = world.get(id) else {
        return matching::NOT_FOUND.to_owned();
    };
    let mut lines = vec![format!("{}({})", o.display_name(), o.id)];
    if !o.description.is_empty() {
        lines.push(o.description.clone());
    } else if o.kind != ObjectKind::Room {
        lines.push("You see nothing special.".to_owned());
    }
    // An OPAQUE thing hides what it holds; DARK objects are not listed (but to those who
    // control them, as in PennMUSH).
    let opaque =
        o.kind != ObjectKind::Room && o.flags.contains("OPAQUE") && !perms::controls(world, viewer, id);
    let visible: Vec<&str> = world
        .contents(id)
        .filter(|_| !opaque)
        .filter(|c| c.id != viewer && (c.kind != ObjectKind::Player || game.is_online(c.id)))
        .filter(|c| !c.flags.contains("DARK") || perms::controls(world, viewer, c.id))
        .map(|c| c.name.as_str())
        .collect();
    if !visible.is_empty() {
        lines.push(
            if o.kind == ObjectKind::Room {
                "Contents:"
            } else {
                "Carrying:"
            }
            .to_owned(),
        );
        lines.extend(visible.iter().map(|s| s.to_string()));
    }
    if o.kind == ObjectKind::Room {
        let exits: Vec<&str> = world.exits(id).map(|e| e.display_name()).collect();
        if !exits.is_empty() {
            lines.push("Obvious exits:".to_owned());
            lines.push(exits.join("  "));
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;
    use mush_protocol::{ClientInfo, GatewayEventKind};

    #[test]
    fn looking_at_the_room_shows_name_description_contents_and_exits() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        let carol = t.new_player("Carol");
        t.disconnect(carol);
        t.input(bob, "@create rock");
        t.input(bob, "drop rock");
        t.input(alice, "@dig Garden=North;n,South;s");
        let fx = t.input(alice, "look");
        let text = &texts_for(&fx, alice)[0];
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "The Lobby(#0)");
        assert!(lines[1].starts_with("A quiet, lamp-lit hall"));
        assert_eq!(
            &lines[2..],
            ["Contents:", "Bob", "rock", "Obvious exits:", "North"]
        );
        assert!(!text.contains("Carol"), "disconnected players are not shown");
        assert!(!text.contains("Alice"), "the looker is not listed");
    }

    #[test]
    fn looking_at_things_players_and_exits() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(bob, "@describe me=A tall person in a green coat.");
        t.input(bob, "@create lantern");
        let fx = t.input(alice, "look bob");
        let bob_id = t.id("Bob");
        assert_eq!(
            texts_for(&fx, alice),
            [format!(
                "Bob({bob_id})\nA tall person in a green coat.\nCarrying:\nlantern"
            )]
        );
        t.input(alice, "@open Door;d=#0");
        let fx = t.input(alice, "look d");
        assert!(texts_for(&fx, alice)[0].ends_with("\nYou see nothing special."));
        let fx = t.input(alice, "look unicorn");
        assert_eq!(texts_for(&fx, alice), ["I don't see that here."]);
        let fx = t.input(alice, "look here");
        assert!(texts_for(&fx, alice)[0].starts_with("The Lobby(#0)"));
    }

    #[test]
    fn gmcp_clients_get_room_info_with_a_look() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        t.event(
            alice,
            GatewayEventKind::ClientInfo(ClientInfo {
                gmcp: true,
                ..Default::default()
            }),
        );
        t.input(alice, "@dig Garden=North;n,South;s");
        let fx = t.input(alice, "look");
        let gmcp = gmcp_for(&fx, alice);
        assert_eq!(gmcp.len(), 1);
        assert_eq!(gmcp[0].0, "Room.Info");
        let garden = t
            .game
            .world()
            .objects()
            .find(|o| o.name == "Garden")
            .unwrap()
            .id
            .0;
        assert_eq!(
            gmcp[0].1,
            serde_json::json!({"num": 0, "name": "The Lobby", "exits": {"North": garden}})
        );
        // A client that lists what it supports, without Room, gets no Room.Info.
        t.event(
            alice,
            GatewayEventKind::Gmcp {
                package: "Core.Supports.Set".into(),
                json: r#"["Char 1"]"#.into(),
            },
        );
        assert!(gmcp_for(&t.input(alice, "look"), alice).is_empty());
    }

    #[test]
    fn dark_things_are_not_listed_and_opaque_ones_hide_their_contents() {
        let mut t = Harness::new();
        t.new_player("One");
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(alice, "@create Shadow");
        t.input(alice, "@create Chest");
        t.input(alice, "@create Coin");
        t.input(alice, "drop Shadow");
        t.input(alice, "@set Shadow=DARK");
        let fx = t.input(bob, "look");
        assert!(!texts_for(&fx, bob)[0].contains("Shadow"));
        let fx = t.input(alice, "look");
        assert!(texts_for(&fx, alice)[0].contains("Shadow"), "its owner sees it");
        t.input(alice, "@tel Coin=Chest");
        t.input(alice, "drop Chest");
        let fx = t.input(bob, "look Chest");
        assert!(texts_for(&fx, bob)[0].contains("Coin"));
        t.input(alice, "@set Chest=OPAQUE");
        let fx = t.input(bob, "look Chest");
        assert!(!texts_for(&fx, bob)[0].contains("Coin"));
    }
}
