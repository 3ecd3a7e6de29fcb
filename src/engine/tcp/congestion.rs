//! Congestion control: slow start and congestion avoidance (RFC 5681),
//! fast retransmit with NewReno recovery (RFC 6582), or, when SACK is in
//! use, the window rules of SACK-based recovery (RFC 6675 §5).
//!
//! The window that limits sending is min(SND.WND, cwnd): the peer's
//! receive window says how much it can buffer, cwnd how much the network
//! is believed to carry.

use crate::wire::SeqNum;

/// RFC 5681 §3.2: "the third duplicate ACK" triggers fast retransmit.
const DUP_ACK_THRESHOLD: u32 = 3;
/// RFC 6928: an initial window of 10 segments.
const INITIAL_WINDOW_SEGMENTS: usize = 10;

pub struct Congestion {
    /// Congestion window, bytes.
    pub cwnd: usize,
    /// Slow start threshold, bytes; starts "arbitrarily high" (RFC 5681 §3.1).
    pub ssthresh: usize,
    smss: usize,
    dup_acks: u32,
    /// RFC 6582 `recover`: while `Some`, we are in fast recovery until this
    /// sequence number is acknowledged.
    recover: Option<SeqNum>,
    /// SACK is in use: recovery is paced by the scoreboard's `pipe`
    /// (RFC 6675), so cwnd is neither inflated nor deflated in recovery.
    sack: bool,
}

/// What the sender should do after an ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckAction {
    Nothing,
    /// Retransmit the first unacknowledged segment now.
    RetransmitFirst,
}

impl Congestion {
    pub fn new(smss: usize) -> Congestion {
        Congestion {
            cwnd: INITIAL_WINDOW_SEGMENTS * smss,
            ssthresh: usize::MAX,
            smss,
            dup_acks: 0,
            recover: None,
            sack: false,
        }
    }

    pub fn set_sack(&mut self, sack: bool) {
        self.sack = sack;
    }

    /// The effective send MSS became known (peer's MSS option).
    pub fn set_smss(&mut self, smss: usize) {
        self.smss = smss;
        self.cwnd = INITIAL_WINDOW_SEGMENTS * smss;
    }

    pub fn in_recovery(&self) -> bool {
        self.recover.is_some()
    }

    /// Limited Transmit (RFC 3042, RFC 5681 §3.2 step 1, RFC 6675 §5 (2)):
    /// on the first and second duplicate ACK, one more new segment each may
    /// go beyond cwnd, so enough data reaches the receiver to tell a loss
    /// from reordering when little is in flight.
    pub fn limited_transmit_allowance(&self) -> usize {
        if self.recover.is_none() && self.dup_acks < DUP_ACK_THRESHOLD {
            self.dup_acks as usize * self.smss
        } else {
            0
        }
    }

    /// Enters fast recovery with `snd_max` as the recovery point. RFC 5681
    /// (4.2) halves the flight; NewReno inflates by the three segments that
    /// left the network (4.3), RFC 6675 (4.2) sets cwnd = ssthresh instead.
    pub fn enter_recovery(&mut self, flight: usize, snd_max: SeqNum) {
        self.ssthresh = (flight / 2).max(2 * self.smss);
        self.cwnd = if self.sack {
            self.ssthresh
        } else {
            self.ssthresh + 3 * self.smss
        };
        self.recover = Some(snd_max);
    }

    /// An ACK that moved SND.UNA forward by `acked` bytes to `ack`.
    pub fn on_new_ack(&mut self, ack: SeqNum, acked: usize, flight: usize) -> AckAction {
        self.dup_acks = 0;
        if let Some(recover) = self.recover {
            if ack >= recover {
                // RFC 6582 §3.2 step 3, full acknowledgment: deflate the window.
                self.cwnd = self.ssthresh.min(flight + self.smss).max(self.smss);
                self.recover = None;
                return AckAction::Nothing;
            }
            if self.sack {
                // RFC 6675: the scoreboard says what to resend; cwnd stays.
                return AckAction::Nothing;
            }
            // Partial acknowledgment: retransmit the next hole, deflate by the
            // amount acked, add back one SMSS, stay in recovery.
            self.cwnd = self.cwnd.saturating_sub(acked) + self.smss;
            return AckAction::RetransmitFirst;
        }
        if self.cwnd < self.ssthresh {
            // RFC 5681 (2): slow start, cwnd += min(N, SMSS).
            self.cwnd += acked.min(self.smss);
        } else {
            // RFC 5681 (3): congestion avoidance, about one SMSS per RTT.
            self.cwnd += (self.smss * self.smss / self.cwnd).max(1);
        }
        AckAction::Nothing
    }

