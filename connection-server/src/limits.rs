//! The limits that keep one player (or one address) from hurting the others. Pure: time is
//! passed in, so every rule is tested without sockets or sleeps.
//!
//! * [`TokenBucket`]: a rate with a burst.
//! * [`InputBudget`]: one connection's budget for everything its client causes, in events and
//!   in bytes, stricter before login, with strikes that end sustained abuse.
//! * [`MemoryBudget`]: the bytes the whole gateway holds for its connections (queued output,
//!   unacknowledged and waiting input, input being parsed); over it, reading and routing pause.
//! * [`IpLimiter`]: connections per address.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use prometheus::{IntCounter, IntGauge};
use tokio::sync::watch;

/// A rate and the burst saved up at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

/// A token bucket: `rate` tokens a second, at most `burst` saved up. It never goes into debt.
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

    pub fn with_rate(rate: Rate, now: Instant) -> Self {
        Self::new(rate.per_second, rate.burst, now)
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = self.last.max(now);
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
        self.wait_for(1, now)
    }

    /// Whole tokens available now.
    pub fn available(&mut self, now: Instant) -> u64 {
        self.refill(now);
        self.tokens as u64
    }

    /// Takes `n` tokens. More than there are leaves a debt (of at most one burst) that the
    /// refill repays before anything is available again: a WebSocket message is read whole, so
    /// its bytes may exceed what was available when the read began, and the budget still holds.
    pub fn take(&mut self, n: u64, now: Instant) {
        self.refill(now);
        self.tokens = (self.tokens - n as f64).max(-self.burst);
    }

    /// How long until `n` tokens are available (at most a full burst's worth is waited for).
    pub fn wait_for(&mut self, n: u64, now: Instant) -> Duration {
        self.refill(now);
        let wanted = (n as f64).min(self.burst);
        if self.tokens >= wanted {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((wanted - self.tokens) / self.rate)
        }
    }

    /// Changes the rate and burst: the bucket is filled, or keeps what it saved up to the new
    /// burst.
    pub fn set_rate(&mut self, rate: Rate, fill: bool, now: Instant) {
        self.refill(now);
        self.rate = f64::from(rate.per_second.max(1));
        self.burst = f64::from(rate.burst.max(1));
        self.tokens = if fill {
            self.burst
        } else {
            self.tokens.min(self.burst)
        };
    }
}

/// The input limits of one phase of a connection (before login, or logged in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputLimits {
    /// Events the client causes (lines, subnegotiations, option changes, protocol errors).
    pub events: Rate,
    /// Raw bytes read from the socket.
    pub bytes: Rate,
    /// Strikes within the strike window that end the connection (0: never).
    pub strikes: u32,
}

/// A connection's input policy: stricter before login, and what counts as sustained abuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputPolicy {
    pub before_login: InputLimits,
    pub logged_in: InputLimits,
    /// Strikes older than this are forgotten.
    pub strike_window: Duration,
    /// Reading paused by the bytes budget for longer than this within twice this time is
    /// abuse (zero: never).
    pub max_paused: Duration,
}

/// How an event the client caused is charged against its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventClass {
    /// A typed line: over budget it waits, in order, behind the lines already waiting; once a
    /// burst's worth wait, it is refused (a strike).
    Line,
    /// "Latest value wins" (window size, client info): over budget only the newest value waits
    /// for a token. Never a strike: a waiting value costs nothing and is replaced, not queued.
    Latest,
    /// The answer to a negotiation the codec has already recorded: sent even over budget (a
    /// dropped answer would leave the client and the gateway disagreeing on the option), but
    /// a strike then.
    Answer,
    /// Anything else (GMCP, MSDP, MSSP requests, protocol errors): dropped over budget (a
    /// strike).
    Other,
}

