//! Loss detection with SACK: RACK-TLP (RFC 8985) over the log of sent
//! segments (`sent.rs`) and the scoreboard (`sack.rs`). What is judged
//! lost here is resent by `recovery.rs` (RFC 6675's NextSeg and pipe).
//!
//! - On every ACK (§6.2): segments it delivers update RACK; then every
//!   segment sent before the newest delivered one, and older than a round
//!   trip plus the reordering window, is marked lost; for the others the
//!   reorder timer is set to when they would be.
//! - When the ACKs stop with data out (§7): the loss probe timer (PTO,
//!   about two round trips) sends one segment to draw a SACK, so a lost
//!   tail is found by RACK instead of by the retransmission timeout.
//! - After a retransmission timeout (§6.3): the first segment and every
//!   segment older than a round trip are lost; what the peer SACKed is
//!   not resent (RFC 6675 §5.1), unless the peer reneged (RFC 2018 §8).

use std::time::Duration;

use log::debug;

use super::output::Outgoing;
use super::rack::Rack;
use super::tcb::Tcb;
use super::timers::TimerKind;
use crate::time::Instant;
use crate::wire::{SackBlock, SeqNum, TcpSegment};

impl Tcb {
    /// Repairing losses with the scoreboard: a fast recovery, or the
    /// repair after a retransmission timeout. Output is paced by `pipe`.
    pub(super) fn in_loss_recovery(&self) -> bool {
        self.cc.in_recovery() || self.cc.in_timeout_recovery()
    }

    /// RFC 8985 §6.2 and §7.4 for one acceptable ACK (after SND.UNA and
    /// the scoreboard took it): deliveries, the probe's fate, loss marking.
    pub(super) fn rack_on_ack(
        &mut self,
        now: Instant,
        seg: &TcpSegment,
        acked_new: bool,
        sacked_new: bool,
    ) {
        if !self.sack_ok || !self.state.is_synchronized() {
            return;
        }
        let ack = seg.header.ack.unwrap_or(self.snd_una);
        let mut skipped = 0;
        let (rack, rate) = (&mut self.rack, &mut self.cc.rate);
        self.sent.acknowledge(self.snd_una, |s| {
            skipped += u64::from(!rack.on_delivered(s, now));
            rate.on_delivered(s, now);
        });
        if self.receiver_reneged() {
            debug!(
                "{} <- {}: SACKed data at SND.UNA not acknowledged: receiver reneged",
                self.local, self.remote
            );
            self.scoreboard.clear();
            self.sent.forget_sacks();
        }
        if sacked_new {
            let board = &self.scoreboard;
            let is_sacked = |from, to| board.unsacked_in(from, to) == 0;
            let (rack, rate) = (&mut self.rack, &mut self.cc.rate);
            self.sent.mark_sacked(is_sacked, |s| {
                skipped += u64::from(!rack.on_delivered(s, now));
                rate.on_delivered(s, now);
            });
        }
        let dsack = dsack_block(seg.header.options.sack.as_slice(), ack);
        self.recovery_stats.spurious_retransmits += skipped + u64::from(dsack.is_some());
        self.rack
            .on_ack_dsack(dsack.is_some(), self.snd_una, self.snd_nxt);
        if let Some(block) = dsack {
            self.on_dsack(block);
        }
        self.on_probe_ack(ack, dsack.is_some());
        self.detect_losses(now);
        self.sample_delivery_rate(now);
        if acked_new || self.snd_una == self.snd_max || (sacked_new && self.cc.in_recovery()) {
            // RFC 8985 §7.2: restart the PTO on an ACK of new data; in
            // recovery (see `arm_loss_probe`) on any ACK that brings news.
            self.arm_loss_probe(now);
        }
    }

    /// The rate sample of an ACK, once its deliveries and losses are in
    /// (draft-cheng-iccrg-delivery-rate-estimation §3.3), and BBR's
    /// window from it; `pipe` is BBR's inflight, only computed for it.
    fn sample_delivery_rate(&mut self, now: Instant) {
        let Some(mode_before) = self.cc.bbr().map(|bbr| bbr.mode()) else {
            self.cc.on_ack_sampled(now, 0);
            return;
        };
        let in_flight = self.pipe();
        self.cc.on_ack_sampled(now, in_flight);
        if let Some(bbr) = self.cc.bbr().filter(|bbr| bbr.mode() != mode_before) {
            debug!(
                "{} -> {}: BBR {:?} => {:?}: BtlBw {:.0} B/s, RTprop {:?}, cwnd {}",
                self.local,
                self.remote,
                mode_before,
                bbr.mode(),
                bbr.max_bw(),
                bbr.min_rtt(),
                self.cc.cwnd
            );
        }
    }

