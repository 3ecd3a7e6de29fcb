//! The congestion window in loss recovery: how much goes out per ACK
//! (PRR, RFC 6937) and the undo of a reduction that D-SACKs prove
//! needless (RFC 2883). NewReno (the harness's choice) halves the flight,
//! so the numbers are RFC 6937's; the handshake measured a 10 ms RTT.

use super::harness::*;
use super::rack::{
    expect_segment, first_lost_and_resent, first_of_five_lost_and_resent, peer_ack, seg_end,
    send_segments,
};
use super::sack::established_with_sack_using;
use crate::engine::{ConnId, Engine, Stack, StackConfig};
use crate::wire::SeqNum;

const SEG: usize = MSS as usize;

/// Ten segments sent at 20 ms, from a send buffer with room for more.
fn ten_segments_out() -> (Stack, ConnId, Vec<u8>) {
    let (mut stack, conn) = established_with_sack_using(StackConfig {
        send_buffer: 64_000,
        ..config()
    });
    let data = send_segments(&mut stack, conn, 10, ms(20));
    (stack, conn, data)
}

/// Ten segments out at 20 ms, five more queued; at 30 ms segments 2-4
/// are SACKed, so segment 1 is lost: fast recovery with RecoverFS = 10
/// segments and ssthresh = 5, pipe = 6 (segments 5-10).
///
/// RFC 6675 alone (cwnd = ssthresh = 5 < pipe) would send nothing but the
/// retransmission until pipe fell below 5. PRR sends in proportion to
/// what is delivered: ssthresh / RecoverFS = one segment per two SACKed.
#[test]
fn fast_recovery_sends_in_proportion_to_deliveries_rfc_6937() {
    let (mut stack, conn, data) = ten_segments_out();
    assert_eq!(stack.send(conn, &[3u8; 5 * SEG]), Ok(5 * SEG));
    recv_nothing(&mut stack, ms(29));
    let first = super::rack::FIRST;
    let sacking_up_to = |n| peer_ack(first, &[(seg_end(1), seg_end(n))]);
    // Three segments delivered: two may go, the retransmission and one new.
    send(&mut stack, ms(30), sacking_up_to(4), b"");
    expect_segment(&mut stack, ms(30), &data, 1);
    let (new, _) = recv(&mut stack, ms(30));
    assert_eq!(new.seq, SeqNum(seg_end(10)));
    recv_nothing(&mut stack, ms(30));
    assert_eq!(stack.congestion_window(conn).1, 5 * SEG);
    // Then one segment on every second delivery.
    send(&mut stack, ms(31), sacking_up_to(5), b"");
    recv_nothing(&mut stack, ms(31));
    send(&mut stack, ms(32), sacking_up_to(6), b"");
    let (new, _) = recv(&mut stack, ms(32));
    assert_eq!(new.seq, SeqNum(seg_end(11)));
    recv_nothing(&mut stack, ms(32));
    send(&mut stack, ms(33), sacking_up_to(7), b"");
    recv_nothing(&mut stack, ms(33));
}

/// Segment 1 was only late, not lost: the peer ACKs everything at 35 ms
/// (recovery ends with cwnd = ssthresh = half of 5 segments), then the
/// retransmission arrives and the peer reports it with a D-SACK (RFC
/// 2883 §4: a first block below the cumulative ACK). It was the only
/// retransmission, so the reduction was needless: cwnd and ssthresh
/// come back (the initial 10 segments, ssthresh "arbitrarily high").
#[test]
fn a_d_sack_for_the_only_retransmission_undoes_the_reduction() {
    let (mut stack, conn, _) = first_of_five_lost_and_resent();
    let initial = stack.congestion_window(conn);
    assert_eq!(initial.1, 5 * SEG / 2, "reduced");
    send(&mut stack, ms(35), peer_ack(seg_end(5), &[]), b"");
    assert_eq!(stack.congestion_window(conn), (5 * SEG / 2, 5 * SEG / 2));
    let dsack = peer_ack(seg_end(5), &[(seg_end(0), seg_end(1))]);
    send(&mut stack, ms(40), dsack, b"");
    assert_eq!(stack.congestion_window(conn), (10 * SEG, usize::MAX));
    assert_eq!(stack.recovery_stats().undos, 1);
}

/// A spurious timeout: the four segments were only delayed. The loss
/// probe at 40 ms goes unanswered too; the RTO at 240 ms resends segment
/// 1 with cwnd = 1 segment; the originals' ACK comes at 245 ms, then the
/// D-SACK of the retransmission (RFC 2883): the timeout's reduction is
/// undone (Linux's `tcp_try_undo_loss`).
#[test]
fn a_d_sack_after_a_spurious_timeout_undoes_its_reduction() {
    let (mut stack, conn) = super::sack::established_with_sack();
    let data = send_segments(&mut stack, conn, 4, ms(20));
    expect_segment(&mut stack, ms(40), &data, 4);
    recv_nothing(&mut stack, ms(239));
    expect_segment(&mut stack, ms(240), &data, 1);
    assert_eq!(stack.congestion_window(conn), (SEG, 2 * SEG));
    send(&mut stack, ms(245), peer_ack(seg_end(4), &[]), b"");
    let dsack = peer_ack(seg_end(4), &[(seg_end(0), seg_end(1))]);
    send(&mut stack, ms(250), dsack, b"");
    assert_eq!(stack.congestion_window(conn), (10 * SEG, usize::MAX));
    let stats = stack.recovery_stats();
    assert_eq!((stats.timeouts, stats.undos), (1, 1));
}

/// The ACKs of ten segments stop; the loss probe at 40 ms resends
/// segment 10; its SACK shows segment 1 lost: fast recovery reduces the
/// window (ssthresh 5 segments) and repairs it. The ACK of everything
/// then also acknowledges the probe, which repaired a loss, but the
/// recovery already responded to that loss: the window is not reduced
/// a second time (Linux's tcp_init_cwnd_reduction ends the probe episode).
#[test]
fn a_recovery_begun_by_a_probes_sack_responds_for_the_probe() {
    let (mut stack, conn, data) = ten_segments_out();
    recv_nothing(&mut stack, ms(39));
    expect_segment(&mut stack, ms(40), &data, 10);
    first_lost_and_resent(&mut stack, ms(50), &data, 10);
    assert_eq!(stack.congestion_window(conn).1, 5 * SEG);
    send(&mut stack, ms(60), peer_ack(seg_end(10), &[]), b"");
    assert_eq!(stack.congestion_window(conn), (5 * SEG, 5 * SEG));
    let stats = stack.recovery_stats();
    assert_eq!(
        (stats.loss_probes, stats.probes_acked, stats.fast_recoveries),
        (1, 1, 1)
    );
}
