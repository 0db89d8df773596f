//! The function evaluator behind `think` and `@dolist`: a small PennMUSH-style expression language.
//!
//! * `[...]` evaluates what is inside (nested brackets work) and puts the result in its place.
//! * An expression that *starts* with `name(args)` is a function call (so `think add(1,2)` is 3);
//!   elsewhere, text is text unless bracketed. Arguments are expressions themselves.
//! * `%r` newline, `%b` space, `%t` tab, `%n` the enactor's name, `%#` the enactor's dbref, `%%` a
//!   percent; `\x` is `x` taken literally; `{...}` is kept as is (braces removed, not evaluated).
//! * Errors read like PennMUSH's: `#-1 FUNCTION (FOO) NOT FOUND`, `#-1 ARGUMENT MUST BE INTEGER`.
//!
//! Why bounded: input comes from players. Every function call and every bracket evaluated burns
//! the line's [`Fuel`] (so do the KiB of text a function returns); nesting deeper than
//! [`MAX_DEPTH`] or an empty tank put an error in place of the result, and output longer than
//! [`MAX_OUTPUT`] bytes is cut. Why linear: where each bracket closes is found once, in one pass
//! over the line ([`Brackets`]), so an unclosed `[` costs the same as any other character (a
//! rescan per bracket made 8,000 unclosed `[` cost 32 million steps).

use mush_protocol::Timestamp;

use super::Game;
use super::budget::Fuel;
use super::matching::{self, Found};
use super::timefmt;
use super::world::ObjectId;

pub const MAX_OUTPUT: usize = 8_192;
pub const MAX_DEPTH: u32 = 50;

/// Evaluates `input` for `enactor` at `now`, burning `fuel`.
pub fn evaluate(game: &Game, enactor: ObjectId, now: Timestamp, input: &str, fuel: &mut Fuel) -> String {
    let brackets = Brackets::of(input);
    Evaluator {
        game,
        enactor,
        now,
        fuel,
        depth: 0,
        brackets: &brackets,
    }
    .expr(input)
}

struct Evaluator<'a> {
    game: &'a Game,
    enactor: ObjectId,
    now: Timestamp,
    fuel: &'a mut Fuel,
    depth: u32,
    /// Where each bracket of the evaluated line closes.
    brackets: &'a Brackets<'a>,
}

/// Where every `[`, `(` and `{` of one string closes, found in one pass (escapes skipped, other
/// pairs nested inside, a closer that does not match the innermost open bracket ignored: exactly
/// what a scan from each bracket would find, without the rescans).
struct Brackets<'s> {
    source: &'s str,
    /// `close[i]` is 1 + the index of the closer of the bracket at `i`, or 0.
    close: Vec<u32>,
}

impl<'s> Brackets<'s> {
    fn of(source: &'s str) -> Self {
        let bytes = source.as_bytes();
        let mut close = vec![0u32; bytes.len()];
        let mut open: Vec<(u8, usize)> = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' | b'%' => i += 1,
                b'[' => open.push((b']', i)),
                b'(' => open.push((b')', i)),
                b'{' => open.push((b'}', i)),
                c @ (b']' | b')' | b'}') if open.last().is_some_and(|(want, _)| *want == c) => {
                    let (_, at) = open.pop().expect("not empty");
                    close[at] = (i + 1) as u32;
                }
                _ => {}
            }
            i += 1;
        }
        Self { source, close }
    }

    /// The index in `s` of the bracket closing the one at `s[open]`; `None` if it does not close
    /// within `s`. `s` is a slice of the source (anything else is scanned afresh).
    fn closer(&self, s: &str, open: usize) -> Option<usize> {
        let base = (s.as_ptr() as usize).wrapping_sub(self.source.as_ptr() as usize);
        if base > self.source.len() || base + s.len() > self.source.len() {
            return closer(s, open);
        }
        match self.close.get(base + open).copied().unwrap_or(0) {
            0 => None,
            end => (end as usize - 1).checked_sub(base).filter(|e| *e < s.len()),
        }
    }
}

