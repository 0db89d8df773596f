//! Locks: who may pass an exit, pick a thing up, page a player, use an object's `$`-commands.
//! PennMUSH's boolean lock keys, pure.
//!
//! A key is a boolean expression over the *victim* (who tries): `#5` (is or carries #5), `=#5`
//! (is #5), `+#5` (carries #5), `$#5` (is owned by #5's owner), `@#5` (passes #5's lock of the
//! same type), `flag^WIZARD`, `type^PLAYER`, `ATTR:pattern` (the victim's attribute matches a
//! `*`/`?` pattern), `#true`, `#false`; combined with `!` (not), `&` (and), `|` (or) and
//! parentheses, in that order of precedence. Names in a key are turned into `#dbrefs` when the
//! lock is set ([`normalize`]), so renaming an object does not change what a lock means.
//!
//! Why bounded: a key is at most [`MAX_KEY`] bytes, nests at most [`MAX_NESTING`] deep, and
//! indirect locks (`@#5`) are followed at most [`MAX_INDIRECT`] deep.

use super::wild;
use super::world::{ObjectId, ObjectKind, World};

pub const MAX_KEY: usize = 2_048;
pub const MAX_NESTING: usize = 32;
pub const MAX_INDIRECT: usize = 8;

/// The lock types an object may have (`@lock/<type>`), with what each guards.
pub const TYPES: &[(&str, &str)] = &[
    ("Basic", "passing an exit, picking up a thing"),
    ("Enter", "entering an object"),
    ("Use", "using the object's $-commands"),
    ("Page", "paging a player"),
    ("Teleport", "teleporting to a room"),
    ("Speech", "speaking in a room"),
];

/// The canonical name of a lock type (`basic` → `Basic`), if it is one.
pub fn lock_type(name: &str) -> Option<&'static str> {
    TYPES
        .iter()
        .map(|(t, _)| *t)
        .find(|t| t.eq_ignore_ascii_case(name.trim()))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lock {
    True,
    False,
    IsOrCarries(ObjectId),
    Is(ObjectId),
    Carries(ObjectId),
    OwnedLike(ObjectId),
    Indirect(ObjectId),
    Flag(String),
    Type(ObjectKind),
    Attribute { name: String, pattern: String },
    Not(Box<Lock>),
    And(Box<Lock>, Box<Lock>),
    Or(Box<Lock>, Box<Lock>),
}

/// Parses a key whose object references are `#dbrefs` (as stored).
pub fn parse(key: &str) -> Result<Lock, String> {
    parse_with(key, &mut |word| {
        word.parse::<ObjectId>()
            .map_err(|_| format!("I don't know what \"{word}\" is in that lock."))
    })
}

/// Turns the names in a key typed by a player into `#dbrefs` with `resolve`, checking it parses;
/// the key as it is stored.
pub fn normalize(
    key: &str,
    resolve: &mut dyn FnMut(&str) -> Result<ObjectId, String>,
) -> Result<String, String> {
    let lock = parse_with(key, resolve)?;
    Ok(show(&lock))
}

fn parse_with(key: &str, resolve: &mut dyn FnMut(&str) -> Result<ObjectId, String>) -> Result<Lock, String> {
    if key.len() > MAX_KEY {
        return Err(format!("That lock is too long ({MAX_KEY} characters at most)."));
    }
    let mut p = Parser {
        s: key.as_bytes(),
        src: key,
        i: 0,
        depth: 0,
        resolve,
    };
    let lock = p.or()?;
    p.skip_spaces();
    if p.i < p.s.len() {
        return Err(format!("I don't understand that lock after \"{}\".", &key[..p.i]));
    }
    Ok(lock)
}

struct Parser<'a, 'r> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
    depth: usize,
    resolve: &'r mut dyn FnMut(&str) -> Result<ObjectId, String>,
}

