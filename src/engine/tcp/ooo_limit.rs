//! The bounds on one connection's out-of-order data (see
//! `engine/out_of_order.rs` for the stack-wide one and why pruning is
//! allowed): `StackConfig::max_ooo_bytes` per connection. A segment that
//! would go past it makes room by pruning the data above its own start,
//! highest first, as Linux's `tcp_prune_ofo_queue` stops at the incoming
//! segment; if that is not enough it is refused (the sender sends it
//! again). In-order data is never refused for it.

use super::tcb::Tcb;
use crate::engine::out_of_order::{PRUNED_BYTES, SEGMENTS_REFUSED};

impl Tcb {
    /// Out-of-order bytes held now.
    pub fn out_of_order_held(&self) -> usize {
        self.reassembly.held()
    }

    /// Whether `len` bytes at `start` bytes past RCV.NXT may be held,
    /// after pruning what lies above `start` if needed.
    pub(super) fn make_out_of_order_room(&mut self, start: usize, len: usize) -> bool {
        if start == 0 {
            return true;
        }
        let limit = self.cfg.max_ooo_bytes;
        let over = (self.reassembly.held() + len).saturating_sub(limit);
        if over > 0 {
            self.prune_out_of_order(start, over);
        }
        if self.reassembly.held() + len > limit {
            self.ooo_charge.total().count(SEGMENTS_REFUSED, 1);
            return false;
        }
        true
    }

    /// Forgets up to `want` out-of-order bytes at offsets from `floor`
    /// up, highest first, and gives back the storage they took; returns
    /// how many were forgotten (counted as pruned).
    pub fn prune_out_of_order(&mut self, floor: usize, want: usize) -> usize {
        let pruned = self.reassembly.prune_from_top(floor, want);
        if pruned > 0 {
            self.recv_buf.forget_past(self.reassembly.end());
            self.recv_buf.shrink_storage();
            self.ooo_charge.total().count(PRUNED_BYTES, pruned as u64);
            self.sync_out_of_order_charge();
        }
        pruned
    }

    /// Tells the stack-wide total what this connection holds now.
    pub(super) fn sync_out_of_order_charge(&mut self) {
        self.ooo_charge.set(self.reassembly.held());
    }
}
