//! ICMP error messages (RFC 792) that quote one of our TCP segments, as
//! RFC 9293 §3.9.2.2 needs them: which error, and the quoted IPv4 header
//! and first 8 bytes of TCP header that name the connection (MUST-54).
//!
//! etherparse reads the ICMP type and code ([`Icmpv4Slice`]) and the
//! quoted IPv4 header ([`Ipv4HeaderSlice`]); we check the ICMP checksum
//! and that at least the ports and sequence number of the quoted TCP
//! header are there (RFC 792 promises "64 bits of Original Data
//! Datagram").
//!
//! The other way, [`emit_ipv4_error`] writes the errors the stack sends
//! (protocol unreachable, RFC 1122 §3.2.2.1), quoting up to 576 bytes in
//! all (RFC 1812 §4.3.2.3); ICMPv6's are in `icmpv6.rs`.
//!
//! ```text
//!  | type | code | checksum | unused / next-hop MTU (RFC 1191) |
//!  | quoted IPv4 header (with its options)                     |
//!  | src port | dst port | sequence number | ...               |
//! ```

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use etherparse::icmpv4::{DestUnreachableHeader, TimeExceededCode};
use etherparse::{Icmpv4Slice, Icmpv4Type, Ipv4HeaderSlice};

use super::checksum;
use super::ecn::Ecn;
use super::ipv4::{Ipv4Repr, IPV4_HEADER_LEN, PROTO_ICMP, PROTO_TCP};
use super::seq::SeqNum;
use super::WireError;

const TYPE_DEST_UNREACHABLE: u8 = 3;
const TYPE_SOURCE_QUENCH: u8 = 4;
const TYPE_TIME_EXCEEDED: u8 = 11;
const TYPE_PARAMETER_PROBLEM: u8 = 12;
const ICMP_HEADER_LEN: usize = 8;
/// Ports and sequence number: the part of the quoted TCP header we read.
const QUOTED_TCP_LEN: usize = 8;

/// What an ICMP error says, in the classes RFC 9293 §3.9.2.2 and RFC
/// 1122 §4.2.3.9 treat differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpError {
    /// Destination Unreachable code 0, and 6, 9, 11 (network unknown,
    /// prohibited, for TOS): a soft error.
    NetUnreachable,
    /// Destination Unreachable code 1 and 5 (source route failed), and
    /// the other host codes of RFC 1122/1812: a soft error.
    HostUnreachable,
    /// Destination Unreachable code 2: a hard error.
    ProtocolUnreachable,
    /// Destination Unreachable code 3: a hard error.
    PortUnreachable,
    /// Destination Unreachable code 4, with the next-hop MTU of RFC 1191
    /// §4 (0 from routers older than RFC 1191).
    FragmentationNeeded { next_hop_mtu: u16 },
    /// Time Exceeded, codes 0 and 1: a soft error.
    TimeExceeded,
    /// Parameter Problem: a soft error.
    ParameterProblem,
    /// Source Quench: deprecated (RFC 6633), silently discarded (MUST-55).
    SourceQuench,
    /// ICMPv6 Packet Too Big (RFC 4443 §3.2) with the next-hop link's MTU:
    /// IPv6's path MTU discovery (RFC 8201).
    PacketTooBig { mtu: u32 },
}

impl IcmpError {
    /// RFC 9293 §3.9.2.2 "Hard Errors": Destination Unreachable codes 2-4.
    pub fn is_hard(self) -> bool {
        matches!(
            self,
            IcmpError::ProtocolUnreachable
                | IcmpError::PortUnreachable
                | IcmpError::FragmentationNeeded { .. }
        )
    }

    /// The ICMPv4 (type, code, bytes 5 to 8) that carry this error.
    pub fn head(self) -> ErrorHead {
        let (kind, code, word) = self.type_code_rest();
        ErrorHead { kind, code, word }
    }

    fn type_code_rest(self) -> (u8, u8, [u8; 4]) {
        match self {
            IcmpError::NetUnreachable => (TYPE_DEST_UNREACHABLE, 0, [0; 4]),
            IcmpError::HostUnreachable => (TYPE_DEST_UNREACHABLE, 1, [0; 4]),
            IcmpError::ProtocolUnreachable => (TYPE_DEST_UNREACHABLE, 2, [0; 4]),
            IcmpError::PortUnreachable => (TYPE_DEST_UNREACHABLE, 3, [0; 4]),
            IcmpError::FragmentationNeeded { next_hop_mtu } => {
                let [hi, lo] = next_hop_mtu.to_be_bytes();
                (TYPE_DEST_UNREACHABLE, 4, [0, 0, hi, lo])
            }
            IcmpError::TimeExceeded => (TYPE_TIME_EXCEEDED, 0, [0; 4]),
            IcmpError::ParameterProblem => (TYPE_PARAMETER_PROBLEM, 0, [0; 4]),
            IcmpError::SourceQuench => (TYPE_SOURCE_QUENCH, 0, [0; 4]),
            // No ICMPv4 message: `icmpv6::emit_error` writes it.
            IcmpError::PacketTooBig { .. } => (TYPE_PARAMETER_PROBLEM, 0, [0; 4]),
        }
    }

