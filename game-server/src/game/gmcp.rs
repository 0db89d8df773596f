//! GMCP: what a client told us about itself, and the two messages the game sends
//! (`Char.Name` on login, `Room.Info` on look and move).
//!
//! Why: clients with a mapper or a status window read these instead of parsing text. They are sent
//! only to connections that negotiated GMCP (`ClientInfo.gmcp`, or any GMCP message received), and,
//! once a client has listed what it supports (`Core.Supports.Set`), only for packages on that list.

use std::collections::BTreeSet;

use mush_protocol::{GameMessageKind, Handle};
use serde_json::{Map, Value, json};

use super::Game;

/// Longest package name remembered.
const MAX_PACKAGE_NAME: usize = 64;
use super::world::{Object, ObjectId, World};

/// What one connection's client said over GMCP.
#[derive(Debug, Default)]
pub struct ClientGmcp {
    /// `Core.Hello`: client name and version.
    pub hello: Option<(String, String)>,
    /// Lower-cased package names from `Core.Supports.*`; `None` until the client says.
    pub supports: Option<BTreeSet<String>>,
}

/// Remembers a GMCP message from the client. Unknown packages and bad JSON are ignored. At most
/// `limit` packages are remembered (a client that lists more is refused the rest): the game keeps
/// this for every connection, so no client may grow it without bound.
pub fn note(client: &mut ClientGmcp, package: &str, json: &str, limit: usize) {
    let value: Value = serde_json::from_str(json).unwrap_or(Value::Null);
    let listed = || -> Vec<String> {
        value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|s| s.split_whitespace().next())
            .filter(|s| s.len() <= MAX_PACKAGE_NAME)
            .map(str::to_ascii_lowercase)
            .take(limit)
            .collect()
    };
    match package.to_ascii_lowercase().as_str() {
        "core.hello" => {
            let field = |k: &str| {
                value
                    .get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .chars()
                    .take(MAX_PACKAGE_NAME)
                    .collect::<String>()
            };
            client.hello = Some((field("client"), field("version")));
        }
        "core.supports.set" => client.supports = Some(listed().into_iter().collect()),
        "core.supports.add" => {
            let supports = client.supports.get_or_insert_with(BTreeSet::new);
            for p in listed() {
                if supports.len() >= limit {
                    break;
                }
                supports.insert(p);
            }
        }
        "core.supports.remove" => {
            if let Some(s) = &mut client.supports {
                for p in listed() {
                    s.remove(&p);
                }
            }
        }
        _ => {}
    }
}

/// Whether `handle` should get GMCP `package` (e.g. `Room.Info`).
pub fn wants(game: &Game, handle: Handle, package: &str) -> bool {
    if !game.connections.get(&handle).is_some_and(|c| c.client.gmcp) {
        return false;
    }
    let Some(supports) = game.gmcp.get(&handle).and_then(|g| g.supports.as_ref()) else {
        return true;
    };
    let package = package.to_ascii_lowercase();
    supports.iter().any(|s| {
        package == *s
            || package
                .strip_prefix(s.as_str())
                .is_some_and(|r| r.starts_with('.'))
    })
}

/// The handles among `handles` that want `package`.
pub fn filter(game: &Game, handles: &[Handle], package: &str) -> Vec<Handle> {
    handles
        .iter()
        .copied()
        .filter(|h| wants(game, *h, package))
        .collect()
}

/// `Char.Name {"name": .., "fullname": ..}`.
pub fn char_name(player: &Object) -> GameMessageKind {
    GameMessageKind::Gmcp {
        package: "Char.Name".to_owned(),
        json: json!({ "name": player.name, "fullname": player.name }).to_string(),
    }
}

/// `Room.Info {"num": 12, "name": .., "exits": {"North": 13, ..}}`: exits by their shown name,
/// to the room they lead to.
pub fn room_info(world: &World, room: ObjectId) -> GameMessageKind {
    let exits: Map<String, Value> = world
        .exits(room)
        .filter_map(|e| Some((e.display_name().to_owned(), json!(e.destination?.0))))
        .collect();
    GameMessageKind::Gmcp {
        package: "Room.Info".to_owned(),
        json: json!({
            "num": room.0,
            "name": world.get(room).map(|r| r.name.as_str()).unwrap_or_default(),
            "exits": exits,
        })
        .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supports_lists_are_remembered_without_versions() {
        let mut c = ClientGmcp::default();
        note(
            &mut c,
            "Core.Hello",
            r#"{"client":"Mudlet","version":"4.17.2"}"#,
            64,
        );
        assert_eq!(c.hello, Some(("Mudlet".into(), "4.17.2".into())));
        note(&mut c, "core.supports.set", r#"["Char 1", "Room 1"]"#, 64);
        note(&mut c, "Core.Supports.Remove", r#"["Room"]"#, 64);
        note(&mut c, "Core.Supports.Add", r#"["Comm.Channel 1"]"#, 64);
        let s: Vec<_> = c.supports.unwrap().into_iter().collect();
        assert_eq!(s, ["char", "comm.channel"]);
        let mut c = ClientGmcp::default();
        note(&mut c, "Core.Supports.Set", "not json", 64);
        assert_eq!(c.supports, Some(BTreeSet::new()));
    }

    #[test]
    fn room_info_lists_exits_by_shown_name() {
        use crate::game::world::{LOBBY, ObjectKind, WorldChange};
        let mut w = World::new();
        let mut exit = Object::new(ObjectId(4), ObjectKind::Exit, "North;n", LOBBY, 0);
        exit.location = Some(LOBBY);
        exit.destination = Some(ObjectId(7));
        w.apply(&WorldChange::Put(exit));
        let GameMessageKind::Gmcp { package, json } = room_info(&w, LOBBY) else {
            panic!()
        };
        assert_eq!(package, "Room.Info");
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v, json!({"num": 0, "name": "The Lobby", "exits": {"North": 7}}));
    }

    #[test]
    fn what_a_client_lists_is_bounded() {
        let mut c = ClientGmcp::default();
        let many: Vec<String> = (0..500).map(|i| format!("Pkg{i} 1")).collect();
        let json = serde_json::to_string(&many).unwrap();
        note(&mut c, "Core.Supports.Set", &json, 64);
        assert_eq!(c.supports.as_ref().unwrap().len(), 64);
        for _ in 0..10 {
            note(&mut c, "Core.Supports.Add", &json.replace("Pkg", "Other"), 64);
        }
        assert_eq!(
            c.supports.as_ref().unwrap().len(),
            64,
            "adding never grows past the limit"
        );
        let long = format!(r#"["{} 1"]"#, "x".repeat(5_000));
        note(&mut c, "Core.Supports.Set", &long, 64);
        assert!(
            c.supports.as_ref().unwrap().is_empty(),
            "absurd names are not kept"
        );
        note(
            &mut c,
            "Core.Hello",
            &format!(r#"{{"client":"{}","version":"1"}}"#, "y".repeat(5_000)),
            64,
        );
        assert_eq!(c.hello.as_ref().unwrap().0.len(), 64);
    }
}
