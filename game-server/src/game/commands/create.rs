//! `create <name> <password>`: a new character, created in the Lobby (its home) and logged in.
//!
//! Why: the name is checked (rules in `names.rs`, unique case-insensitively) before the password
//! is hashed, so a taken name costs no hashing; only the argon2 PHC string is stored. An address
//! locked out by failed logins cannot create characters either, so creating is no way around it.
//!
//! The first character created on an empty world is its wizard (flag `WIZARD`; as `#1` it is
//! also God, whom no other wizard controls): create it yourself right after the first start.

use super::connect::{BUSY, log_in, name_and_password};
use super::{Args, Cx};
use crate::game::world::{LOBBY, ObjectKind};
use crate::game::{CredentialWork, Credentials, Game, names, password};
use mush_protocol::Timestamp;

/// The hashing `create <rest>` needs, unless it is refused before that (the same checks, in
/// the same order, as [`run`]).
pub(super) fn work(game: &Game, addr: &str, rest: &str, now: Timestamp) -> Option<CredentialWork> {
    let (name, pw) = name_and_password(rest)?;
    names::check_player_name(name)
        .and_then(|()| password::check_new(pw))
        .ok()?;
    if game.world.player_by_name(name).is_some() || game.throttle.refused_for(addr, name, now).is_some() {
        return None;
    }
    Some(CredentialWork::Hash {
        password: pw.to_owned(),
    })
}

pub(super) fn run(cx: &mut Cx<'_>, args: &Args<'_>) {
    let Some((name, pw)) = name_and_password(args.rest) else {
        cx.tell_handle(
            "Usage: create <name> <password>   (quote a name with spaces: create \"Mary Jane\" pw)",
        );
        return;
    };
    if let Err(why) = names::check_player_name(name).and_then(|()| password::check_new(pw)) {
        cx.tell_handle(why);
        return;
    }
    if cx.game.world.player_by_name(name).is_some() {
        cx.tell_handle("There is already a player with that name.");
        return;
    }
    if cx.login_throttled(name) {
        return;
    }
    let hash = match cx.game.prepared.take() {
        Some(Credentials::Hashed(hash)) => Ok(hash),
        Some(_) => return cx.tell_handle(BUSY),
        None => password::hash(pw).map_err(drop),
    };
    let Ok(hash) = hash else {
        cx.tell_handle("Sorry, the character could not be created just now. Please try again.");
        return;
    };
    let mut player = cx.new_object(ObjectKind::Player, name, LOBBY);
    player.owner = player.id;
    player.location = Some(LOBBY);
    player.home = Some(LOBBY);
    player.password_hash = Some(hash);
    // The first player of a world runs it: a wizard (and God, #1, when the world is new).
    let first = !cx.game.world.objects().any(|o| o.kind == ObjectKind::Player);
    if first {
        player.flags.insert("WIZARD".to_owned());
    }
    let id = player.id;
    cx.put(player);
    log_in(cx, id, true);
}

#[cfg(test)]
mod tests {
    use crate::game::testkit::*;
    use crate::game::world::{LOBBY, ObjectKind};
    use crate::game::{StateWrite, WorldChange};

    #[test]
    fn create_stores_a_hashed_player_in_the_lobby_and_logs_in() {
        let mut t = Harness::new();
        t.connect_handle(1, "10.0.0.1:1");
        let fx = t.input(h(1), "create Alice s3cret-pw");
        let [WorldChange::Put(alice)] = fx.changes.as_slice() else {
            panic!("{:?}", fx.changes)
        };
        assert_eq!(alice.kind, ObjectKind::Player);
        assert_eq!(alice.name, "Alice");
        assert_eq!(
            (alice.location, alice.home, alice.owner),
            (Some(LOBBY), Some(LOBBY), alice.id)
        );
        assert_eq!(alice.created_at_secs, t.now.as_secs());
        assert!(alice.password_hash.as_deref().unwrap().starts_with("$argon2id$"));
        assert_eq!(
            fx.state[1],
            StateWrite::Bind {
                handle: h(1),
                player: alice.id
            }
        );
        let texts = texts_for(&fx, h(1));
        assert_eq!(texts[0], "Connected. Welcome to Test, Alice!");
        assert!(texts[1].starts_with("The Lobby(#0)"));
        assert_eq!(t.game.world().player_by_name("alice").unwrap().id, alice.id);
    }

    #[test]
    fn the_password_appears_nowhere_but_as_a_phc_hash() {
        let mut t = Harness::new();
        let bob = t.new_player("Bob");
        t.connect_handle(1, "10.0.0.1:1");
        let secret = "Pl41nT3xt-Secret";
        let mut all = vec![t.input(h(1), &format!("create \"Mary Jane\" {secret}"))];
        let mary = h(1);
        all.push(t.input(mary, "QUIT"));
        t.disconnect(mary);
        t.connect_handle(2, "10.0.0.2:1");
        all.push(t.input(h(2), &format!("connect \"mary jane\" {secret}")));
        t.connect_handle(3, "10.0.0.3:1");
        all.push(t.input(h(3), &format!("connect \"mary jane\" {secret}x")));
        all.push(t.input(bob, "look Mary Jane"));
        for fx in &all {
            let shown = format!("{:?} {:?}", fx.output, fx.state);
            assert!(!shown.contains(secret), "{shown}");
            for change in &fx.changes {
                let json = match change {
                    WorldChange::Put(o) => serde_json::to_string(o).unwrap(),
                    _ => continue,
                };
                assert!(!json.contains(secret), "{json}");
                if let WorldChange::Put(o) = change
                    && let Some(hash) = &o.password_hash
                {
                    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
                }
            }
        }
        assert!(texts_for(&all[2], h(2))[0].starts_with("Connected."));
    }

    #[test]
    fn bad_or_taken_names_and_short_passwords_are_refused() {
        let mut t = Harness::new();
        t.new_player("Alice");
        t.connect_handle(1, "10.0.0.1:1");
        for (line, expect) in [
            (
                "create ALICE password",
                "There is already a player with that name.",
            ),
            (
                "create A password",
                "A player name must be 2 to 30 characters long.",
            ),
            ("create 1Bob password", "A player name must start with a letter."),
            ("create Bob pwd", "A password must be at least 4 characters long."),
            ("create Bob", "Usage: create"),
        ] {
            let fx = t.input(h(1), line);
            assert!(texts_for(&fx, h(1))[0].starts_with(expect), "{line}: {fx:?}");
            assert!(fx.changes.is_empty() && fx.state.len() == 1, "{line}");
        }
        assert_eq!(t.game.world().len(), 2);
    }
}
