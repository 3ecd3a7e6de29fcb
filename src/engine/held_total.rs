//! Bytes all connections hold of one kind, against a stack-wide limit,
//! with a few event counters: out-of-order data (`out_of_order.rs`) and
//! send buffers held against zero windows (`zero_window.rs`). Each
//! connection holds a [`HeldCharge`] that says what it holds now and
//! gives it back when dropped.
//!
//! Handles are shared like the memory budget's: atomics, so the engine
//! stays `Send`; it runs on one thread at a time.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// A stack-wide total. Cheap to clone.
#[derive(Clone, Debug)]
pub struct HeldTotal {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    limit: usize,
    held: AtomicUsize,
    events: [AtomicU64; 2],
}

impl HeldTotal {
    pub fn new(limit: usize) -> HeldTotal {
        HeldTotal {
            shared: Arc::new(Shared {
                limit,
                held: AtomicUsize::new(0),
                events: Default::default(),
            }),
        }
    }

    pub fn limit(&self) -> usize {
        self.shared.limit
    }

    /// Bytes all connections hold now.
    pub fn held(&self) -> usize {
        self.shared.held.load(Ordering::Relaxed)
    }

    pub fn is_over_limit(&self) -> bool {
        self.held() > self.shared.limit
    }

    /// Adds `n` to event counter `which` (0 or 1; each kind names its own).
    pub fn count(&self, which: usize, n: u64) {
        self.shared.events[which].fetch_add(n, Ordering::Relaxed);
    }

    pub fn events(&self, which: usize) -> u64 {
        self.shared.events[which].load(Ordering::Relaxed)
    }
}

/// One connection's share of a total, given back when it is dropped.
#[derive(Debug)]
pub struct HeldCharge {
    total: HeldTotal,
    bytes: usize,
}

impl HeldCharge {
    pub fn new(total: &HeldTotal) -> HeldCharge {
        HeldCharge {
            total: total.clone(),
            bytes: 0,
        }
    }

    pub fn total(&self) -> &HeldTotal {
        &self.total
    }

    /// The connection now holds `bytes`.
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

impl Drop for HeldCharge {
    fn drop(&mut self) {
        self.set(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_add_up_and_are_given_back_on_drop() {
        let total = HeldTotal::new(100);
        let mut a = HeldCharge::new(&total);
        let mut b = HeldCharge::new(&total);
        a.set(70);
        b.set(40);
        assert!(total.is_over_limit());
        a.set(20);
        assert_eq!(total.held(), 60);
        drop(b);
        assert_eq!(total.held(), 20);
        total.count(1, 3);
        assert_eq!((total.events(0), total.events(1)), (0, 3));
    }
}
