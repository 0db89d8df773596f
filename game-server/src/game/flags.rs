//! Object flags and attribute flags: which exist, their letters, who may set them.

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

pub struct Flag {
    pub name: &'static str,
    pub letter: char,
    pub set_by: SetBy,
    pub help: &'static str,
}

const fn flag(name: &'static str, letter: char, set_by: SetBy, help: &'static str) -> Flag {
    Flag {
        name,
        letter,
        set_by,
        help,
    }
}

pub static FLAGS: &[Flag] = &[
    flag("WIZARD", 'W', SetBy::God, "has every power (set by God only)"),
    flag(
        "ROYALTY",
        'r',
        SetBy::Wizard,
        "sees everything, controls nothing more",
    ),
    flag("DARK", 'D', SetBy::Controller, "not listed in rooms' contents"),
    flag("HAVEN", 'H', SetBy::Controller, "refuses pages and @pemits"),
    flag("OPAQUE", 'O', SetBy::Controller, "its contents are not shown"),
    flag(
        "VISUAL",
        'V',
        SetBy::Controller,
        "anyone may examine it and read its attributes",
    ),
    flag(
        "MONITOR",
        'M',
        SetBy::Controller,
        "its ^-patterns listen to what is said near it",
    ),
    flag(
        "LINK_OK",
        'L',
        SetBy::Controller,
        "anyone may link exits to it or use it as a parent",
    ),
    flag("JUMP_OK", 'J', SetBy::Controller, "anyone may @teleport into it"),
    flag("ENTER_OK", 'e', SetBy::Controller, "anyone may enter it"),
    flag(
        "NO_COMMAND",
        'n',
        SetBy::Controller,
        "its $-commands are not checked",
    ),
    flag("HALT", 'h', SetBy::Controller, "runs no code"),
    flag("QUIET", 'Q', SetBy::Controller, "fewer confirmation messages"),
    flag(
        "TRANSPARENT",
        't',
        SetBy::Controller,
        "exits: the destination shows through",
    ),
    flag(
        "UNFINDABLE",
        'U',
        SetBy::Controller,
        "its location is hidden from functions",
    ),
    flag(
        "CHOWN_OK",
        'C',
        SetBy::Controller,
        "anyone may @chown it to themselves",
    ),
    flag("SAFE", 'X', SetBy::Controller, "@destroy refuses it"),
    flag("STICKY", 'S', SetBy::Controller, "dropped, it goes home"),
    flag(
        "PUPPET",
        'p',
        SetBy::Controller,
        "relays what it hears to its owner",
    ),
];

/// Attribute flags (`@set obj/ATTR=VISUAL`).
pub static ATTRIBUTE_FLAGS: &[(&str, &str)] = &[
    ("NO_COMMAND", "its $-command or ^-pattern is not checked"),
    ("VISUAL", "anyone may read it"),
    ("MORTAL_DARK", "mortals cannot read it, even its owner"),
    ("WIZARD", "only wizards may read or change it"),
    ("LOCKED", "only wizards may change it"),
    ("NO_INHERIT", "children do not inherit it"),
    (
        "REGEXP",
        "its $-pattern is a regular expression (not supported: refused)",
    ),
];

/// The flag called `name` (any case, or by its one-letter abbreviation when exact).
pub fn find(name: &str) -> Option<&'static Flag> {
    let name = name.trim();
    FLAGS
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(name))
        .or_else(|| {
            let mut chars = name.chars();
            let c = chars.next()?;
            if chars.next().is_some() {
                return None;
            }
            FLAGS.iter().find(|f| f.letter == c)
        })
}

/// The attribute flag called `name` (any case).
pub fn find_attribute_flag(name: &str) -> Option<&'static str> {
    ATTRIBUTE_FLAGS
        .iter()
        .map(|(n, _)| *n)
        .find(|n| n.eq_ignore_ascii_case(name.trim()))
}

/// The type letter and the flag letters, as `examine` and `flags()` show them.
pub fn letters<'a>(kind: ObjectKind, flags: impl Iterator<Item = &'a String>) -> String {
    let mut out = String::from(match kind {
        ObjectKind::Room => "R",
        ObjectKind::Player => "P",
        ObjectKind::Exit => "E",
        ObjectKind::Thing => "",
    });
    for name in flags {
        if let Some(f) = FLAGS.iter().find(|f| f.name == name) {
            out.push(f.letter);
        }
    }
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
        for f in FLAGS {
            assert!(seen.insert(f.letter), "{} shares its letter", f.name);
        }
        assert_eq!(
            letters(
                ObjectKind::Player,
                ["WIZARD".to_owned(), "DARK".to_owned()].iter()
            ),
            "PWD"
        );
        assert_eq!(find_attribute_flag("visual"), Some("VISUAL"));
    }
}
