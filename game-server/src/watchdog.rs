//! Watching the input loop from outside it: slow events are recorded as attempts (so an event
//! that crashes or hangs the game-server is recognised when it is replayed, and skipped after a
//! few tries), `/livez` fails when the loop is stuck on one event, and a stop asked for with
//! SIGTERM ends the process within its grace period even in the middle of an event.
//!
//! Why a thread of its own: the event being applied runs on the loop's thread; a task on the same
//! runtime could be starved by it. This thread only reads a mutex-guarded note the loop writes
//! around the game's work (not around Redis writes: waiting for Redis is not being stuck).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mush_platform::Shutdown;

/// The event the loop is applying, if any.
#[derive(Debug, Default)]
pub struct InFlight {
    current: Mutex<Option<Current>>,
}

#[derive(Debug, Clone, Copy)]
struct Current {
    partition: i32,
    offset: i64,
    since: Instant,
    recorded: bool,
}

impl InFlight {
    /// The loop starts the game's work on (`partition`, `offset`).
    pub fn begin(&self, partition: i32, offset: i64) {
        *self.current.lock().expect("in-flight lock") = Some(Current {
            partition,
            offset,
            since: Instant::now(),
            recorded: false,
        });
    }

    /// The loop finished it (or gave up on it).
    pub fn end(&self) {
        *self.current.lock().expect("in-flight lock") = None;
    }

    /// How long the loop has been on the current event, if on one.
    pub fn busy_for(&self) -> Option<(i32, i64, Duration)> {
        self.current
            .lock()
            .expect("in-flight lock")
            .map(|c| (c.partition, c.offset, c.since.elapsed()))
    }

    /// The current event if it has run longer than `slow` and was not reported yet (it is marked
    /// reported).
    fn take_slow(&self, slow: Duration) -> Option<(i32, i64)> {
        let mut current = self.current.lock().expect("in-flight lock");
        let c = current.as_mut()?;
        if c.recorded || c.since.elapsed() < slow {
            return None;
        }
        c.recorded = true;
        Some((c.partition, c.offset))
    }

    /// The `/livez` verdict: an error naming the event when the loop has been on it too long.
    pub fn liveness(&self, stuck: Duration) -> Result<(), String> {
        match self.busy_for() {
            Some((p, o, t)) if t >= stuck => Err(format!(
                "the input loop has been applying event {p}:{o} for {}s",
                t.as_secs()
            )),
            _ => Ok(()),
        }
    }
}

/// What the watchdog does when it sees a slow event: record an attempt (in Redis).
pub type OnSlow = Box<dyn Fn(i32, i64) + Send>;

/// Starts the watchdog thread: slow events are handed to `on_slow` once each; once `shutdown` is
/// triggered, the process exits after `grace` if it has not ended by itself.
pub fn spawn(in_flight: Arc<InFlight>, slow: Duration, on_slow: OnSlow, shutdown: Shutdown, grace: Duration) {
    std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || {
            let mut stop_asked: Option<Instant> = None;
            loop {
                std::thread::sleep(Duration::from_millis(50));
                if let Some((p, o)) = in_flight.take_slow(slow) {
                    on_slow(p, o);
                }
                if shutdown.is_triggered() {
                    let asked = *stop_asked.get_or_insert_with(Instant::now);
                    if asked.elapsed() >= grace {
                        eprintln!(
                            "game-server: still running {}s after the stop was asked for (busy: {:?}); exiting",
                            grace.as_secs(),
                            in_flight.busy_for()
                        );
                        std::process::exit(3);
                    }
                }
            }
        })
        .expect("spawning the watchdog");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_event_is_reported_once_and_a_stuck_one_fails_liveness() {
        let f = InFlight::default();
        assert!(f.take_slow(Duration::ZERO).is_none(), "nothing in flight");
        assert!(f.liveness(Duration::ZERO).is_ok());
        f.begin(3, 42);
        assert!(f.take_slow(Duration::from_secs(60)).is_none(), "not slow yet");
        assert_eq!(f.take_slow(Duration::ZERO), Some((3, 42)));
        assert_eq!(f.take_slow(Duration::ZERO), None, "once");
        assert!(f.liveness(Duration::from_secs(60)).is_ok());
        let err = f.liveness(Duration::ZERO).unwrap_err();
        assert!(err.contains("3:42"), "{err}");
        f.end();
        assert!(f.liveness(Duration::ZERO).is_ok());
    }
}
