//! What all connections of one stack share and draw on: the memory
//! budget (`memory.rs`) and the stack-wide challenge-ACK allowance.
//!
//! RFC 5961 §7: "An implementation SHOULD include a ACK throttling
//! mechanism". Each connection limits its own challenge ACKs
//! (`StackConfig::challenge_acks_per_sec`); an ACK or RST flood spread
//! over many connections would still make us send as many ACKs as it
//! sends segments, a reflector. So all connections together draw on one
//! allowance a second too, as Linux's `tcp_challenge_ack_limit`. Linux
//! draws each second's allowance at random between half and one and a
//! half times the limit, since an exact, global count lets an off-path
//! attacker count challenge ACKs and learn sequence numbers
//! (CVE-2016-5696); we draw it from a keyed hash of the second, the same
//! spread, deterministic for the tests.
//!
//! Handles are shared like the budget's: atomics, so the engine stays
//! `Send`; the engine runs on one thread at a time.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use super::isn::{siphash24, IsnSecret};
use super::memory::MemoryBudget;
use super::out_of_order::OutOfOrderTotal;
use super::zero_window::ZeroWindowTotal;
use crate::time::Instant;

/// What a stack's connections share. Cloning is cheap (two `Arc`s).
#[derive(Clone, Debug)]
pub struct StackShared {
    pub budget: MemoryBudget,
    pub challenge_acks: ChallengeAckLimit,
    pub out_of_order: OutOfOrderTotal,
    pub zero_window: ZeroWindowTotal,
}

/// The stack-wide challenge-ACK allowance (RFC 5961 §7).
#[derive(Clone, Debug)]
pub struct ChallengeAckLimit {
    shared: Arc<Allowance>,
}

#[derive(Debug)]
struct Allowance {
    per_sec: u32,
    secret: IsnSecret,
    /// The second the allowance `left` is for (+1, so 0 means none yet).
    second: AtomicU64,
    left: AtomicU32,
    /// Challenge ACKs refused, by this allowance or a connection's own.
    limited: AtomicU64,
}

impl ChallengeAckLimit {
    pub fn new(per_sec: u32, secret: IsnSecret) -> ChallengeAckLimit {
        ChallengeAckLimit {
            shared: Arc::new(Allowance {
                per_sec,
                secret,
                second: AtomicU64::new(0),
                left: AtomicU32::new(0),
                limited: AtomicU64::new(0),
            }),
        }
    }

    /// Takes one challenge ACK from this second's allowance; false (and
    /// counted) when it is spent.
    pub fn try_take(&self, now: Instant) -> bool {
        let a = &self.shared;
        let second = now.total_millis() / 1000 + 1;
        if a.second.swap(second, Ordering::Relaxed) != second {
            a.left.store(self.allowance(second), Ordering::Relaxed);
        }
        let left = a.left.load(Ordering::Relaxed);
        if left == 0 {
            self.note_limited();
            return false;
        }
        a.left.store(left - 1, Ordering::Relaxed);
        true
    }

    /// Between half and one and a half times `per_sec` (Linux: `half +
    /// get_random_u32_below(limit)`), keyed per second.
    fn allowance(&self, second: u64) -> u32 {
        let per_sec = self.shared.per_sec;
        if per_sec == u32::MAX || per_sec < 2 {
            return per_sec;
        }
        let draw = siphash24(&self.shared.secret.0, &second.to_le_bytes()) as u32;
        per_sec.div_ceil(2).saturating_add(draw % per_sec)
    }

    /// A challenge ACK was refused by a connection's own limit: counted
    /// with the stack-wide refusals.
    pub fn note_limited(&self) {
        self.shared.limited.fetch_add(1, Ordering::Relaxed);
    }

    /// Challenge ACKs refused so far, by either limit.
    pub fn limited(&self) -> u64 {
        self.shared.limited.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_second_allows_between_half_and_one_and_a_half_times_the_limit() {
        let limit = ChallengeAckLimit::new(100, IsnSecret([3; 16]));
        let mut allowed = Vec::new();
        for second in 0..20u64 {
            let now = Instant::from_millis(second * 1000 + 500);
            allowed.push((0..1000).filter(|_| limit.try_take(now)).count());
        }
        assert!(
            allowed.iter().all(|&n| (50..150).contains(&n)),
            "{allowed:?}"
        );
        assert!(
            allowed.windows(2).any(|w| w[0] != w[1]),
            "drawn anew each second"
        );
        let refused: usize = allowed.iter().map(|n| 1000 - n).sum();
        assert_eq!(limit.limited(), refused as u64);
    }
}
