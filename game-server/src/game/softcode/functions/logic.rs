//! Booleans and control: `and or not cand if switch case ...`, registers (`setq setr r
//! localize`), and the wildcard matcher [`wild_match`] other families share.
//!
//! Truth is PennMUSH's ([`truthy`]). The functions that decide what to evaluate (`cand`, `cor`,
//! `if`, `switch`, `case`, `localize`, `@@`) are lazy: each argument they do evaluate goes through
//! [`Evaluator::eval_arg`], which burns fuel, and the ones they skip cost nothing.
//!
//! `#$` in a `switch()` branch is the value switched on: the evaluator substitutes it from
//! [`Evaluator::switch`] while the branch runs (PennMUSH replaces the text before evaluating, so
//! there a `#$` inside a nested `switch()` is the outer value; here it is the innermost one, and
//! the value is never evaluated as code). `$0`-`$9` in a branch are the texts the pattern's
//! wildcards met (`switch(foo bazaar,f?o b*r,$0-$1)` is `o-azaa`).

use super::{Function, MANY, bool_str, eager, lazy, number, truthy};
use crate::game::softcode::{Evaluator, MAX_OUTPUT, OUT_OF_FUEL, push};

pub static FUNCTIONS: &[Function] = &[
    lazy("@@", 0, MANY, comment),
    eager("AND", 2, MANY, and),
    lazy("CAND", 2, MANY, cand),
    lazy("CASE", 3, MANY, case),
    lazy("CASEALL", 3, MANY, caseall),
    lazy("COR", 2, MANY, cor),
    lazy("IF", 2, 3, if_else),
    lazy("IFELSE", 3, 3, if_else),
    lazy("LOCALIZE", 1, 1, localize),
    eager("NAND", 1, MANY, nand),
    lazy("NCAND", 1, MANY, ncand),
    lazy("NCOR", 1, MANY, ncor),
    eager("NOR", 1, MANY, nor),
    eager("NOT", 1, 1, not),
    eager("NULL", 1, MANY, null),
    eager("OR", 2, MANY, or),
    eager("R", 1, 2, r),
    eager("SETQ", 2, MANY, setq),
    eager("SETR", 2, MANY, setr),
    lazy("SWITCH", 3, MANY, switch),
    lazy("SWITCHALL", 3, MANY, switchall),
    eager("T", 1, 1, t),
    eager("XOR", 2, MANY, xor),
];

pub const BAD_REGISTER: &str = "#-1 REGISTER NAME INVALID";
const ARG_RANGE: &str = "#-1 ARGUMENT OUT OF RANGE";

// ---------------------------------------------------------------------------------------------
// Wildcards.

use crate::game::wild;

/// A `switch()` pattern against the value: `>x`, `>=x`, `<x`, `<=x` compare (as numbers when both
/// are, else as text, as PennMUSH does, where `>=x` on numbers means more than x - 1); anything
/// else is a wildcard pattern.
fn switch_match(pattern: &str, value: &str) -> Option<Vec<String>> {
    let compare = |rest: &str, greater: bool| {
        let (or_equal, bound) = match rest.strip_prefix('=') {
            Some(b) => (true, b),
            None => (false, rest),
        };
        let m = if or_equal { 1.0 } else { 0.0 };
        let yes = match (number(bound), number(value)) {
            (Some(b), Some(v)) if greater => b < v + m,
            (Some(b), Some(v)) => b + m > v,
            _ if greater => bound < value || (or_equal && bound == value),
            _ => bound > value || (or_equal && bound == value),
        };
        yes.then(Vec::new)
    };
    if let Some(rest) = pattern.strip_prefix('>') {
        return compare(rest, true);
    }
    if let Some(rest) = pattern.strip_prefix('<') {
        return compare(rest, false);
    }
    wild::captures(pattern, value)
}

// ---------------------------------------------------------------------------------------------
// Booleans.

fn and(_: &mut Evaluator<'_>, args: &[String]) -> String {
    bool_str(args.iter().all(|a| truthy(a)))
}

fn or(_: &mut Evaluator<'_>, args: &[String]) -> String {
    bool_str(args.iter().any(|a| truthy(a)))
}

/// True when exactly one argument is.
fn xor(_: &mut Evaluator<'_>, args: &[String]) -> String {
    bool_str(args.iter().filter(|a| truthy(a)).count() == 1)
}

fn nand(_: &mut Evaluator<'_>, args: &[String]) -> String {
    bool_str(!args.iter().all(|a| truthy(a)))
}

