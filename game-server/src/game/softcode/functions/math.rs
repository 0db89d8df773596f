//! Arithmetic and numbers: `add sub mul div mod round power lmath rand baseconv vadd ...`.
//! Integers stay integers (with overflow caught); anything with a decimal point is computed as a
//! float and printed as PennMUSH prints it (at most 6 decimals, no trailing zeros).
//!
//! Where PennMUSH has two error texts, the singular is for one-argument functions
//! (`#-1 ARGUMENT MUST BE NUMBER`) and the plural for the rest (`#-1 ARGUMENTS MUST BE NUMBERS`).
//! An empty argument counts as 0, as everywhere in this game's softcode (PennMUSH's
//! `null_eq_zero`). Integers are 64-bit (PennMUSH's are 32-bit), so the integer-only functions
//! accept a wider range.
//!
//! Why bounded: every loop runs over the arguments or the items of a list the caller already
//! paid for; `die()` rolls at most 700 dice; outputs are cut at [`MAX_OUTPUT`].

use std::cell::Cell;

use super::{
    Function, MANY, NOT_INTEGER, NOT_NUMBERS, OVERFLOW, delim_at, eager, int, items, number, show_number,
    truthy,
};
use crate::game::softcode::{Evaluator, MAX_OUTPUT, push};

pub static FUNCTIONS: &[Function] = &[
    eager("ABS", 1, 1, abs),
    eager("ADD", 2, MANY, add),
    eager("BAND", 1, MANY, band),
    eager("BASECONV", 3, 3, baseconv),
    eager("BNAND", 2, 2, bnand),
    eager("BNOT", 1, 1, bnot),
    eager("BOR", 1, MANY, bor),
    eager("BOUND", 2, 3, bound),
    eager("BXOR", 1, MANY, bxor),
    eager("CEIL", 1, 1, ceil),
    eager("DEC", 1, 1, dec),
    eager("DIE", 2, 3, die),
    eager("DIST2D", 4, 4, dist2d),
    eager("DIST3D", 6, 6, dist3d),
    eager("DIV", 2, MANY, div),
    eager("E", 0, 1, e),
    eager("EQ", 2, MANY, eq),
    eager("EXP", 1, 1, exp),
    eager("FDIV", 2, MANY, fdiv),
    eager("FLOOR", 1, 1, floor),
    eager("FLOORDIV", 2, MANY, floordiv),
    eager("FMOD", 2, 2, fmod),
    eager("GT", 2, MANY, gt),
    eager("GTE", 2, MANY, gte),
    eager("INC", 1, 1, inc),
    eager("ISINT", 1, 1, isint),
    eager("ISNUM", 1, 1, isnum),
    eager("LMATH", 2, 3, lmath),
    eager("LN", 1, 1, ln),
    eager("LOG", 1, 2, log),
    eager("LT", 2, MANY, lt),
    eager("LTE", 2, MANY, lte),
    eager("MAX", 1, MANY, max),
    eager("MEAN", 1, MANY, mean),
    eager("MEDIAN", 1, MANY, median),
    eager("MIN", 1, MANY, min),
    eager("MOD", 2, MANY, modulo),
    eager("MODULO", 2, MANY, modulo),
    eager("MODULUS", 2, MANY, modulo),
    eager("MUL", 2, MANY, mul),
    eager("NEQ", 2, MANY, neq),
    eager("PI", 0, 0, pi),
    eager("POWER", 2, 2, power),
    eager("RAND", 0, 2, rand),
    eager("REMAINDER", 2, MANY, remainder),
    eager("ROOT", 2, 2, root),
    eager("ROUND", 1, 3, round),
    eager("SHL", 2, 2, shl),
    eager("SHR", 2, 2, shr),
    eager("SIGN", 1, 1, sign),
    eager("SQRT", 1, 1, sqrt),
    eager("STDDEV", 1, MANY, stddev),
    eager("SUB", 2, 2, sub),
    eager("TRUNC", 1, 1, trunc),
    eager("VADD", 2, 3, vadd),
    eager("VAL", 1, 1, trunc),
    eager("VCROSS", 2, 3, vcross),
    eager("VDIM", 1, 2, vdim),
    eager("VDOT", 2, 3, vdot),
    eager("VMAG", 1, 2, vmag),
    eager("VMAX", 2, 3, vmax),
    eager("VMIN", 2, 3, vmin),
    eager("VMUL", 2, 3, vmul),
    eager("VSUB", 2, 3, vsub),
    eager("VUNIT", 1, 2, vunit),
];

pub const NOT_NUMBER: &str = "#-1 ARGUMENT MUST BE NUMBER";
pub const NOT_INTEGERS: &str = "#-1 ARGUMENTS MUST BE INTEGERS";
pub const NOT_UINT: &str = "#-1 ARGUMENT MUST BE POSITIVE INTEGER";
pub const NOT_UINTS: &str = "#-1 ARGUMENTS MUST BE POSITIVE INTEGERS";
pub const DIVISION_BY_ZERO: &str = "#-1 DIVISION BY ZERO";
pub const OUT_OF_RANGE: &str = "#-1 OUT OF RANGE";
const DOMAIN_ERROR: &str = "#-1 DOMAIN ERROR";
const COMPARISON: &str = "#-1 COMPARISON REQUIRES 2 OR MORE NUMBERS";
const SAME_DIMENSIONS: &str = "#-1 VECTORS MUST BE SAME DIMENSIONS";
const NOT_EMPTY: &str = "#-1 VECTOR MUST NOT BE EMPTY";

/// Two floats closer than this are equal (PennMUSH's comparison epsilon).
const EPSILON: f64 = 0.000_000_001;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < EPSILON
}

/// A number that is really written (not empty): `isnum()`, `fmod()`.
fn strict_number(s: &str) -> Option<f64> {
    if s.trim().is_empty() { None } else { number(s) }
}

/// An integer that is really written (not empty): `isint()`, `rand()`.
fn strict_int(s: &str) -> Option<i64> {
    if s.trim().is_empty() { None } else { int(s) }
}

/// A non-negative integer (`+` allowed, no `-`); empty counts as 0.
fn uint(s: &str) -> Option<u64> {
    let t = s.trim();
    if t.is_empty() {
        return Some(0);
    }
    if !t.starts_with(|c: char| c.is_ascii_digit() || c == '+') {
        return None;
    }
    t.parse().ok()
}

