//! The limits that keep one player (or one address) from hurting the others. Pure: time is
//! passed in, so every rule is tested without sockets or sleeps.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// A token bucket: `rate` tokens a second, at most `burst` saved up.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(rate_per_sec: u32, burst: u32, now: Instant) -> Self {
        Self {
            rate: f64::from(rate_per_sec.max(1)),
            burst: f64::from(burst.max(1)),
            tokens: f64::from(burst.max(1)),
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// How long until a token is available (zero if one is).
    pub fn wait_time(&mut self, now: Instant) -> Duration {
        self.refill(now);
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) / self.rate)
        }
    }
}

/// Why a new connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This address holds too many connections already.
    TooManyConnections,
    /// This address opened too many connections in the last minute.
    TooFast,
}

impl Refusal {
    pub fn label(self) -> &'static str {
        match self {
            Refusal::TooManyConnections => "ip_count",
            Refusal::TooFast => "ip_rate",
        }
    }

    /// What the refused player reads before the socket closes.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::TooManyConnections => "Too many connections from your address. Close one and try again.",
            Refusal::TooFast => {
                "Too many connection attempts from your address. Wait a minute and try again."
            }
        }
    }
}

#[derive(Debug, Default)]
struct PerIp {
    open: u32,
    /// Start times of recent connection attempts, oldest first, within the window.
    recent: std::collections::VecDeque<Instant>,
}

/// Per-address connection count and rate. Bounded: entries with nothing open and no recent
/// attempts are removed.
#[derive(Debug)]
pub struct IpLimiter {
    max_open: u32,
    max_per_window: u32,
    window: Duration,
    by_ip: HashMap<IpAddr, PerIp>,
}

impl IpLimiter {
    pub fn new(max_open: u32, max_per_minute: u32) -> Self {
        Self {
            max_open,
            max_per_window: max_per_minute,
            window: Duration::from_secs(60),
            by_ip: HashMap::new(),
        }
    }

    /// Admits a new connection from `ip` or says why not. An admitted one must be
    /// [`IpLimiter::release`]d when it closes.
    pub fn admit(&mut self, ip: IpAddr, now: Instant) -> Result<(), Refusal> {
        let entry = self.by_ip.entry(ip).or_default();
        while entry
            .recent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            entry.recent.pop_front();
        }
        if self.max_open > 0 && entry.open >= self.max_open {
            return Err(Refusal::TooManyConnections);
        }
        if self.max_per_window > 0 && entry.recent.len() as u32 >= self.max_per_window {
            return Err(Refusal::TooFast);
        }
        entry.open += 1;
        if self.max_per_window > 0 {
            entry.recent.push_back(now);
        }
        Ok(())
    }

    pub fn release(&mut self, ip: IpAddr) {
        if let Some(e) = self.by_ip.get_mut(&ip) {
            e.open = e.open.saturating_sub(1);
        }
    }

    /// Forgets addresses with nothing open and no attempt within the window.
    pub fn prune(&mut self, now: Instant) {
        let window = self.window;
        self.by_ip.retain(|_, e| {
            e.open > 0
                || e.recent
                    .back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < window)
        });
    }

    pub fn tracked(&self) -> usize {
        self.by_ip.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10, 3, t0);
        assert!(b.try_take(t0) && b.try_take(t0) && b.try_take(t0));
        assert!(!b.try_take(t0), "burst spent");
        let wait = b.wait_time(t0);
        assert!(
            wait > Duration::from_millis(90) && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        assert!(b.try_take(t0 + Duration::from_millis(100)));
        assert!(!b.try_take(t0 + Duration::from_millis(100)));
        // Long idle never saves more than the burst.
        let later = t0 + Duration::from_secs(60);
        assert!((0..3).all(|_| b.try_take(later)));
        assert!(!b.try_take(later));
    }

    #[test]
    fn an_address_is_limited_in_open_connections_and_in_rate() {
        let t0 = Instant::now();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let mut l = IpLimiter::new(2, 3);
        assert_eq!(l.admit(ip, t0), Ok(()));
        assert_eq!(l.admit(ip, t0), Ok(()));
        assert_eq!(l.admit(ip, t0), Err(Refusal::TooManyConnections));
        assert_eq!(l.admit(other, t0), Ok(()), "one address does not limit another");
        l.release(ip);
        assert_eq!(l.admit(ip, t0), Ok(()), "a closed connection frees its place");
        l.release(ip);
        l.release(ip);
        assert_eq!(
            l.admit(ip, t0),
            Err(Refusal::TooFast),
            "three attempts within the minute"
        );
        assert_eq!(
            l.admit(ip, t0 + Duration::from_secs(61)),
            Ok(()),
            "the window moves on"
        );
    }

    #[test]
    fn idle_addresses_are_forgotten() {
        let t0 = Instant::now();
        let mut l = IpLimiter::new(5, 100);
        for i in 0..100u8 {
            let ip: IpAddr = format!("10.0.1.{i}").parse().unwrap();
            l.admit(ip, t0).unwrap();
            l.release(ip);
        }
        l.prune(t0 + Duration::from_secs(30));
        assert_eq!(l.tracked(), 100);
        l.prune(t0 + Duration::from_secs(61));
        assert_eq!(l.tracked(), 0);
    }
}
