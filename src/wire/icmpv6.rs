//! ICMPv6 (RFC 4443): the messages an IPv6 host meets on a TUN device.
//!
//! - Echo Request (§4.1) is answered with an Echo Reply (§4.2): "Every
//!   node MUST implement an ICMPv6 Echo responder function".
//! - Errors that quote one of our TCP segments (§3): Destination
//!   Unreachable, Packet Too Big (RFC 8201 path MTU discovery), Time
//!   Exceeded, Parameter Problem, in the same [`IcmpError`] classes as
//!   IPv4's so one connection handles both (RFC 9293 §3.9.2.2).
//! - Errors we send (Parameter Problem, §3.4, for an unrecognized Next
//!   Header or option, RFC 8200 §4): [`emit_error_message`], quoting up
//!   to the minimum MTU (§2.4 (c)).
//! - Neighbour Discovery (RFC 4861), MLD (RFC 2710, RFC 3810) and other
//!   informational messages: the kernel sends router solicitations and
//!   MLD reports as soon as tun0 is up. A TUN device has no link layer,
//!   so we answer none of them; they are recognised and dropped quietly
//!   ([`Icmpv6Message::Ignored`]).
//!
//! Every message's checksum covers the IPv6 pseudo-header (§2.3, RFC 8200
//! §8.1), so parsing needs the addresses.

use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};

use super::checksum::upper_layer_checksum_v6;
use super::ecn::Ecn;
use super::icmp::EchoRequest;
use super::icmp_error::{ErrorHead, IcmpError, IcmpErrorMessage, QuotedTcp};
use super::ipv4::{IpSendFields, DEFAULT_TTL as DEFAULT_HOP_LIMIT, PROTO_TCP};
use super::ipv6::{Ipv6Repr, IPV6_HEADER_LEN, PROTO_ICMPV6};
use super::seq::SeqNum;
use super::WireError;

// RFC 4443 §2.1 and IANA's ICMPv6 parameters.
const TYPE_DEST_UNREACHABLE: u8 = 1;
const TYPE_PACKET_TOO_BIG: u8 = 2;
const TYPE_TIME_EXCEEDED: u8 = 3;
const TYPE_PARAMETER_PROBLEM: u8 = 4;
const TYPE_ECHO_REQUEST: u8 = 128;
const TYPE_ECHO_REPLY: u8 = 129;
const ICMPV6_HEADER_LEN: usize = 8;
/// Ports and sequence number: the part of the quoted TCP header we read.
const QUOTED_TCP_LEN: usize = 8;
/// RFC 8200 §5: every IPv6 link carries 1280 bytes; RFC 8201 §4: a path
/// MTU is never taken below it.
pub const IPV6_MIN_MTU: usize = 1280;

/// An informational message we recognise and do not answer, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeighbourDiscovery(pub &'static str);

/// A checked ICMPv6 message, in what the stack does with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Icmpv6Message<'a> {
    /// Echo Request (§4.1): to answer with the same identifier, sequence
    /// number and data.
    EchoRequest(EchoRequest<'a>),
    /// An error (§3) about one of our TCP segments.
    Error(IcmpErrorMessage),
    /// Neighbour Discovery, MLD, an echo reply...: dropped quietly.
    Ignored(NeighbourDiscovery),
}