/// The numbers of a list, or `None` if one is not a number.
fn numbers<S: AsRef<str>>(args: &[S]) -> Option<Vec<f64>> {
    args.iter().map(|a| number(a.as_ref())).collect()
}

/// The integers of a list, or `None` if one is not an integer.
fn integers<S: AsRef<str>>(args: &[S]) -> Option<Vec<i64>> {
    args.iter().map(|a| int(a.as_ref())).collect()
}

// ---------------------------------------------------------------------------------------------
// The operations, on lists of words (so `lmath()` shares them with the functions).

/// Folds with an integer operation when all are integers, else with the float one.
fn fold<S: AsRef<str>>(
    args: &[S],
    int_op: fn(i64, i64) -> Option<i64>,
    float_op: fn(f64, f64) -> f64,
) -> String {
    if args.is_empty() {
        return "0".to_owned();
    }
    if let Some(ns) = integers(args) {
        let mut acc = ns[0];
        for n in &ns[1..] {
            match int_op(acc, *n) {
                Some(v) => acc = v,
                None => return OVERFLOW.to_owned(),
            }
        }
        return acc.to_string();
    }
    let Some(ns) = numbers(args) else {
        return NOT_NUMBERS.to_owned();
    };
    show_number(ns[1..].iter().fold(ns[0], |a, b| float_op(a, *b)))
}

/// Folds integers with an operation that may divide by zero; checked left to right, as PennMUSH
/// does (so `div(1,0,x)` is a division by zero).
fn int_fold<S: AsRef<str>>(args: &[S], op: fn(i64, i64) -> Option<i64>) -> String {
    let Some((first, rest)) = args.split_first() else {
        return "0".to_owned();
    };
    let Some(mut acc) = int(first.as_ref()) else {
        return NOT_INTEGERS.to_owned();
    };
    for a in rest {
        let Some(n) = int(a.as_ref()) else {
            return NOT_INTEGERS.to_owned();
        };
        if n == 0 {
            return DIVISION_BY_ZERO.to_owned();
        }
        match op(acc, n) {
            Some(v) => acc = v,
            None => return DOMAIN_ERROR.to_owned(),
        }
    }
    acc.to_string()
}

fn floor_div(a: i64, b: i64) -> Option<i64> {
    let q = a.checked_div(b)?;
    Some(if a % b != 0 && ((a < 0) != (b < 0)) {
        q - 1
    } else {
        q
    })
}

fn floor_mod(a: i64, b: i64) -> Option<i64> {
    let r = a.checked_rem(b)?;
    Some(if r != 0 && ((r < 0) != (b < 0)) { r + b } else { r })
}

fn op_fdiv<S: AsRef<str>>(args: &[S]) -> String {
    let Some(ns) = numbers(args) else {
        return NOT_NUMBERS.to_owned();
    };
    let Some((first, rest)) = ns.split_first() else {
        return "0".to_owned();
    };
    let mut acc = *first;
    for n in rest {
        if close(*n, 0.0) {
            return DIVISION_BY_ZERO.to_owned();
        }
        acc /= n;
    }
    show_number(acc)
}

/// `max`/`min`: integers compare as integers (no precision lost), anything else as floats.
fn extreme<S: AsRef<str>>(args: &[S], want_max: bool) -> String {
    if args.is_empty() {
        return "0".to_owned();
    }
    if let Some(ns) = integers(args) {
        let best = if want_max {
            ns.iter().max()
        } else {
            ns.iter().min()
        };
        return best.copied().unwrap_or(0).to_string();
    }
    let Some(ns) = numbers(args) else {
        return NOT_NUMBERS.to_owned();
    };
    let best = ns[1..]
        .iter()
        .fold(ns[0], |a, b| if (*b > a) == want_max { *b } else { a });
    show_number(best)
}

fn op_mean<S: AsRef<str>>(args: &[S]) -> String {
    match numbers(args) {
        None => NOT_NUMBERS.to_owned(),
        Some(ns) if ns.is_empty() => "0".to_owned(),
        Some(ns) => show_number(ns.iter().sum::<f64>() / ns.len() as f64),
    }
}

fn op_median<S: AsRef<str>>(args: &[S]) -> String {
    let Some(mut ns) = numbers(args) else {
        return NOT_NUMBERS.to_owned();
    };
    if ns.is_empty() {
        return "0".to_owned();
    }
    ns.sort_by(f64::total_cmp);
    let mid = ns.len() / 2;
    let median = if ns.len() % 2 == 1 {
        ns[mid]
    } else {
        (ns[mid - 1] + ns[mid]) / 2.0
    };
    show_number(median)
}

/// The sample standard deviation (0 for fewer than two numbers).
fn op_stddev<S: AsRef<str>>(args: &[S]) -> String {
    let Some(ns) = numbers(args) else {
        return NOT_NUMBERS.to_owned();
    };
    if ns.len() < 2 {
        return "0".to_owned();
    }
    let mean = ns.iter().sum::<f64>() / ns.len() as f64;
    let squares: f64 = ns.iter().map(|n| (n - mean) * (n - mean)).sum();
    show_number((squares / (ns.len() - 1) as f64).sqrt())
}

/// Comparison chains (`lt gt lte gte eq`): each number against the next, stopping at the first
/// that fails (as PennMUSH does, so a later non-number is not noticed).
fn compare<S: AsRef<str>>(args: &[S], ok: fn(f64, f64) -> bool) -> String {
    if args.len() < 2 {
        return COMPARISON.to_owned();
    }
    let Some(mut prev) = number(args[0].as_ref()) else {
        return NOT_NUMBERS.to_owned();
    };
    for a in &args[1..] {
        let Some(next) = number(a.as_ref()) else {
            return NOT_NUMBERS.to_owned();
        };
        if !ok(prev, next) {
            return "0".to_owned();
        }
        prev = next;
    }
    "1".to_owned()
}

fn op_neq<S: AsRef<str>>(args: &[S]) -> String {
    // Not equal when some neighbour differs: the negation of the `eq` chain (errors as they are).
    match compare(args, close).as_str() {
        "1" => "0".to_owned(),
        "0" => "1".to_owned(),
        error => error.to_owned(),
    }
}

fn less(a: f64, b: f64) -> bool {
    !close(a, b) && a < b
}

fn greater(a: f64, b: f64) -> bool {
    !close(a, b) && a > b
}

fn at_most(a: f64, b: f64) -> bool {
    close(a, b) || a < b
}

fn at_least(a: f64, b: f64) -> bool {
    close(a, b) || a > b
}

