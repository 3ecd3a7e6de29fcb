//! Who waits for which handle: blocked calls and `Poll`s, woken only for
//! the handles whose readiness changed.
//!
//! Everything here lives inside [`super::Core`], under the one engine lock,
//! and every condition variable here waits on that lock. So a waiter checks
//! its call, registers and sleeps atomically (the lock is released only by
//! the wait itself), and an event (always taken from the engine under the
//! lock) can never fall between its check and its sleep.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar};

use super::task_wakers::{TaskDirection, TaskWakers};
use crate::engine::{Readiness, ReadinessEvent, Watched};

/// The blocked calls of one handle: a reader and a writer of the same
/// connection (`try_clone`) share it.
struct WaitSlot {
    condvar: Arc<Condvar>,
    sleeping: usize,
}

/// A handle registered with a `Poll`.
struct Registration {
    poll: u64,
    token: usize,
    interest: Readiness,
    /// Readiness seen since the poll last reported this handle.
    pending: Readiness,
}

/// One `Poll`: its sleeping thread and the handles with news for it.
struct PollQueue {
    condvar: Arc<Condvar>,
    ready: VecDeque<Watched>,
}

/// An event a `Poll` hands out: its token and what the handle can do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolledEvent {
    pub token: usize,
    pub readiness: Readiness,
}

/// Why a registration was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterError {
    /// `register` of a handle already registered (with any poll).
    AlreadyRegistered,
    /// `reregister` or `deregister` of a handle this poll does not have.
    NotRegistered,
}

/// The registry itself (see the module docs).
#[derive(Default)]
pub struct Waiters {
    slots: HashMap<Watched, WaitSlot>,
    registrations: HashMap<Watched, Registration>,
    polls: HashMap<u64, PollQueue>,
    next_poll: u64,
    /// Async tasks (`tuntcp::tokio`), woken like the blocked calls.
    tasks: TaskWakers,
}

impl Waiters {
    /// A blocked call on `handle` is about to sleep: the condition variable
    /// to sleep on. Pair with [`Waiters::woke`].
    pub fn sleep_on(&mut self, handle: Watched) -> Arc<Condvar> {
        let slot = self.slots.entry(handle).or_insert_with(|| WaitSlot {
            condvar: Arc::new(Condvar::new()),
            sleeping: 0,
        });
        slot.sleeping += 1;
        Arc::clone(&slot.condvar)
    }

    /// The blocked call on `handle` woke (news, timeout or stop).
    pub fn woke(&mut self, handle: Watched) {
        if let Some(slot) = self.slots.get_mut(&handle) {
            slot.sleeping = slot.sleeping.saturating_sub(1);
        }
    }

    /// Wakes the calls blocked on `handle`, if any.
    pub fn wake(&self, handle: Watched) {
        if let Some(slot) = self.slots.get(&handle) {
            // notify_all is a system call even with nobody asleep: skip it.
            if slot.sleeping > 0 {
                slot.condvar.notify_all();
            }
        }
    }

    /// The async task behind `waker` waits for `handle`'s next event.
    /// Call under the lock, right after the call that would block.
    pub fn wait_task(
        &mut self,
        handle: Watched,
        direction: TaskDirection,
        waker: &std::task::Waker,
    ) {
        self.tasks.register(handle, direction, waker);
    }

    /// Wakes every blocked call, poll and task: the stack stopped.
    pub fn wake_everyone(&mut self) {
        self.tasks.wake_all();
        for slot in self.slots.values() {
            slot.condvar.notify_all();
        }
        for poll in self.polls.values() {
            poll.condvar.notify_all();
        }
    }

    /// Delivers one engine event: wakes the calls blocked on its handle
    /// and queues it for the poll it is registered with, if the poll is
    /// interested (errors and the peer's FIN always are).
    pub fn deliver(&mut self, event: ReadinessEvent) {
        self.wake(event.handle);
        self.tasks.wake(event.handle);
        let Some(registration) = self.registrations.get_mut(&event.handle) else {
            return;
        };
        let always = Readiness::ERROR | Readiness::READ_CLOSED;
        let news = event.readiness & (registration.interest | always);
        if news.is_empty() {
            return;
        }
        let Some(poll) = self.polls.get_mut(&registration.poll) else {
            return;
        };
        if registration.pending.is_empty() {
            poll.ready.push_back(event.handle);
            poll.condvar.notify_all();
        }
        registration.pending = registration.pending | news;
    }

    /// The handle is closed: forget its slot and registration.
    pub fn forget(&mut self, handle: Watched) {
        self.slots.remove(&handle);
        self.registrations.remove(&handle);
        self.tasks.forget(handle);
    }

    // ----- polls -----

    /// A new poll; returns its id.
    pub fn new_poll(&mut self) -> u64 {
        self.next_poll += 1;
        let queue = PollQueue {
            condvar: Arc::new(Condvar::new()),
            ready: VecDeque::new(),
        };
        self.polls.insert(self.next_poll, queue);
        self.next_poll
    }

    /// The poll is gone, and so are its registrations.
    pub fn drop_poll(&mut self, poll: u64) {
        self.polls.remove(&poll);
        self.registrations.retain(|_, r| r.poll != poll);
    }

    /// Registers `handle` with `poll` (or changes its registration when
    /// `update`), then reports `now`, what the handle can do already, as
    /// epoll does, so readiness from before the registration is not lost.
    pub fn register(
        &mut self,
        poll: u64,
        handle: Watched,
        (token, interest): (usize, Readiness),
        now: Readiness,
        update: bool,
    ) -> Result<(), RegisterError> {
        match (self.registrations.get(&handle), update) {
            (Some(_), false) => return Err(RegisterError::AlreadyRegistered),
            (Some(r), true) if r.poll != poll => return Err(RegisterError::NotRegistered),
            (None, true) => return Err(RegisterError::NotRegistered),
            _ => {}
        }
        let pending = self
            .registrations
            .get(&handle)
            .map_or(Readiness::EMPTY, |r| r.pending);
        let registration = Registration {
            poll,
            token,
            interest,
            pending,
        };
        self.registrations.insert(handle, registration);
        self.deliver(ReadinessEvent {
            handle,
            readiness: now,
        });
        Ok(())
    }

    pub fn deregister(&mut self, poll: u64, handle: Watched) -> Result<(), RegisterError> {
        match self.registrations.get(&handle) {
            Some(r) if r.poll == poll => {
                self.registrations.remove(&handle);
                Ok(())
            }
            _ => Err(RegisterError::NotRegistered),
        }
    }

    /// Moves up to `max` events of `poll` into `out`.
    pub fn take_events(&mut self, poll: u64, max: usize, out: &mut Vec<PolledEvent>) {
        let Some(queue) = self.polls.get_mut(&poll) else {
            return;
        };
        while out.len() < max {
            let Some(handle) = queue.ready.pop_front() else {
                break;
            };
            // Deregistered (or moved) since it was queued: nothing to say.
            let Some(registration) = self.registrations.get_mut(&handle) else {
                continue;
            };
            if registration.poll != poll {
                continue;
            }
            let readiness = std::mem::take(&mut registration.pending);
            if !readiness.is_empty() {
                out.push(PolledEvent {
                    token: registration.token,
                    readiness,
                });
            }
        }
    }

    /// The condition variable `poll`'s thread sleeps on.
    pub fn poll_condvar(&self, poll: u64) -> Option<Arc<Condvar>> {
        self.polls.get(&poll).map(|q| Arc::clone(&q.condvar))
    }
}
