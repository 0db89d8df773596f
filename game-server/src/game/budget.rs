//! Budgets: what one input line may make the game do, and what one player may spend over time.
//!
//! Why: there is one game-server for the whole world, so whatever one line makes it do, every
//! other player waits for. Every line therefore runs on a tank of [`Fuel`]: each command it runs
//! (those `@dolist` runs included, however deeply nested), each function call, each KiB of text a
//! function builds, and each 16 bytes of output burn fuel; the output bytes it sends and the
//! objects it creates also have caps of their own; and a wall-clock limit backs all of it up. An empty tank stops the line at once: the
//! player is told in one line, and **what the line did before it stopped stands** (its output is
//! sent and its world changes are persisted with the input, exactly as for a line that finished):
//! PennMUSH behaves the same way, and it keeps the effects of every line a pure function of the
//! line and the state it ran on, so a replay after a crash does the same.
//!
//! A line's tank is filled from its player's [`Tanks`]: a player may burn at most
//! `fuel_per_second` a second over time (with up to `fuel_burst` saved up), so sixty expensive
//! lines typed at once cost the game what one second of them costs, not sixty tanks.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use mush_protocol::{Handle, Timestamp};

use super::world::ObjectId;

/// The game's budgets; every field is a setting of the game-server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Fuel one line may burn: a command or a function call costs 1, and so does each KiB of text
    /// a function returns.
    pub fuel_per_line: u32,
    /// Fuel a player (a connection, before login) regains per second, across lines.
    pub fuel_per_second: u32,
    /// Fuel a player may save up (at least `fuel_per_line`).
    pub fuel_burst: u32,
    /// Bytes of output one line may send (a multicast counts once).
    pub output_bytes_per_line: usize,
    /// Objects one line may create.
    pub objects_per_line: u32,
    /// Objects one player may own (`0`: no quota).
    pub object_quota: u32,
    /// Wall-clock time one line may take; `None` only in tests (replays must not depend on it).
    pub time_per_line: Option<Duration>,
    /// GMCP packages remembered per connection (`Core.Supports.*`).
    pub gmcp_packages: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fuel_per_line: 10_000,
            fuel_per_second: 10_000,
            fuel_burst: 20_000,
            output_bytes_per_line: 64 * 1024,
            objects_per_line: 20,
            object_quota: 1_000,
            time_per_line: Some(Duration::from_millis(250)),
            gmcp_packages: 64,
        }
    }
}

/// Why a line was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exhausted {
    Fuel,
    Output,
    Objects,
    Time,
}

impl Exhausted {
    pub const ALL: [Exhausted; 4] = [
        Exhausted::Fuel,
        Exhausted::Output,
        Exhausted::Objects,
        Exhausted::Time,
    ];

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Exhausted::Fuel => "fuel",
            Exhausted::Output => "output",
            Exhausted::Objects => "objects",
            Exhausted::Time => "time",
        }
    }

    /// What the player reads, once, when their line is stopped.
    pub fn message(self) -> &'static str {
        match self {
            Exhausted::Fuel => {
                "*** That did too much work for one line (commands and function calls): it was stopped. \
                 What it did until then stands. ***"
            }
            Exhausted::Output => {
                "*** That made too much output for one line: it was stopped. What it did until then stands. ***"
            }
            Exhausted::Objects => {
                "*** That created too many objects for one line: it was stopped. What it did until then \
                 stands. ***"
            }
            Exhausted::Time => "*** That took too long: it was stopped. What it did until then stands. ***",
        }
    }
}

/// Output costs a unit of fuel per this many bytes: output is the dearest thing a line makes
/// (it crosses Kafka, the gateway and the player's link), so a player's fuel over time is also
/// their output rate: 10,000 fuel a second is about 625 KiB a second.
pub const OUTPUT_BYTES_PER_FUEL: usize = 16;

/// How often (in fuel burned) the wall clock is looked at.
const CLOCK_EVERY: u32 = 64;

/// The tank of one line.
#[derive(Debug)]
pub struct Fuel {
    fuel: u32,
    burned: u32,
    output_left: usize,
    objects_left: u32,
    deadline: Option<Instant>,
    since_clock: u32,
    exhausted: Option<Exhausted>,
}

