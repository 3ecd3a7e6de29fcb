//! Retransmission (RFC 6298 via RFC 9293 §3.8.1), giving up (§3.8.3),
//! congestion control (RFC 5681, RFC 6582 NewReno).

use std::time::Duration;

use super::harness::*;
use crate::engine::{ApiError, Engine, StackConfig};
use crate::wire::{SeqNum, TcpHeader};

fn data_at(offset: u32) -> TcpHeader {
    TcpHeader {
        seq: SeqNum(LOCAL_ISS + 1 + offset),
        flags: flags("P"),
        ..to_peer()
    }
}

fn peer_ack(offset: u32) -> TcpHeader {
    TcpHeader {
        ack: Some(SeqNum(LOCAL_ISS + 1 + offset)),
        ..from_peer()
    }
}

#[test]
fn must_19_lost_data_is_resent_after_rto_with_exponential_backoff_rfc6298_5() {
    let (mut stack, conn) = established();
    send_and_expect(&mut stack, conn, ms(20), 0, b"lost");
    // The handshake measured 10 ms; RTO is the 200 ms minimum.
    recv_nothing(&mut stack, ms(219));
    expect(&mut stack, ms(220), data_at(0), b"lost");
    recv_nothing(&mut stack, ms(619));
    expect(&mut stack, ms(620), data_at(0), b"lost");
    expect(&mut stack, ms(1420), data_at(0), b"lost");
    send(&mut stack, ms(1430), peer_ack(4), b"");
    recv_nothing(&mut stack, ms(10_000));
    assert_eq!(stack.stats().retransmissions, 3);
}

#[test]
fn min_rto_is_configurable() {
    let cfg = StackConfig {
        min_rto: Duration::from_millis(50),
        ..config()
    };
    let (mut stack, conn) = established_with(cfg);
    send_and_expect(&mut stack, conn, ms(20), 0, b"x");
    // RTT 10 ms: RTO = 10 + 4 * 5 = 30, raised to the 50 ms minimum.
    expect(&mut stack, ms(70), data_at(0), b"x");
}

#[test]
fn rto_follows_the_measured_rtt_rfc6298_2() {
    let (mut stack, listener) = listening_with(config());
    send(&mut stack, ms(0), peer_syn(), b"");
    recv(&mut stack, ms(0));
    send(&mut stack, ms(300), from_peer(), b""); // RTT 300 ms
    let conn = stack.accept(listener).unwrap();
    send_and_expect(&mut stack, conn, ms(400), 0, b"x");
    // RTO = SRTT + 4 * RTTVAR = 300 + 4 * 150.
    recv_nothing(&mut stack, ms(1299));
    expect(&mut stack, ms(1300), data_at(0), b"x");
}

#[test]
fn must_18_karn_no_rtt_sample_from_a_retransmitted_segment_rfc6298_3() {
    let (mut stack, conn) = established();
    send_and_expect(&mut stack, conn, ms(20), 0, b"a");
    expect(&mut stack, ms(220), data_at(0), b"a");
    send(&mut stack, ms(230), peer_ack(1), b""); // ambiguous: no sample
                                                 // The backed-off RTO (400 ms, RFC 6298 (5.5)) stays until a fresh RTT
                                                 // measurement recomputes it (the note after RFC 6298 (5.7)).
    send_and_expect(&mut stack, conn, ms(300), 1, b"b");
    recv_nothing(&mut stack, ms(699));
    expect(&mut stack, ms(700), data_at(1), b"b");
}

