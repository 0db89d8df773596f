//! Retrying an operation with backoff until it succeeds, gives up, or is told to stop.
//!
//! [`retry`] runs an operation, and after each failure waits (see [`RetryPolicy::delay`]) before
//! the next attempt; [`retry_notify`] also calls a hook before each wait, where the callers log.
//! Only the waits are cut short by the stop token: an attempt under way always finishes.
//!
//! ```
//! # use std::time::Duration;
//! # use mush_platform::retry::{RetryError, RetryPolicy, retry};
//! # use tokio_util::sync::CancellationToken;
//! # async fn example() {
//! let policy = RetryPolicy::backoff(Duration::from_millis(100), Duration::from_secs(5)).attempts(3);
//! let stop = CancellationToken::new();
//! let answer: Result<u32, RetryError<&str>> = retry(&policy, &stop, |attempt| async move {
//!     if attempt < 3 { Err("not yet") } else { Ok(42) }
//! })
//! .await;
//! assert_eq!(answer, Ok(42));
//! # }
//! ```

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How long to wait between attempts, and how many to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failed attempt.
    pub first_delay: Duration,
    /// No wait is longer than this.
    pub max_delay: Duration,
    /// Each wait is this many times the one before (until `max_delay`); 1 keeps it constant.
    pub factor: u32,
    /// Attempts in all, the first included; `None`: never give up. `Some(0)` counts as 1.
    pub max_attempts: Option<u32>,
}

impl RetryPolicy {
    /// Waits of `first`, doubling up to `max`; never gives up.
    pub const fn backoff(first: Duration, max: Duration) -> Self {
        Self {
            first_delay: first,
            max_delay: max,
            factor: 2,
            max_attempts: None,
        }
    }

    /// The same wait every time; never gives up.
    pub const fn constant(delay: Duration) -> Self {
        Self {
            first_delay: delay,
            max_delay: delay,
            factor: 1,
            max_attempts: None,
        }
    }

    /// This policy, giving up after `n` attempts in all.
    pub const fn attempts(self, n: u32) -> Self {
        Self {
            max_attempts: Some(n),
            ..self
        }
    }

    /// The wait after failed attempt `attempt` (counted from 1): `first_delay × factor^(attempt−1)`,
    /// at most `max_delay` (also when that product overflows). Attempt 0 counts as 1.
    pub fn delay(&self, attempt: u32) -> Duration {
        self.factor
            .checked_pow(attempt.saturating_sub(1))
            .and_then(|m| self.first_delay.checked_mul(m))
            .map_or(self.max_delay, |d| d.min(self.max_delay))
    }

    /// Whether failed attempt `attempt` was the last one allowed.
    fn is_last(&self, attempt: u32) -> bool {
        self.max_attempts.is_some_and(|max| attempt >= max)
    }
}

/// Why [`retry`] returned without a success.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetryError<E> {
    /// The stop token fired while waiting for the next attempt.
    #[error("stopped before succeeding")]
    Stopped,
    /// Every attempt the policy allows failed; this is the last one's error.
    #[error("gave up after the last attempt failed")]
    GaveUp(#[source] E),
}

/// Runs `op(attempt)` (attempt counted from 1) until it succeeds, waiting as `policy` says after
/// each failure. Returns [`RetryError::Stopped`] as soon as `stop` fires during a wait, and
/// [`RetryError::GaveUp`] with the last error when `policy.max_attempts` have failed. A policy
/// that never gives up returns `GaveUp` never: `.ok()` then turns the result into "`None` when
/// stopped". Pass `&CancellationToken::new()` for nothing to stop it.
pub async fn retry<T, E, F, Fut>(
    policy: &RetryPolicy,
    stop: &CancellationToken,
    op: F,
) -> Result<T, RetryError<E>>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    retry_notify(policy, stop, op, |_, _, _| {}).await
}