impl Fuel {
    /// A tank of `fuel`, with the line caps of `limits`.
    pub fn new(fuel: u32, limits: &Limits) -> Self {
        Self {
            fuel,
            burned: 0,
            output_left: limits.output_bytes_per_line,
            objects_left: limits.objects_per_line,
            deadline: limits.time_per_line.map(|t| Instant::now() + t),
            since_clock: 0,
            exhausted: None,
        }
    }

    /// A tank for tests and tools: `fuel`, default caps, no clock.
    #[cfg(test)]
    pub fn unlimited_time(fuel: u32) -> Self {
        Self::new(
            fuel,
            &Limits {
                time_per_line: None,
                ..Limits::default()
            },
        )
    }

    /// Burns `units`; `false` (and the line is over) when the tank or the time is empty.
    pub fn burn(&mut self, units: u32) -> bool {
        if self.exhausted.is_some() {
            return false;
        }
        if units > self.fuel {
            self.burned += self.fuel;
            self.fuel = 0;
            self.exhausted = Some(Exhausted::Fuel);
            return false;
        }
        self.fuel -= units;
        self.burned += units;
        self.since_clock += units;
        if self.since_clock >= CLOCK_EVERY {
            self.since_clock = 0;
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                self.exhausted = Some(Exhausted::Time);
                return false;
            }
        }
        true
    }

    /// Burns one unit per started KiB of `bytes` of text built.
    pub fn burn_text(&mut self, bytes: usize) -> bool {
        self.burn(u32::try_from(bytes / 1024).unwrap_or(u32::MAX))
    }

    /// Takes `bytes` of output, and [`OUTPUT_BYTES_PER_FUEL`] of fuel per byte; `false`
    /// (nothing may be sent, the line is over) when either runs out.
    pub fn spend_output(&mut self, bytes: usize) -> bool {
        if self.exhausted.is_some() {
            return false;
        }
        if bytes > self.output_left {
            self.output_left = 0;
            self.exhausted = Some(Exhausted::Output);
            return false;
        }
        if !self.burn(u32::try_from(bytes / OUTPUT_BYTES_PER_FUEL).unwrap_or(u32::MAX)) {
            return false;
        }
        self.output_left -= bytes;
        true
    }

    /// Takes one object creation; `false` (and the line is over) when over.
    pub fn spend_object(&mut self) -> bool {
        if self.exhausted.is_some() {
            return false;
        }
        if self.objects_left == 0 {
            self.exhausted = Some(Exhausted::Objects);
            return false;
        }
        self.objects_left -= 1;
        true
    }

    /// Why the line was stopped, if it was.
    pub fn exhausted(&self) -> Option<Exhausted> {
        self.exhausted
    }

    pub fn is_exhausted(&self) -> bool {
        self.exhausted.is_some()
    }

    /// Fuel burned so far.
    pub fn burned(&self) -> u32 {
        self.burned
    }
}

/// Who pays for a line: the player, or the connection before login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Payer {
    Player(ObjectId),
    Connection(Handle),
}

/// Every payer's fuel over time. Bounded: a payer with a full tank has no entry, and a
/// connection's entry goes with the connection.
#[derive(Debug, Default)]
pub struct Tanks {
    levels: HashMap<Payer, (f64, Timestamp)>,
}

impl Tanks {
    /// The fuel `payer` has at `now`.
    pub fn level(&self, payer: Payer, now: Timestamp, limits: &Limits) -> u32 {
        let burst = f64::from(limits.fuel_burst.max(limits.fuel_per_line));
        match self.levels.get(&payer) {
            None => burst as u32,
            Some((level, at)) => {
                let secs = (now.as_micros() - at.as_micros()).max(0) as f64 / 1e6;
                (level + secs * f64::from(limits.fuel_per_second)).min(burst) as u32
            }
        }
    }

    /// A line's tank for `payer` at `now`: the line allowance, or what the payer has left.
    pub fn fill(&self, payer: Payer, now: Timestamp, limits: &Limits) -> Fuel {
        let fuel = self.level(payer, now, limits).min(limits.fuel_per_line);
        Fuel::new(fuel, limits)
    }

