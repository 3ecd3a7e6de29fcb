//! TCP options (RFC 9293 §3.1 and §3.2, RFC 7323 §2-3, RFC 2018).
//!
//! We implement the mandatory set (MUST-4): End of Option List (kind 0),
//! No-Operation (kind 1) and Maximum Segment Size (kind 2); and beside it
//! Window Scale (kind 3, RFC 7323 §2), SACK-Permitted (kind 4), SACK
//! (kind 5, RFC 2018) and Timestamps (kind 8, RFC 7323 §3). Options are
//! accepted in any segment (MUST-5) and at any alignment (MUST-64);
//! unknown options are skipped using their length
//! byte (MUST-6, MUST-68). A length byte that cannot be right (0, 1, running
//! past the header, or a known option with the wrong length) makes the
//! whole segment unparseable: MUST-7 asks us to "be prepared to handle an
//! illegal option length" and we do so by dropping the segment, which
//! cannot stall, loop or misread the rest of the header.
//!
//! # Why not etherparse's option iterator
//!
//! The fixed TCP header goes through etherparse (see [`super::tcp`]), but
//! its `TcpOptionsIterator` ends at the first option kind it does not know
//! (it yields `UnknownId` and stops), so an MSS or SACK option after, say,
//! an experimental option would be lost. RFC 9293 §3.1 asks the opposite:
//! a TCP "MUST (MUST-6) ignore without error any TCP Option it does not
//! implement", and since every option but EOL and NOP "MUST have length
//! fields, including all future options (MUST-68)", an unknown option can
//! always be stepped over by its length byte and the rest still read. So
//! the options are read here, from the raw bytes etherparse hands us, and
//! written here on emit.

use super::seq::SeqNum;
use super::WireError;

const KIND_END: u8 = 0;
const KIND_NOP: u8 = 1;
const KIND_MSS: u8 = 2;
const KIND_WINDOW_SCALE: u8 = 3;
const KIND_SACK_PERMITTED: u8 = 4;
const KIND_SACK: u8 = 5;
const KIND_TIMESTAMPS: u8 = 8;
const MSS_LEN: usize = 4;
const WINDOW_SCALE_LEN: usize = 3;
const SACK_PERMITTED_LEN: usize = 2;
/// RFC 7323 §3.2: kind, length 10, TSval and TSecr (4 bytes each).
const TIMESTAMPS_LEN: usize = 10;
/// Kind, length, then 8 bytes (left and right edge) per block.
const SACK_BLOCK_LEN: usize = 8;
/// RFC 2018 §3: at most 4 blocks fit in the 40 bytes of option space.
pub const MAX_SACK_BLOCKS: usize = 4;
/// RFC 7323 §3.2 and Appendix A: with Timestamps (12 bytes with their two
/// NOPs) only 3 SACK blocks fit: 12 + 4 + 3 * 8 = 40.
pub const MAX_SACK_BLOCKS_WITH_TIMESTAMPS: usize = 3;
/// RFC 7323 §2.3: a shift above 14 is treated as 14.
pub const MAX_WINDOW_SHIFT: u8 = 14;

/// One SACK block (RFC 2018 §3): bytes `left .. right` have arrived.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SackBlock {
    pub left: SeqNum,
    pub right: SeqNum,
}

/// Up to [`MAX_SACK_BLOCKS`] SACK blocks, first the most recent (RFC 2018
/// §4). A fixed array, so headers stay `Copy` and nothing allocates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SackBlocks {
    blocks: [SackBlock; MAX_SACK_BLOCKS],
    len: u8,
}

impl SackBlocks {
    /// Adds a block; false (and no change) when all four are used.
    pub fn push(&mut self, block: SackBlock) -> bool {
        let len = usize::from(self.len);
        if len == MAX_SACK_BLOCKS {
            return false;
        }
        self.blocks[len] = block;
        self.len += 1;
        true
    }

