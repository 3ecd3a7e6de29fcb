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
//!
//! Handles are shared like the memory budget's: atomics, so the engine
//! stays `Send`; it runs on one thread at a time.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// All connections' out-of-order bytes, against a limit. Cheap to clone.
#[derive(Clone, Debug)]
pub struct OutOfOrderTotal {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    limit: usize,
    held: AtomicUsize,
    pruned_bytes: AtomicU64,
    segments_refused: AtomicU64,
}

impl OutOfOrderTotal {
    pub fn new(limit: usize) -> OutOfOrderTotal {
        OutOfOrderTotal {
            shared: Arc::new(Shared {
                limit,
                held: AtomicUsize::new(0),
                pruned_bytes: AtomicU64::new(0),
                segments_refused: AtomicU64::new(0),
            }),
        }
    }

    pub fn limit(&self) -> usize {
        self.shared.limit
    }

    /// Out-of-order bytes all connections hold now.
    pub fn held(&self) -> usize {
        self.shared.held.load(Ordering::Relaxed)
    }

    pub fn is_over_limit(&self) -> bool {
        self.held() > self.shared.limit
    }

    /// Bytes forgotten by pruning, per connection or stack-wide.
    pub fn pruned_bytes(&self) -> u64 {
        self.shared.pruned_bytes.load(Ordering::Relaxed)
    }

    /// Out-of-order segments refused: no room even after pruning.
    pub fn segments_refused(&self) -> u64 {
        self.shared.segments_refused.load(Ordering::Relaxed)
    }

    pub fn note_pruned(&self, bytes: usize) {
        self.shared
            .pruned_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub fn note_refused(&self) {
        self.shared.segments_refused.fetch_add(1, Ordering::Relaxed);
    }
}

/// One connection's share of the total, given back when it is dropped.
#[derive(Debug)]
pub struct OutOfOrderCharge {
    total: OutOfOrderTotal,
    bytes: usize,
}

impl OutOfOrderCharge {
    pub fn new(total: &OutOfOrderTotal) -> OutOfOrderCharge {
        OutOfOrderCharge {
            total: total.clone(),
            bytes: 0,
        }
    }

    pub fn total(&self) -> &OutOfOrderTotal {
        &self.total
    }

    /// The connection now holds `bytes` out of order.
    pub fn set(&mut self, bytes: usize) {
        let held = &self.total.shared.held;
        if bytes >= self.bytes {
            held.fetch_add(bytes - self.bytes, Ordering::Relaxed);
        } else {
            held.fetch_sub(self.bytes - bytes, Ordering::Relaxed);
        }
        self.bytes = bytes;
    }
}

impl Drop for OutOfOrderCharge {
    fn drop(&mut self) {
        self.set(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_add_up_and_are_given_back_on_drop() {
        let total = OutOfOrderTotal::new(100);
        let mut a = OutOfOrderCharge::new(&total);
        let mut b = OutOfOrderCharge::new(&total);
        a.set(70);
        b.set(40);
        assert!(total.is_over_limit());
        a.set(20);
        assert_eq!(total.held(), 60);
        drop(b);
        assert_eq!(total.held(), 20);
    }
}
