//! The stack-wide bound on out-of-order data: bytes that arrived past a
//! hole and wait for it to fill (RFC 9293 §3.10.7.4 "SHOULD be held").
//!
//! Each connection bounds its own (`StackConfig::max_ooo_bytes`, like
//! Linux's bound by the receive buffer); a flood of out-of-order segments
//! over many connections could still pin memory that in-order data needs,
//! so all connections together are bounded too
//! (`StackConfig::max_ooo_bytes_total`). Past it the stack prunes, as
//! Linux's `tcp_prune_ofo_queue` does under memory pressure: the
//! connection holding the most loses its highest-sequence data first.
//!
//! Pruning is reneging on data that SACK may already have reported: RFC
//! 2018 §8 allows it ("the data receiver is permitted to discard data in
//! its queue that has not been acknowledged to the data sender, even if
//! the data has already been reported in a SACK option"), which is why a
//! sender keeps SACKed data until it is cumulatively acknowledged. SACK
//! blocks sent afterwards report only what is still held.

use super::held_total::{HeldCharge, HeldTotal};

/// All connections' out-of-order bytes against
/// `StackConfig::max_ooo_bytes_total`.
pub type OutOfOrderTotal = HeldTotal;
/// One connection's out-of-order bytes.
pub type OutOfOrderCharge = HeldCharge;

/// Event counters of an [`OutOfOrderTotal`]: bytes forgotten by pruning
/// (per connection or stack-wide), and segments refused for want of room
/// even after pruning.
pub const PRUNED_BYTES: usize = 0;
pub const SEGMENTS_REFUSED: usize = 1;
