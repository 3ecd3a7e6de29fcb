//! One connection blocked on its peer's zero window (see
//! `engine/zero_window.rs` for the policy): since when, the storage that
//! holds, and the orphan's time limit.

use log::debug;

use super::state::State;
use super::tcb::Tcb;
use crate::engine::api::ApiError;
use crate::engine::zero_window::ABORTS;
use crate::time::Instant;

impl Tcb {
    /// Notes whether the peer's window is zero with our data waiting, and
    /// charges the send storage so held to the stack-wide total.
    pub(super) fn track_zero_window(&mut self, now: Instant) {
        let blocked =
            self.state.is_synchronized() && self.snd_wnd == 0 && !self.send_buf.is_empty();
        if blocked {
            self.zero_window_since.get_or_insert(now);
            self.zero_window_charge.set(self.send_buf.allocated());
        } else {
            self.zero_window_since = None;
            self.zero_window_charge.set(0);
        }
    }

    /// Since when the connection has been blocked on a zero window.
    pub fn zero_window_since(&self) -> Option<Instant> {
        self.zero_window_since
    }

    pub fn is_orphaned(&self) -> bool {
        self.orphaned
    }

    /// An orphan blocked on a zero window past its limit is given up
    /// (silently, as Linux's probe timer does); true if it was.
    pub(super) fn orphan_blocked_too_long(&mut self, now: Instant) -> bool {
        let Some(since) = self.zero_window_since else {
            return false;
        };
        if !self.orphaned || now < since + self.cfg.orphan_zero_window_timeout {
            return false;
        }
        debug!(
            "{} -> {}: orphan blocked on a zero window since {since}: giving up",
            self.local, self.remote
        );
        self.count_zero_window_abort();
        self.fail(ApiError::TimedOut);
        true
    }

    /// The stack gives this connection up to free the send storage held
    /// against a zero window: a RST to the peer if one is due.
    pub fn abort_for_zero_window(&mut self) -> Option<crate::wire::TcpHeader> {
        debug!(
            "{} -> {}: too much send storage held against zero windows: aborting",
            self.local, self.remote
        );
        self.count_zero_window_abort();
        let rst = self.abort();
        debug_assert_eq!(self.state, State::Closed);
        rst
    }

    fn count_zero_window_abort(&mut self) {
        self.zero_window_charge.total().count(ABORTS, 1);
        self.zero_window_charge.set(0);
    }
}
