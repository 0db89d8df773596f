//! Graceful shutdown: one signal every task watches, and a way to wait until they have all let go.
//!
//! [`Shutdown::trigger`] (or SIGTERM / SIGINT once [`Shutdown::listen_for_signals`] runs) cancels
//! the token; tasks spawned through [`Shutdown::spawn`] are tracked, and [`Shutdown::wait`] returns
//! once every one has finished, or reports the ones still running when the grace period ends.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    tracker: TaskTracker,
}

/// Whether every tracked task finished before the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    AllDone,
    /// This many tasks were still running when the grace period ended.
    TimedOut(usize),
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts shutdown: every watcher of [`Shutdown::triggered`] wakes.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes when shutdown starts. Cheap to call in a `select!` arm.
    pub async fn triggered(&self) {
        self.token.cancelled().await
    }

    /// A child token: cancelled with this one, or alone (e.g. one connection's tasks).
    pub fn child_token(&self) -> CancellationToken {
        self.token.child_token()
    }

    /// A shutdown of its own (its own tasks to wait for) that also starts when this one does.
    pub fn child(&self) -> Self {
        Self {
            token: self.token.child_token(),
            tracker: TaskTracker::new(),
        }
    }

    /// The token itself, for code that takes a `CancellationToken`.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// Spawns a task that [`Shutdown::wait`] will wait for.
    pub fn spawn<F>(&self, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn(fut)
    }

    /// Triggers shutdown on the first SIGTERM or SIGINT. Spawns a small task; call once per process.
    pub fn listen_for_signals(&self) -> std::io::Result<()> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let token = self.token.clone();
        tokio::spawn(async move {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
                _ = token.cancelled() => return,
            };
            tracing::info!(signal = name, "shutdown requested");
            token.cancel();
        });
        Ok(())
    }

    /// Waits until every tracked task has finished, at most `grace`.
    pub async fn wait(&self, grace: Duration) -> Drained {
        self.tracker.close();
        match tokio::time::timeout(grace, self.tracker.wait()).await {
            Ok(()) => Drained::AllDone,
            Err(_) => Drained::TimedOut(self.tracker.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn every_task_sees_the_signal_and_wait_returns_when_they_let_go() {
        let shutdown = Shutdown::new();
        let finished = Arc::new(AtomicUsize::new(0));
        for _ in 0..10 {
            let s = shutdown.clone();
            let finished = finished.clone();
            shutdown.spawn(async move {
                s.triggered().await;
                tokio::time::sleep(Duration::from_millis(5)).await;
                finished.fetch_add(1, Ordering::SeqCst);
            });
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(
            finished.load(Ordering::SeqCst),
            0,
            "nobody stops before the signal"
        );
        shutdown.trigger();
        assert_eq!(shutdown.wait(Duration::from_secs(5)).await, Drained::AllDone);
        assert_eq!(finished.load(Ordering::SeqCst), 10);
    }

    #[tokio::test]
    async fn a_task_that_does_not_let_go_is_reported() {
        let shutdown = Shutdown::new();
        shutdown.spawn(tokio::time::sleep(Duration::from_secs(60)));
        shutdown.trigger();
        assert_eq!(
            shutdown.wait(Duration::from_millis(20)).await,
            Drained::TimedOut(1)
        );
    }
}
