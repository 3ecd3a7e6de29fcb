//! TCP segments (RFC 9293 §3.1): checked parse and emit.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Source Port          |       Destination Port        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        Sequence Number                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Acknowledgment Number                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Data |       |C|E|U|A|P|R|S|F|                               |
//! | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//! |       |       |R|E|G|K|H|T|N|N|                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Checksum            |         Urgent Pointer        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           [Options]                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use std::fmt;
use std::net::Ipv4Addr;

use super::checksum;
use super::ipv4::{Ipv4Repr, DEFAULT_TTL, IPV4_HEADER_LEN, PROTO_TCP};
use super::options::TcpOptions;
use super::seq::SeqNum;
use super::WireError;

/// Length of the fixed part of the header.
pub const TCP_HEADER_LEN: usize = 20;

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;
const URG: u8 = 0x20;

/// The control bits except ACK, which lives in [`TcpHeader::ack`] so that an
/// acknowledgement number can only be read when the ACK bit says it is valid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags {
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
    pub urg: bool,
}

/// A TCP header in plain fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpHeader {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: SeqNum,
    /// `Some` exactly when the ACK bit is set.
    pub ack: Option<SeqNum>,
    pub flags: TcpFlags,
    pub window: u16,
    pub urgent: u16,
    pub options: TcpOptions,
}

/// A parsed segment: header plus a view of the payload bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    pub header: TcpHeader,
    pub payload: &'a [u8],
}

impl TcpHeader {
    /// Header length including options.
    pub fn header_len(&self) -> usize {
        TCP_HEADER_LEN + self.options.len()
    }

    /// Writes header and checksum into `buf`, where the payload is already in
    /// place at `buf[self.header_len()..][..payload_len]`. Returns the segment
    /// length (header + payload).
    pub fn emit(&self, src: Ipv4Addr, dst: Ipv4Addr, buf: &mut [u8], payload_len: usize) -> usize {
        let header_len = self.header_len();
        let total = header_len + payload_len;
        let h = &mut buf[..header_len];
        h[0..2].copy_from_slice(&self.src_port.to_be_bytes());
        h[2..4].copy_from_slice(&self.dst_port.to_be_bytes());
        h[4..8].copy_from_slice(&self.seq.0.to_be_bytes());
        h[8..12].copy_from_slice(&self.ack.unwrap_or_default().0.to_be_bytes());
        h[12] = ((header_len / 4) as u8) << 4;
        h[13] = self.flag_byte();
        h[14..16].copy_from_slice(&self.window.to_be_bytes());
        h[16..18].copy_from_slice(&[0, 0]);
        h[18..20].copy_from_slice(&self.urgent.to_be_bytes());
        self.options.emit(&mut h[TCP_HEADER_LEN..]);
        let sum = checksum::tcp_checksum(src, dst, &buf[..total]);
        buf[16..18].copy_from_slice(&sum.to_be_bytes());
        total
    }

    fn flag_byte(&self) -> u8 {
        let f = &self.flags;
        let mut byte = 0;
        for (set, bit) in [
            (f.fin, FIN),
            (f.syn, SYN),
            (f.rst, RST),
            (f.psh, PSH),
            (f.urg, URG),
        ] {
            if set {
                byte |= bit;
            }
        }
        if self.ack.is_some() {
            byte |= ACK;
        }
        byte
    }
}

impl<'a> TcpSegment<'a> {
    /// Checks a TCP segment carried from `src` to `dst`: lengths, checksum
    /// over the pseudo-header (§3.1), and options.
    pub fn parse(
        src: Ipv4Addr,
        dst: Ipv4Addr,
        bytes: &'a [u8],
    ) -> Result<TcpSegment<'a>, WireError> {
        if bytes.len() < TCP_HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let header_len = usize::from(bytes[12] >> 4) * 4;
        if header_len < TCP_HEADER_LEN {
            return Err(WireError::BadHeaderLength);
        }
        if header_len > bytes.len() {
            return Err(WireError::Truncated);
        }
        if checksum::tcp_checksum(src, dst, bytes) != 0 {
            return Err(WireError::BadChecksum);
        }
        let word = |at: usize| {
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let half = |at: usize| u16::from_be_bytes([bytes[at], bytes[at + 1]]);
        let bits = bytes[13];
        let header = TcpHeader {
            src_port: half(0),
            dst_port: half(2),
            seq: SeqNum(word(4)),
            ack: (bits & ACK != 0).then(|| SeqNum(word(8))),
            flags: TcpFlags {
                syn: bits & SYN != 0,
                fin: bits & FIN != 0,
                rst: bits & RST != 0,
                psh: bits & PSH != 0,
                urg: bits & URG != 0,
            },
            window: half(14),
            urgent: half(18),
            options: TcpOptions::parse(&bytes[TCP_HEADER_LEN..header_len])?,
        };
        Ok(TcpSegment {
            header,
            payload: &bytes[header_len..],
        })
    }

    /// SEG.LEN of RFC 9293 §3.3.1: payload octets plus one each for SYN and FIN.
    pub fn seg_len(&self) -> usize {
        self.payload.len() + usize::from(self.header.flags.syn) + usize::from(self.header.flags.fin)
    }
}

