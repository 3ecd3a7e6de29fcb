//! Large segments for a device that segments for us
//! (`StackConfig::offload_segment`, TCP segmentation offload): new data goes
//! out in whole MSS up to the limit, still within the windows; everything
//! else (retransmissions, small peers) stays one MSS (RFC 9293 §3.7.1).

use super::harness::*;
use crate::engine::{ConnId, Engine, Stack, StackConfig};
use crate::wire::tcp::emit_ipv4_tcp;
use crate::wire::{SeqNum, TcpHeader, TcpOptions, TcpSegment};

const BIG: usize = 256 * 1024;

fn offload_config(limit: usize) -> StackConfig {
    StackConfig {
        offload_segment: Some(limit),
        send_buffer: BIG,
        ..config()
    }
}

/// Takes one packet, if any, through a buffer of `room` bytes, as the
/// driver does with its 64 KiB one; returns its IPv4 total length, TCP
/// header and payload length.
fn poll_large(stack: &mut Stack, at: u64, room: usize) -> Option<(usize, TcpHeader, usize)> {
    stack.handle_timeout(ms(at));
    let mut buf = vec![0u8; room];
    let len = stack.poll_transmit(ms(at), &mut buf)?;
    let ((src, dst, _), bytes) = parse_ip(&buf[..len]);
    let seg = TcpSegment::parse(src, dst, bytes).expect("a valid TCP segment");
    Some((len, seg.header, seg.payload.len()))
}

#[track_caller]
fn recv_large(stack: &mut Stack, at: u64, room: usize) -> (usize, TcpHeader, usize) {
    poll_large(stack, at, room).expect("expected a packet, got none")
}

fn ack_up_to(stack: &mut Stack, at: u64, sent: usize) {
    let ack = TcpHeader {
        ack: Some(SeqNum(LOCAL_ISS + 1) + sent),
        ..from_peer()
    };
    send(stack, ms(at), ack, b"");
}

fn queue(stack: &mut Stack, conn: ConnId, len: usize) {
    assert_eq!(stack.send(conn, &vec![7u8; len]), Ok(len));
}

#[test]
fn new_data_goes_as_one_segment_of_whole_mss_up_to_the_congestion_window() {
    let (mut stack, conn) = established_with(offload_config(64_000));
    queue(&mut stack, conn, 30_000);
    // RFC 5681 initial window: 10 MSS, sent as one segment the device cuts.
    let (_, header, payload) = recv_large(&mut stack, 20, 65_536);
    assert_eq!(payload, 10 * usize::from(MSS));
    assert_eq!(header.seq, SeqNum(LOCAL_ISS + 1));
    recv_nothing(&mut stack, ms(20));
}

#[test]
fn ipv6_segments_are_offloaded_in_whole_mss_too() {
    // The device cuts TCP over IPv6 as well (GSO_TCPV6, device/vnet.rs).
    on_ipv6(|| {
        let (mut stack, conn) = established_with(offload_config(64_000));
        queue(&mut stack, conn, 30_000);
        let (len, _, payload) = recv_large(&mut stack, 20, 65_536);
        let mss = usize::from(our_mss());
        assert!(payload > mss && payload % mss == 0, "{payload} bytes");
        assert_eq!(len, 60 + payload, "IPv6 and TCP headers, then the data");
    });
}

#[test]
fn shld_28_without_offload_every_segment_is_one_mss() {
    let (mut stack, conn) = established_with(StackConfig {
        send_buffer: BIG,
        ..config()
    });
    queue(&mut stack, conn, 30_000);
    let (_, _, payload) = recv_large(&mut stack, 20, 65_536);
    assert_eq!(payload, usize::from(MSS));
}

#[test]
fn segments_fit_the_buffer_in_whole_mss() {
    let (mut stack, conn) = established_with(offload_config(64_000));
    queue(&mut stack, conn, 30_000);
    // 5000 bytes of buffer hold 4960 of payload: three whole MSS.
    let (len, _, payload) = recv_large(&mut stack, 20, 5000);
    assert_eq!(payload, 3 * usize::from(MSS));
    assert_eq!(len, 40 + payload);
}