fn distance<S: AsRef<str>>(args: &[S], dims: usize, name: &str) -> String {
    if args.len() != dims * 2 {
        return format!("#-1 FUNCTION ({name}) EXPECTS {} ARGUMENTS", dims * 2);
    }
    let Some(ns) = numbers(args) else {
        return NOT_NUMBERS.to_owned();
    };
    let sum: f64 = (0..dims).map(|i| (ns[i] - ns[i + dims]).powi(2)).sum();
    show_number(sum.sqrt())
}

/// Bitwise folds on non-negative 64-bit integers.
fn bits<S: AsRef<str>>(args: &[S], op: fn(u64, u64) -> u64) -> String {
    let Some(ns) = args
        .iter()
        .map(|a| uint(a.as_ref()))
        .collect::<Option<Vec<u64>>>()
    else {
        return NOT_UINTS.to_owned();
    };
    match ns.split_first() {
        None => "0".to_owned(),
        Some((first, rest)) => rest.iter().fold(*first, |a, b| op(a, *b)).to_string(),
    }
}

/// Boolean folds for `lmath()` (`and or xor nand nor`).
fn logic<S: AsRef<str>>(args: &[S], op: &str) -> String {
    let trues = args.iter().filter(|a| truthy(a.as_ref())).count();
    let all = !args.is_empty() && trues == args.len();
    let b = match op {
        "and" => all,
        "or" => trues > 0,
        "xor" => trues == 1,
        "nand" => !all,
        _ => trues == 0,
    };
    if b { "1" } else { "0" }.to_owned()
}

// ---------------------------------------------------------------------------------------------
// The functions.

fn add(_: &mut Evaluator<'_>, args: &[String]) -> String {
    fold(args, i64::checked_add, |a, b| a + b)
}

fn sub(_: &mut Evaluator<'_>, args: &[String]) -> String {
    fold(args, i64::checked_sub, |a, b| a - b)
}

fn mul(_: &mut Evaluator<'_>, args: &[String]) -> String {
    fold(args, i64::checked_mul, |a, b| a * b)
}

/// Integer division, truncating towards zero: `div(-13,4)` is -3.
fn div(_: &mut Evaluator<'_>, args: &[String]) -> String {
    int_fold(args, i64::checked_div)
}

/// Integer division rounding down: `floordiv(-13,4)` is -4.
fn floordiv(_: &mut Evaluator<'_>, args: &[String]) -> String {
    int_fold(args, floor_div)
}

/// The remainder of `floordiv()`: its sign is the divisor's (`modulo(-13,4)` is 3).
fn modulo(_: &mut Evaluator<'_>, args: &[String]) -> String {
    int_fold(args, floor_mod)
}

/// The remainder of `div()`: its sign is the dividend's (`remainder(-13,4)` is -1).
fn remainder(_: &mut Evaluator<'_>, args: &[String]) -> String {
    int_fold(args, i64::checked_rem)
}

fn fdiv(_: &mut Evaluator<'_>, args: &[String]) -> String {
    op_fdiv(args)
}

/// The float remainder, with the dividend's sign: `fmod(6.1,2.5)` is 1.1.
fn fmod(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let (Some(x), Some(y)) = (strict_number(&args[0]), strict_number(&args[1])) else {
        return NOT_NUMBERS.to_owned();
    };
    if close(y, 0.0) {
        return DIVISION_BY_ZERO.to_owned();
    }
    show_number(x % y)
}

fn abs(_: &mut Evaluator<'_>, args: &[String]) -> String {
    if let Some(n) = int(&args[0]).and_then(i64::checked_abs) {
        return n.to_string();
    }
    number(&args[0]).map_or(NOT_NUMBER.to_owned(), |n| show_number(n.abs()))
}

fn sign(_: &mut Evaluator<'_>, args: &[String]) -> String {
    match number(&args[0]) {
        None => NOT_NUMBER.to_owned(),
        Some(n) if close(n, 0.0) => "0".to_owned(),
        Some(n) if n > 0.0 => "1".to_owned(),
        Some(_) => "-1".to_owned(),
    }
}

fn max(_: &mut Evaluator<'_>, args: &[String]) -> String {
    extreme(args, true)
}

fn min(_: &mut Evaluator<'_>, args: &[String]) -> String {
    extreme(args, false)
}

fn mean(_: &mut Evaluator<'_>, args: &[String]) -> String {
    op_mean(args)
}

fn median(_: &mut Evaluator<'_>, args: &[String]) -> String {
    op_median(args)
}

fn stddev(_: &mut Evaluator<'_>, args: &[String]) -> String {
    op_stddev(args)
}

/// `round(n[, places[, pad]])`: at most 6 places; 0 places rounds halves to even, as PennMUSH's
/// `lrint()` does. Without `pad`, trailing zeros go, but one decimal digit stays (PennMUSH's
/// trimming starts after the first decimal).
fn round(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let Some(n) = number(&args[0]) else {
        return NOT_NUMBER.to_owned();
    };
    let places = match args.get(1) {
        None => 0,
        Some(p) => match uint(p) {
            Some(p) => p.min(6) as usize,
            None => return NOT_INTEGER.to_owned(),
        },
    };
    let pad = args.get(2).is_some_and(|p| truthy(p));
    if places == 0 {
        let r = n.round_ties_even();
        return if r.abs() < 9.0e18 {
            (r as i64).to_string()
        } else {
            show_number(r)
        };
    }
    let mut s = format!("{n:.places$}");
    if !pad
        && places > 1
        && let Some(dot) = s.find('.')
    {
        let keep = s.trim_end_matches('0').len().max(dot + 2);
        s.truncate(keep);
    }
    s
}

/// The leading integer of a string (`trunc(101Dalmations)` is 101); 0 when there is none.
fn trunc(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let s = args[0].trim_start();
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for d in digits.bytes().take_while(u8::is_ascii_digit) {
        let d = i64::from(d - b'0');
        n = n.saturating_mul(10).saturating_add(if negative { -d } else { d });
    }
    n.to_string()
}

fn floor(_: &mut Evaluator<'_>, args: &[String]) -> String {
    number(&args[0]).map_or(NOT_NUMBER.to_owned(), |n| show_number(n.floor()))
}

fn ceil(_: &mut Evaluator<'_>, args: &[String]) -> String {
    number(&args[0]).map_or(NOT_NUMBER.to_owned(), |n| show_number(n.ceil()))
}