impl<'a> Parser<'a, '_> {
    fn skip_spaces(&mut self) {
        while self.s.get(self.i) == Some(&b' ') {
            self.i += 1;
        }
    }

    fn or(&mut self) -> Result<Lock, String> {
        let mut left = self.and()?;
        loop {
            self.skip_spaces();
            if self.s.get(self.i) != Some(&b'|') {
                return Ok(left);
            }
            self.i += 1;
            let right = self.and()?;
            left = Lock::Or(Box::new(left), Box::new(right));
        }
    }

    fn and(&mut self) -> Result<Lock, String> {
        let mut left = self.not()?;
        loop {
            self.skip_spaces();
            if self.s.get(self.i) != Some(&b'&') {
                return Ok(left);
            }
            self.i += 1;
            let right = self.not()?;
            left = Lock::And(Box::new(left), Box::new(right));
        }
    }

    fn not(&mut self) -> Result<Lock, String> {
        self.skip_spaces();
        if self.s.get(self.i) == Some(&b'!') {
            self.i += 1;
            self.nest(|p| p.not()).map(|l| Lock::Not(Box::new(l)))
        } else {
            self.atom()
        }
    }

    fn nest(&mut self, f: impl FnOnce(&mut Self) -> Result<Lock, String>) -> Result<Lock, String> {
        if self.depth >= MAX_NESTING {
            return Err("That lock is nested too deeply.".into());
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn atom(&mut self) -> Result<Lock, String> {
        self.skip_spaces();
        match self.s.get(self.i) {
            None => Err("A lock needs something to test.".into()),
            Some(b'(') => {
                self.i += 1;
                let inner = self.nest(|p| p.or())?;
                self.skip_spaces();
                if self.s.get(self.i) != Some(&b')') {
                    return Err("A ( in that lock is not closed.".into());
                }
                self.i += 1;
                Ok(inner)
            }
            Some(c @ (b'=' | b'+' | b'$' | b'@')) => {
                let c = *c;
                self.i += 1;
                let id = self.object()?;
                Ok(match c {
                    b'=' => Lock::Is(id),
                    b'+' => Lock::Carries(id),
                    b'$' => Lock::OwnedLike(id),
                    _ => Lock::Indirect(id),
                })
            }
            Some(_) => {
                let word = self.word();
                if word.eq_ignore_ascii_case("#true") {
                    return Ok(Lock::True);
                }
                if word.eq_ignore_ascii_case("#false") {
                    return Ok(Lock::False);
                }
                if let Some((kind, value)) = word.split_once('^') {
                    return match kind.to_ascii_lowercase().as_str() {
                        "flag" => Ok(Lock::Flag(value.trim().to_ascii_uppercase())),
                        "type" => match value.trim().to_ascii_lowercase().as_str() {
                            "player" => Ok(Lock::Type(ObjectKind::Player)),
                            "thing" => Ok(Lock::Type(ObjectKind::Thing)),
                            "room" => Ok(Lock::Type(ObjectKind::Room)),
                            "exit" => Ok(Lock::Type(ObjectKind::Exit)),
                            _ => Err(format!("There is no type {value}.")),
                        },
                        _ => Err(format!("I don't understand \"{word}\" in that lock.")),
                    };
                }
                if let Some((name, pattern)) = word.split_once(':') {
                    return Ok(Lock::Attribute {
                        name: name.trim().to_ascii_uppercase(),
                        pattern: pattern.trim().to_owned(),
                    });
                }
                let id = (self.resolve)(word.trim())?;
                Ok(Lock::IsOrCarries(id))
            }
        }
    }

    fn object(&mut self) -> Result<ObjectId, String> {
        let word = self.word();
        (self.resolve)(word.trim())
    }

    /// Up to the next operator or parenthesis.
    fn word(&mut self) -> &'a str {
        let src = self.src;
        let start = self.i;
        while let Some(c) = self.s.get(self.i) {
            if matches!(c, b'&' | b'|' | b'(' | b')') || (*c == b'!' && self.i == start) {
                break;
            }
            self.i += 1;
        }
        src[start..self.i].trim()
    }
}

