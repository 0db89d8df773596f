//! Booleans and control: `if switch ...`, registers (`setq r`).

use super::Function;

pub static FUNCTIONS: &[Function] = &[];