fn sqrt(_: &mut Evaluator<'_>, args: &[String]) -> String {
    match number(&args[0]) {
        None => NOT_NUMBER.to_owned(),
        Some(n) if n < 0.0 => "#-1 IMAGINARY NUMBER".to_owned(),
        Some(n) => show_number(n.sqrt()),
    }
}

/// The `n`th root; odd roots of negative numbers are negative.
fn root(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let Some(x) = number(&args[0]) else {
        return NOT_NUMBER.to_owned();
    };
    let Some(n) = int(&args[1]) else {
        return NOT_INTEGER.to_owned();
    };
    if n < 0 {
        return "#-1 ROOT OUT OF RANGE".to_owned();
    }
    if x < 0.0 && n % 2 == 0 {
        return "#-1 IMAGINARY NUMBER".to_owned();
    }
    let r = match n {
        0 => 0.0,
        1 => x.abs(),
        2 => x.abs().sqrt(),
        3 => x.abs().cbrt(),
        _ => x.abs().powf(1.0 / n as f64),
    };
    show_number(if x < 0.0 { -r } else { r })
}

fn power(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let (Some(x), Some(y)) = (number(&args[0]), number(&args[1])) else {
        return NOT_NUMBERS.to_owned();
    };
    if x < 0.0 && !close(y, y.trunc()) {
        return "#-1 FRACTIONAL POWER OF NEGATIVE".to_owned();
    }
    show_number(x.powf(y))
}

/// The natural logarithm; 0 has none ("#-1 INFINITY"), negatives are out of range.
fn ln(_: &mut Evaluator<'_>, args: &[String]) -> String {
    match number(&args[0]) {
        None => NOT_NUMBER.to_owned(),
        Some(n) if n < 0.0 => OUT_OF_RANGE.to_owned(),
        Some(0.0) => "#-1 INFINITY".to_owned(),
        Some(n) => show_number(n.ln()),
    }
}

/// `log(n[, base])`: base 10 unless given; `e` for the natural logarithm.
fn log(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let Some(n) = number(&args[0]) else {
        return NOT_NUMBERS.to_owned();
    };
    if n < 0.0 {
        return OUT_OF_RANGE.to_owned();
    }
    if n == 0.0 {
        return "#-1 INFINITY".to_owned();
    }
    let Some(base) = args.get(1) else {
        return show_number(n.log10());
    };
    if base.trim() == "e" {
        return show_number(n.ln());
    }
    match number(base) {
        None => NOT_NUMBERS.to_owned(),
        Some(b) if b <= 1.0 => "#-1 BASE OUT OF RANGE".to_owned(),
        Some(10.0) => show_number(n.log10()),
        Some(2.0) => show_number(n.log2()),
        Some(b) => show_number(n.ln() / b.ln()),
    }
}

fn exp(_: &mut Evaluator<'_>, args: &[String]) -> String {
    number(&args[0]).map_or(NOT_NUMBER.to_owned(), |n| show_number(n.exp()))
}

/// `e()` is e; `e(n)` is e to the power n.
fn e(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    if args.is_empty() {
        return show_number(std::f64::consts::E);
    }
    exp(ev, args)
}

fn pi(_: &mut Evaluator<'_>, _: &[String]) -> String {
    show_number(std::f64::consts::PI)
}

fn inc(_: &mut Evaluator<'_>, args: &[String]) -> String {
    step(&args[0], 1)
}

fn dec(_: &mut Evaluator<'_>, args: &[String]) -> String {
    step(&args[0], -1)
}

/// `inc()`/`dec()`: a whole integer moves by one; otherwise the integer the string ends in does
/// (`inc(1.3.3)` is 1.3.4, `inc(hi-3)` is hi-2). A string ending in no digit gets the step
/// appended (`inc(abc)` is abc1), as with PennMUSH's `null_eq_zero`.
fn step(s: &str, by: i64) -> String {
    if let Some(n) = strict_int(s) {
        return n
            .checked_add(by)
            .map_or(OUT_OF_RANGE.to_owned(), |v| v.to_string());
    }
    let b = s.as_bytes();
    if b.last().is_none_or(|c| !c.is_ascii_digit()) {
        return format!("{s}{by}");
    }
    // Back over the final digits, and a '-' just before them, as PennMUSH scans.
    let mut p = b.len() - 1;
    while p > 0 && (b[p].is_ascii_digit() || b[p] == b'-') {
        if b[p] == b'-' {
            p -= 1;
            break;
        }
        p -= 1;
    }
    if p == 0 && (b[0].is_ascii_digit() || b[0] == b'-') {
        return OUT_OF_RANGE.to_owned();
    }
    let (prefix, digits) = s.split_at(p + 1);
    match digits.parse::<i64>().ok().and_then(|n| n.checked_add(by)) {
        Some(v) => format!("{prefix}{v}"),
        None => OUT_OF_RANGE.to_owned(),
    }
}

/// `bound(n, lower[, upper])`: the argument (as written) that `n` is clamped to.
fn bound(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let Some(ns) = numbers(args) else {
        return NOT_NUMBERS.to_owned();
    };
    if ns[0] < ns[1] {
        args[1].clone()
    } else if ns.len() == 3 && ns[0] > ns[2] {
        args[2].clone()
    } else {
        args[0].clone()
    }
}

fn isnum(_: &mut Evaluator<'_>, args: &[String]) -> String {
    if strict_number(&args[0]).is_some() {
        "1"
    } else {
        "0"
    }
    .to_owned()
}

fn isint(_: &mut Evaluator<'_>, args: &[String]) -> String {
    if strict_int(&args[0]).is_some() { "1" } else { "0" }.to_owned()
}

fn eq(_: &mut Evaluator<'_>, args: &[String]) -> String {
    compare(args, close)
}

fn neq(_: &mut Evaluator<'_>, args: &[String]) -> String {
    op_neq(args)
}

fn gt(_: &mut Evaluator<'_>, args: &[String]) -> String {
    compare(args, greater)
}

fn gte(_: &mut Evaluator<'_>, args: &[String]) -> String {
    compare(args, at_least)
}

fn lt(_: &mut Evaluator<'_>, args: &[String]) -> String {
    compare(args, less)
}

fn lte(_: &mut Evaluator<'_>, args: &[String]) -> String {
    compare(args, at_most)
}

fn dist2d(_: &mut Evaluator<'_>, args: &[String]) -> String {
    distance(args, 2, "DIST2D")
}

