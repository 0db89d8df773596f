//! `@search [<player>] [<class>=<restriction>]...`: lists objects, grouped by type as PennMUSH
//! lists them (ROOMS, EXITS, THINGS, PLAYERS), then a line of totals.
//!
//! Whose: yours, without a player; a player's by name (or `me`); everyone's with `all`. Wizards
//! and royalty see whatever they ask for; anyone else sees, of another player's objects or of
//! `all`, only what they may examine (VISUAL objects), as in PennMUSH, except that anyone may
//! list players (`type=player`).
//!
//! Classes (criteria separated by spaces or commas, all of them must hold): `type=<room|thing|
//! exit|player>` (`object` for thing), `name=<pattern>`, and `rooms=`, `exits=`, `things=`
//! (`objects=`), `players=<pattern>` for a type and a name at once. A name pattern with `*` or `?`
//! must match the whole name; without, it matches the start of a word of the name, as in
//! PennMUSH. PennMUSH's other classes (flags, eval, zone, ...) are not here (`lsearch()` has some).
//!
//! Why it is bounded: it reads the world once, for a unit of the line's fuel per thousand
//! objects read, and lists at most [`MAX_LISTED`] objects (a line says how many more matched).

use super::{Args, Cx};
use crate::game::matching;
use crate::game::perms;
use crate::game::wild;
use crate::game::world::{Object, ObjectId, ObjectKind, World};

/// The most objects one `@search` lists.
pub const MAX_LISTED: usize = 500;

/// What a search looks for.
#[derive(Debug, Default, PartialEq)]
struct Query {
    /// `None`: everyone's (`all`).
    owner: Option<ObjectId>,
    kind: Option<ObjectKind>,
    name: Option<String>,
}

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    if !args.switches.is_empty() {
        return cx.reply(format!("@search has no /{} switch.", args.switches));
    }
    let query = match parse(&cx.game.world, me, args.rest) {
        Ok(q) => q,
        Err(why) => return cx.reply(why),
    };
    let cost = 1 + u32::try_from(cx.game.world.len() / 1_000).unwrap_or(u32::MAX);
    if !cx.fuel.burn(cost) {
        return;
    }
    let text = listing(&cx.game.world, me, &query);
    cx.reply(text);
}

/// Reads `[<player>] [<class>=<restriction>]...`.
fn parse(world: &World, me: ObjectId, rest: &str) -> Result<Query, String> {
    let rest = rest.trim();
    let starts = class_starts(rest);
    let who = rest[..starts.first().copied().unwrap_or(rest.len())]
        .trim()
        .trim_end_matches(',')
        .trim();
    let mut query = Query {
        owner: Some(perms::owner_of(world, me)),
        ..Query::default()
    };
    if who.eq_ignore_ascii_case("all") {
        query.owner = None;
    } else if !who.is_empty() {
        let player = matching::player(world, me, who)
            .filter(|p| world.get(*p).is_some_and(|o| o.kind == ObjectKind::Player));
        query.owner = Some(player.ok_or_else(|| format!("There is no player called \"{who}\"."))?);
    }
    for (n, start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(rest.len());
        let (class, value) = rest[*start..end]
            .split_once('=')
            .expect("a class ends at its '='");
        let value = value.trim().trim_end_matches(',').trim();
        let class = class.trim().to_ascii_lowercase();
        match class.as_str() {
            "type" => query.kind = Some(kind_named(value)?),
            "name" => query.name = Some(value.to_owned()),
            "rooms" | "exits" | "things" | "objects" | "players" => {
                query.kind = Some(kind_named(&class)?);
                query.name = Some(value.to_owned());
            }
            _ => {
                return Err(format!(
                    "@search does not know the class \"{class}\" (it knows type, name, rooms, exits, \
                     things, players)."
                ));
            }
        }
    }
    Ok(query)
}

/// Where each `<word>=` begins: at the start, or after a space or a comma.
fn class_starts(s: &str) -> Vec<usize> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let at_boundary = i == 0 || matches!(bytes[i - 1], b' ' | b',');
        if at_boundary && bytes[i].is_ascii_alphabetic() {
            let word_end = (i..bytes.len())
                .find(|&j| !(bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_'))
                .unwrap_or(bytes.len());
            if bytes.get(word_end) == Some(&b'=') {
                out.push(i);
                i = word_end + 1;
                continue;
            }
        }
        i += 1;
    }
    out
}

fn kind_named(name: &str) -> Result<ObjectKind, String> {
    match name.trim().to_ascii_lowercase().as_str() {
        "room" | "rooms" => Ok(ObjectKind::Room),
        "thing" | "things" | "object" | "objects" => Ok(ObjectKind::Thing),
        "exit" | "exits" => Ok(ObjectKind::Exit),
        "player" | "players" => Ok(ObjectKind::Player),
        other => Err(format!(
            "\"{other}\" is not a type (room, thing, exit or player)."
        )),
    }
}

