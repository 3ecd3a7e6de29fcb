//! The sender's SACK scoreboard (RFC 6675 §3, RFC 2018 §5): which bytes
//! between SND.UNA and SND.MAX the peer has told us it holds.
//!
//! ```text
//!   SND.UNA                                                  SND.MAX
//!      |  hole  |##sacked##|  hole  |####sacked####|  not sacked  |
//! ```
//!
//! Which holes are lost is decided by time, not by how much is SACKed
//! above them (RACK, RFC 8985, in `loss.rs`, instead of RFC 6675's
//! `IsLost`); the scoreboard says what needs no resending. It
//! keeps at most [`MAX_RANGES`] ranges in storage allocated once; a block
//! that would need more is ignored (it only makes recovery slower, the
//! retransmission timer still repairs everything).

use crate::wire::{SackBlock, SeqNum};

/// Most SACKed ranges remembered per connection.
pub const MAX_RANGES: usize = 16;

/// SACKed ranges above SND.UNA, sorted, disjoint, never touching.
pub struct Scoreboard {
    ranges: Vec<(SeqNum, SeqNum)>,
}

impl Default for Scoreboard {
    fn default() -> Scoreboard {
        Scoreboard {
            ranges: Vec::with_capacity(MAX_RANGES + 1),
        }
    }
}

impl Scoreboard {
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// RFC 2018 §8: after a retransmission timeout the sender "SHOULD turn
    /// off all of the SACKed bits", since the receiver may have reneged.
    pub fn clear(&mut self) {
        self.ranges.clear();
    }

    /// Records the blocks of one ACK. Blocks outside SND.UNA..SND.MAX
    /// (old, or bogus) are clipped or ignored. Returns true when some byte
    /// was SACKed for the first time (RFC 6675 §2's duplicate ACK test).
    pub fn update(&mut self, blocks: &[SackBlock], snd_una: SeqNum, snd_max: SeqNum) -> bool {
        let before = self.sacked_bytes();
        let window = snd_max.since(snd_una);
        for block in blocks {
            if block.left >= block.right {
                continue;
            }
            // Wrapping comparisons only order numbers less than 2^31
            // apart (RFC 9293 §3.4), so `max`/`min` against SND.UNA and
            // SND.MAX would keep a block on the far side of the circle
            // that is "after" one and "before" the other. Place it by its
            // offsets from SND.UNA instead and clip those to the window.
            let offset = |seq: SeqNum| i64::from(seq.diff(snd_una)).clamp(0, window as i64);
            let (left, right) = (offset(block.left), offset(block.right));
            if left < right {
                self.insert(snd_una + left as usize, snd_una + right as usize);
            }
        }
        self.sacked_bytes() > before
    }

    fn insert(&mut self, left: SeqNum, right: SeqNum) {
        let first = self.ranges.iter().position(|r| r.1 >= left);
        let first = first.unwrap_or(self.ranges.len());
        let touching = self.ranges[first..]
            .iter()
            .take_while(|r| r.0 <= right)
            .count();
        if touching == 0 && self.ranges.len() >= MAX_RANGES {
            return;
        }
        let mut merged = (left, right);
        for r in self.ranges.drain(first..first + touching) {
            merged = (merged.0.min(r.0), merged.1.max(r.1));
        }
        self.ranges.insert(first, merged);
    }

    /// SND.UNA moved to `snd_una`: forget what is now acknowledged.
    pub fn advance(&mut self, snd_una: SeqNum) {
        self.ranges.retain(|r| r.1 > snd_una);
        if let Some(first) = self.ranges.first_mut() {
            first.0 = first.0.max(snd_una);
        }
    }

    pub fn sacked_bytes(&self) -> usize {
        self.ranges.iter().map(|r| r.1.since(r.0)).sum()
    }

    /// SACKed bytes in `from..to`.
    fn sacked_in(&self, from: SeqNum, to: SeqNum) -> usize {
        let clip = |r: &(SeqNum, SeqNum)| r.1.min(to).since(r.0.max(from));
        self.ranges.iter().map(clip).sum()
    }

    /// Bytes in `from..to` the peer has not SACKed.
    pub fn unsacked_in(&self, from: SeqNum, to: SeqNum) -> usize {
        to.since(from) - self.sacked_in(from, to)
    }

    /// The highest SACKed sequence number plus one.
    pub fn highest_sacked(&self) -> Option<SeqNum> {
        self.ranges.last().map(|r| r.1)
    }

    /// The first unSACKed range in `from..limit`, whatever lies above it.
    pub fn first_unsacked(&self, from: SeqNum, limit: SeqNum) -> Option<(SeqNum, SeqNum)> {
        let mut start = from;
        for range in &self.ranges {
            if range.0 <= start && start < range.1 {
                start = range.1;
            }
        }
        let next_sacked = self.ranges.iter().map(|r| r.0).find(|&left| left > start);
        let end = next_sacked.map_or(limit, |left| left.min(limit));
        (start < end).then_some((start, end))
    }

