//! ICMP errors (RFC 9293 §3.9.2.2: MUST-54..56, SHLD-25, SHLD-26; RFC
//! 1122 §4.2.3.9; RFC 5461; RFC 5927) and path MTU discovery (RFC 1191).
//! A router at 198.51.100.1 sends the errors, quoting the exact packet
//! the stack sent.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::harness::*;
use crate::engine::{ApiError, ConnId, Engine, Stack, StackConfig};
use crate::time::Instant;
use crate::wire::icmp_error::emit_icmp_error;
use crate::wire::{IcmpError, Ipv4Repr, SeqNum, TcpHeader, TcpSegment, PROTO_ICMP};

const ROUTER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);

/// The next packet the stack sends, whole (IPv4 header included).
#[track_caller]
pub(super) fn recv_packet(stack: &mut Stack, at: Instant) -> Vec<u8> {
    stack.handle_timeout(at);
    let mut buf = [0u8; 1500];
    let len = stack.poll_transmit(at, &mut buf).expect("a packet");
    buf[..len].to_vec()
}

/// The TCP header and payload length of a packet we sent.
fn segment_of(packet: &[u8]) -> (TcpHeader, usize) {
    let (ip, bytes) = Ipv4Repr::parse(packet).unwrap();
    let seg = TcpSegment::parse(ip.src, ip.dst, bytes).unwrap();
    (seg.header, seg.payload.len())
}

/// The router answers `original` (a packet we sent) with `error`.
pub(super) fn icmp_about(stack: &mut Stack, at: Instant, error: IcmpError, original: &[u8]) {
    let mut packet = [0u8; 128];
    let len = emit_icmp_error(error, original, &mut packet[20..]);
    Ipv4Repr {
        src: ROUTER,
        dst: LOCAL_IP,
        protocol: PROTO_ICMP,
        ttl: 64,
        ecn: crate::wire::Ecn::NotEct,
        payload_len: len,
    }
    .emit(&mut packet);
    stack.handle_packet(at, &packet[..20 + len]);
}

/// An established connection with `data` sent and not acknowledged; the
/// packets that carried it.
fn with_data_in_flight(config: StackConfig, data: &[u8]) -> (Stack, ConnId, Vec<Vec<u8>>) {
    let (mut stack, conn) = established_with(config);
    assert_eq!(stack.send(conn, data), Ok(data.len()));
    let mut packets = Vec::new();
    let mut buf = [0u8; 1500];
    while let Some(len) = stack.poll_transmit(ms(20), &mut buf) {
        packets.push(buf[..len].to_vec());
    }
    (stack, conn, packets)
}

/// The peer acknowledges our first `bytes` bytes.
fn peer_acks(stack: &mut Stack, at: Instant, bytes: u32) {
    let ack = TcpHeader {
        ack: Some(SeqNum(LOCAL_ISS + 1 + bytes)),
        ..from_peer()
    };
    send(stack, at, ack, b"");
}

fn syn_sent() -> (Stack, ConnId, Vec<u8>) {
    let mut stack = Stack::new(config());
    let conn = stack.connect(ms(0), REMOTE, Some(LOCAL_PORT)).unwrap();
    let syn = recv_packet(&mut stack, ms(0));
    (stack, conn, syn)
}

#[test]
fn shld_26_port_unreachable_aborts_a_connection_in_syn_sent() {
    let (mut stack, conn, syn) = syn_sent();
    icmp_about(&mut stack, ms(5), IcmpError::PortUnreachable, &syn);
    assert_eq!(stack.connect_status(conn), Err(ApiError::ConnectionRefused));
    assert_eq!(state(&stack, conn), "CLOSED");
    recv_nothing(&mut stack, ms(10_000));
    assert_eq!(stack.ip_stats().icmp_errors_applied, 1);
}

#[test]
fn shld_26_protocol_unreachable_aborts_a_connection_in_syn_sent() {
    let (mut stack, conn, syn) = syn_sent();
    icmp_about(&mut stack, ms(5), IcmpError::ProtocolUnreachable, &syn);
    assert_eq!(stack.connect_status(conn), Err(ApiError::ConnectionRefused));
}

