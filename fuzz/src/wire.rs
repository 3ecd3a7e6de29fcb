//! Fuzz target: any bytes into the wire parsers. The first byte chooses
//! whether checksums are made right first (so the fields behind them are
//! reached); the rest is an IPv4 packet, also tried as a bare TCP segment,
//! TCP options, an ICMP message and a fragment. A TCP segment that parses
//! must come back the same after `emit` and `parse` again.

use std::net::Ipv4Addr;

use tuntcp::wire::{
    EchoRequest, IcmpErrorMessage, Ipv4Fragment, Ipv4Repr, TcpOptions, TcpSegment, PROTO_ICMP,
    PROTO_TCP,
};

use super::craft::{fix_checksums, fix_transport_checksum};

const SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const DST: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

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
            PROTO_TCP => tcp_round_trip(ip.src, ip.dst, body),
            PROTO_ICMP => {
                let _ = EchoRequest::parse(body);
                let _ = IcmpErrorMessage::parse(body);
            }
            _ => {}
        }
    }
    // The same bytes as a bare segment, options, and ICMP message.
    let mut bare = rest.to_vec();
    if mode & 2 != 0 {
        fix_transport_checksum(&mut bare, PROTO_TCP, SRC, DST);
    }
    tcp_round_trip(SRC, DST, &bare);
    let _ = TcpOptions::parse(rest);
    if mode & 4 != 0 {
        fix_transport_checksum(&mut bare, PROTO_ICMP, SRC, DST);
    }
    let _ = IcmpErrorMessage::parse(&bare);
    let _ = EchoRequest::parse(&bare);
}

/// Parses a segment and, when that works, checks emit-then-parse gives it
/// back unchanged.
fn tcp_round_trip(src: Ipv4Addr, dst: Ipv4Addr, bytes: &[u8]) {
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
