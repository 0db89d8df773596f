//! Output from functions: `pemit() emit() remit() oemit() lemit()` (and the `ns` forms, the same
//! here), made by the command that evaluated them (see [`crate::game::softcode::Emit`]). They
//! return nothing; what they could not do is told to the executor, as PennMUSH does.
//!
//! Who may send what where, PennMUSH's way: anyone may `pemit()` to any object, except to a
//! HAVEN player or one whose Page lock refuses the sender (wizards pass both); speaking into a
//! room (`emit()`, `remit()`, `oemit()`, `lemit()`) needs its Speech lock passed (wizards pass).

use super::objects::locate;
use super::{Function, eager};
use crate::game::locks;
use crate::game::matching::{self, Found};
use crate::game::perms;
use crate::game::softcode::{Emit, Evaluator};
use crate::game::world::{ObjectId, ObjectKind, World};

pub static FUNCTIONS: &[Function] = &[
    eager("EMIT", 1, 1, emit),
    eager("LEMIT", 1, 1, lemit),
    eager("NSEMIT", 1, 1, emit),
    eager("NSLEMIT", 1, 1, lemit),
    eager("NSOEMIT", 2, 2, oemit),
    eager("NSPEMIT", 2, 2, pemit),
    eager("NSREMIT", 2, 2, remit),
    eager("OEMIT", 2, 2, oemit),
    eager("PEMIT", 2, 2, pemit),
    eager("REMIT", 2, 2, remit),
];

/// The words of a target list: space-separated, "double quotes" around names with spaces.
fn targets(list: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = list.trim_start();
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"')
            && let Some(end) = quoted.find('"')
        {
            out.push(&quoted[..end]);
            rest = quoted[end + 1..].trim_start();
            continue;
        }
        let end = rest.find(' ').unwrap_or(rest.len());
        out.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    out
}

/// Tells the executor something (a complaint).
fn tell(ev: &mut Evaluator<'_>, text: &str) {
    let me = ev.executor;
    ev.emits.push(Emit::To(vec![me], text.to_owned()));
}

/// The object a target names, or a complaint to the executor.
fn find(ev: &mut Evaluator<'_>, what: &str) -> Option<ObjectId> {
    match locate(ev, what) {
        Ok(id) => Some(id),
        Err(super::objects::AMBIGUOUS) => {
            tell(ev, matching::AMBIGUOUS);
            None
        }
        Err(_) => {
            tell(ev, matching::NOT_FOUND);
            None
        }
    }
}

/// PennMUSH's `okay_pemit`: wizards may; nobody else to a HAVEN player or past a Page lock.
fn may_pemit(world: &World, sender: ObjectId, target: ObjectId) -> bool {
    if perms::is_wizard(world, sender) {
        return true;
    }
    let haven = world
        .get(target)
        .is_some_and(|o| o.kind == ObjectKind::Player && o.flags.contains("HAVEN"));
    !haven && locks::passes_lock(world, target, "Page", sender)
}

/// Whether `speaker` may speak in `place` (its Speech lock; wizards always).
fn may_speak(world: &World, speaker: ObjectId, place: ObjectId) -> bool {
    perms::is_wizard(world, speaker) || locks::passes_lock(world, place, "Speech", speaker)
}

/// `pemit(targets, message)`: the message to each target that will take it.
fn pemit(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let message = &args[1];
    if message.is_empty() {
        return String::new();
    }
    let world = ev.game.world();
    let mut to: Vec<ObjectId> = Vec::new();
    for word in targets(&args[0]) {
        let Some(id) = find(ev, word) else { continue };
        if may_pemit(world, ev.executor, id) && !to.contains(&id) {
            to.push(id);
        }
    }
    if !to.is_empty() {
        ev.emits.push(Emit::To(to, message.clone()));
    }
    String::new()
}

/// Where an object's speech is heard: a room itself, an exit's source, where anything else is.
fn speech_place(world: &World, id: ObjectId) -> Option<ObjectId> {
    let o = world.get(id)?;
    match o.kind {
        ObjectKind::Room => Some(o.id),
        _ => o.location,
    }
}

/// `emit(message)`: to everyone where the executor is.
fn emit(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let world = ev.game.world();
    let Some(room) = speech_place(world, ev.executor) else {
        return String::new();
    };
    if args[0].is_empty() {
        return String::new();
    }
    if !may_speak(world, ev.executor, room) {
        tell(ev, "You may not speak here!");
        return String::new();
    }
    ev.emits.push(Emit::Room {
        room,
        except: vec![],
        text: args[0].clone(),
    });
    String::new()
}

