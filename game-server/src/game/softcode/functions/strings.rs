//! Text: `strlen ...`. Lengths and positions count characters, not bytes.

use super::{Function, eager};
use crate::game::softcode::Evaluator;

pub static FUNCTIONS: &[Function] = &[eager("STRLEN", 1, 1, strlen)];

fn strlen(_: &mut Evaluator<'_>, args: &[String]) -> String {
    args[0].chars().count().to_string()
}
