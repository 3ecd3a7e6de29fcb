//! Send storage held against zero windows over the stack-wide bound
//! (`StackConfig::max_zero_window_bytes`; policy in
//! `engine/zero_window.rs`): blocked connections are aborted, orphans
//! first, then the longest blocked, until the total is within the bound.
//! A connection the application holds stays in the table, closed, so
//! its next call reports the reset.

use super::Stack;

impl Stack {
    pub(super) fn relieve_zero_window_pressure(&mut self) {
        let total = self.shared.zero_window.clone();
        while total.is_over_limit() {
            let victim = self
                .conns
                .iter()
                .filter_map(|(&id, entry)| {
                    let since = entry.tcb.zero_window_since()?;
                    Some((!entry.tcb.is_orphaned(), since, id))
                })
                .min();
            let Some((_, _, id)) = victim else { return };
            let Some(entry) = self.conns.get_mut(&id) else {
                return;
            };
            let rst = entry.tcb.abort_for_zero_window();
            let (local, remote) = (entry.tcb.local, entry.tcb.remote);
            if let Some(rst) = rst {
                self.queue_rst(local, remote, rst);
            }
            self.touch(id);
        }
    }
}