#[test]
fn connection_gives_up_and_reports_timed_out_s3_8_3() {
    let cfg = StackConfig {
        give_up_after: Duration::from_secs(2),
        ..config()
    };
    let (mut stack, conn) = established_with(cfg);
    send_and_expect(&mut stack, conn, ms(20), 0, b"void");
    expect(&mut stack, ms(220), data_at(0), b"void"); // first timeout: the clock starts
    expect(&mut stack, ms(620), data_at(0), b"void");
    expect(&mut stack, ms(1420), data_at(0), b"void");
    // Next would be at 3020, but the 2 s limit from 220 comes first.
    assert_eq!(stack.poll_timeout(), Some(ms(2220)));
    recv_nothing(&mut stack, ms(2220));
    assert_eq!(state(&stack, conn), "CLOSED");
    let mut buf = [0u8; 4];
    assert_eq!(stack.recv(conn, &mut buf), Err(ApiError::TimedOut));
    assert_eq!(stack.send(conn, b"x"), Err(ApiError::TimedOut));
    assert_eq!(stack.connect_status(conn), Err(ApiError::TimedOut));
}

#[test]
fn initial_window_is_ten_segments_rfc6928() {
    let cfg = StackConfig {
        send_buffer: 30_000,
        ..config()
    };
    let (mut stack, conn) = established_with(cfg);
    assert_eq!(stack.send(conn, &[3u8; 30_000]), Ok(30_000));
    for i in 0..10 {
        let (seg, data) = recv(&mut stack, ms(20));
        assert_eq!(
            (seg.seq, data.len()),
            (SeqNum(LOCAL_ISS + 1 + i * 1460), 1460)
        );
    }
    recv_nothing(&mut stack, ms(20));
    // Slow start: each ACK of a full segment opens room for two more.
    send(&mut stack, ms(30), peer_ack(1460), b"");
    recv(&mut stack, ms(30));
    recv(&mut stack, ms(30));
    recv_nothing(&mut stack, ms(30));
}

#[test]
fn three_duplicate_acks_trigger_fast_retransmit_rfc5681_3_2() {
    let (mut stack, conn) = established();
    stack.set_nodelay(conn, true).unwrap();
    stack.send(conn, &[7u8; 5000]).unwrap();
    let sizes: Vec<usize> = (0..4).map(|_| recv(&mut stack, ms(20)).1.len()).collect();
    assert_eq!(sizes, [1460, 1460, 1460, 620]);
    // The first segment is lost; the others make duplicate ACKs.
    for i in 0..2 {
        send(&mut stack, ms(30 + i), peer_ack(0), b"");
        recv_nothing(&mut stack, ms(30 + i));
    }
    send(&mut stack, ms(32), peer_ack(0), b"");
    let (seg, data) = recv(&mut stack, ms(32));
    assert_eq!((seg.seq, data.len()), (SeqNum(LOCAL_ISS + 1), 1460));
    assert_eq!(stack.stats().retransmissions, 1);
}

#[test]
fn partial_ack_in_recovery_resends_the_next_hole_rfc6582() {
    let (mut stack, conn) = established();
    stack.send(conn, &[7u8; 1460 * 5]).unwrap();
    let mut buf = [0u8; 1500];
    while stack.poll_transmit(ms(20), &mut buf).is_some() {}
    for i in 0..3 {
        send(&mut stack, ms(30 + i), peer_ack(0), b"");
    }
    let (seg, _) = recv(&mut stack, ms(33));
    assert_eq!(seg.seq, SeqNum(LOCAL_ISS + 1));
    // Segments 1 and 3 were lost: the ACK for segment 1 is partial.
    send(&mut stack, ms(40), peer_ack(1460 * 2), b"");
    let (seg, _) = recv(&mut stack, ms(40));
    assert_eq!(seg.seq, SeqNum(LOCAL_ISS + 1 + 1460 * 2));
    // The full ACK ends recovery; nothing else is resent.
    send(&mut stack, ms(50), peer_ack(1460 * 5), b"");
    recv_nothing(&mut stack, ms(50));
    assert_eq!(stack.poll_timeout(), None);
}

