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
