//! The IP layer as the stack sees it (RFC 1122 §3.2.1): header checks,
//! fragments, other addresses, ICMP echo; and bad TCP bytes (checksums,
//! options: RFC 9293 MUST-4..7, MUST-64, MUST-68).

use crate::engine::{DropCounts, DropReason};
use std::net::Ipv4Addr;

use super::harness::*;
use crate::engine::{Engine, Stack};
use crate::wire::checksum;
use crate::wire::{EchoRequest, Ipv4Repr, SeqNum, TcpHeader, PROTO_ICMP};

fn syn_packet() -> Vec<u8> {
    packet_from(REMOTE_IP, &peer_syn(), b"")
}

pub(super) fn refix_ip_checksum(packet: &mut [u8]) {
    let header_len = usize::from(packet[0] & 0x0f) * 4;
    packet[10..12].copy_from_slice(&[0, 0]);
    let sum = checksum::checksum(&packet[..header_len]);
    packet[10..12].copy_from_slice(&sum.to_be_bytes());
}

#[track_caller]
fn assert_dropped_silently(mut packet: Vec<u8>, fix_ip_checksum: bool, why: DropReason) {
    let (mut stack, _) = listening_with(config());
    if fix_ip_checksum {
        refix_ip_checksum(&mut packet);
    }
    stack.handle_packet(ms(0), &packet);
    recv_nothing(&mut stack, ms(0));
    assert_eq!(stack.stats().packets_dropped, 1);
    assert_eq!(stack.stats().packets_in, 1);
    // Counted under its reason, for `tuntcp ss` and the stop line.
    let mut expected = DropCounts::default();
    expected.count(why, 1);
    assert_eq!(stack.stats().drops, Some(expected));
}

#[test]
fn bad_ip_header_checksum_is_dropped() {
    let mut packet = syn_packet();
    packet[10] ^= 0x55;
    assert_dropped_silently(packet, false, DropReason::Malformed);
}

#[test]
fn must_3_bad_tcp_checksum_is_dropped_without_rst() {
    let mut packet = syn_packet();
    packet[20 + 16] ^= 0x55;
    assert_dropped_silently(packet, false, DropReason::Malformed);
}

#[test]
fn a_lone_fragment_is_held_not_answered() {
    let mut packet = syn_packet();
    packet[6] |= 0x20; // more fragments
    refix_ip_checksum(&mut packet);
    let (mut stack, _) = listening_with(config());
    stack.handle_packet(ms(0), &packet);
    recv_nothing(&mut stack, ms(0));
    assert_eq!(stack.stats().packets_dropped, 0);
    assert_eq!(stack.ip_stats().fragments_received, 1);
}

#[test]
fn wrong_version_and_short_packets_are_dropped() {
    let mut packet = syn_packet();
    packet[0] = 0x55;
    assert_dropped_silently(packet, true, DropReason::Malformed);
    // Version 6 goes to the IPv6 input, where an IPv4 header makes no
    // sense (its "payload length" disagrees with the packet).
    let mut packet = syn_packet();
    packet[0] = 0x65;
    assert_dropped_silently(packet, true, DropReason::Malformed);
    assert_dropped_silently(syn_packet()[..15].to_vec(), false, DropReason::Malformed);
}

#[test]
fn total_length_longer_than_the_packet_is_dropped() {
    let mut packet = syn_packet();
    packet[3] += 10;
    assert_dropped_silently(packet, true, DropReason::Malformed);
}

#[test]
fn packets_for_other_addresses_are_ignored() {
    let mut packet = syn_packet();
    packet[19] = 99;
    assert_dropped_silently(packet, true, DropReason::NotForUs);
}

#[test]
fn illegal_option_length_drops_the_segment_must_7() {
    // An MSS option of length 0 cannot be skipped over.
    let mut packet = syn_packet();
    packet[20 + 21] = 0;
    fix_tcp_checksum(&mut packet);
    assert_dropped_silently(packet, false, DropReason::Malformed);
}

/// Rewrites the TCP checksum after a test edited the header; the IP
/// header needs no change.
fn fix_tcp_checksum(packet: &mut [u8]) {
    packet[36..38].copy_from_slice(&[0, 0]);
    let sum = checksum::tcp_checksum(REMOTE_IP, LOCAL_IP, &packet[20..]);
    packet[36..38].copy_from_slice(&sum.to_be_bytes());
}

#[test]
fn unknown_options_are_skipped_must_6_must_64() {
    // A SYN the way Linux sends it: MSS, SACK-permitted, timestamps, NOP,
    // window scale; odd alignment included.
    let options = [
        2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
    ];
    let mut packet = syn_packet();
    let header_len = 20 + options.len();
    packet.truncate(40); // drop the template's own options
    packet.extend_from_slice(&options);
    packet[20 + 12] = ((header_len / 4) as u8) << 4;
    let total = packet.len() as u16;
    packet[2..4].copy_from_slice(&total.to_be_bytes());
    refix_ip_checksum(&mut packet);
    fix_tcp_checksum(&mut packet);
    let (mut stack, _) = listening_with(config());
    stack.handle_packet(ms(0), &packet);
    // Timestamps are read but not answered (the test config has them
    // off); SACK-permitted is answered (RFC 2018 §2).
    let syn_ack = TcpHeader {
        options: our_syn_options(),
        ..our_syn_ack()
    };
    expect(&mut stack, ms(0), syn_ack, b"");
}