/// Writes a whole IPv4 packet carrying `header` and `payload` into `buf` and
/// returns its length. For callers that have the payload in one slice
/// (tests, RSTs, the simulation harness); the engine writes data segments
/// in place to avoid a copy.
pub fn emit_ipv4_tcp(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    header: &TcpHeader,
    payload: &[u8],
    buf: &mut [u8],
) -> usize {
    let tcp_start = IPV4_HEADER_LEN;
    let payload_start = tcp_start + header.header_len();
    buf[payload_start..payload_start + payload.len()].copy_from_slice(payload);
    let tcp_len = header.emit(src, dst, &mut buf[tcp_start..], payload.len());
    let ip = Ipv4Repr {
        src,
        dst,
        protocol: PROTO_TCP,
        ttl: DEFAULT_TTL,
        payload_len: tcp_len,
    };
    ip.emit(buf);
    IPV4_HEADER_LEN + tcp_len
}

impl fmt::Display for TcpHeader {
    /// A tcpdump-like one-line summary for logs: `[S.] seq 1 ack 2 win 3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fl = &self.flags;
        let mut marks = String::new();
        for (set, mark) in [
            (fl.syn, 'S'),
            (fl.fin, 'F'),
            (fl.rst, 'R'),
            (fl.psh, 'P'),
            (fl.urg, 'U'),
        ] {
            if set {
                marks.push(mark);
            }
        }
        if self.ack.is_some() {
            marks.push('.');
        }
        write!(
            f,
            "{}->{} [{}] seq {}",
            self.src_port, self.dst_port, marks, self.seq
        )?;
        if let Some(ack) = self.ack {
            write!(f, " ack {ack}")?;
        }
        write!(f, " win {}", self.window)?;
        let options = &self.options;
        if let Some(mss) = options.mss {
            write!(f, " mss {mss}")?;
        }
        if let Some(shift) = options.window_scale {
            write!(f, " wscale {shift}")?;
        }
        if options.sack_permitted {
            write!(f, " sackOK")?;
        }
        for block in options.sack.as_slice() {
            write!(f, " sack {}:{}", block.left, block.right)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

    fn syn_ack() -> TcpHeader {
        TcpHeader {
            src_port: 80,
            dst_port: 49152,
            seq: SeqNum(u32::MAX),
            ack: Some(SeqNum(1)),
            flags: TcpFlags {
                syn: true,
                ..TcpFlags::default()
            },
            window: 1000,
            urgent: 0,
            options: TcpOptions::with_mss(1460),
        }
    }

    fn packet(header: &TcpHeader, payload: &[u8]) -> Vec<u8> {
        let mut buf = vec![0u8; 1500];
        let len = emit_ipv4_tcp(A, B, header, payload, &mut buf);
        buf.truncate(len);
        buf
    }

    #[test]
    fn emitted_segment_parses_back_exactly() {
        let header = syn_ack();
        let bytes = packet(&header, b"hello");
        let (ip, tcp) = Ipv4Repr::parse(&bytes).unwrap();
        let seg = TcpSegment::parse(ip.src, ip.dst, tcp).unwrap();
        assert_eq!(seg.header, header);
        assert_eq!(seg.payload, b"hello");
        assert_eq!(seg.seg_len(), 6);
    }

    #[test]
    fn ack_number_is_hidden_without_the_ack_bit() {
        let header = TcpHeader {
            ack: None,
            ..syn_ack()
        };
        let bytes = packet(&header, b"");
        let seg = TcpSegment::parse(A, B, &bytes[20..]).unwrap();
        assert_eq!(seg.header.ack, None);
    }

    #[test]
    fn corrupted_byte_fails_the_checksum() {
        let mut bytes = packet(&syn_ack(), b"hello");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        assert_eq!(
            TcpSegment::parse(A, B, &bytes[20..]),
            Err(WireError::BadChecksum)
        );
    }

    #[test]
    fn checksum_covers_the_pseudo_header_addresses() {
        let bytes = packet(&syn_ack(), b"hello");
        let other = Ipv4Addr::new(192, 0, 2, 3);
        assert_eq!(
            TcpSegment::parse(other, B, &bytes[20..]),
            Err(WireError::BadChecksum)
        );
    }

    #[test]
    fn data_offset_out_of_bounds_is_refused() {
        let mut bytes = packet(&syn_ack(), b"");
        bytes[20 + 12] = 4 << 4;
        assert_eq!(
            TcpSegment::parse(A, B, &bytes[20..]),
            Err(WireError::BadHeaderLength)
        );
        bytes[20 + 12] = 15 << 4;
        assert_eq!(
            TcpSegment::parse(A, B, &bytes[20..]),
            Err(WireError::Truncated)
        );
        assert_eq!(
            TcpSegment::parse(A, B, &bytes[20..30]),
            Err(WireError::Truncated)
        );
    }

    #[test]
    fn display_reads_like_tcpdump() {
        assert_eq!(
            syn_ack().to_string(),
            "80->49152 [S.] seq 4294967295 ack 1 win 1000 mss 1460"
        );
    }
}