impl<'a> Icmpv6Message<'a> {
    /// Checks an ICMPv6 message (after the IPv6 header) sent from `src` to
    /// `dst`. Refused: short messages, bad checksums, errors that quote no
    /// TCP segment ([`WireError::Unsupported`]), unknown types.
    pub fn parse(
        src: Ipv6Addr,
        dst: Ipv6Addr,
        bytes: &'a [u8],
    ) -> Result<Icmpv6Message<'a>, WireError> {
        if bytes.len() < ICMPV6_HEADER_LEN {
            return Err(WireError::Truncated);
        }
        if upper_layer_checksum_v6(src, dst, PROTO_ICMPV6, bytes) != 0 {
            return Err(WireError::BadChecksum);
        }
        let (kind, code) = (bytes[0], bytes[1]);
        let word = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        let body = &bytes[ICMPV6_HEADER_LEN..];
        let error = match kind {
            TYPE_ECHO_REQUEST => {
                return Ok(Icmpv6Message::EchoRequest(EchoRequest {
                    ident: u16::from_be_bytes([bytes[4], bytes[5]]),
                    seq_no: u16::from_be_bytes([bytes[6], bytes[7]]),
                    data: body,
                }))
            }
            TYPE_DEST_UNREACHABLE => unreachable_class(code),
            TYPE_PACKET_TOO_BIG => IcmpError::PacketTooBig { mtu: word },
            TYPE_TIME_EXCEEDED => IcmpError::TimeExceeded,
            // §3.4 code 1, "unrecognized Next Header type": the peer has
            // no TCP, as IPv4's protocol unreachable (RFC 5461 §4).
            TYPE_PARAMETER_PROBLEM if code == 1 => IcmpError::ProtocolUnreachable,
            TYPE_PARAMETER_PROBLEM => IcmpError::ParameterProblem,
            other => {
                let name = informational_name(other).ok_or(WireError::Unsupported)?;
                return Ok(Icmpv6Message::Ignored(NeighbourDiscovery(name)));
            }
        };
        let quoted = parse_quote(body)?;
        Ok(Icmpv6Message::Error(IcmpErrorMessage { error, quoted }))
    }
}

/// RFC 4443 §3.1 codes, in RFC 9293 §3.9.2.2's classes: port unreachable
/// (4) is hard as IPv4's; the rest are soft, "no route" (0) being the
/// network's.
fn unreachable_class(code: u8) -> IcmpError {
    match code {
        0 => IcmpError::NetUnreachable,
        4 => IcmpError::PortUnreachable,
        _ => IcmpError::HostUnreachable,
    }
}

/// The informational types (§2.1: 128 to 255) a host meets without
/// asking: RFC 4861's Neighbour Discovery, MLD (RFC 2710, RFC 3810), echo
/// replies to pings we never sent. Unknown informational types are also
/// "silently discarded" (§2.4 (b)).
fn informational_name(kind: u8) -> Option<&'static str> {
    Some(match kind {
        TYPE_ECHO_REPLY => "echo reply",
        130..=132 | 143 => "multicast listener discovery",
        133 => "router solicitation",
        134 => "router advertisement",
        135 => "neighbour solicitation",
        136 => "neighbour advertisement",
        137 => "redirect",
        138..=255 => "informational message",
        // §2.4 (a): an unknown error type is passed up only for its
        // quote; we have no use for it.
        _ => return None,
    })
}

/// The IPv6 header and first 8 TCP bytes an error quotes (§3: "as much
/// of invoking packet as possible"). We quote our own packets, which have
/// no extension headers, so TCP must follow the fixed header.
fn parse_quote(quote: &[u8]) -> Result<QuotedTcp, WireError> {
    let fixed = quote.get(..IPV6_HEADER_LEN).ok_or(WireError::Truncated)?;
    if fixed[0] >> 4 != 6 {
        return Err(WireError::NotIpv6);
    }
    if fixed[6] != PROTO_TCP {
        return Err(WireError::Unsupported);
    }
    let tcp = quote
        .get(IPV6_HEADER_LEN..IPV6_HEADER_LEN + QUOTED_TCP_LEN)
        .ok_or(WireError::Truncated)?;
    let addr = |at: usize| {
        let mut octets = [0u8; 16];
        octets.copy_from_slice(&fixed[at..at + 16]);
        Ipv6Addr::from(octets)
    };
    let port = |at: usize| u16::from_be_bytes([tcp[at], tcp[at + 1]]);
    let payload_len = u16::from_be_bytes([fixed[4], fixed[5]]);
    Ok(QuotedTcp {
        src: SocketAddr::V6(SocketAddrV6::new(addr(8), port(0), 0, 0)),
        dst: SocketAddr::V6(SocketAddrV6::new(addr(24), port(2), 0, 0)),
        seq: SeqNum(u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]])),
        ip_total_len: payload_len.saturating_add(IPV6_HEADER_LEN as u16),
    })
}