fn dist3d(_: &mut Evaluator<'_>, args: &[String]) -> String {
    distance(args, 3, "DIST3D")
}

/// `lmath(op, list[, delim])`: `op` applied to the items as its arguments.
fn lmath(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let list = items(&args[1], delim_at(args, 2));
    match args[0].trim().to_ascii_lowercase().as_str() {
        "add" => fold(&list, i64::checked_add, |a, b| a + b),
        "sub" => fold(&list, i64::checked_sub, |a, b| a - b),
        "mul" => fold(&list, i64::checked_mul, |a, b| a * b),
        "div" => int_fold(&list, i64::checked_div),
        "floordiv" => int_fold(&list, floor_div),
        "modulo" | "mod" => int_fold(&list, floor_mod),
        "remainder" => int_fold(&list, i64::checked_rem),
        "fdiv" => op_fdiv(&list),
        "max" => extreme(&list, true),
        "min" => extreme(&list, false),
        "mean" => op_mean(&list),
        "median" => op_median(&list),
        "stddev" => op_stddev(&list),
        "eq" => compare(&list, close),
        "neq" => op_neq(&list),
        "gt" => compare(&list, greater),
        "gte" => compare(&list, at_least),
        "lt" => compare(&list, less),
        "lte" => compare(&list, at_most),
        "dist2d" => distance(&list, 2, "DIST2D"),
        "dist3d" => distance(&list, 3, "DIST3D"),
        "band" => bits(&list, |a, b| a & b),
        "bor" => bits(&list, |a, b| a | b),
        "bxor" => bits(&list, |a, b| a ^ b),
        op @ ("and" | "or" | "xor" | "nand" | "nor") => logic(&list, op),
        _ => "#-1 UNKNOWN OPERATION".to_owned(),
    }
}

fn band(_: &mut Evaluator<'_>, args: &[String]) -> String {
    bits(args, |a, b| a & b)
}

fn bor(_: &mut Evaluator<'_>, args: &[String]) -> String {
    bits(args, |a, b| a | b)
}

fn bxor(_: &mut Evaluator<'_>, args: &[String]) -> String {
    bits(args, |a, b| a ^ b)
}

fn bnot(_: &mut Evaluator<'_>, args: &[String]) -> String {
    uint(&args[0]).map_or(NOT_UINT.to_owned(), |n| (!n).to_string())
}

fn bnand(_: &mut Evaluator<'_>, args: &[String]) -> String {
    bits(args, |a, b| a & !b)
}

fn shl(_: &mut Evaluator<'_>, args: &[String]) -> String {
    bits(args, |a, b| {
        u32::try_from(b).ok().and_then(|b| a.checked_shl(b)).unwrap_or(0)
    })
}

fn shr(_: &mut Evaluator<'_>, args: &[String]) -> String {
    bits(args, |a, b| {
        u32::try_from(b).ok().and_then(|b| a.checked_shr(b)).unwrap_or(0)
    })
}

// ---------------------------------------------------------------------------------------------
// Randomness.

thread_local! {
    /// How many random numbers this thread has drawn: mixed with the evaluation's time, so two
    /// draws in one line differ.
    static DRAWS: Cell<u64> = const { Cell::new(0) };
}

/// A random 64-bit number: SplitMix64 of the evaluation time (`ev.now`, in microseconds) and a
/// per-thread draw counter. Not cryptographic and not meant to be replayable; good enough for
/// dice.
fn random(ev: &Evaluator<'_>) -> u64 {
    let n = DRAWS.with(|d| {
        let n = d.get().wrapping_add(1);
        d.set(n);
        n
    });
    let mut z = (ev.now.as_micros() as u64) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A random integer in `low..=high`.
fn random_between(ev: &Evaluator<'_>, low: i64, high: i64) -> i64 {
    let span = (high as i128 - low as i128 + 1) as u128;
    let offset = (u128::from(random(ev)) * span) >> 64;
    (low as i128 + offset as i128) as i64
}

/// `rand()`: a float in [0, 1); `rand(n)`: 0 to n-1 (n+1 to 0 for negative n); `rand(a, b)`: a
/// to b inclusive, in either order.
fn rand(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    if args.is_empty() {
        return show_number((random(ev) >> 11) as f64 / (1u64 << 53) as f64);
    }
    let Some(a) = strict_int(&args[0]) else {
        return NOT_INTEGER.to_owned();
    };
    let (low, high) = if args.len() == 1 {
        match a {
            0 => return OUT_OF_RANGE.to_owned(),
            a if a > 0 => (0, a - 1),
            a => (a + 1, 0),
        }
    } else {
        let Some(b) = strict_int(&args[1]) else {
            return NOT_INTEGERS.to_owned();
        };
        (a.min(b), a.max(b))
    };
    random_between(ev, low, high).to_string()
}

/// `die(count, sides[, show])`: the sum of `count` rolls (at most 700), or the rolls themselves.
fn die(ev: &mut Evaluator<'_>, args: &[String]) -> String {
    let (Some(count), Some(sides)) = (uint(&args[0]), uint(&args[1])) else {
        return NOT_UINTS.to_owned();
    };
    if count == 0 || count > 700 || sides == 0 || sides > i64::MAX as u64 {
        return "#-1 NUMBER OUT OF RANGE".to_owned();
    }
    let rolls = (0..count).map(|_| random_between(ev, 1, sides as i64) as u64);
    if args.get(2).is_some_and(|s| truthy(s)) {
        let mut out = String::new();
        for (i, r) in rolls.enumerate() {
            if i > 0 {
                push(&mut out, " ");
            }
            push(&mut out, &r.to_string());
        }
        out
    } else {
        rolls.fold(0u64, u64::saturating_add).to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Bases.

const DIGITS_36: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
const DIGITS_64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A digit's value: bases to 36 use 0-9 and a-z (any case); larger bases the URL-safe base64
/// alphabet (where `+` and `/` also read as 62 and 63).
fn digit_value(c: u8, base: u64) -> Option<u64> {
    let v = if base <= 36 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'z' => c - b'a' + 10,
            b'A'..=b'Z' => c - b'A' + 10,
            _ => return None,
        }
    } else {
        match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        }
    };
    (u64::from(v) < base).then_some(u64::from(v))
}

