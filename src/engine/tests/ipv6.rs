//! IPv6 (RFC 8200) as the stack sees it: both families on one stack, a
//! dual-stack listener, ICMPv6 (RFC 4443) echo and errors, Packet Too Big
//! (RFC 8201), the packets a TUN host drops (extension headers, fragments,
//! Neighbour Discovery), and IPv6 martians (RFC 4291). The core TCP cases
//! run over both families where they live (`handshake.rs`, `data.rs`,
//! `close.rs`, through `on_both_families`).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use super::harness::*;
use crate::engine::{ApiError, DropCounts, DropReason, Engine, Stack, StackConfig};
use crate::time::Instant;
use crate::wire::icmpv6::{self, IPV6_MIN_MTU};
use crate::wire::{
    EchoRequest, IcmpError, Icmpv6Message, Ipv6Repr, SeqNum, TcpHeader, TcpOptions, TcpSegment,
    PROTO_ICMPV6,
};

const ROUTER6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 1);

/// The next packet we send, whole.
#[track_caller]
fn next_packet(stack: &mut Stack, at: Instant) -> Vec<u8> {
    stack.handle_timeout(at);
    let mut buf = [0u8; 1500];
    let len = stack.poll_transmit(at, &mut buf).expect("a packet");
    buf[..len].to_vec()
}

/// Exactly one drop, for `why`.
#[track_caller]
fn assert_one_drop(stack: &Stack, why: DropReason) {
    let mut expected = DropCounts::default();
    expected.count(why, 1);
    assert_eq!(stack.stats().drops, Some(expected));
}

#[test]
fn one_stack_serves_both_families_on_one_port_with_a_listener_each() {
    let mut stack = Stack::new(config());
    let v4 = stack.listen(LOCAL, 8).unwrap();
    let v6 = stack.listen((LOCAL_IP6, LOCAL_PORT).into(), 8).unwrap();
    let mut accepted = Vec::new();
    on_both_families(|| {
        send(&mut stack, ms(0), peer_syn(), b"");
        expect(&mut stack, ms(0), our_syn_ack(), b"");
        send(&mut stack, ms(10), from_peer(), b"hi");
        let listener = if remote().is_ipv6() { v6 } else { v4 };
        let conn = stack.accept(listener).unwrap();
        assert_eq!(stack.conn_info(conn).unwrap().remote, remote());
        assert_eq!(read_all(&mut stack, conn), b"hi");
        let ack = TcpHeader {
            ack: Some(SeqNum(REMOTE_ISS + 3)),
            // Two bytes read do not reopen the window (SWS avoidance).
            window: LOCAL_WIN - 2,
            ..to_peer()
        };
        expect(&mut stack, ms(10), ack, b"");
        accepted.push(conn);
    });
    assert_eq!(accepted.len(), 2);
    assert_eq!(stack.stats().connections_opened, 2);
}

#[test]
fn a_listener_on_an_unspecified_address_takes_both_families_rfc3493_s3_7() {
    for any in ["0.0.0.0:80", "[::]:80"] {
        let mut stack = Stack::new(config());
        let listener = stack.listen(any.parse().unwrap(), 8).unwrap();
        let mut remotes = Vec::new();
        on_both_families(|| {
            send(&mut stack, ms(0), peer_syn(), b"");
            expect(&mut stack, ms(0), our_syn_ack(), b"");
            send(&mut stack, ms(10), from_peer(), b"");
            let conn = stack.accept(listener).unwrap();
            let info = stack.conn_info(conn).unwrap();
            assert_eq!((info.local, info.remote), (local(), remote()), "{any}");
            remotes.push(info.remote);
        });
        assert!(remotes[0].is_ipv4() && remotes[1].is_ipv6(), "{any}");
    }
}

#[test]
fn a_listener_on_one_family_refuses_the_other_with_a_rst() {
    let mut stack = Stack::new(config());
    let v6_only: SocketAddr = (LOCAL_IP6, LOCAL_PORT).into();
    let listener = stack.listen(v6_only, 8).unwrap();
    // The IPv4 port is free: an IPv4 listener may share the number.
    let v4 = stack.listen(LOCAL, 8).unwrap();
    assert_eq!(
        stack.listen("0.0.0.0:80".parse().unwrap(), 8),
        Err(ApiError::AddrInUse)
    );
    stack.close_listener(v4);
    send(&mut stack, ms(0), peer_syn(), b"");
    expect(&mut stack, ms(0), rst_to_peer_syn(), b"");
    on_ipv6(|| {
        send(&mut stack, ms(1), peer_syn(), b"");
        expect(&mut stack, ms(1), our_syn_ack(), b"");
    });
    assert_eq!(stack.accept(listener), Err(ApiError::WouldBlock));
}

