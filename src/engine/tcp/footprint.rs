//! Memory that follows use: a connection that has been quiet for a while
//! gives back the storage of its empty buffers and logs (they keep their
//! capacity, so the window stays what it was offered), and a TCB reports
//! what it holds on the heap.
//!
//! Storage is allocated again, by doubling, when data next arrives or is
//! queued: one allocation per quiet period, none per packet.

use super::state::State;
use super::tcb::Tcb;
use super::timers::TimerKind;
use crate::time::Instant;

impl Tcb {
    /// Bytes this connection holds on the heap beyond the TCB itself.
    pub fn heap_bytes(&self) -> usize {
        self.send_buf.allocated()
            + self.recv_buf.allocated()
            + self.reassembly.heap_bytes()
            + self.sent.heap_bytes()
    }

    /// Starts the release timer if something could be given back and it
    /// is not running yet (the stack calls this after every event).
    pub fn arm_buffer_release(&mut self, now: Instant) {
        let Some(idle) = self.cfg.idle_buffer_release else {
            return;
        };
        if self.state == State::Closed
            || self.timers.is_running(TimerKind::ReleaseBuffers)
            || self.heap_bytes() == 0
        {
            return;
        }
        let at = self.last_heard.max(now) + idle;
        self.timers.start(TimerKind::ReleaseBuffers, at);
    }

    /// The release timer fired: if nothing arrived for the idle period,
    /// empty buffers give their storage back. What is still in use (data
    /// unread or unacknowledged) is looked at again a period later.
    pub(super) fn on_buffer_release_timeout(&mut self, now: Instant) {
        let Some(idle) = self.cfg.idle_buffer_release else {
            return;
        };
        let quiet_until = self.last_heard + idle;
        let next = if now >= quiet_until {
            self.send_buf.release_if_empty();
            self.recv_buf.release_if_empty();
            self.reassembly.release_if_empty();
            self.sent.release_if_empty();
            now + idle
        } else {
            quiet_until
        };
        if self.heap_bytes() > 0 {
            self.timers.start(TimerKind::ReleaseBuffers, next);
        }
    }
}
