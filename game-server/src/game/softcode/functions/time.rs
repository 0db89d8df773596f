//! Clocks: `time secs ...`. Times are UTC.

use super::{Function, eager};
use crate::game::softcode::Evaluator;
use crate::game::timefmt;

pub static FUNCTIONS: &[Function] = &[eager("SECS", 0, 0, secs), eager("TIME", 0, 1, time)];

/// The time now, UTC: `Tue Nov 24 08:00:00 2026`. (A time-zone argument is accepted and ignored.)
fn time(ev: &mut Evaluator<'_>, _: &[String]) -> String {
    timefmt::ctime(ev.now.as_secs())
}

fn secs(ev: &mut Evaluator<'_>, _: &[String]) -> String {
    ev.now.as_secs().to_string()
}