/// What to do with one event, as [`InputBudget::admit`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Within budget: go ahead.
    Now,
    /// Over budget, but it must go ahead (an answer); a strike was counted.
    Forced,
    /// Over budget: let it wait for a token.
    Wait,
    /// Over budget: refuse or drop it; a strike was counted.
    Refuse,
}

/// Why a connection's input ended it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abuse {
    /// Too many events refused or dropped within the strike window.
    Strikes,
    /// The bytes budget kept reading paused most of the time.
    ReadingPaused,
}

impl Abuse {
    pub fn label(self) -> &'static str {
        match self {
            Abuse::Strikes => "input_strikes",
            Abuse::ReadingPaused => "input_paused",
        }
    }

    /// The line the player reads before the socket closes.
    pub fn message(self) -> &'static str {
        "*** Too much input: disconnecting. ***"
    }
}

/// Lines that may wait for a token, in bursts: reading stops at one burst, and what one read
/// of the socket holds beyond that may wait too, up to this many bursts; only past that is a line
/// refused.
const LINES_WAITING_FACTOR: usize = 4;

/// Reading resumes once this many bytes may be read (or a full burst, if smaller), so a client
/// at its limit is read in chunks, not a byte at a time.
const RESUME_READ_BYTES: u64 = 512;

/// One connection's input budget: an event bucket and a bytes bucket per phase (before login,
/// logged in), the strikes of the last window, and how long reading stood paused.
#[derive(Debug)]
pub struct InputBudget {
    policy: InputPolicy,
    logged_in: bool,
    events: TokenBucket,
    bytes: TokenBucket,
    strikes: Strikes,
    paused: PauseMeter,
}

impl InputBudget {
    /// A new connection's budget: not logged in.
    pub fn new(policy: InputPolicy, now: Instant) -> Self {
        Self {
            events: TokenBucket::with_rate(policy.before_login.events, now),
            bytes: TokenBucket::with_rate(policy.before_login.bytes, now),
            policy,
            logged_in: false,
            strikes: Strikes::default(),
            paused: PauseMeter::default(),
        }
    }

    pub fn logged_in(&self) -> bool {
        self.logged_in
    }

    /// The limits of the current phase.
    pub fn limits(&self) -> &InputLimits {
        if self.logged_in {
            &self.policy.logged_in
        } else {
            &self.policy.before_login
        }
    }

    /// Switches to the limits of the new phase. Logging in starts with full buckets (the game
    /// has vouched for the player); logging out keeps what was saved, up to the stricter burst.
    pub fn set_logged_in(&mut self, logged_in: bool, now: Instant) {
        if self.logged_in == logged_in {
            return;
        }
        self.logged_in = logged_in;
        let limits = *self.limits();
        self.events.set_rate(limits.events, logged_in, now);
        self.bytes.set_rate(limits.bytes, logged_in, now);
    }

    /// Decides what happens to one event the client caused; `lines_waiting` is how many lines
    /// already wait for a token (a line never overtakes them).
    pub fn admit(&mut self, class: EventClass, lines_waiting: usize, now: Instant) -> Admission {
        match class {
            EventClass::Line => {
                if lines_waiting == 0 && self.events.try_take(now) {
                    Admission::Now
                } else if lines_waiting < self.limits().events.burst as usize * LINES_WAITING_FACTOR {
                    // Reading pauses once a burst of lines waits (see `lines_block_reading`), so
                    // only what one read already held can go past that: a paste is slowed to
                    // the rate, never cut.
                    Admission::Wait
                } else {
                    self.strike(now);
                    Admission::Refuse
                }
            }
            EventClass::Latest => {
                if self.events.try_take(now) {
                    Admission::Now
                } else {
                    Admission::Wait
                }
            }
            EventClass::Answer => {
                if self.events.try_take(now) {
                    Admission::Now
                } else {
                    self.strike(now);
                    Admission::Forced
                }
            }
            EventClass::Other => {
                if self.events.try_take(now) {
                    Admission::Now
                } else {
                    self.strike(now);
                    Admission::Refuse
                }
            }
        }
    }

