//! The world from softcode: names and numbers (`num name fullname type objid ...`), where things
//! are (`loc where room home lcon lexits con next ...`), attributes (`get xget v u ulocal default
//! lattr hasattr ...`), flags (`flags lflags hasflag andflags ...`), permissions (`controls
//! visible nearby elock`), players (`pmatch lwho conn idle`) and `lsearch`, with the permission
//! checks of [`crate::game::perms`] and PennMUSH's answers.
//!
//! Where PennMUSH's own notion differs from the world's fields, PennMUSH's is used: the
//! "location" of an exit is its destination (its source is its `home()`), that of a room its
//! drop-to; "nearby" means one is in the other or both are in the same place.

use super::{Function, MANY, bool_str, eager, lazy};
use crate::game::flags;
use crate::game::locks;
use crate::game::matching::{self, Found};
use crate::game::perms;
use crate::game::softcode::{Evaluator, MAX_OUTPUT};
use crate::game::timefmt;
use crate::game::world::{MAX_PARENT_DEPTH, Object, ObjectId, ObjectKind, World};

pub static FUNCTIONS: &[Function] = &[
    eager("ANDFLAGS", 2, 2, andflags),
    eager("ANDLFLAGS", 2, 2, andlflags),
    eager("ATTRCNT", 1, 1, nattr),
    eager("ATTRPCNT", 1, 1, nattrp),
    eager("CHILDREN", 1, 1, children),
    eager("CON", 1, 1, con),
    eager("CONN", 1, 1, conn),
    eager("CONTROLS", 2, 2, controls),
    eager("CSECS", 1, 1, csecs),
    eager("CTIME", 1, 2, ctime),
    lazy("DEFAULT", 2, MANY, default),
    lazy("EDEFAULT", 2, 2, edefault),
    eager("ELOCK", 2, 2, elock),
    eager("EVAL", 2, 2, eval),
    eager("EXIT", 1, 1, exit),
    eager("FLAGS", 0, 1, flags),
    eager("FULLNAME", 1, 1, fullname),
    eager("GET", 1, 1, get),
    eager("GET_EVAL", 1, 1, get_eval),
    eager("HASATTR", 1, 2, hasattr),
    eager("HASATTRP", 1, 2, hasattrp),
    eager("HASATTRPVAL", 1, 2, hasattrpval),
    eager("HASATTRVAL", 1, 2, hasattrval),
    eager("HASFLAG", 2, 2, hasflag),
    eager("HASTYPE", 2, 2, hastype),
    eager("HOME", 1, 1, home),
    eager("IDLE", 1, 1, idle),
    eager("IDLESECS", 1, 1, idle),
    eager("ISDBREF", 1, 1, isdbref),
    eager("LATTR", 1, 2, lattr),
    eager("LATTRP", 1, 2, lattrp),
    eager("LCON", 1, 2, lcon),
    eager("LEXITS", 1, 1, lexits),
    eager("LFLAGS", 0, 1, lflags),
    eager("LOC", 1, 1, loc),
    eager("LOCATE", 3, 3, locate_fn),
    eager("LPARENT", 1, 1, lparent),
    eager("LPLAYERS", 1, 1, lplayers),
    eager("LSEARCH", 1, MANY, lsearch),
    eager("LTHINGS", 1, 1, lthings),
    eager("LWHO", 0, 1, lwho),
    eager("NAME", 1, 1, name),
    eager("NATTR", 1, 1, nattr),
    eager("NATTRP", 1, 1, nattrp),
    eager("NCHILDREN", 1, 1, nchildren),
    eager("NEARBY", 2, 2, nearby),
    eager("NEXT", 1, 1, next),
    eager("NLSEARCH", 1, MANY, nlsearch),
    eager("NUM", 1, 1, num),
    eager("NWHO", 0, 1, nwho),
    eager("OBJID", 1, 1, objid),
    eager("ORFLAGS", 2, 2, orflags),
    eager("ORLFLAGS", 2, 2, orlflags),
    eager("OWNER", 1, 1, owner),
    eager("PARENT", 1, 1, parent),
    eager("PMATCH", 1, 1, pmatch),
    eager("RLOC", 2, 2, rloc),
    eager("ROOM", 1, 1, room),
    eager("SEARCH", 1, MANY, lsearch),
    eager("TYPE", 1, 1, type_fn),
    eager("U", 1, MANY, ufun),
    lazy("UDEFAULT", 2, MANY, udefault),
    eager("UFUN", 1, MANY, ufun),
    lazy("ULDEFAULT", 2, MANY, uldefault),
    eager("ULOCAL", 1, MANY, ulocal),
    eager("V", 1, 1, v),
    eager("VISIBLE", 2, 2, visible),
    eager("WHERE", 1, 1, where_fn),
    eager("XGET", 2, 2, xget),
];

pub const NO_MATCH: &str = "#-1 NO MATCH";
pub const AMBIGUOUS: &str = "#-1 AMBIGUOUS MATCH";
/// PennMUSH's `e_perm`.
pub const NO_PERMISSION: &str = "#-1 PERMISSION DENIED";
/// PennMUSH's `e_atrperm`: an attribute the executor may not read.
pub const NO_ATTR_PERMISSION: &str = "#-1 NO PERMISSION TO GET ATTRIBUTE";
/// PennMUSH's `e_notvis`: no object by that name for the executor.
pub const NOT_VISIBLE: &str = "#-1 NO SUCH OBJECT VISIBLE";
/// What `u()` and friends give for an object that is not there.
pub const INVALID_OBJECT: &str = "#-1 INVALID OBJECT";
const NOTHING: &str = "#-1";
/// Arguments a user function gets at most (`%0`-`%9`, then `v(10)`-`v(29)`).
const MAX_UFUN_ARGS: usize = 30;
/// Results `lsearch()` gives at most.
const MAX_SEARCH: usize = 1_000;

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

/// The object `what` names, if any (PennMUSH's `match_thing`).
fn thing(ev: &Evaluator<'_>, what: &str) -> Option<ObjectId> {
    locate(ev, what).ok()
}

fn world<'a>(ev: &Evaluator<'a>) -> &'a World {
    ev.game.world()
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

// ---------------------------------------------------------------------------------------------
// Where things are, PennMUSH's way.

/// PennMUSH's `Location()`: where a player or thing is, where an exit leads, a room's drop-to.
fn penn_location(o: &Object) -> Option<ObjectId> {
    match o.kind {
        ObjectKind::Exit | ObjectKind::Room => o.destination,
        ObjectKind::Player | ObjectKind::Thing => o.location,
    }
}

fn location_of(world: &World, id: ObjectId) -> Option<ObjectId> {
    world.get(id).and_then(penn_location)
}

/// One is in the other, or both are in the same place.
fn is_nearby(world: &World, a: ObjectId, b: ObjectId) -> bool {
    if world.get(a).is_none() || world.get(b).is_none() {
        return false;
    }
    let (la, lb) = (location_of(world, a), location_of(world, b));
    la == Some(b) || lb == Some(a) || (la.is_some() && la == lb)
}

/// Whether `id` or what holds it (up to its room) is UNFINDABLE.
fn unfindable(world: &World, id: ObjectId) -> bool {
    let mut at = Some(id);
    for _ in 0..=50 {
        let Some(o) = at.and_then(|i| world.get(i)) else {
            return false;
        };
        if o.flags.contains("UNFINDABLE") {
            return true;
        }
        if o.kind == ObjectKind::Room {
            return false;
        }
        at = o.location;
    }
    false
}

/// PennMUSH's `Can_Locate`: control, nearness, seeing all, or a findable player.
fn can_locate(world: &World, who: ObjectId, what: ObjectId) -> bool {
    perms::controls(world, who, what)
        || is_nearby(world, who, what)
        || perms::sees_all(world, who)
        || world.get(what).is_some_and(|o| {
            o.kind == ObjectKind::Player
                && !o.flags.contains("UNFINDABLE")
                && !o.location.is_some_and(|l| unfindable(world, l))
        })
}

/// DARK that hides: on anything but a living player or puppet, or on a wizard.
fn dark_legal(world: &World, o: &Object) -> bool {
    let alive = o.kind == ObjectKind::Player || (o.kind == ObjectKind::Thing && o.flags.contains("PUPPET"));
    o.flags.contains("DARK") && (perms::is_wizard(world, o.id) || !alive)
}

