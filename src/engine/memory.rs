//! The engine's memory budget: one total for all connections' buffers and
//! their fixed per-connection state, like Linux's `tcp_mem`.
//!
//! Every connection's buffers draw from it when their storage grows and
//! give back when it shrinks (see `tcp/ring.rs`); every TCB holds a
//! [`MemoryCharge`] for its own size. What is charged is memory really
//! held, not windows promised: an idle connection with empty buffers
//! costs only its TCB. When the budget is spent, buffers stop growing
//! (windows stop opening wider) and new connections are refused; the
//! connections that exist keep working with what they have.
//!
//! The handle is shared by the stack and its TCBs; atomics make it `Send`
//! with the engine (the engine itself runs on one thread at a time).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// A shared handle on the budget. Cloning it is cheap (one `Arc`).
#[derive(Clone, Debug)]
pub struct MemoryBudget {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    limit: usize,
    used: AtomicUsize,
    growth_refused: AtomicU64,
}

/// What the budget says about itself, for measurements and `ss`-like views.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryStats {
    /// The configured budget, in bytes.
    pub limit: usize,
    /// Bytes charged now: buffer storage and TCBs.
    pub used: usize,
    /// Buffer growths refused because the budget was spent (the buffer
    /// kept its size: a smaller window, or data dropped for the sender
    /// to send again).
    pub growth_refused: u64,
    /// SYNs and connects refused because the budget was spent.
    pub connections_refused: u64,
}

impl MemoryBudget {
    pub fn new(limit: usize) -> MemoryBudget {
        MemoryBudget {
            shared: Arc::new(Shared {
                limit,
                used: AtomicUsize::new(0),
                growth_refused: AtomicU64::new(0),
            }),
        }
    }

    /// A budget that never refuses (buffers used on their own, in tests).
    pub fn unlimited() -> MemoryBudget {
        MemoryBudget::new(usize::MAX)
    }

    pub fn limit(&self) -> usize {
        self.shared.limit
    }

    pub fn used(&self) -> usize {
        self.shared.used.load(Ordering::Relaxed)
    }

    /// Whether `bytes` more would still fit.
    pub fn has_room(&self, bytes: usize) -> bool {
        self.used()
            .checked_add(bytes)
            .is_some_and(|total| total <= self.shared.limit)
    }

    /// Takes `bytes` from the budget if they fit; a refusal is counted.
    pub fn try_charge(&self, bytes: usize) -> bool {
        if !self.has_room(bytes) {
            self.note_refused();
            return false;
        }
        self.shared.used.fetch_add(bytes, Ordering::Relaxed);
        true
    }

    /// Takes `bytes` whatever the budget says (a TCB's own size: it exists
    /// already; admission was decided before it was made).
    pub fn force_charge(&self, bytes: usize) {
        self.shared.used.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Gives `bytes` back.
    pub fn release(&self, bytes: usize) {
        self.shared.used.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// A growth was refused (counted for [`MemoryStats::growth_refused`]).
    pub fn note_refused(&self) {
        self.shared.growth_refused.fetch_add(1, Ordering::Relaxed);
    }

    pub fn growth_refused(&self) -> u64 {
        self.shared.growth_refused.load(Ordering::Relaxed)
    }
}

/// A fixed amount charged to a budget for as long as this lives.
#[derive(Debug)]
pub struct MemoryCharge {
    budget: MemoryBudget,
    bytes: usize,
}

impl MemoryCharge {
    pub fn new(budget: &MemoryBudget, bytes: usize) -> MemoryCharge {
        budget.force_charge(bytes);
        MemoryCharge {
            budget: budget.clone(),
            bytes,
        }
    }

    pub fn budget(&self) -> &MemoryBudget {
        &self.budget
    }
}

impl Drop for MemoryCharge {
    fn drop(&mut self) {
        self.budget.release(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_fit_the_limit_and_refusals_are_counted() {
        let budget = MemoryBudget::new(100);
        assert!(budget.try_charge(60));
        assert!(!budget.try_charge(41));
        assert_eq!(budget.growth_refused(), 1);
        assert!(budget.try_charge(40));
        budget.release(60);
        assert_eq!(budget.used(), 40);
        {
            let _tcb = MemoryCharge::new(&budget, 30);
            assert_eq!(budget.used(), 70);
        }
        assert_eq!(budget.used(), 40, "a charge is given back when dropped");
    }
}
