//! The driver: the only place with I/O and a real clock.
//!
//! One event-loop thread owns the [`Device`] and runs the engine: it waits in
//! `poll(2)` on the device and on a [`Waker`] until the engine's next
//! timeout, reads the device until it would block, runs the timers, then
//! sends everything the engine has due. There is no fixed tick, so an idle
//! stack sleeps until its next timer (or forever) and uses no CPU.
//!
//! Application threads share the engine with the driver through
//! [`EngineCell`]: they lock it for one non-blocking call, and when the
//! answer is "would block" they wait for the end of the driver's next turn.

mod event_loop;
mod waker;

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::device::Device;
use crate::engine::Engine;
use crate::time::{Instant, MonotonicClock};
pub use waker::Waker;

/// The engine, shared between the driver thread and application threads.
pub struct EngineCell {
    engine: Mutex<Box<dyn Engine>>,
    /// Notified at the end of every driver turn: something may have changed.
    turn_done: Condvar,
    waker: Waker,
    clock: MonotonicClock,
    stop: AtomicBool,
}

impl EngineCell {
    /// Locks the engine for one call. A poisoned lock (a thread panicked
    /// while holding it) is still usable: engine calls leave it consistent.
    pub fn lock(&self) -> MutexGuard<'_, Box<dyn Engine>> {
        self.engine
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The driver's clock, for calls that need `now` (connect).
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Tells the driver that an application call queued output.
    pub fn wake_driver(&self) {
        self.waker.wake();
    }

    /// Releases the lock and waits for the end of the next driver turn, or
    /// until `deadline`. Returns the lock again and whether the deadline
    /// passed.
    pub fn wait_turn<'a>(
        &'a self,
        guard: MutexGuard<'a, Box<dyn Engine>>,
        deadline: Option<std::time::Instant>,
    ) -> (MutexGuard<'a, Box<dyn Engine>>, bool) {
        if self.is_stopped() {
            return (guard, true);
        }
        match deadline {
            None => {
                let guard = self
                    .turn_done
                    .wait(guard)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                (guard, false)
            }
            Some(deadline) => {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return (guard, true);
                }
                let (guard, result) = self
                    .turn_done
                    .wait_timeout(guard, left)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                (guard, result.timed_out())
            }
        }
    }

    /// True once the driver has been asked to stop.
    pub fn is_stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

/// A running driver thread and the engine it drives.
pub struct Driver {
    cell: Arc<EngineCell>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Driver {
    /// Starts the event loop over `device`, driving `engine`.
    pub fn start(engine: Box<dyn Engine>, device: Box<dyn Device>) -> io::Result<Driver> {
        let cell = Arc::new(EngineCell {
            engine: Mutex::new(engine),
            turn_done: Condvar::new(),
            waker: Waker::new()?,
            clock: MonotonicClock::new(),
            stop: AtomicBool::new(false),
        });
        let loop_cell = Arc::clone(&cell);
        let thread = std::thread::Builder::new()
            .name("tuntcp-driver".into())
            .spawn(move || event_loop::run(&loop_cell, device))?;
        Ok(Driver {
            cell,
            thread: Some(thread),
        })
    }

    pub fn cell(&self) -> &Arc<EngineCell> {
        &self.cell
    }

    /// Stops the event loop after its current turn, waits for it, and
    /// releases the device (which flushes a pcap tap). Blocked application
    /// calls return. Returns the loop's error, if it died of one.
    pub fn stop(&mut self) -> io::Result<()> {
        self.cell.stop.store(true, Ordering::Release);
        self.cell.waker.wake();
        let result = match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("driver thread panicked"))),
            None => Ok(()),
        };
        self.cell.turn_done.notify_all();
        result
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Err(err) = self.stop() {
            log::warn!("driver stopped with an error: {err}");
        }
    }
}