    /// RFC 2018 §8: the receiver may discard what it SACKed. If SND.UNA
    /// reached the start of a SACKed range without covering it, the
    /// receiver no longer holds those bytes (it would have ACKed them).
    fn receiver_reneged(&self) -> bool {
        self.sent
            .iter()
            .next()
            .is_some_and(|first| first.sacked && first.start == self.snd_una)
    }

    /// A D-SACK (RFC 2883) for `block`: those bytes arrived twice. If it
    /// was the last of the retransmissions since the window was reduced
    /// to be reported so, none of them was needed: the reduction is
    /// undone (`Congestion::on_dsack`), nothing stays marked lost, and
    /// the late originals count as reordering (RFC 8985 §6.2 step 4 then
    /// keeps a reordering window even in recovery; Linux too counts
    /// reordering when it undoes).
    fn on_dsack(&mut self, block: SackBlock) {
        let segments = block.right.since(block.left).div_ceil(self.send_mss.max(1));
        let segments = u32::try_from(segments).unwrap_or(u32::MAX);
        if !self.cc.on_dsack(block.right, segments) {
            return;
        }
        debug!(
            "{} <- {}: every retransmission was needless (D-SACK {}..{}): window reduction undone, cwnd {}",
            self.local, self.remote, block.left, block.right, self.cc.cwnd
        );
        self.recovery_stats.undos += 1;
        self.rack.reordering_seen = true;
        for seg in self.sent.iter_mut() {
            seg.lost = false;
        }
    }

    /// RFC 8985 §6.2 step 5 (RACK_detect_loss), then §6.2's "if any
    /// segment was marked lost, enter fast recovery" (RFC 6675 §5 (4)).
    pub(super) fn detect_losses(&mut self, now: Instant) {
        let srtt = self.rtt.srtt().unwrap_or(Duration::MAX);
        let in_recovery = self.in_loss_recovery();
        let reo_wnd = self
            .rack
            .reordering_window(in_recovery, self.sent.sacked_count(), srtt);
        let (mut lost, mut wait) = (0, Duration::ZERO);
        let rack = self.rack;
        for seg in self.sent.iter_mut().filter(|s| !s.sacked && !s.lost) {
            match rack.time_until_lost(seg, reo_wnd, now) {
                Some(Duration::ZERO) => {
                    seg.lost = true;
                    lost += 1;
                    self.cc.rate.on_lost(seg.end.since(seg.start));
                }
                Some(left) => wait = wait.max(left),
                None => {}
            }
        }
        if wait > Duration::ZERO {
            self.timers.start(TimerKind::Reorder, now + wait);
        } else {
            self.timers.stop(TimerKind::Reorder);
        }
        if lost > 0 {
            self.recovery_stats.rack_marked_lost += lost;
            if !in_recovery {
                self.enter_sack_recovery();
            }
        }
    }

    /// RFC 8985 §6.3: after a retransmission timeout the first segment is
    /// lost ("sent an RTO ago"), and so is every other one sent at least
    /// a round trip ago; SACKed segments stay SACKed (RFC 6675 §5.1).
    pub(super) fn mark_lost_after_timeout(&mut self, now: Instant) {
        let rack = self.rack;
        let mut first = true;
        for seg in self.sent.iter_mut().filter(|s| !s.sacked) {
            if first || now - seg.sent_at >= rack.rtt() {
                seg.lost = true;
            }
            first = false;
        }
        self.rack.tlp_end_seq = None;
        self.timers.stop(TimerKind::LossProbe);
        self.timers.stop(TimerKind::Reorder);
    }

