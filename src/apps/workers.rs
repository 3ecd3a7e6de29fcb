//! A thread for every client, without paying for a new thread every time.
//!
//! The concurrent server gives each connected client a thread of its own.
//! Starting a thread costs more than a whole short TCP connection over
//! tuntcp, so a thread whose client has gone waits a while for the next
//! one before it exits (a "cached" pool, as Java's
//! `Executors.newCachedThreadPool`): the model stays one thread per
//! concurrent client, and there is never a queue of clients waiting for a
//! free thread.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How long an idle thread waits for another client before it exits.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs each job on a thread of its own: an idle one if there is one, a
/// new one otherwise.
pub struct Workers<T: Send + 'static> {
    shared: Arc<Shared<T>>,
    work: fn(T),
    thread_name: &'static str,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    job_ready: Condvar,
}

struct State<T> {
    /// Threads waiting for a job.
    idle: usize,
    /// Jobs handed to idle threads, not yet picked up.
    jobs: VecDeque<T>,
}

impl<T: Send + 'static> Workers<T> {
    /// Threads are named `thread_name` and run `work` for every job.
    pub fn new(thread_name: &'static str, work: fn(T)) -> Workers<T> {
        Workers {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    idle: 0,
                    jobs: VecDeque::new(),
                }),
                job_ready: Condvar::new(),
            }),
            work,
            thread_name,
        }
    }

    /// Starts `job` at once: never queued behind another job.
    pub fn run(&self, job: T) -> io::Result<()> {
        {
            let mut state = lock(&self.shared.state);
            // Idle threads not yet promised a job can take this one.
            if state.idle > state.jobs.len() {
                state.jobs.push_back(job);
                self.shared.job_ready.notify_one();
                return Ok(());
            }
        }
        let shared = Arc::clone(&self.shared);
        let work = self.work;
        std::thread::Builder::new()
            .name(self.thread_name.to_string())
            .spawn(move || worker_loop(&shared, work, job))?;
        Ok(())
    }
}

/// Does `first`, then whatever jobs come while it is idle for less than
/// [`IDLE_TIMEOUT`].
fn worker_loop<T>(shared: &Shared<T>, work: fn(T), first: T) {
    let mut job = first;
    loop {
        work(job);
        let mut state = lock(&shared.state);
        state.idle += 1;
        // The idle count and the queue change under one lock, so a job is
        // never left in the queue with no thread counted to take it.
        let (mut state, _) = shared
            .job_ready
            .wait_timeout_while(state, IDLE_TIMEOUT, |s| s.jobs.is_empty())
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.idle -= 1;
        match state.jobs.pop_front() {
            Some(next) => job = next,
            None => return,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// A job that reports the thread it runs on, then waits for a go.
    type Job = (
        mpsc::Sender<std::thread::ThreadId>,
        Arc<Mutex<mpsc::Receiver<()>>>,
    );

    fn report_and_wait((report, go): Job) {
        report.send(std::thread::current().id()).unwrap();
        go.lock().unwrap().recv().unwrap();
    }

    #[test]
    fn jobs_run_concurrently_and_idle_threads_are_reused() {
        let (report_tx, report_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let go_rx = Arc::new(Mutex::new(go_rx));
        let job = || (report_tx.clone(), Arc::clone(&go_rx));
        let workers = Workers::new("test worker", report_and_wait);
        // Two jobs that both wait: they must be on two threads at once.
        workers.run(job()).unwrap();
        workers.run(job()).unwrap();
        let first = report_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        let second = report_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_ne!(first, second, "two concurrent jobs, two threads");
        go_tx.send(()).unwrap();
        go_tx.send(()).unwrap();
        // Both threads go idle; once the pool counts them, a new job must
        // reuse one of them rather than start a third.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while lock(&workers.shared.state).idle < 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "the two threads never went idle"
            );
            std::thread::yield_now();
        }
        workers.run(job()).unwrap();
        let third = report_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(
            third == first || third == second,
            "an idle thread was reused"
        );
        go_tx.send(()).unwrap();
    }
}