    pub fn as_slice(&self) -> &[SackBlock] {
        &self.blocks[..usize::from(self.len)]
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Keeps only the first `max` blocks (the most important, RFC 2018 §4).
    pub fn truncate(&mut self, max: usize) {
        let len = usize::from(self.len).min(max);
        // Cleared, so two lists with the same blocks compare equal.
        self.blocks[len..].fill(SackBlock::default());
        self.len = len as u8;
    }

    /// Bytes the SACK option takes, with the two NOPs that align it.
    fn option_len(&self) -> usize {
        if self.is_empty() {
            0
        } else {
            4 + SACK_BLOCK_LEN * usize::from(self.len)
        }
    }
}

/// The Timestamps option (RFC 7323 §3.2): the sender's clock when it sent
/// the segment (TSval), and the latest TSval it received (TSecr).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timestamps {
    pub tsval: u32,
    pub tsecr: u32,
}

/// The options the engine understands, as found in one segment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpOptions {
    /// Maximum Segment Size the sender can receive (§3.7.1), SYN only.
    pub mss: Option<u16>,
    /// Window scale shift the sender will apply to the windows it
    /// advertises (RFC 7323 §2.2), SYN only. Parsed values above 14 are
    /// clamped to 14 (§2.3).
    pub window_scale: Option<u8>,
    /// The sender can receive SACK options (RFC 2018 §2), SYN only.
    pub sack_permitted: bool,
    /// Out-of-order data the sender holds (RFC 2018 §3).
    pub sack: SackBlocks,
    /// TSval and TSecr (RFC 7323 §3.2), on any segment.
    pub timestamps: Option<Timestamps>,
}

impl TcpOptions {
    /// Only an MSS option (what a plain RFC 9293 SYN carries).
    pub fn with_mss(mss: u16) -> TcpOptions {
        TcpOptions {
            mss: Some(mss),
            ..TcpOptions::default()
        }
    }

    /// Reads the option bytes of a TCP header (after the 20 fixed bytes).
    pub fn parse(mut bytes: &[u8]) -> Result<TcpOptions, WireError> {
        let mut options = TcpOptions::default();
        while let Some(&kind) = bytes.first() {
            match kind {
                KIND_END => break,
                KIND_NOP => bytes = &bytes[1..],
                _ => {
                    let len = usize::from(*bytes.get(1).ok_or(WireError::BadOption)?);
                    if len < 2 || len > bytes.len() {
                        return Err(WireError::BadOption);
                    }
                    options.parse_one(kind, &bytes[2..len])?;
                    bytes = &bytes[len..];
                }
            }
        }
        Ok(options)
    }