/// A lock as stored and shown.
pub fn show(lock: &Lock) -> String {
    match lock {
        Lock::True => "#true".into(),
        Lock::False => "#false".into(),
        Lock::IsOrCarries(id) => id.to_string(),
        Lock::Is(id) => format!("={id}"),
        Lock::Carries(id) => format!("+{id}"),
        Lock::OwnedLike(id) => format!("${id}"),
        Lock::Indirect(id) => format!("@{id}"),
        Lock::Flag(f) => format!("flag^{f}"),
        Lock::Type(k) => format!("type^{}", k.as_str().to_ascii_uppercase()),
        Lock::Attribute { name, pattern } => format!("{name}:{pattern}"),
        Lock::Not(l) => format!("!{}", shown_inner(l)),
        Lock::And(a, b) => format!("{}&{}", shown_inner(a), shown_inner(b)),
        Lock::Or(a, b) => format!("{}|{}", show(a), show(b)),
    }
}

fn shown_inner(l: &Lock) -> String {
    match l {
        Lock::Or(..) => format!("({})", show(l)),
        Lock::And(..) => show(l),
        _ => show(l),
    }
}

/// Whether `victim` passes `key` (an unset or empty key passes everyone). A stored key that no
/// longer parses fails everyone but the object's controllers (checked by the caller).
pub fn passes(world: &World, key: Option<&str>, lock_type: &str, victim: ObjectId) -> bool {
    let Some(key) = key.filter(|k| !k.trim().is_empty()) else {
        return true;
    };
    match parse(key) {
        Ok(lock) => eval(world, &lock, lock_type, victim, 0),
        Err(_) => false,
    }
}

/// Whether `victim` passes `object`'s lock of `lock_type`.
pub fn passes_lock(world: &World, object: ObjectId, lock_type: &str, victim: ObjectId) -> bool {
    let key = world.get(object).and_then(|o| o.locks.get(lock_type));
    passes(world, key.map(String::as_str), lock_type, victim)
}