#[test]
fn after_a_timeout_only_one_segment_goes_out_rfc5681_3_1() {
    let (mut stack, conn) = established();
    stack.send(conn, &[7u8; 1460 * 4]).unwrap();
    let mut buf = [0u8; 1500];
    while stack.poll_transmit(ms(20), &mut buf).is_some() {}
    // All lost. The timeout resends the first segment only (cwnd = 1 SMSS).
    let (seg, data) = recv(&mut stack, ms(220));
    assert_eq!((seg.seq, data.len()), (SeqNum(LOCAL_ISS + 1), 1460));
    recv_nothing(&mut stack, ms(220));
    // Its ACK lets two more go (slow start again).
    send(&mut stack, ms(230), peer_ack(1460), b"");
    let (a, _) = recv(&mut stack, ms(230));
    let (b, _) = recv(&mut stack, ms(230));
    assert_eq!(
        (a.seq, b.seq),
        (SeqNum(LOCAL_ISS + 1 + 1460), SeqNum(LOCAL_ISS + 1 + 2920))
    );
    recv_nothing(&mut stack, ms(230));
}

/// Active open whose first SYN is lost: the SYN goes again at 1 s (the
/// initial RTO), the SYN-ACK comes at 1010 ms and is acknowledged.
fn connected_after_a_lost_syn(
    config: StackConfig,
) -> (crate::engine::Stack, crate::engine::ConnId) {
    let mut stack = crate::engine::Stack::new(config);
    let conn = stack.connect(ms(0), REMOTE, Some(LOCAL_PORT)).unwrap();
    let (first, _) = recv(&mut stack, ms(0));
    let (again, _) = recv(&mut stack, ms(1000));
    assert!(first.flags.syn && again.flags.syn && again.seq == first.seq);
    let syn_ack = peer_syn_ack();
    send(&mut stack, ms(1010), syn_ack, b"");
    expect(&mut stack, ms(1010), to_peer(), b"");
    (stack, conn)
}

#[test]
fn first_flight_after_a_lost_syn_is_one_segment_rfc5681_3_1() {
    let cfg = StackConfig {
        send_buffer: 30_000,
        ..config()
    };
    let (mut stack, conn) = connected_after_a_lost_syn(cfg);
    assert_eq!(stack.send(conn, &[7u8; 30_000]), Ok(30_000));
    // "If the SYN or SYN/ACK is lost, the initial window used by a sender
    // after a correctly transmitted SYN MUST be one segment".
    let (seg, data) = recv(&mut stack, ms(1020));
    assert_eq!((seg.seq, data.len()), (SeqNum(LOCAL_ISS + 1), 1460));
    recv_nothing(&mut stack, ms(1020));
    // Slow start from there: the ACK opens room for two more.
    send(&mut stack, ms(1030), peer_ack(1460), b"");
    recv(&mut stack, ms(1030));
    recv(&mut stack, ms(1030));
    recv_nothing(&mut stack, ms(1030));
}

#[test]
fn first_flight_after_a_lost_syn_ack_is_one_segment_rfc5681_3_1() {
    let cfg = StackConfig {
        send_buffer: 30_000,
        ..config()
    };
    let (mut stack, listener) = listening_with(cfg);
    send(&mut stack, ms(0), peer_syn(), b"");
    let (first, _) = recv(&mut stack, ms(0));
    let (again, _) = recv(&mut stack, ms(1000));
    assert!(first.flags.syn && again.flags.syn);
    send(&mut stack, ms(1010), from_peer(), b"");
    let conn = stack.accept(listener).unwrap();
    assert_eq!(stack.send(conn, &[7u8; 30_000]), Ok(30_000));
    recv(&mut stack, ms(1020));
    recv_nothing(&mut stack, ms(1020));
}

#[test]
fn rto_is_three_seconds_when_data_starts_after_a_lost_syn_rfc6298_5_7() {
    let (mut stack, conn) = connected_after_a_lost_syn(config());
    // No RTT sample from the handshake (Karn: the SYN was resent), and the
    // timer expired awaiting the SYN's ACK: "the RTO MUST be re-initialized
    // to 3 seconds when data transmission begins" (not the 2 s of backoff).
    send_and_expect(&mut stack, conn, ms(1020), 0, b"x");
    recv_nothing(&mut stack, ms(4019));
    expect(&mut stack, ms(4020), data_at(0), b"x");
    // Then the usual doubling (RFC 6298 (5.5)).
    recv_nothing(&mut stack, ms(10_019));
    expect(&mut stack, ms(10_020), data_at(0), b"x");
}

