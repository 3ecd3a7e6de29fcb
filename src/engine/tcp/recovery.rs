//! SACK-based loss recovery (RFC 6675), when both ends agreed on SACK.
//!
//! Why it matters: RFC 5681 only counts an ACK as a duplicate if it
//! carries no data, so when data flows both ways (an echo), losses wait
//! for the retransmission timer. With SACK, "an acknowledgment that SACKs
//! new data" counts whatever else it carries (RFC 6675 §2), and the
//! scoreboard tells exactly which holes to fill.
//!
//! Pieces, in RFC 6675's names: `Update()` is [`Tcb::on_sack_blocks`],
//! `IsLost()` is the scoreboard's loss boundary, `SetPipe()` is
//! [`Tcb::pipe`], and `NextSeg()` rules 1 and 3 are
//! [`Tcb::emit_sack_retransmission`] (rule 2, new data, is the ordinary
//! output path, limited by cwnd - pipe while in recovery).

use log::debug;

use super::output::Outgoing;
use super::tcb::Tcb;
use crate::time::Instant;
use crate::wire::TcpSegment;

impl Tcb {
    /// In fast recovery with SACK: output is paced by `pipe`.
    pub(super) fn in_sack_recovery(&self) -> bool {
        self.sack_ok && self.cc.in_recovery()
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

    /// A duplicate ACK with SACK: besides the third one, RFC 6675 §5 (3)
    /// enters recovery as soon as the first unacknowledged byte `IsLost`
    /// (one ACK may SACK several segments at once).
    pub(super) fn on_sack_duplicate_ack(&mut self) -> bool {
        let lost = self.scoreboard.loss_boundary(self.snd_una, self.send_mss) > self.snd_una;
        if self.cc.in_recovery() || !lost {
            return false;
        }
        self.enter_sack_recovery();
        true
    }

    /// RFC 6675 §5 (4): RecoveryPoint = HighData, ssthresh = cwnd =
    /// FlightSize / 2, resend the first segment (the caller asks for it).
    pub(super) fn enter_sack_recovery(&mut self) {
        debug!(
            "{} -> {}: SACK loss recovery from {} to {}",
            self.local, self.remote, self.snd_una, self.snd_max
        );
        self.recovery_stats.fast_recoveries += 1;
        self.cc
            .enter_recovery(self.snd_max.since(self.snd_una), self.snd_max);
        self.high_rxt = self.snd_una;
    }

    /// RFC 6675 `SetPipe()`: bytes believed to be in the network. Every
    /// unSACKed byte counts once if not lost, and once more if it was
    /// retransmitted (at or below HighRxt).
    pub(super) fn pipe(&self) -> usize {
        let (una, max) = (self.snd_una, self.snd_max);
        let lost_below = self.scoreboard.loss_boundary(una, self.send_mss);
        let unsacked = self.scoreboard.unsacked_in(una, max);
        let lost = self.scoreboard.unsacked_in(una, lost_below);
        let resent = self.scoreboard.unsacked_in(una, self.high_rxt.max(una));
        unsacked - lost + resent
    }

    /// RFC 6675 `NextSeg()` rule 1 (`only_lost`: a hole below the loss
    /// boundary) or rule 3 (any hole below the highest SACKed byte), above
    /// HighRxt, if cwnd - pipe leaves room for a full segment.
    pub(super) fn emit_sack_retransmission(
        &mut self,
        now: Instant,
        segment: &mut [u8],
        only_lost: bool,
    ) -> Option<Outgoing> {
        let mss = self.max_payload(segment);
        if self.cc.cwnd.saturating_sub(self.pipe()) < mss.max(1) {
            return None;
        }
        let limit = if only_lost {
            self.scoreboard.loss_boundary(self.snd_una, self.send_mss)
        } else {
            self.scoreboard.highest_sacked()?
        };
        let from = self.high_rxt.max(self.snd_una);
        let (start, end) = self.scoreboard.first_hole(self.snd_una, from, limit)?;
        let buffered = self
            .send_buf
            .len()
            .saturating_sub(start.since(self.snd_una));
        let len = end.since(start).min(mss).min(buffered);
        if len == 0 {
            return None;
        }
        let out = self.emit_segment(start, len, false, segment);
        self.high_rxt = start + len;
        self.note_sent(now, start, len, true);
        Some(out)
    }
}