#[test]
fn icmp_echo_is_answered() {
    let mut stack = Stack::new(config());
    let mut icmp = [0u8; 12];
    EchoRequest {
        ident: 0x1234,
        seq_no: 7,
        data: b"ping",
    }
    .emit_request(&mut icmp);
    let mut packet = vec![0u8; 32];
    let ip = Ipv4Repr {
        src: REMOTE_IP,
        dst: LOCAL_IP,
        protocol: PROTO_ICMP,
        ttl: 64,
        ecn: crate::wire::Ecn::NotEct,
        payload_len: 12,
    };
    ip.emit(&mut packet);
    packet[20..].copy_from_slice(&icmp);
    stack.handle_packet(ms(0), &packet);
    let mut buf = [0u8; 1500];
    let len = stack.poll_transmit(ms(0), &mut buf).expect("an echo reply");
    let (reply_ip, reply) = Ipv4Repr::parse(&buf[..len]).unwrap();
    assert_eq!(
        (reply_ip.src, reply_ip.dst, reply_ip.protocol),
        (LOCAL_IP, REMOTE_IP, PROTO_ICMP)
    );
    assert_eq!(reply[0], 0, "echo reply type");
    assert_eq!(&reply[4..], &[0x12, 0x34, 0, 7, b'p', b'i', b'n', b'g']);
    assert_eq!(checksum::checksum(reply), 0);
}

#[test]
fn broadcast_source_is_dropped() {
    let mut packet = packet_from(Ipv4Addr::BROADCAST, &peer_syn(), b"");
    refix_ip_checksum(&mut packet);
    assert_dropped_silently(packet, false, DropReason::NotForUs);
}

/// MUST-63 (RFC 1122 §3.2.1.3): segments from martian sources, loopback
/// (127/8) or "this network" (0/8), are dropped, not answered.
#[test]
fn must_63_segments_from_loopback_or_this_network_sources_are_dropped() {
    for source in [Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::new(0, 1, 2, 3)] {
        let mut packet = packet_from(source, &peer_syn(), b"");
        refix_ip_checksum(&mut packet);
        assert_dropped_silently(packet, false, DropReason::NotForUs);
    }
}

/// MUST-46: connect refuses broadcast and multicast destinations, and
/// the others no peer can have (0/8, 127/8, 240/4).
#[test]
fn must_46_connect_refuses_broadcast_and_multicast_destinations() {
    let mut stack = crate::engine::Stack::new(config());
    for ip in [
        Ipv4Addr::BROADCAST,
        Ipv4Addr::new(224, 0, 0, 1),
        Ipv4Addr::new(239, 1, 2, 3),
        Ipv4Addr::new(240, 0, 0, 1),
        Ipv4Addr::new(127, 0, 0, 1),
        Ipv4Addr::new(0, 0, 0, 0),
    ] {
        let remote = std::net::SocketAddr::from((ip, 80));
        assert_eq!(
            stack.connect(ms(0), remote, None),
            Err(crate::engine::ApiError::InvalidInput),
            "{ip}"
        );
    }
    recv_nothing(&mut stack, ms(0));
}

#[test]
fn a_bad_packet_does_not_disturb_an_established_connection() {
    let (mut stack, conn) = established();
    let mut packet = packet_from(
        REMOTE_IP,
        &TcpHeader {
            flags: flags("R"),
            ..from_peer()
        },
        b"",
    );
    packet[25] ^= 1; // corrupt the sequence number: checksum fails
    stack.handle_packet(ms(20), &packet);
    assert_eq!(state(&stack, conn), "ESTABLISHED");
    send(
        &mut stack,
        ms(21),
        TcpHeader {
            seq: SeqNum(REMOTE_ISS + 1),
            ..from_peer()
        },
        b"ok",
    );
    assert_eq!(read_all(&mut stack, conn), b"ok");
}

/// MUST-57 (§3.9.2.1, RFC 1122 §4.2.3.10): a SYN addressed to a broadcast
/// or multicast address is discarded silently, with no SYN-ACK and no RST.
#[test]
fn must_57_a_syn_to_a_broadcast_or_multicast_address_is_dropped_silently() {
    let group_and_broadcasts = [
        Ipv4Addr::BROADCAST,
        Ipv4Addr::new(192, 0, 2, 255),
        Ipv4Addr::new(224, 0, 0, 1),
        Ipv4Addr::new(239, 1, 2, 3),
    ];
    for dst in group_and_broadcasts {
        let mut packet = syn_packet();
        packet[16..20].copy_from_slice(&dst.octets());
        assert_dropped_silently(packet, true, DropReason::NotForUs);
    }
}

/// MUST-45 (§3.9.1.1): once a segment has gone, every later one of the
/// connection uses the same local address: the SYN, data and the FIN.
#[test]
fn must_45_every_segment_of_a_connection_leaves_from_its_local_address() {
    let mut stack = Stack::new(config());
    let conn = stack.connect(ms(0), REMOTE, Some(LOCAL_PORT)).unwrap();
    let mut sources = vec![source_of_next_packet(&mut stack, ms(0))];
    send(&mut stack, ms(10), peer_syn_ack(), b"");
    assert_eq!(source_of_next_packet(&mut stack, ms(10)), LOCAL_IP);
    stack.send(conn, b"abc").unwrap();
    sources.push(source_of_next_packet(&mut stack, ms(10)));
    stack.shutdown_write(conn).unwrap();
    sources.push(source_of_next_packet(&mut stack, ms(20)));
    assert_eq!(sources, [LOCAL_IP; 3]);
}

fn source_of_next_packet(stack: &mut Stack, at: crate::time::Instant) -> Ipv4Addr {
    let mut buf = [0u8; 1500];
    let len = stack.poll_transmit(at, &mut buf).expect("a packet");
    Ipv4Repr::parse(&buf[..len]).unwrap().0.src
}
