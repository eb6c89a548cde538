//! A pool of plain threads for HTTP, fed over a bounded channel.
//!
//! Threads are spawned with every signal blocked (Postgres' handlers must run on the main
//! thread only), never touch Postgres, and send owned results back on a channel, ringing
//! the main thread after each one.

use super::wait::{Ringer, Waiter};
use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

/// Work for an HTTP thread: a closure over owned data that produces a result message.
pub type Job<R> = Box<dyn FnOnce() -> R + Send + 'static>;

/// A fixed set of threads running jobs for one sync. Dropping it closes the queue; threads
/// finish their current request and exit. Nobody joins them: a hung request must not hold
/// up the worker (its timeout ends it soon enough).
pub struct Pool<R: Send + 'static> {
    jobs: Sender<Job<R>>,
}

impl<R: Send + 'static> Pool<R> {
    /// Starts `size` threads that send each job's result to `results` and ring `waiter`.
    pub fn start(
        name: &str,
        size: usize,
        results: &Sender<R>,
        waiter: &Waiter,
    ) -> std::io::Result<Pool<R>> {
        let (jobs, queue) = bounded::<Job<R>>(size);
        crate::threads::with_signals_blocked(|| {
            for i in 0..size {
                let (queue, results, ringer) = (queue.clone(), results.clone(), waiter.ringer()?);
                std::thread::Builder::new()
                    .name(format!("{name}-{i}"))
                    .spawn(move || run(queue, results, ringer))?;
            }
            Ok(())
        })?;
        Ok(Pool { jobs })
    }

    /// Queues a job unless the queue is full; gives it back then.
    pub fn try_submit(&self, job: Job<R>) -> Result<(), Job<R>> {
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(job) | TrySendError::Disconnected(job) => job,
        })
    }
}

fn run<R>(queue: Receiver<Job<R>>, results: Sender<R>, ringer: Ringer) {
    for job in queue {
        let outcome = job();
        if results.send(outcome).is_err() {
            return;
        }
        ringer.ring();
    }
}