    /// Takes a token for an event that waited.
    pub fn take_event(&mut self, now: Instant) -> bool {
        self.events.try_take(now)
    }

    /// How long until a waiting event may go.
    pub fn event_wait(&mut self, now: Instant) -> Duration {
        self.events.wait_time(now)
    }

    /// How many bytes may be read from the socket now. Zero means reading pauses (and the
    /// pause is timed) until [`InputBudget::read_wait`] has passed.
    pub fn read_allowance(&mut self, now: Instant) -> usize {
        let available = self.bytes.available(now);
        let resume_at = RESUME_READ_BYTES.min(u64::from(self.limits().bytes.burst));
        let allowed = if self.paused.is_paused() {
            available >= resume_at
        } else {
            available >= 1
        };
        if allowed {
            self.paused.resume(now, self.paused_window());
            usize::try_from(available).unwrap_or(usize::MAX)
        } else {
            self.paused.pause(now);
            0
        }
    }

    /// Whether so many lines wait for a token that the socket must not be read until some have
    /// gone: TCP then holds the rest of a paste (or of a flood) in the client's buffers.
    pub fn lines_block_reading(&self, lines_waiting: usize) -> bool {
        lines_waiting >= self.limits().events.burst as usize
    }

    /// Reading pauses because too many lines wait ([`InputBudget::lines_block_reading`]): the
    /// pause is the client's own doing and counts towards "paused most of the time".
    pub fn pause_for_lines(&mut self, now: Instant) {
        self.paused.pause(now);
    }

    /// Reading stops for a reason of the gateway's own (its memory budget): a pause of the
    /// bytes budget going on ends here, so the client is not held responsible for the wait.
    pub fn end_pause(&mut self, now: Instant) {
        let window = self.paused_window();
        self.paused.resume(now, window);
    }

    /// Charges `n` bytes read from the socket.
    pub fn charge_read(&mut self, n: usize, now: Instant) {
        self.bytes.take(n as u64, now);
    }

    /// How long until reading may resume.
    pub fn read_wait(&mut self, now: Instant) -> Duration {
        let resume_at = RESUME_READ_BYTES.min(u64::from(self.limits().bytes.burst));
        self.bytes.wait_for(resume_at, now)
    }

    /// Whether the input so far amounts to sustained abuse (the connection must end).
    pub fn abuse(&mut self, now: Instant) -> Option<Abuse> {
        let limit = self.limits().strikes;
        if limit > 0 && self.strikes.count(now, self.policy.strike_window) >= limit as usize {
            return Some(Abuse::Strikes);
        }
        let max_paused = self.policy.max_paused;
        if !max_paused.is_zero() && self.paused.paused_within(now, self.paused_window()) > max_paused {
            return Some(Abuse::ReadingPaused);
        }
        None
    }

    /// Strikes within the window now.
    pub fn strikes(&mut self, now: Instant) -> usize {
        self.strikes.count(now, self.policy.strike_window)
    }

    fn strike(&mut self, now: Instant) {
        let keep = (self.limits().strikes as usize).max(1);
        self.strikes.add(now, self.policy.strike_window, keep);
    }

    fn paused_window(&self) -> Duration {
        self.policy.max_paused * 2
    }
}

/// Strike times within a sliding window, oldest first. Holds at most the strike limit: more
/// would change no decision.
#[derive(Debug, Default)]
pub struct Strikes {
    times: VecDeque<Instant>,
}

impl Strikes {
    /// Counts one strike, keeping at most `keep` of them.
    pub fn add(&mut self, now: Instant, window: Duration, keep: usize) {
        self.forget_before(now, window);
        self.times.push_back(now);
        while self.times.len() > keep {
            self.times.pop_front();
        }
    }

    /// Strikes within `window` before `now`.
    pub fn count(&mut self, now: Instant, window: Duration) -> usize {
        self.forget_before(now, window);
        self.times.len()
    }

