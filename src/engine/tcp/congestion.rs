//! Congestion control: slow start and congestion avoidance (RFC 5681),
//! fast retransmit with NewReno recovery (RFC 6582), or, when SACK is in
//! use, the window rules of SACK-based recovery (RFC 6675 §5) with
//! Proportional Rate Reduction (RFC 6937, `prr.rs`) deciding how much
//! goes out per ACK. How much the window shrinks at a loss and how it
//! grows in congestion avoidance is the algorithm's: NewReno (halve, one
//! segment per round trip) or CUBIC (RFC 9438, `cubic.rs`). BBR (`bbr.rs`)
//! instead sets the window from its model of the path on every ACK, from
//! the delivery rate samples of `rate.rs`; loss does not reduce it (but
//! for a round trip of packet conservation at the start of a recovery,
//! and one segment after a timeout, restored after, as Linux's
//! `bbr_set_cwnd_to_recover_or_restore`), and PRR does not pace it.
//!
//! The window that limits sending is min(SND.WND, cwnd): the peer's
//! receive window says how much it can buffer, cwnd how much the network
//! is believed to carry.
//!
//! A reduction remembers the window it replaced, so that when every
//! retransmission it caused proves needless (the peer reports each with
//! a D-SACK, RFC 2883) it is undone, as Linux's `tcp_undo_cwnd_reduction`
//! does (RFC 9438 §4.9 for CUBIC's state).

use std::time::Duration;

use super::bbr::{AckInput, Bbr, LossState, Mode};
use super::cubic::{Cubic, BETA};
use super::prr::Prr;
use super::rate::DeliveryRate;
use crate::engine::config::CongestionControl;
use crate::time::Instant;
use crate::wire::SeqNum;

/// RFC 5681 §3.2: "the third duplicate ACK" triggers fast retransmit.
const DUP_ACK_THRESHOLD: u32 = 3;
/// RFC 6928: an initial window of 10 segments.
const INITIAL_WINDOW_SEGMENTS: usize = 10;

/// The algorithm's own state.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Algorithm {
    NewReno,
    Cubic(Cubic),
    Bbr(Bbr),
}

/// What a reduction replaced, to undo it (Linux's prior_cwnd,
/// prior_ssthresh, undo_marker and undo_retrans).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Undo {
    cwnd: usize,
    ssthresh: usize,
    algorithm: Algorithm,
    /// SND.UNA at the reduction: D-SACKs of bytes below it are about
    /// older retransmissions.
    marker: SeqNum,
    /// Retransmissions since the reduction not yet reported duplicate.
    retransmits: u32,
}

pub struct Congestion {
    /// Congestion window, bytes.
    pub cwnd: usize,
    /// Slow start threshold, bytes; starts "arbitrarily high" (RFC 5681 §3.1).
    pub ssthresh: usize,
    smss: usize,
    algorithm: Algorithm,
    /// Bytes acknowledged in congestion avoidance since cwnd last grew
    /// (RFC 5681 §3.1's recommended byte counting; NewReno).
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
    /// (RFC 6675) and PRR, so cwnd is not inflated in recovery.
    sack: bool,
    /// PRR's state, during a fast recovery with SACK.
    prr: Option<Prr>,
    /// The last reduction, while it may still be undone.
    undo: Option<Undo>,
    /// Our SYN or SYN-ACK was lost (its timer expired): the initial
    /// window is one segment (RFC 5681 §3.1).
    handshake_lost: bool,
    /// Delivery rate samples (BBR's input; kept for every algorithm).
    pub rate: DeliveryRate,
}

/// What the sender should do after an ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckAction {
    Nothing,
    /// Retransmit the first unacknowledged segment now.
    RetransmitFirst,
}

impl Congestion {
    pub fn new(smss: usize, kind: CongestionControl) -> Congestion {
        Congestion {
            cwnd: INITIAL_WINDOW_SEGMENTS * smss,
            ssthresh: usize::MAX,
            smss,
            algorithm: match kind {
                CongestionControl::NewReno => Algorithm::NewReno,
                CongestionControl::Cubic => Algorithm::Cubic(Cubic::default()),
                CongestionControl::Bbr => Algorithm::Bbr(Bbr::new()),
            },
            bytes_acked: 0,
            dup_acks: 0,
            recover: None,
            timeout_recover: None,
            sack: false,
            prr: None,
            undo: None,
            handshake_lost: false,
            rate: DeliveryRate::default(),
        }
    }