    /// Charges `payer` for what a line burned.
    pub fn charge(&mut self, payer: Payer, burned: u32, now: Timestamp, limits: &Limits) {
        let burst = limits.fuel_burst.max(limits.fuel_per_line);
        let left = self.level(payer, now, limits).saturating_sub(burned);
        if left >= burst {
            self.levels.remove(&payer);
        } else {
            self.levels.insert(payer, (f64::from(left), now));
        }
    }

    /// Forgets a connection's tank (it closed).
    pub fn forget(&mut self, handle: Handle) {
        self.levels.remove(&Payer::Connection(handle));
    }

    /// Forgets every tank that has refilled by `now` (call now and then).
    pub fn prune(&mut self, now: Timestamp, limits: &Limits) {
        let burst = limits.fuel_burst.max(limits.fuel_per_line);
        let full: Vec<Payer> = self
            .levels
            .keys()
            .filter(|p| self.level(**p, now, limits) >= burst)
            .copied()
            .collect();
        for p in full {
            self.levels.remove(&p);
        }
    }

    /// Payers with a tank not yet full.
    pub fn len(&self) -> usize {
        self.levels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            fuel_per_line: 100,
            fuel_per_second: 50,
            fuel_burst: 200,
            output_bytes_per_line: 10,
            objects_per_line: 2,
            time_per_line: None,
            ..Limits::default()
        }
    }

    #[test]
    fn a_tank_runs_dry_once_and_stays_dry() {
        let mut f = Fuel::new(5, &limits());
        assert!(f.burn(3));
        assert!(!f.burn(3), "only 2 left");
        assert_eq!(f.exhausted(), Some(Exhausted::Fuel));
        assert!(!f.burn(0) && !f.spend_output(0) && !f.spend_object());
        assert_eq!(f.burned(), 5);
    }

    #[test]
    fn output_and_objects_have_their_own_caps() {
        let mut f = Fuel::new(1_000, &limits());
        assert!(f.spend_output(6) && f.spend_output(4));
        assert_eq!(f.burned(), 0, "less than 16 bytes at a time cost nothing");
        assert!(!f.spend_output(1));
        assert_eq!(f.exhausted(), Some(Exhausted::Output));
        let mut f = Fuel::new(1_000, &limits());
        assert!(f.spend_object() && f.spend_object());
        assert!(!f.spend_object());
        assert_eq!(f.exhausted(), Some(Exhausted::Objects));
        let mut f = Fuel::new(1_000, &limits());
        assert!(f.burn_text(1023) && f.burned() == 0);
        assert!(f.burn_text(10 * 1024) && f.burned() == 10);
    }

    #[test]
    fn the_clock_stops_a_line_that_takes_too_long() {
        let mut f = Fuel::new(
            u32::MAX,
            &Limits {
                time_per_line: Some(Duration::ZERO),
                ..limits()
            },
        );
        let mut burned = 0;
        while f.burn(1) {
            burned += 1;
            assert!(burned < 1_000, "the clock is looked at");
        }
        assert_eq!(f.exhausted(), Some(Exhausted::Time));
    }

    #[test]
    fn a_player_spends_a_burst_then_the_rate() {
        let l = limits();
        let mut tanks = Tanks::default();
        let p = Payer::Player(ObjectId(7));
        let t0 = Timestamp::from_micros(1_000_000_000);
        let at = |s: f64| Timestamp::from_micros(t0.as_micros() + (s * 1e6) as i64);
        assert_eq!(
            tanks.fill(p, t0, &l).fuel,
            100,
            "a line gets at most its allowance"
        );
        tanks.charge(p, 100, t0, &l);
        tanks.charge(p, 100, t0, &l);
        assert_eq!(tanks.fill(p, t0, &l).fuel, 0, "burst spent");
        assert_eq!(tanks.fill(p, at(1.0), &l).fuel, 50, "50 a second");
        assert_eq!(tanks.fill(p, at(10.0), &l).fuel, 100);
        tanks.prune(at(3.0), &l);
        assert_eq!(tanks.len(), 1, "not full yet");
        tanks.prune(at(4.0), &l);
        assert_eq!(tanks.len(), 0, "full tanks are forgotten");
        let other = Payer::Player(ObjectId(8));
        assert_eq!(
            tanks.level(other, t0, &l),
            200,
            "one player does not drain another"
        );
    }
}