/// Whether `name` matches `pattern`: whole, with wildcards; else by the start of a word.
fn name_matches(name: &str, pattern: &str) -> bool {
    if pattern.contains(['*', '?']) {
        return wild::matches(pattern, name);
    }
    let (name, pattern) = (name.to_lowercase(), pattern.to_lowercase());
    name.match_indices(pattern.as_str())
        .any(|(i, _)| name[..i].chars().next_back().is_none_or(|c| !c.is_alphanumeric()))
}

/// The answer to `query` for `me`.
fn listing(world: &World, me: ObjectId, query: &Query) -> String {
    let sees_all = perms::sees_all(world, me);
    let mine = Some(perms::owner_of(world, me));
    let visible = |o: &Object| {
        sees_all
            || query.owner == mine
            || (query.kind == Some(ObjectKind::Player) && o.kind == ObjectKind::Player)
            || perms::can_examine(world, me, o.id)
    };
    let found = world.objects().filter(|o| {
        query
            .owner
            .is_none_or(|owner| perms::owner_of(world, o.id) == owner)
            && query.kind.is_none_or(|k| o.kind == k)
            && query
                .name
                .as_deref()
                .is_none_or(|p| name_matches(o.display_name(), p))
            && visible(o)
    });
    const ORDER: [(ObjectKind, &str); 4] = [
        (ObjectKind::Room, "ROOMS:"),
        (ObjectKind::Exit, "EXITS:"),
        (ObjectKind::Thing, "THINGS:"),
        (ObjectKind::Player, "PLAYERS:"),
    ];
    let mut groups: [Vec<&Object>; 4] = Default::default();
    let mut totals = [0usize; 4];
    let mut listed = 0;
    for o in found {
        let g = ORDER.iter().position(|(k, _)| *k == o.kind).expect("every kind");
        totals[g] += 1;
        if listed < MAX_LISTED {
            groups[g].push(o);
            listed += 1;
        }
    }
    let total: usize = totals.iter().sum();
    if total == 0 {
        return "Nothing found.".to_owned();
    }
    let shown = |id: Option<ObjectId>| match id.and_then(|id| world.get(id)) {
        Some(o) => header(o),
        None => "*NOTHING*".to_owned(),
    };
    let mut lines = Vec::new();
    for (g, (_, title)) in ORDER.iter().enumerate() {
        if groups[g].is_empty() {
            continue;
        }
        if !lines.is_empty() {
            lines.push(String::new());
        }
        lines.push((*title).to_owned());
        for o in &groups[g] {
            lines.push(match o.kind {
                ObjectKind::Exit => format!(
                    "{} [from {} to {}]",
                    header(o),
                    shown(o.location),
                    shown(o.destination)
                ),
                ObjectKind::Thing | ObjectKind::Player => {
                    format!("{} [location: {}]", header(o), shown(o.location))
                }
                ObjectKind::Room => header(o),
            });
        }
    }
    if total > listed {
        lines.push(format!(
            "... and {} more found but not listed ({MAX_LISTED} at most): narrow the search.",
            total - listed
        ));
    }
    lines.push("----------  Search Done  ----------".to_owned());
    lines.push(format!(
        "Totals: Rooms...{}  Exits...{}  Things...{}  Players...{}",
        totals[0], totals[1], totals[2], totals[3]
    ));
    lines.join("\n")
}