    /// One option of `kind` whose bytes after kind and length are `body`.
    fn parse_one(&mut self, kind: u8, body: &[u8]) -> Result<(), WireError> {
        match kind {
            KIND_MSS if body.len() == MSS_LEN - 2 => {
                self.mss = Some(u16::from_be_bytes([body[0], body[1]]));
            }
            KIND_WINDOW_SCALE if body.len() == WINDOW_SCALE_LEN - 2 => {
                self.window_scale = Some(body[0].min(MAX_WINDOW_SHIFT));
            }
            KIND_SACK_PERMITTED if body.len() == SACK_PERMITTED_LEN - 2 => {
                self.sack_permitted = true;
            }
            KIND_SACK
                if !body.is_empty()
                    && body.len().is_multiple_of(SACK_BLOCK_LEN)
                    && body.len() <= MAX_SACK_BLOCKS * SACK_BLOCK_LEN =>
            {
                let word = |at: usize| {
                    SeqNum(u32::from_be_bytes([
                        body[at],
                        body[at + 1],
                        body[at + 2],
                        body[at + 3],
                    ]))
                };
                self.sack = SackBlocks::default();
                for at in (0..body.len()).step_by(SACK_BLOCK_LEN) {
                    self.sack.push(SackBlock {
                        left: word(at),
                        right: word(at + 4),
                    });
                }
            }
            KIND_TIMESTAMPS if body.len() == TIMESTAMPS_LEN - 2 => {
                let word = |at: usize| {
                    u32::from_be_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]])
                };
                self.timestamps = Some(Timestamps {
                    tsval: word(0),
                    tsecr: word(4),
                });
            }
            KIND_MSS | KIND_WINDOW_SCALE | KIND_SACK_PERMITTED | KIND_SACK | KIND_TIMESTAMPS => {
                return Err(WireError::BadOption)
            }
            _ => {} // unknown: skipped (MUST-6)
        }
        Ok(())
    }

    /// How many bytes [`TcpOptions::emit`] writes (a multiple of 4).
    pub fn len(&self) -> usize {
        let mss = if self.mss.is_some() { MSS_LEN } else { 0 };
        let scale = if self.window_scale.is_some() { 4 } else { 0 };
        let sack_ok = if self.sack_permitted { 4 } else { 0 };
        let timestamps = if self.timestamps.is_some() { 12 } else { 0 };
        mss + scale + sack_ok + timestamps + self.sack.option_len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the options into `buf[..self.len()]`, each 4-byte aligned
    /// with NOPs in front, as Linux lays them out (Timestamps as RFC 7323
    /// Appendix A suggests: NOP, NOP, kind 8, length 10).
    pub fn emit(&self, buf: &mut [u8]) {
        let mut at = 0;
        if let Some(mss) = self.mss {
            buf[at..at + 4].copy_from_slice(&[KIND_MSS, MSS_LEN as u8, 0, 0]);
            buf[at + 2..at + 4].copy_from_slice(&mss.to_be_bytes());
            at += 4;
        }
        if let Some(ts) = self.timestamps {
            let kind = [KIND_NOP, KIND_NOP, KIND_TIMESTAMPS, TIMESTAMPS_LEN as u8];
            buf[at..at + 4].copy_from_slice(&kind);
            buf[at + 4..at + 8].copy_from_slice(&ts.tsval.to_be_bytes());
            buf[at + 8..at + 12].copy_from_slice(&ts.tsecr.to_be_bytes());
            at += 12;
        }
        if let Some(shift) = self.window_scale {
            buf[at..at + 4].copy_from_slice(&[KIND_NOP, KIND_WINDOW_SCALE, 3, shift]);
            at += 4;
        }
        if self.sack_permitted {
            buf[at..at + 4].copy_from_slice(&[KIND_NOP, KIND_NOP, KIND_SACK_PERMITTED, 2]);
            at += 4;
        }
        if !self.sack.is_empty() {
            let len = self.sack.option_len() - 2;
            buf[at..at + 4].copy_from_slice(&[KIND_NOP, KIND_NOP, KIND_SACK, len as u8]);
            at += 4;
            for block in self.sack.as_slice() {
                buf[at..at + 4].copy_from_slice(&block.left.0.to_be_bytes());
                buf[at + 4..at + 8].copy_from_slice(&block.right.0.to_be_bytes());
                at += SACK_BLOCK_LEN;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mss_round_trips() {
        let opts = TcpOptions::with_mss(1460);
        let mut buf = [0u8; 4];
        opts.emit(&mut buf);
        assert_eq!(buf, [2, 4, 0x05, 0xb4]);
        assert_eq!(TcpOptions::parse(&buf), Ok(opts));
    }

    #[test]
    fn must_68_syn_options_round_trip_rfc_7323_and_rfc_2018() {
        let opts = TcpOptions {
            window_scale: Some(7),
            sack_permitted: true,
            ..TcpOptions::with_mss(1460)
        };
        let mut buf = [0u8; 12];
        assert_eq!(opts.len(), 12);
        opts.emit(&mut buf);
        assert_eq!(buf, [2, 4, 0x05, 0xb4, 1, 3, 3, 7, 1, 1, 4, 2]);
        assert_eq!(TcpOptions::parse(&buf), Ok(opts));
    }

    #[test]
    fn four_sack_blocks_round_trip_rfc_2018_s3() {
        let mut opts = TcpOptions::default();
        for i in 0..4u32 {
            assert!(opts.sack.push(SackBlock {
                left: SeqNum(u32::MAX - 10 + i * 100),
                right: SeqNum(50 + i * 100),
            }));
        }
        assert!(!opts.sack.push(SackBlock::default()), "a fifth block");
        assert_eq!(opts.len(), 36);
        let mut buf = [0u8; 36];
        opts.emit(&mut buf);
        assert_eq!(&buf[..4], &[1, 1, 5, 34]);
        assert_eq!(TcpOptions::parse(&buf), Ok(opts));
    }

    #[test]
    fn timestamps_round_trip_beside_three_sack_blocks_rfc_7323_s3_2() {
        let mut opts = TcpOptions {
            timestamps: Some(Timestamps {
                tsval: 0x0102_0304,
                tsecr: u32::MAX,
            }),
            ..TcpOptions::default()
        };
        for i in 0..4u32 {
            opts.sack.push(SackBlock {
                left: SeqNum(i * 100),
                right: SeqNum(i * 100 + 50),
            });
        }
        opts.sack.truncate(MAX_SACK_BLOCKS_WITH_TIMESTAMPS);
        assert_eq!(opts.len(), 40, "the whole option space, no more");
        let mut buf = [0u8; 40];
        opts.emit(&mut buf);
        assert_eq!(&buf[..12], &[1, 1, 8, 10, 1, 2, 3, 4, 255, 255, 255, 255]);
        assert_eq!(TcpOptions::parse(&buf), Ok(opts));
    }

    #[test]
    fn window_shift_above_14_is_taken_as_14_rfc_7323_s2_3() {
        let opts = TcpOptions::parse(&[3, 3, 15, 0]).unwrap();
        assert_eq!(opts.window_scale, Some(14));
    }

    #[test]
    fn must_4_nops_and_odd_alignment_are_fine_must_64() {
        let bytes = [1, 1, 1, 2, 4, 0x02, 0x18, 0, 0, 0, 0, 0];
        assert_eq!(TcpOptions::parse(&bytes).unwrap().mss, Some(536));
    }

    #[test]
    fn must_4_end_of_list_stops_parsing() {
        // After EOL comes padding; even garbage there is not read.
        let bytes = [0, 2, 9, 9];
        assert_eq!(TcpOptions::parse(&bytes), Ok(TcpOptions::default()));
    }

    #[test]
    fn unknown_options_are_skipped_by_length_must_6() {
        // An experimental option (254) and an unassigned kind (30), then MSS.
        let bytes = [254, 10, 0, 0, 0, 1, 0, 0, 0, 2, 30, 3, 0, 2, 4, 1, 0];
        assert_eq!(TcpOptions::parse(&bytes).unwrap().mss, Some(256));
    }

    #[test]
    fn illegal_lengths_are_refused_must_7() {
        assert_eq!(TcpOptions::parse(&[8, 0, 0, 0]), Err(WireError::BadOption));
        assert_eq!(TcpOptions::parse(&[8, 1, 0, 0]), Err(WireError::BadOption));
        assert_eq!(TcpOptions::parse(&[8, 10, 0, 0]), Err(WireError::BadOption));
        let short_timestamps = [8, 6, 0, 0, 0, 0];
        assert_eq!(
            TcpOptions::parse(&short_timestamps),
            Err(WireError::BadOption)
        );
        assert_eq!(TcpOptions::parse(&[8]), Err(WireError::BadOption));
        assert_eq!(TcpOptions::parse(&[2, 3, 0, 0]), Err(WireError::BadOption));
        assert_eq!(TcpOptions::parse(&[3, 4, 0, 0]), Err(WireError::BadOption));
        assert_eq!(TcpOptions::parse(&[4, 3, 0, 0]), Err(WireError::BadOption));
        let mut sack = [0u8; 14];
        sack[..2].copy_from_slice(&[5, 14]); // 1.5 blocks
        assert_eq!(TcpOptions::parse(&sack), Err(WireError::BadOption));
    }
}