    fn forget_before(&mut self, now: Instant, window: Duration) {
        while self
            .times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            self.times.pop_front();
        }
    }
}

/// Spans at most kept by a [`PauseMeter`]; beyond, the two oldest merge (the gap between them
/// counts as paused, which only a client pausing this often within the window can notice).
const MAX_PAUSE_SPANS: usize = 64;

/// How long reading stood paused within a sliding window.
#[derive(Debug, Default)]
pub struct PauseMeter {
    /// Finished pauses (start, end), oldest first.
    spans: VecDeque<(Instant, Instant)>,
    /// The pause going on, if any.
    since: Option<Instant>,
}

impl PauseMeter {
    pub fn is_paused(&self) -> bool {
        self.since.is_some()
    }

    /// Reading pauses now (no effect if it already is).
    pub fn pause(&mut self, now: Instant) {
        self.since.get_or_insert(now);
    }

    /// Reading resumes now; spans that ended more than `window` ago are forgotten.
    pub fn resume(&mut self, now: Instant, window: Duration) {
        if let Some(start) = self.since.take() {
            self.spans.push_back((start, now));
        }
        while self
            .spans
            .front()
            .is_some_and(|(_, end)| now.saturating_duration_since(*end) >= window)
        {
            self.spans.pop_front();
        }
        if self.spans.len() > MAX_PAUSE_SPANS {
            let (start, _) = self.spans.pop_front().expect("more than one span");
            if let Some(next) = self.spans.front_mut() {
                next.0 = start;
            }
        }
    }

    /// Time paused within `window` before `now`, the pause going on included.
    pub fn paused_within(&self, now: Instant, window: Duration) -> Duration {
        let from = now.checked_sub(window);
        let overlap = |start: Instant, end: Instant| {
            let start = from.map_or(start, |f| start.max(f));
            end.saturating_duration_since(start)
        };
        let open = self.since.map(|s| (s, now));
        self.spans
            .iter()
            .copied()
            .chain(open)
            .map(|(start, end)| overlap(start, end))
            .sum()
    }
}

/// One connection's part of the bytes held in one place (its output queue, its unacknowledged
/// input), shared by the task that adds and the one that removes. Signed: an add and a remove
/// racing may pass below zero for a moment, which reads as zero.
#[derive(Debug, Clone, Default)]
pub struct ByteShare(Arc<AtomicI64>);

impl ByteShare {
    pub fn bytes(&self) -> usize {
        usize::try_from(self.0.load(Ordering::Relaxed)).unwrap_or(0)
    }
}

/// The bytes the gateway holds for all its connections, against one budget. Over it, sessions
/// stop reading their sockets and the router stops taking output from Kafka (the output waits
/// there) until it falls: backpressure instead of growth. Every held byte is released by a path
/// that needs neither (a socket write, a Kafka acknowledgement, a close), so pausing both
/// cannot deadlock.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: i64,
    held: AtomicI64,
    over: watch::Sender<bool>,
    gauge: IntGauge,
    times_over: IntCounter,
}

impl MemoryBudget {
    /// A budget of `limit` bytes, mirrored in `gauge`; `times_over` counts each time it is
    /// passed.
    pub fn new(limit: usize, gauge: IntGauge, times_over: IntCounter) -> Self {
        Self {
            limit: i64::try_from(limit).unwrap_or(i64::MAX),
            held: AtomicI64::new(0),
            over: watch::Sender::new(false),
            gauge,
            times_over,
        }
    }

    /// Counts `bytes` as held (in `share` too, if given) until the returned guard is dropped.
    pub fn hold(self: &Arc<Self>, share: Option<&ByteShare>, bytes: usize) -> HeldBytes {
        let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
        if let Some(share) = share {
            share.0.fetch_add(bytes, Ordering::Relaxed);
        }
        self.add(bytes);
        HeldBytes {
            budget: self.clone(),
            share: share.cloned(),
            bytes,
        }
    }