/// Whether `viewer` sees `thing` in a listing of `place` (DARK things and dark places hide
/// what is in them from those who neither control them nor see all).
fn listed(world: &World, viewer: ObjectId, place: &Object, thing: &Object) -> bool {
    let place_dark = if place.kind == ObjectKind::Player {
        place.flags.contains("OPAQUE")
    } else {
        place.flags.contains("DARK")
    };
    if !(dark_legal(world, thing) || (place_dark && !thing.flags.contains("LIGHT"))) {
        return true;
    }
    perms::sees_all(world, viewer)
        || place.id == viewer
        || perms::controls(world, viewer, place.id)
        || perms::controls(world, viewer, thing.id)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Walk {
    Contents,
    Players,
    Things,
    Connected,
    Puppets,
    Exits,
}

/// What `place` holds of a kind, as the executor may list it: the whole of what it may examine,
/// what it sees of its own location or of the enactor, nothing (`None`) elsewhere.
fn walk(ev: &Evaluator<'_>, place: Option<ObjectId>, kind: Walk) -> Option<Vec<ObjectId>> {
    let world = world(ev);
    let place = world.get(place?)?;
    let valid = match kind {
        Walk::Exits => place.kind == ObjectKind::Room,
        _ => place.kind != ObjectKind::Exit,
    };
    let executor = ev.executor;
    let here = world.get(executor).and_then(|o| o.location);
    let allowed =
        perms::can_examine(world, executor, place.id) || here == Some(place.id) || ev.enactor == place.id;
    if !valid || !allowed {
        return None;
    }
    let candidates: Vec<&Object> = if kind == Walk::Exits {
        world.exits(place.id).collect()
    } else {
        world.contents(place.id).collect()
    };
    let wanted = |o: &Object| match kind {
        Walk::Contents => true,
        Walk::Players => o.kind == ObjectKind::Player,
        Walk::Connected => o.kind == ObjectKind::Player && ev.game.is_online(o.id),
        Walk::Things => o.kind == ObjectKind::Thing,
        Walk::Puppets => o.kind == ObjectKind::Thing && o.flags.contains("PUPPET"),
        Walk::Exits => o.kind == ObjectKind::Exit,
    };
    Some(
        candidates
            .into_iter()
            .filter(|o| wanted(o) && listed(world, executor, place, o))
            .map(|o| o.id)
            .collect(),
    )
}

fn dbrefs(ids: impl IntoIterator<Item = ObjectId>, sep: &str) -> String {
    let mut out = String::new();
    for id in ids {
        if !out.is_empty() {
            out.push_str(sep);
        }
        out.push_str(&id.to_string());
        if out.len() > MAX_OUTPUT {
            break;
        }
    }
    out
}

fn listing(ev: &Evaluator<'_>, what: &str, kind: Walk) -> String {
    match walk(ev, thing(ev, what), kind) {
        Some(ids) => dbrefs(ids, " "),
        None => NOTHING.to_owned(),
    }
}

/// `lcon(obj[, type])`: what is inside (`player`, `thing`/`object`, `connect`, `puppet` or
/// `listen` narrow it).
fn lcon(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let kind = match args.get(1).map(|t| t.trim().to_ascii_lowercase()) {
        None => Walk::Contents,
        Some(t) if t.is_empty() => Walk::Contents,
        Some(t) if "player".starts_with(&t) => Walk::Players,
        Some(t) if "object".starts_with(&t) || "thing".starts_with(&t) => Walk::Things,
        Some(t) if "connect".starts_with(&t) => Walk::Connected,
        Some(t) if "puppet".starts_with(&t) => Walk::Puppets,
        Some(t) if "listen".starts_with(&t) => Walk::Connected,
        Some(_) => return NOTHING.to_owned(),
    };
    listing(ev, &args[0], kind)
}

fn lexits(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    listing(ev, &args[0], Walk::Exits)
}

fn lplayers(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    listing(ev, &args[0], Walk::Players)
}

fn lthings(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    listing(ev, &args[0], Walk::Things)
}

fn first_of(ids: Option<Vec<ObjectId>>) -> String {
    ids.and_then(|v| v.first().copied())
        .map_or(NOTHING.to_owned(), |id| id.to_string())
}

/// The first thing inside.
fn con(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    first_of(walk(ev, thing(ev, &args[0]), Walk::Contents))
}

/// The first exit out of a room.
fn exit(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    first_of(walk(ev, thing(ev, &args[0]), Walk::Exits))
}

/// What follows in the same contents (or exits) list; `#-1` at the end.
fn next(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let Some(o) = thing(ev, &args[0]).and_then(|id| world(ev).get(id)) else {
        return NOTHING.to_owned();
    };
    let list = match o.kind {
        ObjectKind::Exit => walk(ev, o.location, Walk::Exits),
        ObjectKind::Thing | ObjectKind::Player => walk(ev, o.location, Walk::Contents),
        ObjectKind::Room => None,
    };
    let after = list.and_then(|l| {
        l.iter()
            .position(|x| *x == o.id)
            .and_then(|i| l.get(i + 1).copied())
    });
    after.map_or(NOTHING.to_owned(), |id| id.to_string())
}

/// Where a player or thing is, where an exit leads, a room's drop-to: for those the executor may
/// locate.
fn loc(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let world = world(ev);
    match thing(ev, &args[0]) {
        Some(id) if can_locate(world, ev.executor, id) => dbref_or_nothing(location_of(world, id)),
        _ => NOTHING.to_owned(),
    }
}

fn dbref_or_nothing(id: Option<ObjectId>) -> String {
    id.map_or(NOTHING.to_owned(), |i| i.to_string())
}

/// The "true" location: where a player or thing is, an exit's source, `#-1` for a room.
fn where_fn(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let world = world(ev);
    match thing(ev, &args[0]).and_then(|id| world.get(id)) {
        Some(o) if can_locate(world, ev.executor, o.id) => match o.kind {
            ObjectKind::Room => NOTHING.to_owned(),
            _ => dbref_or_nothing(o.location),
        },
        _ => NOTHING.to_owned(),
    }
}

/// The room outside every container (`#-1` after 20 levels, as PennMUSH gives up).
fn absolute_room(world: &World, id: ObjectId) -> Option<ObjectId> {
    let o = world.get(id)?;
    if o.kind == ObjectKind::Room {
        return Some(id);
    }
    let mut at = o.location;
    for _ in 0..=20 {
        let here = world.get(at?)?;
        if here.kind == ObjectKind::Room {
            return Some(here.id);
        }
        at = here.location;
    }
    None
}

fn room(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let world = world(ev);
    match thing(ev, &args[0]) {
        None => NOT_VISIBLE.to_owned(),
        Some(id) if !can_locate(world, ev.executor, id) => NO_PERMISSION.to_owned(),
        Some(id) => dbref_or_nothing(absolute_room(world, id)),
    }
}

/// `rloc(obj, n)`: `loc()` n times (at most 20), stopping at a room.
fn rloc(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let world = world(ev);
    let depth = args[1].trim().parse::<i64>().unwrap_or(0).clamp(0, 20);
    match thing(ev, &args[0]) {
        None => NOT_VISIBLE.to_owned(),
        Some(id) if !can_locate(world, ev.executor, id) => NO_PERMISSION.to_owned(),
        Some(id) => {
            let mut at = Some(id);
            for _ in 0..depth {
                match at.and_then(|i| world.get(i)) {
                    Some(o) if o.kind != ObjectKind::Room => at = penn_location(o),
                    _ => break,
                }
            }
            dbref_or_nothing(at)
        }
    }
}

/// A player's or thing's home, an exit's source, a room's drop-to: for those the executor may
/// examine.
fn home(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let world = world(ev);
    match thing(ev, &args[0]).and_then(|id| world.get(id)) {
        None => NOT_VISIBLE.to_owned(),
        Some(o) if !perms::can_examine(world, ev.executor, o.id) => NO_PERMISSION.to_owned(),
        Some(o) => dbref_or_nothing(match o.kind {
            ObjectKind::Exit => o.location,
            ObjectKind::Room => o.destination,
            _ => o.home,
        }),
    }
}

/// `nearby(a, b)`: one in the other or both in the same place; the executor must control or be
/// near one of them.
fn nearby(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let world = world(ev);
    let (a, b) = (thing(ev, &args[0]), thing(ev, &args[1]));
    let ex = ev.executor;
    let related =
        |x: Option<ObjectId>| x.is_some_and(|x| perms::controls(world, ex, x) || is_nearby(world, ex, x));
    if !related(a) && !related(b) && !perms::sees_all(world, ex) {
        return "#-1 NO OBJECTS CONTROLLED".to_owned();
    }
    match (a, b) {
        (Some(a), Some(b)) => bool_str(is_nearby(world, a, b)),
        _ => NOTHING.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Names, numbers, types, owners.

fn num(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    dbref_or_nothing(thing(ev, &args[0]))
}

/// The whole name: all of an exit's aliases.
fn fullname(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    match thing(ev, &args[0]).and_then(|id| world(ev).get(id)) {
        Some(o) => o.name.clone(),
        None => NOT_VISIBLE.to_owned(),
    }
}

fn type_name(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Player => "PLAYER",
        ObjectKind::Thing => "THING",
        ObjectKind::Exit => "EXIT",
        ObjectKind::Room => "ROOM",
    }
}

fn type_fn(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    match thing(ev, &args[0]).and_then(|id| world(ev).get(id)) {
        Some(o) => type_name(o.kind).to_owned(),
        None => NOT_VISIBLE.to_owned(),
    }
}

/// `hastype(obj, types)`: whether it is one of the space-separated types (by first letter).
fn hastype(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let Some(o) = thing(ev, &args[0]).and_then(|id| world(ev).get(id)) else {
        return NOT_VISIBLE.to_owned();
    };
    let mut words = args[1].split(' ').filter(|w| !w.is_empty()).peekable();
    if words.peek().is_none() {
        return "#-1 NO SUCH TYPE".to_owned();
    }
    for word in words {
        let kind = match word.chars().next().map(|c| c.to_ascii_lowercase()) {
            Some('r') => Some(ObjectKind::Room),
            Some('e') => Some(ObjectKind::Exit),
            Some('p') => Some(ObjectKind::Player),
            Some('t') => Some(ObjectKind::Thing),
            Some('g') => None,
            _ => return "#-1 NO SUCH TYPE".to_owned(),
        };
        if kind == Some(o.kind) {
            return bool_str(true);
        }
    }
    bool_str(false)
}

/// The owner; with `obj/attr`, the owner of the attribute (its object's, here).
fn owner(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let world = world(ev);
    if let Some((obj, attr)) = args[0].split_once('/') {
        let attr = attr.trim().to_ascii_uppercase();
        return match thing(ev, obj).and_then(|id| world.get(id)) {
            Some(o) if o.attributes.contains_key(&attr) && can_read(world, ev.executor, o.id, o, &attr) => {
                perms::owner_of(world, o.id).to_string()
            }
            _ => NOTHING.to_owned(),
        };
    }
    match thing(ev, &args[0]).and_then(|id| world.get(id)) {
        Some(o) if o.kind == ObjectKind::Player => o.id.to_string(),
        Some(o) => o.owner.to_string(),
        None => NOT_VISIBLE.to_owned(),
    }
}

/// The parent, for those who may examine the object.
fn parent(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let world = world(ev);
    match thing(ev, &args[0]).and_then(|id| world.get(id)) {
        None => NOT_VISIBLE.to_owned(),
        Some(o) if !perms::can_examine(world, ev.executor, o.id) => NO_PERMISSION.to_owned(),
        Some(o) => dbref_or_nothing(o.parent),
    }
}

/// The object, its parent, grandparent...: as far as the executor may examine.
fn lparent(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let world = world(ev);
    let Some(mut at) = thing(ev, &args[0]).and_then(|id| world.get(id)) else {
        return NOT_VISIBLE.to_owned();
    };
    let mut out = vec![at.id];
    for _ in 0..MAX_PARENT_DEPTH {
        if !perms::can_examine(world, ev.executor, at.id) {
            break;
        }
        match at.parent.and_then(|p| world.get(p)) {
            Some(p) if !out.contains(&p.id) => {
                out.push(p.id);
                at = p;
            }
            _ => break,
        }
    }
    dbrefs(out, " ")
}

/// `#12:1700000000`: the dbref and the creation time, which together never name another object.
fn objid(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    match thing(ev, &args[0]).and_then(|id| world(ev).get(id)) {
        Some(o) => format!("{}:{}", o.id, o.created_at_secs),
        None => NOT_VISIBLE.to_owned(),
    }
}

/// When the object was made, as `time()` shows times (UTC).
fn ctime(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    match thing(ev, &args[0]).and_then(|id| world(ev).get(id)) {
        Some(o) => timefmt::ctime(o.created_at_secs),
        None => NOT_VISIBLE.to_owned(),
    }
}

fn csecs(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    match thing(ev, &args[0]).and_then(|id| world(ev).get(id)) {
        Some(o) => o.created_at_secs.to_string(),
        None => NOT_VISIBLE.to_owned(),
    }
}

/// `isdbref(#12)` or `isdbref(#12:<ctime>)`: whether it names an existing object.
fn isdbref(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let s = args[0].trim();
    let (dbref, ctime) = match s.split_once(':') {
        Some((d, c)) => (d, Some(c)),
        None => (s, None),
    };
    let found = dbref
        .starts_with('#')
        .then(|| dbref.parse::<ObjectId>().ok())
        .flatten()
        .and_then(|id| world(ev).get(id))
        .is_some_and(|o| ctime.is_none_or(|c| c.parse::<i64>().ok() == Some(o.created_at_secs)));
    bool_str(found)
}

// ---------------------------------------------------------------------------------------------
// Players.

/// `pmatch(name)`: a player by dbref or full name, else by the start of an online player's name
/// (`#-2` when several match).
fn pmatch(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let world = world(ev);
    let what = args[0].trim();
    let what = what.strip_prefix('*').unwrap_or(what);
    if what.starts_with('#') {
        return match what.parse::<ObjectId>().ok().and_then(|id| world.get(id)) {
            Some(o) if o.kind == ObjectKind::Player => o.id.to_string(),
            _ => NOTHING.to_owned(),
        };
    }
    if let Some(p) = world.player_by_name(what) {
        return p.id.to_string();
    }
    if what.is_empty() {
        return NOTHING.to_owned();
    }
    let lower = what.to_lowercase();
    let matches: Vec<ObjectId> = online_players(ev)
        .into_iter()
        .filter(|id| {
            world
                .get(*id)
                .is_some_and(|o| o.name.to_lowercase().starts_with(&lower))
        })
        .collect();
    match matches.as_slice() {
        [one] => one.to_string(),
        [] => NOTHING.to_owned(),
        _ => "#-2".to_owned(),
    }
}

/// Logged-in players, most recently connected first, each once.
fn online_players(ev: &Evaluator<'_>) -> Vec<ObjectId> {
    let mut conns: Vec<_> = ev
        .game
        .connections()
        .filter_map(|c| c.player.map(|p| (c.connected_at, p)))
        .collect();
    conns.sort_by_key(|c| std::cmp::Reverse(c.0));
    let mut seen = Vec::new();
    for (_, p) in conns {
        if !seen.contains(&p) {
            seen.push(p);
        }
    }
    seen
}

fn lwho(ev: &mut Evaluator<'_>, _: &[String]) -> String {
    dbrefs(online_players(ev), " ")
}

fn nwho(ev: &mut Evaluator<'_>, _: &[String]) -> String {
    online_players(ev).len().to_string()
}

// ---------------------------------------------------------------------------------------------
// Attributes.

/// `obj/attr` (or just `attr`, on the executor): the object and the upper-case attribute name.
pub fn object_attribute(ev: &Evaluator<'_>, spec: &str) -> Result<(ObjectId, String), &'static str> {
    match spec.split_once('/') {
        Some((obj, attr)) => Ok((locate(ev, obj)?, attr.trim().to_ascii_uppercase())),
        None => Ok((ev.executor, spec.trim().to_ascii_uppercase())),
    }
}

/// Whether `who` may read attribute `attr` of `on`, found on `holder` (`on` or a parent): not
/// when the attribute is WIZARD (wizards aside) or MORTAL_DARK (those who see all aside);
/// otherwise when it is VISUAL or `who` may examine the object.
pub fn can_read(world: &World, who: ObjectId, on: ObjectId, holder: &Object, attr: &str) -> bool {
    let has = |f: &str| holder.attribute_flags.get(attr).is_some_and(|s| s.contains(f));
    if has("WIZARD") && !perms::is_wizard(world, who) {
        return false;
    }
    if has("MORTAL_DARK") && !perms::sees_all(world, who) {
        return false;
    }
    has("VISUAL") || perms::can_examine(world, who, on) || perms::can_read_attribute(world, who, holder, attr)
}

/// The text of attribute `attr` of `id` (or a parent) as the executor may read it: `Ok(None)`
/// when there is none, `Err` when the executor may not read it.
pub fn read_attribute(ev: &Evaluator<'_>, id: ObjectId, attr: &str) -> Result<Option<String>, &'static str> {
    let world = &ev.game.world;
    let Some((text, holder)) = world.attribute(id, attr) else {
        return Ok(None);
    };
    let holder = world.get(holder).expect("found on it");
    if can_read(world, ev.executor, id, holder, attr) {
        Ok(Some(text.to_owned()))
    } else {
        Err(NO_ATTR_PERMISSION)
    }
}

/// PennMUSH's `get()` of one attribute: its text, "" when there is none and the executor may
/// examine the object, a permission error otherwise.
fn get_text(ev: &Evaluator<'_>, id: ObjectId, attr: &str) -> String {
    match read_attribute(ev, id, attr) {
        Ok(Some(text)) => text,
        Ok(None) if perms::can_examine(world(ev), ev.executor, id) => String::new(),
        Ok(None) => NO_ATTR_PERMISSION.to_owned(),
        Err(e) => e.to_owned(),
    }
}

/// `get(obj/attr)`: the attribute's text, unevaluated.
fn get(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let Some((obj, attr)) = args[0].split_once('/') else {
        return "#-1 BAD ARGUMENT FORMAT TO GET".to_owned();
    };
    match thing(ev, obj) {
        Some(id) => get_text(ev, id, &attr.trim().to_ascii_uppercase()),
        None => NOT_VISIBLE.to_owned(),
    }
}

/// `xget(obj, attr)`: `get()` with the two apart.
fn xget(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    match thing(ev, &args[0]) {
        Some(id) => get_text(ev, id, &args[1].trim().to_ascii_uppercase()),
        None => NOT_VISIBLE.to_owned(),
    }
}

/// `v(x)`: `%0`-`%9` (and up to 29), `%#`, `%@`, `%!`, `%n`, `%l`, or an attribute of the
/// executor.
fn v(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let what = args[0].trim();
    let mut chars = what.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        match c {
            '#' => return ev.enactor.to_string(),
            '@' => return ev.caller.to_string(),
            '!' => return ev.executor.to_string(),
            'n' | 'N' => return world(ev).name_of(ev.enactor),
            'l' | 'L' => return dbref_or_nothing(world(ev).get(ev.enactor).and_then(|o| o.location)),
            'c' | 'C' => return String::new(),
            _ => {}
        }
    }
    let is_int = {
        let digits = what.strip_prefix(['-', '+']).unwrap_or(what);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    if is_int {
        return match what.parse::<i64>() {
            Ok(n) if (0..MAX_UFUN_ARGS as i64).contains(&n) => {
                ev.args.get(n as usize).cloned().unwrap_or_default()
            }
            _ => "#-1 OUT OF RANGE".to_owned(),
        };
    }
    get_text(ev, ev.executor, &what.to_ascii_uppercase())
}

/// Runs `obj/attr` (or `attr` on the executor) as a user function with `args` (`u()`, and what
/// `map()`, `filter()`, `fold()`, `sortby()` call): the attribute's code runs as its object, with
/// the caller's registers. An attribute that does not exist gives "".
pub fn call_ufun(ev: &mut Evaluator<'_>, spec: &str, mut args: Vec<String>) -> String {
    let Ok((id, attr)) = object_attribute(ev, spec) else {
        return INVALID_OBJECT.to_owned();
    };
    args.truncate(MAX_UFUN_ARGS);
    match read_attribute(ev, id, &attr) {
        Ok(Some(code)) => ev.call_code(id, &code, args),
        Ok(None) => String::new(),
        Err(e) => e.to_owned(),
    }
}

/// `u(obj/attr, args...)`, also `ufun()`.
fn ufun(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    call_ufun(ev, &args[0], args[1..].to_vec())
}

/// `ulocal()`: `u()` with the registers saved before and restored after.
fn ulocal(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let saved = ev.registers.clone();
    let out = call_ufun(ev, &args[0], args[1..].to_vec());
    ev.registers = saved;
    out
}

/// The code of `obj/attr` if it exists and the executor may read it (for `default()` and
/// `udefault()`, which fall back on anything else).
fn readable_code(ev: &Evaluator<'_>, spec: &str) -> Option<(ObjectId, String)> {
    let (id, attr) = object_attribute(ev, spec).ok()?;
    let code = read_attribute(ev, id, &attr).ok()??;
    Some((id, code))
}

/// `default(obj/attr, ..., default)`: the first of the attributes that exists and may be read,
/// unevaluated; else the default, evaluated (only then).
fn default(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    let (last, specs) = raw.split_last().expect("at least two");
    for spec in specs {
        let spec = ev.eval_arg(spec);
        if let Some((_, text)) = readable_code(ev, &spec) {
            return text;
        }
    }
    ev.eval_arg(last)
}

/// Evaluates `text` as `thing`, with the executor as enactor and the arguments unchanged (what
/// `eval()` and `edefault()` do).
fn eval_as(ev: &mut Evaluator<'_>, thing: ObjectId, text: &str) -> String {
    let args = ev.args.clone();
    let saved_enactor = std::mem::replace(&mut ev.enactor, ev.executor);
    let out = ev.call_code(thing, text, args);
    ev.enactor = saved_enactor;
    out
}

/// `edefault(obj/attr, default)`: the attribute evaluated as its object, or the default.
fn edefault(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    let spec = ev.eval_arg(raw[0]);
    match readable_code(ev, &spec) {
        Some((id, code)) => eval_as(ev, id, &code),
        None => ev.eval_arg(raw[1]),
    }
}

fn eval_attribute(ev: &mut Evaluator<'_>, obj: &str, attr: &str) -> String {
    let Some(id) = thing(ev, obj) else {
        return NOT_VISIBLE.to_owned();
    };
    match read_attribute(ev, id, &attr.trim().to_ascii_uppercase()) {
        Ok(Some(code)) => eval_as(ev, id, &code),
        Ok(None) if perms::can_examine(world(ev), ev.executor, id) => String::new(),
        Ok(None) => NO_ATTR_PERMISSION.to_owned(),
        Err(e) => e.to_owned(),
    }
}

/// `eval(obj, attr)`: the attribute evaluated as its object, the executor as enactor.
fn eval(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    eval_attribute(ev, &args[0], &args[1])
}

fn get_eval(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    match args[0].split_once('/') {
        Some((obj, attr)) => eval_attribute(ev, obj, attr),
        None => "#-1 BAD ARGUMENT FORMAT TO GET_EVAL".to_owned(),
    }
}

/// `udefault(obj/attr, default, args...)`: `u()` if the attribute exists and may be read, else
/// the default; only the branch taken is evaluated.
fn udefault(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    let spec = ev.eval_arg(raw[0]);
    match readable_code(ev, &spec) {
        Some((id, code)) => {
            let args: Vec<String> = raw[2..]
                .iter()
                .take(MAX_UFUN_ARGS)
                .map(|a| ev.eval_arg(a))
                .collect();
            ev.call_code(id, &code, args)
        }
        None => ev.eval_arg(raw[1]),
    }
}

/// `uldefault()`: `udefault()` with the registers saved and restored.
fn uldefault(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    let saved = ev.registers.clone();
    let out = udefault(ev, raw);
    ev.registers = saved;
    out
}

/// The hasattr family: `obj, attr` or `obj/attr`; with parents or not; present or non-empty.
fn has_attribute(ev: &Evaluator<'_>, args: &[String], called: &str, parents: bool, value: bool) -> String {
    let (obj, attr) = if args.len() == 1 {
        match args[0].split_once('/') {
            Some(pair) => pair,
            None => return format!("#-1 BAD ARGUMENT FORMAT TO {called}"),
        }
    } else {
        (args[0].as_str(), args[1].as_str())
    };
    let world = world(ev);
    let Some(o) = thing(ev, obj).and_then(|id| world.get(id)) else {
        return NOT_VISIBLE.to_owned();
    };
    let attr = attr.trim().to_ascii_uppercase();
    let found = if parents {
        world
            .attribute(o.id, &attr)
            .and_then(|(text, holder)| world.get(holder).map(|h| (text, h)))
    } else {
        o.attributes.get(&attr).map(|text| (text.as_str(), o))
    };
    match found {
        Some((text, holder)) if can_read(world, ev.executor, o.id, holder, &attr) => {
            bool_str(!value || !(text.is_empty() || text == " "))
        }
        Some(_) => NO_PERMISSION.to_owned(),
        None if !perms::can_examine(world, ev.executor, o.id) => NO_PERMISSION.to_owned(),
        None => bool_str(false),
    }
}

fn hasattr(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    has_attribute(ev, args, "HASATTR", false, false)
}

fn hasattrp(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    has_attribute(ev, args, "HASATTRP", true, false)
}

fn hasattrval(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    has_attribute(ev, args, "HASATTRVAL", false, true)
}

fn hasattrpval(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    has_attribute(ev, args, "HASATTRPVAL", true, true)
}

/// The names of the attributes of `obj[/pattern]` the executor may read, matching the wildcard
/// pattern (`*` when absent), sorted; with `parents`, then those inherited, nearest parent first.
fn attribute_names(ev: &Evaluator<'_>, spec: &str, parents: bool) -> Result<Vec<String>, &'static str> {
    let (obj, pattern) = match spec.split_once('/') {
        Some((o, p)) if !p.trim().is_empty() => (o, p.trim()),
        Some((o, _)) => (o, "*"),
        None => (spec, "*"),
    };
    let pattern = if pattern == "**" { "*" } else { pattern };
    let world = world(ev);
    let o = thing(ev, obj).and_then(|id| world.get(id)).ok_or(NOT_VISIBLE)?;
    let mut names: Vec<String> = Vec::new();
    let mut holder = Some(o);
    for _ in 0..=MAX_PARENT_DEPTH {
        let Some(h) = holder else { break };
        for name in h.attributes.keys() {
            if crate::game::wild::matches(pattern, name)
                && !names.contains(name)
                && can_read(world, ev.executor, o.id, h, name)
                && (h.id == o.id || !o.attributes.contains_key(name))
            {
                names.push(name.clone());
            }
        }
        if !parents {
            break;
        }
        holder = h.parent.and_then(|p| world.get(p)).filter(|p| p.id != o.id);
    }
    Ok(names)
}

/// The output separator of `lattr()`: one character, a space when absent.
fn separator(args: &[String], i: usize) -> Result<&str, String> {
    match args.get(i).map(String::as_str) {
        None | Some("") => Ok(" "),
        Some(s) if s.chars().count() == 1 => Ok(s),
        Some(_) => Err("#-1 SEPARATOR MUST BE ONE CHARACTER".to_owned()),
    }
}

fn list_attributes(ev: &Evaluator<'_>, args: &[String], parents: bool) -> String {
    let sep = match separator(args, 1) {
        Ok(s) => s,
        Err(e) => return e,
    };
    match attribute_names(ev, &args[0], parents) {
        Ok(names) => names.join(sep),
        Err(e) => e.to_owned(),
    }
}

fn lattr(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    list_attributes(ev, args, false)
}

fn lattrp(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    list_attributes(ev, args, true)
}

fn nattr(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    match attribute_names(ev, &args[0], false) {
        Ok(names) => names.len().to_string(),
        Err(e) => e.to_owned(),
    }
}

fn nattrp(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    match attribute_names(ev, &args[0], true) {
        Ok(names) => names.len().to_string(),
        Err(e) => e.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Flags.

use flags::kinds::{ANY, EXIT as E, PLAYER as P, ROOM as R, THING as T};
use flags::{ATTRIBUTE_FLAGS, FLAGS, Flag, Seen, kind_bit as type_bit};

/// Other names flags answer to.
static FLAG_ALIASES: &[(&str, &str)] = &[
    ("INHERIT", "TRUST"),
    ("TRACE", "DEBUG"),
    ("NOWARN", "NO_WARN"),
    ("NOCOMMAND", "NO_COMMAND"),
    ("LISTENER", "MONITOR"),
    ("WATCHER", "MONITOR"),
    ("ZONE", "SHARED"),
    ("COLOUR", "COLOR"),
    ("JURYOK", "JURY_OK"),
    ("VACATION", "ON-VACATION"),
    ("DEST_OK", "DESTROY_OK"),
    ("NOLEAVE", "NO_LEAVE"),
    ("TEL_OK", "JUMP_OK"),
    ("TELOK", "JUMP_OK"),
    ("TEL-OK", "JUMP_OK"),
];

fn type_letter(kind: ObjectKind) -> char {
    match kind {
        ObjectKind::Player => 'P',
        ObjectKind::Thing => 'T',
        ObjectKind::Room => 'R',
        ObjectKind::Exit => 'E',
    }
}

/// The flag with this letter that applies to `o`'s kind; failing that (the game lets some flags
/// be set on more kinds than PennMUSH does, `JUMP_OK` on a thing, say), one with the letter that
/// `o` has.
fn flag_by_letter(letter: char, o: &Object) -> Option<&'static Flag> {
    let with_letter = || FLAGS.iter().filter(move |f| f.letter == Some(letter));
    with_letter()
        .find(|f| f.kinds & type_bit(o.kind) != 0)
        .or_else(|| with_letter().find(|f| o.flags.contains(f.name)))
}

/// The flag called `name`: exactly, by alias, by a unique prefix, or (one character) by letter.
fn flag_by_name(name: &str, o: &Object) -> Option<&'static Flag> {
    let upper = name.trim().to_ascii_uppercase();
    if upper.is_empty() {
        return None;
    }
    let by_exact = |n: &str| FLAGS.iter().find(|f| f.name == n);
    if let Some(f) = by_exact(&upper) {
        return Some(f);
    }
    if let Some((_, real)) = FLAG_ALIASES.iter().find(|(alias, _)| *alias == upper) {
        return by_exact(real);
    }
    if upper.chars().count() == 1 {
        return flag_by_letter(name.trim().chars().next()?, o);
    }
    let mut prefixed = FLAGS.iter().filter(|f| f.name.starts_with(&upper));
    match (prefixed.next(), prefixed.next()) {
        (Some(f), None) => Some(f),
        _ => None,
    }
}

/// PennMUSH's `Can_See_Flag`.
fn sees_flag(world: &World, viewer: ObjectId, target: ObjectId, f: &Flag) -> bool {
    match f.seen {
        Seen::Everyone => true,
        Seen::Admins => perms::sees_all(world, viewer),
        Seen::Owner => {
            perms::owner_of(world, viewer) == perms::owner_of(world, target) || perms::sees_all(world, viewer)
        }
    }
}

/// Whether `o` has flag `f` and `viewer` may see it.
fn has_seen_flag(world: &World, viewer: ObjectId, o: &Object, f: &Flag) -> bool {
    o.flags.contains(f.name) && sees_flag(world, viewer, o.id, f)
}

/// The flags of `o` `viewer` may see, as (name, letter), in PennMUSH's order; flags the table
/// does not know come last, by name, without a letter.
fn shown_flags(world: &World, viewer: ObjectId, o: &Object) -> Vec<(String, Option<char>)> {
    let mut out: Vec<(String, Option<char>)> = FLAGS
        .iter()
        .filter(|f| has_seen_flag(world, viewer, o, f))
        .map(|f| (f.name.to_owned(), f.letter))
        .collect();
    for name in &o.flags {
        if !FLAGS.iter().any(|f| f.name == name) {
            out.push((name.clone(), None));
        }
    }
    out
}

/// The flags of attribute `obj/attr` (on the object itself) if the executor may read it.
fn attribute_flag_names(
    ev: &Evaluator<'_>,
    obj: &str,
    attr: &str,
) -> Option<Vec<&'static flags::AttributeFlag>> {
    let world = world(ev);
    let o = thing(ev, obj).and_then(|id| world.get(id))?;
    let attr = attr.trim().to_ascii_uppercase();
    if !o.attributes.contains_key(&attr) || !can_read(world, ev.executor, o.id, o, &attr) {
        return None;
    }
    let set = o.attribute_flags.get(&attr);
    Some(
        ATTRIBUTE_FLAGS
            .iter()
            .filter(|f| set.is_some_and(|s| s.contains(f.name)))
            .collect(),
    )
}

/// `flags(obj)`: the type letter and the letters of its flags; `flags(obj/attr)`: the
/// attribute's flag letters; `flags()`: every flag letter.
fn flags(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let Some(arg) = args.first() else {
        return FLAGS.iter().filter_map(|f| f.letter).collect();
    };
    if let Some((obj, attr)) = arg.split_once('/') {
        return match attribute_flag_names(ev, obj, attr) {
            Some(set) => set.iter().map(|f| f.letter).collect(),
            None => NOTHING.to_owned(),
        };
    }
    let world = world(ev);
    match thing(ev, arg).and_then(|id| world.get(id)) {
        Some(o) => std::iter::once(type_letter(o.kind))
            .chain(
                shown_flags(world, ev.executor, o)
                    .into_iter()
                    .filter_map(|(_, l)| l),
            )
            .collect(),
        None => NOT_VISIBLE.to_owned(),
    }
}

/// `lflags(obj)`: the names of its flags; `lflags(obj/attr)`: the attribute's; `lflags()`: all.
fn lflags(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let Some(arg) = args.first() else {
        return FLAGS.iter().map(|f| f.name).collect::<Vec<_>>().join(" ");
    };
    if let Some((obj, attr)) = arg.split_once('/') {
        return match attribute_flag_names(ev, obj, attr) {
            Some(set) => set.iter().map(|f| f.name).collect::<Vec<_>>().join(" "),
            None => NOTHING.to_owned(),
        };
    }
    let world = world(ev);
    match thing(ev, arg).and_then(|id| world.get(id)) {
        Some(o) => shown_flags(world, ev.executor, o)
            .into_iter()
            .map(|(n, _)| n)
            .collect::<Vec<_>>()
            .join(" "),
        None => NOT_VISIBLE.to_owned(),
    }
}

/// `hasflag(obj, flag)` by name or letter; `hasflag(obj/attr, flag)` for attribute flags.
fn hasflag(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let world = world(ev);
    if let Some((obj, attr)) = args[0].split_once('/') {
        let wanted = args[1].trim().to_ascii_uppercase();
        let Some(flag) = ATTRIBUTE_FLAGS
            .iter()
            .find(|f| f.name == wanted || (wanted.len() == 1 && args[1].trim().starts_with(f.letter)))
        else {
            return NOTHING.to_owned();
        };
        let attr = attr.trim().to_ascii_uppercase();
        return match thing(ev, obj).and_then(|id| world.get(id)) {
            Some(o) if o.attributes.contains_key(&attr) => bool_str(
                o.attribute_flags
                    .get(&attr)
                    .is_some_and(|s| s.contains(flag.name)),
            ),
            _ => NOTHING.to_owned(),
        };
    }
    match thing(ev, &args[0]).and_then(|id| world.get(id)) {
        Some(o) => {
            bool_str(flag_by_name(&args[1], o).is_some_and(|f| has_seen_flag(world, ev.executor, o, f)))
        }
        None => NOT_VISIBLE.to_owned(),
    }
}

/// One test of `andflags()`/`orflags()` and friends: `Some(has)` or `None` for no such flag.
/// The type names and letters count as flags there, as in PennMUSH.
fn flag_test(world: &World, viewer: ObjectId, o: &Object, name: &str, letters: bool) -> Option<bool> {
    if letters {
        let c = name.chars().next()?;
        if let Some(f) = flag_by_letter(c, o) {
            return Some(has_seen_flag(world, viewer, o, f));
        }
        return match c {
            'P' => Some(o.kind == ObjectKind::Player),
            'T' => Some(o.kind == ObjectKind::Thing),
            'R' => Some(o.kind == ObjectKind::Room),
            'E' => Some(o.kind == ObjectKind::Exit),
            _ => None,
        };
    }
    match name.to_ascii_uppercase().as_str() {
        "PLAYER" => return Some(o.kind == ObjectKind::Player),
        "THING" => return Some(o.kind == ObjectKind::Thing),
        "ROOM" => return Some(o.kind == ObjectKind::Room),
        "EXIT" => return Some(o.kind == ObjectKind::Exit),
        _ => {}
    }
    flag_by_name(name, o).map(|f| has_seen_flag(world, viewer, o, f))
}

/// The four flag-list tests: letters (`WD!A`) or names (`wizard !dark`), all or any.
fn flag_list(ev: &Evaluator<'_>, args: &[String], letters: bool, all: bool) -> String {
    let world = world(ev);
    let Some(o) = thing(ev, &args[0]).and_then(|id| world.get(id)) else {
        return bool_str(false);
    };
    let tests: Vec<String> = if letters {
        let mut out = Vec::new();
        let mut chars = args[1].chars();
        while let Some(c) = chars.next() {
            if c == '!' {
                match chars.next() {
                    Some(n) => out.push(format!("!{n}")),
                    None => return "#-1 INVALID FLAG".to_owned(),
                }
            } else {
                out.push(c.to_string());
            }
        }
        out
    } else {
        args[1]
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let mut any = false;
    let mut every = true;
    for test in &tests {
        let (negate, name) = match test.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, test.as_str()),
        };
        if name.is_empty() {
            return "#-1 INVALID FLAG".to_owned();
        }
        let Some(has) = flag_test(world, ev.executor, o, name, letters) else {
            return "#-1 INVALID FLAG".to_owned();
        };
        let ok = has != negate;
        any |= ok;
        every &= ok;
    }
    bool_str(if all { every } else { any })
}

fn andflags(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    flag_list(ev, args, true, true)
}

fn orflags(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    flag_list(ev, args, true, false)
}

fn andlflags(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    flag_list(ev, args, false, true)
}

fn orlflags(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    flag_list(ev, args, false, false)
}

// ---------------------------------------------------------------------------------------------
// Permissions and locks.

/// `controls(obj, victim[/attr])`: whether obj controls victim (or may set the attribute);
/// the executor must control one of them or see all.
fn controls(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let world = world(ev);
    let Some(who) = thing(ev, &args[0]) else {
        return "#-1 ARG1 NOT FOUND".to_owned();
    };
    let (victim, attr) = match args[1].split_once('/') {
        Some((v, a)) => (v, Some(a.trim().to_ascii_uppercase())),
        None => (args[1].as_str(), None),
    };
    let Some(victim) = thing(ev, victim) else {
        return "#-1 ARG2 NOT FOUND".to_owned();
    };
    let ex = ev.executor;
    if !(perms::controls(world, ex, who) || perms::controls(world, ex, victim) || perms::sees_all(world, ex))
    {
        return NO_PERMISSION.to_owned();
    }
    match attr {
        Some(a) if a.is_empty() || a.contains(char::is_whitespace) => "#-1 BAD ATTR NAME".to_owned(),
        Some(a) => bool_str(perms::can_write_attribute(world, who, victim, &a)),
        None => bool_str(perms::controls(world, who, victim)),
    }
}

/// `visible(obj, victim[/attr])`: whether obj may examine victim (or read the attribute).
fn visible(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let world = world(ev);
    let Some(who) = thing(ev, &args[0]) else {
        return NOT_VISIBLE.to_owned();
    };
    let (victim, attr) = match args[1].split_once('/') {
        Some((v, a)) => (v, Some(a.trim().to_ascii_uppercase())),
        None => (args[1].as_str(), None),
    };
    let Some(victim) = thing(ev, victim) else {
        return bool_str(false);
    };
    match attr {
        Some(a) => bool_str(
            world
                .attribute(victim, &a)
                .and_then(|(_, h)| world.get(h))
                .is_some_and(|h| can_read(world, who, victim, h, &a)),
        ),
        None => bool_str(perms::can_examine(world, who, victim)),
    }
}

/// The lock type named `name` (`Basic` when empty), as locks are stored.
fn lock_type_name(name: Option<&str>) -> String {
    let name = name.map(str::trim).unwrap_or("");
    let name = name
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("user:"))
        .map_or(name, |_| &name[5..]);
    if name.is_empty() {
        return "Basic".to_owned();
    }
    locks::lock_type(name).map_or_else(|| name.to_ascii_uppercase(), str::to_owned)
}

/// `elock(obj[/type], victim)`: whether victim passes obj's lock (Basic unless given); the
/// executor must be able to examine obj.
fn elock(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let world = world(ev);
    let victim = thing(ev, &args[1]);
    let (obj, kind) = match args[0].split_once('/') {
        Some((o, t)) => (o, Some(t)),
        None => (args[0].as_str(), None),
    };
    let it = thing(ev, obj);
    match (it, victim) {
        (Some(it), Some(victim)) if perms::can_examine(world, ev.executor, it) => {
            bool_str(locks::passes_lock(world, it, &lock_type_name(kind), victim))
        }
        _ => NOTHING.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// locate()

/// `locate(looker, name, params)`: what `name` means to `looker`. Types preferred: `P` `T` `R`
/// `E` (`F` to insist); where to look: `m` me, `h` here, `a` #dbrefs, `p` *player, `y` player
/// names, `i` inventory, `n` neighbours, `e` exits of the location, `c` exits of the looker,
/// `l` the location's name, `*` all; `x` exact names only, `X` the last of several matches
/// rather than `#-2`.
fn locate_fn(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let world = world(ev);
    let Some(looker) = thing(ev, &args[0]).and_then(|id| world.get(id)) else {
        return NOTHING.to_owned();
    };
    let name = args[1].trim();
    let mut types = 0u8;
    let (mut force, mut exact, mut last) = (false, false, false);
    let mut places = String::new();
    for c in args[2].chars() {
        match c {
            'P' => types |= P,
            'T' => types |= T,
            'R' => types |= R,
            'E' => types |= E,
            'N' | 'L' | ' ' => {}
            'F' => force = true,
            'x' => exact = true,
            'X' => last = true,
            's' if !perms::controls(world, ev.executor, looker.id) => return NOTHING.to_owned(),
            's' => {}
            other => places.push(other),
        }
    }
    if places.is_empty() || places.contains('*') {
        places = "mhapyinecl".to_owned();
    }
    let near_search = places.chars().any(|c| "ineclh".contains(c));
    let ex = ev.executor;
    if near_search
        && !(is_nearby(world, ex, looker.id)
            || perms::sees_all(world, ex)
            || perms::controls(world, ex, looker.id))
    {
        return NOTHING.to_owned();
    }
    let types = if types == 0 { ANY } else { types };
    let fits = |o: &Object| types & type_bit(o.kind) != 0;
    let here = looker.location.and_then(|l| world.get(l));
    let special = if places.contains('m') && name.eq_ignore_ascii_case("me") {
        Some(looker)
    } else if places.contains('h') && name.eq_ignore_ascii_case("here") {
        here
    } else if places.contains('a') && name.starts_with('#') {
        name.parse::<ObjectId>().ok().and_then(|id| world.get(id))
    } else if places.contains('p') && name.starts_with('*') {
        world.player_by_name(&name[1..])
    } else {
        None
    };
    if let Some(found) = special {
        return if force && !fits(found) {
            NOTHING.to_owned()
        } else {
            visible_result(ev, found)
        };
    }
    let mut candidates: Vec<&Object> = Vec::new();
    if places.contains('i') {
        candidates.extend(world.contents(looker.id));
    }
    if places.contains('c') {
        candidates.extend(world.exits(looker.id));
    }
    if let Some(room) = here {
        if places.contains('n') {
            candidates.extend(world.contents(room.id));
        }
        if places.contains('e') {
            candidates.extend(world.exits(room.id));
        }
        if places.contains('l') {
            candidates.push(room);
        }
    }
    if places.contains('y')
        && let Some(p) = world.player_by_name(name)
    {
        candidates.push(p);
    }
    let pick = |pool: Vec<&Object>| -> Found {
        if exact {
            let hits: Vec<ObjectId> = pool
                .iter()
                .filter(|o| {
                    if o.kind == ObjectKind::Exit {
                        o.is_called(name)
                    } else {
                        o.name.eq_ignore_ascii_case(name)
                    }
                })
                .map(|o| o.id)
                .collect();
            return match hits.as_slice() {
                [] => Found::Missing,
                [one] => Found::One(*one),
                _ if last => Found::One(*hits.last().expect("several")),
                _ => Found::Ambiguous,
            };
        }
        match matching::by_name(pool.iter().copied(), name) {
            Found::Ambiguous if last => pool
                .iter()
                .rev()
                .find(|o| o.name.to_lowercase().starts_with(&name.to_lowercase()))
                .map_or(Found::Missing, |o| Found::One(o.id)),
            other => other,
        }
    };
    let preferred: Vec<&Object> = candidates.iter().copied().filter(|o| fits(o)).collect();
    let found = match pick(preferred) {
        Found::Missing if !force => pick(candidates),
        other => other,
    };
    match found {
        Found::One(id) => visible_result(ev, world.get(id).expect("found")),
        Found::Ambiguous => "#-2".to_owned(),
        Found::Missing => NOTHING.to_owned(),
    }
}

/// What `locate()` answers for something found: it, unless it is DARK where the executor cannot
/// examine.
fn visible_result(ev: &Evaluator<'_>, found: &Object) -> String {
    let world = world(ev);
    let loc_examinable = found
        .location
        .is_some_and(|l| perms::can_examine(world, ev.executor, l));
    if loc_examinable
        || !dark_legal(world, found)
        || found.flags.contains("LIGHT")
        || perms::sees_all(world, ev.executor)
    {
        found.id.to_string()
    } else {
        NOTHING.to_owned()
    }
}

// ---------------------------------------------------------------------------------------------
// lsearch()

/// Whether `name` starts a word of `full` (PennMUSH's `string_match`), or matches it as a
/// wildcard pattern when it has `*` or `?`.
fn name_matches(full: &str, name: &str) -> bool {
    if name.contains(['*', '?']) {
        return crate::game::wild::matches(name, full);
    }
    if name.is_empty() {
        return true;
    }
    let lower = full.to_lowercase();
    let wanted = name.to_lowercase();
    let mut at = 0;
    while at < lower.len() {
        if lower[at..].starts_with(&wanted) {
            return true;
        }
        let rest = &lower[at..];
        let word_end = rest.find(|c: char| !c.is_alphanumeric()).unwrap_or(rest.len());
        let after = &rest[word_end..];
        let next_word = after.find(char::is_alphanumeric).unwrap_or(after.len());
        at += word_end + next_word;
        if word_end + next_word == 0 {
            break;
        }
    }
    false
}

fn kind_named(word: &str) -> Result<Option<ObjectKind>, ()> {
    match word.trim().to_ascii_lowercase().as_str() {
        "thing" | "things" | "object" | "objects" => Ok(Some(ObjectKind::Thing)),
        "room" | "rooms" => Ok(Some(ObjectKind::Room)),
        "exit" | "exits" => Ok(Some(ObjectKind::Exit)),
        "player" | "players" => Ok(Some(ObjectKind::Player)),
        "garbage" => Ok(None),
        _ => Err(()),
    }
}

/// The objects `lsearch(player, class, restriction, ...)` finds: by owner (`all`, `me` or a
/// player), then every class: `type`, `name`, `things`/`rooms`/`exits`/`players` (type and name),
/// `parent`, `flags`, `lflags`, `elock`, `mindb`, `maxdb`, `start`, `count`, `none`, or two
/// numbers for a dbref range. Those not searching their own objects see only what they may
/// examine (players aside, when searching for players). At most 1000 results.
fn search(ev: &Evaluator<'_>, args: &[String]) -> Result<Vec<ObjectId>, String> {
    let world = world(ev);
    let ex = ev.executor;
    let who = args[0].trim();
    let owner = if who.is_empty() || who.eq_ignore_ascii_case("all") {
        None
    } else if who.eq_ignore_ascii_case("me") {
        Some(perms::owner_of(world, ex))
    } else {
        Some(matching::player(world, ex, who).ok_or("#-1 NO SUCH PLAYER")?)
    };
    let mut kind: Option<Option<ObjectKind>> = None;
    let mut name: Option<String> = None;
    let mut parent: Option<ObjectId> = None;
    let mut flag_letters: Option<String> = None;
    let mut flag_names: Option<String> = None;
    let mut key: Option<String> = None;
    let (mut min, mut max) = (0u64, u64::MAX);
    let (mut start, mut count) = (1usize, MAX_SEARCH);
    let rest = &args[1..];
    if rest.len() % 2 == 1 {
        return Err("#-1 INVALID SEARCH ARGUMENTS".to_owned());
    }
    let dbref_number = |s: &str| s.trim().trim_start_matches('#').parse::<u64>().ok();
    for pair in rest.chunks(2) {
        let (class, value) = (pair[0].trim(), pair[1].trim());
        if let (Some(a), Some(b)) = (dbref_number(class), dbref_number(value))
            && class.bytes().all(|b| b.is_ascii_digit() || b == b'#')
        {
            (min, max) = (a, b);
            continue;
        }
        match class.to_ascii_lowercase().as_str() {
            "none" => {}
            "type" => kind = Some(kind_named(value).map_err(|_| "#-1 INVALID TYPE".to_owned())?),
            "name" => name = Some(value.to_owned()),
            "things" | "objects" | "rooms" | "exits" | "players" => {
                kind = Some(kind_named(class).expect("a type"));
                name = Some(value.to_owned());
            }
            "parent" => {
                parent = Some(
                    value
                        .parse::<ObjectId>()
                        .map_err(|_| "#-1 INVALID PARENT".to_owned())?,
                )
            }
            "flags" => flag_letters = Some(value.to_owned()),
            "lflags" => flag_names = Some(value.to_owned()),
            "elock" => {
                locks::parse(value).map_err(|_| "#-1 INVALID BOOLEXP".to_owned())?;
                key = Some(value.to_owned());
            }
            "mindb" => min = dbref_number(value).ok_or("#-1 ARGUMENT MUST BE INTEGER")?,
            "maxdb" => max = dbref_number(value).ok_or("#-1 ARGUMENT MUST BE INTEGER")?,
            "start" => {
                start = value
                    .parse::<usize>()
                    .map_err(|_| "#-1 ARGUMENT MUST BE INTEGER")?
                    .max(1)
            }
            "count" => {
                count = value
                    .parse::<usize>()
                    .map_err(|_| "#-1 ARGUMENT MUST BE INTEGER")?
                    .min(MAX_SEARCH)
            }
            _ => return Err("#-1 INVALID SEARCH CLASS".to_owned()),
        }
    }
    let own_search = owner == Some(perms::owner_of(world, ex));
    let players_only = kind == Some(Some(ObjectKind::Player));
    let mut found = Vec::new();
    let mut matched = 0usize;
    for o in world.objects() {
        if o.id.0 < min || o.id.0 > max {
            continue;
        }
        if owner.is_some_and(|w| perms::owner_of(world, o.id) != w) {
            continue;
        }
        if let Some(k) = kind
            && k != Some(o.kind)
        {
            continue;
        }
        if name
            .as_deref()
            .is_some_and(|n| !name_matches(o.display_name(), n))
        {
            continue;
        }
        if parent.is_some() && o.parent != parent {
            continue;
        }
        let flags_ok = |letters: bool, spec: &Option<String>| {
            spec.as_ref().is_none_or(|s| {
                let args = [o.id.to_string(), s.clone()];
                flag_list(ev, &args, letters, true) == "1"
            })
        };
        if !flags_ok(true, &flag_letters) || !flags_ok(false, &flag_names) {
            continue;
        }
        if !(own_search || players_only || perms::can_examine(world, ex, o.id)) {
            continue;
        }
        if key
            .as_deref()
            .is_some_and(|k| !locks::passes(world, Some(k), "Search", o.id))
        {
            continue;
        }
        matched += 1;
        if matched < start {
            continue;
        }
        found.push(o.id);
        if found.len() >= count {
            break;
        }
    }
    Ok(found)
}

fn lsearch(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    match search(ev, args) {
        Ok(ids) => dbrefs(ids, " "),
        Err(e) => e,
    }
}

fn nlsearch(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    match search(ev, args) {
        Ok(ids) => ids.len().to_string(),
        Err(e) => e,
    }
}

/// `children(obj)`: what has it as parent (among what the executor may see).
fn children_of(ev: &Evaluator<'_>, obj: &str) -> Result<Vec<ObjectId>, String> {
    let Some(id) = thing(ev, obj) else {
        return Err(NOT_VISIBLE.to_owned());
    };
    let who = if perms::sees_all(world(ev), ev.executor) {
        "all"
    } else {
        "me"
    };
    search(ev, &[who.to_owned(), "parent".to_owned(), id.to_string()])
}

fn children(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    match children_of(ev, &args[0]) {
        Ok(ids) => dbrefs(ids, " "),
        Err(e) => e,
    }
}

fn nchildren(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    match children_of(ev, &args[0]) {
        Ok(ids) => ids.len().to_string(),
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::Game;
    use crate::game::WorldChange;
    use crate::game::budget::Fuel;
    use crate::game::softcode::conformance::fixture;

    fn think_as(game: &Game, who: u64, s: &str) -> String {
        let now = mush_protocol::Timestamp::from_micros(1_795_507_200 * 1_000_000);
        let mut fuel = Fuel::unlimited_time(100_000);
        Evaluator::new(game, now, &mut fuel, ObjectId(who), ObjectId(who)).eval(s)
    }

    fn alice(game: &Game, s: &str) -> String {
        think_as(game, 2, s)
    }

    /// The fixture with `change` made to object `id`.
    fn with(id: u64, change: impl FnOnce(&mut Object)) -> Game {
        let mut game = fixture();
        let mut o = game.world.get(ObjectId(id)).unwrap().clone();
        change(&mut o);
        game.world.apply(&WorldChange::Put(o));
        game
    }

    #[test]
    fn numbers_names_and_types() {
        let g = fixture();
        assert_eq!(alice(&g, "num(me)"), "#2");
        assert_eq!(alice(&g, "num(rose)"), "#4");
        assert_eq!(alice(&g, "num(*bob)"), "#3");
        assert_eq!(alice(&g, "num(n)"), "#5");
        assert_eq!(alice(&g, "num(nobody)"), "#-1");
        assert_eq!(alice(&g, "fullname(#5)"), "North;n");
        assert_eq!(alice(&g, "fullname(#99)"), NOT_VISIBLE);
        assert_eq!(
            alice(&g, "[type(me)] [type(#4)] [type(#5)] [type(here)]"),
            "PLAYER THING EXIT ROOM"
        );
        assert_eq!(alice(&g, "type(#99)"), NOT_VISIBLE);
        assert_eq!(alice(&g, "hastype(#4, player thing)"), "1");
        assert_eq!(alice(&g, "hastype(#4, player exit)"), "0");
        assert_eq!(alice(&g, "hastype(#4, bogus)"), "#-1 NO SUCH TYPE");
        assert_eq!(
            alice(&g, "[owner(#4)] [owner(#7)] [owner(me)] [owner(here)]"),
            "#2 #3 #2 #1"
        );
        assert_eq!(alice(&g, "owner(#4/COLOR)"), "#2");
        assert_eq!(alice(&g, "owner(#7/SECRET)"), "#-1");
        assert_eq!(alice(&g, "objid(me)"), "#2:1700000000");
        assert_eq!(alice(&g, "csecs(#4)"), "1700000000");
        assert_eq!(alice(&g, "ctime(#4)"), "Tue Nov 14 22:13:20 2023");
        assert_eq!(
            alice(&g, "[isdbref(#4)][isdbref(#99)][isdbref(4)][isdbref(#-1)]"),
            "1000"
        );
        assert_eq!(alice(&g, "[isdbref(#4:1700000000)][isdbref(#4:5)]"), "10");
    }

    #[test]
    fn locations_follow_pennmush_and_who_may_locate() {
        let g = fixture();
        assert_eq!(alice(&g, "loc(me)"), "#0");
        assert_eq!(alice(&g, "loc(#4)"), "#0");
        assert_eq!(alice(&g, "loc(#8)"), "#2");
        assert_eq!(alice(&g, "loc(#7)"), "#-1", "Bob's box, carried by Bob");
        assert_eq!(think_as(&g, 3, "loc(#7)"), "#3");
        assert_eq!(alice(&g, "loc(*bob)"), "#0");
        assert_eq!(alice(&g, "loc(here)"), "#-1", "a room's drop-to");
        assert_eq!(think_as(&g, 1, "loc(#5)"), "#6", "an exit's destination");
        assert_eq!(alice(&g, "loc(#5)"), "#-1");
        assert_eq!(think_as(&g, 1, "where(#5)"), "#0", "an exit's source");
        assert_eq!(alice(&g, "where(here)"), "#-1");
        assert_eq!(alice(&g, "where(me)"), "#0");
        assert_eq!(alice(&g, "room(#8)"), "#0");
        assert_eq!(alice(&g, "room(#7)"), NO_PERMISSION);
        assert_eq!(think_as(&g, 3, "room(#7)"), "#0");
        assert_eq!(
            alice(&g, "[rloc(#8,0)] [rloc(#8,1)] [rloc(#8,2)] [rloc(#8,5)]"),
            "#8 #2 #0 #0"
        );
        assert_eq!(alice(&g, "[home(me)] [home(#4)]"), "#0 #0");
        assert_eq!(alice(&g, "home(*bob)"), NO_PERMISSION);
        assert_eq!(think_as(&g, 1, "home(#5)"), "#0");
        let hidden = with(3, |bob| {
            bob.flags.insert("UNFINDABLE".into());
            bob.location = Some(ObjectId(6));
        });
        assert_eq!(alice(&hidden, "loc(*bob)"), "#-1");
        assert_eq!(think_as(&hidden, 1, "loc(*bob)"), "#6");
        let away = with(3, |bob| bob.location = Some(ObjectId(6)));
        assert_eq!(alice(&away, "loc(*bob)"), "#6", "a findable player anywhere");
    }

    #[test]
    fn nearby_needs_control_or_nearness() {
        let g = fixture();
        assert_eq!(alice(&g, "nearby(me, #4)"), "1");
        assert_eq!(alice(&g, "nearby(me, #7)"), "0");
        assert_eq!(alice(&g, "nearby(*bob, #7)"), "1");
        assert_eq!(alice(&g, "nearby(#6, #7)"), "#-1 NO OBJECTS CONTROLLED");
        assert_eq!(alice(&g, "nearby(me, #99)"), "#-1");
    }

    #[test]
    fn contents_and_exits_as_the_executor_may_list_them() {
        let g = fixture();
        assert_eq!(alice(&g, "lcon(here)"), "#1 #2 #3 #4");
        assert_eq!(alice(&g, "lcon(me)"), "#8");
        assert_eq!(alice(&g, "lcon(*bob)"), "#-1");
        assert_eq!(think_as(&g, 3, "lcon(me)"), "#7");
        assert_eq!(alice(&g, "lcon(#6)"), "#-1");
        assert_eq!(think_as(&g, 1, "lcon(#6)"), "");
        assert_eq!(alice(&g, "lcon(#5)"), "#-1");
        assert_eq!(alice(&g, "lcon(here, player)"), "#1 #2 #3");
        assert_eq!(alice(&g, "lcon(here, thing)"), "#4");
        assert_eq!(alice(&g, "lcon(here, connect)"), "");
        assert_eq!(alice(&g, "lcon(here, bogus)"), "#-1");
        assert_eq!(alice(&g, "lplayers(here)"), "#1 #2 #3");
        assert_eq!(alice(&g, "lthings(here)"), "#4");
        assert_eq!(alice(&g, "lexits(here)"), "#5");
        assert_eq!(alice(&g, "lexits(me)"), "#-1");
        assert_eq!(alice(&g, "[con(here)] [con(me)] [exit(here)]"), "#1 #8 #5");
        assert_eq!(
            alice(&g, "[next(#1)] [next(#3)] [next(#4)] [next(#5)] [next(here)]"),
            "#2 #4 #-1 #-1 #-1"
        );
        let dark = with(4, |rose| {
            rose.owner = ObjectId(3);
            rose.flags.insert("DARK".into());
        });
        assert_eq!(alice(&dark, "lcon(here)"), "#1 #2 #3", "a DARK thing hides");
        assert_eq!(
            think_as(&dark, 3, "lcon(here)"),
            "#1 #2 #3 #4",
            "but not from its owner"
        );
        assert_eq!(think_as(&dark, 1, "lcon(here)"), "#1 #2 #3 #4");
    }

    #[test]
    fn get_reads_what_the_executor_may_read() {
        let g = fixture();
        assert_eq!(alice(&g, "get(#4/COLOR)"), "red");
        assert_eq!(alice(&g, "get(#4/double)"), "[mul(%0,2)]");
        assert_eq!(alice(&g, "get(#4/INHERITED)"), "from the parent");
        assert_eq!(alice(&g, "get(#4/NOPE)"), "");
        assert_eq!(alice(&g, "get(#7/SECRET)"), NO_ATTR_PERMISSION);
        assert_eq!(alice(&g, "get(#7/NOPE)"), NO_ATTR_PERMISSION);
        assert_eq!(think_as(&g, 3, "get(#7/SECRET)"), "hidden");
        assert_eq!(think_as(&g, 1, "get(#7/SECRET)"), "hidden");
        assert_eq!(alice(&g, "get(#4)"), "#-1 BAD ARGUMENT FORMAT TO GET");
        assert_eq!(alice(&g, "get(#99/X)"), NOT_VISIBLE);
        assert_eq!(alice(&g, "xget(#4, color)"), "red");
        assert_eq!(alice(&g, "get(me/sex)"), "female");
        let visual = with(7, |b| {
            b.attribute_flags
                .insert("SECRET".into(), ["VISUAL".to_owned()].into());
        });
        assert_eq!(alice(&visual, "get(#7/SECRET)"), "hidden");
    }

    #[test]
    fn v_gives_substitutions_arguments_and_own_attributes() {
        let g = fixture();
        assert_eq!(alice(&g, "v(sex)"), "female");
        assert_eq!(alice(&g, "v(#)|[v(!)]|[v(n)]|[v(l)]"), "#2|#2|Alice|#0");
        assert_eq!(alice(&g, "v(0)"), "");
        assert_eq!(alice(&g, "v(30)"), "#-1 OUT OF RANGE");
        let g = with(4, |rose| {
            rose.attributes
                .insert("ARGS".into(), "[v(0)]-[v(1)]-[v(!)]-[v(@)]".into());
        });
        assert_eq!(alice(&g, "u(#4/ARGS,a,b)"), "a-b-#4-#2");
    }

    #[test]
    fn ufun_runs_as_the_attribute_s_object() {
        let g = fixture();
        assert_eq!(alice(&g, "u(#4/DOUBLE,21)"), "42");
        assert_eq!(alice(&g, "ufun(#4/ADD,2,3)"), "5");
        assert_eq!(alice(&g, "u(#4/GREET,World)"), "Hello, World!");
        assert_eq!(alice(&g, "u(#4/NOPE)"), "");
        assert_eq!(alice(&g, "u(#7/SECRET)"), NO_ATTR_PERMISSION);
        assert_eq!(alice(&g, "u(#99/X)"), INVALID_OBJECT);
        let g = with(2, |a| {
            a.attributes.insert("WHO".into(), "%! %@ %#".into());
        });
        assert_eq!(alice(&g, "u(WHO)"), "#2 #2 #2");
    }

    #[test]
    fn ulocal_restores_the_registers() {
        let g = with(4, |rose| {
            rose.attributes.insert("SET".into(), "[setq(0,inside)]%q0".into());
        });
        assert_eq!(alice(&g, "[setq(0,outside)][u(#4/SET)]-%q0"), "inside-inside");
        assert_eq!(
            alice(&g, "[setq(0,outside)][ulocal(#4/SET)]-%q0"),
            "inside-outside"
        );
        assert_eq!(
            alice(&g, "[setq(0,outside)][uldefault(#4/SET,x)]-%q0"),
            "inside-outside"
        );
        let now = mush_protocol::Timestamp::from_micros(0);
        let mut fuel = Fuel::unlimited_time(10_000);
        let mut ev = Evaluator::new(&g, now, &mut fuel, ObjectId(2), ObjectId(2));
        ev.registers.set("a", "kept".into());
        let saved = ev.registers.clone();
        assert_eq!(ulocal(&mut ev, &["#4/SET".to_owned()]), "inside");
        assert_eq!(ev.registers, saved);
    }

    #[test]
    fn defaults_evaluate_only_the_branch_taken() {
        let g = fixture();
        assert_eq!(alice(&g, "default(#4/COLOR, none)"), "red");
        assert_eq!(alice(&g, "default(#4/NOPE, none)"), "none");
        assert_eq!(alice(&g, "default(#4/NOPE, [add(1,2)])"), "3");
        assert_eq!(alice(&g, "default(#7/SECRET, no)"), "no");
        assert_eq!(alice(&g, "default(me/nope, #4/color, none)"), "red");
        assert_eq!(
            alice(&g, "default(#4/COLOR, [nosuchfn()])"),
            "red",
            "the default is not evaluated"
        );
        assert_eq!(alice(&g, "edefault(#4/GREET, x)"), "Hello, !");
        assert_eq!(alice(&g, "edefault(#4/NOPE, [add(1,1)])"), "2");
        assert_eq!(alice(&g, "udefault(#4/DOUBLE, none, 5)"), "10");
        assert_eq!(alice(&g, "udefault(#4/NOPE, none, 5)"), "none");
        assert_eq!(alice(&g, "udefault(#4/DOUBLE, [nosuchfn()], 5)"), "10");
        assert_eq!(alice(&g, "uldefault(#4/ADD, none, 1, 2)"), "3");
        assert_eq!(alice(&g, "eval(#4, double)"), "0");
        assert_eq!(alice(&g, "get_eval(#4/COLOR)"), "red");
        assert_eq!(alice(&g, "eval(#7, secret)"), NO_ATTR_PERMISSION);
    }

    #[test]
    fn hasattr_and_friends() {
        let g = fixture();
        assert_eq!(
            alice(&g, "[hasattr(#4, color)][hasattr(#4/color)][hasattr(#4, nope)]"),
            "110"
        );
        assert_eq!(
            alice(&g, "[hasattr(#4, inherited)][hasattrp(#4, inherited)]"),
            "01"
        );
        assert_eq!(alice(&g, "hasattr(#7, secret)"), NO_PERMISSION);
        assert_eq!(alice(&g, "hasattr(#7, nope)"), NO_PERMISSION);
        assert_eq!(think_as(&g, 3, "hasattr(#7, secret)"), "1");
        assert_eq!(alice(&g, "hasattr(#4)"), "#-1 BAD ARGUMENT FORMAT TO HASATTR");
        assert_eq!(alice(&g, "hasattr(#99, x)"), NOT_VISIBLE);
        let g = with(4, |rose| {
            rose.attributes.insert("BLANK".into(), " ".into());
        });
        assert_eq!(
            alice(
                &g,
                "[hasattrval(#4, color)][hasattrval(#4, blank)][hasattr(#4, blank)]"
            ),
            "101"
        );
        assert_eq!(
            alice(&g, "[hasattrpval(#4, inherited)][hasattrval(#4, inherited)]"),
            "10"
        );
    }

    #[test]
    fn lattr_lists_sorted_names_matching_a_pattern() {
        let g = fixture();
        assert_eq!(alice(&g, "lattr(#4)"), "ADD CMD COLOR DOUBLE GREET ISODD LIST VA");
        assert_eq!(alice(&g, "lattr(#4/c*)"), "CMD COLOR");
        assert_eq!(alice(&g, "lattr(#4/*O*)"), "COLOR DOUBLE ISODD");
        assert_eq!(alice(&g, "lattr(#4/?A)"), "VA");
        assert_eq!(alice(&g, "lattr(#4/c*,|)"), "CMD|COLOR");
        assert_eq!(alice(&g, "lattr(#4,ab)"), "#-1 SEPARATOR MUST BE ONE CHARACTER");
        assert_eq!(alice(&g, "lattrp(#4/*E*)"), "DOUBLE GREET INHERITED");
        assert_eq!(alice(&g, "lattr(#7)"), "");
        assert_eq!(think_as(&g, 3, "lattr(#7)"), "SECRET");
        assert_eq!(alice(&g, "lattr(#99)"), NOT_VISIBLE);
        assert_eq!(
            alice(&g, "[nattr(#4)] [nattrp(#4)] [nattr(#7)] [attrcnt(#4/c*)]"),
            "8 9 0 2"
        );
    }

    #[test]
    fn flags_by_letter_and_name() {
        let g = with(4, |rose| {
            rose.flags.insert("PUPPET".into());
            rose.flags.insert("NO_COMMAND".into());
            rose.attribute_flags.insert(
                "COLOR".into(),
                ["VISUAL".to_owned(), "NO_COMMAND".to_owned()].into(),
            );
        });
        assert_eq!(alice(&g, "flags(#4)"), "Tnp");
        assert_eq!(alice(&g, "lflags(#4)"), "NO_COMMAND PUPPET");
        assert_eq!(alice(&g, "flags(#4/color)"), "$v");
        assert_eq!(alice(&g, "lflags(#4/color)"), "NO_COMMAND VISUAL");
        assert_eq!(alice(&g, "flags(#4/nope)"), "#-1");
        assert_eq!(
            alice(&g, "[flags(#1)] [flags(me)] [flags(here)] [flags(#5)]"),
            "PW P R E"
        );
        assert_eq!(alice(&g, "lflags(#1)"), "WIZARD");
        assert_eq!(
            alice(
                &g,
                "[hasflag(#1, wizard)][hasflag(#1, W)][hasflag(#1, wiz)][hasflag(me, wizard)]"
            ),
            "1110"
        );
        assert_eq!(
            alice(
                &g,
                "[hasflag(#4, puppet)][hasflag(#4, p)][hasflag(#4, nocommand)]"
            ),
            "111"
        );
        assert_eq!(
            alice(&g, "[hasflag(#4/color, visual)][hasflag(#4/color, locked)]"),
            "10"
        );
        assert_eq!(alice(&g, "hasflag(#4/color, bogus)"), "#-1");
        assert_eq!(
            alice(
                &g,
                "[orflags(#1, WD)][andflags(#1, WD)][andflags(#1, PW)][andflags(#1, W!D)]"
            ),
            "1011"
        );
        assert_eq!(alice(&g, "orflags(#1, !)"), "#-1 INVALID FLAG");
        assert_eq!(alice(&g, "orflags(#1, q)"), "#-1 INVALID FLAG");
        assert_eq!(
            alice(
                &g,
                "[andlflags(#1, wizard player)][orlflags(me, wizard dark)][andlflags(me, !wizard)]"
            ),
            "101"
        );
        assert_eq!(alice(&g, "orlflags(me, bogus)"), "#-1 INVALID FLAG");
        assert!(alice(&g, "flags()").starts_with("CDGHILOQSUVWX"));
        let jumpy = with(4, |rose| {
            rose.flags.insert("JUMP_OK".into());
        });
        assert_eq!(
            alice(&jumpy, "[flags(#4)] [hasflag(#4, J)] [andflags(#4, J)]"),
            "TJ 1 1"
        );
        assert!(alice(&g, "lflags()").starts_with("CHOWN_OK DARK GOING"));
    }

    #[test]
    fn controls_and_visible() {
        let g = fixture();
        assert_eq!(
            alice(&g, "[controls(me, #4)][controls(me, #7)][controls(#1, #4)]"),
            "101"
        );
        assert_eq!(alice(&g, "controls(*bob, #7)"), NO_PERMISSION);
        assert_eq!(think_as(&g, 1, "controls(*bob, #7)"), "1");
        assert_eq!(alice(&g, "controls(#99, #4)"), "#-1 ARG1 NOT FOUND");
        assert_eq!(alice(&g, "controls(me, #99)"), "#-1 ARG2 NOT FOUND");
        assert_eq!(alice(&g, "controls(me, #4/COLOR)"), "1");
        assert_eq!(
            alice(
                &g,
                "[visible(me, #4)][visible(me, #7)][visible(me, #7/SECRET)][visible(*bob, #7/SECRET)]"
            ),
            "1001"
        );
        assert_eq!(alice(&g, "visible(#99, #4)"), NOT_VISIBLE);
        assert_eq!(alice(&g, "visible(me, #99)"), "0");
    }

    #[test]
    fn elock_evaluates_the_lock_for_a_victim() {
        let g = fixture();
        assert_eq!(alice(&g, "elock(#4, me)"), "1", "no lock: everyone passes");
        assert_eq!(alice(&g, "elock(#7, me)"), "#-1");
        let g = with(4, |rose| {
            rose.locks.insert("Basic".into(), "#3".into());
            rose.locks.insert("Enter".into(), "type^PLAYER".into());
        });
        assert_eq!(alice(&g, "[elock(#4, me)][elock(#4, *bob)]"), "01");
        assert_eq!(alice(&g, "[elock(#4/enter, me)][elock(#4/enter, #8)]"), "10");
        assert_eq!(alice(&g, "elock(#4, #99)"), "#-1");
    }

    #[test]
    fn locate_and_pmatch() {
        let g = fixture();
        assert_eq!(alice(&g, "locate(me, rose, *)"), "#4");
        assert_eq!(alice(&g, "locate(me, north, E)"), "#5");
        assert_eq!(alice(&g, "locate(me, stem, i)"), "#8");
        assert_eq!(alice(&g, "locate(me, stem, n)"), "#-1");
        assert_eq!(alice(&g, "locate(me, here, *)"), "#0");
        assert_eq!(alice(&g, "locate(me, me, *)"), "#2");
        assert_eq!(alice(&g, "locate(me, *bob, *)"), "#3");
        assert_eq!(alice(&g, "locate(me, bob, PF)"), "#3");
        assert_eq!(alice(&g, "locate(me, rose, PF)"), "#-1");
        assert_eq!(alice(&g, "locate(me, xyz, *)"), "#-1");
        assert_eq!(alice(&g, "locate(me, ro, x)"), "#-1");
        assert_eq!(
            alice(&g, "locate(#7, box, i)"),
            "#-1",
            "Bob's box is neither near nor hers"
        );
        assert_eq!(think_as(&g, 3, "locate(me, box, i)"), "#7");
        assert_eq!(
            alice(
                &g,
                "[pmatch(Bob)] [pmatch(*bob)] [pmatch(#3)] [pmatch(#4)] [pmatch(zed)] [pmatch(me)]"
            ),
            "#3 #3 #3 #-1 #-1 #-1"
        );
    }

    #[test]
    fn lwho_lists_online_players() {
        let mut t = crate::game::testkit::Harness::new();
        t.new_player("Alice");
        t.advance(5);
        t.new_player("Bob");
        let (a, b) = (t.id("Alice"), t.id("Bob"));
        let out = think_as(&t.game, a.0, "lwho()");
        assert_eq!(out, format!("{b} {a}"));
        assert_eq!(think_as(&t.game, a.0, "nwho()"), "2");
        assert_eq!(think_as(&t.game, a.0, "pmatch(Bo)"), b.to_string());
        let g = fixture();
        assert_eq!(alice(&g, "lwho()"), "");
    }

    #[test]
    fn lsearch_by_owner_type_name_and_more() {
        let g = fixture();
        assert_eq!(think_as(&g, 1, "lsearch(all, type, thing)"), "#4 #7 #8");
        assert_eq!(alice(&g, "lsearch(all, type, thing)"), "#4 #8");
        assert_eq!(alice(&g, "lsearch(me, type, thing)"), "#4 #8");
        assert_eq!(alice(&g, "lsearch(me)"), "#2 #4 #8");
        assert_eq!(alice(&g, "lsearch(*bob, type, thing)"), "");
        assert_eq!(alice(&g, "lsearch(all, type, player)"), "#1 #2 #3");
        assert_eq!(alice(&g, "lsearch(all, name, ro)"), "#4");
        assert_eq!(think_as(&g, 1, "lsearch(all, name, garden)"), "#6");
        assert_eq!(think_as(&g, 1, "lsearch(all, rooms, the)"), "#0 #6");
        assert_eq!(think_as(&g, 1, "lsearch(all, type, exit)"), "#5");
        assert_eq!(alice(&g, "lsearch(all, parent, #8)"), "#4");
        assert_eq!(think_as(&g, 1, "lsearch(all, flags, W)"), "#1");
        assert_eq!(think_as(&g, 1, "lsearch(all, elock, type^PLAYER)"), "#1 #2 #3");
        assert_eq!(think_as(&g, 1, "lsearch(all, type, thing, 5, 8)"), "#7 #8");
        assert_eq!(think_as(&g, 1, "lsearch(all, none, none, count, 2)"), "#0 #1");
        assert_eq!(think_as(&g, 1, "nlsearch(all, type, thing)"), "3");
        assert_eq!(alice(&g, "lsearch(all, type, bogus)"), "#-1 INVALID TYPE");
        assert_eq!(alice(&g, "lsearch(all, bogus, x)"), "#-1 INVALID SEARCH CLASS");
        assert_eq!(alice(&g, "lsearch(all, type)"), "#-1 INVALID SEARCH ARGUMENTS");
        assert_eq!(alice(&g, "lsearch(nobody, type, thing)"), "#-1 NO SUCH PLAYER");
        assert_eq!(alice(&g, "[children(#8)] [nchildren(#8)]"), "#4 1");
    }

    #[test]
    fn name_matching_for_search_starts_words() {
        assert!(name_matches("The Garden", "gar"));
        assert!(name_matches("The Garden", "the"));
        assert!(!name_matches("The Garden", "arden"));
        assert!(name_matches("The Garden", "*den"));
        assert!(name_matches("anything", ""));
    }
}
