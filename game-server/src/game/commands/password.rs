//! `@password <old>=<new>`: changes your own password; `@newpassword <player>=<new>`: a wizard
//! sets a player's password (God's only God may set).
//!
//! Why like this: a password is handled exactly as `create` and `connect` handle one. The hashing
//! (and, for `@password`, the check of the old password) is argon2 work, done before the line is
//! applied, off the input loop ([`work`] and [`new_work`] say what work a line needs, with the same
//! checks as the commands, and the command finds the outcome in `Game::prepared`); the new
//! password must pass `password::check_new`; only its PHC string is stored; no answer repeats
//! it, and the lines are redacted from logs (`redact_for_log`). A wrong old password counts as a
//! failed login for the player's name and address, so a session left open is no way to guess the
//! password faster than the login screen allows.
//!
//! Both run only when typed by the player themselves: not from code, `@dolist`, `$`-commands or
//! the queue, where no password work was prepared (and a loop could make the game hash in place
//! over and over). Arguments are taken as typed, never evaluated.

use super::{Args, Cx};
use crate::game::perms::{self, GOD};
use crate::game::world::{ObjectId, ObjectKind};
use crate::game::{CredentialWork, Credentials, Game, matching, password};
use mush_protocol::Timestamp;

const USAGE: &str = "Usage: @password <old password>=<new password>";
const NEW_USAGE: &str = "Usage: @newpassword <player>=<new password>";
const TYPED_ONLY: &str = "Passwords can be changed only by typing the command yourself.";
/// When the password work could not be done (the hashing threads are too busy, or failed).
const BUSY: &str =
    "The game is too busy to change passwords right now; nothing was changed. Please try again in a moment.";

/// `<left>=<right>`, split at the first `=` (passwords are not code: brackets mean nothing),
/// both trimmed and not empty.
fn split_args(rest: &str) -> Option<(&str, &str)> {
    let (left, right) = rest.split_once('=')?;
    let (left, right) = (left.trim(), right.trim());
    (!left.is_empty() && !right.is_empty()).then_some((left, right))
}

/// Whether the command was typed by `me` at top level (not run by code or a list).
fn typed_by(cx: &Cx<'_>, me: ObjectId) -> bool {
    cx.depth == 0 && cx.code.is_none() && cx.player() == Some(me)
}

/// The password work `@password <rest>` typed by `me` needs, unless it is refused before that
/// (the same checks, in the same order, as [`run`]).
pub(super) fn work(
    game: &Game,
    me: ObjectId,
    addr: &str,
    rest: &str,
    now: Timestamp,
) -> Option<CredentialWork> {
    let (old, new) = split_args(rest)?;
    password::check_new(new).ok()?;
    let player = game.world.get(me).filter(|p| p.kind == ObjectKind::Player)?;
    if game.throttle.refused_for(addr, &player.name, now).is_some() {
        return None;
    }
    Some(CredentialWork::Change {
        old: old.to_owned(),
        stored: player.password_hash.clone(),
        new: new.to_owned(),
    })
}

pub(super) fn run(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    if !args.switches.is_empty() {
        return cx.reply("@password has no switches.");
    }
    if !typed_by(cx, me) {
        return cx.reply(TYPED_ONLY);
    }
    let Some((old, new)) = split_args(args.rest) else {
        return cx.reply(USAGE);
    };
    if let Err(why) = password::check_new(new) {
        return cx.reply(why);
    }
    let Some(player) = cx.obj(me).filter(|p| p.kind == ObjectKind::Player).cloned() else {
        return;
    };
    if cx.login_throttled(&player.name) {
        return;
    }
    let stored = player.password_hash.clone();
    let outcome = match cx.game.prepared.take() {
        // Checked before the line against the hash stored then: still the one stored now?
        Some(Credentials::Changed { ok, against, hash }) => match hash {
            Some(hash) if ok && against == stored => Ok(Some(hash)),
            _ => Ok(None),
        },
        Some(_) => Err(()),
        None if password::verify(old, stored.as_deref()) => password::hash(new).map(Some).map_err(drop),
        None => Ok(None),
    };
    let addr = cx.addr();
    match outcome {
        Err(()) => cx.reply(BUSY),
        Ok(None) => {
            cx.game.throttle.failed(&addr, &player.name, cx.now);
            cx.reply("That is not your current password; your password is unchanged.");
        }
        Ok(Some(hash)) => {
            cx.game.throttle.succeeded(&player.name);
            let mut player = player;
            player.password_hash = Some(hash);
            cx.put(player);
            cx.reply("Password changed.");
        }
    }
}