    /// Bytes held now.
    pub fn held(&self) -> usize {
        usize::try_from(self.held.load(Ordering::Relaxed)).unwrap_or(0)
    }

    pub fn is_over(&self) -> bool {
        *self.over.borrow()
    }

    /// Sees each change of "over budget".
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.over.subscribe()
    }

    /// Returns once the held bytes are within budget.
    pub async fn wait_until_under(&self) {
        let mut rx = self.over.subscribe();
        let _ = rx.wait_for(|over| !*over).await;
    }

    fn add(&self, delta: i64) {
        let before = self.held.fetch_add(delta, Ordering::AcqRel);
        self.gauge.add(delta);
        let after = before.saturating_add(delta);
        if (before > self.limit) != (after > self.limit) {
            // Crossed the limit: settle the flag from the total read under the flag's lock, so
            // the last crossing to get there leaves the flag right whatever the interleaving.
            self.over.send_if_modified(|over| {
                let now_over = self.held.load(Ordering::Acquire) > self.limit;
                let changed = *over != now_over;
                if changed && now_over {
                    self.times_over.inc();
                }
                *over = now_over;
                changed
            });
        }
    }
}

/// Bytes counted as held until this is dropped.
#[derive(Debug)]
pub struct HeldBytes {
    budget: Arc<MemoryBudget>,
    share: Option<ByteShare>,
    bytes: i64,
}

impl HeldBytes {
    pub fn bytes(&self) -> usize {
        usize::try_from(self.bytes).unwrap_or(0)
    }
}

