//! Explicit Congestion Notification (RFC 3168 §6.1; RFC 9293 §3.8.2,
//! SHLD-8): negotiation in the handshake, ECT(0) on new data only, CE
//! echoed with ECE until CWR, and one window reduction per window of data
//! for an ECE, without a retransmission.

use std::time::Duration;

use super::harness::*;
use super::icmp::recv_packet;
use crate::engine::{ConnId, EcnMode, Engine, Stack, StackConfig};
use crate::time::Instant;
use crate::wire::checksum;
use crate::wire::{Ecn, Ipv4Repr, SeqNum, TcpHeader, TcpSegment};

const SEG: usize = MSS as usize;

fn ecn_config() -> StackConfig {
    StackConfig {
        ecn: EcnMode::On,
        ..config()
    }
}

/// The next packet we send: its TCP header, payload length, and the ECN
/// field of its IP header.
#[track_caller]
fn recv_ecn(stack: &mut Stack, at: Instant) -> (TcpHeader, usize, Ecn) {
    let packet = recv_packet(stack, at);
    let (ip, bytes) = Ipv4Repr::parse(&packet).unwrap();
    let seg = TcpSegment::parse(ip.src, ip.dst, bytes).unwrap();
    (seg.header, seg.payload.len(), ip.ecn)
}

/// The peer sends `header` + `payload` in a datagram whose ECN field is `ecn`.
fn send_marked(stack: &mut Stack, at: Instant, header: TcpHeader, payload: &[u8], ecn: Ecn) {
    let mut packet = packet_from(REMOTE_IP, &header, payload);
    packet[1] = packet[1] & !0b11 | ecn.bits();
    packet[10..12].copy_from_slice(&[0, 0]);
    let sum = checksum::checksum(&packet[..20]);
    packet[10..12].copy_from_slice(&sum.to_be_bytes());
    stack.handle_packet(at, &packet);
}

fn peer_data(offset: u32) -> TcpHeader {
    TcpHeader {
        seq: SeqNum(REMOTE_ISS + 1 + offset),
        flags: flags("P"),
        ..from_peer()
    }
}

/// A passive open where the peer's SYN asks for ECN (ECE and CWR):
/// with `config.ecn` our SYN-ACK answers with ECE alone (§6.1.1).
fn ecn_established_with(config: StackConfig) -> (Stack, ConnId) {
    let answers = config.ecn != EcnMode::Off;
    let (mut stack, listener) = listening_with(config);
    let syn = TcpHeader {
        flags: flags("SEW"),
        ..peer_syn()
    };
    send(&mut stack, ms(0), syn, b"");
    let (syn_ack, _, ecn) = recv_ecn(&mut stack, ms(0));
    assert!(syn_ack.flags.syn && syn_ack.ack.is_some());
    assert_eq!((syn_ack.flags.ece, syn_ack.flags.cwr), (answers, false));
    assert_eq!(ecn, Ecn::NotEct, "SYN-ACKs are not ECN-capable (§6.1.1)");
    send(&mut stack, ms(10), from_peer(), b"");
    let conn = stack.accept(listener).unwrap();
    (stack, conn)
}

fn ecn_stats(stack: &Stack, at: Instant) -> Option<crate::engine::tcp::EcnStats> {
    stack.view(at).connections[0].tcp.as_ref().unwrap().ecn
}

#[test]
fn shld_8_ecn_is_off_by_default_and_a_setup_syn_is_answered_without_it() {
    assert_eq!(StackConfig::new(LOCAL_IP).ecn, EcnMode::Off);
    let (mut stack, conn) = ecn_established_with(config());
    stack.send(conn, b"hello").unwrap();
    let (header, len, ecn) = recv_ecn(&mut stack, ms(20));
    assert_eq!((len, ecn), (5, Ecn::NotEct));
    assert!(!header.flags.ece && !header.flags.cwr);
    assert_eq!(ecn_stats(&stack, ms(20)), None);
}

