//! RACK-TLP loss detection (RFC 8985), the per-connection state.
//!
//! RACK ("Recent ACKnowledgment", §6): a segment is lost when a segment
//! sent *after* it was delivered, and a round trip plus a small reordering
//! window has passed since it was sent. Time, not a count of duplicate
//! ACKs, so it works with few segments in flight, and it also finds lost
//! *retransmissions* (RFC 6675 cannot: it would wait for the timeout).
//!
//! TLP ("Tail Loss Probe", §7): when the ACKs stop while data is out, send
//! one probe segment after about two round trips instead of waiting for the
//! retransmission timeout; its ACK (SACKs) lets RACK find a lost tail.
//!
//! Simplified, with the reasons: no timestamps option (§6.2 step 2 uses
//! the min_RTT test alone to skip ACKs of original transmissions of
//! retransmitted segments).

use std::time::Duration;

use super::sent::SentSegment;
use crate::time::Instant;
use crate::wire::SeqNum;

/// RFC 8985 §7.2 WCDelAckT: the worst-case delayed ACK of the receiver,
/// added to the PTO when only one segment is out (it may wait for a second).
pub const WORST_CASE_DELAYED_ACK: Duration = Duration::from_millis(200);
/// RFC 8985 §7.2: "If SRTT is not available, PTO = 1 second".
const PTO_WITHOUT_SRTT: Duration = Duration::from_secs(1);
/// RFC 6675 §2 DupThresh (the same 3 as RFC 5681's duplicate ACKs), used
/// by RACK's reordering window (§6.2 step 4).
const DUP_THRESH: usize = 3;
/// RFC 8985 §6.2 step 4: a widened reordering window lasts 16 recoveries.
const REO_WND_PERSIST: u32 = 16;

/// RFC 8985 §5.2's per-connection RACK and TLP variables.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rack {
    /// RACK.xmit_ts and RACK.end_seq: the most recently sent segment that
    /// has been delivered (SACKed or cumulatively ACKed).
    xmit_ts: Option<Instant>,
    end_seq: SeqNum,
    /// RACK.rtt: the RTT of that segment.
    rtt: Duration,
    /// RACK.min_RTT.
    min_rtt: Option<Duration>,
    /// RACK.fack: the highest end_seq delivered.
    fack: SeqNum,
    /// RACK.reordering_seen.
    pub reordering_seen: bool,
    /// RACK.reo_wnd_mult less one: D-SACKs widen the reordering window
    /// (§6.2 step 4).
    reo_wnd_extra: u32,
    /// RACK.reo_wnd_persist: recoveries left before the widening lapses.
    reo_wnd_persist: u32,
    /// RACK.dsack_round: one widening per round trip (until SND.UNA
    /// passes what was SND.NXT when the D-SACK came).
    dsack_round: Option<SeqNum>,
    /// TLP.end_seq: the probe is outstanding until this is acknowledged.
    pub tlp_end_seq: Option<SeqNum>,
    /// TLP.is_retrans: the probe was a retransmission (not new data).
    pub tlp_is_retrans: bool,
    /// The probe went out in fast recovery (see `Tcb::arm_loss_probe`), or
    /// one began while it was out: the recovery responds to its loss.
    pub tlp_in_recovery: bool,
}

/// RFC 8985 §6.2 RACK_sent_after(t1, seq1, t2, seq2).
fn sent_after(t1: Instant, seq1: SeqNum, t2: Instant, seq2: SeqNum) -> bool {
    t1 > t2 || (t1 == t2 && seq1 > seq2)
}