fn nor(_: &mut Evaluator<'_>, args: &[String]) -> String {
    bool_str(!args.iter().any(|a| truthy(a)))
}

fn not(_: &mut Evaluator<'_>, args: &[String]) -> String {
    bool_str(!truthy(&args[0]))
}

fn t(_: &mut Evaluator<'_>, args: &[String]) -> String {
    bool_str(truthy(&args[0]))
}

/// Evaluates the arguments in order until one is `stop_at` (true or false); returns whether one
/// was.
fn short_circuit(ev: &mut Evaluator<'_>, raw: &[&str], stop_at: bool) -> bool {
    for arg in raw {
        let value = ev.eval_arg(arg);
        if truthy(&value) == stop_at {
            return true;
        }
        if ev.fuel.is_exhausted() {
            return false;
        }
    }
    false
}

/// `and()` that stops at the first false argument.
fn cand(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    bool_str(!short_circuit(ev, raw, false))
}

/// `or()` that stops at the first true argument.
fn cor(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    bool_str(short_circuit(ev, raw, true))
}

fn ncand(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    bool_str(short_circuit(ev, raw, false))
}

fn ncor(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    bool_str(!short_circuit(ev, raw, true))
}

// ---------------------------------------------------------------------------------------------
// Control.

/// `if(cond, then[, else])` and `ifelse(cond, then, else)`: only the branch taken is evaluated.
fn if_else(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    let cond = ev.eval_arg(raw[0]);
    if truthy(&cond) {
        ev.eval_arg(raw[1])
    } else {
        raw.get(2).map_or_else(String::new, |branch| ev.eval_arg(branch))
    }
}

fn switch(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    choose(
        ev,
        raw,
        Choice {
            all: false,
            exact: false,
        },
    )
}

fn switchall(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    choose(
        ev,
        raw,
        Choice {
            all: true,
            exact: false,
        },
    )
}

fn case(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    choose(
        ev,
        raw,
        Choice {
            all: false,
            exact: true,
        },
    )
}

fn caseall(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    choose(
        ev,
        raw,
        Choice {
            all: true,
            exact: true,
        },
    )
}

#[derive(Clone, Copy)]
struct Choice {
    /// Every matching branch (`switchall`, `caseall`) rather than the first.
    all: bool,
    /// Exact, case-sensitive comparison, no `#$` nor `$n` (`case`, `caseall`).
    exact: bool,
}

/// `switch(value, pattern1, branch1, ..., [default])` and its kin: patterns are evaluated in
/// order until one matches (all of them for the `all` forms); only matching branches (or the
/// default when none matched) are evaluated.
fn choose(ev: &mut Evaluator<'_>, raw: &[&str], how: Choice) -> String {
    let value = ev.eval_arg(raw[0]);
    let mut out = String::new();
    let mut matched = false;
    for pair in raw[1..].chunks_exact(2) {
        if ev.fuel.is_exhausted() {
            return out;
        }
        let pattern = ev.eval_arg(pair[0]);
        let captures = if how.exact {
            (pattern == value).then(Vec::new)
        } else {
            switch_match(&pattern, &value)
        };
        if let Some(captures) = captures {
            matched = true;
            let branch = branch(ev, pair[1], &value, &captures, how.exact);
            push(&mut out, &branch);
            if !how.all || out.len() >= MAX_OUTPUT {
                return out;
            }
        }
    }
    if !matched && raw.len().is_multiple_of(2) {
        let default = raw[raw.len() - 1];
        return branch(ev, default, &value, &[], how.exact);
    }
    out
}

/// Evaluates a branch: for `switch()`, with `#$` the value and `$0`-`$9` the captures.
fn branch(ev: &mut Evaluator<'_>, raw: &str, value: &str, captures: &[String], exact: bool) -> String {
    if exact {
        return ev.eval_arg(raw);
    }
    ev.switch.push(value.to_owned());
    let out = match with_captures(raw, captures) {
        None => ev.eval_arg(raw),
        Some(code) => {
            if ev.fuel.burn(1) {
                ev.eval(code.trim())
            } else {
                OUT_OF_FUEL.to_owned()
            }
        }
    };
    ev.switch.pop();
    out
}

