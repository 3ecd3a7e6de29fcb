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
    /// Bytes acknowledged in congestion avoidance since cwnd last grew
    /// (RFC 5681 §3.1's recommended byte counting).
    bytes_acked: usize,
    dup_acks: u32,
    /// RFC 6582 `recover`: while `Some`, we are in fast recovery until this
    /// sequence number is acknowledged.
    recover: Option<SeqNum>,
    /// After a retransmission timeout, RFC 6675 §5.1's RecoveryPoint
    /// (HighData when it fired): until it is acknowledged, the loss is
    /// being repaired in slow start and no fast recovery may begin (the
    /// same rule as RFC 6582 §3.2 step 1's `recover` after a timeout).
    timeout_recover: Option<SeqNum>,
    /// SACK is in use: recovery is paced by the scoreboard's `pipe`
    /// (RFC 6675), so cwnd is neither inflated nor deflated in recovery.
    sack: bool,
    /// Our SYN or SYN-ACK was lost (its timer expired): the initial
    /// window is one segment (RFC 5681 §3.1).
    handshake_lost: bool,
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
            bytes_acked: 0,
            dup_acks: 0,
            recover: None,
            timeout_recover: None,
            sack: false,
            handshake_lost: false,
        }
    }

    pub fn set_sack(&mut self, sack: bool) {
        self.sack = sack;
    }

    /// The effective send MSS became known (peer's MSS option): cwnd is
    /// the initial window in segments of that size.
    pub fn set_smss(&mut self, smss: usize) {
        self.smss = smss;
        self.cwnd = self.initial_window();
    }

    /// RFC 6928's ten segments; but RFC 5681 §3.1: "if the SYN or SYN/ACK
    /// is lost, the initial window used by a sender after a correctly
    /// transmitted SYN MUST be one segment consisting of at most SMSS bytes."
    fn initial_window(&self) -> usize {
        if self.handshake_lost {
            self.smss
        } else {
            INITIAL_WINDOW_SEGMENTS * self.smss
        }
    }

    /// The retransmission timer expired awaiting the ACK of our SYN or
    /// SYN-ACK: the initial window shrinks to one segment, even if the
    /// peer's MSS is learnt later. ssthresh stays "arbitrarily high"
    /// (RFC 5681 §3.1): a lost SYN says nothing about how much data the
    /// path carries, and halving a flight of no data would leave slow
    /// start after a single segment (Linux too starts the transfer with
    /// an infinite ssthresh, `tcp_init_metrics`).
    pub fn on_handshake_timeout(&mut self) {
        self.handshake_lost = true;
        self.cwnd = self.initial_window();
    }

    pub fn in_recovery(&self) -> bool {
        self.recover.is_some()
    }

    /// Repairing the losses of a retransmission timeout (RFC 6675 §5.1).
    pub fn in_timeout_recovery(&self) -> bool {
        self.timeout_recover.is_some()
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
        self.bytes_acked = 0;
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
        if self.timeout_recover.is_some_and(|point| ack >= point) {
            self.timeout_recover = None;
        }
        if let Some(recover) = self.recover {
            if ack >= recover {
                self.recover = None;
                if !self.sack {
                    // RFC 6582 §3.2 step 3, full acknowledgment: deflate the window.
                    self.cwnd = self.ssthresh.min(flight + self.smss).max(self.smss);
                }
                // With SACK, cwnd was never inflated: it stays at ssthresh
                // (RFC 6675 §5 sets it once, on entry). Deflating it to
                // FlightSize + SMSS would leave one segment in flight when
                // the recovery ACK acknowledges everything, and a single
                // segment's loss can only be repaired by the RTO.
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
            // RFC 5681 (2): slow start, cwnd += min(N, SMSS); RFC 3465
            // §2.2 allows up to 2 SMSS per ACK (L = 2), which keeps the
            // doubling per round trip when the peer ACKs every second segment.
            self.cwnd += acked.min(2 * self.smss);
        } else {
            // RFC 5681 §3.1, congestion avoidance, "the RECOMMENDED way":
            // count acknowledged bytes; when they reach cwnd, cwnd grows by
            // one SMSS. One SMSS per round trip however many ACKs there
            // are (counting ACKs instead halves the growth under delayed ACKs).
            self.bytes_acked += acked;
            if self.bytes_acked >= self.cwnd {
                self.bytes_acked -= self.cwnd;
                self.cwnd += self.smss;
            }
        }
        AckAction::Nothing
    }

    /// A duplicate ACK (RFC 5681 §2 definition) while data is outstanding.
    pub fn on_duplicate_ack(&mut self, flight: usize, snd_max: SeqNum) -> AckAction {
        self.dup_acks += 1;
        if self.timeout_recover.is_some() {
            // RFC 6675 §5.1 / RFC 6582 §3.2 (1): duplicates of what the
            // timeout resent start no fast recovery.
            return AckAction::Nothing;
        }
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

    /// A duplicate ACK with SACK blocks: RACK (RFC 8985) decides about
    /// loss from the SACKs, this only counts it for Limited Transmit.
    pub fn count_duplicate_ack(&mut self) {
        self.dup_acks += 1;
    }

    /// The retransmission timer fired (RFC 5681 (4) and §3.1 "Loss
    /// Window"); the repair lasts until `snd_max` is acknowledged.
    pub fn on_timeout(&mut self, flight: usize, snd_max: SeqNum) {
        self.bytes_acked = 0;
        self.ssthresh = (flight / 2).max(2 * self.smss);
        self.cwnd = self.smss;
        self.dup_acks = 0;
        self.recover = None;
        self.timeout_recover = Some(snd_max);
    }

    /// A tail loss probe repaired a loss (RFC 8985 §7.4): "invoke the
    /// congestion control's response" as if a fast recovery had entered
    /// and ended at once: halve.
    pub fn on_probe_repaired_loss(&mut self, flight: usize) {
        self.ssthresh = (flight / 2).max(2 * self.smss);
        self.cwnd = self.cwnd.min(self.ssthresh).max(self.smss);
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
        for i in 0..10 {
            cc.on_new_ack(SeqNum(2000 + 1000 * i), 1000, 0);
            assert_eq!(cc.cwnd, 11_000, "grows only once cwnd bytes are acked");
        }
        cc.on_new_ack(SeqNum(12_000), 1000, 0);
        assert_eq!(cc.cwnd, 12_000);
    }

    #[test]
    fn slow_start_counts_up_to_two_segments_per_ack_rfc_3465() {
        let mut cc = Congestion::new(1000);
        cc.on_new_ack(SeqNum(3000), 3000, 0);
        assert_eq!(cc.cwnd, 12_000);
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
        assert_eq!(cc.cwnd, 4000, "no deflation to FlightSize + SMSS");
    }

    #[test]
    fn lost_syn_makes_the_initial_window_one_segment_of_the_later_smss_rfc5681_3_1() {
        let mut cc = Congestion::new(536);
        cc.on_handshake_timeout();
        assert_eq!(cc.cwnd, 536);
        cc.set_smss(1460);
        assert_eq!((cc.cwnd, cc.ssthresh), (1460, usize::MAX));
    }

    #[test]
    fn timeout_collapses_to_one_segment() {
        let mut cc = Congestion::new(1000);
        cc.on_timeout(10_000, SeqNum(10_000));
        assert_eq!((cc.cwnd, cc.ssthresh), (1000, 5000));
    }

    #[test]
    fn no_fast_recovery_until_what_the_timeout_resent_is_acked_rfc_6675_s5_1() {
        let mut cc = Congestion::new(1000);
        cc.on_timeout(10_000, SeqNum(10_000));
        for _ in 0..3 {
            assert_eq!(
                cc.on_duplicate_ack(1000, SeqNum(10_000)),
                AckAction::Nothing
            );
        }
        assert!(!cc.in_recovery() && cc.in_timeout_recovery());
        cc.on_new_ack(SeqNum(9000), 1000, 1000);
        assert!(cc.in_timeout_recovery());
        cc.on_new_ack(SeqNum(10_000), 1000, 0);
        assert!(!cc.in_timeout_recovery());
    }
}
