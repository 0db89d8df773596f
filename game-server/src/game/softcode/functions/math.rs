//! Arithmetic and numbers: `add sub mul ...`. Integers stay integers (with overflow caught);
//! anything with a decimal point is computed as a float and printed as PennMUSH prints it.

use super::{Function, MANY, NOT_NUMBERS, OVERFLOW, eager, int, number, show_number};
use crate::game::softcode::Evaluator;

pub static FUNCTIONS: &[Function] = &[
    eager("ADD", 2, MANY, add),
    eager("SUB", 2, 2, sub),
    eager("MUL", 2, MANY, mul),
];

/// Folds the arguments with an integer operation when they are all integers, else with the float
/// one.
fn fold(args: &[String], int_op: fn(i64, i64) -> Option<i64>, float_op: fn(f64, f64) -> f64) -> String {
    if let Some(ns) = args.iter().map(|a| int(a)).collect::<Option<Vec<i64>>>() {
        let mut acc = ns[0];
        for n in &ns[1..] {
            match int_op(acc, *n) {
                Some(v) => acc = v,
                None => return OVERFLOW.to_owned(),
            }
        }
        return acc.to_string();
    }
    let Some(ns) = args.iter().map(|a| number(a)).collect::<Option<Vec<f64>>>() else {
        return NOT_NUMBERS.to_owned();
    };
    show_number(ns[1..].iter().fold(ns[0], |a, b| float_op(a, *b)))
}

fn add(_: &mut Evaluator<'_>, args: &[String]) -> String {
    fold(args, i64::checked_add, |a, b| a + b)
}

fn sub(_: &mut Evaluator<'_>, args: &[String]) -> String {
    fold(args, i64::checked_sub, |a, b| a - b)
}

fn mul(_: &mut Evaluator<'_>, args: &[String]) -> String {
    fold(args, i64::checked_mul, |a, b| a * b)
}
