//! Out-of-order data over the stack-wide bound
//! (`StackConfig::max_ooo_bytes_total`, see `engine/out_of_order.rs`):
//! the connection holding the most is pruned, highest sequence first,
//! until the total is back under seven eighths of the bound (so a steady
//! flood prunes now and then, not on every segment). The biggest holder
//! is most likely the one flooding; the others keep what they hold.

use super::Stack;

impl Stack {
    pub(super) fn relieve_out_of_order_pressure(&mut self) {
        let total = self.shared.out_of_order.clone();
        let target = total.limit() / 8 * 7;
        while total.held() > target {
            let Some(entry) = self
                .conns
                .values_mut()
                .max_by_key(|entry| entry.tcb.out_of_order_held())
            else {
                return;
            };
            let held = entry.tcb.out_of_order_held();
            let want = (total.held() - target).max(held / 2);
            if entry.tcb.prune_out_of_order(0, want) == 0 {
                return;
            }
        }
    }
}
