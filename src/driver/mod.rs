//! The driver: the only place with I/O and a real clock.
//!
//! One event-loop thread owns the [`Device`] and runs the engine: it waits in
//! `poll(2)` on the device and on a [`Waker`] until the engine's next
//! timeout, reads the device until it would block, runs the timers, then
//! sends everything the engine has due. There is no fixed tick, so an idle
//! stack sleeps until its next timer (or forever) and uses no CPU.
//!
//! Application threads share the engine and the device with the driver
//! through [`EngineCell`]: they lock both for one non-blocking call, send
//! what that call queued themselves ([`EngineCell::transmit`]), and when the
//! answer is "would block" they sleep on their handle's slot in the
//! [`Waiters`] registry ([`EngineCell::wait_for`]). After every driver turn
//! and every application call the engine's readiness events are drained
//! and only the handles they name are woken: with 64 connections, a packet
//! for one wakes one thread, not 64 (waking all of them after every turn
//! cost more than the TCP work).
//!
//! Sending from the application's thread is a deliberate exception to "the
//! driver does all I/O": handing each write to the driver cost a thread
//! wake-up per packet the application caused, and a 1-byte
//! request/response paid two of them per transaction. The driver is still
//! the only thread that reads the device and the only one that sleeps on
//! the clock; an application call wakes it only when the call moved the
//! engine's next timer earlier than the driver's sleep. The price: sends
//! (and a pcap tap's buffered writes, flushed every 64 packets) happen
//! under the one lock, so a very slow disk behind `--pcap` slows every
//! socket; without a tap a send is one non-blocking write(2).

mod event_loop;
mod task_wakers;
pub mod trace;
mod waiters;
mod waker;

use std::io;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;

use crate::device::Device;
use crate::engine::{Engine, ReadinessEvent, Watched};
use crate::time::{Instant, MonotonicClock};
pub use task_wakers::TaskDirection;
use trace::{Direction, TraceWriter};
pub use waiters::{PolledEvent, RegisterError, Waiters};
pub use waker::Waker;

/// Room for one packet in either direction: the largest IPv4 packet (a TUN
/// MTU of 65535, `--mtu 65535`), so any packet is read whole, and an
/// oversized one dropped whole.
const PACKET_BUFFER: usize = 65_536;
const _: () = assert!(
    PACKET_BUFFER >= u16::MAX as usize,
    "an MTU-65535 packet must fit"
);

/// What one lock guards: the engine, the device its packets go out on, and
/// a buffer to build them in. It dereferences to the engine, so a locked
/// core reads like the engine itself: `core.recv(conn, buf)`.
pub struct Core {
    engine: Box<dyn Engine>,
    /// `None` once the driver has stopped and released the device.
    device: Option<Box<dyn Device>>,
    tx: Vec<u8>,
    /// Who sleeps on which handle, and the `Poll`s.
    pub waiters: Waiters,
    /// Reused for draining the engine's readiness events.
    events: Vec<ReadinessEvent>,
    /// `--trace FILE`: segments and state changes as JSON lines.
    trace: Option<TraceWriter>,
}

impl Core {
    /// Drains the engine's readiness events and wakes exactly the calls
    /// and polls waiting on the handles they name.
    fn dispatch_readiness(&mut self) {
        self.engine.take_readiness(&mut self.events);
        for event in self.events.drain(..) {
            self.waiters.deliver(event);
        }
        if let Some(trace) = self.trace.as_mut() {
            trace.flush();
        }
    }

    /// Hands one packet from the device to the engine, tracing it and the
    /// state changes it caused.
    fn feed(engine: &mut dyn Engine, trace: Option<&mut TraceWriter>, now: Instant, packet: &[u8]) {
        match trace {
            None => engine.handle_packet(now, packet),
            Some(trace) => {
                trace.segment(now, Direction::In, packet);
                engine.handle_packet(now, packet);
                trace.state_changes(engine);
            }
        }
    }

    /// Sends every packet the engine has due. A failed send is logged and
    /// dropped: TCP retransmits, so losing one packet is recoverable, while
    /// stopping would not be.
    fn send_due(&mut self, now: Instant) {
        let Some(device) = self.device.as_mut() else {
            return;
        };
        // Changes made by timers and application calls come before the
        // segments they send.
        if let Some(trace) = self.trace.as_mut() {
            trace.state_changes(self.engine.as_mut());
        }
        while let Some(len) = self.engine.poll_transmit(now, &mut self.tx) {
            if let Some(trace) = self.trace.as_mut() {
                trace.segment(now, Direction::Out, &self.tx[..len]);
            }
            if let Err(err) = device.send(&self.tx[..len]) {
                log::debug!("dropped an outbound packet of {len} bytes: {err}");
            }
        }
    }
}

impl Deref for Core {
    type Target = dyn Engine;
    fn deref(&self) -> &(dyn Engine + 'static) {
        self.engine.as_ref()
    }
}

impl DerefMut for Core {
    fn deref_mut(&mut self) -> &mut (dyn Engine + 'static) {
        self.engine.as_mut()
    }
}

/// The engine and device, shared between the driver thread and
/// application threads.
pub struct EngineCell {
    core: Mutex<Core>,
    waker: Waker,
    clock: MonotonicClock,
    stop: AtomicBool,
    /// When the sleeping driver wakes by itself, in microseconds of the
    /// cell's clock (`u64::MAX`: not before an event).
    driver_wakes_at: AtomicU64,
    /// Why the driver died, if it did (the device failed, say).
    failure: OnceLock<String>,
}