/// `Name(#12R)`: the name, number, type letter and flag letters, as `examine` heads an object.
fn header(o: &Object) -> String {
    let letters = crate::game::flags::letters(o.kind, &o.flags);
    format!("{}({}{letters})", o.display_name(), o.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::testkit::*;

    #[test]
    fn classes_and_the_player_are_read_with_spaces_or_commas() {
        assert_eq!(class_starts("type=room name=big rock"), [0, 10]);
        assert_eq!(class_starts("Mary Jane type=room,name=x"), [10, 20]);
        assert_eq!(class_starts("all"), Vec::<usize>::new());
        assert!(name_matches("The Garden", "gar"));
        assert!(name_matches("The Garden", "THE"));
        assert!(!name_matches("The Garden", "arden"));
        assert!(name_matches("The Garden", "*den"));
        assert!(!name_matches("The Garden", "gar*"));
    }

    #[test]
    fn search_lists_your_objects_by_type_with_totals() {
        let mut t = Harness::new();
        t.new_player("One");
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(alice, "@dig Garden");
        t.input(alice, "@dig Shed");
        let id = |t: &Harness, n: &str| t.game.world().objects().find(|o| o.name == n).unwrap().id;
        let (garden, shed) = (id(&t, "Garden"), id(&t, "Shed"));
        t.input(alice, &format!("@tel {garden}"));
        t.input(alice, &format!("@open North={shed}"));
        t.input(alice, "@create red rock");
        t.input(bob, "@create blue rock");
        let (north, rock, alice_id) = (id(&t, "North"), id(&t, "red rock"), t.id("Alice"));
        let fx = t.input(alice, "@search");
        assert_eq!(
            texts_for(&fx, alice),
            [[
                "ROOMS:".to_owned(),
                format!("Garden({garden}R)"),
                format!("Shed({shed}R)"),
                String::new(),
                "EXITS:".to_owned(),
                format!("North({north}E) [from Garden({garden}R) to Shed({shed}R)]"),
                String::new(),
                "THINGS:".to_owned(),
                format!("red rock({rock}) [location: Alice({alice_id}P)]"),
                String::new(),
                "PLAYERS:".to_owned(),
                format!("Alice({alice_id}P) [location: Garden({garden}R)]"),
                "----------  Search Done  ----------".to_owned(),
                "Totals: Rooms...2  Exits...1  Things...1  Players...1".to_owned(),
            ]
            .join("\n")]
        );
        let fx = t.input(alice, "@search type=thing");
        let text = &texts_for(&fx, alice)[0];
        assert!(text.starts_with("THINGS:\nred rock("), "{text}");
        assert!(!text.contains("blue"), "only Alice's: {text}");
        let fx = t.input(alice, "@search me things=rock");
        assert!(texts_for(&fx, alice)[0].contains("Things...1"));
        let fx = t.input(alice, "@search name=gar*");
        let text = &texts_for(&fx, alice)[0];
        assert!(
            text.starts_with("ROOMS:\nGarden(") && text.contains("Rooms...1  Exits...0"),
            "{text}"
        );
        let fx = t.input(alice, "@search type=exit, name=zzz");
        assert_eq!(texts_for(&fx, alice), ["Nothing found."]);
    }

    #[test]
    fn others_objects_show_only_when_visible_unless_you_are_a_wizard() {
        let mut t = Harness::new();
        let wiz = t.new_player("One");
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        t.input(bob, "@create blue rock");
        t.input(bob, "@create green rock");
        let fx = t.input(alice, "@search Bob");
        assert_eq!(texts_for(&fx, alice), ["Nothing found."]);
        t.input(bob, "@set green rock=VISUAL");
        let fx = t.input(alice, "@search *Bob type=thing");
        let text = &texts_for(&fx, alice)[0];
        assert!(
            text.contains("green rock") && !text.contains("blue rock"),
            "{text}"
        );
        let fx = t.input(alice, "@search all type=player");
        assert!(
            texts_for(&fx, alice)[0].contains("Players...3"),
            "anyone may list players"
        );
        let fx = t.input(wiz, "@search Bob");
        let text = &texts_for(&fx, wiz)[0];
        assert!(
            text.contains("blue rock") && text.contains("Things...2"),
            "{text}"
        );
        let fx = t.input(wiz, "@search all type=room");
        assert!(texts_for(&fx, wiz)[0].starts_with("ROOMS:\nThe Lobby(#0R)"));
        for (line, said) in [
            ("@search Nobody", "There is no player called \"Nobody\"."),
            ("@search type=bogus", "\"bogus\" is not a type"),
            ("@search flags=W", "@search does not know the class \"flags\""),
            ("@search/all", "@search has no /all switch."),
        ] {
            let fx = t.input(alice, line);
            assert!(
                texts_for(&fx, alice)[0].starts_with(said),
                "{line}: {:?}",
                texts_for(&fx, alice)
            );
        }
    }

    #[test]
    fn at_most_five_hundred_are_listed() {
        let mut t = Harness::new();
        let wiz = t.new_player("One");
        let owner = t.id("One");
        for n in 0..520u64 {
            let mut o = Object::new(ObjectId(100 + n), ObjectKind::Thing, "pebble", owner, 0);
            o.location = Some(crate::game::world::LOBBY);
            t.game.world.apply(&crate::game::WorldChange::Put(o));
        }
        let fx = t.input(wiz, "@search type=thing");
        let text = &texts_for(&fx, wiz)[0];
        assert_eq!(
            text.lines().filter(|l| l.starts_with("pebble(")).count(),
            MAX_LISTED
        );
        assert!(text.contains("... and 20 more found but not listed"), "{text}");
        assert!(text.ends_with("Things...520  Players...0"), "{text}");
    }
}