/// The hashing `@newpassword <rest>` typed by `me` needs, unless it is refused before that (the
/// same checks, in the same order, as [`new_password`]).
pub(super) fn new_work(game: &Game, me: ObjectId, rest: &str) -> Option<CredentialWork> {
    let (who, new) = split_args(rest)?;
    allowed_target(game, me, who).ok()?;
    password::check_new(new).ok()?;
    Some(CredentialWork::Hash {
        password: new.to_owned(),
    })
}

/// The player whose password `me` may set, or why not.
fn allowed_target(game: &Game, me: ObjectId, who: &str) -> Result<ObjectId, &'static str> {
    let world = &game.world;
    if !perms::is_wizard(world, me) {
        return Err("Permission denied: only wizards may use @newpassword.");
    }
    let target = matching::player(world, me, who)
        .filter(|p| world.get(*p).is_some_and(|o| o.kind == ObjectKind::Player))
        .ok_or("There is no such player.")?;
    if target == GOD && me != GOD {
        return Err("Permission denied: only God may change God's password.");
    }
    Ok(target)
}

pub(super) fn new_password(cx: &mut Cx<'_>, me: ObjectId, args: &Args<'_>) {
    if !args.switches.is_empty() {
        return cx.reply("@newpassword has no switches.");
    }
    if !typed_by(cx, me) {
        return cx.reply(TYPED_ONLY);
    }
    let Some((who, new)) = split_args(args.rest) else {
        return cx.reply(NEW_USAGE);
    };
    let target = match allowed_target(cx.game, me, who) {
        Ok(t) => t,
        Err(why) => return cx.reply(why),
    };
    if let Err(why) = password::check_new(new) {
        return cx.reply(why);
    }
    let hash = match cx.game.prepared.take() {
        Some(Credentials::Hashed(hash)) => Ok(hash),
        Some(_) => Err(()),
        None => password::hash(new).map_err(drop),
    };
    let Ok(hash) = hash else {
        return cx.reply(BUSY);
    };
    let Some(mut player) = cx.obj(target).cloned() else {
        return;
    };
    player.password_hash = Some(hash);
    let name = player.name.clone();
    cx.put(player);
    cx.reply(format!("Password for {name} changed."));
    if target != me {
        let by = cx.name(me);
        cx.tell_player(target, format!("Your password has been changed by {by}."));
    }
}

#[cfg(test)]
mod tests {
    use super::{BUSY, TYPED_ONLY};
    use crate::game::testkit::*;
    use crate::game::{CredentialWork, Credentials, Effects, Scratch, WorldChange, throttle};
    use mush_protocol::{GatewayEvent, GatewayEventKind, Handle};

    const WRONG: &str = "That is not your current password; your password is unchanged.";

    fn typed(handle: Handle, line: &str) -> GatewayEvent {
        GatewayEvent::new(
            handle,
            GatewayEventKind::Input {
                line: bytes::Bytes::from(line.to_owned()),
            },
        )
    }

    fn stored_hash(t: &Harness, name: &str) -> String {
        let p = t.game.world().player_by_name(name).unwrap();
        p.password_hash.clone().unwrap()
    }