impl EngineCell {
    /// Locks the engine and device for one call. A poisoned lock (a thread
    /// panicked while holding it) is still usable: engine calls leave it
    /// consistent.
    pub fn lock(&self) -> MutexGuard<'_, Core> {
        self.core
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// After an application call, with the lock still held: sends what the
    /// call queued (data, FIN, SYN, a window update), wakes whoever waits
    /// on what the call changed (a `shutdown_write` ends a blocked write),
    /// and wakes the driver if the call started a timer that is due before
    /// the driver's sleep ends (a retransmission timer, say).
    pub fn transmit(&self, core: &mut Core) {
        core.send_due(self.now());
        core.dispatch_readiness();
        let next_timer = core
            .engine
            .poll_timeout()
            .map_or(u64::MAX, Instant::total_micros);
        if next_timer < self.driver_wakes_at.load(Ordering::Acquire) {
            self.waker.wake();
        }
    }

    /// The driver's clock, for calls that need `now` (connect).
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Releases the lock and sleeps until `handle`'s readiness changes (or
    /// the stack stops), at most until `deadline`. Returns the lock again
    /// and whether the deadline passed. The caller re-checks its call: a
    /// wake-up says something changed, not that the call will succeed.
    pub fn wait_for<'a>(
        &'a self,
        mut guard: MutexGuard<'a, Core>,
        handle: Watched,
        deadline: Option<std::time::Instant>,
    ) -> (MutexGuard<'a, Core>, bool) {
        // Events queued by calls that did not dispatch them (none should
        // be left, but a missed one would be a lost wake-up).
        guard.dispatch_readiness();
        if self.is_stopped() {
            return (guard, true);
        }
        let condvar = guard.waiters.sleep_on(handle);
        let (mut guard, timed_out) = self.sleep(guard, &condvar, deadline);
        guard.waiters.woke(handle);
        (guard, timed_out)
    }

    /// Sleeps on `condvar` (one of the registry's, all on the core lock)
    /// until notified or `deadline`.
    pub fn sleep<'a>(
        &'a self,
        guard: MutexGuard<'a, Core>,
        condvar: &Condvar,
        deadline: Option<std::time::Instant>,
    ) -> (MutexGuard<'a, Core>, bool) {
        match deadline {
            None => {
                let guard = condvar
                    .wait(guard)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                (guard, false)
            }
            Some(deadline) => {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return (guard, true);
                }
                let (guard, result) = condvar
                    .wait_timeout(guard, left)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                (guard, result.timed_out())
            }
        }
    }

    /// Drains the engine's readiness events now (a `Poll` about to look
    /// at its queue).
    pub fn dispatch_readiness(&self, core: &mut Core) {
        core.dispatch_readiness();
    }

    /// True once the driver has been asked to stop, or has died.
    pub fn is_stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Why the driver died, if it did rather than being stopped.
    pub fn failure(&self) -> Option<&str> {
        self.failure.get().map(String::as_str)
    }

    /// The driver loop ended with `err`: record why, stop, and wake every
    /// blocked call so it returns the reason instead of waiting forever.
    fn fail(&self, err: &io::Error) {
        log::error!("the driver stopped: {err}");
        let _ = self.failure.set(err.to_string());
        // Under the lock, so a caller about to wait sees `stop` first.
        let mut core = self.lock();
        self.stop.store(true, Ordering::Release);
        core.waiters.wake_everyone();
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
        Driver::start_traced(engine, device, None)
    }

    /// [`Driver::start`], writing a trace (`driver/trace.rs`) if given one.
    pub fn start_traced(
        engine: Box<dyn Engine>,
        device: Box<dyn Device>,
        trace: Option<TraceWriter>,
    ) -> io::Result<Driver> {
        let device_fd = device.raw_fd();
        let cell = Arc::new(EngineCell {
            core: Mutex::new(Core {
                engine,
                device: Some(device),
                tx: vec![0u8; PACKET_BUFFER],
                waiters: Waiters::default(),
                events: Vec::new(),
                trace,
            }),
            waker: Waker::new()?,
            clock: MonotonicClock::new(),
            stop: AtomicBool::new(false),
            driver_wakes_at: AtomicU64::new(0),
            failure: OnceLock::new(),
        });
        let loop_cell = Arc::clone(&cell);
        let thread = std::thread::Builder::new()
            .name("tuntcp-driver".into())
            .spawn(move || {
                let result = event_loop::run(&loop_cell, device_fd);
                if let Err(err) = &result {
                    loop_cell.fail(err);
                }
                result
            })?;
        Ok(Driver {
            cell,
            thread: Some(thread),
        })
    }

    pub fn cell(&self) -> &Arc<EngineCell> {
        &self.cell
    }

    /// Stops the event loop after its current turn, waits for it, and
    /// releases the device (closing the TUN device, flushing a pcap tap).
    /// Blocked application calls return. Returns the loop's error, if it
    /// died of one.
    pub fn stop(&mut self) -> io::Result<()> {
        self.cell.stop.store(true, Ordering::Release);
        self.cell.waker.wake();
        let result = match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("driver thread panicked"))),
            None => Ok(()),
        };
        let mut core = self.cell.lock();
        drop(core.device.take());
        core.waiters.wake_everyone();
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