#[test]
fn rto_is_three_seconds_when_data_starts_after_a_lost_syn_ack_rfc6298_5_7() {
    let (mut stack, listener) = listening_with(config());
    send(&mut stack, ms(0), peer_syn(), b"");
    recv(&mut stack, ms(0));
    recv(&mut stack, ms(1000)); // SYN-ACK again: the first was lost
    send(&mut stack, ms(1010), from_peer(), b"");
    let conn = stack.accept(listener).unwrap();
    send_and_expect(&mut stack, conn, ms(1020), 0, b"x");
    recv_nothing(&mut stack, ms(4019));
    expect(&mut stack, ms(4020), data_at(0), b"x");
}

#[test]
fn rto_stays_measured_when_the_handshake_was_not_retransmitted_rfc6298_2() {
    // The counterpart: no SYN timeout, a 10 ms sample, RTO = 200 ms minimum.
    let (mut stack, conn) = connected_with(config());
    send_and_expect(&mut stack, conn, ms(20), 0, b"x");
    expect(&mut stack, ms(220), data_at(0), b"x");
}

/// §3.8.3: after R1 retransmissions of the same segment without an
/// answer, the application is told (SHLD-9): `STALLED` readiness, with an
/// event; R1 is 3 by default (SHLD-10: "at least 3 retransmissions"). The
/// connection goes on, and an ACK clears the flag.
#[test]
fn shld_9_shld_10_r1_unanswered_retransmissions_tell_the_application() {
    use crate::engine::{Readiness, ReadinessEvent, Stack, Watched};
    assert_eq!(StackConfig::new(LOCAL_IP).r1_retransmissions, 3);
    let (mut stack, conn) = established();
    let stalled = |stack: &Stack| {
        let readiness = stack.readiness(Watched::Conn(conn)).unwrap();
        readiness.contains(Readiness::STALLED)
    };
    send_and_expect(&mut stack, conn, ms(20), 0, b"hello");
    let mut events: Vec<ReadinessEvent> = Vec::new();
    let mut at = ms(20);
    for _ in 0..3 {
        assert!(!stalled(&stack));
        stack.take_readiness(&mut events);
        at = stack.poll_timeout().unwrap();
        let (again, _) = recv(&mut stack, at);
        assert_eq!(again.seq, SeqNum(LOCAL_ISS + 1));
    }
    assert!(stalled(&stack), "R1 reached");
    events.clear();
    stack.take_readiness(&mut events);
    assert!(events
        .iter()
        .any(|e| e.readiness.contains(Readiness::STALLED)));
    assert_eq!(state(&stack, conn), "ESTABLISHED");
    let ack = TcpHeader {
        ack: Some(SeqNum(LOCAL_ISS + 6)),
        ..from_peer()
    };
    send(&mut stack, at, ack, b"");
    assert!(!stalled(&stack));
}

/// §3.8.3: "The value of R2 SHOULD correspond to at least 100 seconds"
/// (SHLD-11): by default data unacknowledged since the first timeout is
/// resent for 100 s before the connection gives up.
#[test]
fn shld_11_r2_is_at_least_100_seconds_by_default() {
    let (mut stack, conn) = established();
    send_and_expect(&mut stack, conn, ms(20), 0, b"void");
    let first_timeout = stack.poll_timeout().unwrap();
    let mut at = first_timeout;
    while state(&stack, conn) != "CLOSED" {
        at = stack.poll_timeout().expect("a timer until it gives up");
        stack.handle_timeout(at);
        let mut buf = [0u8; 1500];
        while stack.poll_transmit(at, &mut buf).is_some() {}
    }
    assert_eq!(
        at.saturating_duration_since(first_timeout),
        Duration::from_secs(100)
    );
    assert_eq!(stack.connect_status(conn), Err(ApiError::TimedOut));
}
