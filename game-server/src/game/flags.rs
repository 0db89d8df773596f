//! Object flags and attribute flags: the one table of every flag softcode knows (PennMUSH's,
//! in its order: the order `flags()`, `lflags()` and `examine` show them in), with its letter,
//! the kinds of object it belongs to, who may see it, and, for the flags this game gives a
//! meaning, who may set it and what it does.

use std::collections::BTreeSet;

use super::world::ObjectKind;

/// Who may set or clear a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetBy {
    /// Whoever controls the object.
    Controller,
    /// Wizards only.
    Wizard,
    /// God only (`WIZARD` on a player).
    God,
}

/// Who may see that an object has a flag (PennMUSH's `Can_See_Flag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    Everyone,
    /// Only those who see all (PennMUSH's mdark).
    Admins,
    /// The owner and those who see all (odark).
    Owner,
}

/// Kinds of object, as bits (a flag's kinds; `locate()`'s type filter).
pub mod kinds {
    pub const PLAYER: u8 = 1;
    pub const THING: u8 = 2;
    pub const ROOM: u8 = 4;
    pub const EXIT: u8 = 8;
    pub const ANY: u8 = PLAYER | THING | ROOM | EXIT;
}
use kinds::{ANY, EXIT as E, PLAYER as P, ROOM as R, THING as T};

/// The bit of `kind` in [`kinds`].
pub fn kind_bit(kind: ObjectKind) -> u8 {
    match kind {
        ObjectKind::Player => P,
        ObjectKind::Thing => T,
        ObjectKind::Room => R,
        ObjectKind::Exit => E,
    }
}

#[derive(Debug)]
pub struct Flag {
    pub name: &'static str,
    pub letter: Option<char>,
    /// The kinds of object PennMUSH gives it ([`kinds`] bits).
    pub kinds: u8,
    pub seen: Seen,
    /// Who may set it in this game, and what it does here; `None`: softcode knows the flag,
    /// but it cannot be set (it has no meaning here).
    pub settable: Option<(SetBy, &'static str)>,
}

impl Flag {
    /// Who may set it, if anyone.
    pub fn set_by(&self) -> Option<SetBy> {
        self.settable.map(|(by, _)| by)
    }
}

/// A flag softcode knows, not settable here, seen by everyone.
const fn known(name: &'static str, letter: char, kinds: u8) -> Flag {
    Flag {
        name,
        letter: Some(letter),
        kinds,
        seen: Seen::Everyone,
        settable: None,
    }
}

/// A flag this game gives a meaning to.
const fn game(name: &'static str, letter: char, kinds: u8, set_by: SetBy, help: &'static str) -> Flag {
    Flag {
        name,
        letter: Some(letter),
        kinds,
        seen: Seen::Everyone,
        settable: Some((set_by, help)),
    }
}

const fn unlettered(name: &'static str, kinds: u8, seen: Seen) -> Flag {
    Flag {
        name,
        letter: None,
        kinds,
        seen,
        settable: None,
    }
}

use SetBy::{Controller, God, Wizard};

/// Every flag, in PennMUSH's order.
pub static FLAGS: &[Flag] = &[
    game(
        "CHOWN_OK",
        'C',
        ANY,
        Controller,
        "anyone may @chown it to themselves",
    ),
    game("DARK", 'D', ANY, Controller, "not listed in rooms' contents"),
    known("GOING", 'G', ANY),
    game("HAVEN", 'H', ANY, Controller, "refuses pages and @pemits"),
    known("TRUST", 'I', ANY),
    game(
        "LINK_OK",
        'L',
        ANY,
        Controller,
        "anyone may link exits to it or use it as a parent",
    ),
    game("OPAQUE", 'O', ANY, Controller, "its contents are not shown"),
    game("QUIET", 'Q', ANY, Controller, "fewer confirmation messages"),
    game("STICKY", 'S', ANY, Controller, "dropped, it goes home"),
    game(
        "UNFINDABLE",
        'U',
        ANY,
        Controller,
        "its location is hidden from functions",
    ),
    game(
        "VISUAL",
        'V',
        ANY,
        Controller,
        "anyone may examine it and read its attributes",
    ),
    game("WIZARD", 'W', ANY, God, "has every power (set by God only)"),
    game("SAFE", 'X', ANY, Controller, "@destroy refuses it"),
    known("AUDIBLE", 'a', ANY),
    known("DEBUG", 'b', ANY),
    known("NO_WARN", 'w', ANY),
    game("ENTER_OK", 'e', ANY, Controller, "anyone may enter it"),
    game("HALT", 'h', ANY, Controller, "runs no code"),
    game(
        "NO_COMMAND",
        'n',
        ANY,
        Controller,
        "its $-commands are not checked",
    ),
    known("LIGHT", 'l', ANY),
    game(
        "ROYALTY",
        'r',
        ANY,
        Wizard,
        "sees everything, controls nothing more",
    ),
    game(
        "TRANSPARENT",
        't',
        ANY,
        Controller,
        "exits: the destination shows through",
    ),
    known("VERBOSE", 'v', ANY),
    known("ANSI", 'A', P),
    known("COLOR", 'C', P),
    game(
        "MONITOR",
        'M',
        P | R | T,
        Controller,
        "its ^-patterns listen to what is said near it",
    ),
    Flag {
        name: "NOSPOOF",
        letter: Some('"'),
        kinds: P,
        seen: Seen::Owner,
        settable: None,
    },
    known("SHARED", 'Z', P),
    unlettered("TRACK_MONEY", P, Seen::Everyone),
    known("CONNECTED", 'c', P),
    known("GAGGED", 'g', P),
    known("MYOPIC", 'm', P),
    known("TERSE", 'x', P | T),
    known("JURY_OK", 'j', P),
    known("JUDGE", 'J', P),
    known("FIXED", 'F', P),
    known("UNREGISTERED", '?', P),
    known("ON-VACATION", 'o', P),
    Flag {
        name: "SUSPECT",
        letter: Some('s'),
        kinds: P,
        seen: Seen::Admins,
        settable: None,
    },
    unlettered("PARANOID", P, Seen::Owner),
    known("NOACCENTS", '~', P),
    known("DESTROY_OK", 'd', T),
    game("PUPPET", 'p', T, Controller, "relays what it hears to its owner"),
    known("NO_LEAVE", 'N', T),
    known("LISTEN_PARENT", '^', T | R),
    known("Z_TEL", 'Z', T | R),
    known("ABODE", 'A', R),
    known("FLOATING", 'F', R),
    game("JUMP_OK", 'J', R, Controller, "anyone may @teleport into it"),
    known("NO_TEL", 'N', R),
    known("UNINSPECTED", 'u', R),
    known("CLOUDY", 'x', E),
    known("KEEPALIVE", 'k', P),
    unlettered("NO_LOG", ANY, Seen::Admins),
    unlettered("OPEN_OK", R, Seen::Everyone),
];

/// The flags this game gives a meaning to (the ones `@set` sets), in table order.
pub fn settable() -> impl Iterator<Item = &'static Flag> {
    FLAGS.iter().filter(|f| f.settable.is_some())
}

