//! `connect <name> <password>`: the login screen's way in, and the login itself (shared with
//! `create`).
//!
//! Why it looks like this: the password is checked only when neither the address nor the name is
//! throttled, and a wrong name and a wrong password get the same answer (and cost the same time),
//! so the login screen does not tell strangers which names exist. On success the connection is
//! bound with a critical state write (`StateWrite::Bind`): the game-server stores it with the
//! input, in the same script, before anything of this login reaches the player.

use super::{Args, Cx, look};
use crate::game::world::ObjectId;
use crate::game::{CredentialWork, Credentials, Game, StateWrite, gmcp, password};
use mush_protocol::Timestamp;

pub(super) const BAD_LOGIN: &str = "Either that player does not exist, or has a different password.";

pub(super) fn run(cx: &mut Cx<'_>, args: &Args<'_>) {
    let Some((name, password)) = name_and_password(args.rest) else {
        cx.tell_handle(
            "Usage: connect <name> <password>   (quote a name with spaces: connect \"Mary Jane\" pw)",
        );
        return;
    };
    if cx.login_throttled(name) {
        return;
    }
    let addr = cx.addr();
    let found = cx
        .game
        .world
        .player_by_name(name)
        .map(|p| (p.id, p.password_hash.clone()));
    let ok = match cx.game.prepared.take() {
        // Checked off the input loop against the hash stored then: still the one stored now?
        Some(Credentials::Verified { ok, against }) => {
            ok && found.as_ref().is_some_and(|(_, hash)| *hash == against)
        }
        Some(_) => return cx.tell_handle(BUSY),
        None => password::verify(password, found.as_ref().and_then(|(_, h)| h.as_deref())),
    };
    match found {
        Some((id, _)) if ok => {
            cx.game.throttle.succeeded(name);
            log_in(cx, id, false);
        }
        _ => {
            cx.game.throttle.failed(&addr, name, cx.now);
            cx.tell_handle(BAD_LOGIN);
        }
    }
}

/// What a login screen says when the password work could not be done.
pub(super) const BUSY: &str = "The game is busy with other logins right now. Please try again in a moment.";

/// The password check `connect <rest>` needs, unless it is refused before that.
pub(super) fn work(game: &Game, addr: &str, rest: &str, now: Timestamp) -> Option<CredentialWork> {
    let (name, password) = name_and_password(rest)?;
    if game.throttle.refused_for(addr, name, now).is_some() {
        return None;
    }
    let stored = game
        .world
        .player_by_name(name)
        .and_then(|p| p.password_hash.clone());
    Some(CredentialWork::Verify {
        password: password.to_owned(),
        stored,
    })
}

/// Splits `name password` or `"two words" password`. The password is the rest of the line.
pub(super) fn name_and_password(rest: &str) -> Option<(&str, &str)> {
    let rest = rest.trim();
    let (name, password) = match rest.strip_prefix('"') {
        Some(quoted) => {
            let end = quoted.find('"')?;
            (&quoted[..end], &quoted[end + 1..])
        }
        None => {
            let end = rest.find(char::is_whitespace)?;
            (&rest[..end], &rest[end..])
        }
    };
    let (name, password) = (name.trim(), password.trim());
    (!name.is_empty() && !password.is_empty()).then_some((name, password))
}