/// `remit(objects, message)`: to everything inside each of the objects (rooms, usually).
fn remit(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let world = ev.game.world();
    if args[1].is_empty() {
        return String::new();
    }
    let mut done: Vec<ObjectId> = Vec::new();
    for word in targets(&args[0]) {
        let Some(place) = find(ev, word) else { continue };
        if world.get(place).is_some_and(|o| o.kind == ObjectKind::Exit) {
            tell(ev, "There can't be anything in that!");
            continue;
        }
        if !may_pemit(world, ev.executor, place) || done.contains(&place) {
            continue;
        }
        if !may_speak(world, ev.executor, place) {
            tell(ev, "You may not speak there!");
        } else {
            done.push(place);
            ev.emits.push(Emit::Room {
                room: place,
                except: vec![],
                text: args[1].clone(),
            });
        }
    }
    String::new()
}

/// `oemit([room/]objects, message)`: to everyone where the objects are but them (to everyone in
/// `room` but those of the objects there, when a room is given).
fn oemit(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let world = ev.game.world();
    let message = &args[1];
    if message.is_empty() || args[0].trim().is_empty() {
        return String::new();
    }
    let (room, list) = match args[0].split_once('/') {
        Some((room, list)) => match find(ev, room) {
            Some(r) => (Some(r), list),
            None => return String::new(),
        },
        None => (None, args[0].as_str()),
    };
    if let Some(r) = room
        && !may_speak(world, ev.executor, r)
    {
        tell(ev, "You may not speak there!");
        return String::new();
    }
    let mut skipped: Vec<ObjectId> = Vec::new();
    let mut places: Vec<ObjectId> = Vec::new();
    for word in targets(list) {
        let who = match room {
            Some(r) => match matching::within(world, r, word, None) {
                Found::One(id) => Some(id),
                _ => None,
            },
            None => find(ev, word),
        };
        let Some(who) = who else { continue };
        let Some(place) = world.get(who).and_then(|o| o.location) else {
            continue;
        };
        if room == Some(place) || may_speak(world, ev.executor, place) {
            skipped.push(who);
            if !places.contains(&place) {
                places.push(place);
            }
        }
    }
    if places.is_empty() {
        match room {
            Some(r) => places.push(r),
            None => {
                tell(ev, "No matching objects.");
                return String::new();
            }
        }
    }
    for place in places {
        ev.emits.push(Emit::Room {
            room: place,
            except: skipped.clone(),
            text: message.clone(),
        });
    }
    String::new()
}

