//! TIME-WAIT reopened by a new SYN (RFC 9293 §3.6.1 MAY-2, RFC 1122
//! §4.2.2.13), and put back when the new incarnation fails.
//!
//! A SYN with a sequence number past the old connection's lets a
//! listener take the 4-tuple at once (`input.rs`) rather than wait out
//! 2 MSL. But that SYN may still be an old duplicate: RFC 1122
//! §4.2.2.13 lets TCP reopen only if "it returns to TIME-WAIT state if
//! the SYN turns out to be an old duplicate" (Appendix B, MAY-2,
//! condition 2). The old TCB is set aside, out of the tables, until the
//! new one is synchronized (it was no duplicate: the old TCB goes) or
//! reaches CLOSED first (reset or given up in SYN-RECEIVED: the old TCB
//! comes back in TIME-WAIT, with what is left of its 2 MSL).

use log::debug;

use super::time_wait::TimeWaitSlot;
use super::{unmap_tuple, FourTuple, Stack};
use crate::engine::tcp::Tcb;

impl Stack {
    /// Takes connection `id`, in TIME-WAIT, out of the tables for a new
    /// SYN of its 4-tuple. If the application still holds its handle, it
    /// just ends (the handle then reports CLOSED) and `None` comes back.
    pub(super) fn set_time_wait_aside(&mut self, id: u32) -> Option<Tcb> {
        let entry = self.conns.get_mut(&id)?;
        if entry.has_handle {
            entry.tcb.end_time_wait();
            self.touch(id);
            return None;
        }
        let entry = self.conns.remove(&id)?;
        if entry.time_wait == TimeWaitSlot::Counted {
            self.time_wait -= 1;
        }
        unmap_tuple(&mut self.by_tuple, &entry.tcb, id);
        Some(entry.tcb)
    }

    /// Keeps the old TCB while the listener's new connection for `tuple`
    /// is in SYN-RECEIVED. If the listener made none (a full queue, or a
    /// SYN cookie), the old incarnation ends, as it would have.
    pub(super) fn keep_time_wait_aside(&mut self, tuple: FourTuple, old: Option<Tcb>) {
        let Some(mut old) = old else {
            return;
        };
        if self.by_tuple.contains_key(&tuple) {
            self.reopened.insert(tuple, old);
        } else {
            old.end_time_wait();
        }
    }

    /// Part of `touch`: the new incarnation of a reopened 4-tuple is
    /// synchronized, so its SYN was new: the old TCB goes.
    pub(super) fn settle_reopened(&mut self, id: u32) {
        if self.reopened.is_empty() {
            return;
        }
        let Some(entry) = self.conns.get(&id) else {
            return;
        };
        if !entry.tcb.state().is_synchronized() {
            return;
        }
        let tuple = FourTuple {
            local: entry.tcb.local,
            remote: entry.tcb.remote,
        };
        if let Some(mut old) = self.reopened.remove(&tuple) {
            old.end_time_wait();
        }
    }

    /// Part of `retire`: the new incarnation of `tuple` reached CLOSED
    /// before it was synchronized (MAY-2 condition 2): the old TCB comes
    /// back in TIME-WAIT.
    pub(super) fn restore_time_wait(&mut self, tuple: FourTuple) {
        let Some(old) = self.reopened.remove(&tuple) else {
            return;
        };
        debug!(
            "{} <- {}: the reopening SYN was an old duplicate; TIME-WAIT restored",
            tuple.local, tuple.remote
        );
        self.insert(old, false, None);
    }
}