#[test]
fn shld_8_an_ecn_setup_syn_makes_our_data_ect0_and_not_our_acks_rfc3168_s6_1_1() {
    let (mut stack, conn) = ecn_established_with(ecn_config());
    stack.send(conn, b"hello").unwrap();
    let (_, len, ecn) = recv_ecn(&mut stack, ms(20));
    assert_eq!((len, ecn), (5, Ecn::Ect0), "new data is ECN-capable");
    // A pure ACK is not (§6.1.4).
    let ack = TcpHeader {
        ack: Some(SeqNum(LOCAL_ISS + 6)),
        ..peer_data(0)
    };
    send(&mut stack, ms(30), ack, b"abc");
    let (header, len, ecn) = recv_ecn(&mut stack, ms(30));
    assert_eq!(
        (header.ack, len, ecn),
        (Some(SeqNum(REMOTE_ISS + 4)), 0, Ecn::NotEct)
    );
    assert!(ecn_stats(&stack, ms(30)).is_some());
}

#[test]
fn shld_8_our_syn_asks_for_ecn_and_an_ece_syn_ack_agrees_rfc3168_s6_1_1() {
    let mut stack = Stack::new(ecn_config());
    let conn = stack.connect(ms(0), REMOTE, Some(LOCAL_PORT)).unwrap();
    let (syn, _, ecn) = recv_ecn(&mut stack, ms(0));
    assert_eq!(
        (syn.flags.syn, syn.flags.ece, syn.flags.cwr),
        (true, true, true)
    );
    assert_eq!(ecn, Ecn::NotEct);
    let syn_ack = TcpHeader {
        flags: flags("SE"),
        ..peer_syn_ack()
    };
    send(&mut stack, ms(10), syn_ack, b"");
    let (ack, _, _) = recv_ecn(&mut stack, ms(10));
    assert!(!ack.flags.ece && !ack.flags.cwr);
    stack.send(conn, b"x").unwrap();
    assert_eq!(recv_ecn(&mut stack, ms(20)).2, Ecn::Ect0);
}

/// A SYN-ACK without ECE, or with ECE and CWR both (a reflecting
/// middlebox, §6.1.1), leaves the connection without ECN.
#[test]
fn shld_8_a_non_ecn_setup_syn_ack_leaves_ecn_off_rfc3168_s6_1_1() {
    for answer in ["S", "SEW"] {
        let mut stack = Stack::new(ecn_config());
        let conn = stack.connect(ms(0), REMOTE, Some(LOCAL_PORT)).unwrap();
        recv_ecn(&mut stack, ms(0));
        let syn_ack = TcpHeader {
            flags: flags(answer),
            ..peer_syn_ack()
        };
        send(&mut stack, ms(10), syn_ack, b"");
        recv_ecn(&mut stack, ms(10));
        stack.send(conn, b"x").unwrap();
        assert_eq!(recv_ecn(&mut stack, ms(20)).2, Ecn::NotEct, "{answer}");
    }
}

/// §6.1.1.1: the ECN-setup SYN may be what a middlebox drops; after
/// `ecn_syn_retries` (1) retransmissions the SYN goes without ECE and CWR.
#[test]
fn shld_8_syn_retransmissions_fall_back_to_a_plain_syn_rfc3168_s6_1_1_1() {
    let mut stack = Stack::new(ecn_config());
    stack.connect(ms(0), REMOTE, Some(LOCAL_PORT)).unwrap();
    let mut asked = Vec::new();
    let mut at = ms(0);
    for _ in 0..3 {
        let (syn, _, _) = recv_ecn(&mut stack, at);
        asked.push(syn.flags.ece && syn.flags.cwr);
        at = stack.poll_timeout().unwrap();
    }
    assert_eq!(asked, [true, true, false]);
}

/// §6.1.3: CE on a data segment is echoed with ECE on every ACK until a
/// segment with CWR arrives. The change to CE and back is acknowledged
/// at once, not after the delayed-ACK time.
#[test]
fn shld_8_a_ce_mark_is_echoed_until_cwr_rfc3168_s6_1_3() {
    let (mut stack, _conn) = ecn_established_with(StackConfig {
        delayed_ack: Some(Duration::from_millis(40)),
        ..ecn_config()
    });
    send_marked(&mut stack, ms(20), peer_data(0), b"abc", Ecn::Ce);
    let (ack, _, ecn) = recv_ecn(&mut stack, ms(20));
    assert_eq!(
        (ack.ack, ack.flags.ece, ecn),
        (Some(SeqNum(REMOTE_ISS + 4)), true, Ecn::NotEct)
    );
    send_marked(&mut stack, ms(30), peer_data(3), b"def", Ecn::Ect0);
    let (ack, _, _) = recv_ecn(&mut stack, ms(30));
    assert!(ack.flags.ece, "still echoing: no CWR yet");
    let cwr = TcpHeader {
        flags: flags("PW"),
        ..peer_data(6)
    };
    send_marked(&mut stack, ms(40), cwr, b"ghi", Ecn::Ect0);
    recv_nothing(&mut stack, ms(40));
    let (ack, _, _) = recv_ecn(&mut stack, ms(80));
    assert_eq!(
        (ack.ack, ack.flags.ece),
        (Some(SeqNum(REMOTE_ISS + 10)), false)
    );
    let stats = ecn_stats(&stack, ms(80)).unwrap();
    assert_eq!(stats.ce_received, 1);
}

