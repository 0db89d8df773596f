//! Word lists: `words lnum ...`. A list is words separated by a delimiter (a space unless given).

use super::{Function, NOT_INTEGER, delim_at, eager, int, items};
use crate::game::softcode::{Evaluator, MAX_OUTPUT, truncate};

pub static FUNCTIONS: &[Function] = &[eager("LNUM", 1, 3, lnum), eager("WORDS", 1, 2, words)];

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
    items(&args[0], delim_at(args, 1)).len().to_string()
}