#[test]
fn listening_or_connecting_without_an_ipv6_address_is_refused() {
    let mut stack = Stack::new(StackConfig::new(LOCAL_IP).with_fixed_secret());
    let v6: SocketAddr = (LOCAL_IP6, 80).into();
    assert_eq!(stack.listen(v6, 8), Err(ApiError::AddrNotAvailable));
    let peer: SocketAddr = (REMOTE_IP6, 80).into();
    assert_eq!(
        stack.connect(ms(0), peer, None),
        Err(ApiError::AddrNotAvailable)
    );
    // And what arrives over IPv6 is no one's: dropped quietly.
    stack.listen("[::]:80".parse().unwrap(), 8).unwrap();
    on_ipv6(|| send(&mut stack, ms(0), peer_syn(), b""));
    recv_nothing(&mut stack, ms(0));
    assert_one_drop(&stack, DropReason::NotForUs);
}

#[test]
fn the_mss_over_ipv6_is_the_mtu_less_60_and_1220_by_default_s3_7_1() {
    let cfg = config().with_mtu(9000);
    assert_eq!(cfg.mss_for(REMOTE_IP.into()), 8960);
    assert_eq!(cfg.mss_for(REMOTE_IP6.into()), 8940);
    on_ipv6(|| {
        // No MSS option on the SYN: the IPv6 default, 1220 (MUST-15).
        let (mut stack, listener) = listening_with(config());
        let syn = TcpHeader {
            options: TcpOptions::default(),
            ..peer_syn()
        };
        send(&mut stack, ms(0), syn, b"");
        expect(&mut stack, ms(0), our_syn_ack(), b"");
        send(&mut stack, ms(10), from_peer(), b"");
        let conn = stack.accept(listener).unwrap();
        stack.send(conn, &[7u8; 2000]).unwrap();
        let (header, payload) = recv(&mut stack, ms(20));
        assert_eq!((header.seq, payload.len()), (SeqNum(LOCAL_ISS + 1), 1220));
    });
}

#[test]
fn ipv6_segments_carry_the_traffic_class_and_hop_limit_rfc8200_s7() {
    on_ipv6(|| {
        let (mut stack, conn) = established_with(StackConfig { ttl: 9, ..config() });
        stack.set_tos(conn, 0xb8).unwrap();
        stack.send(conn, b"x").unwrap();
        let packet = next_packet(&mut stack, ms(20));
        let (header, _) = etherparse::Ipv6Header::from_slice(&packet).unwrap();
        assert_eq!((header.traffic_class, header.hop_limit), (0xb8, 9));
    });
}

/// An ICMPv6 packet from `src` to us carrying `build`'s message.
fn icmpv6_to_us(build: impl FnOnce(&mut [u8]) -> Option<usize>) -> Vec<u8> {
    let mut buf = vec![0u8; 1500];
    let len = build(&mut buf).expect("room for the message");
    buf.truncate(len);
    buf
}

#[test]
fn echo_requests_are_answered_rfc4443_s4_2() {
    let mut stack = Stack::new(config());
    let echo = EchoRequest {
        ident: 0x4242,
        seq_no: 3,
        data: b"ping6",
    };
    let request = icmpv6_to_us(|buf| icmpv6::emit_echo_request(&echo, REMOTE_IP6, LOCAL_IP6, buf));
    stack.handle_packet(ms(0), &request);
    let reply = next_packet(&mut stack, ms(0));
    let (ip, body) = Ipv6Repr::parse(&reply).unwrap();
    assert_eq!(
        (ip.src, ip.dst, ip.protocol),
        (LOCAL_IP6, REMOTE_IP6, PROTO_ICMPV6)
    );
    assert_eq!(&body[..2], &[129, 0], "echo reply");
    assert_eq!(
        &body[4..],
        &[0x42, 0x42, 0, 3, b'p', b'i', b'n', b'g', b'6']
    );
    assert!(Icmpv6Message::parse(ip.src, ip.dst, body)
        .is_ok_and(|m| matches!(m, Icmpv6Message::Ignored(_))));
}