/// [`retry`], calling `on_retry(attempt, &error, delay)` after each failed attempt that another
/// follows, before waiting `delay` for it (the last attempt's error is returned instead).
pub async fn retry_notify<T, E, F, Fut, N>(
    policy: &RetryPolicy,
    stop: &CancellationToken,
    mut op: F,
    mut on_retry: N,
) -> Result<T, RetryError<E>>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    N: FnMut(u32, &E, Duration),
{
    let mut attempt = 1u32;
    loop {
        let error = match op(attempt).await {
            Ok(value) => return Ok(value),
            Err(e) => e,
        };
        if policy.is_last(attempt) {
            return Err(RetryError::GaveUp(error));
        }
        let delay = policy.delay(attempt);
        on_retry(attempt, &error, delay);
        tokio::select! {
            biased;
            _ = stop.cancelled() => return Err(RetryError::Stopped),
            _ = tokio::time::sleep(delay) => {}
        }
        attempt = attempt.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use tokio::time::Instant;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn delays_double_from_the_first_up_to_the_cap() {
        let p = RetryPolicy::backoff(ms(100), Duration::from_secs(5));
        let delays: Vec<_> = (1..=9).map(|a| p.delay(a)).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000].map(ms));
    }

    #[test]
    fn the_cap_holds_however_many_attempts_and_attempt_zero_counts_as_the_first() {
        let p = RetryPolicy::backoff(ms(200), Duration::from_secs(30));
        assert_eq!(p.delay(0), ms(200));
        assert_eq!(p.delay(1), ms(200));
        assert_eq!(p.delay(9), Duration::from_secs(30));
        // 2^63 and beyond overflow: still the cap, no panic.
        assert_eq!(p.delay(64), Duration::from_secs(30));
        assert_eq!(p.delay(u32::MAX), Duration::from_secs(30));
        let huge = RetryPolicy::backoff(Duration::MAX, Duration::MAX);
        assert_eq!(huge.delay(2), Duration::MAX);
    }

    #[test]
    fn a_constant_policy_waits_the_same_every_time() {
        let p = RetryPolicy::constant(Duration::from_secs(1));
        for attempt in [1, 2, 3, 100, u32::MAX] {
            assert_eq!(p.delay(attempt), Duration::from_secs(1));
        }
        assert_eq!(p.max_attempts, None);
    }

    #[test]
    fn attempts_bounds_a_policy_and_keeps_its_delays() {
        let p = RetryPolicy::backoff(ms(50), Duration::from_secs(2)).attempts(12);
        assert_eq!(
            p,
            RetryPolicy {
                first_delay: ms(50),
                max_delay: Duration::from_secs(2),
                factor: 2,
                max_attempts: Some(12),
            }
        );
        assert!(!p.is_last(11));
        assert!(p.is_last(12));
        assert!(RetryPolicy::constant(ms(1)).attempts(0).is_last(1));
        assert!(!RetryPolicy::constant(ms(1)).is_last(u32::MAX));
    }

    #[tokio::test(start_paused = true)]
    async fn retries_until_success_waiting_between_attempts() {
        let policy = RetryPolicy::backoff(ms(100), Duration::from_secs(5));
        let stop = CancellationToken::new();
        let start = Instant::now();
        let seen = RefCell::new(Vec::new());
        let result: Result<&str, RetryError<String>> = retry(&policy, &stop, |attempt| {
            seen.borrow_mut().push((attempt, start.elapsed()));
            async move {
                if attempt < 4 {
                    Err(format!("failure {attempt}"))
                } else {
                    Ok("done")
                }
            }
        })
        .await;
        assert_eq!(result, Ok("done"));
        assert_eq!(
            seen.into_inner(),
            [(1, ms(0)), (2, ms(100)), (3, ms(300)), (4, ms(700))]
        );
        assert_eq!(start.elapsed(), ms(700), "no wait after the success");
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_max_attempts_with_the_last_error() {
        let policy = RetryPolicy::backoff(ms(200), Duration::from_secs(30)).attempts(3);
        let stop = CancellationToken::new();
        let start = Instant::now();
        let mut calls = 0;
        let mut notified = Vec::new();
        let result: Result<(), _> = retry_notify(
            &policy,
            &stop,
            |attempt| {
                calls += 1;
                async move { Err(attempt) }
            },
            |attempt, e: &u32, delay| notified.push((attempt, *e, delay)),
        )
        .await;
        assert_eq!(result, Err(RetryError::GaveUp(3)));
        assert_eq!(calls, 3);
        assert_eq!(
            notified,
            [(1, 1, ms(200)), (2, 2, ms(400))],
            "no hook for the last failure: its error is returned"
        );
        assert_eq!(start.elapsed(), ms(600), "no wait after the last attempt");
    }

    #[tokio::test(start_paused = true)]
    async fn stops_promptly_when_the_token_fires_mid_wait() {
        let policy = RetryPolicy::constant(Duration::from_secs(3600));
        let stop = CancellationToken::new();
        {
            let stop = stop.clone();
            tokio::spawn(async move {
                tokio::time::sleep(ms(10)).await;
                stop.cancel();
            });
        }
        let start = Instant::now();
        let mut calls = 0;
        let result: Result<(), RetryError<&str>> = retry(&policy, &stop, |_| {
            calls += 1;
            async { Err("down") }
        })
        .await;
        assert_eq!(result, Err(RetryError::Stopped));
        assert_eq!(calls, 1);
        assert_eq!(start.elapsed(), ms(10), "not the hour of the wait");
    }

    #[tokio::test(start_paused = true)]
    async fn a_token_fired_already_allows_one_attempt_and_no_wait() {
        let policy = RetryPolicy::constant(Duration::from_secs(1));
        let stop = CancellationToken::new();
        stop.cancel();
        let start = Instant::now();
        let failed: Result<(), RetryError<&str>> = retry(&policy, &stop, |_| async { Err("down") }).await;
        assert_eq!(failed, Err(RetryError::Stopped));
        let succeeded: Result<u8, RetryError<&str>> = retry(&policy, &stop, |_| async { Ok(7) }).await;
        assert_eq!(succeeded, Ok(7));
        assert_eq!(start.elapsed(), ms(0));
    }

    #[tokio::test(start_paused = true)]
    async fn the_waits_double_up_to_the_cap() {
        let policy = RetryPolicy::backoff(ms(100), Duration::from_secs(1));
        let stop = CancellationToken::new();
        let mut starts = Vec::new();
        let mut announced = Vec::new();
        let result: Result<(), RetryError<()>> = retry_notify(
            &policy,
            &stop,
            |attempt| {
                starts.push(Instant::now());
                async move { if attempt < 8 { Err(()) } else { Ok(()) } }
            },
            |_, _, delay| announced.push(delay),
        )
        .await;
        assert_eq!(result, Ok(()));
        let waited: Vec<_> = starts.windows(2).map(|w| w[1] - w[0]).collect();
        let expected = [100, 200, 400, 800, 1000, 1000, 1000].map(ms);
        assert_eq!(waited, expected, "the time actually waited");
        assert_eq!(announced, expected, "the delays given to the hook");
    }

    #[test]
    fn errors_say_what_happened() {
        let gave_up: RetryError<std::io::Error> = RetryError::GaveUp(std::io::Error::other("refused"));
        assert_eq!(gave_up.to_string(), "gave up after the last attempt failed");
        assert_eq!(
            std::error::Error::source(&gave_up).map(ToString::to_string),
            Some("refused".to_owned())
        );
        assert_eq!(
            RetryError::<std::io::Error>::Stopped.to_string(),
            "stopped before succeeding"
        );
    }
}
