//! Password hashing off the input loop: a few threads, each with argon2 memory of its own
//! allocated once, fed by a bounded queue.
//!
//! Why: argon2 is slow and memory-hard on purpose (tens of ms and 19 MiB per hash). Done on the
//! input loop, 500 simultaneous `create`s stalled every player for seconds and, with a fresh
//! buffer per hash, grew the process to gigabytes. Here the loop hands a login's password work to
//! the pool and goes on with other players' events; the connection's later events wait behind
//! its login (the loop keeps them in order). A full queue refuses the login with a message
//! ("busy, try again") instead of growing.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use mush_protocol::Handle;
use tokio::sync::mpsc;

use crate::game::{CredentialWork, Credentials, Scratch};

/// A finished piece of password work.
#[derive(Debug)]
pub struct Done {
    pub handle: Handle,
    pub credentials: Credentials,
}

struct Job {
    handle: Handle,
    work: CredentialWork,
}

/// The queue was full: the login is refused for now.
#[derive(Debug, PartialEq, Eq)]
pub struct Full;

pub struct HashPool {
    jobs: SyncSender<Job>,
    done: mpsc::UnboundedReceiver<Done>,
}

impl HashPool {
    /// `workers` threads; at most `queue` jobs waiting.
    pub fn start(workers: usize, queue: usize) -> Self {
        let (jobs, rx) = sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        let (tx, done) = mpsc::unbounded_channel();
        for n in 0..workers.max(1) {
            let rx = rx.clone();
            let tx = tx.clone();
            std::thread::Builder::new()
                .name(format!("hash-{n}"))
                .spawn(move || work(&rx, &tx))
                .expect("spawning a hashing thread");
        }
        Self { jobs, done }
    }

    /// Queues `work` for `handle`.
    pub fn submit(&self, handle: Handle, work: CredentialWork) -> Result<(), Full> {
        match self.jobs.try_send(Job { handle, work }) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(Full),
        }
    }

    /// A finished piece of work, if one is there now.
    pub fn try_next(&mut self) -> Option<Done> {
        self.done.try_recv().ok()
    }

    /// The next finished piece of work (in completion order).
    pub async fn next(&mut self) -> Option<Done> {
        self.done.recv().await
    }
}

/// One hashing thread: until the pool is dropped. A panic in the hashing library answers
/// `Unavailable` instead of leaving the login waiting forever.
fn work(jobs: &Mutex<Receiver<Job>>, done: &mpsc::UnboundedSender<Done>) {
    lower_priority();
    let mut scratch: Option<Scratch> = None;
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let scratch = scratch.get_or_insert_with(Scratch::new);
        let credentials = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scratch.run(&job.work)))
            .unwrap_or(Credentials::Unavailable);
        if done
            .send(Done {
                handle: job.handle,
                credentials,
            })
            .is_err()
        {
            return;
        }
    }
}

/// Makes this thread yield to the input loop: on a machine with as many busy hashing threads as
/// cores, players' commands would otherwise wait for a core (measured: p99 91 ms for another
/// player during 500 simultaneous `create`s on 2 cores, with equal priorities).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on this thread's own id; no memory is passed.
        let tid = unsafe { libc::gettid() };
        // SAFETY: as above; on Linux a thread's nice value is its own.
        let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10) };
        if r != 0 {
            tracing::debug!("could not lower the hashing thread's priority");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mush_protocol::Slot;

    fn h(n: u32) -> Handle {
        Handle::new(Slot::new(0).unwrap(), 1, n).unwrap()
    }

    #[tokio::test]
    async fn work_is_done_off_thread_and_a_full_queue_refuses() {
        let mut pool = HashPool::start(1, 2);
        let hash = |n: u32| CredentialWork::Hash {
            password: format!("password{n}"),
        };
        let mut accepted = 0;
        let mut refused = 0;
        for n in 0..20 {
            match pool.submit(h(n), hash(n)) {
                Ok(()) => accepted += 1,
                Err(Full) => refused += 1,
            }
        }
        assert!(refused > 0, "a queue of 2 and one worker cannot take 20 at once");
        assert!((2..=4).contains(&accepted), "{accepted}");
        for _ in 0..accepted {
            let done = pool.next().await.unwrap();
            let Credentials::Hashed(phc) = done.credentials else {
                panic!("{:?}", done.credentials)
            };
            let n = done.handle.counter();
            assert!(crate::game::password_matches(&format!("password{n}"), Some(&phc)));
        }
    }
}
