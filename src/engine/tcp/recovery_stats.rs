//! Counters of how a connection recovered from loss, for measuring where
//! the time of a lossy transfer goes (see the ignored measuring test in
//! `engine/tests/pair.rs`). Not part of the `Engine` trait: the stack sums
//! them over its connections in [`crate::engine::Stack::recovery_stats`].

use std::ops::AddAssign;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecoveryStats {
    /// Retransmission timeouts that resent data (RFC 6298 (5.4)).
    pub timeouts: u64,
    /// Fast recoveries entered (RFC 5681 §3.2, RFC 6675 §5, RFC 8985).
    pub fast_recoveries: u64,
    /// Segments sent again while in fast recovery.
    pub fast_retransmits: u64,
    /// Segments sent again after a retransmission timeout.
    pub timeout_retransmits: u64,
    /// Tail loss probes sent (RFC 8985 §7.3).
    pub loss_probes: u64,
    /// Segments RACK marked lost (RFC 8985 §6.2 step 5), retransmissions
    /// marked lost again included.
    pub rack_marked_lost: u64,
    /// Retransmissions of bytes the peer had already received: the peer
    /// said so with a D-SACK (RFC 2883), or a retransmission was ACKed
    /// sooner than any round trip could take (RFC 8985 §6.2 step 2).
    pub spurious_retransmits: u64,
}

impl AddAssign for RecoveryStats {
    fn add_assign(&mut self, other: RecoveryStats) {
        self.timeouts += other.timeouts;
        self.fast_recoveries += other.fast_recoveries;
        self.fast_retransmits += other.fast_retransmits;
        self.timeout_retransmits += other.timeout_retransmits;
        self.loss_probes += other.loss_probes;
        self.rack_marked_lost += other.rack_marked_lost;
        self.spurious_retransmits += other.spurious_retransmits;
    }
}