/// `baseconv(number, from, to)`, bases 2 to 64. A leading `-` is a sign unless a base is 63 or
/// 64 (where `-` is a digit).
fn baseconv(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let (Some(from), Some(to)) = (int(&args[1]), int(&args[2])) else {
        return NOT_INTEGERS.to_owned();
    };
    if !(2..=64).contains(&from) {
        return "#-1 FROM BASE OUT OF RANGE".to_owned();
    }
    if !(2..=64).contains(&to) {
        return "#-1 TO BASE OUT OF RANGE".to_owned();
    }
    let (from, to) = (from as u64, to as u64);
    let mut digits = args[0].trim_matches(' ');
    let mut out = String::new();
    if from < 63
        && to < 63
        && let Some(rest) = digits.strip_prefix('-')
    {
        out.push('-');
        digits = rest;
    }
    let mut n: u64 = 0;
    for c in digits.bytes() {
        let Some(v) = digit_value(c, from) else {
            return "#-1 MALFORMED NUMBER".to_owned();
        };
        n = match n.checked_mul(from).and_then(|n| n.checked_add(v)) {
            Some(n) => n,
            None => return OUT_OF_RANGE.to_owned(),
        };
    }
    let table = if to <= 36 { DIGITS_36 } else { DIGITS_64 };
    let mut rev = Vec::new();
    loop {
        rev.push(table[(n % to) as usize]);
        n /= to;
        if n == 0 {
            break;
        }
    }
    out.extend(rev.iter().rev().map(|b| *b as char));
    out
}

// ---------------------------------------------------------------------------------------------
// Vectors: lists of numbers (space-separated unless a delimiter is given). An element that is
// not a number counts as 0, as in PennMUSH.

fn vector(list: &str, delim: &str) -> Vec<f64> {
    items(list, delim)
        .iter()
        .map(|w| number(w).unwrap_or(0.0))
        .collect()
}

/// Joins numbers with the delimiter, cut at the output limit.
fn join(ns: impl Iterator<Item = f64>, delim: &str) -> String {
    let mut out = String::new();
    for (i, n) in ns.enumerate() {
        if out.len() >= MAX_OUTPUT {
            break;
        }
        if i > 0 {
            push(&mut out, delim);
        }
        push(&mut out, &show_number(n));
    }
    out
}

/// Element-wise operation on two vectors of the same dimension.
fn pairwise(args: &[String], op: fn(f64, f64) -> f64) -> String {
    let delim = delim_at(args, 2);
    let (a, b) = (vector(&args[0], delim), vector(&args[1], delim));
    if a.is_empty() || a.len() != b.len() {
        return SAME_DIMENSIONS.to_owned();
    }
    join(a.iter().zip(&b).map(|(x, y)| op(*x, *y)), delim)
}

fn vadd(_: &mut Evaluator<'_>, args: &[String]) -> String {
    pairwise(args, |a, b| a + b)
}

fn vsub(_: &mut Evaluator<'_>, args: &[String]) -> String {
    pairwise(args, |a, b| a - b)
}

fn vmax(_: &mut Evaluator<'_>, args: &[String]) -> String {
    pairwise(args, f64::max)
}

fn vmin(_: &mut Evaluator<'_>, args: &[String]) -> String {
    pairwise(args, f64::min)
}

/// A vector times a number (either side), or two vectors element-wise.
fn vmul(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let delim = delim_at(args, 2);
    let (a, b) = (vector(&args[0], delim), vector(&args[1], delim));
    match (a.len(), b.len()) {
        (0, _) | (_, 0) => SAME_DIMENSIONS.to_owned(),
        (1, _) => join(b.iter().map(|y| a[0] * y), delim),
        (_, 1) => join(a.iter().map(|x| x * b[0]), delim),
        (m, n) if m == n => join(a.iter().zip(&b).map(|(x, y)| x * y), delim),
        _ => SAME_DIMENSIONS.to_owned(),
    }
}

fn vdot(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let delim = delim_at(args, 2);
    let (a, b) = (vector(&args[0], delim), vector(&args[1], delim));
    if a.is_empty() || a.len() != b.len() {
        return SAME_DIMENSIONS.to_owned();
    }
    show_number(a.iter().zip(&b).map(|(x, y)| x * y).sum())
}

fn vmag(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let v = vector(&args[0], delim_at(args, 1));
    if v.is_empty() {
        return NOT_EMPTY.to_owned();
    }
    show_number(v.iter().map(|x| x * x).sum::<f64>().sqrt())
}

fn vunit(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let delim = delim_at(args, 1);
    let v = vector(&args[0], delim);
    if v.is_empty() {
        return NOT_EMPTY.to_owned();
    }
    let mag = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if close(mag, 0.0) {
        return join(v.iter().map(|_| 0.0), delim);
    }
    join(v.iter().map(|x| x / mag), delim)
}

fn vdim(_: &mut Evaluator<'_>, args: &[String]) -> String {
    items(&args[0], delim_at(args, 1)).len().to_string()
}

