//! TCP options (RFC 9293 §3.1 and §3.2).
//!
//! We implement the mandatory set (MUST-4): End of Option List (kind 0),
//! No-Operation (kind 1) and Maximum Segment Size (kind 2). Options are
//! accepted in any segment (MUST-5) and at any alignment (MUST-64); unknown
//! options are skipped using their length byte (MUST-6, MUST-68). A length
//! byte that cannot be right (0, 1, running past the header, or an MSS option
//! not 4 long) makes the whole segment unparseable: MUST-7 asks us to "be
//! prepared to handle an illegal option length" and we do so by dropping the
//! segment, which cannot stall, loop or misread the rest of the header.

use super::WireError;

const KIND_END: u8 = 0;
const KIND_NOP: u8 = 1;
const KIND_MSS: u8 = 2;
const MSS_LEN: usize = 4;

/// The options the engine understands, as found in one segment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpOptions {
    /// Maximum Segment Size the sender can receive (§3.7.1), SYN only.
    pub mss: Option<u16>,
}

impl TcpOptions {
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
                    if kind == KIND_MSS {
                        if len != MSS_LEN {
                            return Err(WireError::BadOption);
                        }
                        options.mss = Some(u16::from_be_bytes([bytes[2], bytes[3]]));
                    }
                    bytes = &bytes[len..];
                }
            }
        }
        Ok(options)
    }

    /// How many bytes [`TcpOptions::emit`] writes (a multiple of 4).
    pub fn len(&self) -> usize {
        if self.mss.is_some() {
            MSS_LEN
        } else {
            0
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the options into `buf[..self.len()]`.
    pub fn emit(&self, buf: &mut [u8]) {
        if let Some(mss) = self.mss {
            buf[0] = KIND_MSS;
            buf[1] = MSS_LEN as u8;
            buf[2..4].copy_from_slice(&mss.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mss_round_trips() {
        let opts = TcpOptions { mss: Some(1460) };
        let mut buf = [0u8; 4];
        opts.emit(&mut buf);
        assert_eq!(buf, [2, 4, 0x05, 0xb4]);
        assert_eq!(TcpOptions::parse(&buf), Ok(opts));
    }

    #[test]
    fn nops_and_odd_alignment_are_fine_must_64() {
        let bytes = [1, 1, 1, 2, 4, 0x02, 0x18, 0, 0, 0, 0, 0];
        assert_eq!(TcpOptions::parse(&bytes).unwrap().mss, Some(536));
    }

    #[test]
    fn end_of_list_stops_parsing() {
        // After EOL comes padding; even garbage there is not read.
        let bytes = [0, 2, 9, 9];
        assert_eq!(TcpOptions::parse(&bytes), Ok(TcpOptions::default()));
    }

    #[test]
    fn unknown_options_are_skipped_by_length_must_6() {
        // Window scale (3), SACK-permitted (4), timestamps (8), then MSS.
        let bytes = [3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 2, 4, 1, 0];
        assert_eq!(TcpOptions::parse(&bytes).unwrap().mss, Some(256));
    }

    #[test]
    fn illegal_lengths_are_refused_must_7() {
        assert_eq!(TcpOptions::parse(&[8, 0, 0, 0]), Err(WireError::BadOption));
        assert_eq!(TcpOptions::parse(&[8, 1, 0, 0]), Err(WireError::BadOption));
        assert_eq!(TcpOptions::parse(&[8, 10, 0, 0]), Err(WireError::BadOption));
        assert_eq!(TcpOptions::parse(&[8]), Err(WireError::BadOption));
        assert_eq!(TcpOptions::parse(&[2, 3, 0, 0]), Err(WireError::BadOption));
    }
}
