//! `<` ICMP lines: an ICMP error from the peer's side that quotes one of
//! the stack's segments, as packetdrill's `icmp_packet.c` builds it:
//!
//! ```text
//! < icmp unreachable port_unreachable [0:0(0)]
//! < icmp unreachable frag_needed mtu 1234 [1:1461(1460)]
//! < icmp time_exceeded ttl_exceeded_in_transit [0:0(0)]
//! ```
//!
//! The bracket names the quoted segment: its sequence number relative to
//! the stack's ISN (and its length). The quote is what a router sends
//! (RFC 792): the IPv4 header of the stack's datagram to the peer and the
//! first 8 bytes of its TCP header (ports and sequence number).

use std::net::Ipv4Addr;

use super::packets::ipv4_header;
use super::script::EventKind;
use crate::wire::checksum::checksum;
use crate::wire::{Ecn, PROTO_ICMP, PROTO_TCP};

/// An ICMP line, resolved to numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IcmpSpec {
    pub kind: u8,
    pub code: u8,
    /// The next-hop MTU of "fragmentation needed" (RFC 1191 §4).
    pub mtu: u16,
    /// The quoted segment's sequence number, relative to the stack's ISN,
    /// and its payload length.
    pub start: u32,
    pub len: u32,
}

/// packetdrill's ICMP type names and, per type, its code names.
const TYPES: &[(&str, u8, &[&str])] = &[
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

/// The words after `< icmp`; an ICMP line we cannot build is
/// [`EventKind::Unsupported`], so the script is skipped with the reason.
pub fn parse_icmp(text: &str) -> Result<EventKind, String> {
    let mut words = text.split_whitespace().peekable();
    let type_name = words.next().ok_or("an icmp line without a type")?;
    let Some(&(_, kind, codes)) = TYPES.iter().find(|(name, _, _)| *name == type_name) else {
        return Ok(EventKind::Unsupported(format!("ICMP type `{type_name}`")));
    };
    let mut code = 0;
    if let Some(word) = words.next_if(|w| !w.starts_with('[') && *w != "mtu") {
        let position = codes.iter().position(|name| *name == word);
        let numbered = word.strip_prefix("code_").and_then(|n| n.parse().ok());
        match position.map(|p| p as u8).or(numbered) {
            Some(number) => code = number,
            None => return Ok(EventKind::Unsupported(format!("ICMP code `{word}`"))),
        }
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
    Ok(EventKind::Icmp(IcmpSpec {
        kind,
        code,
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

/// The IPv4 packet from `peer` to `stack` carrying the error, quoting a
/// segment from `ports.0` to `ports.1` with sequence number `seq`.
pub fn build_icmp(
    peer: Ipv4Addr,
    stack: Ipv4Addr,
    spec: &IcmpSpec,
    seq: u32,
    ports: (u16, u16),
) -> Vec<u8> {
    let quoted_total = 20 + 20 + spec.len as usize;
    let mut quoted = ipv4_header(stack, peer, PROTO_TCP, quoted_total, Ecn::NotEct);
    quoted.extend(ports.0.to_be_bytes());
    quoted.extend(ports.1.to_be_bytes());
    quoted.extend(seq.to_be_bytes());
    let mut icmp = vec![spec.kind, spec.code, 0, 0, 0, 0];
    icmp.extend(spec.mtu.to_be_bytes());
    icmp.extend(quoted);
    let sum = checksum(&icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut packet = ipv4_header(peer, stack, PROTO_ICMP, 20 + icmp.len(), Ecn::NotEct);
    packet.extend(icmp);
    packet
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{IcmpError, IcmpErrorMessage, Ipv4Repr, SeqNum};

    fn spec(text: &str) -> IcmpSpec {
        match parse_icmp(text).unwrap() {
            EventKind::Icmp(spec) => spec,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn icmp_lines_name_type_code_mtu_and_the_quoted_segment() {
        let port = spec("unreachable port_unreachable [4294967295:4294967295(0)]");
        assert_eq!((port.kind, port.code, port.start), (3, 3, u32::MAX));
        let mtu = spec("unreachable frag_needed mtu 1234 [1:1461(1460)]");
        assert_eq!((mtu.code, mtu.mtu, mtu.start, mtu.len), (4, 1234, 1, 1460));
        assert_eq!(spec("parameter_problem code_2 [0:0(0)]").code, 2);
        assert_eq!(spec("redirect [0:0(0)]").kind, 5);
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
        );
        let (ip, icmp) = Ipv4Repr::parse(&packet).unwrap();
        assert_eq!((ip.src, ip.dst, ip.protocol), (peer, stack, PROTO_ICMP));
        let message = IcmpErrorMessage::parse(icmp).unwrap();
        assert_eq!(
            message.error,
            IcmpError::FragmentationNeeded { next_hop_mtu: 1000 }
        );
        assert_eq!(message.quoted.seq, SeqNum(77));
    }
}
