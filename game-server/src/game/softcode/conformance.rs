//! The conformance suite: softcode lines with the answer PennMUSH 1.8.8 gives (written from its
//! help files' examples and semantics), one file per function family in `conformance/`, run
//! against a fixed world without any I/O.
//!
//! File format: `# comment`; `@as <name>` evaluates what follows as that player (Alice unless
//! said); `> <expression>` is evaluated as `think` would, and the next line is the exact answer
//! (a newline in the answer is written `\n`; an empty line is an empty answer).
//!
//! The world (see [`fixture`]):
//!
//! | #  | object | what |
//! | -- | ------ | ---- |
//! | #0 | The Lobby | room; everyone below is here |
//! | #1 | One | player, WIZARD (God) |
//! | #2 | Alice | player, SEX female |
//! | #3 | Bob | player, SEX male |
//! | #4 | Rose | thing owned by Alice, in the Lobby, parent #8; attributes below |
//! | #5 | North | exit from the Lobby to #6 |
//! | #6 | The Garden | room |
//! | #7 | Box | thing owned by Bob, carried by Bob; SECRET=hidden (not VISUAL) |
//! | #8 | Stem | thing owned by Alice, carried by Alice; INHERITED=from the parent |
//!
//! Rose's attributes: `COLOR`=red, `DOUBLE`=`[mul(%0,2)]`, `GREET`=`Hello, %0!`, `LIST`=`a b c`,
//! `ADD`=`[add(%0,%1)]`, `ISODD`=`[mod(%0,2)]`, `VA`=va-value, `CMD`=`$smell *:@pemit %#=You smell %0.`.

use std::collections::BTreeSet;

use super::Evaluator;
use crate::game::budget::Fuel;
use crate::game::world::{LOBBY, Object, ObjectId, ObjectKind, World};
use crate::game::{Game, GameConfig};

/// The fixed world every conformance line runs in.
pub fn fixture() -> Game {
    let player = |n: u64, name: &str| {
        let mut o = Object::new(ObjectId(n), ObjectKind::Player, name, ObjectId(n), 1_700_000_000);
        o.location = Some(LOBBY);
        o.home = Some(LOBBY);
        o
    };
    let mut lobby = Object::new(LOBBY, ObjectKind::Room, "The Lobby", ObjectId(1), 1_700_000_000);
    lobby.description = "A quiet hall.".into();
    let mut one = player(1, "One");
    one.flags = BTreeSet::from(["WIZARD".to_owned()]);
    let mut alice = player(2, "Alice");
    alice.attributes.insert("SEX".into(), "female".into());
    let mut bob = player(3, "Bob");
    bob.attributes.insert("SEX".into(), "male".into());
    let mut rose = Object::new(ObjectId(4), ObjectKind::Thing, "Rose", ObjectId(2), 1_700_000_000);
    rose.location = Some(LOBBY);
    rose.home = Some(LOBBY);
    rose.parent = Some(ObjectId(8));
    for (k, v) in [
        ("COLOR", "red"),
        ("DOUBLE", "[mul(%0,2)]"),
        ("GREET", "Hello, %0!"),
        ("LIST", "a b c"),
        ("ADD", "[add(%0,%1)]"),
        ("ISODD", "[mod(%0,2)]"),
        ("VA", "va-value"),
        ("CMD", "$smell *:@pemit %#=You smell %0."),
    ] {
        rose.attributes.insert(k.into(), v.into());
    }
    let mut north = Object::new(
        ObjectId(5),
        ObjectKind::Exit,
        "North;n",
        ObjectId(1),
        1_700_000_000,
    );
    north.location = Some(LOBBY);
    north.destination = Some(ObjectId(6));
    let garden = Object::new(
        ObjectId(6),
        ObjectKind::Room,
        "The Garden",
        ObjectId(1),
        1_700_000_000,
    );
    let mut boxed = Object::new(ObjectId(7), ObjectKind::Thing, "Box", ObjectId(3), 1_700_000_000);
    boxed.location = Some(ObjectId(3));
    boxed.attributes.insert("SECRET".into(), "hidden".into());
    let mut stem = Object::new(ObjectId(8), ObjectKind::Thing, "Stem", ObjectId(2), 1_700_000_000);
    stem.location = Some(ObjectId(2));
    stem.attributes
        .insert("INHERITED".into(), "from the parent".into());
    let world = World::from_objects([lobby, one, alice, bob, rose, north, garden, boxed, stem]);
    Game::new(world, GameConfig::default())
}

/// When the conformance world's clock reads (Tue Nov 24 08:00:00 2026 UTC).
pub const NOW_MICROS: i64 = 1_795_507_200 * 1_000_000;

/// Evaluates `s` in `game` as Alice (#2), as `think` would (for the families' unit tests).
pub fn think_in(game: &Game, s: &str) -> String {
    let now = mush_protocol::Timestamp::from_micros(NOW_MICROS);
    let mut fuel = Fuel::unlimited_time(100_000);
    Evaluator::new(game, now, &mut fuel, ObjectId(2), ObjectId(2)).eval(s)
}

/// [`think_in`] the fixture.
pub fn think(s: &str) -> String {
    think_in(&fixture(), s)
}

/// Each expression gives its answer in the fixture.
pub fn all(cases: &[(&str, &str)]) {
    let game = fixture();
    for (expr, want) in cases {
        assert_eq!(think_in(&game, expr), *want, "{expr}");
    }
}

/// One line of a conformance file that did not give PennMUSH's answer.
#[derive(Debug)]
pub struct Mismatch {
    pub file: String,
    pub line: usize,
    pub expression: String,
    pub expected: String,
    pub got: String,
}

/// Runs one file's cases; returns how many ran and what differed.
pub fn run_file(game: &Game, file: &str, text: &str) -> (usize, Vec<Mismatch>) {
    let now = mush_protocol::Timestamp::from_micros(NOW_MICROS);
    let mut enactor = ObjectId(2);
    let mut cases = 0;
    let mut mismatches = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        if let Some(name) = line.strip_prefix("@as ") {
            enactor = game
                .world()
                .player_by_name(name.trim())
                .unwrap_or_else(|| panic!("{file}:{}: no player {name}", n + 1))
                .id;
            continue;
        }
        let Some(expression) = line.strip_prefix("> ") else {
            continue;
        };
        let expected = lines.next().map_or("", |(_, l)| l).to_owned();
        cases += 1;
        let mut fuel = Fuel::unlimited_time(100_000);
        let got = Evaluator::new(game, now, &mut fuel, enactor, enactor)
            .eval(expression)
            .replace('\n', "\\n");
        if got != expected {
            mismatches.push(Mismatch {
                file: file.to_owned(),
                line: n + 1,
                expression: expression.to_owned(),
                expected,
                got,
            });
        }
    }
    (cases, mismatches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softcode_gives_pennmushs_answers() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/game/softcode/conformance");
        let game = fixture();
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .collect();
        files.sort();
        let mut total = 0;
        let mut all = Vec::new();
        for path in &files {
            let text = std::fs::read_to_string(path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let (cases, mismatches) = run_file(&game, &name, &text);
            total += cases;
            all.extend(mismatches);
        }
        let report: Vec<String> = all
            .iter()
            .map(|m| {
                format!(
                    "{}:{}: {}\n    expected {:?}\n    got      {:?}",
                    m.file, m.line, m.expression, m.expected, m.got
                )
            })
            .collect();
        assert!(
            all.is_empty(),
            "{} of {total} conformance lines differ from PennMUSH:\n{}",
            all.len(),
            report.join("\n")
        );
        println!("{total} conformance lines match");
    }
}