#[test]
fn neighbour_discovery_and_mld_are_dropped_quietly_and_counted() {
    let mut stack = Stack::new(config());
    let link_local: Ipv6Addr = "fe80::1".parse().unwrap();
    // A router solicitation to all routers (ff02::2), as the kernel sends
    // when tun0 comes up, and one to our own address.
    for dst in ["ff02::2".parse().unwrap(), LOCAL_IP6] {
        let mut buf = [0u8; 64];
        buf[..8].copy_from_slice(&[133, 0, 0, 0, 0, 0, 0, 0]);
        let sum = crate::wire::checksum::upper_layer_checksum_v6(
            link_local,
            dst,
            PROTO_ICMPV6,
            &buf[..8],
        );
        buf[2..4].copy_from_slice(&sum.to_be_bytes());
        let mut packet = vec![0u8; 48];
        Ipv6Repr {
            src: link_local,
            dst,
            protocol: PROTO_ICMPV6,
            hop_limit: 255,
            ecn: crate::wire::Ecn::NotEct,
            payload_len: 8,
        }
        .emit_with(&mut packet, Default::default());
        packet[40..].copy_from_slice(&buf[..8]);
        stack.handle_packet(ms(0), &packet);
    }
    recv_nothing(&mut stack, ms(0));
    assert_eq!(stack.ip_stats().icmpv6_ignored, 2);
    assert_eq!(stack.stats().drops.unwrap().not_for_us, 2);
}

/// The peer's SYN over IPv6 with extension headers `headers` (the first
/// of kind `first`) between the fixed header and TCP.
fn syn_behind(first: u8, headers: &[u8]) -> Vec<u8> {
    let mut packet = packet_from(REMOTE_IP6, &peer_syn(), b"");
    packet[6] = first;
    packet.splice(40..40, headers.iter().copied());
    let len = (packet.len() - 40) as u16;
    packet[4..6].copy_from_slice(&len.to_be_bytes());
    packet
}

#[test]
fn fragments_are_dropped_with_their_reason_rfc8200_s4_5() {
    on_ipv6(|| {
        let (mut stack, _) = listening_with(config());
        // A Fragment header (offset 0, M set) before TCP.
        let packet = syn_behind(44, &[6, 0, 0, 1, 0, 0, 0, 9]);
        stack.handle_packet(ms(0), &packet);
        recv_nothing(&mut stack, ms(0));
        assert_one_drop(&stack, DropReason::Fragment);
        assert_eq!(stack.ip_stats().ipv6_fragments_dropped, 1);
    });
}

#[test]
fn a_syn_behind_extension_headers_is_answered_rfc8200_s4() {
    on_ipv6(|| {
        let (mut stack, _) = listening_with(config());
        // Hop-by-Hop and Destination Options (PadN), then TCP.
        let headers = [60, 0, 1, 4, 0, 0, 0, 0, 6, 0, 1, 4, 0, 0, 0, 0];
        let packet = syn_behind(0, &headers);
        stack.handle_packet(ms(0), &packet);
        expect(&mut stack, ms(0), our_syn_ack(), b"");
    });
}

/// RFC 4291: unspecified (§2.5.2), loopback (§2.5.3), multicast (§2.7)
/// and IPv4-mapped (§2.5.5.2) sources are no peer's; connect refuses them.
#[test]
fn ipv6_martians_are_refused_rfc4291() {
    let martians = ["::", "::1", "ff02::1", "ff0e::1234", "::ffff:192.0.2.1"];
    for martian in martians {
        let ip: Ipv6Addr = martian.parse().unwrap();
        let (mut stack, _) = on_ipv6_listening();
        stack.handle_packet(ms(0), &packet_from(ip, &peer_syn(), b""));
        recv_nothing(&mut stack, ms(0));
        assert_one_drop(&stack, DropReason::NotForUs);
        let remote = SocketAddr::new(IpAddr::V6(ip), 80);
        assert_eq!(
            stack.connect(ms(0), remote, None),
            Err(ApiError::InvalidInput),
            "{martian}"
        );
    }
    // Link-local is a peer like any on a TUN link.
    let (mut stack, _) = on_ipv6_listening();
    let link_local: Ipv6Addr = "fe80::1".parse().unwrap();
    stack.handle_packet(ms(0), &packet_from(link_local, &peer_syn(), b""));
    let answer = next_packet(&mut stack, ms(0));
    let (_, body) = Ipv6Repr::parse(&answer).unwrap();
    let seg = TcpSegment::parse(LOCAL_IP6, link_local, body).unwrap();
    assert!(seg.header.flags.syn);
}

