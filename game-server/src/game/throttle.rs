//! Throttling of failed logins, per address and per player name.
//!
//! Why: argon2 makes each guess slow, but nothing stops a script from trying passwords all day.
//! After [`MAX_FAILURES`] failed logins within [`WINDOW_SECS`] from one address (IP, port
//! ignored: each new connection has a new port) *or* for one name (whichever address they come
//! from), further attempts are refused without checking the password for [`LOCKOUT_SECS`].
//! Locking a name means a stranger can keep a player out for a while; that is the usual price, and
//! the player can still reach the game by waiting. Kept in memory only: a restart forgets it.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};

use mush_protocol::Timestamp;

pub const MAX_FAILURES: usize = 5;
pub const WINDOW_SECS: i64 = 60;
pub const LOCKOUT_SECS: i64 = 120;
/// Above this many tracked keys, stale ones are dropped on the next failure.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug, Default)]
struct Entry {
    /// Times (µs) of recent failures, oldest first.
    failures: VecDeque<i64>,
    locked_until: Option<i64>,
}

#[derive(Debug, Default)]
pub struct LoginThrottle {
    entries: HashMap<String, Entry>,
}

/// The part of a peer address that identifies the client: the IP without the port.
pub fn address_key(peer_addr: &str) -> String {
    let ip = peer_addr
        .parse::<SocketAddr>()
        .map(|sa| sa.ip())
        .or_else(|_| peer_addr.parse::<IpAddr>());
    match ip {
        Ok(ip) => format!("addr:{}", ip.to_canonical()),
        Err(_) => format!("addr:{peer_addr}"),
    }
}

fn name_key(name: &str) -> String {
    format!("name:{}", name.to_lowercase())
}

impl LoginThrottle {
    /// If logins from `peer_addr` or for `name` are refused at `now`, for how many more seconds.
    pub fn refused_for(&self, peer_addr: &str, name: &str, now: Timestamp) -> Option<i64> {
        let now = now.as_micros();
        [address_key(peer_addr), name_key(name)]
            .iter()
            .filter_map(|k| self.entries.get(k)?.locked_until)
            .filter(|until| *until > now)
            .max()
            .map(|until| (until - now + 999_999) / 1_000_000)
    }

    /// Records a failed login.
    pub fn failed(&mut self, peer_addr: &str, name: &str, now: Timestamp) {
        let now = now.as_micros();
        if self.entries.len() > PRUNE_ABOVE {
            self.entries.retain(|_, e| {
                e.locked_until.is_some_and(|u| u > now)
                    || e.failures
                        .back()
                        .is_some_and(|t| *t > now - WINDOW_SECS * 1_000_000)
            });
        }
        for key in [address_key(peer_addr), name_key(name)] {
            let entry = self.entries.entry(key).or_default();
            entry.failures.push_back(now);
            while entry
                .failures
                .front()
                .is_some_and(|t| *t <= now - WINDOW_SECS * 1_000_000)
            {
                entry.failures.pop_front();
            }
            if entry.failures.len() >= MAX_FAILURES {
                entry.locked_until = Some(now + LOCKOUT_SECS * 1_000_000);
                entry.failures.clear();
            }
        }
    }

    /// A successful login clears the name's record (not the address's: one good account must not
    /// let an address go on guessing others).
    pub fn succeeded(&mut self, name: &str) {
        self.entries.remove(&name_key(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_micros(secs * 1_000_000)
    }

    #[test]
    fn five_failures_in_a_minute_lock_the_address_for_a_while() {
        let mut t = LoginThrottle::default();
        for i in 0..4 {
            t.failed("10.0.0.1:5000", &format!("name{i}"), at(i));
            assert_eq!(t.refused_for("10.0.0.1:6000", "other", at(i)), None);
        }
        t.failed("10.0.0.1:5001", "name4", at(10));
        assert_eq!(
            t.refused_for("10.0.0.1:7000", "other", at(10)),
            Some(LOCKOUT_SECS)
        );
        assert_eq!(t.refused_for("10.0.0.1:7000", "other", at(70)), Some(60));
        assert_eq!(t.refused_for("10.0.0.2:7000", "other", at(70)), None);
        assert_eq!(
            t.refused_for("10.0.0.1:7000", "other", at(10 + LOCKOUT_SECS)),
            None
        );
    }

    #[test]
    fn five_failures_for_one_name_lock_it_from_every_address() {
        let mut t = LoginThrottle::default();
        for i in 0..5 {
            t.failed(&format!("10.0.0.{i}:1"), "Alice", at(i));
        }
        assert!(t.refused_for("192.168.1.1:1", "alice", at(5)).is_some());
        assert_eq!(t.refused_for("192.168.1.1:1", "bob", at(5)), None);
    }

    #[test]
    fn failures_spread_over_more_than_a_minute_do_not_lock() {
        let mut t = LoginThrottle::default();
        for i in 0..10 {
            t.failed("10.0.0.1:1", "alice", at(i * 20));
        }
        assert_eq!(t.refused_for("10.0.0.1:1", "alice", at(200)), None);
    }

    #[test]
    fn success_clears_the_name_but_not_the_address() {
        let mut t = LoginThrottle::default();
        for i in 0..4 {
            t.failed("10.0.0.1:1", "alice", at(i));
        }
        t.succeeded("Alice");
        t.failed("10.0.0.9:1", "alice", at(5));
        assert_eq!(t.refused_for("10.0.0.9:1", "alice", at(5)), None);
        t.failed("10.0.0.1:1", "bob", at(6));
        assert!(t.refused_for("10.0.0.1:1", "carol", at(6)).is_some());
    }

    #[test]
    fn address_keys_ignore_the_port() {
        assert_eq!(address_key("10.0.0.1:5000"), address_key("10.0.0.1:6000"));
        assert_eq!(address_key("[::ffff:10.0.0.1]:5000"), address_key("10.0.0.1:1"));
        assert_eq!(address_key("[::1]:4000"), "addr:::1");
        assert_eq!(address_key("unix-socket"), "addr:unix-socket");
    }
}