    fn from_type(icmp: &Icmpv4Slice) -> Option<IcmpError> {
        use DestUnreachableHeader as D;
        Some(match icmp.icmp_type() {
            Icmpv4Type::DestinationUnreachable(code) => match code {
                D::Network | D::NetworkUnknown | D::NetworkProhibited | D::TosNetwork => {
                    IcmpError::NetUnreachable
                }
                D::Protocol => IcmpError::ProtocolUnreachable,
                D::Port => IcmpError::PortUnreachable,
                D::FragmentationNeeded { next_hop_mtu } => {
                    IcmpError::FragmentationNeeded { next_hop_mtu }
                }
                _ => IcmpError::HostUnreachable,
            },
            Icmpv4Type::TimeExceeded(
                TimeExceededCode::TtlExceededInTransit
                | TimeExceededCode::FragmentReassemblyTimeExceeded,
            ) => IcmpError::TimeExceeded,
            Icmpv4Type::ParameterProblem(_) => IcmpError::ParameterProblem,
            _ if icmp.type_u8() == TYPE_SOURCE_QUENCH => IcmpError::SourceQuench,
            _ => return None,
        })
    }
}

/// The segment an ICMP error quotes: who sent it to whom, its sequence
/// number, and the total length of the datagram that carried it (IPv6:
/// the fixed header and its payload length).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotedTcp {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: SeqNum,
    pub ip_total_len: u16,
}

/// A checked ICMP error about a TCP segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpErrorMessage {
    pub error: IcmpError,
    pub quoted: QuotedTcp,
}

impl IcmpErrorMessage {
    /// Checks an ICMP message (without its IPv4 header). Refused: short
    /// messages, bad checksums, types that are no error we act on
    /// ([`WireError::Unsupported`]), and quotes of anything but TCP.
    pub fn parse(bytes: &[u8]) -> Result<IcmpErrorMessage, WireError> {
        let icmp = Icmpv4Slice::from_slice(bytes).map_err(|_| WireError::Truncated)?;
        if checksum::checksum(bytes) != 0 {
            return Err(WireError::BadChecksum);
        }
        let error = IcmpError::from_type(&icmp).ok_or(WireError::Unsupported)?;
        let quote = bytes.get(ICMP_HEADER_LEN..).ok_or(WireError::Truncated)?;
        let ip = Ipv4HeaderSlice::from_slice(quote).map_err(|_| WireError::Truncated)?;
        if ip.protocol().0 != PROTO_TCP {
            return Err(WireError::Unsupported);
        }
        let tcp = quote
            .get(ip.slice().len()..ip.slice().len() + QUOTED_TCP_LEN)
            .ok_or(WireError::Truncated)?;
        let port = |at: usize| u16::from_be_bytes([tcp[at], tcp[at + 1]]);
        let quoted = QuotedTcp {
            src: SocketAddrV4::new(ip.source_addr(), port(0)).into(),
            dst: SocketAddrV4::new(ip.destination_addr(), port(2)).into(),
            seq: SeqNum(u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]])),
            ip_total_len: ip.total_len(),
        };
        Ok(IcmpErrorMessage { error, quoted })
    }
}

/// The first word of an ICMP or ICMPv6 error (RFC 792, RFC 4443 §2.1):
/// type, code, and the four bytes after the checksum (unused, an MTU,
/// or a pointer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorHead {
    pub kind: u8,
    pub code: u8,
    pub word: [u8; 4],
}

/// RFC 1812 §4.3.2.3 (and RFC 1122 §3.2.2's 576-byte datagram every host
/// takes): an ICMP error with its IPv4 header is at most 576 bytes.
pub const IPV4_ERROR_MAX: usize = 576;
/// Most of the offending datagram an IPv4 error quotes.
pub const IPV4_QUOTE_MAX: usize = IPV4_ERROR_MAX - IPV4_HEADER_LEN - ICMP_HEADER_LEN;

/// Writes the ICMP message `head` + `quote` (no IP header) into `buf`,
/// with its checksum; returns its length.
fn write_message(head: ErrorHead, quote: &[u8], buf: &mut [u8]) -> usize {
    let len = ICMP_HEADER_LEN + quote.len();
    buf[..4].copy_from_slice(&[head.kind, head.code, 0, 0]);
    buf[4..8].copy_from_slice(&head.word);
    buf[ICMP_HEADER_LEN..len].copy_from_slice(quote);
    let sum = checksum::checksum(&buf[..len]);
    buf[2..4].copy_from_slice(&sum.to_be_bytes());
    len
}