struct Function {
    name: &'static str,
    min: usize,
    max: usize,
    run: fn(&mut Evaluator<'_>, &[String]) -> String,
}

const MANY: usize = usize::MAX;

static FUNCTIONS: &[Function] = &[
    Function {
        name: "ADD",
        min: 2,
        max: MANY,
        run: add,
    },
    Function {
        name: "CONN",
        min: 1,
        max: 1,
        run: conn,
    },
    Function {
        name: "IDLE",
        min: 1,
        max: 1,
        run: idle,
    },
    Function {
        name: "LNUM",
        min: 1,
        max: 3,
        run: lnum,
    },
    Function {
        name: "MUL",
        min: 2,
        max: MANY,
        run: mul,
    },
    Function {
        name: "NAME",
        min: 1,
        max: 1,
        run: name,
    },
    Function {
        name: "SECS",
        min: 0,
        max: 0,
        run: secs,
    },
    Function {
        name: "STRLEN",
        min: 1,
        max: 1,
        run: strlen,
    },
    Function {
        name: "SUB",
        min: 2,
        max: 2,
        run: sub,
    },
    Function {
        name: "TIME",
        min: 0,
        max: 1,
        run: time,
    },
    Function {
        name: "WORDS",
        min: 1,
        max: 2,
        run: words,
    },
];

impl Evaluator<'_> {
    /// An expression: a leading `name(...)` is a call; the rest is text.
    fn expr(&mut self, s: &str) -> String {
        let mut out = String::new();
        let rest = match self.leading_call(s) {
            Some((name, inner, after)) => {
                let value = self.call(name, inner);
                push(&mut out, &value);
                after
            }
            None => s,
        };
        self.text(rest, &mut out);
        out
    }

    /// Text: brackets evaluated, `%` substitutions and `\` escapes applied, braces kept verbatim.
    fn text(&mut self, s: &str, out: &mut String) {
        let mut i = 0;
        while let Some(c) = s[i..].chars().next() {
            if out.len() >= MAX_OUTPUT || self.fuel.is_exhausted() {
                return;
            }
            if (c == '[' || c == '{')
                && let Some(end) = self.brackets.closer(s, i)
            {
                let inner = &s[i + 1..end];
                if c == '[' {
                    let value = self.nested(inner);
                    push(out, &value);
                } else {
                    push(out, inner);
                }
                i = end + 1;
                continue;
            }
            let next = s[i + c.len_utf8()..].chars().next();
            match (c, next) {
                ('\\', Some(n)) => {
                    push(out, n.encode_utf8(&mut [0; 4]));
                    i += 1 + n.len_utf8();
                }
                ('%', Some(n)) => {
                    self.percent(n, out);
                    i += 1 + n.len_utf8();
                }
                _ => {
                    push(out, c.encode_utf8(&mut [0; 4]));
                    i += c.len_utf8();
                }
            }
        }
    }

    fn percent(&self, code: char, out: &mut String) {
        match code {
            'r' | 'R' => push(out, "\n"),
            'b' | 'B' => push(out, " "),
            't' | 'T' => push(out, "\t"),
            'n' | 'N' => push(out, &self.game.world.name_of(self.enactor)),
            '#' => push(out, &self.enactor.to_string()),
            other => push(out, other.encode_utf8(&mut [0; 4])),
        }
    }

    /// A bracketed expression, one level deeper.
    fn nested(&mut self, inner: &str) -> String {
        if !self.fuel.burn(1) {
            return OUT_OF_FUEL.to_owned();
        }
        if self.depth >= MAX_DEPTH {
            return "#-1 FUNCTION RECURSION LIMIT EXCEEDED".to_owned();
        }
        self.depth += 1;
        let value = self.expr(inner);
        self.depth -= 1;
        value
    }

    fn call(&mut self, name: &str, inner: &str) -> String {
        if !self.fuel.burn(1) {
            return OUT_OF_FUEL.to_owned();
        }
        if self.depth >= MAX_DEPTH {
            return "#-1 FUNCTION RECURSION LIMIT EXCEEDED".to_owned();
        }
        let upper = name.to_ascii_uppercase();
        let Some(f) = FUNCTIONS.iter().find(|f| f.name == upper) else {
            return format!("#-1 FUNCTION ({upper}) NOT FOUND");
        };
        let raw = self.split_args(inner);
        if raw.len() < f.min || raw.len() > f.max {
            return arity_error(f);
        }
        self.depth += 1;
        let args: Vec<String> = raw.iter().map(|a| self.expr(a.trim())).collect();
        self.depth -= 1;
        let mut value = (f.run)(self, &args);
        truncate(&mut value);
        self.fuel.burn_text(value.len());
        value
    }