/// Binds this connection to `player` and shows them in: "Connected.", GMCP `Char.Name`, the room
/// and GMCP `Room.Info` to this connection; "<Name> has connected." to the others in the room.
pub(super) fn log_in(cx: &mut Cx<'_>, player: ObjectId, created: bool) {
    let already_on = cx.game.is_online(player);
    cx.game.bind(cx.handle, player);
    cx.fx.state.push(StateWrite::Bind {
        handle: cx.handle,
        player,
    });
    cx.fx.send(
        vec![cx.handle],
        mush_protocol::GameMessageKind::Session { logged_in: true },
    );
    let Some(me) = cx.obj(player).cloned() else { return };
    let greeting = if created {
        format!("Connected. Welcome to {}, {}!", cx.game.config.game_name, me.name)
    } else {
        format!("Connected. Welcome back, {}.", me.name)
    };
    cx.tell_handle(greeting);
    if gmcp::wants(cx.game, cx.handle, "Char.Name") {
        cx.send(vec![cx.handle], gmcp::char_name(&me));
    }
    look::show_room(cx, player, vec![cx.handle]);
    let room = cx.location(player);
    let verb = if already_on { "reconnected" } else { "connected" };
    cx.tell_room(room, Some(player), format!("{} has {verb}.", me.name));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::testkit::*;
    use crate::game::{StateWrite, throttle};
    use mush_protocol::{ClientInfo, GameMessageKind, GatewayEventKind};

    #[test]
    fn names_may_be_quoted_and_passwords_take_the_rest() {
        assert_eq!(name_and_password("Bob pw"), Some(("Bob", "pw")));
        assert_eq!(
            name_and_password("\"Mary Jane\" my pw "),
            Some(("Mary Jane", "my pw"))
        );
        assert_eq!(name_and_password("Bob"), None);
        assert_eq!(name_and_password("\"Mary Jane"), None);
        assert_eq!(name_and_password("\"\" pw"), None);
    }

    #[test]
    fn connecting_binds_then_greets_shows_the_room_and_tells_the_room() {
        let mut t = Harness::new();
        let first = t.create("Alice", "secret1");
        t.disconnect(first);
        let bob = t.new_player("Bob");
        t.connect_handle(7, "10.0.0.7:1");
        let fx = t.input(h(7), "connect alice secret1");
        let alice_id = t.game.world().player_by_name("Alice").unwrap().id;
        assert!(fx.state.contains(&StateWrite::Bind {
            handle: h(7),
            player: alice_id
        }));
        let mine = texts_for(&fx, h(7));
        assert_eq!(mine[0], "Connected. Welcome back, Alice.");
        assert!(mine[1].starts_with("The Lobby(#0)\n"), "{}", mine[1]);
        assert!(mine[1].contains("Bob"));
        assert_eq!(texts_for(&fx, bob), ["Alice has connected."]);
        assert_eq!(t.game.connection(h(7)).unwrap().player, Some(alice_id));
        assert!(
            fx.output
                .iter()
                .all(|o| !matches!(o.kind, GameMessageKind::Gmcp { .. })),
            "no GMCP unless negotiated"
        );
    }

    #[test]
    fn a_second_connection_for_the_same_player_is_allowed() {
        let mut t = Harness::new();
        let alice = t.new_player("Alice");
        let bob = t.new_player("Bob");
        let alice2 = t.connect_handle(8, "10.0.0.8:1");
        let _ = alice2;
        let fx = t.input(h(8), "connect Alice password");
        assert_eq!(texts_for(&fx, bob), ["Alice has reconnected."]);
        assert!(
            texts_for(&fx, alice).is_empty(),
            "the first connection is not told about the login"
        );
        let fx = t.input(bob, "say hi");
        let to_alice: Vec<_> = fx.output.iter().filter(|o| o.targets.contains(&alice)).collect();
        assert_eq!(to_alice.len(), 1);
        let mut targets = to_alice[0].targets.clone();
        targets.sort();
        assert_eq!(targets, [h(8), alice], "both of Alice's connections, one message");
        assert_eq!(t.game.logged_in_count(), 2);
    }

    #[test]
    fn gmcp_clients_get_char_name_and_room_info_on_login() {
        let mut t = Harness::new();
        let first = t.create("Alice", "secret1");
        t.disconnect(first);
        t.connect_handle(7, "10.0.0.7:1");
        t.event(
            h(7),
            GatewayEventKind::ClientInfo(ClientInfo {
                gmcp: true,
                ..Default::default()
            }),
        );
        let fx = t.input(h(7), "connect Alice secret1");
        let gmcp: Vec<(String, serde_json::Value)> = gmcp_for(&fx, h(7));
        assert_eq!(gmcp[0].0, "Char.Name");
        assert_eq!(
            gmcp[0].1,
            serde_json::json!({"name": "Alice", "fullname": "Alice"})
        );
        assert_eq!(gmcp[1].0, "Room.Info");
        assert_eq!(gmcp[1].1["num"], 0);
        assert_eq!(gmcp[1].1["name"], "The Lobby");
    }

    #[test]
    fn a_wrong_password_or_name_gets_the_same_answer_and_no_binding() {
        let mut t = Harness::new();
        t.create("Alice", "secret1");
        t.connect_handle(7, "10.0.0.7:1");
        for line in ["connect Alice wrong", "connect Nobody secret1"] {
            let fx = t.input(h(7), line);
            assert_eq!(texts_for(&fx, h(7)), [BAD_LOGIN]);
            assert!(fx.state.iter().all(|s| !matches!(s, StateWrite::Bind { .. })));
        }
        assert_eq!(t.game.connection(h(7)).unwrap().player, None);
        let fx = t.input(h(7), "connect Alice");
        assert!(texts_for(&fx, h(7))[0].starts_with("Usage: connect"));
    }

    #[test]
    fn failed_logins_are_throttled_per_address_and_per_name() {
        let mut t = Harness::new();
        let alice = t.create("Alice", "secret1");
        t.disconnect(alice);
        t.connect_handle(7, "10.0.0.7:1");
        for _ in 0..throttle::MAX_FAILURES {
            t.advance(1);
            let fx = t.input(h(7), "connect Alice nope");
            assert_eq!(texts_for(&fx, h(7)), [BAD_LOGIN]);
        }
        // Now even the right password is refused, from this address (another port) ...
        t.connect_handle(8, "10.0.0.7:2");
        let fx = t.input(h(8), "connect Alice secret1");
        let said = &texts_for(&fx, h(8))[0];
        assert!(said.starts_with("Too many failed logins"), "{said}");
        assert!(said.contains("120 seconds"), "{said}");
        assert!(fx.state.iter().all(|s| !matches!(s, StateWrite::Bind { .. })));
        // ... and for this name from elsewhere.
        t.connect_handle(9, "10.9.9.9:1");
        let fx = t.input(h(9), "connect alice secret1");
        assert!(texts_for(&fx, h(9))[0].starts_with("Too many failed logins"));
        // Other names from elsewhere are fine; after the lockout, Alice gets in.
        t.create("Bob", "secret2");
        t.advance(throttle::LOCKOUT_SECS);
        let fx = t.input(h(9), "connect Alice secret1");
        assert!(texts_for(&fx, h(9))[0].starts_with("Connected."));
    }

    #[test]
    fn login_lines_ask_for_password_work_done_elsewhere_and_use_its_outcome() {
        use crate::game::{CredentialWork, Credentials, Scratch};
        let mut t = Harness::new();
        let first = t.create("Alice", "secret1");
        t.disconnect(first);
        t.connect_handle(7, "10.0.0.7:1");
        let typed_on = |n: u32, s: &str| {
            mush_protocol::GatewayEvent::new(
                h(n),
                GatewayEventKind::Input {
                    line: bytes::Bytes::from(s.to_owned()),
                },
            )
        };
        let line = |s: &str| typed_on(7, s);
        let work = |t: &Harness, s: &str| t.game.credential_work(&line(s), t.now);
        let Some(CredentialWork::Verify { stored: Some(_), .. }) = work(&t, "connect Alice secret1") else {
            panic!("a connect needs a check")
        };
        assert!(matches!(
            work(&t, "CREATE Bob pw1234"),
            Some(CredentialWork::Hash { .. })
        ));
        assert_eq!(
            work(&t, "create Alice pw1234"),
            None,
            "a taken name costs no hashing"
        );
        assert_eq!(work(&t, "create Bob pw"), None, "nor a bad password");
        assert_eq!(work(&t, "connect Alice"), None);
        assert_eq!(work(&t, "say connect Alice secret1"), None);

        let mut scratch = Scratch::new();
        let good = scratch.run(&work(&t, "connect Alice secret1").unwrap());
        let stale = Credentials::Verified {
            ok: true,
            against: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into()),
        };
        let fx = t
            .game
            .handle_with(&line("connect Alice secret1"), t.now, Some(stale));
        assert_eq!(
            texts_for(&fx, h(7)),
            [BAD_LOGIN],
            "checked against another hash than stored now"
        );
        let fx = t.game.handle_with(
            &line("connect Alice secret1"),
            t.now,
            Some(Credentials::Unavailable),
        );
        assert_eq!(texts_for(&fx, h(7)), [BUSY]);
        let fx = t
            .game
            .handle_with(&line("connect Alice secret1"), t.now, Some(good));
        assert!(texts_for(&fx, h(7))[0].starts_with("Connected."));
        assert!(
            fx.output
                .iter()
                .any(|o| o.kind == GameMessageKind::Session { logged_in: true })
        );
        assert_eq!(
            work(&t, "connect Alice secret1"),
            None,
            "logged in: nothing to check"
        );
        t.connect_handle(9, "10.0.0.9:1");
        for _ in 0..throttle::MAX_FAILURES {
            t.input(h(9), "connect Alice wrong-pw");
        }
        assert_eq!(
            t.game
                .credential_work(&typed_on(9, "connect Alice secret1"), t.now),
            None,
            "a throttled login costs no hashing"
        );
    }
}