fn on_ipv6_listening() -> (Stack, crate::engine::ListenerId) {
    let mut stack = Stack::new(config());
    let listener = stack.listen("[::]:80".parse().unwrap(), 8).unwrap();
    (stack, listener)
}

/// A router answers `original` (an IPv6 packet we sent) with `error`.
fn icmpv6_error_about(stack: &mut Stack, at: Instant, error: IcmpError, original: &[u8]) {
    let packet = icmpv6_to_us(|buf| icmpv6::emit_error(error, ROUTER6, LOCAL_IP6, original, buf));
    stack.handle_packet(at, &packet);
}

#[test]
fn packet_too_big_lowers_the_path_mtu_and_resends_smaller_rfc8201_s4() {
    on_ipv6(|| {
        let (mut stack, conn) = established();
        stack.send(conn, &[1u8; 3000]).unwrap();
        let first = next_packet(&mut stack, ms(20));
        assert_eq!(first.len(), 1500, "full-sized: 40 + 20 + 1440");
        let _ = next_packet(&mut stack, ms(20));
        icmpv6_error_about(
            &mut stack,
            ms(25),
            IcmpError::PacketTooBig { mtu: 1400 },
            &first,
        );
        assert_eq!(stack.ip_stats().path_mtu_reductions, 1);
        // What was in flight goes again at once, in 1400-byte packets.
        let again = next_packet(&mut stack, ms(25));
        assert_eq!(again.len(), 1400);
        let (header, payload) = {
            let (ip, body) = Ipv6Repr::parse(&again).unwrap();
            let seg = TcpSegment::parse(ip.src, ip.dst, body).unwrap();
            (seg.header, seg.payload.len())
        };
        assert_eq!((header.seq, payload), (SeqNum(LOCAL_ISS + 1), 1340));
    });
}

#[test]
fn packet_too_big_below_1280_or_not_in_flight_is_ignored_rfc8201_s4() {
    on_ipv6(|| {
        let (mut stack, conn) = established();
        stack.send(conn, &[1u8; 100]).unwrap();
        let sent = next_packet(&mut stack, ms(20));
        let below = (IPV6_MIN_MTU - 1) as u32;
        icmpv6_error_about(
            &mut stack,
            ms(21),
            IcmpError::PacketTooBig { mtu: below },
            &sent,
        );
        recv_nothing(&mut stack, ms(21));
        assert_eq!(stack.ip_stats().icmp_errors_ignored, 1);
        assert_eq!(stack.ip_stats().path_mtu_reductions, 0);
        // Acknowledged: no longer in flight (RFC 5927 §4.1).
        send(
            &mut stack,
            ms(30),
            TcpHeader {
                ack: Some(SeqNum(LOCAL_ISS + 101)),
                ..from_peer()
            },
            b"",
        );
        icmpv6_error_about(
            &mut stack,
            ms(31),
            IcmpError::PacketTooBig { mtu: 1280 },
            &sent,
        );
        assert_eq!(stack.ip_stats().path_mtu_reductions, 0);
    });
}

#[test]
fn port_unreachable_aborts_a_connect_in_syn_sent_shld_26() {
    on_ipv6(|| {
        let mut stack = Stack::new(config());
        let conn = stack.connect(ms(0), remote(), Some(LOCAL_PORT)).unwrap();
        let syn = next_packet(&mut stack, ms(0));
        icmpv6_error_about(&mut stack, ms(5), IcmpError::PortUnreachable, &syn);
        assert_eq!(stack.connect_status(conn), Err(ApiError::ConnectionRefused));
        // Soft errors do not abort (MUST-56): a fresh connect, no route.
        let conn = stack
            .connect(ms(10), remote(), Some(LOCAL_PORT + 1))
            .unwrap();
        let syn = next_packet(&mut stack, ms(10));
        icmpv6_error_about(&mut stack, ms(15), IcmpError::NetUnreachable, &syn);
        assert_eq!(stack.connect_status(conn), Err(ApiError::WouldBlock));
        assert_eq!(
            stack.take_error(conn),
            Ok(Some(ApiError::NetworkUnreachable))
        );
    });
}