    /// `name(inner)rest` at the start of `s`: (name, inner, rest).
    fn leading_call<'s>(&self, s: &'s str) -> Option<(&'s str, &'s str, &'s str)> {
        let len = s
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        if len == 0 || s.as_bytes().get(len) != Some(&b'(') {
            return None;
        }
        let end = self.brackets.closer(s, len)?;
        Some((&s[..len], &s[len + 1..end], &s[end + 1..]))
    }

    /// Splits a call's inside at top-level commas. Empty inside: no arguments.
    fn split_args<'s>(&self, inner: &'s str) -> Vec<&'s str> {
        if inner.trim().is_empty() {
            return Vec::new();
        }
        let bytes = inner.as_bytes();
        let mut args = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' | b'%' => i += 1,
                b'[' | b'(' | b'{' => {
                    if let Some(end) = self.brackets.closer(inner, i) {
                        i = end;
                    }
                }
                b',' => {
                    args.push(&inner[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
            i += 1;
        }
        args.push(&inner[start.min(inner.len())..]);
        args
    }
}

/// What a call or bracket gives once the line's fuel is gone (PennMUSH's words).
const OUT_OF_FUEL: &str = "#-1 FUNCTION INVOCATION LIMIT EXCEEDED";

fn arity_error(f: &Function) -> String {
    let expects = match (f.min, f.max) {
        (1, 1) => "1 ARGUMENT".to_owned(),
        (a, b) if a == b => format!("{a} ARGUMENTS"),
        (a, MANY) => format!("AT LEAST {a} ARGUMENTS"),
        (a, b) => format!("BETWEEN {a} AND {b} ARGUMENTS"),
    };
    format!("#-1 FUNCTION ({}) EXPECTS {expects}", f.name)
}

/// Appends, stopping at [`MAX_OUTPUT`] bytes (on a character boundary).
fn push(out: &mut String, s: &str) {
    let room = MAX_OUTPUT.saturating_sub(out.len());
    if s.len() <= room {
        out.push_str(s);
    } else {
        let mut cut = room;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&s[..cut]);
    }
}

