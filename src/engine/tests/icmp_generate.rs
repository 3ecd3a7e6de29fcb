//! The ICMP errors the stack sends (`stack/icmp_generate.rs`): IPv4
//! protocol unreachable (RFC 1122 §3.2.2.1), IPv6 Parameter Problem for an
//! unrecognized Next Header or option (RFC 8200 §4, §4.2; RFC 4443 §3.4),
//! what is never answered (RFC 1122 §3.2.2, RFC 4443 §2.4 (e)), how much
//! is quoted (576 and 1280 bytes in all) and the rate limit (RFC 4443
//! §2.4 (f)), on the engine's virtual clock.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::fragments::fragments_of;
use super::harness::*;
use crate::engine::{Engine, Stack, StackConfig};
use crate::time::Instant;
use crate::wire::checksum::{checksum, upper_layer_checksum_v6};
use crate::wire::icmpv6::{self, IPV6_MIN_MTU};
use crate::wire::{EchoRequest, Ipv4Repr, Ipv6Repr, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP};

const UDP: u8 = 17;
const DESTINATION_OPTIONS: u8 = 60;
const HOP_BY_HOP: u8 = 0;

/// A UDP header (ports 5353 -> 9) and `data`: a transport we lack.
fn udp(data: &[u8]) -> Vec<u8> {
    let len = (8 + data.len()) as u16;
    let mut bytes = vec![0x14, 0xe9, 0, 9];
    bytes.extend_from_slice(&len.to_be_bytes());
    bytes.extend_from_slice(&[0, 0]);
    bytes.extend_from_slice(data);
    bytes
}

/// An IPv4 datagram of `protocol` from `src` to `dst`.
fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, payload: &[u8]) -> Vec<u8> {
    let mut packet = vec![0u8; 20 + payload.len()];
    Ipv4Repr {
        src,
        dst,
        protocol,
        ttl: 64,
        ecn: crate::wire::Ecn::NotEct,
        payload_len: payload.len(),
    }
    .emit(&mut packet);
    packet[20..].copy_from_slice(payload);
    packet
}

/// An IPv6 packet from `src` to `dst` whose fixed header names `first`,
/// with `body` (extension headers and upper layer) after it.
fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, first: u8, body: &[u8]) -> Vec<u8> {
    let mut packet = vec![0u8; 40 + body.len()];
    Ipv6Repr {
        src,
        dst,
        protocol: first,
        hop_limit: 64,
        ecn: crate::wire::Ecn::NotEct,
        payload_len: body.len(),
    }
    .emit_with(&mut packet, Default::default());
    packet[40..].copy_from_slice(body);
    packet
}

/// An 8-byte Destination Options (or Hop-by-Hop) header before `next`,
/// holding the option `kind` with 4 bytes of data after a Pad1 and a
/// PadN of 0 (so the option sits 3 bytes into the options).
fn options_before(next: u8, kind: u8) -> Vec<u8> {
    vec![next, 0, 0, 1, 0, kind, 1, 0xaa]
}

/// The one packet the stack sends now: an error, whole.
#[track_caller]
fn the_error(stack: &mut Stack, at: Instant) -> Vec<u8> {
    let mut buf = [0u8; 1500];
    let len = stack.poll_transmit(at, &mut buf).expect("an ICMP error");
    assert_eq!(stack.poll_transmit(at, &mut buf), None, "one packet only");
    buf[..len].to_vec()
}

/// Checks an IPv4 ICMP error from us to the peer: its type, code and
/// second word, a valid checksum; returns the quote.
#[track_caller]
fn icmpv4_error(packet: &[u8], kind_code: [u8; 2]) -> Vec<u8> {
    let (ip, icmp) = Ipv4Repr::parse(packet).unwrap();
    assert_eq!(
        (ip.src, ip.dst, ip.protocol),
        (LOCAL_IP, REMOTE_IP, PROTO_ICMP)
    );
    assert_eq!(checksum(icmp), 0, "ICMP checksum");
    assert_eq!(&icmp[..2], &kind_code);
    assert_eq!(&icmp[4..8], &[0; 4], "unused");
    icmp[8..].to_vec()
}