    /// A duplicate ACK (RFC 5681 §2 definition) while data is outstanding.
    pub fn on_duplicate_ack(&mut self, flight: usize, snd_max: SeqNum) -> AckAction {
        self.dup_acks += 1;
        if self.recover.is_some() {
            if !self.sack {
                // RFC 6582 §3.2 step 4: inflate for each segment that left the network.
                self.cwnd += self.smss;
            }
            return AckAction::Nothing;
        }
        if self.dup_acks == DUP_ACK_THRESHOLD {
            // RFC 5681 (4.2)/(4.3): halve and retransmit.
            self.enter_recovery(flight, snd_max);
            return AckAction::RetransmitFirst;
        }
        AckAction::Nothing
    }

    /// The retransmission timer fired (RFC 5681 (4) and §3.1 "Loss Window").
    pub fn on_timeout(&mut self, flight: usize) {
        self.ssthresh = (flight / 2).max(2 * self.smss);
        self.cwnd = self.smss;
        self.dup_acks = 0;
        self.recover = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_start_grows_by_one_smss_per_ack_then_avoidance_slower() {
        let mut cc = Congestion::new(1000);
        assert_eq!(cc.cwnd, 10_000);
        cc.on_new_ack(SeqNum(1000), 1000, 0);
        assert_eq!(cc.cwnd, 11_000);
        cc.ssthresh = 11_000;
        cc.on_new_ack(SeqNum(2000), 1000, 0);
        assert_eq!(cc.cwnd, 11_000 + 1000 * 1000 / 11_000);
    }

    #[test]
    fn third_duplicate_ack_triggers_fast_retransmit() {
        let mut cc = Congestion::new(1000);
        assert_eq!(cc.on_duplicate_ack(8000, SeqNum(9000)), AckAction::Nothing);
        assert_eq!(cc.on_duplicate_ack(8000, SeqNum(9000)), AckAction::Nothing);
        assert_eq!(
            cc.on_duplicate_ack(8000, SeqNum(9000)),
            AckAction::RetransmitFirst
        );
        assert_eq!(cc.ssthresh, 4000);
        assert_eq!(cc.cwnd, 7000);
        cc.on_duplicate_ack(8000, SeqNum(9000));
        assert_eq!(cc.cwnd, 8000);
    }

    #[test]
    fn partial_ack_retransmits_and_full_ack_exits_recovery() {
        let mut cc = Congestion::new(1000);
        for _ in 0..3 {
            cc.on_duplicate_ack(8000, SeqNum(9000));
        }
        assert_eq!(
            cc.on_new_ack(SeqNum(3000), 2000, 6000),
            AckAction::RetransmitFirst
        );
        assert!(cc.in_recovery());
        assert_eq!(cc.on_new_ack(SeqNum(9000), 6000, 0), AckAction::Nothing);
        assert!(!cc.in_recovery());
        assert_eq!(cc.cwnd, 1000);
    }

    #[test]
    fn sack_recovery_neither_inflates_nor_deflates_rfc_6675_s5() {
        let mut cc = Congestion::new(1000);
        cc.set_sack(true);
        for _ in 0..3 {
            cc.on_duplicate_ack(8000, SeqNum(9000));
        }
        assert_eq!((cc.ssthresh, cc.cwnd), (4000, 4000));
        cc.on_duplicate_ack(8000, SeqNum(9000));
        assert_eq!(cc.on_new_ack(SeqNum(3000), 2000, 6000), AckAction::Nothing);
        assert_eq!(cc.cwnd, 4000);
        assert!(cc.in_recovery());
        cc.on_new_ack(SeqNum(9000), 6000, 0);
        assert!(!cc.in_recovery());
    }

    #[test]
    fn timeout_collapses_to_one_segment() {
        let mut cc = Congestion::new(1000);
        cc.on_timeout(10_000);
        assert_eq!((cc.cwnd, cc.ssthresh), (1000, 5000));
    }
}
