//! Fuzz target: any bytes into the wire parsers. The first byte chooses
//! whether checksums are made right first (so the fields behind them are
//! reached) and which family the bare parses use; the rest is an IPv4 or
//! IPv6 packet (fixed header and extension headers), also tried as a bare
//! TCP segment, TCP options, an ICMP or ICMPv6 message and an IPv4
//! fragment. What parses must come back the same after `emit` and `parse`
//! again: a TCP segment, an IPv6 header, an ICMPv6 echo request or error.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use tuntcp::wire::icmpv6::{emit_echo_request, emit_error};
use tuntcp::wire::{
    EchoRequest, IcmpErrorMessage, Icmpv6Message, IpSendFields, Ipv4Fragment, Ipv4Repr, Ipv6Repr,
    TcpOptions, TcpSegment, IPV6_HEADER_LEN, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP,
};

use super::craft::{fix_checksums, fix_transport_checksum};

const SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const DST: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const SRC6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const DST6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

/// `mode` bits: 0 fix the packet's checksums, 1 fix the bare segment's
/// TCP checksum, 2 its ICMP checksum, 3 the bare parses use IPv6
/// addresses (pseudo-header) and ICMPv6.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut packet = rest.to_vec();
    if mode & 1 != 0 {
        fix_checksums(&mut packet);
    }
    let _ = Ipv4Fragment::parse(&packet);
    if let Ok((ip, body)) = Ipv4Repr::parse(&packet) {
        assert!(
            body.len() == ip.payload_len,
            "payload length disagrees with the header"
        );
        match ip.protocol {
            PROTO_TCP => tcp_round_trip(ip.src.into(), ip.dst.into(), body),
            PROTO_ICMP => {
                let _ = EchoRequest::parse(body);
                let _ = IcmpErrorMessage::parse(body);
            }
            _ => {}
        }
    }
    ipv6(&packet);
    bare(mode, rest);
}

/// The same bytes as a bare segment, options, and ICMP or ICMPv6 message.
fn bare(mode: u8, rest: &[u8]) {
    let (src, dst): (IpAddr, IpAddr) = if mode & 8 != 0 {
        (SRC6.into(), DST6.into())
    } else {
        (SRC.into(), DST.into())
    };
    let mut bare = rest.to_vec();
    if mode & 2 != 0 {
        fix_transport_checksum(&mut bare, PROTO_TCP, src, dst);
    }
    tcp_round_trip(src, dst, &bare);
    let _ = TcpOptions::parse(rest);
    if mode & 8 != 0 {
        if mode & 4 != 0 {
            fix_transport_checksum(&mut bare, PROTO_ICMPV6, src, dst);
        }
        icmpv6_round_trip(SRC6, DST6, &bare);
        return;
    }
    if mode & 4 != 0 {
        fix_transport_checksum(&mut bare, PROTO_ICMP, src, dst);
    }
    let _ = IcmpErrorMessage::parse(&bare);
    let _ = EchoRequest::parse(&bare);
}

/// The packet as IPv6 (RFC 8200: fixed header, extension-header walk),
/// then its TCP segment or ICMPv6 message; the fixed header must come
/// back the same after `emit_with` and `parse`.
fn ipv6(packet: &[u8]) {
    let Ok((ip, body)) = Ipv6Repr::parse(packet) else {
        return;
    };
    assert!(
        body.len() == ip.payload_len,
        "IPv6 payload length disagrees with the header"
    );
    let mut buf = vec![0u8; IPV6_HEADER_LEN + body.len()];
    buf[IPV6_HEADER_LEN..].copy_from_slice(body);
    let fields = IpSendFields {
        tos: ip.ecn.bits(),
        dont_fragment: false,
        ttl: ip.hop_limit,
    };
    ip.emit_with(&mut buf, fields);
    let (again, again_body) = Ipv6Repr::parse(&buf).expect("an emitted IPv6 header parses");
    assert_eq!(again, ip, "IPv6 emit then parse changed the header");
    assert_eq!(again_body, body, "IPv6 emit then parse changed the payload");
    match ip.protocol {
        PROTO_TCP => tcp_round_trip(ip.src.into(), ip.dst.into(), body),
        PROTO_ICMPV6 => icmpv6_round_trip(ip.src, ip.dst, body),
        _ => {}
    }
}

/// Parses an ICMPv6 message (RFC 4443) and, for an echo request or an
/// error quoting TCP, checks that the emitted message parses the same.
fn icmpv6_round_trip(src: Ipv6Addr, dst: Ipv6Addr, bytes: &[u8]) {
    let Ok(message) = Icmpv6Message::parse(src, dst, bytes) else {
        return;
    };
    let mut buf = vec![0u8; IPV6_HEADER_LEN + bytes.len().max(1280)];
    let len = match message {
        Icmpv6Message::EchoRequest(echo) => emit_echo_request(&echo, src, dst, &mut buf),
        // The quote starts after the 8-byte ICMPv6 header.
        Icmpv6Message::Error(error) => emit_error(error.error, src, dst, &bytes[8..], &mut buf),
        Icmpv6Message::Ignored(_) => return,
    }
    .expect("the buffer holds the message");
    let (ip, body) = Ipv6Repr::parse(&buf[..len]).expect("an emitted ICMPv6 packet parses");
    let again =
        Icmpv6Message::parse(ip.src, ip.dst, body).expect("an emitted ICMPv6 message parses");
    assert_eq!(again, message, "ICMPv6 emit then parse changed the message");
}

/// Parses a segment and, when that works, checks emit-then-parse gives it
/// back unchanged.
fn tcp_round_trip(src: IpAddr, dst: IpAddr, bytes: &[u8]) {
    let Ok(segment) = TcpSegment::parse(src, dst, bytes) else {
        return;
    };
    // Options the input packed tighter than `emit` lays them out may not
    // fit a header once emitted; the engine never emits such a set.
    if segment.header.header_len() > 60 {
        return;
    }
    let mut buf = vec![0u8; segment.header.header_len() + segment.payload.len()];
    let payload_at = segment.header.header_len();
    buf[payload_at..].copy_from_slice(segment.payload);
    let len = segment
        .header
        .emit(src, dst, &mut buf, segment.payload.len());
    let again = TcpSegment::parse(src, dst, &buf[..len]).expect("an emitted segment parses");
    assert_eq!(
        again.header, segment.header,
        "emit then parse changed the header"
    );
    assert_eq!(
        again.payload, segment.payload,
        "emit then parse changed the payload"
    );
}
