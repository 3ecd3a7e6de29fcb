//! `<` ICMP lines: an ICMP error from the peer's side that quotes one of
//! the stack's segments, as packetdrill's `icmp_packet.c` builds it:
//!
//! ```text
//! < icmp unreachable port_unreachable [0:0(0)]
//! < icmp unreachable frag_needed mtu 1234 [1:1461(1460)]
//! < icmp time_exceeded ttl_exceeded_in_transit [0:0(0)]
//! < icmp parameter_problem unknown_next_header [0:0(0)]     (IPv6)
//! < icmp packet_too_big mtu 1300 [0:0(0)]                   (IPv6)
//! ```
//!
//! The names are the script family's: ICMP's (RFC 792) in IPv4 scripts,
//! ICMPv6's (RFC 4443) in IPv6 ones, where `unreachable` is type 1 and
//! `port_unreachable` code 4. The parser does not know the family yet, so
//! a line keeps both readings and the runner takes its own.
//!
//! The bracket names the quoted segment: its sequence number relative to
//! the stack's ISN (and its length). The quote is what a router sends:
//! the IP header of the stack's datagram to the peer and the first 8
//! bytes of its TCP header (ports and sequence number); RFC 792 asks for
//! no more, and RFC 4443 §2.4 (c)'s "as much as possible" is this much of
//! a segment the runner never kept.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::packets::ipv4_header;
use super::script::EventKind;
use crate::wire::checksum::checksum;
use crate::wire::icmpv6::emit_error_message;
use crate::wire::ipv4::IpSendFields;
use crate::wire::{Ecn, ErrorHead, Ipv6Repr, IPV6_HEADER_LEN, PROTO_ICMP, PROTO_TCP};

/// An ICMP line, resolved to numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IcmpSpec {
    /// (type, code) in ICMP and in ICMPv6: `None` where the family has
    /// no message of that name.
    pub v4: Option<(u8, u8)>,
    pub v6: Option<(u8, u8)>,
    /// The type and code as written, to name a line the family lacks.
    pub name: String,
    /// The next-hop MTU of "fragmentation needed" (RFC 1191 §4) or of
    /// "packet too big" (RFC 4443 §3.2).
    pub mtu: u32,
    /// The quoted segment's sequence number, relative to the stack's ISN,
    /// and its payload length.
    pub start: u32,
    pub len: u32,
}

/// A family's type names and, per type, its code names in code order.
type Names = &'static [(&'static str, u8, &'static [&'static str])];

/// packetdrill's ICMP type names and, per type, its code names.
const TYPES: Names = &[
    ("echo_reply", 0, &[]),
    (
        "unreachable",
        3,
        &[
            "net_unreachable",
            "host_unreachable",
            "protocol_unreachable",
            "port_unreachable",
            "frag_needed",
            "source_route_failed",
            "net_unknown",
            "host_unknown",
            "source_host_isolated",
            "net_prohibited",
            "host_prohibited",
            "net_unreachable_for_tos",
            "host_unreachable_for_tos",
            "packet_filtered",
            "precedence_violation",
            "precedence_cutoff",
        ],
    ),
    ("source_quench", 4, &[]),
    (
        "redirect",
        5,
        &[
            "redirect_net",
            "redirect_host",
            "redirect_tos_net",
            "redirect_tos_host",
        ],
    ),
    ("echo_request", 8, &[]),
    (
        "time_exceeded",
        11,
        &["ttl_exceeded_in_transit", "frag_reass_exceeded"],
    ),
    ("parameter_problem", 12, &[]),
];

/// packetdrill's ICMPv6 names (RFC 4443 §3, §4). Code 2 of Destination
/// Unreachable was "not a neighbor" in RFC 2463, "beyond scope" since.
const TYPES_V6: Names = &[
    (
        "unreachable",
        1,
        &[
            "no_route",
            "admin_prohibited",
            "not_neighbour",
            "address_unreachable",
            "port_unreachable",
        ],
    ),
    ("packet_too_big", 2, &[]),
    (
        "time_exceeded",
        3,
        &["exceeded_hop_limit", "exceeded_frag_time"],
    ),
    (
        "parameter_problem",
        4,
        &["header_field", "unknown_next_header", "unknown_option"],
    ),
    ("echo_request", 128, &[]),
    ("echo_reply", 129, &[]),
];

/// `type_name` and `code` (a name or `code_N`) in one family's names.
fn resolve(names: Names, type_name: &str, code: Option<&str>) -> Option<(u8, u8)> {
    let &(_, kind, codes) = names.iter().find(|(name, _, _)| *name == type_name)?;
    let Some(word) = code else {
        return Some((kind, 0));
    };
    let alias = match word {
        "beyond_scope" => "not_neighbour",
        other => other,
    };
    let position = codes.iter().position(|name| *name == alias);
    let numbered = word.strip_prefix("code_").and_then(|n| n.parse().ok());
    Some((kind, position.map(|p| p as u8).or(numbered)?))
}