fn truncate(s: &mut String) {
    if s.len() > MAX_OUTPUT {
        let mut cut = MAX_OUTPUT;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
}

/// The index of the bracket closing the one at `open` (`[`, `(` or `{`), skipping escapes and
/// other bracket pairs inside; `None` if it is never closed. A scan: only for strings that are not
/// part of the evaluated line (see [`Brackets::closer`]).
fn closer(s: &str, open: usize) -> Option<usize> {
    let mut stack: Vec<u8> = Vec::new();
    let bytes = s.as_bytes();
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' | b'%' => i += 1,
            b'[' => stack.push(b']'),
            b'(' => stack.push(b')'),
            b'{' => stack.push(b'}'),
            c @ (b']' | b')' | b'}') if stack.last() == Some(&c) => {
                stack.pop();
                if stack.is_empty() {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

const NOT_INTEGER: &str = "#-1 ARGUMENT MUST BE INTEGER";
const OVERFLOW: &str = "#-1 INTEGER OVERFLOW";

/// An integer argument; empty counts as 0, as in PennMUSH.
fn int(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() { Some(0) } else { s.parse().ok() }
}

fn ints(args: &[String]) -> Option<Vec<i64>> {
    args.iter().map(|a| int(a)).collect()
}

fn fold(args: &[String], op: fn(i64, i64) -> Option<i64>) -> String {
    let Some(ns) = ints(args) else {
        return NOT_INTEGER.to_owned();
    };
    let mut acc = ns[0];
    for n in &ns[1..] {
        match op(acc, *n) {
            Some(v) => acc = v,
            None => return OVERFLOW.to_owned(),
        }
    }
    acc.to_string()
}

fn add(_: &mut Evaluator<'_>, args: &[String]) -> String {
    fold(args, i64::checked_add)
}

fn sub(_: &mut Evaluator<'_>, args: &[String]) -> String {
    fold(args, i64::checked_sub)
}

fn mul(_: &mut Evaluator<'_>, args: &[String]) -> String {
    fold(args, i64::checked_mul)
}

/// `lnum(n)`: 0 to n-1; `lnum(a,b)`: a to b (downwards if b < a); a third argument separates.
fn lnum(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let (first, last) = if args.len() == 1 {
        match int(&args[0]) {
            Some(n) if n <= 0 => return String::new(),
            Some(n) => (0, n - 1),
            None => return NOT_INTEGER.to_owned(),
        }
    } else {
        match (int(&args[0]), int(&args[1])) {
            (Some(a), Some(b)) => (a, b),
            _ => return NOT_INTEGER.to_owned(),
        }
    };
    let sep = args.get(2).map_or(" ", String::as_str);
    let step: i64 = if last >= first { 1 } else { -1 };
    let mut out = String::new();
    let mut n = first;
    loop {
        if !out.is_empty() {
            out.push_str(sep);
        }
        out.push_str(&n.to_string());
        if n == last || out.len() >= MAX_OUTPUT {
            break;
        }
        n += step;
    }
    truncate(&mut out);
    out
}

/// The number of words, split at spaces or at the given delimiter.
fn words(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let list = &args[0];
    let count = match args.get(1).map(String::as_str) {
        None | Some("") | Some(" ") => list.split_whitespace().count(),
        Some(_) if list.is_empty() => 0,
        Some(delim) => list.split(delim).count(),
    };
    count.to_string()
}

fn strlen(_: &mut Evaluator<'_>, args: &[String]) -> String {
    args[0].chars().count().to_string()
}

fn name(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let what = args[0].trim();
    let world = &ev.game.world;
    let found = match what.parse::<super::ObjectId>() {
        Ok(id) if what.starts_with('#') => world.get(id).map_or(Found::Missing, |o| Found::One(o.id)),
        _ => match matching::player(world, ev.enactor, what) {
            Some(p) => Found::One(p),
            None => matching::nearby(world, ev.enactor, what),
        },
    };
    match found {
        Found::One(id) => world.name_of(id),
        Found::Missing => "#-1 NO MATCH".to_owned(),
        Found::Ambiguous => "#-1 AMBIGUOUS MATCH".to_owned(),
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

/// The time now, UTC: `Tue Nov 24 08:00:00 2026`. (A time-zone argument is accepted and ignored.)
fn time(ev: &mut Evaluator<'_>, _: &[String]) -> String {
    timefmt::ctime(ev.now.as_secs())
}

fn secs(ev: &mut Evaluator<'_>, _: &[String]) -> String {
    ev.now.as_secs().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::testkit::*;
    use proptest::prelude::*;

    fn think(t: &Harness, who: &str, s: &str) -> String {
        evaluate(&t.game, t.id(who), t.now, s, &mut Fuel::unlimited_time(10_000))
    }

    fn bare() -> (Harness, mush_protocol::Handle) {
        let mut t = Harness::new();
        let a = t.new_player("Alice");
        (t, a)
    }

    #[test]
    fn brackets_nest_and_functions_are_case_insensitive() {
        let (t, _) = bare();
        assert_eq!(think(&t, "Alice", "1 + 2 = [add(1,2)]"), "1 + 2 = 3");
        assert_eq!(think(&t, "Alice", "[ADD([mul(2,3)],sub(10,4))]!"), "12!");
        assert_eq!(
            think(&t, "Alice", "add(1, 2) and more"),
            "3 and more",
            "a leading call is evaluated"
        );
        assert_eq!(
            think(&t, "Alice", "x add(1,2)"),
            "x add(1,2)",
            "elsewhere text is text"
        );
        assert_eq!(think(&t, "Alice", "[[[add(1,1)]]]"), "2");
        assert_eq!(
            think(&t, "Alice", "[add(1,2)"),
            "[add(1,2)",
            "unclosed brackets stay"
        );
    }

    #[test]
    fn percent_substitutions_escapes_and_braces() {
        let (t, _) = bare();
        let id = t.id("Alice");
        assert_eq!(think(&t, "Alice", "a%rb%Rc"), "a\nb\nc");
        assert_eq!(think(&t, "Alice", "%n is %#."), format!("Alice is {id}."));
        assert_eq!(think(&t, "Alice", "100%% %q"), "100% q");
        assert_eq!(think(&t, "Alice", "\\[add(1,2)]"), "[add(1,2)]");
        assert_eq!(think(&t, "Alice", "{[add(1,2)], x}"), "[add(1,2)], x");
        assert_eq!(think(&t, "Alice", "words({a,b c})"), "2");
        assert_eq!(think(&t, "Alice", "trailing %"), "trailing %");
    }

    #[test]
    fn arithmetic_takes_integers_and_any_count_for_add_and_mul() {
        let (t, _) = bare();
        assert_eq!(think(&t, "Alice", "add(1,2,3,4)"), "10");
        assert_eq!(think(&t, "Alice", "mul(2,3,-4)"), "-24");
        assert_eq!(think(&t, "Alice", "sub(3,10)"), "-7");
        assert_eq!(think(&t, "Alice", "add(1,)"), "1", "empty is zero");
        assert_eq!(think(&t, "Alice", "add(1,x)"), "#-1 ARGUMENT MUST BE INTEGER");
        assert_eq!(think(&t, "Alice", "add(1.5,1)"), "#-1 ARGUMENT MUST BE INTEGER");
        assert_eq!(
            think(&t, "Alice", "mul(9223372036854775807,2)"),
            "#-1 INTEGER OVERFLOW"
        );
        assert_eq!(
            think(&t, "Alice", "add(1)"),
            "#-1 FUNCTION (ADD) EXPECTS AT LEAST 2 ARGUMENTS"
        );
        assert_eq!(
            think(&t, "Alice", "sub(1,2,3)"),
            "#-1 FUNCTION (SUB) EXPECTS 2 ARGUMENTS"
        );
        assert_eq!(
            think(&t, "Alice", "lnum()"),
            "#-1 FUNCTION (LNUM) EXPECTS BETWEEN 1 AND 3 ARGUMENTS"
        );
        assert_eq!(
            think(&t, "Alice", "strlen(a,b)"),
            "#-1 FUNCTION (STRLEN) EXPECTS 1 ARGUMENT"
        );
        assert_eq!(
            think(&t, "Alice", "secs(1)"),
            "#-1 FUNCTION (SECS) EXPECTS 0 ARGUMENTS"
        );
        assert_eq!(think(&t, "Alice", "[foo(1)] x"), "#-1 FUNCTION (FOO) NOT FOUND x");
    }

    #[test]
    fn lnum_counts_up_down_and_with_a_separator() {
        let (t, _) = bare();
        assert_eq!(think(&t, "Alice", "lnum(4)"), "0 1 2 3");
        assert_eq!(think(&t, "Alice", "lnum(0)"), "");
        assert_eq!(think(&t, "Alice", "lnum(3,5)"), "3 4 5");
        assert_eq!(think(&t, "Alice", "lnum(2,-1)"), "2 1 0 -1");
        assert_eq!(think(&t, "Alice", "lnum(1,3,|)"), "1|2|3");
        assert_eq!(think(&t, "Alice", "lnum(a)"), "#-1 ARGUMENT MUST BE INTEGER");
        let huge = think(&t, "Alice", "lnum(1,9223372036854775807)");
        assert!(
            huge.len() <= MAX_OUTPUT && huge.starts_with("1 2 3"),
            "{}",
            huge.len()
        );
        let top = think(&t, "Alice", "lnum(9223372036854775806,9223372036854775807)");
        assert_eq!(top, "9223372036854775806 9223372036854775807");
    }

    #[test]
    fn words_strlen_name() {
        let (t, _) = bare();
        assert_eq!(think(&t, "Alice", "words(a  b   c)"), "3");
        assert_eq!(think(&t, "Alice", "words(a|b||c,|)"), "4");
        assert_eq!(
            think(&t, "Alice", "words()"),
            "#-1 FUNCTION (WORDS) EXPECTS BETWEEN 1 AND 2 ARGUMENTS"
        );
        assert_eq!(think(&t, "Alice", "words(,|)"), "0");
        assert_eq!(think(&t, "Alice", "strlen(café)"), "4");
        assert_eq!(think(&t, "Alice", "name(#0)"), "The Lobby");
        assert_eq!(think(&t, "Alice", "name(me)"), "Alice");
        assert_eq!(think(&t, "Alice", "name(here)"), "The Lobby");
        assert_eq!(think(&t, "Alice", "name(#999)"), "#-1 NO MATCH");
    }

    #[test]
    fn conn_and_idle_follow_the_connections() {
        let (mut t, alice) = bare();
        t.advance(100);
        t.input(alice, "look");
        t.advance(30);
        let bob = t.new_player("Bob");
        t.advance(5);
        assert_eq!(think(&t, "Bob", "conn(Alice)"), "135");
        assert_eq!(think(&t, "Bob", "idle(alice)"), "35");
        assert_eq!(think(&t, "Alice", "conn(me) [idle(*bob)]"), "135 5");
        assert_eq!(think(&t, "Alice", "conn(Nobody)"), "-1");
        t.disconnect(bob);
        assert_eq!(think(&t, "Alice", "conn(Bob) [idle(Bob)]"), "-1 -1");
    }

    #[test]
    fn time_and_secs_use_now() {
        let (t, _) = bare();
        assert_eq!(think(&t, "Alice", "time()"), "Tue Nov 24 08:00:00 2026");
        assert_eq!(think(&t, "Alice", "secs()"), "1795507200");
    }

    #[test]
    fn recursion_calls_and_output_are_bounded() {
        let (t, _) = bare();
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        assert!(think(&t, "Alice", &deep).contains("RECURSION LIMIT"));
        let deep_calls = format!("{}1{}", "add(1,".repeat(200), ")".repeat(200));
        assert!(think(&t, "Alice", &deep_calls).contains("#-1"));
        let many = "[strlen(x)]".repeat(6_000);
        let out = think(&t, "Alice", &many);
        assert!(out.contains("INVOCATION LIMIT"), "{}", &out[..100]);
        let long = think(&t, "Alice", &"é".repeat(10_000));
        assert!(long.len() <= MAX_OUTPUT && long.len() > MAX_OUTPUT - 2);
    }

    #[test]
    fn fuel_spans_the_whole_line_and_stops_it() {
        let (t, _) = bare();
        let mut fuel = Fuel::unlimited_time(5);
        let out = evaluate(
            &t.game,
            t.id("Alice"),
            t.now,
            "[add(1,1)] [add(1,1)] [add(1,1)]",
            &mut fuel,
        );
        assert_eq!(
            out, "2 2 #-1 FUNCTION INVOCATION LIMIT EXCEEDED",
            "a bracket and a call cost 1 each"
        );
        assert!(fuel.is_exhausted());
        let mut fuel = Fuel::unlimited_time(1_000);
        let out = evaluate(&t.game, t.id("Alice"), t.now, "[lnum(1,5000)]", &mut fuel);
        assert!(out.len() > 8_000);
        assert_eq!(fuel.burned(), 2 + 8, "and each KiB a function returns");
    }

    #[test]
    fn unclosed_brackets_are_text_and_cost_no_rescan() {
        let (t, _) = bare();
        let line = format!("x {} [add(1,2)]", "[".repeat(8_100));
        let out = think(&t, "Alice", &line);
        assert_eq!(out, format!("x {} 3", "[".repeat(8_100)));
        let b = Brackets::of(&line);
        let opens = b.close.iter().filter(|c| **c != 0).count();
        assert_eq!(opens, 2, "only the last [ and its ( close");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn the_one_pass_table_finds_what_a_scan_from_each_bracket_finds(s in "[ab\\\\%\\[\\](){}]{0,40}") {
            let b = Brackets::of(&s);
            for (i, c) in s.char_indices() {
                if matches!(c, '[' | '(' | '{') {
                    // Positions a scan of the whole line reaches (not escaped).
                    let escaped = s[..i].bytes().rev().take_while(|b| *b == b'\\' || *b == b'%').count() % 2 == 1;
                    if escaped { continue; }
                    prop_assert_eq!(b.closer(&s, i), closer(&s, i), "at {} in {:?}", i, s);
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn any_input_evaluates_without_panic_within_bounds(s in "[a-z0-9(),\\[\\]{}%\\\\#rné€ ]{0,80}") {
            let t = Harness::new();
            let out = evaluate(&t.game, crate::game::LOBBY, t.now, &s, &mut Fuel::unlimited_time(10_000));
            prop_assert!(out.len() <= MAX_OUTPUT);
        }

        #[test]
        fn add_matches_integer_addition(a in -1_000_000i64..1_000_000, b in -1_000_000i64..1_000_000) {
            let t = Harness::new();
            let out = evaluate(&t.game, crate::game::LOBBY, t.now, &format!("[add({a},{b})] [sub({a},{b})] [mul({a},{b})]"), &mut Fuel::unlimited_time(10_000));
            prop_assert_eq!(out, format!("{} {} {}", a + b, a - b, a * b));
        }
    }
}
