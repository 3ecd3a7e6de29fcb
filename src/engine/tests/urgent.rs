//! Urgent data (RFC 9293 §3.8.5: MUST-30..33, MUST-62, MUST-66),
//! delivered inline with its mark visible (`tcp/urgent.rs`).

use super::harness::*;
use crate::engine::{Engine, Readiness, ReadinessEvent, Stack, StackConfig};
use crate::wire::{SeqNum, TcpHeader};

fn urgent_from_peer(offset: u32, pointer: u16) -> TcpHeader {
    TcpHeader {
        seq: SeqNum(REMOTE_ISS + 1 + offset),
        flags: flags("PU"),
        urgent: pointer,
        ..from_peer()
    }
}

fn events(stack: &mut Stack) -> Vec<ReadinessEvent> {
    let mut out = Vec::new();
    stack.take_readiness(&mut out);
    out
}

#[test]
fn must_30_must_33_urgent_data_is_read_inline_and_the_mark_is_visible() {
    let (mut stack, conn) = established();
    // "abc" then urgent "XY": the pointer (5) is the octet after Y.
    send(&mut stack, ms(20), urgent_from_peer(0, 5), b"abcXYdef");
    assert_eq!(stack.urgent_remaining(conn), Ok(5));
    let mut buf = [0u8; 64];
    // A read stops at the mark, so the application knows where it is.
    assert_eq!(stack.recv(conn, &mut buf), Ok(5));
    assert_eq!(&buf[..5], b"abcXY");
    assert_eq!(stack.urgent_remaining(conn), Ok(0));
    assert_eq!(stack.recv(conn, &mut buf), Ok(3));
    assert_eq!(&buf[..3], b"def");
}

#[test]
fn must_33_the_mark_stays_right_after_the_peers_fin() {
    let (mut stack, conn) = established();
    let last = TcpHeader {
        flags: flags("PUF"),
        urgent: 2,
        ..from_peer()
    };
    send(&mut stack, ms(20), last, b"abcd");
    assert_eq!(stack.urgent_remaining(conn), Ok(2));
    let mut buf = [0u8; 8];
    assert_eq!(stack.recv(conn, &mut buf), Ok(2));
    assert_eq!(stack.recv(conn, &mut buf), Ok(2));
    assert_eq!(stack.recv(conn, &mut buf), Ok(0), "then the FIN");
}

#[test]
fn must_31_urgent_data_may_run_over_many_segments() {
    let (mut stack, conn) = established();
    // The pointer is 1,000 bytes ahead of a 100-byte segment.
    send(&mut stack, ms(20), urgent_from_peer(0, 1000), &[1; 100]);
    assert_eq!(stack.urgent_remaining(conn), Ok(1000));
    read_all(&mut stack, conn);
    assert_eq!(stack.urgent_remaining(conn), Ok(900), "not yet received");
    send(&mut stack, ms(21), urgent_from_peer(100, 900), &[2; 900]);
    assert_eq!(read_all(&mut stack, conn).len(), 900);
    assert_eq!(stack.urgent_remaining(conn), Ok(0));
}

#[test]
fn must_32_the_application_is_told_when_urgent_data_comes_and_advances() {
    let (mut stack, conn) = established();
    events(&mut stack);
    send(&mut stack, ms(20), urgent_from_peer(0, 2), b"ab");
    let first = events(&mut stack);
    assert!(first[0].readiness.contains(Readiness::URGENT), "{first:?}");
    // The pointer advances while urgent data is still unread: news too.
    send(&mut stack, ms(21), urgent_from_peer(2, 2), b"cd");
    let second = events(&mut stack);
    assert_eq!(second.len(), 1, "{second:?}");
    assert_eq!(stack.urgent_remaining(conn), Ok(4));
    // A segment without URG is no news.
    let plain = TcpHeader {
        seq: SeqNum(REMOTE_ISS + 5),
        ..from_peer()
    };
    send(&mut stack, ms(22), plain, b"e");
    assert_eq!(events(&mut stack), vec![]);
    assert_eq!(stack.urgent_remaining(conn), Ok(4));
}

#[test]
fn must_62_the_urgent_pointer_we_send_points_after_the_urgent_data() {
    let (mut stack, conn) = established();
    assert_eq!(stack.send_urgent(conn, b"!"), Ok(1));
    let urgent = TcpHeader {
        seq: SeqNum(LOCAL_ISS + 1),
        flags: flags("PU"),
        urgent: 1,
        ..to_peer()
    };
    expect(&mut stack, ms(20), urgent, b"!");
    // Acknowledged: later segments carry no URG.
    let ack = TcpHeader {
        ack: Some(SeqNum(LOCAL_ISS + 2)),
        ..from_peer()
    };
    send(&mut stack, ms(30), ack, b"");
    send_and_expect(&mut stack, conn, ms(40), 1, b"plain");
}

#[test]
fn must_31_a_long_urgent_send_marks_every_segment_before_its_end() {
    let cfg = StackConfig {
        send_buffer: 100_000,
        ..config()
    };
    let (mut stack, conn) = established_with(cfg);
    // 3,000 bytes of normal data, then 2,000 urgent bytes.
    assert_eq!(stack.send(conn, &[0; 3000]), Ok(3000));
    assert_eq!(stack.send_urgent(conn, &[1; 2000]), Ok(2000));
    let mut offset = 0u32;
    for len in [1460u32, 1460, 1460] {
        let (header, payload) = recv(&mut stack, ms(20));
        assert_eq!(payload.len() as u32, len);
        assert!(header.flags.urg);
        assert_eq!(u32::from(header.urgent), 5000 - offset);
        offset += len;
    }
}

#[test]
fn must_66_urg_is_processed_at_a_zero_window() {
    let (mut stack, conn) = established();
    // Fill our 8,000-byte window without reading.
    for i in 0..8u32 {
        let header = TcpHeader {
            seq: SeqNum(REMOTE_ISS + 1 + i * 1000),
            ..from_peer()
        };
        send(&mut stack, ms(20), header, &[0; 1000]);
    }
    // Its text finds no room, but its urgent pointer is taken.
    send(&mut stack, ms(30), urgent_from_peer(8000, 1), b"!");
    assert_eq!(stack.urgent_remaining(conn), Ok(8001));
}
