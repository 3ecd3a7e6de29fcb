//! What the application could do with a connection right now, as the
//! stack reports it in readiness events (see [`crate::engine::Readiness`]).
//!
//! Each flag is exactly "this call would not say `WouldBlock`", read off the
//! same fields the calls in `tcb.rs` test: a waiter sleeps only while its
//! call would block, so a flag that disagreed with its call could leave a
//! waiter asleep with nothing left to wake it.

use super::state::State;
use super::tcb::Tcb;
use crate::engine::api::{ConnReadiness, Readiness};

impl Tcb {
    /// The readiness flags of this connection (see the module docs).
    pub fn readiness(&self) -> Readiness {
        let failed = self.error.is_some();
        // RECEIVE (§3.10.3, `Tcb::recv`): data, the FIN, the error, or a
        // connection that is gone all answer at once.
        let readable = !self.recv_buf.is_empty()
            || failed
            || self.fin_received
            || matches!(self.state, State::Closed | State::Listen);
        // SEND (§3.10.2, `Tcb::send`): room in the buffer once synchronized;
        // after our FIN (or in a closing state) the answer is an error, at once.
        let writable = failed
            || match self.state {
                State::SynSent | State::SynReceived => false,
                State::Established | State::CloseWait if !self.fin_requested => {
                    self.send_buf.free() > 0
                }
                _ => true,
            };
        Readiness::from(ConnReadiness {
            readable,
            writable,
            read_closed: self.fin_received,
            failed,
        })
        // MUST-32: urgent data waits to be read (`urgent.rs`).
        .with_if(Readiness::URGENT, self.urgent_remaining() > 0)
        // SHLD-9: R1 retransmissions without an answer (`r1.rs`).
        .with_if(Readiness::STALLED, self.stalled())
    }
}