#[test]
fn segments_never_exceed_the_ipv4_total_length_and_only_the_tail_is_short() {
    let (mut stack, conn) = established_with(offload_config(1 << 20));
    let total = 3_000_000;
    let (mut queued, mut sent, mut largest, mut at) = (0, 0, 0, 20);
    while sent < total {
        // The send buffer takes what fits; the rest is offered again later.
        queued += stack.send(conn, &vec![7u8; total - queued]).unwrap_or(0);
        while let Some((len, _, payload)) = poll_large(&mut stack, at, 65_536) {
            assert!(len <= usize::from(u16::MAX), "{len}-byte packet");
            assert!(payload % usize::from(MSS) == 0 || sent + payload == queued);
            largest = largest.max(len);
            sent += payload;
        }
        at += 1;
        ack_up_to(&mut stack, at, sent);
    }
    // Slow start grows the congestion window (by one MSS per ACK, and the
    // peer ACKs each large segment once) until the peer's 64,000 limits it.
    assert!(largest > 60_000, "largest packet {largest}");
}

#[test]
fn must_16_a_peer_with_a_smaller_mss_gets_only_segments_of_its_mss() {
    let (mut stack, listener) = listening_with(offload_config(64_000));
    let small_syn = TcpHeader {
        options: TcpOptions::with_mss(1000),
        ..peer_syn()
    };
    send(&mut stack, ms(0), small_syn, b"");
    recv(&mut stack, ms(0));
    send(&mut stack, ms(10), from_peer(), b"");
    let conn = stack.accept(listener).unwrap();
    queue(&mut stack, conn, 30_000);
    let (_, _, payload) = recv_large(&mut stack, 20, 65_536);
    assert_eq!(payload, 1000);
}

#[test]
fn a_retransmission_is_one_mss_rfc_6298_s5() {
    let (mut stack, conn) = established_with(offload_config(64_000));
    queue(&mut stack, conn, 30_000);
    let (_, _, first) = recv_large(&mut stack, 20, 65_536);
    assert_eq!(first, 10 * usize::from(MSS));
    // No ACK: the retransmission timer (at least min_rto, 200 ms) fires.
    let (_, header, again) = recv_large(&mut stack, 1_500, 65_536);
    assert_eq!(header.seq, SeqNum(LOCAL_ISS + 1));
    assert_eq!(again, usize::from(MSS));
}

#[test]
fn a_large_segment_is_acked_at_once_as_the_full_sized_segments_it_holds() {
    let cfg = StackConfig {
        delayed_ack: Some(std::time::Duration::from_millis(40)),
        recv_buffer: 64_000,
        ..config()
    };
    let (mut stack, _conn) = established_with(cfg);
    let data = vec![3u8; 20 * usize::from(MSS)];
    let mut buf = vec![0u8; 65_536];
    let len = emit_ipv4_tcp(REMOTE_IP, LOCAL_IP, &from_peer(), &data, &mut buf);
    stack.handle_packet(ms(20), &buf[..len]);
    // RFC 1122 §4.2.3.2: every second full-sized segment is ACKed at once.
    let (ack, payload) = recv(&mut stack, ms(20));
    assert_eq!(payload.len(), 0);
    assert_eq!(ack.ack, Some(SeqNum(REMOTE_ISS + 1) + data.len()));
}

#[test]
fn one_small_segment_still_waits_for_the_delayed_ack() {
    let cfg = StackConfig {
        delayed_ack: Some(std::time::Duration::from_millis(40)),
        ..config()
    };
    let (mut stack, _conn) = established_with(cfg);
    send(&mut stack, ms(20), from_peer(), &[1u8; 100]);
    recv_nothing(&mut stack, ms(20));
    let (ack, _) = recv(&mut stack, ms(60));
    assert_eq!(ack.ack, Some(SeqNum(REMOTE_ISS + 1 + 100)));
}