/// An attribute flag: its name, its letter, and what it does here (`None`: softcode knows it,
/// but it cannot be set).
#[derive(Debug)]
pub struct AttributeFlag {
    pub name: &'static str,
    pub letter: char,
    pub help: Option<&'static str>,
}

const fn attribute_flag(name: &'static str, letter: char, help: Option<&'static str>) -> AttributeFlag {
    AttributeFlag { name, letter, help }
}

/// Every attribute flag, in PennMUSH's order.
pub static ATTRIBUTE_FLAGS: &[AttributeFlag] = &[
    attribute_flag(
        "NO_COMMAND",
        '$',
        Some("its $-command or ^-pattern is not checked"),
    ),
    attribute_flag("NO_INHERIT", 'i', Some("children do not inherit it")),
    attribute_flag("NO_CLONE", 'c', None),
    attribute_flag("WIZARD", 'w', Some("only wizards may read or change it")),
    attribute_flag("VISUAL", 'v', Some("anyone may read it")),
    attribute_flag("MORTAL_DARK", 'm', Some("mortals cannot read it, even its owner")),
    attribute_flag(
        "REGEXP",
        'R',
        Some("its $-pattern is a regular expression (not supported: refused)"),
    ),
    attribute_flag("CASE", 'C', None),
    attribute_flag("LOCKED", '+', Some("only wizards may change it")),
    attribute_flag("SAFE", 'S', None),
    attribute_flag("VEILED", 'V', None),
    attribute_flag("DEBUG", 'b', None),
    attribute_flag("NO_DEBUG", 'B', None),
    attribute_flag("PUBLIC", 'p', None),
    attribute_flag("NEARBY", 'n', None),
    attribute_flag("NONAME", 'N', None),
    attribute_flag("NOSPACE", 's', None),
    attribute_flag("AMHEAR", 'M', None),
    attribute_flag("AAHEAR", 'A', None),
    attribute_flag("QUIET", 'Q', None),
];

/// The settable flag called `name` (any case, or by its one-letter abbreviation when exact).
pub fn find(name: &str) -> Option<&'static Flag> {
    let name = name.trim();
    settable()
        .find(|f| f.name.eq_ignore_ascii_case(name))
        .or_else(|| {
            let mut chars = name.chars();
            let c = chars.next()?;
            if chars.next().is_some() {
                return None;
            }
            settable().find(|f| f.letter == Some(c))
        })
}

/// The settable attribute flag called `name` (any case).
pub fn find_attribute_flag(name: &str) -> Option<&'static str> {
    ATTRIBUTE_FLAGS
        .iter()
        .filter(|f| f.help.is_some())
        .map(|f| f.name)
        .find(|n| n.eq_ignore_ascii_case(name.trim()))
}

/// The type letter (none for a thing) and the letters of `flags`, in table order, as
/// `examine` and `@search` show them.
pub fn letters(kind: ObjectKind, flags: &BTreeSet<String>) -> String {
    let mut out = String::from(match kind {
        ObjectKind::Room => "R",
        ObjectKind::Player => "P",
        ObjectKind::Exit => "E",
        ObjectKind::Thing => "",
    });
    out.extend(
        FLAGS
            .iter()
            .filter(|f| flags.contains(f.name))
            .filter_map(|f| f.letter),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_found_by_name_or_letter_and_letters_are_unique() {
        assert_eq!(find("wizard").unwrap().name, "WIZARD");
        assert_eq!(find("D").unwrap().name, "DARK");
        assert!(find("nosuch").is_none());
        let mut seen = std::collections::HashSet::new();
        for f in settable() {
            assert!(seen.insert(f.letter), "{} shares its letter", f.name);
        }
        assert!(find("GOING").is_none(), "known to softcode, not settable");
        let set: BTreeSet<String> = ["WIZARD".to_owned(), "DARK".to_owned()].into();
        assert_eq!(
            letters(ObjectKind::Player, &set),
            "PDW",
            "in table order, as flags() has them"
        );
        assert_eq!(
            find_attribute_flag("case"),
            None,
            "known to softcode, not settable"
        );
        assert_eq!(find_attribute_flag("visual"), Some("VISUAL"));
    }
}