    /// RFC 8985 §7.2: arm the PTO while data is out and no probe is
    /// outstanding; otherwise the RTO alone guards.
    ///
    /// §7.2 also asks for no loss recovery. We differ in one case: in a
    /// fast recovery whose every lost segment has been resent. If the ACKs
    /// of those retransmissions are lost too (or a retransmission is, with
    /// nothing sent after it), RACK has nothing left to judge by and only
    /// the RTO, at least 200 ms, would end the stall. Measured against
    /// Linux over tun0 with 5% loss both ways, that was every RTO we took:
    /// one retransmission (and perhaps one new segment) out, then silence.
    /// A probe after two round trips draws the ACK (or repairs the lost
    /// retransmission itself, being the last unSACKed segment).
    pub(super) fn arm_loss_probe(&mut self, now: Instant) {
        let recovery_allows =
            !self.in_loss_recovery() || (self.cc.in_recovery() && self.sent.first_lost().is_none());
        let can_probe = self.sack_ok
            && self.state.is_synchronized()
            && self.snd_max > self.snd_una
            && recovery_allows
            && self.rack.tlp_end_seq.is_none();
        if !can_probe {
            self.timers.stop(TimerKind::LossProbe);
            return;
        }
        let rto_left = self.timers.retransmit.map_or(self.rtt.rto(), |at| at - now);
        let one_segment = self.snd_max.since(self.snd_una) <= self.send_mss;
        let pto = Rack::probe_timeout(self.rtt.srtt(), one_segment, rto_left);
        self.timers.start(TimerKind::LossProbe, now + pto);
    }

    /// RFC 8985 §7.4: the ACK of a probe. A probe of new data needs
    /// nothing (RACK sees the rest). A retransmitted probe that is ACKed
    /// without a D-SACK repaired a real loss: respond to congestion.
    fn on_probe_ack(&mut self, ack: SeqNum, dsack: bool) {
        let Some(end) = self.rack.tlp_end_seq else {
            return;
        };
        if ack < end {
            return;
        }
        self.rack.tlp_end_seq = None;
        self.recovery_stats.probes_acked += 1;
        // A probe sent in recovery: the recovery already responded.
        if self.rack.tlp_is_retrans && !dsack && !self.rack.tlp_in_recovery {
            let flight = self.snd_max.since(self.snd_una);
            self.cc.on_probe_repaired_loss(flight, self.snd_max);
        }
    }

    /// RFC 8985 §7.3: the PTO fired. The last unSACKed segment again (new
    /// data only if every sent byte is SACKed); then the RTO guards.
    ///
    /// §7.3 prefers new data when the peer's window takes it. We do not:
    /// a receiver may hold its ACK of in-order data (RFC 5681 §4.2; Linux
    /// for up to 200 ms once it sees data flow both ways, as in an echo,
    /// and the peer's window gives it no data to carry the ACK), which is
    /// as long as our minimum RTO, whereas a duplicate segment is ACKed at
    /// once (RFC 5681 §4.2, with a D-SACK, RFC 2883). Measured against
    /// Linux over tun0 at 5% loss both ways, every timeout left after a
    /// probe followed a probe of new data that was held unACKed 200 ms.
    pub(super) fn emit_loss_probe(&mut self, now: Instant, segment: &mut [u8]) -> Option<Outgoing> {
        let before = self.snd_max;
        let out = self
            .emit_last_segment(now, segment)
            .or_else(|| self.emit_new_data(now, segment, true));
        if out.is_some() {
            self.recovery_stats.loss_probes += 1;
            self.rack.tlp_end_seq = Some(self.snd_max);
            self.rack.tlp_is_retrans = self.snd_max == before;
            self.rack.tlp_in_recovery = self.cc.in_recovery();
        }
        self.timers.stop(TimerKind::LossProbe);
        self.restart_retransmit_timer(now);
        out
    }

    /// The last MSS of data (and FIN) sent that the peer has not SACKed,
    /// again (§7.3: "the highest-sequence segment"; one the peer holds
    /// already would tell nothing new).
    fn emit_last_segment(&mut self, now: Instant, segment: &mut [u8]) -> Option<Outgoing> {
        let (start, end) = self.last_unsacked_segment(segment)?;
        self.emit_range(now, start, end, segment)
    }
}

/// RFC 2883 §4: a first SACK block below the cumulative ACK, or inside
/// the second block, reports bytes received twice (a D-SACK).
fn dsack_block(blocks: &[SackBlock], ack: SeqNum) -> Option<SackBlock> {
    let first = *blocks.first()?;
    let inside_second = blocks
        .get(1)
        .is_some_and(|second| second.left <= first.left && first.right <= second.right);
    (first.right <= ack || inside_second).then_some(first)
}