fn vcross(_: &mut Evaluator<'_>, args: &[String]) -> String {
    let delim = delim_at(args, 2);
    let (a, b) = (vector(&args[0], delim), vector(&args[1], delim));
    if a.len() != 3 || b.len() != 3 {
        return "#-1 VECTORS MUST BE THREE-DIMENSIONAL".to_owned();
    }
    let cross = [
        a[1] * b[2] - b[1] * a[2],
        a[2] * b[0] - b[2] * a[0],
        a[0] * b[1] - b[0] * a[1],
    ];
    join(cross.into_iter(), delim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::budget::Fuel;
    use crate::game::softcode::conformance::fixture;
    use crate::game::softcode::conformance::{all, think};
    use crate::game::world::ObjectId;
    use mush_protocol::Timestamp;
    use proptest::prelude::*;

    #[test]
    fn integer_division_truncates_floors_and_keeps_signs() {
        all(&[
            ("div(13,4)", "3"),
            ("div(-13,4)", "-3"),
            ("div(13,-4)", "-3"),
            ("div(-13,-4)", "3"),
            ("div(100,5,2)", "10"),
            ("floordiv(13,4)", "3"),
            ("floordiv(-13,4)", "-4"),
            ("floordiv(13,-4)", "-4"),
            ("floordiv(-13,-4)", "3"),
            ("modulo(13,4)", "1"),
            ("modulo(-13,4)", "3"),
            ("modulo(13,-4)", "-3"),
            ("modulo(-13,-4)", "-1"),
            ("mod(7,3)", "1"),
            ("modulus(-7,3)", "2"),
            ("remainder(13,4)", "1"),
            ("remainder(-13,4)", "-1"),
            ("remainder(13,-4)", "1"),
            ("remainder(-13,-4)", "-1"),
            ("div(1,0)", DIVISION_BY_ZERO),
            ("mod(1,0)", DIVISION_BY_ZERO),
            ("div(1,0,x)", DIVISION_BY_ZERO),
            ("div(1.5,1)", NOT_INTEGERS),
            ("remainder(a,2)", NOT_INTEGERS),
            ("div(-9223372036854775808,-1)", "#-1 DOMAIN ERROR"),
            ("fdiv(13,4)", "3.25"),
            ("fdiv(-13,4)", "-3.25"),
            ("fdiv(1,3)", "0.333333"),
            ("fdiv(1,0)", DIVISION_BY_ZERO),
            ("fdiv(1,x)", NOT_NUMBERS),
            ("fmod(6.1,2.5)", "1.1"),
            ("fmod(-7,2)", "-1"),
            ("fmod(1,0)", DIVISION_BY_ZERO),
        ]);
    }

    #[test]
    fn rounding_and_signs() {
        all(&[
            ("abs(-4)", "4"),
            ("abs(2)", "2"),
            ("abs(-2.5)", "2.5"),
            ("abs(x)", NOT_NUMBER),
            ("sign(-4)", "-1"),
            ("sign(2)", "1"),
            ("sign(0)", "0"),
            ("round(3.14159,2)", "3.14"),
            ("round(3.5,3,1)", "3.500"),
            ("round(3.5,3)", "3.5"),
            ("round(3,2)", "3.0"),
            ("round(2.5,0)", "2"),
            ("round(3.5)", "4"),
            ("round(-2.7)", "-3"),
            ("round(1.23456789,9)", "1.234568"),
            ("round(x,1)", NOT_NUMBER),
            ("round(1,x)", NOT_INTEGER),
            ("ceil(3.14159)", "4"),
            ("floor(3.14159)", "3"),
            ("floor(-3.5)", "-4"),
            ("ceil(-3.5)", "-3"),
            ("trunc(3.141593)", "3"),
            ("trunc(101Dalmations)", "101"),
            ("trunc(-3.9)", "-3"),
            ("val(abc)", "0"),
            ("bound(5,1,3)", "3"),
            ("bound(0,1,3)", "1"),
            ("bound(2,1,3)", "2"),
            ("bound(7,1)", "7"),
            ("bound(x,1,3)", NOT_NUMBERS),
        ]);
    }

    #[test]
    fn powers_roots_and_logarithms() {
        all(&[
            ("sqrt(16)", "4"),
            ("sqrt(2)", "1.414214"),
            ("sqrt(-1)", "#-1 IMAGINARY NUMBER"),
            ("root(27,3)", "3"),
            ("root(-8,3)", "-2"),
            ("root(16,4)", "2"),
            ("root(-4,2)", "#-1 IMAGINARY NUMBER"),
            ("power(3,3)", "27"),
            ("power(2,-1)", "0.5"),
            ("power(4,0.5)", "2"),
            ("power(-8,0.5)", "#-1 FRACTIONAL POWER OF NEGATIVE"),
            ("power(-2,3)", "-8"),
            ("ln(1)", "0"),
            ("ln(e())", "1"),
            ("ln(-1)", OUT_OF_RANGE),
            ("log(100)", "2"),
            ("log(8,2)", "3"),
            ("log(81,3)", "4"),
            ("log(e(),e)", "1"),
            ("log(8,1)", "#-1 BASE OUT OF RANGE"),
            ("log(-1)", OUT_OF_RANGE),
            ("exp(0)", "1"),
            ("e()", "2.718282"),
            ("e(1)", "2.718282"),
            ("pi()", "3.141593"),
        ]);
    }

    #[test]
    fn inc_and_dec_move_the_final_integer() {
        all(&[
            ("inc(3)", "4"),
            ("inc(hi3)", "hi4"),
            ("inc(1.3.3)", "1.3.4"),
            ("dec(3)", "2"),
            ("dec(hi3)", "hi2"),
            ("dec(1.3.3)", "1.3.2"),
            ("dec(1.3)", "1.2"),
            ("inc(-1)", "0"),
            ("inc(hi-3)", "hi-2"),
            ("dec(a0)", "a-1"),
            ("inc(abc)", "abc1"),
            ("dec(abc)", "abc-1"),
            ("inc(9223372036854775807)", OUT_OF_RANGE),
            ("inc(99999999999999999999)", OUT_OF_RANGE),
        ]);
    }

    #[test]
    fn comparisons_chain_with_an_epsilon() {
        all(&[
            ("lt(1,2)", "1"),
            ("lt(1,2,3)", "1"),
            ("lt(1,3,2)", "0"),
            ("lte(1,1,2)", "1"),
            ("gt(3,2,1)", "1"),
            ("gt(3,3)", "0"),
            ("gte(3,3,1)", "1"),
            ("eq(1,1.0,1.0000000001)", "1"),
            ("eq(1,2)", "0"),
            ("neq(1,1,1)", "0"),
            ("neq(1,1,2)", "1"),
            ("eq(1,x)", NOT_NUMBERS),
            ("lt(2,1,x)", "0"),
            ("max(1,5,3)", "5"),
            ("min(1,5,3)", "1"),
            ("max(1,2.5)", "2.5"),
            ("max(-1)", "-1"),
            ("min(x,1)", NOT_NUMBERS),
            ("isnum(1.5)", "1"),
            ("isnum(-3)", "1"),
            ("isnum(1e3)", "1"),
            ("isnum(abc)", "0"),
            ("isnum()", "#-1 FUNCTION (ISNUM) EXPECTS 1 ARGUMENT"),
            ("isnum(,)", "#-1 FUNCTION (ISNUM) EXPECTS 1 ARGUMENT"),
            ("isint(+5)", "1"),
            ("isint(-12)", "1"),
            ("isint(1.5)", "0"),
            ("isint(12a)", "0"),
        ]);
    }

    #[test]
    fn lmath_and_statistics() {
        all(&[
            ("lmath(add,1|2|3,|)", "6"),
            ("lmath(max,1 2 3)", "3"),
            ("lmath(mul,lnum(1,5))", "120"),
            ("lmath(sub,10 1 2)", "7"),
            ("lmath(div,100 5 2)", "10"),
            ("lmath(and,1 1 0)", "0"),
            ("lmath(or,0 0 1)", "1"),
            ("lmath(xor,1 0 0)", "1"),
            ("lmath(nor,0 0)", "1"),
            ("lmath(nand,1 1)", "0"),
            ("lmath(lt,1 2 3)", "1"),
            ("lmath(lt,1)", "#-1 COMPARISON REQUIRES 2 OR MORE NUMBERS"),
            ("lmath(add,)", "0"),
            ("lmath(dist2d,0 0 3 4)", "5"),
            ("lmath(dist2d,0 0 3)", "#-1 FUNCTION (DIST2D) EXPECTS 4 ARGUMENTS"),
            ("lmath(bor,1 2 4)", "7"),
            ("lmath(frob,1 2)", "#-1 UNKNOWN OPERATION"),
            ("lmath(add,1 x)", NOT_NUMBERS),
            ("mean(1,2,3,4)", "2.5"),
            ("median(3,1,2)", "2"),
            ("median(4,1,2,3)", "2.5"),
            ("stddev(2,4,4,4,5,5,7,9)", "2.13809"),
            ("stddev(5)", "0"),
            ("dist2d(0,0,3,4)", "5"),
            ("dist3d(0,0,0,1,2,2)", "3"),
            ("dist2d(0,0,x,4)", NOT_NUMBERS),
        ]);
    }

    #[test]
    fn bits_and_bases() {
        all(&[
            ("band(6,3)", "2"),
            ("bor(1,2,4)", "7"),
            ("bxor(5,1)", "4"),
            ("bnand(7,2)", "5"),
            ("bnot(0)", "18446744073709551615"),
            ("shl(1,4)", "16"),
            ("shr(16,2)", "4"),
            ("band(-1,2)", NOT_UINTS),
            ("baseconv(255,10,16)", "ff"),
            ("baseconv(ff,16,10)", "255"),
            ("baseconv(FF,16,2)", "11111111"),
            ("baseconv(-10,10,2)", "-1010"),
            ("baseconv(0,10,2)", "0"),
            ("baseconv(63,10,64)", "_"),
            ("baseconv(64,10,64)", "BA"),
            ("baseconv(BA,64,10)", "64"),
            ("baseconv(12,10,1)", "#-1 TO BASE OUT OF RANGE"),
            ("baseconv(12,65,10)", "#-1 FROM BASE OUT OF RANGE"),
            ("baseconv(19,8,10)", "#-1 MALFORMED NUMBER"),
            ("baseconv(1,x,10)", NOT_INTEGERS),
        ]);
    }

    #[test]
    fn vectors() {
        all(&[
            ("vadd(1 2 3,4 5 6)", "5 7 9"),
            ("vadd(0|0|0,1|2|3,|)", "1|2|3"),
            ("vsub(3 4 5,3 2 1)", "0 2 4"),
            ("vmul(1 2 3,2)", "2 4 6"),
            ("vmul(2,1 2 3)", "2 4 6"),
            ("vmul(1 2 3,2 3 4)", "2 6 12"),
            ("vdot(1 2 3,2 3 4)", "20"),
            ("vmag(3 4)", "5"),
            ("vunit(2 0 0)", "1 0 0"),
            ("vunit(0 0)", "0 0"),
            ("vdim(1 2 3 4)", "4"),
            ("vmax(1 2 3,4 1 2)", "4 2 3"),
            ("vmin(1 2 3,4 1 2)", "1 1 2"),
            ("vcross(4 5 6,7 8 9)", "-3 6 -3"),
            ("vadd(1 2,1 2 3)", SAME_DIMENSIONS),
            ("vcross(1 2,3 4)", "#-1 VECTORS MUST BE THREE-DIMENSIONAL"),
            ("vmag()", "#-1 FUNCTION (VMAG) EXPECTS BETWEEN 1 AND 2 ARGUMENTS"),
            ("vmag(,|)", NOT_EMPTY),
        ]);
    }

    #[test]
    fn rand_and_die_stay_in_range() {
        let game = fixture();
        let mut fuel = Fuel::unlimited_time(100_000);
        let now = Timestamp::from_micros(1_795_507_200 * 1_000_000);
        let mut ev = Evaluator::new(&game, now, &mut fuel, ObjectId(2), ObjectId(2));
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let n: i64 = ev.eval("rand(10)").parse().unwrap();
            assert!((0..10).contains(&n));
            seen.insert(n);
            let n: i64 = ev.eval("rand(-3)").parse().unwrap();
            assert!((-2..=0).contains(&n), "{n}");
            let n: i64 = ev.eval("rand(5,-5)").parse().unwrap();
            assert!((-5..=5).contains(&n));
            let f: f64 = ev.eval("rand()").parse().unwrap();
            assert!((0.0..1.0).contains(&f));
            let n: u64 = ev.eval("die(3,6)").parse().unwrap();
            assert!((3..=18).contains(&n));
        }
        assert!(seen.len() > 5, "draws differ: {seen:?}");
        let rolls = ev.eval("die(4,6,1)");
        let rolls: Vec<u64> = rolls.split(' ').map(|r| r.parse().unwrap()).collect();
        assert_eq!(rolls.len(), 4);
        assert!(rolls.iter().all(|r| (1..=6).contains(r)));
        for (expr, want) in [
            ("rand(0)", OUT_OF_RANGE),
            ("rand(x)", NOT_INTEGER),
            ("rand(1,x)", NOT_INTEGERS),
            ("rand(1)", "0"),
            ("rand(7,7)", "7"),
            ("die(0,6)", "#-1 NUMBER OUT OF RANGE"),
            ("die(701,6)", "#-1 NUMBER OUT OF RANGE"),
            ("die(-1,6)", NOT_UINTS),
            ("die(3,1)", "3"),
        ] {
            assert_eq!(ev.eval(expr), want, "{expr}");
        }
        let big = ev.eval("die(700,9223372036854775807)");
        assert!(big.parse::<u64>().is_ok(), "{big}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn division_identities_hold(a in -100_000i64..100_000, b in -1000i64..1000) {
            prop_assume!(b != 0);
            let out = think(&format!(
                "[add(mul(div({a},{b}),{b}),remainder({a},{b}))] [add(mul(floordiv({a},{b}),{b}),modulo({a},{b}))]"
            ));
            prop_assert_eq!(out, format!("{a} {a}"));
        }

        #[test]
        fn baseconv_round_trips(n in 0u64..u64::MAX, base in 2i64..=64) {
            let there = think(&format!("baseconv({n},10,{base})"));
            let back = think(&format!("baseconv({there},{base},10)"));
            prop_assert_eq!(back, n.to_string());
        }
    }
}