impl Rack {
    /// RFC 8985 §6.2 steps 2 and 3 for one delivered segment. Returns
    /// false when the delivery may be of an earlier transmission than the
    /// last one (so the segment says nothing about time).
    pub fn on_delivered(&mut self, seg: &SentSegment, now: Instant) -> bool {
        let rtt = now - seg.sent_at;
        // Step 2: "If Segment.retransmitted is TRUE and ... rtt < RACK.min_RTT":
        // the ACK is for the original, sent long before; skip it.
        if seg.retransmitted && self.min_rtt.is_some_and(|min| rtt < min) {
            return false;
        }
        let first = self.xmit_ts.is_none();
        self.rtt = rtt;
        if !seg.retransmitted {
            self.min_rtt = Some(self.min_rtt.map_or(rtt, |min| min.min(rtt)));
        }
        let newer = self
            .xmit_ts
            .is_none_or(|ts| sent_after(seg.sent_at, seg.end, ts, self.end_seq));
        if newer {
            self.xmit_ts = Some(seg.sent_at);
            self.end_seq = seg.end;
        }
        // Step 3: a segment delivered below one delivered before, never
        // retransmitted, came out of order.
        if first || seg.end > self.fack {
            self.fack = seg.end;
        } else if !seg.retransmitted {
            self.reordering_seen = true;
        }
        true
    }

    /// RACK.rtt: the round trip of the most recently sent delivered segment.
    pub fn rtt(&self) -> Duration {
        self.rtt
    }

    /// RFC 8985 §6.2 step 4: zero when no reordering was seen and either
    /// loss recovery is on or DupThresh segments are SACKed (nothing can
    /// still be merely reordered); else a quarter of min_RTT times
    /// reo_wnd_mult, at most SRTT.
    pub fn reordering_window(&self, in_recovery: bool, sacked: usize, srtt: Duration) -> Duration {
        if !self.reordering_seen && (in_recovery || sacked >= DUP_THRESH) {
            return Duration::ZERO;
        }
        let mult = 1 + self.reo_wnd_extra;
        (self.min_rtt.unwrap_or_default() / 4 * mult).min(srtt)
    }

    /// RFC 8985 §6.2 step 4's D-SACK rules for an ACK (`dsack`: it
    /// carried one): at most once per round trip, a D-SACK widens the
    /// window by another min_RTT / 4, for the next 16 recoveries.
    pub fn on_ack_dsack(&mut self, dsack: bool, snd_una: SeqNum, snd_nxt: SeqNum) {
        if self.dsack_round.is_some_and(|round| snd_una >= round) {
            self.dsack_round = None;
        }
        if dsack && self.dsack_round.is_none() {
            self.dsack_round = Some(snd_nxt);
            self.reo_wnd_extra += 1;
            self.reo_wnd_persist = REO_WND_PERSIST;
        }
    }

    /// §6.2 step 4, "if exiting Fast or RTO recovery": one recovery
    /// fewer for the widening to last; at zero it lapses.
    pub fn on_recovery_end(&mut self) {
        self.reo_wnd_persist = self.reo_wnd_persist.saturating_sub(1);
        if self.reo_wnd_persist == 0 {
            self.reo_wnd_extra = 0;
        }
    }

    /// RFC 8985 §6.2 step 5 for one segment (not SACKed, not already
    /// lost): `None` if it was not sent before the last delivered one;
    /// else how long until it counts as lost (zero: lost now).
    pub fn time_until_lost(
        &self,
        seg: &SentSegment,
        reo_wnd: Duration,
        now: Instant,
    ) -> Option<Duration> {
        let ts = self.xmit_ts?;
        if !sent_after(ts, self.end_seq, seg.sent_at, seg.end) {
            return None;
        }
        let deadline = seg.sent_at + self.rtt + reo_wnd;
        Some(if deadline <= now {
            Duration::ZERO
        } else {
            deadline - now
        })
    }