/// The words after `< icmp`; an ICMP line we cannot build is
/// [`EventKind::Unsupported`], so the script is skipped with the reason.
pub fn parse_icmp(text: &str) -> Result<EventKind, String> {
    let mut words = text.split_whitespace().peekable();
    let type_name = words.next().ok_or("an icmp line without a type")?;
    let code = words.next_if(|w| !w.starts_with('[') && *w != "mtu");
    let (v4, v6) = (
        resolve(TYPES, type_name, code),
        resolve(TYPES_V6, type_name, code),
    );
    if v4.is_none() && v6.is_none() {
        let known = |names: Names| names.iter().any(|(name, _, _)| *name == type_name);
        return Ok(EventKind::Unsupported(match code {
            Some(code) if known(TYPES) || known(TYPES_V6) => format!("ICMP code `{code}`"),
            _ => format!("ICMP type `{type_name}`"),
        }));
    }
    let mut mtu = 0;
    if words.next_if_eq(&"mtu").is_some() {
        let value = words.next().ok_or("`mtu` without a value")?;
        mtu = value.parse().map_err(|_| format!("bad mtu `{value}`"))?;
    }
    let quoted = words
        .next()
        .ok_or("an icmp line without the quoted segment")?;
    let Some((start, len)) = quoted_range(quoted) else {
        return Ok(EventKind::Unsupported(format!("ICMP quote `{quoted}`")));
    };
    if let Some(extra) = words.next() {
        return Ok(EventKind::Unsupported(format!("ICMP field `{extra}`")));
    }
    let name = [Some(type_name), code].into_iter().flatten();
    Ok(EventKind::Icmp(IcmpSpec {
        v4,
        v6,
        name: name.collect::<Vec<_>>().join(" "),
        mtu,
        start,
        len,
    }))
}

/// `[start:end(len)]`.
fn quoted_range(text: &str) -> Option<(u32, u32)> {
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    let (start, rest) = inner.split_once(':')?;
    let (end, len) = rest.strip_suffix(')')?.split_once('(')?;
    let (start, end, len): (u64, u64, u64) =
        (start.parse().ok()?, end.parse().ok()?, len.parse().ok()?);
    (end.wrapping_sub(start) == len).then_some((start as u32, len as u32))
}

/// The quoted TCP header's first 8 bytes: ports and sequence number.
fn quoted_tcp(seq: u32, ports: (u16, u16)) -> Vec<u8> {
    [ports.0.to_be_bytes(), ports.1.to_be_bytes()]
        .concat()
        .into_iter()
        .chain(seq.to_be_bytes())
        .collect()
}