/// Builds the ICMP message (without IPv4 header) for `error`, quoting the
/// start of `original` (an IPv4 packet) as a router does: its header and
/// 8 more bytes. For tests and tools. Returns the length.
pub fn emit_icmp_error(error: IcmpError, original: &[u8], buf: &mut [u8]) -> usize {
    let header_len = usize::from(original[0] & 0x0f) * 4;
    let quoted = &original[..(header_len + QUOTED_TCP_LEN).min(original.len())];
    write_message(error.head(), quoted, buf)
}

/// The whole IPv4 packet from `src` to `dst` carrying the error `head`
/// about `original` (the offending datagram, header first), quoting as
/// much of it as fits in [`IPV4_ERROR_MAX`] bytes (RFC 1812 §4.3.2.3;
/// RFC 792 asks for at least the header and 64 bits). Its length, or
/// `None` if `buf` is too small.
pub fn emit_ipv4_error(
    head: ErrorHead,
    (src, dst): (Ipv4Addr, Ipv4Addr),
    original: &[u8],
    ttl: u8,
    buf: &mut [u8],
) -> Option<usize> {
    // Link padding past the datagram's Total Length is none of it.
    let datagram_len = original.get(2..4).map_or(original.len(), |len| {
        usize::from(u16::from_be_bytes([len[0], len[1]]))
    });
    let quote = &original[..original.len().min(datagram_len).min(IPV4_QUOTE_MAX)];
    let total = IPV4_HEADER_LEN + ICMP_HEADER_LEN + quote.len();
    if buf.len() < total {
        return None;
    }
    let len = write_message(head, quote, &mut buf[IPV4_HEADER_LEN..]);
    let ip = Ipv4Repr {
        src,
        dst,
        protocol: PROTO_ICMP,
        ttl,
        ecn: Ecn::NotEct,
        payload_len: len,
    };
    ip.emit(buf);
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tcp::emit_ipv4_tcp;
    use crate::wire::TcpHeader;
    use std::net::Ipv4Addr;

    fn our_segment() -> Vec<u8> {
        let header = TcpHeader {
            src_port: 80,
            dst_port: 49500,
            seq: SeqNum(1234),
            ..TcpHeader::default()
        };
        let mut buf = vec![0u8; 100];
        let len = emit_ipv4_tcp(
            Ipv4Addr::new(192, 0, 2, 2),
            Ipv4Addr::new(192, 0, 2, 1),
            &header,
            b"data",
            &mut buf,
        );
        buf.truncate(len);
        buf
    }

    #[test]
    fn fragmentation_needed_quotes_the_connection_and_the_mtu() {
        let mut buf = [0u8; 64];
        let error = IcmpError::FragmentationNeeded { next_hop_mtu: 1000 };
        let len = emit_icmp_error(error, &our_segment(), &mut buf);
        assert_eq!(len, 8 + 20 + 8);
        let message = IcmpErrorMessage::parse(&buf[..len]).unwrap();
        assert_eq!(message.error, error);
        assert!(message.error.is_hard());
        assert_eq!(message.quoted.src, "192.0.2.2:80".parse().unwrap());
        assert_eq!(message.quoted.dst, "192.0.2.1:49500".parse().unwrap());
        assert_eq!(message.quoted.seq, SeqNum(1234));
        assert_eq!(message.quoted.ip_total_len, 44);
    }

    #[test]
    fn every_error_class_round_trips() {
        for error in [
            IcmpError::NetUnreachable,
            IcmpError::HostUnreachable,
            IcmpError::ProtocolUnreachable,
            IcmpError::PortUnreachable,
            IcmpError::TimeExceeded,
            IcmpError::ParameterProblem,
            IcmpError::SourceQuench,
        ] {
            let mut buf = [0u8; 64];
            let len = emit_icmp_error(error, &our_segment(), &mut buf);
            assert_eq!(IcmpErrorMessage::parse(&buf[..len]).unwrap().error, error);
        }
    }

    #[test]
    fn short_quotes_bad_checksums_and_other_protocols_are_refused() {
        let mut buf = [0u8; 64];
        let len = emit_icmp_error(IcmpError::PortUnreachable, &our_segment(), &mut buf);
        let mut bad = buf;
        bad[30] ^= 1;
        assert_eq!(
            IcmpErrorMessage::parse(&bad[..len]),
            Err(WireError::BadChecksum)
        );
        let mut udp = our_segment();
        udp[9] = 17;
        let len = emit_icmp_error(IcmpError::PortUnreachable, &udp, &mut buf);
        assert_eq!(
            IcmpErrorMessage::parse(&buf[..len]),
            Err(WireError::Unsupported)
        );
        let len = emit_icmp_error(IcmpError::PortUnreachable, &our_segment()[..24], &mut buf);
        assert_eq!(
            IcmpErrorMessage::parse(&buf[..len]),
            Err(WireError::Truncated)
        );
    }
}
