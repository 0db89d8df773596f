//! Which inputs of one partition are applied, when they are not all applied in offset order.
//!
//! Why: a login waits for its password hash, off the input loop, while other players' commands
//! from the same partition go on. So offsets complete out of order, and "the last applied
//! offset" no longer says what is applied. Instead each partition has a *low* offset (every input
//! up to it is applied: the consumer resumes after it) and the inputs applied *ahead* of it (a
//! replay skips them). Every input the loop has received is either applied or deferred (a login
//! hashing, or an input of the same connection queued behind it), so the low offset is just below
//! the oldest deferred input, or the last input received when none is deferred.

use std::collections::BTreeSet;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Every input up to and including this one is applied (-1: none known).
    low: i64,
    /// Inputs above `low` that are applied.
    ahead: BTreeSet<i64>,
    /// Inputs received and not applied yet.
    deferred: BTreeSet<i64>,
    /// The newest input received.
    last_received: i64,
}

impl Progress {
    /// The state stored in Redis: `low` (or -1) and the inputs applied ahead of it.
    pub fn new(low: i64, ahead: impl IntoIterator<Item = i64>) -> Self {
        Self {
            low,
            ahead: ahead.into_iter().filter(|o| *o > low).collect(),
            deferred: BTreeSet::new(),
            last_received: low,
        }
    }

    pub fn low(&self) -> i64 {
        self.low
    }

    /// Notes an input read from the partition (in offset order).
    pub fn received(&mut self, offset: i64) {
        self.last_received = self.last_received.max(offset);
    }

    /// Whether `offset` was applied already (a replay).
    pub fn is_applied(&self, offset: i64) -> bool {
        offset <= self.low || self.ahead.contains(&offset)
    }

    /// `offset` waits (a login hashing, or behind one).
    pub fn defer(&mut self, offset: i64) {
        self.deferred.insert(offset);
    }

    /// The low offset once `offset` is applied: what the commit of `offset` stores.
    pub fn low_once_applied(&self, offset: i64) -> i64 {
        let oldest_waiting = self.deferred.iter().find(|o| **o != offset);
        let low = match oldest_waiting {
            Some(o) => o - 1,
            None => self.last_received.max(offset),
        };
        low.max(self.low)
    }

    /// `offset` is applied (and `low` stored with it).
    pub fn applied(&mut self, offset: i64, low: i64) {
        self.deferred.remove(&offset);
        self.ahead.insert(offset);
        self.low = self.low.max(low);
        let low = self.low;
        self.ahead.retain(|o| *o > low);
    }

    /// How many inputs are applied ahead of `low` (bounded by what waits behind logins).
    pub fn ahead_len(&self) -> usize {
        self.ahead.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_inputs_move_low_along() {
        let mut p = Progress::new(-1, []);
        for o in 0..3 {
            p.received(o);
            assert!(!p.is_applied(o));
            let low = p.low_once_applied(o);
            assert_eq!(low, o);
            p.applied(o, low);
        }
        assert!(p.is_applied(2) && !p.is_applied(3));
        assert_eq!(p.ahead_len(), 0);
    }

    #[test]
    fn a_deferred_login_holds_low_back_until_it_is_applied() {
        let mut p = Progress::new(9, []);
        p.received(10);
        p.defer(10);
        for o in 11..14 {
            p.received(o);
            let low = p.low_once_applied(o);
            assert_eq!(low, 9, "10 is not applied yet");
            p.applied(o, low);
        }
        assert!(p.is_applied(12) && !p.is_applied(10));
        p.received(14);
        p.defer(14);
        let low = p.low_once_applied(10);
        assert_eq!(low, 13, "up to the next deferred input");
        p.applied(10, low);
        assert_eq!(p.ahead_len(), 0);
        let low = p.low_once_applied(14);
        assert_eq!(low, 14);
        p.applied(14, low);
        assert_eq!(p.low(), 14);
    }

    #[test]
    fn a_restart_skips_what_was_applied_ahead_and_replays_the_rest() {
        // Stored: low 9, 11 and 12 applied ahead; 10 (a login) was not.
        let mut p = Progress::new(9, [11, 12, 5]);
        let mut replayed = Vec::new();
        for o in 10..14 {
            p.received(o);
            if p.is_applied(o) {
                continue;
            }
            replayed.push(o);
            let low = p.low_once_applied(o);
            p.applied(o, low);
        }
        assert_eq!(replayed, [10, 13]);
        assert_eq!(p.low(), 13);
        assert_eq!(p.ahead_len(), 0);
    }

    #[test]
    fn a_partition_that_starts_late_starts_at_its_first_input() {
        let mut p = Progress::new(-1, []);
        p.received(1_000);
        assert_eq!(p.low_once_applied(1_000), 1_000);
    }
}
