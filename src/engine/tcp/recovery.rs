//! SACK-based loss recovery (RFC 6675), when both ends agreed on SACK.
//!
//! Why it matters: RFC 5681 only counts an ACK as a duplicate if it
//! carries no data, so when data flows both ways (an echo), losses wait
//! for the retransmission timer. With SACK, "an acknowledgment that SACKs
//! new data" counts whatever else it carries (RFC 6675 §2), and the
//! scoreboard tells exactly which holes to fill.
//!
//! Pieces, in RFC 6675's names: `Update()` is [`Tcb::on_sack_blocks`];
//! `IsLost()` is replaced by RACK's time-based marks (RFC 8985, in
//! `loss.rs`), which also catch lost retransmissions; `SetPipe()` is
//! [`Tcb::pipe`]; `NextSeg()` is rule 1 [`Tcb::emit_lost_segment`], rule 2
//! the ordinary output path of new data (limited by cwnd - pipe), rule 3
//! [`Tcb::emit_unsacked_hole`] and rule 4 [`Tcb::emit_rescue`].
//! The same machinery repairs the losses of a retransmission timeout,
//! starting from cwnd = 1 SMSS (RFC 6675 §5.1). How much may go on each
//! ACK of a fast recovery is PRR's (RFC 6937, `prr.rs`): cwnd is set to
//! pipe plus its sndcnt.

use log::debug;

use super::output::Outgoing;
use super::tcb::Tcb;
use super::timers::TimerKind;
use crate::time::Instant;
use crate::wire::{SeqNum, TcpSegment};

impl Tcb {
    /// Output is paced by `pipe`: in fast recovery or repairing after a
    /// timeout, with SACK.
    pub(super) fn in_sack_recovery(&self) -> bool {
        self.sack_ok && self.in_loss_recovery()
    }

    /// RFC 6675 `Update()`: records the segment's SACK blocks. True when
    /// they SACK bytes nothing had SACKed before, which makes an ACK that
    /// does not move SND.UNA a duplicate (§2), data on it or not.
    pub(super) fn on_sack_blocks(&mut self, seg: &TcpSegment) -> bool {
        let blocks = seg.header.options.sack.as_slice();
        if !self.sack_ok || blocks.is_empty() {
            return false;
        }
        self.scoreboard.update(blocks, self.snd_una, self.snd_max)
    }

    /// RFC 6675 §5 (4): RecoveryPoint = HighData, ssthresh = cwnd =
    /// FlightSize / 2; what is lost goes out first (NextSeg rule 1).
    pub(super) fn enter_sack_recovery(&mut self) {
        self.recovery_stats.fast_recoveries += 1;
        let cwnd_before = self.cc.cwnd;
        self.cc
            .enter_recovery(self.snd_max.since(self.snd_una), self.snd_max);
        debug!(
            "{} -> {}: SACK loss recovery from {} to {}: cwnd {} => {}, ssthresh {}",
            self.local,
            self.remote,
            self.snd_una,
            self.snd_max,
            cwnd_before,
            self.cc.cwnd,
            self.cc.ssthresh
        );
        // A probe still out (its SACK may be what revealed this loss):
        // this recovery is the response to what it repairs, so its ACK
        // must not reduce the window again (RFC 8985 §7.4; Linux's
        // tcp_init_cwnd_reduction ends the probe episode).
        self.rack.tlp_in_recovery = true;
        // PRR (RFC 6937) paces from here; nothing delivered yet.
        self.prr_on_ack(0);
        self.high_rxt = self.snd_una;
        self.rescue_sent = false;
        self.retransmit_first = true;
        self.timers.stop(TimerKind::LossProbe);
    }

    /// RFC 6937 on an ACK that delivered `delivered` bytes (in fast
    /// recovery with SACK; elsewhere nothing happens).
    pub(super) fn prr_on_ack(&mut self, delivered: usize) {
        if self.in_sack_recovery() && self.cc.in_recovery() {
            let pipe = self.pipe();
            self.cc.prr_on_ack(delivered, pipe);
        }
    }

    /// RFC 6675 `SetPipe()`: bytes believed to be in the network. With
    /// RACK's marks, as in RFC 8985 §9.3's use of RFC 6675: every unSACKed
    /// byte counts once unless it is marked lost and not resent since
    /// (a resent segment is in the network once, its original is gone).
    pub(super) fn pipe(&self) -> usize {
        let board = &self.scoreboard;
        self.sent
            .iter()
            .filter(|s| !s.sacked && !s.lost)
            .map(|s| board.unsacked_in(s.start.max(self.snd_una), s.end))
            .sum()
    }

