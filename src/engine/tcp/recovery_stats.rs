//! Counters of how a connection recovered from loss, for measuring where
//! the time of a lossy transfer goes (see the ignored measuring test in
//! `engine/tests/pair.rs`, the simulation's summary lines, and the debug
//! line the stack logs when a connection ends). Not part of the `Engine`
//! trait: the stack sums them over its connections in
//! [`crate::engine::Stack::recovery_stats`].

use std::fmt;
use std::ops::AddAssign;
use std::time::Duration;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecoveryStats {
    /// Retransmission timeouts that resent data (RFC 6298 (5.4)).
    pub timeouts: u64,
    /// Of those, the ones that fired in loss recovery (the losses were
    /// known, but their repair was not acknowledged in time).
    pub timeouts_in_recovery: u64,
    /// Of those, the ones that fired with a tail loss probe outstanding:
    /// the probe did not prevent the timeout (RFC 8985 §7).
    pub timeouts_after_probe: u64,
    /// Fast recoveries entered (RFC 5681 §3.2, RFC 6675 §5, RFC 8985).
    pub fast_recoveries: u64,
    /// Segments sent again while in fast recovery.
    pub fast_retransmits: u64,
    /// Segments sent again after a retransmission timeout.
    pub timeout_retransmits: u64,
    /// Bytes sent again, for whatever reason.
    pub retransmitted_bytes: u64,
    /// Tail loss probes sent (RFC 8985 §7.3).
    pub loss_probes: u64,
    /// Probes whose ACK came (RFC 8985 §7.4): each one a timeout avoided.
    pub probes_acked: u64,
    /// Segments RACK marked lost (RFC 8985 §6.2 step 5), retransmissions
    /// marked lost again included.
    pub rack_marked_lost: u64,
    /// Retransmissions of bytes the peer had already received: the peer
    /// said so with a D-SACK (RFC 2883), or a retransmission was ACKed
    /// sooner than any round trip could take (RFC 8985 §6.2 step 2).
    pub spurious_retransmits: u64,
    /// Window reductions undone: every retransmission they caused was
    /// reported needless by D-SACKs (RFC 2883; Linux's "undo").
    pub undos: u64,
    /// Time spent in loss recovery (fast recovery, or the repair after a
    /// timeout), from entering it until its recovery point was ACKed.
    pub time_in_recovery: Duration,
}

impl AddAssign for RecoveryStats {
    fn add_assign(&mut self, other: RecoveryStats) {
        self.timeouts += other.timeouts;
        self.timeouts_in_recovery += other.timeouts_in_recovery;
        self.timeouts_after_probe += other.timeouts_after_probe;
        self.fast_recoveries += other.fast_recoveries;
        self.fast_retransmits += other.fast_retransmits;
        self.timeout_retransmits += other.timeout_retransmits;
        self.retransmitted_bytes += other.retransmitted_bytes;
        self.loss_probes += other.loss_probes;
        self.probes_acked += other.probes_acked;
        self.rack_marked_lost += other.rack_marked_lost;
        self.spurious_retransmits += other.spurious_retransmits;
        self.undos += other.undos;
        self.time_in_recovery += other.time_in_recovery;
    }
}

/// One line for logs and measurement output.
impl fmt::Display for RecoveryStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RTOs {} (in recovery {}, after a probe {}), fast recoveries {}, \
             resent {} fast + {} after RTO = {} bytes, probes {} ({} ACKed), \
             RACK lost {}, spurious {}, undone {}, in recovery {:.1?}",
            self.timeouts,
            self.timeouts_in_recovery,
            self.timeouts_after_probe,
            self.fast_recoveries,
            self.fast_retransmits,
            self.timeout_retransmits,
            self.retransmitted_bytes,
            self.loss_probes,
            self.probes_acked,
            self.rack_marked_lost,
            self.spurious_retransmits,
            self.undos,
            self.time_in_recovery,
        )
    }
}