    /// Nothing the game sends, stores in clear or writes shows any of `secrets`.
    fn assert_hidden(all: &[Effects], secrets: &[&str]) {
        for fx in all {
            let mut shown = format!("{:?} {:?}", fx.output, fx.state);
            for change in &fx.changes {
                if let WorldChange::Put(o) = change {
                    shown.push_str(&serde_json::to_string(o).unwrap());
                }
            }
            for secret in secrets {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
        }
    }

    #[test]
    fn password_changes_with_the_right_old_one_and_the_new_one_logs_in() {
        let mut t = Harness::new();
        let alice = t.create("Alice", "secret1");
        let mut all = Vec::new();
        for (line, said) in [
            ("@password wrong1=newpass1", WRONG),
            (
                "@password secret1=abc",
                "A password must be at least 4 characters long.",
            ),
            ("@password secret1", super::USAGE),
            ("@password =newpass1", super::USAGE),
            ("@password/now secret1=newpass1", "@password has no switches."),
        ] {
            let fx = t.input(alice, line);
            assert_eq!(texts_for(&fx, alice), [said], "{line}");
            assert!(fx.changes.is_empty(), "{line}");
            all.push(fx);
        }
        let fx = t.input(alice, "@password secret1=newpass1");
        assert_eq!(texts_for(&fx, alice), ["Password changed."]);
        let [WorldChange::Put(me)] = fx.changes.as_slice() else {
            panic!("{:?}", fx.changes)
        };
        let hash = me.password_hash.as_deref().unwrap();
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(crate::game::password_matches("newpass1", Some(hash)));
        all.push(fx);
        assert_hidden(&all, &["secret1", "newpass1", "wrong1"]);
        t.disconnect(alice);
        t.connect_handle(7, "10.0.0.7:1");
        let fx = t.input(h(7), "connect Alice secret1");
        assert_eq!(texts_for(&fx, h(7)), [super::super::connect::BAD_LOGIN]);
        let fx = t.input(h(7), "connect Alice newpass1");
        assert!(texts_for(&fx, h(7))[0].starts_with("Connected."));
    }

    #[test]
    fn wrong_old_passwords_count_as_failed_logins() {
        let mut t = Harness::new();
        let alice = t.create("Alice", "secret1");
        for _ in 0..throttle::MAX_FAILURES {
            assert_eq!(
                texts_for(&t.input(alice, "@password guess=newpass1"), alice),
                [WRONG]
            );
        }
        let fx = t.input(alice, "@password secret1=newpass1");
        assert!(texts_for(&fx, alice)[0].starts_with("Too many failed logins"));
        assert!(fx.changes.is_empty());
        t.advance(throttle::LOCKOUT_SECS);
        let fx = t.input(alice, "@password secret1=newpass1");
        assert_eq!(texts_for(&fx, alice), ["Password changed."]);
    }

    #[test]
    fn passwords_change_only_on_lines_typed_by_the_player() {
        let mut t = Harness::new();
        let alice = t.create("Alice", "secret1");
        let before = stored_hash(&t, "Alice");
        for line in [
            "@dolist 1=@password secret1=newpass1",
            "@dolist 1=@newpassword Alice=newpass1",
            "@switch 1=1,@password secret1=newpass1",
        ] {
            let fx = t.input(alice, line);
            assert_eq!(texts_for(&fx, alice), [TYPED_ONLY], "{line}");
        }
        t.input(alice, "&CHPW me=$chpw *:@password %0");
        let fx = t.input(alice, "chpw secret1=newpass1");
        assert_eq!(texts_for(&fx, alice), [TYPED_ONLY]);
        assert_eq!(stored_hash(&t, "Alice"), before);
    }

    #[test]
    fn newpassword_is_for_wizards_and_gods_password_for_god_alone() {
        let mut t = Harness::new();
        let god = t.create("One", "godpass1");
        let wiz = t.create("Wiz", "wizpass1");
        let alice = t.create("Alice", "secret1");
        t.input(god, "@set *Wiz=WIZARD");
        let mut all = Vec::new();
        for (who, line, said) in [
            (
                alice,
                "@newpassword Wiz=stolen1",
                "Permission denied: only wizards",
            ),
            (wiz, "@newpassword *One=stolen1", "Permission denied: only God"),
            (wiz, "@newpassword Nobody=stolen1", "There is no such player."),
            (wiz, "@newpassword Alice=abc", "A password must be at least 4"),
            (wiz, "@newpassword Alice", super::NEW_USAGE),
        ] {
            let fx = t.input(who, line);
            assert!(fx.changes.is_empty(), "{line}");
            assert!(
                texts_for(&fx, who)[0].starts_with(said),
                "{line}: {:?}",
                texts_for(&fx, who)
            );
            all.push(fx);
        }
        let fx = t.input(wiz, "@newpassword Alice=fresh-pw1");
        assert_eq!(texts_for(&fx, wiz), ["Password for Alice changed."]);
        assert_eq!(texts_for(&fx, alice), ["Your password has been changed by Wiz."]);
        all.push(fx);
        let fx = t.input(god, "@newpassword me=godpass2");
        assert_eq!(texts_for(&fx, god), ["Password for One changed."]);
        all.push(fx);
        assert_hidden(&all, &["fresh-pw1", "godpass2", "stolen1"]);
        assert!(crate::game::password_matches(
            "fresh-pw1",
            Some(&stored_hash(&t, "Alice"))
        ));
        assert!(crate::game::password_matches(
            "godpass2",
            Some(&stored_hash(&t, "One"))
        ));
    }

    #[test]
    fn password_lines_ask_for_work_done_before_them_and_use_its_outcome() {
        let mut t = Harness::new();
        let god = t.create("One", "godpass1");
        let alice = t.create("Alice", "secret1");
        let work = |t: &Harness, who: Handle, s: &str| t.game.credential_work(&typed(who, s), t.now);
        let Some(CredentialWork::Change { stored: Some(_), .. }) =
            work(&t, alice, "@password secret1=newpass1")
        else {
            panic!("@password needs a check and a hash")
        };
        assert!(matches!(
            work(&t, god, "@NEWPASSWORD Alice=newpass2"),
            Some(CredentialWork::Hash { .. })
        ));
        for (who, line) in [
            (alice, "@password secret1=abc"),
            (alice, "@password secret1"),
            (alice, "@password/x secret1=newpass1"),
            (alice, "@newpassword Alice=newpass2"),
            (god, "@newpassword Nobody=newpass2"),
            (alice, "connect Alice secret1"),
            (alice, "say @password secret1=newpass1"),
        ] {
            assert_eq!(work(&t, who, line), None, "{line}: no hashing");
        }

        // The outcome of the work is what the line uses.
        let before = stored_hash(&t, "Alice");
        let stale = Credentials::Changed {
            ok: true,
            against: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into()),
            hash: Some(before.clone()),
        };
        let line = "@password secret1=newpass1";
        let fx = t.game.handle_with(&typed(alice, line), t.now, Some(stale));
        assert_eq!(
            texts_for(&fx, alice),
            [WRONG],
            "checked against another hash than stored now"
        );
        let fx = t
            .game
            .handle_with(&typed(alice, line), t.now, Some(Credentials::Unavailable));
        assert_eq!(texts_for(&fx, alice), [BUSY]);
        let mut scratch = Scratch::new();
        let done = scratch.run(&work(&t, alice, line).unwrap());
        let Credentials::Changed { hash: Some(new), .. } = &done else {
            panic!("{done:?}")
        };
        let new = new.clone();
        let fx = t.game.handle_with(&typed(alice, line), t.now, Some(done));
        assert_eq!(texts_for(&fx, alice), ["Password changed."]);
        assert_eq!(stored_hash(&t, "Alice"), new, "the hash made before the line");

        let line = "@newpassword Alice=newpass2";
        let done = scratch.run(&work(&t, god, line).unwrap());
        let Credentials::Hashed(new) = &done else {
            panic!("{done:?}")
        };
        let new = new.clone();
        let fx = t.game.handle_with(&typed(god, line), t.now, Some(done));
        assert_eq!(texts_for(&fx, god), ["Password for Alice changed."]);
        assert_eq!(stored_hash(&t, "Alice"), new);
        let fx = t
            .game
            .handle_with(&typed(god, line), t.now, Some(Credentials::Unavailable));
        assert_eq!(texts_for(&fx, god), [BUSY]);
    }
}
