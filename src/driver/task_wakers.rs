//! Async tasks waiting on a handle: the `std::task::Waker`s of futures
//! (`tuntcp::tokio`) that found a call would block.
//!
//! A waker is one-shot, as tokio's own are: the first readiness event of
//! its handle wakes it and forgets it; the task polls again and, if it
//! still cannot proceed, registers anew. Registration happens under the
//! engine lock in the same critical section as the failed call, and events
//! are delivered under it too, so none falls in between.

use std::collections::HashMap;
use std::task::Waker;

use crate::engine::Watched;

/// Which half of a handle a task waits for: a reader and a writer of one
/// connection (`tokio::io::split`) may be different tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskDirection {
    /// `read`, `accept`, a connect completing.
    Read,
    /// `write`, `shutdown`.
    Write,
}

#[derive(Default)]
struct HandleWakers {
    read: Option<Waker>,
    write: Option<Waker>,
}

impl HandleWakers {
    fn wake(&mut self) {
        // Any event may matter to either half (an error or a state change
        // ends a wait in both directions); a needless wake-up costs a
        // failed poll, a missed one a stalled task.
        for waker in [self.read.take(), self.write.take()].into_iter().flatten() {
            waker.wake();
        }
    }
}

/// The wakers of every handle some task waits on.
#[derive(Default)]
pub struct TaskWakers {
    by_handle: HashMap<Watched, HandleWakers>,
}

impl TaskWakers {
    /// The task behind `waker` waits for `handle`'s next event.
    pub fn register(&mut self, handle: Watched, direction: TaskDirection, waker: &Waker) {
        let wakers = self.by_handle.entry(handle).or_default();
        let slot = match direction {
            TaskDirection::Read => &mut wakers.read,
            TaskDirection::Write => &mut wakers.write,
        };
        match slot {
            Some(known) if known.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }

    /// `handle` had an event: wake its tasks.
    pub fn wake(&mut self, handle: Watched) {
        if let Some(wakers) = self.by_handle.get_mut(&handle) {
            wakers.wake();
            self.by_handle.remove(&handle);
        }
    }

    /// The stack stopped: every task learns it on its next poll.
    pub fn wake_all(&mut self) {
        for (_, mut wakers) in self.by_handle.drain() {
            wakers.wake();
        }
    }

    /// The handle is closed; nobody polls it any more.
    pub fn forget(&mut self, handle: Watched) {
        self.by_handle.remove(&handle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ConnId;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting() -> (Arc<CountingWaker>, Waker) {
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        (Arc::clone(&counter), Waker::from(counter))
    }

    #[test]
    fn an_event_wakes_both_halves_once_then_forgets_them() {
        let conn = Watched::Conn(ConnId(1));
        let other = Watched::Conn(ConnId(2));
        let (reads, read_waker) = counting();
        let (writes, write_waker) = counting();
        let mut wakers = TaskWakers::default();
        wakers.register(conn, TaskDirection::Read, &read_waker);
        wakers.register(conn, TaskDirection::Write, &write_waker);
        wakers.wake(other);
        assert_eq!(reads.0.load(Ordering::SeqCst), 0);
        wakers.wake(conn);
        wakers.wake(conn);
        assert_eq!(reads.0.load(Ordering::SeqCst), 1);
        assert_eq!(writes.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn stopping_wakes_every_task_and_forgetting_none() {
        let (count, waker) = counting();
        let mut wakers = TaskWakers::default();
        wakers.register(Watched::Conn(ConnId(1)), TaskDirection::Read, &waker);
        wakers.register(Watched::Conn(ConnId(2)), TaskDirection::Read, &waker);
        wakers.register(Watched::Conn(ConnId(3)), TaskDirection::Read, &waker);
        wakers.forget(Watched::Conn(ConnId(3)));
        wakers.wake_all();
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
    }
}