    /// Whether SACK is in use. BBR's rate samples come from the log of
    /// sent segments, which is kept only with SACK (as RACK's): without
    /// it the connection runs CUBIC.
    pub fn set_sack(&mut self, sack: bool) {
        self.sack = sack;
        if !sack && matches!(self.algorithm, Algorithm::Bbr(_)) {
            self.algorithm = Algorithm::Cubic(Cubic::default());
        }
    }

    /// BBR's state, if it runs.
    pub fn bbr(&self) -> Option<&Bbr> {
        match &self.algorithm {
            Algorithm::Bbr(bbr) => Some(bbr),
            _ => None,
        }
    }

    /// The effective send MSS became known (peer's MSS option): cwnd is
    /// the initial window in segments of that size.
    pub fn set_smss(&mut self, smss: usize) {
        self.smss = smss;
        self.cwnd = self.initial_window();
    }

    /// The send MSS shrank in mid-connection (path MTU discovery, RFC
    /// 1191 §6.4): the windows keep their size in segments, as Linux's,
    /// counted in packets, do. Not a congestion signal.
    pub fn on_mss_reduced(&mut self, smss: usize) {
        let old = self.smss.max(1);
        let rescale = |window: usize| window / old * smss;
        self.cwnd = rescale(self.cwnd).max(smss);
        if self.ssthresh != usize::MAX {
            self.ssthresh = rescale(self.ssthresh).max(2 * smss);
        }
        self.smss = smss;
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

    /// A congestion event with `flight` bytes out up to `snd_max`: the
    /// new ssthresh, by the algorithm, remembering what it replaces.
    /// NewReno halves the flight (RFC 5681 (4)); CUBIC keeps beta = 0.7
    /// of it (RFC 9438 §4.6) and records the window in use as W_max: cwnd,
    /// or the flight if the application kept it below cwnd.
    fn reduce(&mut self, flight: usize, snd_max: SeqNum, timeout: bool) {
        self.undo = Some(Undo {
            cwnd: self.cwnd,
            ssthresh: self.ssthresh,
            algorithm: self.algorithm,
            marker: snd_max - flight,
            retransmits: 0,
        });
        let smss = self.smss as f64;
        let ssthresh = match &mut self.algorithm {
            Algorithm::Bbr(bbr) => {
                // The model stays; only the window to return to is kept
                // (Linux's bbr_ssthresh, which leaves ssthresh alone).
                bbr.save_cwnd(self.cwnd);
                return;
            }
            Algorithm::NewReno => flight / 2,
            Algorithm::Cubic(cubic) => {
                let in_use = self.cwnd.min(flight).max(self.smss) as f64 / smss;
                if timeout {
                    cubic.on_timeout(in_use);
                } else {
                    cubic.on_congestion(in_use);
                }
                (flight as f64 * BETA) as usize
            }
        };
        self.ssthresh = ssthresh.max(2 * self.smss);
        self.bytes_acked = 0;
    }

    /// An ECN-Echo (RFC 3168 §6.1.2): "the congestion window is halved and
    /// the slow-start threshold is reduced" as for a loss (by the
    /// algorithm's own factor: CUBIC's beta), without fast recovery or
    /// retransmission; the caller limits it to once a window. Not undone
    /// by D-SACKs: a mark is no spurious loss. BBR ignores it, as Linux's
    /// BBR v1 does (its window follows the path model): returns false.
    pub fn on_ecn_echo(&mut self, flight: usize, snd_max: SeqNum) -> bool {
        if matches!(self.algorithm, Algorithm::Bbr(_)) {
            return false;
        }
        self.reduce(flight, snd_max, false);
        self.undo = None;
        self.cwnd = self.ssthresh;
        true
    }

    /// Enters fast recovery with `snd_max` as the recovery point. The
    /// algorithm sets ssthresh (`reduce`); NewReno inflates by the three
    /// segments that left the network (RFC 5681 (4.3)); with SACK, cwnd =
    /// ssthresh (RFC 6675 (4.2)) until PRR paces the first ACK.
    pub fn enter_recovery(&mut self, flight: usize, snd_max: SeqNum) {
        self.reduce(flight, snd_max, false);
        if matches!(self.algorithm, Algorithm::Bbr(_)) {
            // BBR sets the window on this ACK's rate sample (conservation).
            self.recover = Some(snd_max);
            return;
        }
        if self.sack {
            self.cwnd = self.ssthresh;
            self.prr = Some(Prr::start(flight));
        } else {
            self.cwnd = self.ssthresh + 3 * self.smss;
        }
        self.recover = Some(snd_max);
    }

    /// RFC 6937 on an ACK in fast recovery (or `delivered` = 0 as it
    /// begins): cwnd becomes `pipe` plus what PRR lets go now.
    pub fn prr_on_ack(&mut self, delivered: usize, pipe: usize) {
        if let Some(prr) = &mut self.prr {
            let sndcnt = prr.on_ack(delivered, pipe, self.ssthresh, self.smss);
            self.cwnd = pipe + sndcnt;
        }
    }

    /// `bytes` of sequence space went out (new data or again): PRR's
    /// prr_out; a retransmission may later prove needless (`on_dsack`).
    pub fn on_sent(&mut self, bytes: usize, retransmission: bool) {
        if let Some(prr) = &mut self.prr {
            prr.on_sent(bytes);
        }
        if let (true, Some(undo)) = (retransmission, &mut self.undo) {
            undo.retransmits += 1;
        }
    }

    /// The peer reported `segments` of bytes ending at `right` received
    /// twice (a D-SACK, RFC 2883 §4). When every retransmission since the
    /// last reduction has been reported so, none was needed: the
    /// reduction is undone and any recovery ends (Linux's
    /// `tcp_try_undo_dsack` and `tcp_try_undo_loss`; RFC 9438 §4.9).
    /// Returns whether it was. As in Linux, a D-SACK of bytes above the
    /// marker is taken to be of a retransmission: one of data the network
    /// duplicated counts too (the sent log forgets what is ACKed).
    pub fn on_dsack(&mut self, right: SeqNum, segments: u32) -> bool {
        let Some(undo) = &mut self.undo else {
            return false;
        };
        if right <= undo.marker || undo.retransmits == 0 {
            return false;
        }
        undo.retransmits = undo.retransmits.saturating_sub(segments.max(1));
        if undo.retransmits > 0 {
            return false;
        }
        let undo = *undo;
        self.cwnd = self.cwnd.max(undo.cwnd);
        self.ssthresh = self.ssthresh.max(undo.ssthresh);
        match &mut self.algorithm {
            // The model learnt since stays (Linux's bbr_undo_cwnd).
            Algorithm::Bbr(bbr) => bbr.on_undo(),
            algorithm => *algorithm = undo.algorithm,
        }
        self.undo = None;
        self.prr = None;
        self.recover = None;
        self.timeout_recover = None;
        self.bytes_acked = 0;
        true
    }

    /// An ACK that moved SND.UNA forward by `acked` bytes to `ack`, at
    /// `now`, with the smoothed round trip `srtt` (CUBIC's growth).
    pub fn on_new_ack(
        &mut self,
        ack: SeqNum,
        acked: usize,
        flight: usize,
        now: Instant,
        srtt: Option<Duration>,
    ) -> AckAction {
        self.dup_acks = 0;
        if self.timeout_recover.is_some_and(|point| ack >= point) {
            self.timeout_recover = None;
        }
        if matches!(self.algorithm, Algorithm::Bbr(_)) {
            // BBR's window follows the rate sample (`on_ack_sampled`).
            if self.recover.is_some_and(|recover| ack >= recover) {
                self.recover = None;
            }
            return AckAction::Nothing;
        }
        if let Some(recover) = self.recover {
            return self.on_ack_in_recovery(ack >= recover, acked, flight);
        }
        if self.cwnd < self.ssthresh {
            // RFC 5681 (2): slow start, cwnd += min(N, SMSS); RFC 3465
            // §2.2 allows up to 2 SMSS per ACK (L = 2), which keeps the
            // doubling per round trip when the peer ACKs every second segment.
            self.cwnd += acked.min(2 * self.smss);
        } else {
            self.grow_in_avoidance(acked, now, srtt);
        }
        AckAction::Nothing
    }

    /// A new ACK in fast recovery: `full` if it reached the recovery point.
    fn on_ack_in_recovery(&mut self, full: bool, acked: usize, flight: usize) -> AckAction {
        if full {
            self.recover = None;
            self.prr = None;
            self.cwnd = if self.sack {
                // RFC 6937: "cwnd = ssthresh" when recovery ends. (Not
                // FlightSize + SMSS: when the recovery ACK acknowledges
                // everything, that would leave one segment in flight, and
                // a single segment's loss can only be repaired by the RTO.)
                self.ssthresh
            } else {
                // RFC 6582 §3.2 step 3, full acknowledgment: deflate the window.
                self.ssthresh.min(flight + self.smss).max(self.smss)
            };
            return AckAction::Nothing;
        }
        if self.sack {
            // RFC 6675: the scoreboard says what to resend; PRR how much.
            return AckAction::Nothing;
        }
        // Partial acknowledgment: retransmit the next hole, deflate by the
        // amount acked, add back one SMSS, stay in recovery.
        self.cwnd = self.cwnd.saturating_sub(acked) + self.smss;
        AckAction::RetransmitFirst
    }

    /// Congestion avoidance, by the algorithm.
    fn grow_in_avoidance(&mut self, acked: usize, now: Instant, srtt: Option<Duration>) {
        match &mut self.algorithm {
            Algorithm::NewReno => {
                // RFC 5681 §3.1, "the RECOMMENDED way": count acknowledged
                // bytes; when they reach cwnd, cwnd grows by one SMSS. One
                // SMSS per round trip however many ACKs there are
                // (counting ACKs instead halves the growth under delayed ACKs).
                self.bytes_acked += acked;
                if self.bytes_acked >= self.cwnd {
                    self.bytes_acked -= self.cwnd;
                    self.cwnd += self.smss;
                }
            }
            Algorithm::Bbr(_) => {}
            Algorithm::Cubic(cubic) => {
                let smss = self.smss as f64;
                let rtt = srtt.unwrap_or_default();
                let segments = cubic.on_ack(now, self.cwnd as f64 / smss, acked as f64 / smss, rtt);
                self.cwnd = self.cwnd.max((segments * smss).round() as usize);
            }
        }
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
            // RFC 5681 (4.2)/(4.3): reduce and retransmit.
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
    ///
    /// ssthresh is set once per loss episode, as Linux's `tcp_enter_loss`
    /// does: not again when the timeout fires in a fast recovery, which
    /// already reduced it for this window of data, nor when it fires
    /// again before anything was acknowledged (`repeated`: RFC 5681 §3.1,
    /// "the value of ssthresh is held constant" when the segment already
    /// went again by the timer). Reducing again would take the reduced
    /// window (CUBIC: 0.7 of 0.7) or a shrunken flight as the new base.
    ///
    /// BBR keeps its model and the window to restore when the repair is
    /// done (Linux's bbr_ssthresh then bbr_set_state(TCP_CA_Loss)).
    pub fn on_timeout(&mut self, flight: usize, snd_max: SeqNum, repeated: bool) {
        if matches!(self.algorithm, Algorithm::Bbr(_)) {
            self.reduce(flight, snd_max, true);
            if let Algorithm::Bbr(bbr) = &mut self.algorithm {
                bbr.on_timeout();
            }
        } else if !repeated && self.recover.is_none() {
            self.reduce(flight, snd_max, true);
        } else if let Algorithm::Cubic(cubic) = &mut self.algorithm {
            cubic.restart_after_timeout();
        }
        self.cwnd = self.smss;
        self.dup_acks = 0;
        self.recover = None;
        self.prr = None;
        self.timeout_recover = Some(snd_max);
    }

    /// A tail loss probe repaired a loss (RFC 8985 §7.4): "invoke the
    /// congestion control's response" as if a fast recovery had entered
    /// and ended at once.
    /// (BBR: a loss is no signal to its model.)
    pub fn on_probe_repaired_loss(&mut self, flight: usize, snd_max: SeqNum) {
        if matches!(self.algorithm, Algorithm::Bbr(_)) {
            return;
        }
        self.reduce(flight, snd_max, false);
        self.cwnd = self.cwnd.min(self.ssthresh).max(self.smss);
    }

    /// After an ACK's deliveries and loss marks (draft-cheng-iccrg-
    /// delivery-rate-estimation §3.3 GenerateRateSample), with
    /// `in_flight` bytes in the network: BBR updates its model and sets
    /// the window (draft-cardwell-iccrg-bbr-congestion-control §4.2).
    pub fn on_ack_sampled(&mut self, now: Instant, in_flight: usize) {
        let min_rtt = self.bbr().and_then(Bbr::min_rtt);
        let sample = self.rate.take_sample(now, min_rtt);
        let state = if self.recover.is_some() {
            LossState::Recovery
        } else if self.timeout_recover.is_some() {
            LossState::Loss
        } else {
            LossState::Open
        };
        let ack = AckInput {
            now,
            sample,
            delivered: self.rate.delivered(),
            in_flight,
            state,
            smss: self.smss,
        };
        let Algorithm::Bbr(bbr) = &mut self.algorithm else {
            return;
        };
        self.cwnd = bbr.on_ack(self.cwnd, &ack);
        if bbr.mode() == Mode::ProbeRtt {
            // §4.3.4: ProbeRTT's low rates must not lower BtlBw.
            self.rate.mark_app_limited(in_flight);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEWRENO: CongestionControl = CongestionControl::NewReno;
    const T0: Instant = Instant::ZERO;

    #[test]
    fn must_19_slow_start_grows_by_one_smss_per_ack_then_avoidance_slower() {
        let mut cc = Congestion::new(1000, NEWRENO);
        assert_eq!(cc.cwnd, 10_000);
        cc.on_new_ack(SeqNum(1000), 1000, 0, T0, None);
        assert_eq!(cc.cwnd, 11_000);
        cc.ssthresh = 11_000;
        for i in 0..10 {
            cc.on_new_ack(SeqNum(2000 + 1000 * i), 1000, 0, T0, None);
            assert_eq!(cc.cwnd, 11_000, "grows only once cwnd bytes are acked");
        }
        cc.on_new_ack(SeqNum(12_000), 1000, 0, T0, None);
        assert_eq!(cc.cwnd, 12_000);
    }

    #[test]
    fn slow_start_counts_up_to_two_segments_per_ack_rfc_3465() {
        let mut cc = Congestion::new(1000, NEWRENO);
        cc.on_new_ack(SeqNum(3000), 3000, 0, T0, None);
        assert_eq!(cc.cwnd, 12_000);
    }

    #[test]
    fn third_duplicate_ack_triggers_fast_retransmit() {
        let mut cc = Congestion::new(1000, NEWRENO);
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
        let mut cc = Congestion::new(1000, NEWRENO);
        for _ in 0..3 {
            cc.on_duplicate_ack(8000, SeqNum(9000));
        }
        assert_eq!(
            cc.on_new_ack(SeqNum(3000), 2000, 6000, T0, None),
            AckAction::RetransmitFirst
        );
        assert!(cc.in_recovery());
        assert_eq!(
            cc.on_new_ack(SeqNum(9000), 6000, 0, T0, None),
            AckAction::Nothing
        );
        assert!(!cc.in_recovery());
        assert_eq!(cc.cwnd, 1000);
    }

    #[test]
    fn sack_recovery_neither_inflates_nor_deflates_rfc_6675_s5() {
        let mut cc = Congestion::new(1000, NEWRENO);
        cc.set_sack(true);
        for _ in 0..3 {
            cc.on_duplicate_ack(8000, SeqNum(9000));
        }
        assert_eq!((cc.ssthresh, cc.cwnd), (4000, 4000));
        cc.on_duplicate_ack(8000, SeqNum(9000));
        assert_eq!(
            cc.on_new_ack(SeqNum(3000), 2000, 6000, T0, None),
            AckAction::Nothing
        );
        assert_eq!(cc.cwnd, 4000);
        assert!(cc.in_recovery());
        cc.on_new_ack(SeqNum(9000), 6000, 0, T0, None);
        assert!(!cc.in_recovery());
        assert_eq!(cc.cwnd, 4000, "no deflation to FlightSize + SMSS");
    }

    #[test]
    fn lost_syn_makes_the_initial_window_one_segment_of_the_later_smss_rfc5681_3_1() {
        let mut cc = Congestion::new(536, NEWRENO);
        cc.on_handshake_timeout();
        assert_eq!(cc.cwnd, 536);
        cc.set_smss(1460);
        assert_eq!((cc.cwnd, cc.ssthresh), (1460, usize::MAX));
    }

    #[test]
    fn timeout_collapses_to_one_segment() {
        let mut cc = Congestion::new(1000, NEWRENO);
        cc.on_timeout(10_000, SeqNum(10_000), false);
        assert_eq!((cc.cwnd, cc.ssthresh), (1000, 5000));
    }

    #[test]
    fn no_fast_recovery_until_what_the_timeout_resent_is_acked_rfc_6675_s5_1() {
        let mut cc = Congestion::new(1000, NEWRENO);
        cc.on_timeout(10_000, SeqNum(10_000), false);
        for _ in 0..3 {
            assert_eq!(
                cc.on_duplicate_ack(1000, SeqNum(10_000)),
                AckAction::Nothing
            );
        }
        assert!(!cc.in_recovery() && cc.in_timeout_recovery());
        cc.on_new_ack(SeqNum(9000), 1000, 1000, T0, None);
        assert!(cc.in_timeout_recovery());
        cc.on_new_ack(SeqNum(10_000), 1000, 0, T0, None);
        assert!(!cc.in_timeout_recovery());
    }

    /// A timeout in a fast recovery, after partial ACKs shrank the
    /// flight: the recovery already reduced ssthresh for this window of
    /// data, and taking half the smaller flight would reduce it twice.
    #[test]
    fn a_timeout_in_fast_recovery_does_not_reduce_ssthresh_again() {
        let mut cc = Congestion::new(1000, NEWRENO);
        cc.enter_recovery(10_000, SeqNum(10_000));
        assert_eq!(cc.ssthresh, 5000);
        cc.on_new_ack(SeqNum(6000), 6000, 4000, T0, None);
        cc.on_timeout(4000, SeqNum(10_000), false);
        assert_eq!((cc.cwnd, cc.ssthresh), (1000, 5000));
    }

    /// RFC 5681 §3.1: when the segment already went again by the timer,
    /// "the value of ssthresh is held constant"; so is what the reduction
    /// replaced, which an undo restores (not the one-segment window of
    /// the first timeout).
    #[test]
    fn a_repeated_timeout_holds_ssthresh_rfc_5681_s3_1() {
        for kind in [NEWRENO, CongestionControl::Cubic] {
            let mut cc = Congestion::new(1000, kind);
            cc.on_timeout(10_000, SeqNum(10_000), false);
            let first = cc.ssthresh;
            cc.on_sent(1000, true);
            cc.on_timeout(10_000, SeqNum(10_000), true);
            assert_eq!((cc.cwnd, cc.ssthresh), (1000, first), "{kind}");
            cc.on_sent(1000, true);
            assert!(cc.on_dsack(SeqNum(1000), 2), "{kind}");
            assert_eq!((cc.cwnd, cc.ssthresh), (10_000, usize::MAX), "{kind}");
        }
    }

    /// Linux's undo: once every retransmission since the reduction was
    /// reported a duplicate (D-SACK), cwnd and ssthresh come back and the
    /// recovery ends. A D-SACK of older bytes (below SND.UNA at the
    /// reduction) counts for nothing.
    #[test]
    fn d_sacks_for_every_retransmission_undo_the_reduction() {
        let mut cc = Congestion::new(1000, CongestionControl::Cubic);
        cc.set_sack(true);
        cc.cwnd = 20_000;
        cc.ssthresh = 30_000;
        cc.enter_recovery(20_000, SeqNum(25_000));
        assert_eq!((cc.cwnd, cc.ssthresh), (14_000, 14_000));
        cc.on_sent(1000, true);
        cc.on_sent(1000, true);
        cc.on_sent(1000, false);
        assert!(!cc.on_dsack(SeqNum(5000), 1), "below the marker");
        assert!(!cc.on_dsack(SeqNum(6000), 1));
        assert!(cc.in_recovery());
        assert!(cc.on_dsack(SeqNum(7000), 1));
        assert_eq!((cc.cwnd, cc.ssthresh), (20_000, 30_000));
        assert!(!cc.in_recovery());
        assert!(!cc.on_dsack(SeqNum(8000), 1), "undone once");
    }

    /// CUBIC keeps 0.7 of the flight (RFC 9438 §4.6), NewReno half.
    #[test]
    fn may_18_cubic_reduces_to_beta_of_the_flight_rfc_9438_s4_6() {
        let mut cc = Congestion::new(1000, CongestionControl::Cubic);
        cc.set_sack(true);
        cc.enter_recovery(10_000, SeqNum(10_000));
        assert_eq!((cc.cwnd, cc.ssthresh), (7000, 7000));
    }

    /// In congestion avoidance CUBIC's window follows W_cubic (time from
    /// `now`): an ACK of one segment moves cwnd (W_cubic(t + RTT) - cwnd)
    /// / cwnd segments: little at first (the curve starts at cwnd), more
    /// as it rises towards W_max (K = cbrt(75) = 4.2 s), at most half a
    /// segment (the 1.5 cwnd cap) long after.
    #[test]
    fn cubic_grows_with_time_in_congestion_avoidance() {
        let mut cc = Congestion::new(1000, CongestionControl::Cubic);
        cc.set_sack(true);
        cc.cwnd = 100_000;
        cc.enter_recovery(100_000, SeqNum(100_000));
        cc.on_new_ack(SeqNum(100_000), 100_000, 0, T0, None);
        assert_eq!(cc.cwnd, 70_000);
        let rtt = Some(Duration::from_millis(100));
        let mut step = |ms: u64| {
            let before = cc.cwnd;
            cc.on_new_ack(SeqNum(0), 1000, 70_000, Instant::from_millis(ms), rtt);
            cc.cwnd - before
        };
        let (start, rising, late) = (step(0), step(4000), step(20_000));
        assert!((5..40).contains(&start), "{start}");
        assert!((300..450).contains(&rising), "{rising}");
        assert!((495..=505).contains(&late), "{late}");
    }

    /// BBR's samples come from the log of sent segments, kept only with
    /// SACK: without it the connection runs CUBIC.
    #[test]
    fn bbr_without_sack_runs_cubic() {
        let mut cc = Congestion::new(1000, CongestionControl::Bbr);
        cc.set_sack(true);
        assert!(cc.bbr().is_some());
        cc.set_sack(false);
        assert!(cc.bbr().is_none());
        cc.on_timeout(10_000, SeqNum(10_000), false);
        assert_eq!(cc.ssthresh, 7000, "CUBIC's reduction");
    }

    /// A fast recovery or a timeout leaves BBR's ssthresh alone and, in
    /// recovery, its window too (the rate sample sets it); a timeout
    /// still takes cwnd to one segment (RFC 5681 §3.1).
    #[test]
    fn bbr_loss_does_not_reduce_ssthresh() {
        let mut cc = Congestion::new(1000, CongestionControl::Bbr);
        cc.set_sack(true);
        cc.cwnd = 50_000;
        cc.enter_recovery(50_000, SeqNum(50_000));
        assert!(cc.in_recovery());
        assert_eq!((cc.cwnd, cc.ssthresh), (50_000, usize::MAX));
        cc.on_new_ack(SeqNum(50_000), 50_000, 0, T0, None);
        assert!(!cc.in_recovery());
        assert_eq!(cc.cwnd, 50_000, "no deflation to ssthresh");
        cc.on_timeout(50_000, SeqNum(100_000), false);
        assert_eq!((cc.cwnd, cc.ssthresh), (1000, usize::MAX));
        assert!(cc.in_timeout_recovery());
    }
}
