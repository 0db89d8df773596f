//! Output from functions: `pemit() emit() ...`, made by the command that evaluated them (see
//! [`crate::game::softcode::Emit`]).

use super::Function;

pub static FUNCTIONS: &[Function] = &[];