/// Checks an ICMPv6 Parameter Problem from us to `to`: code, pointer,
/// checksum over the pseudo-header; returns the quote.
#[track_caller]
fn parameter_problem(packet: &[u8], to: Ipv6Addr, code: u8, pointer: u32) -> Vec<u8> {
    let (ip, icmp) = Ipv6Repr::parse(packet).unwrap();
    assert_eq!((ip.src, ip.dst, ip.protocol), (LOCAL_IP6, to, PROTO_ICMPV6));
    assert_eq!(
        upper_layer_checksum_v6(ip.src, ip.dst, PROTO_ICMPV6, icmp),
        0
    );
    assert_eq!(&icmp[..2], &[4, code], "Parameter Problem");
    assert_eq!(&icmp[4..8], &pointer.to_be_bytes(), "pointer");
    icmp[8..].to_vec()
}

#[test]
fn a_protocol_we_lack_gets_protocol_unreachable_rfc1122_s3_2_2_1() {
    let mut stack = Stack::new(config());
    let datagram = ipv4(REMOTE_IP, LOCAL_IP, UDP, &udp(b"hello"));
    stack.handle_packet(ms(0), &datagram);
    let quote = icmpv4_error(&the_error(&mut stack, ms(0)), [3, 2]);
    assert_eq!(quote, datagram, "the whole datagram, under 576 bytes");
    assert_eq!(stack.ip_stats().icmp_errors_sent, 1);
    assert_eq!(stack.stats().drops.unwrap().not_for_us, 1);
}

#[test]
fn an_ipv4_error_is_at_most_576_bytes_rfc1812_s4_3_2_3() {
    let mut stack = Stack::new(config());
    let datagram = ipv4(REMOTE_IP, LOCAL_IP, UDP, &udp(&[7; 1000]));
    stack.handle_packet(ms(0), &datagram);
    let error = the_error(&mut stack, ms(0));
    assert_eq!(error.len(), 576);
    assert_eq!(icmpv4_error(&error, [3, 2]), datagram[..548]);
}

#[test]
fn a_reassembled_datagram_is_quoted_with_a_whole_header() {
    let mut stack = Stack::new(config());
    let datagram = ipv4(REMOTE_IP, LOCAL_IP, UDP, &udp(&[5; 40]));
    for fragment in fragments_of(&datagram, 16, 77) {
        stack.handle_packet(ms(0), &fragment);
    }
    let quote = icmpv4_error(&the_error(&mut stack, ms(0)), [3, 2]);
    // RFC 1122 §3.2.2: not about a non-first fragment. The datagram is
    // whole again; the quote's header says so (no offset, no MF).
    let (ip, payload) = Ipv4Repr::parse(&quote).unwrap();
    assert_eq!((ip.protocol, ip.src, ip.dst), (UDP, REMOTE_IP, LOCAL_IP));
    assert_eq!(payload, &datagram[20..]);
}