    /// The first unSACKed range that starts at or after `from` and ends by
    /// `limit`, counting holes from `snd_una` (RFC 6675 NextSeg rules 1 and 3).
    pub fn first_hole(
        &self,
        snd_una: SeqNum,
        from: SeqNum,
        limit: SeqNum,
    ) -> Option<(SeqNum, SeqNum)> {
        let mut hole_start = snd_una;
        for range in &self.ranges {
            let start = hole_start.max(from);
            let end = range.0.min(limit);
            if start < end {
                return Some((start, end));
            }
            hole_start = range.1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(left: u32, right: u32) -> SackBlock {
        SackBlock {
            left: SeqNum(left),
            right: SeqNum(right),
        }
    }

    #[test]
    fn new_sacked_bytes_are_reported_once() {
        let mut sb = Scoreboard::default();
        assert!(sb.update(&[block(200, 300)], SeqNum(100), SeqNum(1000)));
        assert!(!sb.update(&[block(200, 300)], SeqNum(100), SeqNum(1000)));
        assert!(sb.update(&[block(250, 400)], SeqNum(100), SeqNum(1000)));
        assert_eq!(sb.sacked_bytes(), 200);
    }

    #[test]
    fn bogus_and_old_blocks_are_clipped_or_ignored() {
        let mut sb = Scoreboard::default();
        assert!(!sb.update(&[block(50, 100)], SeqNum(100), SeqNum(1000)));
        assert!(!sb.update(&[block(300, 200)], SeqNum(100), SeqNum(1000)));
        assert!(sb.update(&[block(900, 5000)], SeqNum(100), SeqNum(1000)));
        assert_eq!(sb.highest_sacked(), Some(SeqNum(1000)));
    }

    /// Found by the connection fuzz target: SND.UNA..SND.MAX is a few
    /// bytes at 2^32 - 255, and a block across the far side of the
    /// sequence circle is "after" SND.UNA and "before" SND.MAX in wrapping
    /// order, yet holds none of the window. Kept, it made `unsacked_in`
    /// subtract past zero.
    #[test]
    fn a_block_on_the_far_side_of_the_sequence_circle_is_ignored() {
        let mut sb = Scoreboard::default();
        let (una, max) = (SeqNum(0xffff_ff01), SeqNum(0xffff_ff40));
        let far = block(1_828_741_375, 3_219_309_057);
        assert!(!sb.update(&[far], una, max));
        assert!(sb.is_empty());
        assert_eq!(sb.unsacked_in(una, SeqNum(0xffff_ff02)), 1);
        // A block that does overlap the window is still clipped to it.
        assert!(sb.update(&[block(0xffff_ff30, 0x10)], una, max));
        assert_eq!(sb.sacked_bytes(), 0x10);
    }

    #[test]
    fn holes_and_unsacked_ranges_across_wraparound() {
        let mut sb = Scoreboard::default();
        let (una, max) = (SeqNum(u32::MAX - 99), SeqNum(5000));
        // Holes at una..u32::MAX+1, 100..200, 300..400; smss 100.
        sb.update(&[block(0, 100), block(200, 300)], una, max);
        sb.update(&[block(400, 450)], una, max);
        assert_eq!(sb.first_hole(una, una, SeqNum(0)), Some((una, SeqNum(0))));
        assert_eq!(
            sb.first_hole(una, SeqNum(150), SeqNum(450)),
            Some((SeqNum(150), SeqNum(200)))
        );
        assert_eq!(sb.unsacked_in(una, SeqNum(450)), 300);
        assert_eq!(
            sb.first_unsacked(SeqNum(50), SeqNum(1000)),
            Some((SeqNum(100), SeqNum(200)))
        );
        assert_eq!(
            sb.first_unsacked(SeqNum(450), SeqNum(1000)),
            Some((SeqNum(450), SeqNum(1000)))
        );
        assert_eq!(sb.first_unsacked(SeqNum(400), SeqNum(450)), None);
        sb.advance(SeqNum(250));
        assert_eq!(sb.sacked_bytes(), 100);
    }

    #[test]
    fn ranges_are_bounded() {
        let mut sb = Scoreboard::default();
        for i in 0..(MAX_RANGES as u32 + 4) {
            sb.update(&[block(i * 10 + 5, i * 10 + 8)], SeqNum(0), SeqNum(10_000));
        }
        assert_eq!(sb.ranges.len(), MAX_RANGES);
        assert_eq!(sb.ranges.capacity(), MAX_RANGES + 1);
    }
}