    /// Whether cwnd - pipe leaves room for a segment of `mss` (RFC 6675 §5 (C)).
    fn pipe_has_room(&self, mss: usize) -> bool {
        self.cc.cwnd.saturating_sub(self.pipe()) >= mss.max(1)
    }

    /// NextSeg rule 1: the first segment judged lost, its first unSACKed
    /// part, up to one MSS; if cwnd - pipe allows, or `entering` recovery.
    pub(super) fn emit_lost_segment(
        &mut self,
        now: Instant,
        segment: &mut [u8],
        entering: bool,
    ) -> Option<Outgoing> {
        let mss = self.max_payload(segment);
        if !entering && !self.pipe_has_room(mss) {
            return None;
        }
        let lost = *self.sent.first_lost()?;
        let (start, end) = self
            .scoreboard
            .first_unsacked(lost.start.max(self.snd_una), lost.end)?;
        self.emit_range(now, start, end.min(start + mss.max(1)), segment)
    }

    /// NextSeg rule 3 (no new data could go): a hole below the highest
    /// SACKed byte that is not judged lost yet, above HighRxt.
    pub(super) fn emit_unsacked_hole(
        &mut self,
        now: Instant,
        segment: &mut [u8],
    ) -> Option<Outgoing> {
        let mss = self.max_payload(segment);
        if !self.cc.in_recovery() || !self.pipe_has_room(mss) {
            return None;
        }
        let limit = self.scoreboard.highest_sacked()?;
        let from = self.high_rxt.max(self.snd_una);
        let (start, end) = self.scoreboard.first_hole(self.snd_una, from, limit)?;
        self.emit_range(now, start, end.min(start + mss.max(1)), segment)
    }

    /// NextSeg rule 4, the rescue retransmission: once per recovery, when
    /// nothing else may go, the segment holding the highest unSACKed
    /// byte, so a loss at the very end is found without a timeout.
    pub(super) fn emit_rescue(&mut self, now: Instant, segment: &mut [u8]) -> Option<Outgoing> {
        let mss = self.max_payload(segment).max(1);
        if !self.cc.in_recovery() || self.rescue_sent || !self.pipe_has_room(mss) {
            return None;
        }
        let (start, end) = self.last_unsacked_segment(segment)?;
        let high_rxt = self.high_rxt;
        if end <= high_rxt {
            // Already resent in this recovery (say, the one hole was the
            // last unSACKed segment): a second copy at once tells nothing.
            return None;
        }
        let out = self.emit_range(now, start, end, segment)?;
        // "HighRxt MUST NOT be updated" by the rescue.
        self.high_rxt = high_rxt;
        self.rescue_sent = true;
        Some(out)
    }

    /// The last MSS (at most) of the highest record the peer has not
    /// SACKed: what the rescue retransmission and a loss probe resend.
    pub(super) fn last_unsacked_segment(&self, segment: &[u8]) -> Option<(SeqNum, SeqNum)> {
        let mss = self.max_payload(segment).max(1);
        let last = self.sent.iter().filter(|s| !s.sacked).last()?;
        Some((last.start.max(self.snd_una).max(last.end - mss), last.end))
    }

    /// Sends `start..end` again (data, and the FIN if `end` passes it),
    /// as one segment; `end - start` must fit in one.
    pub(super) fn emit_range(
        &mut self,
        now: Instant,
        start: SeqNum,
        end: SeqNum,
        segment: &mut [u8],
    ) -> Option<Outgoing> {
        let data_end = self.fin_seq.map_or(end, |fin| end.min(fin));
        let fin = self.fin_seq.is_some_and(|fin| end > fin);
        let buffered = self
            .send_buf
            .len()
            .saturating_sub(start.since(self.snd_una));
        let len = data_end.since(start).min(buffered);
        if len == 0 && !fin {
            return None;
        }
        let out = self.emit_segment(start, len, fin, segment);
        let seq_len = len + usize::from(fin);
        self.high_rxt = self.high_rxt.max(start + seq_len);
        self.note_sent(now, start, seq_len, true);
        Some(out)
    }
}