#[test]
fn must_56_soft_error_in_syn_sent_does_not_abort_and_names_the_timeout() {
    let cfg = StackConfig {
        handshake_timeout: Duration::from_secs(3),
        ..config()
    };
    let mut stack = Stack::new(cfg);
    let conn = stack.connect(ms(0), REMOTE, Some(LOCAL_PORT)).unwrap();
    let syn = recv_packet(&mut stack, ms(0));
    icmp_about(&mut stack, ms(5), IcmpError::HostUnreachable, &syn);
    assert_eq!(stack.connect_status(conn), Err(ApiError::WouldBlock));
    assert_eq!(state(&stack, conn), "SYN-SENT");
    // The SYN is still retransmitted (RFC 1122 §4.2.3.9: MUST NOT abort).
    let (again, _) = segment_of(&recv_packet(&mut stack, ms(1000)));
    assert!(again.flags.syn);
    // Given up, the connect reports why (RFC 1122 §4.2.3.9, SHLD-25).
    stack.handle_timeout(ms(3000));
    assert_eq!(stack.connect_status(conn), Err(ApiError::HostUnreachable));
}

#[test]
fn must_47_must_56_shld_25_soft_error_is_reported_and_the_connection_goes_on() {
    let (mut stack, conn, packets) = with_data_in_flight(config(), b"hello");
    icmp_about(&mut stack, ms(25), IcmpError::HostUnreachable, &packets[0]);
    assert_eq!(state(&stack, conn), "ESTABLISHED");
    // MUST-47: the application learns it, once, as from SO_ERROR.
    assert_eq!(stack.take_error(conn), Ok(Some(ApiError::HostUnreachable)));
    assert_eq!(stack.take_error(conn), Ok(None));
    icmp_about(&mut stack, ms(26), IcmpError::TimeExceeded, &packets[0]);
    assert_eq!(stack.take_error(conn), Ok(Some(ApiError::HostUnreachable)));
    icmp_about(&mut stack, ms(27), IcmpError::NetUnreachable, &packets[0]);
    assert_eq!(
        stack.take_error(conn),
        Ok(Some(ApiError::NetworkUnreachable))
    );
    peer_acks(&mut stack, ms(30), 5);
    assert_eq!(stack.send(conn, b"more"), Ok(4));
}

#[test]
fn shld_26_hard_error_in_a_synchronized_state_is_soft_rfc5461_s4() {
    let (mut stack, conn, packets) = with_data_in_flight(config(), b"hello");
    icmp_about(&mut stack, ms(25), IcmpError::PortUnreachable, &packets[0]);
    assert_eq!(state(&stack, conn), "ESTABLISHED");
    assert_eq!(
        stack.take_error(conn),
        Ok(Some(ApiError::ConnectionRefused))
    );
}

#[test]
fn must_54_error_quoting_a_sequence_number_not_in_flight_is_ignored_rfc5927_s4_1() {
    let (mut stack, conn, packets) = with_data_in_flight(config(), b"hello");
    // A blind attacker's guess: the quoted SEQ is past SND.NXT.
    let mut forged = packets[0].clone();
    forged[24..28].copy_from_slice(&(LOCAL_ISS + 100).to_be_bytes());
    icmp_about(&mut stack, ms(25), IcmpError::HostUnreachable, &forged);
    // And a segment already acknowledged.
    peer_acks(&mut stack, ms(30), 5);
    icmp_about(&mut stack, ms(31), IcmpError::PortUnreachable, &packets[0]);
    assert_eq!(stack.take_error(conn), Ok(None));
    assert_eq!(stack.ip_stats().icmp_errors_ignored, 2);
    assert_eq!(stack.ip_stats().icmp_errors_applied, 0);
}