/// Writes an IPv6 packet holding an ICMPv6 message of `kind`, `code`, the
/// second word `word` and `body`; returns its length, or `None` if `buf`
/// is too small.
fn emit_message(
    ip: (Ipv6Addr, Ipv6Addr),
    (kind, code, word): (u8, u8, [u8; 4]),
    body: &[u8],
    fields: IpSendFields,
    buf: &mut [u8],
) -> Option<usize> {
    let len = ICMPV6_HEADER_LEN + body.len();
    let total = IPV6_HEADER_LEN + len;
    if buf.len() < total {
        return None;
    }
    let icmp = &mut buf[IPV6_HEADER_LEN..total];
    icmp[..4].copy_from_slice(&[kind, code, 0, 0]);
    icmp[4..8].copy_from_slice(&word);
    icmp[ICMPV6_HEADER_LEN..].copy_from_slice(body);
    let sum = upper_layer_checksum_v6(ip.0, ip.1, PROTO_ICMPV6, icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let repr = Ipv6Repr {
        src: ip.0,
        dst: ip.1,
        protocol: PROTO_ICMPV6,
        hop_limit: fields.ttl,
        ecn: Ecn::NotEct,
        payload_len: len,
    };
    repr.emit_with(buf, fields);
    Some(total)
}

fn echo_word(echo: &EchoRequest) -> [u8; 4] {
    let [a, b] = echo.ident.to_be_bytes();
    let [c, d] = echo.seq_no.to_be_bytes();
    [a, b, c, d]
}

/// RFC 4443 §4.2: the whole IPv6 Echo Reply to `echo` (same identifier,
/// sequence number and data) from `src` to `dst`; its length, or `None`
/// if `buf` is too small.
pub fn emit_echo_reply(
    echo: &EchoRequest,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    buf: &mut [u8],
) -> Option<usize> {
    let fields = IpSendFields {
        ttl: hop_limit,
        ..IpSendFields::default()
    };
    let head = (TYPE_ECHO_REPLY, 0, echo_word(echo));
    emit_message((src, dst), head, echo.data, fields, buf)
}

/// A whole IPv6 Echo Request packet, for tests and tools.
pub fn emit_echo_request(
    echo: &EchoRequest,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    buf: &mut [u8],
) -> Option<usize> {
    let head = (TYPE_ECHO_REQUEST, 0, echo_word(echo));
    emit_message((src, dst), head, echo.data, IpSendFields::default(), buf)
}

/// RFC 4443 §3.4 Parameter Problem code 1: "unrecognized Next Header
/// type encountered".
pub const UNRECOGNIZED_NEXT_HEADER: u8 = 1;
/// RFC 4443 §3.4 Parameter Problem code 2: "unrecognized IPv6 option
/// encountered".
pub const UNRECOGNIZED_OPTION: u8 = 2;

/// RFC 4443 §3.4: a Parameter Problem of `code` whose pointer is the
/// offset in the offending packet "where the error was detected".
pub fn parameter_problem(code: u8, pointer: u32) -> ErrorHead {
    ErrorHead {
        kind: TYPE_PARAMETER_PROBLEM,
        code,
        word: pointer.to_be_bytes(),
    }
}

/// RFC 4443 §2.4 (e.1): whether `bytes` (an ICMPv6 message) may be an
/// error message, about which no error is sent. Error types are 0-127
/// (§2.1); a message too short to say is taken as one, as Linux does.
pub fn may_be_error_message(bytes: &[u8]) -> bool {
    bytes.first().is_none_or(|&kind| kind < 128)
}

/// A whole IPv6 packet from `src` to `dst` carrying the ICMPv6 error
/// `head` about `original` (the offending packet, header first), quoting
/// as much of it as fits in 1280 bytes in all (§2.4 (c): "as much of
/// invoking packet as possible without the ICMPv6 packet exceeding the
/// minimum IPv6 MTU"). Its length, or `None` if `buf` is too small.
pub fn emit_error_message(
    head: ErrorHead,
    ip: (Ipv6Addr, Ipv6Addr),
    original: &[u8],
    hop_limit: u8,
    buf: &mut [u8],
) -> Option<usize> {
    let room = IPV6_MIN_MTU - IPV6_HEADER_LEN - ICMPV6_HEADER_LEN;
    let quote = &original[..original.len().min(room)];
    let fields = IpSendFields {
        ttl: hop_limit,
        ..IpSendFields::default()
    };
    let word = (head.kind, head.code, head.word);
    emit_message(ip, word, quote, fields, buf)
}

/// A whole IPv6 packet from `src` to `dst` carrying the ICMPv6 error
/// `error` that quotes `original` (an IPv6 packet, up to 1280 bytes in
/// all, §2.4 (c)), as a router would send it. For tests and tools.
pub fn emit_error(
    error: IcmpError,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    original: &[u8],
    buf: &mut [u8],
) -> Option<usize> {
    let (kind, code, word) = match error {
        IcmpError::NetUnreachable => (TYPE_DEST_UNREACHABLE, 0, [0; 4]),
        IcmpError::HostUnreachable => (TYPE_DEST_UNREACHABLE, 3, [0; 4]),
        IcmpError::PortUnreachable => (TYPE_DEST_UNREACHABLE, 4, [0; 4]),
        IcmpError::PacketTooBig { mtu } => (TYPE_PACKET_TOO_BIG, 0, mtu.to_be_bytes()),
        IcmpError::TimeExceeded => (TYPE_TIME_EXCEEDED, 0, [0; 4]),
        // The Next Header field of a fixed header with no extensions.
        IcmpError::ProtocolUnreachable => (TYPE_PARAMETER_PROBLEM, 1, [0, 0, 0, 6]),
        _ => (TYPE_PARAMETER_PROBLEM, 0, [0; 4]),
    };
    let head = ErrorHead { kind, code, word };
    emit_error_message(head, (src, dst), original, DEFAULT_HOP_LIMIT, buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tcp::emit_ip_tcp;
    use crate::wire::TcpHeader;

    const ROUTER: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
    const PEER: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    const US: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

    fn icmp_of(packet: &[u8]) -> Icmpv6Message<'_> {
        let (ip, body) = Ipv6Repr::parse(packet).unwrap();
        assert_eq!(ip.protocol, PROTO_ICMPV6);
        Icmpv6Message::parse(ip.src, ip.dst, body).unwrap()
    }

    #[test]
    fn echo_request_is_answered_with_the_same_data_rfc4443_s4_2() {
        let echo = EchoRequest {
            ident: 0x1234,
            seq_no: 7,
            data: b"ping6 data",
        };
        let mut buf = [0u8; 128];
        let len = emit_echo_request(&echo, PEER, US, &mut buf).unwrap();
        let Icmpv6Message::EchoRequest(request) = icmp_of(&buf[..len]) else {
            panic!("not an echo request");
        };
        assert_eq!(request, echo);
        let mut reply = [0u8; 128];
        let len = emit_echo_reply(&request, US, PEER, 64, &mut reply).unwrap();
        let (ip, body) = Ipv6Repr::parse(&reply[..len]).unwrap();
        assert_eq!((ip.src, ip.dst, ip.hop_limit), (US, PEER, 64));
        assert_eq!(body[0], TYPE_ECHO_REPLY);
        assert_eq!(upper_layer_checksum_v6(US, PEER, PROTO_ICMPV6, body), 0);
        assert_eq!(&body[4..8], &[0x12, 0x34, 0, 7]);
        assert_eq!(&body[8..], b"ping6 data");
        // etherparse agrees on the checksum.
        let slice = etherparse::Icmpv6Slice::from_slice(body).unwrap();
        let header = etherparse::Icmpv6Header::new(slice.icmp_type());
        let expected = header
            .icmp_type
            .calc_checksum(US.octets(), PEER.octets(), &body[8..])
            .unwrap();
        assert_eq!(slice.checksum(), expected);
        assert!(emit_echo_reply(&request, US, PEER, 64, &mut reply[..50]).is_none());
    }

    #[test]
    fn a_bad_checksum_or_other_addresses_are_refused() {
        let echo = EchoRequest {
            ident: 1,
            seq_no: 1,
            data: b"x",
        };
        let mut buf = [0u8; 64];
        let len = emit_echo_request(&echo, PEER, US, &mut buf).unwrap();
        let body = &buf[IPV6_HEADER_LEN..len];
        let other = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 3);
        assert_eq!(
            Icmpv6Message::parse(PEER, other, body),
            Err(WireError::BadChecksum)
        );
        assert_eq!(
            Icmpv6Message::parse(PEER, US, &body[..4]),
            Err(WireError::Truncated)
        );
    }

    fn our_segment() -> Vec<u8> {
        let header = TcpHeader {
            src_port: 7,
            dst_port: 40000,
            seq: SeqNum(1234),
            ..TcpHeader::default()
        };
        let mut buf = vec![0u8; 1500];
        let len = emit_ip_tcp(US.into(), PEER.into(), &header, &[0; 1400], &mut buf);
        buf.truncate(len);
        buf
    }

    #[test]
    fn packet_too_big_quotes_the_connection_and_the_mtu_rfc4443_s3_2() {
        let error = IcmpError::PacketTooBig { mtu: 1400 };
        let mut buf = [0u8; 1500];
        let len = emit_error(error, ROUTER, US, &our_segment(), &mut buf).unwrap();
        assert_eq!(len, IPV6_MIN_MTU, "the quote is cut at the minimum MTU");
        let Icmpv6Message::Error(message) = icmp_of(&buf[..len]) else {
            panic!("not an error");
        };
        assert_eq!(message.error, error);
        assert_eq!(message.quoted.src, "[2001:db8::2]:7".parse().unwrap());
        assert_eq!(message.quoted.dst, "[2001:db8::1]:40000".parse().unwrap());
        assert_eq!(message.quoted.seq, SeqNum(1234));
        assert_eq!(
            usize::from(message.quoted.ip_total_len),
            our_segment().len()
        );
    }

    #[test]
    fn every_error_class_round_trips() {
        for error in [
            IcmpError::NetUnreachable,
            IcmpError::HostUnreachable,
            IcmpError::PortUnreachable,
            IcmpError::ProtocolUnreachable,
            IcmpError::TimeExceeded,
            IcmpError::ParameterProblem,
        ] {
            let mut buf = [0u8; 1500];
            let len = emit_error(error, ROUTER, US, &our_segment()[..48], &mut buf).unwrap();
            let Icmpv6Message::Error(message) = icmp_of(&buf[..len]) else {
                panic!("not an error");
            };
            assert_eq!(message.error, error);
        }
        let mut buf = [0u8; 1500];
        let short = &our_segment()[..44];
        let len = emit_error(IcmpError::PortUnreachable, ROUTER, US, short, &mut buf).unwrap();
        let (ip, body) = Ipv6Repr::parse(&buf[..len]).unwrap();
        assert_eq!(
            Icmpv6Message::parse(ip.src, ip.dst, body),
            Err(WireError::Truncated)
        );
    }

    #[test]
    fn neighbour_discovery_and_mld_are_recognised_not_refused() {
        let all_routers: Ipv6Addr = "ff02::2".parse().unwrap();
        let link_local: Ipv6Addr = "fe80::1".parse().unwrap();
        for (kind, name) in [
            (133, "router solicitation"),
            (135, "neighbour solicitation"),
            (143, "multicast listener discovery"),
        ] {
            let mut buf = [0u8; 64];
            let head = (kind, 0, [0; 4]);
            let fields = IpSendFields::default();
            let len = emit_message((link_local, all_routers), head, &[], fields, &mut buf).unwrap();
            assert_eq!(
                icmp_of(&buf[..len]),
                Icmpv6Message::Ignored(NeighbourDiscovery(name))
            );
        }
    }
}
