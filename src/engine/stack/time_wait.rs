//! The TIME-WAIT bound (Linux's `tw_max_buckets`): connections in
//! TIME-WAIT are counted, and past `StackConfig::max_time_wait` a
//! connection that enters TIME-WAIT closes as soon as its last ACK is
//! out, as Linux's does ("time wait bucket table overflow").
//!
//! TIME-WAIT keeps old duplicates of a connection from being taken for
//! a new incarnation's (RFC 9293 §3.6.1, RFC 1337); skipping it for a few
//! connections while FIN churn fills the table is the lesser harm than
//! letting the table refuse new connections. A well-behaved close still
//! ends well: the final ACK is sent before the entry goes, and the SYN of
//! a new incarnation finds a fresh ISN either way.

use super::{Stack, State};

/// Where a connection stands with the TIME-WAIT bound.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum TimeWaitSlot {
    /// Not in TIME-WAIT.
    #[default]
    None,
    /// In TIME-WAIT and counted against the bound.
    Counted,
    /// Entered TIME-WAIT past the bound: closes once its output is out.
    Cut,
}

impl Stack {
    /// Counts connection `id` in or out of TIME-WAIT, and ends a cut one's
    /// TIME-WAIT once it has nothing left to send. Part of `touch`.
    pub(super) fn bound_time_wait(&mut self, id: u32) {
        let Some(entry) = self.conns.get_mut(&id) else {
            return;
        };
        let in_time_wait = entry.tcb.state() == State::TimeWait;
        match (entry.time_wait, in_time_wait) {
            (TimeWaitSlot::None, true) if self.time_wait >= self.config.max_time_wait => {
                entry.time_wait = TimeWaitSlot::Cut;
                self.stats.defence.time_wait_overflows += 1;
            }
            (TimeWaitSlot::None, true) => {
                entry.time_wait = TimeWaitSlot::Counted;
                self.time_wait += 1;
            }
            (TimeWaitSlot::Counted, false) => {
                entry.time_wait = TimeWaitSlot::None;
                self.time_wait -= 1;
            }
            (TimeWaitSlot::Cut, false) => entry.time_wait = TimeWaitSlot::None,
            _ => {}
        }
        if entry.time_wait == TimeWaitSlot::Cut && !entry.tcb.wants_to_send() {
            entry.tcb.end_time_wait();
            entry.time_wait = TimeWaitSlot::None;
        }
    }

    /// Connection `id` is deleted: it no longer counts.
    pub(super) fn forget_time_wait(&mut self, slot: TimeWaitSlot) {
        if slot == TimeWaitSlot::Counted {
            self.time_wait -= 1;
        }
    }
}
