//! IPv4 reassembly as the stack does it (RFC 791 §3.2, RFC 815, RFC 1122
//! §3.3.2; overlaps as RFC 5722), IP options (RFC 9293 MUST-50) and
//! source routes (MUST-51..53, refused).

use super::harness::*;
use super::ip::refix_ip_checksum;
use crate::engine::{Engine, Stack};
use crate::wire::{SeqNum, TcpHeader};

/// `packet` cut into fragments of `size` payload bytes (a multiple of 8)
/// with identification `ident`, as a router on a narrow link would.
pub(super) fn fragments_of(packet: &[u8], size: usize, ident: u16) -> Vec<Vec<u8>> {
    let header_len = usize::from(packet[0] & 0x0f) * 4;
    let payload = &packet[header_len..];
    let count = payload.len().div_ceil(size);
    (0..count)
        .map(|i| {
            let chunk = &payload[i * size..((i + 1) * size).min(payload.len())];
            fragment(&packet[..header_len], i * size, chunk, i + 1 < count, ident)
        })
        .collect()
}

/// One fragment: `header` with the fields of a piece at `offset`.
fn fragment(header: &[u8], offset: usize, chunk: &[u8], more: bool, ident: u16) -> Vec<u8> {
    let mut packet = [header, chunk].concat();
    let total = packet.len() as u16;
    packet[2..4].copy_from_slice(&total.to_be_bytes());
    packet[4..6].copy_from_slice(&ident.to_be_bytes());
    let flags = (offset / 8) as u16 | if more { 0x2000 } else { 0 };
    packet[6..8].copy_from_slice(&flags.to_be_bytes());
    refix_ip_checksum(&mut packet);
    packet
}

fn data_from_peer(payload: &[u8]) -> Vec<u8> {
    let header = TcpHeader {
        flags: flags("P"),
        ..from_peer()
    };
    packet_from(REMOTE_IP, &header, payload)
}

fn ack_of(bytes: u32) -> TcpHeader {
    TcpHeader {
        ack: Some(SeqNum(REMOTE_ISS + 1 + bytes)),
        ..to_peer()
    }
}

#[test]
fn rfc791_a_segment_in_16_byte_fragments_is_reassembled_in_any_order() {
    let (mut stack, conn) = established();
    let text: Vec<u8> = (0..100u8).collect();
    let mut pieces = fragments_of(&data_from_peer(&text), 16, 7);
    assert_eq!(pieces.len(), 8);
    pieces.swap(0, 5);
    pieces.reverse();
    for piece in &pieces {
        stack.handle_packet(ms(20), piece);
    }
    let ack = TcpHeader {
        window: LOCAL_WIN - 100,
        ..ack_of(100)
    };
    expect(&mut stack, ms(20), ack, b"");
    assert_eq!(read_all(&mut stack, conn), text);
    let ip = stack.ip_stats();
    assert_eq!((ip.fragments_received, ip.datagrams_reassembled), (8, 1));
    assert_eq!(stack.stats().packets_dropped, 0);
}

#[test]
fn rfc791_a_syn_in_fragments_opens_a_connection() {
    let (mut stack, _listener) = listening_with(config());
    for piece in fragments_of(&packet_from(REMOTE_IP, &peer_syn(), b""), 8, 1) {
        stack.handle_packet(ms(0), &piece);
    }
    expect(&mut stack, ms(0), our_syn_ack(), b"");
}

#[test]
fn rfc5722_overlapping_fragments_discard_the_datagram() {
    let (mut stack, conn) = established();
    let packet = data_from_peer(&[9u8; 64]);
    let pieces = fragments_of(&packet, 32, 3);
    stack.handle_packet(ms(20), &pieces[0]);
    // A fragment that rewrites bytes 16.. of the first (offset 16, 32 bytes).
    let overlapping = fragment(&packet[..20], 16, &packet[36..68], true, 3);
    stack.handle_packet(ms(20), &overlapping);
    for piece in &pieces[1..] {
        stack.handle_packet(ms(20), piece);
    }
    recv_nothing(&mut stack, ms(20));
    assert_eq!(read_all(&mut stack, conn), b"");
    assert_eq!(stack.ip_stats().reassembly_overlaps, 1);
    assert_eq!(stack.ip_stats().datagrams_reassembled, 0);
}

#[test]
fn rfc1122_s3_3_2_an_incomplete_datagram_times_out() {
    let (mut stack, conn) = established();
    let pieces = fragments_of(&data_from_peer(&[1u8; 40]), 16, 5);
    stack.handle_packet(ms(20), &pieces[0]);
    assert_eq!(stack.poll_timeout(), Some(ms(30_020)));
    stack.handle_timeout(ms(30_020));
    assert_eq!(stack.ip_stats().reassembly_timeouts, 1);
    assert_eq!(stack.poll_timeout(), None);
    for piece in &pieces[1..] {
        stack.handle_packet(ms(30_030), piece);
    }
    recv_nothing(&mut stack, ms(30_030));
    assert_eq!(read_all(&mut stack, conn), b"");
}

#[test]
fn rfc791_reassembly_is_bounded_in_datagrams() {
    let (mut stack, _conn) = established();
    let packet = data_from_peer(&[1u8; 40]);
    for ident in 0..1_000u16 {
        stack.handle_packet(ms(20), &fragments_of(&packet, 16, ident)[0]);
    }
    let limits = stack.config().reassembly;
    assert!(stack.ip_stats().reassembly_full >= u64::from(1_000 - limits.max_datagrams as u16));
}

/// A SYN whose IPv4 header carries `options` (a multiple of 4 bytes).
fn syn_with_ip_options(options: &[u8]) -> Vec<u8> {
    let plain = packet_from(REMOTE_IP, &peer_syn(), b"");
    let mut packet = [&plain[..20], options, &plain[20..]].concat();
    packet[0] = 0x40 | ((20 + options.len()) / 4) as u8;
    let total = packet.len() as u16;
    packet[2..4].copy_from_slice(&total.to_be_bytes());
    refix_ip_checksum(&mut packet);
    packet
}

#[test]
fn must_50_ip_options_are_ignored() {
    // Router alert (RFC 2113), record route (RFC 791), an unknown option,
    // NOP, end of list; then one whose length runs past the header.
    let known_and_unknown = [
        148, 4, 0, 0, 7, 7, 4, 0, 0, 0, 0, 0, 222, 3, 0, 1, 0, 0, 0, 0,
    ];
    let broken_length = [222, 40, 0, 0];
    for options in [&known_and_unknown[..], &broken_length[..]] {
        let (mut stack, _listener) = listening_with(config());
        stack.handle_packet(ms(0), &syn_with_ip_options(options));
        expect(&mut stack, ms(0), our_syn_ack(), b"");
    }
}

#[test]
fn must_51_must_53_source_routed_datagrams_are_refused_and_counted() {
    for kind in [131u8, 137] {
        // NOP, then a loose (131) or strict (137) source route of one hop.
        let options = [1, kind, 7, 4, 192, 0, 2, 9];
        let mut stack: Stack = listening_with(config()).0;
        stack.handle_packet(ms(0), &syn_with_ip_options(&options));
        recv_nothing(&mut stack, ms(0));
        assert_eq!(stack.ip_stats().source_routed_dropped, 1);
        assert_eq!(stack.stats().packets_dropped, 1);
    }
}