/// `raw` with each `$n` (outside braces, not escaped) replaced by capture `n`, escaped so the
/// capture stays text; `None` when there is nothing to replace.
fn with_captures(raw: &str, captures: &[String]) -> Option<String> {
    if captures.is_empty() || !raw.contains('$') {
        return None;
    }
    let mut out = String::with_capacity(raw.len());
    let mut replaced = false;
    let mut depth = 0usize;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' | '%' => {
                out.push(c);
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '{' => {
                depth += 1;
                out.push(c);
            }
            '}' => {
                depth = depth.saturating_sub(1);
                out.push(c);
            }
            '$' if depth == 0 => {
                let n = chars.peek().and_then(|d| d.to_digit(10)).map(|d| d as usize);
                match n.and_then(|n| captures.get(n)) {
                    Some(capture) => {
                        chars.next();
                        replaced = true;
                        for ch in capture.chars() {
                            if "\\[](){},%;$#".contains(ch) {
                                out.push('\\');
                            }
                            out.push(ch);
                        }
                    }
                    None => out.push(c),
                }
            }
            c => out.push(c),
        }
        if out.len() > 4 * MAX_OUTPUT {
            break;
        }
    }
    replaced.then_some(out)
}

// ---------------------------------------------------------------------------------------------
// Registers and the rest.

/// `setq(reg, value, ...)`: sets registers in pairs (all values were evaluated first), returns
/// nothing.
fn setq(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    set_registers(ev, args, "SETQ").err().unwrap_or_default()
}

/// `setr()`: `setq()` that returns the first value.
fn setr(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    match set_registers(ev, args, "SETR") {
        Ok(()) => args[1].clone(),
        Err(e) => e,
    }
}

/// Sets every valid register of the pairs; the error (once) if a name was no register.
fn set_registers(ev: &mut Evaluator<'_>, args: &[String], name: &str) -> Result<(), String> {
    if !args.len().is_multiple_of(2) {
        return Err(format!(
            "#-1 FUNCTION ({name}) EXPECTS AN EVEN NUMBER OF ARGUMENTS"
        ));
    }
    let mut valid = true;
    for pair in args.chunks_exact(2) {
        valid &= ev.registers.set(&pair[0], pair[1].clone());
    }
    if valid {
        Ok(())
    } else {
        Err(BAD_REGISTER.to_owned())
    }
}

