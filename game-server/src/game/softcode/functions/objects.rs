//! The world from softcode: `name conn idle ...`, with the permission checks of
//! [`crate::game::perms`].

use super::{Function, eager};
use crate::game::matching::{self, Found};
use crate::game::softcode::Evaluator;
use crate::game::world::ObjectId;

pub static FUNCTIONS: &[Function] = &[
    eager("CONN", 1, 1, conn),
    eager("IDLE", 1, 1, idle),
    eager("NAME", 1, 1, name),
];

pub const NO_MATCH: &str = "#-1 NO MATCH";
pub const AMBIGUOUS: &str = "#-1 AMBIGUOUS MATCH";

/// What `what` names for the executor: `me`, `here`, any `#dbref`, `*player` or a player's name,
/// or the name of something near the executor.
pub fn locate(ev: &Evaluator<'_>, what: &str) -> Result<ObjectId, &'static str> {
    let what = what.trim();
    let world = &ev.game.world;
    if what.starts_with('#') {
        return what
            .parse::<ObjectId>()
            .ok()
            .filter(|id| world.get(*id).is_some())
            .ok_or(NO_MATCH);
    }
    match matching::nearby(world, ev.executor, what) {
        Found::One(id) => Ok(id),
        Found::Ambiguous => Err(AMBIGUOUS),
        Found::Missing => matching::player(world, ev.executor, what).ok_or(NO_MATCH),
    }
}

fn name(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    match locate(ev, &args[0]) {
        Ok(id) => ev.game.world.name_of(id),
        Err(e) => e.to_owned(),
    }
}

fn online_player(ev: &Evaluator<'_>, what: &str) -> Option<ObjectId> {
    matching::player(&ev.game.world, ev.enactor, what)
}

/// Seconds the player's longest connection has been up; -1 when offline (or no such player).
fn conn(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    online_player(ev, &args[0])
        .and_then(|p| ev.game.connected_secs(p, ev.now))
        .map_or("-1".to_owned(), |s| s.to_string())
}

/// Seconds since the player last typed, on their least idle connection; -1 when offline.
fn idle(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    online_player(ev, &args[0])
        .and_then(|p| ev.game.idle_secs(p, ev.now))
        .map_or("-1".to_owned(), |s| s.to_string())
}

/// `obj/attr` (or just `attr`, on the executor): the object and the upper-case attribute name.
pub fn object_attribute(ev: &Evaluator<'_>, spec: &str) -> Result<(ObjectId, String), &'static str> {
    match spec.split_once('/') {
        Some((obj, attr)) => Ok((locate(ev, obj)?, attr.trim().to_ascii_uppercase())),
        None => Ok((ev.executor, spec.trim().to_ascii_uppercase())),
    }
}

/// The text of attribute `attr` of `id` (or a parent) as the executor may read it: `Ok(None)`
/// when there is none, `Err` when the executor may not read it.
pub fn read_attribute(ev: &Evaluator<'_>, id: ObjectId, attr: &str) -> Result<Option<String>, &'static str> {
    let world = &ev.game.world;
    let Some((text, holder)) = world.attribute(id, attr) else {
        return Ok(None);
    };
    let holder = world.get(holder).expect("found on it");
    if crate::game::perms::can_read_attribute(world, ev.executor, holder, attr) {
        Ok(Some(text.to_owned()))
    } else {
        Err(NO_PERMISSION)
    }
}

pub const NO_PERMISSION: &str = "#-1 PERMISSION DENIED";

/// Runs `obj/attr` (or `attr` on the executor) as a user function with `args` (`u()`, and what
/// `map()`, `filter()`, `fold()`, `sortby()` call): the attribute's code runs as its object, with
/// the caller's registers. An attribute that does not exist gives "".
pub fn call_ufun(ev: &mut Evaluator<'_>, spec: &str, args: Vec<String>) -> String {
    let (id, attr) = match object_attribute(ev, spec) {
        Ok(found) => found,
        Err(e) => return e.to_owned(),
    };
    match read_attribute(ev, id, &attr) {
        Ok(Some(code)) => ev.call_code(id, &code, args),
        Ok(None) => String::new(),
        Err(e) => e.to_owned(),
    }
}