    /// RFC 8985 §7.2: PTO = 2 * SRTT, plus the worst-case delayed ACK when
    /// one segment is in flight; 1 s without SRTT; never later than the
    /// retransmission timeout would fire (`rto`).
    pub fn probe_timeout(srtt: Option<Duration>, one_segment: bool, rto: Duration) -> Duration {
        let pto = match srtt {
            Some(srtt) if one_segment => 2 * srtt + WORST_CASE_DELAYED_ACK,
            Some(srtt) => 2 * srtt,
            None => PTO_WITHOUT_SRTT,
        };
        pto.min(rto)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(start: u32, end: u32, sent_ms: u64, retransmitted: bool) -> SentSegment {
        SentSegment {
            start: SeqNum(start),
            end: SeqNum(end),
            sent_at: Instant::from_millis(sent_ms),
            retransmitted,
            lost: false,
            sacked: false,
            rate: Default::default(),
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_segment_sent_before_a_delivered_one_is_lost_after_rtt_plus_window_rfc_8985_s6_2() {
        let mut rack = Rack::default();
        assert!(rack.on_delivered(&seg(100, 200, 10, false), Instant::from_millis(30)));
        let first = seg(0, 100, 10, false);
        let now = Instant::from_millis(30);
        assert_eq!(rack.time_until_lost(&first, ms(5), now), Some(ms(5)));
        assert_eq!(rack.time_until_lost(&first, ms(0), now), Some(ms(0)));
        // Sent after the delivered one: not judged.
        assert_eq!(
            rack.time_until_lost(&seg(200, 300, 11, false), ms(0), now),
            None
        );
    }

    #[test]
    fn a_lost_retransmission_is_detected_by_a_later_delivery_rfc_8985_s3_1() {
        let mut rack = Rack::default();
        rack.on_delivered(&seg(100, 200, 10, false), Instant::from_millis(30));
        // 0..100 was resent at 40, then 300..400 went out at 41 and arrived.
        let resent = seg(0, 100, 40, true);
        rack.on_delivered(&seg(300, 400, 41, false), Instant::from_millis(61));
        assert_eq!(
            rack.time_until_lost(&resent, ms(0), Instant::from_millis(61)),
            Some(ms(0))
        );
    }

    #[test]
    fn an_ack_of_the_original_transmission_is_not_taken_for_the_retransmission() {
        let mut rack = Rack::default();
        rack.on_delivered(&seg(0, 100, 0, false), Instant::from_millis(20));
        // Resent at 50, acknowledged 1 ms later: faster than any round trip.
        assert!(!rack.on_delivered(&seg(100, 200, 50, true), Instant::from_millis(51)));
    }

    #[test]
    fn reordering_window_rfc_8985_s6_2_step_4() {
        let mut rack = Rack::default();
        rack.on_delivered(&seg(100, 200, 0, false), Instant::from_millis(20));
        assert_eq!(rack.reordering_window(false, 1, ms(20)), ms(5));
        assert_eq!(rack.reordering_window(false, 3, ms(20)), ms(0));
        assert_eq!(rack.reordering_window(true, 1, ms(20)), ms(0));
        // 0..100 arrives after 100..200: reordering; the window stays.
        rack.on_delivered(&seg(0, 100, 0, false), Instant::from_millis(21));
        assert!(rack.reordering_seen);
        assert_eq!(rack.reordering_window(true, 3, ms(20)), ms(5));
    }

    #[test]
    fn probe_timeout_rfc_8985_s7_2() {
        let rto = ms(1000);
        assert_eq!(Rack::probe_timeout(Some(ms(10)), false, rto), ms(20));
        assert_eq!(Rack::probe_timeout(Some(ms(10)), true, rto), ms(220));
        assert_eq!(Rack::probe_timeout(None, false, ms(300)), ms(300));
    }

    /// §6.2 step 4: each D-SACK (one per round trip) adds min_RTT / 4 to
    /// the window, up to SRTT; 16 recoveries later it is back to one.
    #[test]
    fn d_sacks_widen_the_reordering_window_rfc_8985_s6_2_step_4() {
        let mut rack = Rack::default();
        rack.on_delivered(&seg(100, 200, 0, false), Instant::from_millis(20));
        rack.reordering_seen = true;
        let window = |rack: &Rack| rack.reordering_window(true, 3, ms(100));
        assert_eq!(window(&rack), ms(5));
        rack.on_ack_dsack(true, SeqNum(0), SeqNum(1000));
        assert_eq!(window(&rack), ms(10));
        // A second D-SACK in the same round trip counts once.
        rack.on_ack_dsack(true, SeqNum(500), SeqNum(2000));
        assert_eq!(window(&rack), ms(10));
        rack.on_ack_dsack(true, SeqNum(1000), SeqNum(3000));
        assert_eq!(window(&rack), ms(15));
        assert_eq!(
            rack.reordering_window(true, 3, ms(12)),
            ms(12),
            "at most SRTT"
        );
        for _ in 0..15 {
            rack.on_recovery_end();
        }
        assert_eq!(window(&rack), ms(15));
        rack.on_recovery_end();
        assert_eq!(window(&rack), ms(5));
    }
}