/// `r(reg)`: a register's value. `r(n, args)` is `%n`; `r(n, iter)` and `r(n, switch)` the
/// `n`th enclosing `iter()` item or `switch()` value (0 the innermost, `L` the outermost).
fn r(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let name = args[0].trim();
    let kind = args
        .get(1)
        .map(|k| k.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let is = |word: &str| !kind.is_empty() && word.starts_with(kind.as_str());
    if kind.is_empty() || is("qregisters") {
        return ev
            .registers
            .get(name)
            .map_or(BAD_REGISTER.to_owned(), str::to_owned);
    }
    if is("args") || is("stack") {
        return name
            .parse::<usize>()
            .ok()
            .and_then(|n| ev.args.get(n))
            .cloned()
            .unwrap_or_default();
    }
    if is("regexp") {
        return String::new();
    }
    let stack: Vec<String> = if is("iter") {
        ev.iter.iter().map(|f| f.item.clone()).collect()
    } else if is("switch") {
        ev.switch.clone()
    } else {
        return "#-1".to_owned();
    };
    let level = if name.eq_ignore_ascii_case("l") {
        stack.len().checked_sub(1)
    } else {
        match name.parse::<usize>() {
            Ok(n) => Some(n),
            Err(_) => return BAD_REGISTER.to_owned(),
        }
    };
    level
        .and_then(|n| stack.len().checked_sub(n + 1))
        .map_or(ARG_RANGE.to_owned(), |i| stack[i].clone())
}

/// `null(...)`: evaluates its arguments (for their effects) and returns nothing.
fn null(_: &mut Evaluator<'_>, _: &[String]) -> String {
    String::new()
}

/// `@@(...)`: a comment; nothing is evaluated.
fn comment(_: &mut Evaluator<'_>, _: &[&str]) -> String {
    String::new()
}

/// `localize(code)`: evaluates `code`, then puts the registers back as they were.
fn localize(ev: &mut Evaluator<'_>, raw: &[&str]) -> String {
    let saved = ev.registers.clone();
    let out = ev.eval_arg(raw[0]);
    ev.registers = saved;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::budget::Fuel;
    use crate::game::softcode::conformance::all;
    use crate::game::softcode::conformance::fixture;
    use crate::game::softcode::functions;
    use crate::game::world::ObjectId;
    use mush_protocol::Timestamp;
    use proptest::prelude::*;

    #[test]
    fn wildcards_match_case_insensitively_with_escapes() {
        for (p, s) in [
            ("*", ""),
            ("*", "anything"),
            ("a*", "ABC"),
            ("*c", "abc"),
            ("a?c", "abc"),
            ("*Baz", "Foo bar baz"),
            ("*o*a*", "Foo bar baz"),
            ("a\\*c", "a*c"),
            ("a\\?", "a?"),
            ("", ""),
            ("**a**", "xay"),
            ("é*", "Été"),
        ] {
            assert!(wild::matches(p, s), "{p:?} {s:?}");
        }
        for (p, s) in [
            ("*Foo", "Foo bar baz"),
            ("a?c", "ac"),
            ("a\\*c", "abc"),
            ("", "x"),
            ("?", ""),
            ("abc", "abcd"),
        ] {
            assert!(!wild::matches(p, s), "{p:?} {s:?}");
        }
        assert_eq!(wild::captures("f?o b*r", "foo bazaar").unwrap(), ["o", "azaa"]);
        assert_eq!(wild::captures("*:*", "foo:bar:baz").unwrap(), ["foo", "bar:baz"]);
        assert_eq!(wild::captures("a*", "a").unwrap(), [""]);
    }

    #[test]
    fn wildcards_take_at_most_quadratic_time() {
        let text = "a".repeat(8_000);
        let pattern = format!("{}b", "*a".repeat(50));
        let start = std::time::Instant::now();
        assert!(!wild::matches(&pattern, &text));
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn booleans() {
        all(&[
            ("and(1,1)", "1"),
            ("and(1,0)", "0"),
            ("and(1,abc,#0)", "1"),
            ("and(1,#-1)", "0"),
            ("or(0,0)", "0"),
            ("or(0,x)", "1"),
            ("xor(1,0,0)", "1"),
            ("xor(1,1)", "0"),
            ("nand(1,1)", "0"),
            ("nand(1,0)", "1"),
            ("nor(0,0)", "1"),
            ("nor(0,1)", "0"),
            ("not(0)", "1"),
            ("not(abc)", "0"),
            ("t(#-1 NO MATCH)", "0"),
            ("t(%b)", "0"),
            ("t(-0.5)", "1"),
            ("and(1)", "#-1 FUNCTION (AND) EXPECTS AT LEAST 2 ARGUMENTS"),
            ("cand(1,0,[setq(0,ran)])%q0", "0"),
            ("cand(1,1,[setq(0,ran)]1)%q0", "1ran"),
            ("cor(0,1,[setq(0,ran)])%q0", "1"),
            ("cor(0,0,[setq(0,ran)])%q0", "0ran"),
            ("ncand(1,0)", "1"),
            ("ncor(0,0)", "1"),
        ]);
    }

    #[test]
    fn if_evaluates_only_the_branch_taken() {
        all(&[
            ("if(1,yes,no)", "yes"),
            ("if(0,yes,no)", "no"),
            ("if(0,yes)", ""),
            ("if(#-1,yes,no)", "no"),
            ("ifelse(abc,yes,no)", "yes"),
            ("if(1,[setq(0,a)]a,[setq(1,b)]b)%q0%q1", "aa"),
            ("if(0,[setq(0,a)]a,[setq(1,b)]b)%q0%q1", "bb"),
            ("ifelse(1,2)", "#-1 FUNCTION (IFELSE) EXPECTS 3 ARGUMENTS"),
        ]);
    }

    #[test]
    fn switch_and_case() {
        all(&[
            ("switch(test,*a*,foo,*b*,bar,*t*,neat,baz)", "neat"),
            ("switchall(ack,*a*,foo,*b*,bar,*c*,neat,baz)", "fooneat"),
            ("switch(moof,*a*,foo,*b*,bar,*t*,neat,baz)", "baz"),
            ("switch(moof,*a*,foo,*b*,bar,*t*,neat,#$)", "moof"),
            ("switch(moof,*a*,foo)", ""),
            ("switch(MOOF,m*,[strlen(#$)])", "4"),
            ("case(moof,*f,foo,moof,bar,baz)", "bar"),
            ("case(Moof,moof,bar,baz)", "baz"),
            ("case(moof,moof,#$)", "#$"),
            ("caseall(a,a,1,b,2,a,3)", "13"),
            ("switch(foo bazaar,f?o b*r,$0-$1)", "o-azaa"),
            ("switch(a\\[b,a*,$0)", "[b"),
            ("switch(ab,a*,{$0})", "$0"),
            ("switch(5,>3,big,small)", "big"),
            ("switch(2,>3,big,small)", "small"),
            ("switch(3,>=3,big,small)", "big"),
            ("switch(3,<3,low,high)", "high"),
            ("switch(3,<=3,low,high)", "low"),
            ("switch(b,>a,after,before)", "after"),
            ("switch(x,x,[setq(0,1)],x,[setq(1,1)])%q0%q1", "1"),
            ("switch(y,x,[setq(0,1)]a,[setq(1,1)]b)%q0%q1", "b1"),
            ("switch(a,a,switch(b,b,#$))", "b"),
            ("switch(a)", "#-1 FUNCTION (SWITCH) EXPECTS AT LEAST 3 ARGUMENTS"),
        ]);
    }

    #[test]
    fn registers_set_read_and_localize() {
        all(&[
            ("setq(0,foo)%q0", "foo"),
            ("setr(a,bar)-%qa-%qA", "bar-bar-bar"),
            ("setq(0,x,1,y)%q0%q1", "xy"),
            ("setq(a,1,b,2)[setq(a,%qb,b,%qa)]%qa%qb", "21"),
            (
                "setq(0,x,1)",
                "#-1 FUNCTION (SETQ) EXPECTS AN EVEN NUMBER OF ARGUMENTS",
            ),
            ("setq(foo,x)", BAD_REGISTER),
            ("setr(0,x,foo,y)%q0", "#-1 REGISTER NAME INVALIDx"),
            ("setq(0,x)[r(0)]", "x"),
            ("r(z)", ""),
            ("r(foo)", BAD_REGISTER),
            ("setr(0,Outside)-[setr(0,Inside)]-%q0", "Outside-Inside-Inside"),
            (
                "setr(0,Outside)-[localize(setr(0,Inside))]-%q0",
                "Outside-Inside-Outside",
            ),
            ("switch(abc,a*,r(0,switch))", "abc"),
            ("switch(a,a,switch(b,b,r(1,switch)))", "a"),
            ("switch(a,a,r(L,switch))", "a"),
            ("switch(a,a,r(1,switch))", ARG_RANGE),
            ("r(0,frob)", "#-1"),
            ("null(setq(0,side))%q0", "side"),
            ("null(a,b,c)", ""),
        ]);
        assert!(functions::find("@@").is_some());
    }

    #[test]
    fn lazy_functions_burn_fuel_for_what_they_evaluate() {
        let game = fixture();
        let now = Timestamp::from_micros(1_795_507_200 * 1_000_000);
        let mut fuel = Fuel::unlimited_time(1_000);
        let out = Evaluator::new(&game, now, &mut fuel, ObjectId(2), ObjectId(2))
            .eval("if(1,a,[add(1,1)][add(1,1)][add(1,1)])");
        assert_eq!(out, "a");
        let short = fuel.burned();
        let mut fuel = Fuel::unlimited_time(1_000);
        Evaluator::new(&game, now, &mut fuel, ObjectId(2), ObjectId(2))
            .eval("if(0,a,[add(1,1)][add(1,1)][add(1,1)])");
        assert!(fuel.burned() > short + 3, "{} vs {short}", fuel.burned());
        let mut fuel = Fuel::unlimited_time(50);
        let line = format!("switch(x,{}x,done)", "y,[add(1,1)],".repeat(200));
        let out = Evaluator::new(&game, now, &mut fuel, ObjectId(2), ObjectId(2)).eval(&line);
        assert!(fuel.is_exhausted());
        assert_ne!(out, "done");
        let mut fuel = Fuel::unlimited_time(100);
        let deep = format!("{}x{}", "localize(".repeat(200), ")".repeat(200));
        let out = Evaluator::new(&game, now, &mut fuel, ObjectId(2), ObjectId(2)).eval(&deep);
        assert!(out.contains("#-1"), "{out}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn a_literal_pattern_matches_itself_and_star_matches_all(s in "[a-zA-Z0-9 .]{0,30}") {
            prop_assert!(wild::matches(&s, &s));
            prop_assert!(wild::matches(&s.to_uppercase(), &s));
            prop_assert!(wild::matches("*", &s));
            let with_star = format!("{}*", s.chars().take(3).collect::<String>());
            prop_assert!(wild::matches(&with_star, &s));
        }

        #[test]
        fn captures_rebuild_the_text(a in "[a-z]{0,8}", b in "[a-z]{0,8}") {
            let text = format!("{a}:{b}");
            let caps = wild::captures("*:*", &text).unwrap();
            prop_assert_eq!(format!("{}:{}", caps[0], caps[1]), text);
        }
    }
}