impl Drop for HeldBytes {
    fn drop(&mut self) {
        if let Some(share) = &self.share {
            share.0.fetch_sub(self.bytes, Ordering::Relaxed);
        }
        self.budget.add(-self.bytes);
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
    recent: VecDeque<Instant>,
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
pub(crate) mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    pub(crate) fn policy() -> InputPolicy {
        InputPolicy {
            before_login: InputLimits {
                events: Rate {
                    per_second: 4,
                    burst: 10,
                },
                bytes: Rate {
                    per_second: 2048,
                    burst: 8192,
                },
                strikes: 20,
            },
            logged_in: InputLimits {
                events: Rate {
                    per_second: 20,
                    burst: 60,
                },
                bytes: Rate {
                    per_second: 16384,
                    burst: 65536,
                },
                strikes: 50,
            },
            strike_window: Duration::from_secs(10),
            max_paused: Duration::from_secs(30),
        }
    }

    #[test]
    fn taking_more_than_there_is_is_a_debt_of_at_most_one_burst() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1000, 4000, t0);
        b.take(6000, t0);
        assert_eq!(b.available(t0), 0);
        assert_eq!(
            b.wait_for(500, t0),
            Duration::from_millis(2500),
            "the debt is repaid first"
        );
        b.take(1_000_000, t0);
        assert_eq!(
            b.wait_for(1, t0),
            Duration::from_millis(4001),
            "at most a burst of debt"
        );
        assert_eq!(b.available(t0 + Duration::from_secs(5)), 1000);
    }

    #[test]
    fn a_bucket_takes_many_tokens_at_once_and_says_how_long_until_enough() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1000, 4000, t0);
        assert_eq!(b.available(t0), 4000);
        b.take(3500, t0);
        assert_eq!(b.available(t0), 500);
        b.take(500, t0);
        assert_eq!(b.available(t0), 0);
        assert_eq!(b.wait_for(500, t0), Duration::from_millis(500));
        assert_eq!(
            b.wait_for(1_000_000, t0),
            Duration::from_secs(4),
            "at most a burst is waited for"
        );
        assert_eq!(b.available(t0 + Duration::from_millis(250)), 250);
        b.set_rate(
            Rate {
                per_second: 10,
                burst: 100,
            },
            false,
            t0 + Duration::from_millis(250),
        );
        assert_eq!(
            b.available(t0 + Duration::from_millis(250)),
            100,
            "capped at the new burst"
        );
        b.set_rate(
            Rate {
                per_second: 10,
                burst: 300,
            },
            true,
            t0 + Duration::from_millis(250),
        );
        assert_eq!(b.available(t0 + Duration::from_millis(250)), 300, "filled");
    }

    #[test]
    fn lines_go_then_wait_and_block_reading_and_only_past_that_are_refused() {
        let t0 = Instant::now();
        let mut b = InputBudget::new(policy(), t0);
        let mut waiting = 0;
        let mut outcomes = Vec::new();
        for _ in 0..55 {
            if waiting == 10 {
                assert!(b.lines_block_reading(waiting), "a burst waits: reading pauses");
            }
            let a = b.admit(EventClass::Line, waiting, t0);
            if a == Admission::Wait {
                waiting += 1;
            }
            outcomes.push(a);
        }
        assert_eq!(
            outcomes.iter().filter(|a| **a == Admission::Now).count(),
            10,
            "the burst"
        );
        assert_eq!(
            waiting, 40,
            "what one read held past a burst may wait too, up to four bursts"
        );
        assert_eq!(outcomes.iter().filter(|a| **a == Admission::Refuse).count(), 5);
        assert_eq!(b.strikes(t0), 5);
        assert!(!b.lines_block_reading(9));
        // A token comes back every 250 ms; a waiting line takes it, a new line waits behind.
        assert_eq!(b.event_wait(t0), Duration::from_millis(250));
        assert!(b.take_event(t0 + Duration::from_millis(250)));
        assert!(!b.take_event(t0 + Duration::from_millis(250)));
        assert_eq!(
            b.admit(EventClass::Line, 9, t0 + Duration::from_millis(600)),
            Admission::Wait,
            "a line never overtakes the waiting ones, even with a token free"
        );
    }

    #[test]
    fn latest_values_wait_without_strikes_answers_go_and_other_events_are_dropped() {
        let t0 = Instant::now();
        let mut b = InputBudget::new(policy(), t0);
        for _ in 0..10 {
            assert_eq!(b.admit(EventClass::Other, 0, t0), Admission::Now);
        }
        for _ in 0..100 {
            assert_eq!(b.admit(EventClass::Latest, 0, t0), Admission::Wait);
        }
        assert_eq!(b.strikes(t0), 0, "a waiting latest value is no strike");
        assert_eq!(b.admit(EventClass::Answer, 0, t0), Admission::Forced);
        assert_eq!(b.admit(EventClass::Other, 0, t0), Admission::Refuse);
        assert_eq!(b.strikes(t0), 2);
        assert_eq!(b.abuse(t0), None);
    }

    #[test]
    fn strikes_within_the_window_end_the_connection_and_old_ones_are_forgotten() {
        let t0 = Instant::now();
        let mut b = InputBudget::new(policy(), t0);
        for _ in 0..10 {
            b.admit(EventClass::Other, 0, t0);
        }
        // 19 strikes a second apart: never 20 within 10 s.
        for i in 0..19 {
            let t = t0 + SEC * i;
            b.events.take(1000, t);
            assert_eq!(b.admit(EventClass::Other, 0, t), Admission::Refuse);
            assert_eq!(b.abuse(t), None, "after {} strikes", i + 1);
        }
        let t = t0 + SEC * 19;
        b.events.take(1000, t);
        assert_eq!(b.strikes(t), 9, "only the last 10 s count");
        for _ in 0..10 {
            b.admit(EventClass::Other, 0, t);
        }
        assert_eq!(b.abuse(t), None, "19 strikes");
        b.admit(EventClass::Other, 0, t);
        assert_eq!(b.abuse(t), Some(Abuse::Strikes), "the 20th");
        assert!(
            b.strikes.times.len() <= 20,
            "no more strikes are kept than the limit"
        );
    }

    #[test]
    fn logging_in_switches_to_the_looser_limits_and_logging_out_back() {
        let t0 = Instant::now();
        let mut b = InputBudget::new(policy(), t0);
        assert!(!b.logged_in());
        assert_eq!(b.read_allowance(t0), 8192);
        for _ in 0..10 {
            b.admit(EventClass::Line, 0, t0);
        }
        assert_eq!(b.admit(EventClass::Line, 0, t0), Admission::Wait);
        b.set_logged_in(true, t0);
        assert!(b.logged_in());
        assert_eq!(b.read_allowance(t0), 65536, "logged in: the larger burst, full");
        let took = (0..100)
            .filter(|_| b.admit(EventClass::Other, 0, t0) == Admission::Now)
            .count();
        assert_eq!(took, 60);
        // 50 strikes now, not 20.
        for _ in 0..30 {
            b.admit(EventClass::Other, 0, t0);
        }
        assert_eq!(b.strikes(t0), 50, "70 strikes, of which the limit is kept");
        assert_eq!(b.abuse(t0), Some(Abuse::Strikes));
        b.set_logged_in(false, t0 + SEC);
        assert_eq!(
            b.read_allowance(t0 + SEC),
            8192,
            "logging out keeps no more than the stricter burst"
        );
        b.set_logged_in(false, t0 + SEC);
        assert_eq!(b.limits(), &policy().before_login);
    }

    #[test]
    fn reading_pauses_when_the_bytes_run_out_and_resumes_in_chunks() {
        let t0 = Instant::now();
        let mut b = InputBudget::new(policy(), t0);
        let n = b.read_allowance(t0);
        b.charge_read(n, t0);
        assert_eq!(b.read_allowance(t0), 0, "paused");
        assert_eq!(
            b.read_wait(t0),
            Duration::from_millis(250),
            "until 512 bytes are back"
        );
        let t = t0 + Duration::from_millis(100);
        assert_eq!(b.read_allowance(t), 0, "204 bytes are not enough to resume");
        let t = t0 + Duration::from_millis(250);
        assert_eq!(b.read_allowance(t), 512);
        b.charge_read(100, t);
        assert_eq!(
            b.read_allowance(t),
            412,
            "not paused: whatever is there may be read"
        );
        assert!(b.paused.paused_within(t, Duration::from_secs(60)) == Duration::from_millis(250));

        // A pause the gateway causes is not the client's.
        b.charge_read(412, t);
        assert_eq!(b.read_allowance(t), 0);
        b.end_pause(t + Duration::from_millis(50));
        let later = t + Duration::from_secs(20);
        assert_eq!(
            b.paused.paused_within(later, Duration::from_secs(60)),
            Duration::from_millis(300)
        );
    }

    #[test]
    fn a_client_that_keeps_reading_paused_most_of_the_time_is_abusing() {
        let t0 = Instant::now();
        let mut b = InputBudget::new(policy(), t0);
        let mut t = t0;
        // Always sending more than the rate: every read empties the bucket.
        let mut abused_at = None;
        while t < t0 + Duration::from_secs(60) {
            // As the session does: read all that is allowed, then wait while paused.
            let n = b.read_allowance(t);
            if n > 0 {
                b.charge_read(n, t);
                continue;
            }
            if let Some(a) = b.abuse(t) {
                abused_at = Some((a, t - t0));
                break;
            }
            t += b.read_wait(t).max(Duration::from_millis(1));
        }
        let (abuse, after) = abused_at.expect("flagged within a minute");
        assert_eq!(abuse, Abuse::ReadingPaused);
        assert!(
            after > Duration::from_secs(30) && after < Duration::from_secs(36),
            "{after:?}"
        );

        // Sending at the limit for a while, then within it: never abuse.
        let mut b = InputBudget::new(policy(), t0);
        let mut t = t0;
        while t < t0 + Duration::from_secs(25) {
            let n = b.read_allowance(t);
            if n > 0 {
                b.charge_read(n, t);
                continue;
            }
            t += b.read_wait(t).max(Duration::from_millis(1));
        }
        assert!(b.paused.paused_within(t, Duration::from_secs(60)) > Duration::from_secs(20));
        while t < t0 + Duration::from_secs(120) {
            let n = b.read_allowance(t).min(100);
            b.charge_read(n, t);
            assert_eq!(b.abuse(t), None, "at {:?}", t - t0);
            t += Duration::from_millis(100);
        }
    }

    #[test]
    fn the_pause_meter_counts_only_the_window_and_stays_small() {
        let t0 = Instant::now();
        let window = Duration::from_secs(60);
        let mut m = PauseMeter::default();
        m.pause(t0);
        m.pause(t0 + SEC); // already paused: the first start counts
        m.resume(t0 + SEC * 10, window);
        assert_eq!(m.paused_within(t0 + SEC * 10, window), SEC * 10);
        m.pause(t0 + SEC * 65);
        assert_eq!(
            m.paused_within(t0 + SEC * 65, window),
            SEC * 5,
            "partly out of the window"
        );
        assert_eq!(
            m.paused_within(t0 + SEC * 67, window),
            SEC * 5,
            "the open pause counts"
        );
        m.resume(t0 + SEC * 75, window);
        assert_eq!(m.paused_within(t0 + SEC * 75, window), SEC * 10);
        for i in 0..1000u32 {
            let t = t0 + SEC * 100 + Duration::from_millis(u64::from(i) * 20);
            m.pause(t);
            m.resume(t + Duration::from_millis(10), window);
        }
        assert!(m.spans.len() <= MAX_PAUSE_SPANS);
    }

    fn budget(limit: usize) -> Arc<MemoryBudget> {
        Arc::new(MemoryBudget::new(
            limit,
            IntGauge::new("held", "held").unwrap(),
            IntCounter::new("over", "over").unwrap(),
        ))
    }

    #[test]
    fn held_bytes_are_counted_until_dropped_per_connection_and_in_total() {
        let m = budget(1000);
        let share = ByteShare::default();
        let a = m.hold(Some(&share), 300);
        let b = m.hold(Some(&share), 200);
        let c = m.hold(None, 100);
        assert_eq!((share.bytes(), m.held(), m.gauge.get()), (500, 600, 600));
        drop(a);
        assert_eq!((share.bytes(), m.held()), (200, 300));
        drop(b);
        drop(c);
        assert_eq!((share.bytes(), m.held(), m.gauge.get()), (0, 0, 0));
    }

    #[test]
    fn over_budget_is_signalled_when_crossed_both_ways() {
        let m = budget(1000);
        let mut rx = m.watch();
        assert!(!*rx.borrow_and_update());
        let a = m.hold(None, 600);
        assert!(!m.is_over() && !rx.has_changed().unwrap());
        let b = m.hold(None, 600);
        assert!(m.is_over());
        assert!(rx.has_changed().unwrap() && *rx.borrow_and_update());
        let c = m.hold(None, 600);
        assert!(!rx.has_changed().unwrap(), "still over: no new signal");
        drop(b);
        assert!(m.is_over(), "1200 held");
        drop(c);
        assert!(!m.is_over() && rx.has_changed().unwrap());
        assert_eq!(m.times_over.get(), 1);
        drop(a);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(m.wait_until_under());
    }

    #[test]
    fn racing_holders_leave_the_total_and_the_flag_right() {
        let m = budget(5_000);
        let share = ByteShare::default();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for i in 0..20_000usize {
                        let held = m.hold(Some(&share), 1 + i % 700);
                        let more = m.hold(None, 3000);
                        drop(held);
                        drop(more);
                    }
                });
            }
        });
        assert_eq!(m.held(), 0);
        assert_eq!(share.bytes(), 0);
        assert!(!m.is_over(), "the last crossing leaves the flag right");
    }

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