/// Four segments out; the ACK of the first carries ECE. §6.1.2: cwnd
/// and ssthresh go down as for a loss (NewReno: half the flight), nothing
/// is retransmitted, and a second ECE for the same window changes
/// nothing. The next new data segment carries CWR, the one after not.
#[test]
fn shld_8_ece_reduces_the_window_once_without_retransmitting_rfc3168_s6_1_2() {
    let (mut stack, conn) = ecn_established_with(ecn_config());
    let data = vec![7u8; 4 * SEG];
    stack.send(conn, &data).unwrap();
    for _ in 0..4 {
        assert_eq!(recv_ecn(&mut stack, ms(20)).2, Ecn::Ect0);
    }
    let ece_ack = |segments: usize| TcpHeader {
        ack: Some(SeqNum(LOCAL_ISS + 1) + segments * SEG),
        flags: flags("E"),
        ..from_peer()
    };
    send(&mut stack, ms(30), ece_ack(1), b"");
    // Half of the three segments left in flight, but at least two (RFC 5681 (4)).
    assert_eq!(stack.congestion_window(conn), (2 * SEG, 2 * SEG));
    recv_nothing(&mut stack, ms(30));
    send(&mut stack, ms(31), ece_ack(2), b"");
    assert_eq!(stack.congestion_window(conn).1, 2 * SEG, "once per window");
    send(
        &mut stack,
        ms(40),
        TcpHeader {
            flags: flags(""),
            ..ece_ack(4)
        },
        b"",
    );
    stack.set_nodelay(conn, true).unwrap();
    stack.send(conn, b"more").unwrap();
    let (first, _, ecn) = recv_ecn(&mut stack, ms(40));
    assert_eq!((first.flags.cwr, ecn), (true, Ecn::Ect0));
    stack.send(conn, b"again").unwrap();
    let (second, _, _) = recv_ecn(&mut stack, ms(40));
    assert!(!second.flags.cwr);
    let stats = ecn_stats(&stack, ms(40)).unwrap();
    assert_eq!(
        (stats.ece_received, stats.reductions, stats.cwr_sent),
        (2, 1, 1)
    );
    assert_eq!(stack.stats().retransmissions, 0);
}

/// §6.1.5: a retransmission goes out Not-ECT.
#[test]
fn shld_8_retransmissions_are_not_ect_rfc3168_s6_1_5() {
    let (mut stack, conn) = ecn_established_with(ecn_config());
    stack.send(conn, b"hello").unwrap();
    let (first, _, ecn) = recv_ecn(&mut stack, ms(20));
    assert_eq!(ecn, Ecn::Ect0);
    let rto = stack.poll_timeout().unwrap();
    let (again, len, ecn) = recv_ecn(&mut stack, rto);
    assert_eq!((again.seq, len, ecn), (first.seq, 5, Ecn::NotEct));
}

/// `AnswerOnly` (Linux's and FreeBSD's 2): our SYN does not ask, a
/// peer's ECN-setup SYN is answered.
#[test]
fn shld_8_answer_only_never_asks_but_answers() {
    let answer_only = StackConfig {
        ecn: EcnMode::AnswerOnly,
        ..config()
    };
    let mut stack = Stack::new(answer_only.clone());
    stack.connect(ms(0), REMOTE, Some(LOCAL_PORT)).unwrap();
    let (syn, _, _) = recv_ecn(&mut stack, ms(0));
    assert!(!syn.flags.ece && !syn.flags.cwr);
    let (mut stack, conn) = ecn_established_with(answer_only);
    stack.send(conn, b"x").unwrap();
    assert_eq!(recv_ecn(&mut stack, ms(20)).2, Ecn::Ect0);
}