fn eval(world: &World, lock: &Lock, lock_type: &str, victim: ObjectId, indirect: usize) -> bool {
    let carries = |id: ObjectId| world.get(id).is_some_and(|o| o.location == Some(victim));
    match lock {
        Lock::True => true,
        Lock::False => false,
        Lock::Is(id) => victim == *id,
        Lock::Carries(id) => carries(*id),
        Lock::IsOrCarries(id) => victim == *id || carries(*id),
        Lock::OwnedLike(id) => {
            let owner = |x: ObjectId| super::perms::owner_of(world, x);
            world.get(*id).is_some() && owner(victim) == owner(*id)
        }
        Lock::Indirect(id) => {
            if indirect >= MAX_INDIRECT {
                return false;
            }
            match world.get(*id).and_then(|o| o.locks.get(lock_type)) {
                Some(key) => parse(key).is_ok_and(|l| eval(world, &l, lock_type, victim, indirect + 1)),
                None => true,
            }
        }
        Lock::Flag(f) => world.has_flag(victim, f),
        Lock::Type(k) => world.get(victim).is_some_and(|o| o.kind == *k),
        Lock::Attribute { name, pattern } => world
            .attribute(victim, name)
            .is_some_and(|(value, _)| wild::matches(pattern, value)),
        Lock::Not(l) => !eval(world, l, lock_type, victim, indirect),
        Lock::And(a, b) => {
            eval(world, a, lock_type, victim, indirect) && eval(world, b, lock_type, victim, indirect)
        }
        Lock::Or(a, b) => {
            eval(world, a, lock_type, victim, indirect) || eval(world, b, lock_type, victim, indirect)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::world::{LOBBY, Object};

    fn world() -> World {
        let mut alice = Object::new(ObjectId(2), ObjectKind::Player, "Alice", ObjectId(2), 0);
        alice.location = Some(LOBBY);
        alice.attributes.insert("RACE".into(), "Elf".into());
        let mut bob = Object::new(ObjectId(3), ObjectKind::Player, "Bob", ObjectId(3), 0);
        bob.location = Some(LOBBY);
        bob.flags.insert("WIZARD".into());
        let mut key = Object::new(ObjectId(4), ObjectKind::Thing, "Key", ObjectId(2), 0);
        key.location = Some(ObjectId(2));
        let mut door = Object::new(ObjectId(5), ObjectKind::Exit, "Door", ObjectId(2), 0);
        door.locks.insert("Basic".into(), "+#4".into());
        World::from_objects([
            Object::new(LOBBY, ObjectKind::Room, "Lobby", ObjectId(1), 0),
            alice,
            bob,
            key,
            door,
        ])
    }

    fn check(w: &World, key: &str, victim: u64) -> bool {
        passes(w, Some(key), "Basic", ObjectId(victim))
    }

    #[test]
    fn keys_test_the_victim() {
        let w = world();
        assert!(check(&w, "#4", 2), "Alice carries the key");
        assert!(!check(&w, "#4", 3));
        assert!(check(&w, "=#3", 3));
        assert!(!check(&w, "=#3", 2));
        assert!(check(&w, "+#4", 2));
        assert!(check(&w, "flag^WIZARD", 3));
        assert!(!check(&w, "flag^wizard", 2));
        assert!(check(&w, "type^PLAYER", 2));
        assert!(check(&w, "RACE:e*", 2));
        assert!(!check(&w, "RACE:dwarf", 2));
        assert!(check(&w, "$#4", 2), "owned by the key's owner");
        assert!(check(&w, "@#5", 2), "the door's lock, indirectly");
        assert!(!check(&w, "@#5", 3));
        assert!(check(&w, "#true", 3) && !check(&w, "#false", 3));
    }

    #[test]
    fn operators_combine_with_precedence() {
        let w = world();
        assert!(check(&w, "!=#2", 3));
        assert!(check(&w, "=#2 | flag^WIZARD", 3));
        assert!(!check(&w, "=#2 & flag^WIZARD", 2));
        assert!(check(&w, "=#3 | =#2 & +#4", 2), "& binds tighter");
        assert!(!check(&w, "(=#3 | =#2) & flag^WIZARD", 2));
        assert!(check(&w, "!(=#3)", 2));
        assert!(passes(&w, None, "Basic", ObjectId(3)), "no lock: everyone passes");
    }

    #[test]
    fn names_become_dbrefs_and_bad_keys_are_refused() {
        let mut resolve = |w: &str| match w.to_ascii_lowercase().as_str() {
            "key" => Ok(ObjectId(4)),
            "me" => Ok(ObjectId(2)),
            _ => Err(format!("I don't see {w} here.")),
        };
        assert_eq!(normalize("key | =me", &mut resolve).unwrap(), "#4|=#2");
        assert_eq!(
            normalize("!(key|=me)&flag^dark", &mut resolve).unwrap(),
            "!(#4|=#2)&flag^DARK"
        );
        assert!(normalize("(key", &mut resolve).is_err());
        assert!(
            normalize("nothing", &mut resolve)
                .unwrap_err()
                .contains("nothing")
        );
        assert!(normalize("", &mut resolve).is_err());
        assert!(
            normalize(&"(".repeat(100), &mut resolve)
                .unwrap_err()
                .contains("nested")
        );
        assert!(parse("garbage)").is_err());
    }

    #[test]
    fn attribute_keys_match_wildcards_case_insensitively() {
        assert!(wild::matches("a*c", "ABBBC"));
        assert!(wild::matches("*", ""));
        assert!(wild::matches("?b*", "abzzz"));
        assert!(!wild::matches("a?c", "ac"));
        let long = "a".repeat(5_000);
        assert!(!wild::matches(&format!("{}b", "*a".repeat(50)), &long));
    }
}
