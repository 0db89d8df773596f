//! The function table: every softcode function, one module per family, found by name
//! case-insensitively. Adding a function is one entry in its family's `FUNCTIONS` and its code
//! beside it, with tests there; `tests/conformance.txt` holds PennMUSH's expected answers.
//!
//! * [`math`], arithmetic, comparison, numbers.
//! * [`strings`], text.
//! * [`lists`], word lists, sets, `iter()` and friends.
//! * [`logic`], booleans and control (`if`, `switch`, `case`...), registers.
//! * [`objects`], the world (names, locations, attributes, flags, `u()`), permissions applied.
//! * [`time`], clocks and durations.
//! * [`output`], `pemit()`, `emit()`... (side effects the calling command makes).

pub mod lists;
pub mod logic;
pub mod math;
pub mod objects;
pub mod output;
pub mod strings;
pub mod time;

use std::collections::HashMap;
use std::sync::LazyLock;

use super::Evaluator;

/// How a function gets its arguments.
#[derive(Clone, Copy)]
pub enum Run {
    /// Evaluated first, left to right (most functions).
    Eager(fn(&mut Evaluator<'_>, &[String]) -> String),
    /// As written: the function evaluates what it needs ([`Evaluator::eval_arg`]); for `if`,
    /// `switch`, `iter` and the like, which must not evaluate the branches they skip.
    Lazy(fn(&mut Evaluator<'_>, &[&str]) -> String),
}

pub struct Function {
    pub name: &'static str,
    pub min: usize,
    pub max: usize,
    pub run: Run,
}

pub const MANY: usize = usize::MAX;

/// An eagerly evaluated function (for the family tables).
pub const fn eager(
    name: &'static str,
    min: usize,
    max: usize,
    run: fn(&mut Evaluator<'_>, &[String]) -> String,
) -> Function {
    Function {
        name,
        min,
        max,
        run: Run::Eager(run),
    }
}

/// A function that evaluates its own arguments (see [`Run::Lazy`]).
pub const fn lazy(
    name: &'static str,
    min: usize,
    max: usize,
    run: fn(&mut Evaluator<'_>, &[&str]) -> String,
) -> Function {
    Function {
        name,
        min,
        max,
        run: Run::Lazy(run),
    }
}

static FAMILIES: &[&[Function]] = &[
    math::FUNCTIONS,
    strings::FUNCTIONS,
    lists::FUNCTIONS,
    logic::FUNCTIONS,
    objects::FUNCTIONS,
    time::FUNCTIONS,
    output::FUNCTIONS,
];

static TABLE: LazyLock<HashMap<&'static str, &'static Function>> = LazyLock::new(|| {
    let mut table = HashMap::new();
    for f in FAMILIES.iter().flat_map(|family| family.iter()) {
        let old = table.insert(f.name, f);
        assert!(old.is_none(), "{} is defined twice", f.name);
    }
    table
});

/// The function called `name` (any case).
pub fn find(name: &str) -> Option<&'static Function> {
    if name.len() > 32 {
        return None;
    }
    TABLE.get(name.to_ascii_uppercase().as_str()).copied()
}

/// Every function's name, sorted (for `@function`, help, the conformance count).
pub fn names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = TABLE.keys().copied().collect();
    names.sort_unstable();
    names
}

pub fn arity_error(f: &Function) -> String {
    let expects = match (f.min, f.max) {
        (1, 1) => "1 ARGUMENT".to_owned(),
        (a, b) if a == b => format!("{a} ARGUMENTS"),
        (a, MANY) => format!("AT LEAST {a} ARGUMENTS"),
        (a, b) => format!("BETWEEN {a} AND {b} ARGUMENTS"),
    };
    format!("#-1 FUNCTION ({}) EXPECTS {expects}", f.name)
}

// Shared helpers for the families.

pub const NOT_INTEGER: &str = "#-1 ARGUMENT MUST BE INTEGER";
pub const NOT_NUMBERS: &str = "#-1 ARGUMENTS MUST BE NUMBERS";
pub const OVERFLOW: &str = "#-1 INTEGER OVERFLOW";

/// An integer argument; empty counts as 0, as in PennMUSH.
pub fn int(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() { Some(0) } else { s.parse().ok() }
}

/// A number argument (integer or decimal); empty counts as 0.
pub fn number(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() {
        return Some(0.0);
    }
    let n: f64 = s.parse().ok()?;
    n.is_finite().then_some(n)
}

/// A number as PennMUSH prints it: integers without a point, others with at most 6 decimals
/// and no trailing zeros.
pub fn show_number(n: f64) -> String {
    if !n.is_finite() {
        return "#-1 NUMBER OUT OF RANGE".to_owned();
    }
    if n == n.trunc() && n.abs() < 1e15 {
        return format!("{}", n as i64);
    }
    let s = format!("{n:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".to_owned() } else { s.to_owned() }
}

/// PennMUSH truth: false is empty, `0`, a negative dbref (`#-1`) or only spaces; true otherwise.
pub fn truthy(s: &str) -> bool {
    let t = s.trim();
    if t.is_empty() {
        return false;
    }
    if let Some(rest) = t.strip_prefix("#-") {
        return !rest.chars().next().is_some_and(|c| c.is_ascii_digit());
    }
    match number(t) {
        Some(n) if t.parse::<f64>().is_ok() => n != 0.0,
        _ => true,
    }
}

pub fn bool_str(b: bool) -> String {
    if b { "1" } else { "0" }.to_owned()
}

/// The words of a list: split at `delim` (a space delimiter splits at runs of spaces and
/// ignores leading and trailing ones, as PennMUSH does).
pub fn items<'s>(list: &'s str, delim: &str) -> Vec<&'s str> {
    if delim.is_empty() || delim == " " {
        list.split(' ').filter(|w| !w.is_empty()).collect()
    } else if list.is_empty() {
        Vec::new()
    } else {
        list.split(delim).collect()
    }
}

/// The delimiter argument at `i`, a space when absent or empty.
pub fn delim_at(args: &[String], i: usize) -> &str {
    match args.get(i).map(String::as_str) {
        None | Some("") => " ",
        Some(d) => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_upper_case_and_found_in_any_case() {
        for name in names() {
            assert_eq!(name, name.to_ascii_uppercase());
            assert!(find(&name.to_ascii_lowercase()).is_some());
        }
    }

    #[test]
    fn numbers_print_as_pennmush_prints_them() {
        assert_eq!(show_number(3.0), "3");
        assert_eq!(show_number(-2.5), "-2.5");
        assert_eq!(show_number(1.0 / 3.0), "0.333333");
        assert_eq!(show_number(0.1 + 0.2), "0.3");
        assert_eq!(show_number(-0.0000001), "0");
    }

    #[test]
    fn truth_is_pennmushs() {
        for t in ["1", "-1", "abc", "#0", "0.5", " x "] {
            assert!(truthy(t), "{t:?}");
        }
        for f in ["", "0", "  ", "#-1", "#-2", "0.0", "-0"] {
            assert!(!truthy(f), "{f:?}");
        }
        assert_eq!(items("  a  b c ", " "), ["a", "b", "c"]);
        assert_eq!(items("a||b", "|"), ["a", "", "b"]);
        assert!(items("", "|").is_empty());
    }
}