#[test]
fn must_54_error_for_no_connection_is_dropped_and_counted() {
    let (mut stack, _conn, packets) = with_data_in_flight(config(), b"hello");
    let mut other = packets[0].clone();
    other[22..24].copy_from_slice(&1234u16.to_be_bytes()); // other remote port
    let dropped = stack.stats().packets_dropped;
    icmp_about(&mut stack, ms(25), IcmpError::HostUnreachable, &other);
    assert_eq!(stack.stats().packets_dropped, dropped + 1);
    assert_eq!(stack.ip_stats().icmp_errors_ignored, 1);
}

#[test]
fn must_55_source_quench_is_silently_discarded() {
    let (mut stack, conn, packets) = with_data_in_flight(config(), b"hello");
    icmp_about(&mut stack, ms(25), IcmpError::SourceQuench, &packets[0]);
    recv_nothing(&mut stack, ms(25));
    assert_eq!(stack.take_error(conn), Ok(None));
    assert_eq!(stack.congestion_window(conn).0, 10 * usize::from(MSS));
}

#[test]
fn shld_6_rfc1191_fragmentation_needed_lowers_the_mss_and_resends_at_once() {
    let (mut stack, conn, packets) = with_data_in_flight(config(), &[7u8; 3000]);
    assert_eq!(
        packets.len(),
        2,
        "two full segments, the rest held by Nagle"
    );
    assert_eq!(segment_of(&packets[0]).1, 1460);
    let frag_needed = IcmpError::FragmentationNeeded { next_hop_mtu: 1000 };
    icmp_about(&mut stack, ms(25), frag_needed, &packets[0]);
    // Sent again at once, in 960-byte segments, from SND.UNA.
    let mut offset = 0;
    for _ in 0..3 {
        let (header, len) = segment_of(&recv_packet(&mut stack, ms(25)));
        assert_eq!(header.seq, SeqNum(LOCAL_ISS + 1 + offset));
        assert_eq!(len, 960);
        offset += 960;
    }
    assert_eq!(
        stack.take_error(conn),
        Ok(None),
        "no error for the application"
    );
    let (cwnd, _) = stack.congestion_window(conn);
    assert_eq!(
        cwnd,
        10 * 960,
        "ten segments still, not a congestion response"
    );
    assert_eq!(stack.ip_stats().path_mtu_reductions, 1);
}

#[test]
fn rfc1191_an_mtu_not_below_the_path_mtu_is_ignored_s6_3() {
    let (mut stack, _conn, packets) = with_data_in_flight(config(), &[7u8; 3000]);
    let frag_needed = IcmpError::FragmentationNeeded { next_hop_mtu: 1500 };
    icmp_about(&mut stack, ms(25), frag_needed, &packets[0]);
    recv_nothing(&mut stack, ms(25));
    assert_eq!(stack.ip_stats().icmp_errors_ignored, 1);
}

#[test]
fn rfc1191_an_mtu_below_the_floor_uses_the_floor_without_df() {
    let (mut stack, _conn, packets) = with_data_in_flight(config(), &[7u8; 3000]);
    let frag_needed = IcmpError::FragmentationNeeded { next_hop_mtu: 100 };
    icmp_about(&mut stack, ms(25), frag_needed, &packets[0]);
    let packet = recv_packet(&mut stack, ms(25));
    assert_eq!(segment_of(&packet).1, 552 - 40);
    assert_eq!(packet[6] & 0x40, 0, "DF cleared: routers may fragment");
    assert_eq!(packets[0][6] & 0x40, 0x40, "DF was set before");
}

#[test]
fn rfc1191_a_router_without_next_hop_mtu_means_the_plateau_below_s5() {
    let (mut stack, _conn, packets) = with_data_in_flight(config(), &[7u8; 3000]);
    let frag_needed = IcmpError::FragmentationNeeded { next_hop_mtu: 0 };
    icmp_about(&mut stack, ms(25), frag_needed, &packets[0]);
    // The quoted datagram was 1500 bytes: the next plateau is 1492.
    assert_eq!(segment_of(&recv_packet(&mut stack, ms(25))).1, 1492 - 40);
}