/// The IPv4 packet from `peer` to `stack` carrying the error, quoting a
/// segment from `ports.0` to `ports.1` with sequence number `seq`; an
/// error if the line names no ICMP message.
pub fn build_icmp(
    peer: Ipv4Addr,
    stack: Ipv4Addr,
    spec: &IcmpSpec,
    seq: u32,
    ports: (u16, u16),
) -> Result<Vec<u8>, String> {
    let (kind, code) = spec
        .v4
        .ok_or_else(|| format!("ICMP `{}` is no IPv4 message", spec.name))?;
    let quoted_total = 20 + 20 + spec.len as usize;
    let mut quoted = ipv4_header(stack, peer, PROTO_TCP, quoted_total, Ecn::NotEct);
    quoted.extend(quoted_tcp(seq, ports));
    let mut icmp = vec![kind, code, 0, 0, 0, 0];
    // RFC 1191 §4: the next-hop MTU is 16 bits.
    icmp.extend(u16::try_from(spec.mtu).unwrap_or(u16::MAX).to_be_bytes());
    icmp.extend(quoted);
    let sum = checksum(&icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut packet = ipv4_header(peer, stack, PROTO_ICMP, 20 + icmp.len(), Ecn::NotEct);
    packet.extend(icmp);
    Ok(packet)
}

/// The IPv6 packet from `peer` to `stack` carrying the ICMPv6 error
/// (RFC 4443 §3), quoting the stack's segment as [`build_icmp`] does;
/// `wire::icmpv6` writes it. The second word is Packet Too Big's MTU
/// (§3.2), else 0 (Parameter Problem's pointer: the runner has no field
/// to point at).
pub fn build_icmpv6(
    peer: Ipv6Addr,
    stack: Ipv6Addr,
    spec: &IcmpSpec,
    seq: u32,
    ports: (u16, u16),
) -> Result<Vec<u8>, String> {
    let (kind, code) = spec
        .v6
        .ok_or_else(|| format!("ICMP `{}` is no ICMPv6 message", spec.name))?;
    let mut quoted = vec![0u8; IPV6_HEADER_LEN];
    Ipv6Repr {
        src: stack,
        dst: peer,
        protocol: PROTO_TCP,
        hop_limit: 64,
        ecn: Ecn::NotEct,
        payload_len: 20 + spec.len as usize,
    }
    .emit_with(&mut quoted, IpSendFields::default());
    quoted.extend(quoted_tcp(seq, ports));
    let head = ErrorHead {
        kind,
        code,
        word: spec.mtu.to_be_bytes(),
    };
    let mut packet = vec![0u8; IPV6_HEADER_LEN + 8 + quoted.len()];
    let len = emit_error_message(head, (peer, stack), &quoted, 64, &mut packet)
        .expect("the buffer fits the message");
    packet.truncate(len);
    Ok(packet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{IcmpError, IcmpErrorMessage, Icmpv6Message, Ipv4Repr, SeqNum};

    fn spec(text: &str) -> IcmpSpec {
        match parse_icmp(text).unwrap() {
            EventKind::Icmp(spec) => spec,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn icmp_lines_name_type_code_mtu_and_the_quoted_segment() {
        let port = spec("unreachable port_unreachable [4294967295:4294967295(0)]");
        assert_eq!(
            (port.v4, port.v6, port.start),
            (Some((3, 3)), Some((1, 4)), u32::MAX)
        );
        let mtu = spec("unreachable frag_needed mtu 1234 [1:1461(1460)]");
        assert_eq!((mtu.v4, mtu.v6), (Some((3, 4)), None));
        assert_eq!((mtu.mtu, mtu.start, mtu.len), (1234, 1, 1460));
        assert_eq!(spec("parameter_problem code_2 [0:0(0)]").v4, Some((12, 2)));
        assert_eq!(spec("redirect [0:0(0)]").v4, Some((5, 0)));
        assert!(matches!(
            parse_icmp("unreachable warp_core_breach [0:0(0)]"),
            Ok(EventKind::Unsupported(_))
        ));
    }

    #[test]
    fn the_packet_is_an_icmp_error_the_engine_reads() {
        let (peer, stack) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2));
        let packet = build_icmp(
            peer,
            stack,
            &spec("unreachable frag_needed mtu 1000 [0:0(0)]"),
            77,
            (8080, 40000),
        )
        .unwrap();
        let (ip, icmp) = Ipv4Repr::parse(&packet).unwrap();
        assert_eq!((ip.src, ip.dst, ip.protocol), (peer, stack, PROTO_ICMP));
        let message = IcmpErrorMessage::parse(icmp).unwrap();
        assert_eq!(
            message.error,
            IcmpError::FragmentationNeeded { next_hop_mtu: 1000 }
        );
        assert_eq!(message.quoted.seq, SeqNum(77));
    }

    #[test]
    fn ipv6_lines_are_icmpv6_errors_the_engine_reads_rfc4443_s3() {
        let (peer, stack) = (
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        );
        for (line, error) in [
            (
                "packet_too_big mtu 1300 [0:0(0)]",
                IcmpError::PacketTooBig { mtu: 1300 },
            ),
            (
                "parameter_problem unknown_next_header [0:0(0)]",
                IcmpError::ProtocolUnreachable,
            ),
            (
                "unreachable port_unreachable [0:0(0)]",
                IcmpError::PortUnreachable,
            ),
            (
                "unreachable beyond_scope [0:0(0)]",
                IcmpError::HostUnreachable,
            ),
            (
                "time_exceeded exceeded_hop_limit [0:0(0)]",
                IcmpError::TimeExceeded,
            ),
        ] {
            let packet = build_icmpv6(peer, stack, &spec(line), 77, (8080, 40000)).unwrap();
            let (ip, body) = Ipv6Repr::parse(&packet).unwrap();
            assert_eq!((ip.src, ip.dst), (peer, stack));
            let Ok(Icmpv6Message::Error(message)) = Icmpv6Message::parse(peer, stack, body) else {
                panic!("{line}: not an ICMPv6 error");
            };
            assert_eq!(message.error, error, "{line}");
            assert_eq!(message.quoted.seq, SeqNum(77));
            assert_eq!(message.quoted.src, "[2001:db8::2]:8080".parse().unwrap());
        }
        let v4_only = spec("unreachable frag_needed mtu 1000 [0:0(0)]");
        assert!(build_icmpv6(peer, stack, &v4_only, 1, (1, 2)).is_err());
    }
}