/// `lemit(message)`: to the room outside everything holding the executor.
fn lemit(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let world = ev.game.world();
    let Some(me) = world.get(ev.executor) else {
        return String::new();
    };
    if !matches!(me.kind, ObjectKind::Player | ObjectKind::Thing) || args[0].is_empty() {
        return String::new();
    }
    let mut at = me.location;
    let mut room = None;
    for _ in 0..=20 {
        match at.and_then(|id| world.get(id)) {
            Some(o) if o.kind == ObjectKind::Room => {
                room = Some(o.id);
                break;
            }
            Some(o) => at = o.location,
            None => break,
        }
    }
    let Some(room) = room else {
        tell(ev, "Too many containers.");
        return String::new();
    };
    if !may_speak(world, ev.executor, room) {
        tell(ev, "You may not speak there!");
        return String::new();
    }
    ev.emits.push(Emit::Room {
        room,
        except: vec![],
        text: args[0].clone(),
    });
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::budget::Fuel;
    use crate::game::softcode::conformance::fixture;
    use crate::game::{Game, Object, WorldChange};

    fn run(game: &Game, who: u64, s: &str) -> (String, Vec<Emit>) {
        let now = mush_protocol::Timestamp::from_micros(0);
        let mut fuel = Fuel::unlimited_time(10_000);
        let mut ev = Evaluator::new(game, now, &mut fuel, ObjectId(who), ObjectId(who));
        let out = ev.eval(s);
        (out, ev.emits)
    }

    fn with(id: u64, change: impl FnOnce(&mut Object)) -> Game {
        let mut game = fixture();
        let mut o = game.world.get(ObjectId(id)).unwrap().clone();
        change(&mut o);
        game.world.apply(&WorldChange::Put(o));
        game
    }

    fn to(ids: &[u64], text: &str) -> Emit {
        Emit::To(ids.iter().map(|i| ObjectId(*i)).collect(), text.to_owned())
    }

    fn room(room: u64, except: &[u64], text: &str) -> Emit {
        Emit::Room {
            room: ObjectId(room),
            except: except.iter().map(|i| ObjectId(*i)).collect(),
            text: text.to_owned(),
        }
    }

    #[test]
    fn pemit_sends_to_each_target_and_returns_nothing() {
        let g = fixture();
        assert_eq!(
            run(&g, 2, "pemit(*bob, Hi there)"),
            (String::new(), vec![to(&[3], "Hi there")])
        );
        assert_eq!(run(&g, 2, "pemit(#3 me #3 #4, x)").1, vec![to(&[3, 2, 4], "x")]);
        assert_eq!(
            run(&g, 2, "nspemit(#7, x)").1,
            vec![to(&[7], "x")],
            "things anywhere"
        );
        assert_eq!(
            run(&g, 2, "pemit(nobody, x)").1,
            vec![to(&[2], "I don't see that here.")]
        );
        assert!(run(&g, 2, "pemit(me,)").1.is_empty());
        assert_eq!(targets(r#"#1 "The Garden"  bob"#), ["#1", "The Garden", "bob"]);
    }

    #[test]
    fn haven_and_page_locks_refuse_all_but_wizards() {
        let g = with(3, |bob| {
            bob.flags.insert("HAVEN".into());
        });
        assert!(run(&g, 2, "pemit(*bob, x)").1.is_empty());
        assert_eq!(run(&g, 1, "pemit(*bob, x)").1, vec![to(&[3], "x")]);
        let g = with(3, |bob| {
            bob.locks.insert("Page".into(), "#1".into());
        });
        assert!(run(&g, 2, "pemit(*bob, x)").1.is_empty());
        assert_eq!(run(&g, 2, "pemit(#4, x)").1, vec![to(&[4], "x")]);
    }

    #[test]
    fn emit_speaks_where_the_executor_is() {
        let g = fixture();
        assert_eq!(
            run(&g, 2, "emit(Boom)"),
            (String::new(), vec![room(0, &[], "Boom")])
        );
        assert_eq!(
            run(&g, 0, "nsemit(Boom)").1,
            vec![room(0, &[], "Boom")],
            "a room speaks in itself"
        );
        let g = with(0, |lobby| {
            lobby.locks.insert("Speech".into(), "#1".into());
        });
        assert_eq!(
            run(&g, 2, "emit(Boom)").1,
            vec![to(&[2], "You may not speak here!")]
        );
        assert_eq!(run(&g, 1, "emit(Boom)").1, vec![room(0, &[], "Boom")]);
    }

    #[test]
    fn remit_oemit_and_lemit() {
        let g = fixture();
        assert_eq!(
            run(&g, 2, "remit(#6, Far away)").1,
            vec![room(6, &[], "Far away")]
        );
        assert_eq!(
            run(&g, 2, "remit(#6 #0, x)").1,
            vec![room(6, &[], "x"), room(0, &[], "x")]
        );
        assert_eq!(
            run(&g, 2, "remit(#5, x)").1,
            vec![to(&[2], "There can't be anything in that!")]
        );
        assert_eq!(
            run(&g, 2, "oemit(*bob, Bob is poked.)").1,
            vec![room(0, &[3], "Bob is poked.")]
        );
        assert_eq!(run(&g, 2, "oemit(me #4, x)").1, vec![room(0, &[2, 4], "x")]);
        assert_eq!(run(&g, 2, "oemit(#0/bob, x)").1, vec![room(0, &[3], "x")]);
        assert_eq!(run(&g, 2, "oemit(#6/bob, x)").1, vec![room(6, &[], "x")]);
        assert_eq!(
            run(&g, 2, "oemit(nobody, x)").1.last(),
            Some(&to(&[2], "No matching objects."))
        );
        assert_eq!(
            run(&g, 8, "lemit(From the stem)").1,
            vec![room(0, &[], "From the stem")]
        );
        assert!(run(&g, 0, "lemit(x)").1.is_empty(), "rooms do not lemit");
    }
}