#[test]
fn no_ipv4_error_about_icmp_or_martians_rfc1122_s3_2_2() {
    let mut stack = Stack::new(config());
    // An ICMP message we do not take (a timestamp request, type 13).
    let mut icmp = [13u8, 0, 0, 0, 0, 0, 0, 0];
    let sum = checksum(&icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    stack.handle_packet(ms(0), &ipv4(REMOTE_IP, LOCAL_IP, PROTO_ICMP, &icmp));
    // Sources that name no single host, destinations that are not ours
    // (broadcast, multicast).
    for src in ["0.0.0.0", "255.255.255.255", "224.0.0.1", "127.0.0.1"] {
        let src: Ipv4Addr = src.parse().unwrap();
        stack.handle_packet(ms(0), &ipv4(src, LOCAL_IP, UDP, &udp(b"x")));
    }
    for dst in ["255.255.255.255", "192.0.2.255", "224.0.0.1"] {
        let dst: Ipv4Addr = dst.parse().unwrap();
        stack.handle_packet(ms(0), &ipv4(REMOTE_IP, dst, UDP, &udp(b"x")));
    }
    recv_nothing(&mut stack, ms(0));
    assert_eq!(stack.ip_stats().icmp_errors_sent, 0);
}

#[test]
fn an_unrecognized_next_header_gets_parameter_problem_1_rfc8200_s4() {
    let mut stack = Stack::new(config());
    let packet = ipv6(REMOTE_IP6, LOCAL_IP6, UDP, &udp(b"hello"));
    stack.handle_packet(ms(0), &packet);
    let error = the_error(&mut stack, ms(0));
    // The pointer: the fixed header's Next Header field.
    assert_eq!(parameter_problem(&error, REMOTE_IP6, 1, 6), packet);
    // Behind a Destination Options header, that header's own field.
    let mut body = options_before(UDP, 0x1e);
    body.extend_from_slice(&udp(b"hello"));
    let packet = ipv6(REMOTE_IP6, LOCAL_IP6, DESTINATION_OPTIONS, &body);
    stack.handle_packet(ms(0), &packet);
    let error = the_error(&mut stack, ms(0));
    assert_eq!(parameter_problem(&error, REMOTE_IP6, 1, 40), packet);
    assert_eq!(stack.ip_stats().icmp_errors_sent, 2);
}

#[test]
fn no_next_header_is_no_error_rfc8200_s4_7() {
    let mut stack = Stack::new(config());
    stack.handle_packet(ms(0), &ipv6(REMOTE_IP6, LOCAL_IP6, 59, b""));
    recv_nothing(&mut stack, ms(0));
    assert_eq!(stack.stats().drops.unwrap().not_for_us, 1);
}

#[test]
fn an_ipv6_error_quotes_up_to_1280_bytes_rfc4443_s2_4_c() {
    let mut stack = Stack::new(config());
    let packet = ipv6(REMOTE_IP6, LOCAL_IP6, UDP, &udp(&[9; 1400]));
    stack.handle_packet(ms(0), &packet);
    let error = the_error(&mut stack, ms(0));
    assert_eq!(error.len(), IPV6_MIN_MTU);
    let quote = parameter_problem(&error, REMOTE_IP6, 1, 6);
    assert_eq!(quote, packet[..IPV6_MIN_MTU - 48]);
}

/// A SYN to our listener behind an options header holding `kind`.
fn syn_with_option(header: u8, kind: u8) -> Vec<u8> {
    let syn = packet_from(REMOTE_IP6, &peer_syn(), b"");
    let mut body = options_before(PROTO_TCP, kind);
    body.extend_from_slice(&syn[40..]);
    ipv6(REMOTE_IP6, LOCAL_IP6, header, &body)
}

#[test]
fn an_unknown_option_does_what_its_type_says_rfc8200_s4_2() {
    on_ipv6(|| {
        // 00: skipped, the SYN is answered.
        let (mut stack, _) = listening_with(config());
        stack.handle_packet(ms(0), &syn_with_option(DESTINATION_OPTIONS, 0x1e));
        expect(&mut stack, ms(0), our_syn_ack(), b"");
        // 01: discarded, silently.
        let (mut stack, _) = listening_with(config());
        stack.handle_packet(ms(0), &syn_with_option(HOP_BY_HOP, 0x5e));
        recv_nothing(&mut stack, ms(0));
        assert_eq!(stack.ip_stats().ipv6_extensions_refused, 1);
        // 10 and 11 (to our unicast address): Parameter Problem code 2,
        // pointing at the option's type (40 + 2 + Pad1 + PadN of 2).
        for kind in [0x9e, 0xde] {
            let (mut stack, _) = listening_with(config());
            let packet = syn_with_option(DESTINATION_OPTIONS, kind);
            stack.handle_packet(ms(0), &packet);
            let error = the_error(&mut stack, ms(0));
            assert_eq!(parameter_problem(&error, REMOTE_IP6, 2, 45), packet);
            assert_eq!(stack.ip_stats().ipv6_extensions_refused, 1);
        }
    });
}

#[test]
fn to_all_nodes_only_an_option_of_type_10_is_reported_rfc4443_s2_4_e_3() {
    let all_nodes: Ipv6Addr = "ff02::1".parse().unwrap();
    let mut stack = Stack::new(config());
    for kind in [0xde, 0x5e] {
        let mut body = options_before(UDP, kind);
        body.extend_from_slice(&udp(b"x"));
        stack.handle_packet(
            ms(0),
            &ipv6(REMOTE_IP6, all_nodes, DESTINATION_OPTIONS, &body),
        );
    }
    recv_nothing(&mut stack, ms(0));
    let mut body = options_before(UDP, 0x9e);
    body.extend_from_slice(&udp(b"x"));
    let packet = ipv6(REMOTE_IP6, all_nodes, DESTINATION_OPTIONS, &body);
    stack.handle_packet(ms(0), &packet);
    let error = the_error(&mut stack, ms(0));
    assert_eq!(parameter_problem(&error, REMOTE_IP6, 2, 45), packet);
}

#[test]
fn no_ipv6_error_about_errors_multicast_or_martians_rfc4443_s2_4_e() {
    let mut stack = Stack::new(config());
    // (e.1) An ICMPv6 error (Destination Unreachable) behind an option
    // that asks for a report.
    let mut body = options_before(PROTO_ICMPV6, 0x9e);
    body.extend_from_slice(&[1, 4, 0, 0, 0, 0, 0, 0]);
    stack.handle_packet(
        ms(0),
        &ipv6(REMOTE_IP6, LOCAL_IP6, DESTINATION_OPTIONS, &body),
    );
    // (e.3) To a multicast group; (e.4) from an address that names no
    // single host.
    let all_nodes: Ipv6Addr = "ff02::1".parse().unwrap();
    stack.handle_packet(ms(0), &ipv6(REMOTE_IP6, all_nodes, UDP, &udp(b"x")));
    for src in ["::", "ff02::1"] {
        let src: Ipv6Addr = src.parse().unwrap();
        stack.handle_packet(ms(0), &ipv6(src, LOCAL_IP6, UDP, &udp(b"x")));
        let mut body = options_before(UDP, 0x9e);
        body.extend_from_slice(&udp(b"x"));
        stack.handle_packet(ms(0), &ipv6(src, LOCAL_IP6, DESTINATION_OPTIONS, &body));
    }
    recv_nothing(&mut stack, ms(0));
    assert_eq!(stack.ip_stats().icmp_errors_sent, 0);
    // An echo request (informational) behind the same option is reported.
    let echo = EchoRequest {
        ident: 1,
        seq_no: 1,
        data: b"",
    };
    let mut request = [0u8; 64];
    let len = icmpv6::emit_echo_request(&echo, REMOTE_IP6, LOCAL_IP6, &mut request).unwrap();
    let mut body = options_before(PROTO_ICMPV6, 0x9e);
    body.extend_from_slice(&request[40..len]);
    let packet = ipv6(REMOTE_IP6, LOCAL_IP6, DESTINATION_OPTIONS, &body);
    stack.handle_packet(ms(0), &packet);
    let error = the_error(&mut stack, ms(0));
    assert_eq!(parameter_problem(&error, REMOTE_IP6, 2, 45), packet);
}

#[test]
fn errors_are_rate_limited_by_a_token_bucket_rfc4443_s2_4_f() {
    let config = StackConfig {
        icmp_errors_per_sec: 10,
        icmp_errors_burst: 3,
        ..config()
    };
    let mut stack = Stack::new(config);
    let both = [
        ipv4(REMOTE_IP, LOCAL_IP, UDP, &udp(b"x")),
        ipv6(REMOTE_IP6, LOCAL_IP6, UDP, &udp(b"x")),
    ];
    let sent = |stack: &mut Stack, at: Instant, count: usize| {
        for i in 0..count {
            stack.handle_packet(at, &both[i % 2]);
        }
        let mut buf = [0u8; 1500];
        std::iter::from_fn(|| stack.poll_transmit(at, &mut buf)).count()
    };
    // The burst, shared by both families; then nothing.
    assert_eq!(sent(&mut stack, ms(0), 5), 3);
    assert_eq!(stack.ip_stats().icmp_errors_rate_limited, 2);
    assert_eq!(sent(&mut stack, ms(99), 1), 0);
    // One token every 100 ms, at most the burst after a quiet time.
    assert_eq!(sent(&mut stack, ms(100), 2), 1);
    assert_eq!(sent(&mut stack, ms(10_000), 10), 3);
    let ip = stack.ip_stats();
    assert_eq!((ip.icmp_errors_sent, ip.icmp_errors_rate_limited), (7, 11));
}
