//! Loss detection by time (RACK) and tail loss probes (RFC 8985), and the
//! repair after a retransmission timeout that keeps the SACK scoreboard
//! (RFC 6675 §5.1). The peer offers SACK as Linux does; the handshake
//! measured a 10 ms round trip, so the RTO is the 200 ms minimum and the
//! loss probe timeout is 2 * SRTT = 20 ms.

use super::harness::*;
use super::sack::{established_with_sack, sack};
use crate::engine::{ConnId, Engine, Stack};
use crate::wire::{SeqNum, TcpHeader};

const SEG: usize = MSS as usize;
pub(super) const FIRST: u32 = LOCAL_ISS + 1;

/// End of our `n`th full segment (1-based), as a sequence number.
pub(super) fn seg_end(n: usize) -> u32 {
    FIRST + (n * SEG) as u32
}

/// Queues `n` full segments and takes them, all sent at `at`.
pub(super) fn send_segments(
    stack: &mut Stack,
    conn: ConnId,
    n: usize,
    at: crate::time::Instant,
) -> Vec<u8> {
    let data: Vec<u8> = (0..n * SEG).map(|i| (i % 251) as u8).collect();
    assert_eq!(stack.send(conn, &data), Ok(data.len()));
    for i in 0..n {
        let (header, payload) = recv(stack, at);
        assert_eq!((header.seq, payload.len()), (SeqNum(seg_end(i)), SEG));
    }
    data
}

/// The peer's ACK of everything below `ack`, SACKing `blocks`.
pub(super) fn peer_ack(ack: u32, blocks: &[(u32, u32)]) -> TcpHeader {
    TcpHeader {
        ack: Some(SeqNum(ack)),
        options: sack(blocks),
        ..from_peer()
    }
}

/// Expects our segment `n` (1-based) again, whole.
#[track_caller]
pub(super) fn expect_segment(stack: &mut Stack, at: crate::time::Instant, data: &[u8], n: usize) {
    let (header, payload) = recv(stack, at);
    assert_eq!(header.seq, SeqNum(seg_end(n - 1)), "segment {n} expected");
    assert_eq!(payload, &data[(n - 1) * SEG..n * SEG]);
}

/// Five segments sent at 20 ms; at 30 ms segments 2-5 are SACKed, so
/// segment 1, sent before them, is lost and resent at once (fast recovery).
pub(super) fn first_of_five_lost_and_resent() -> (Stack, ConnId, Vec<u8>) {
    let (mut stack, conn) = established_with_sack();
    let data = send_segments(&mut stack, conn, 5, ms(20));
    first_lost_and_resent(&mut stack, ms(30), &data, 5);
    (stack, conn, data)
}

/// At `at` the peer SACKs segments 2 to `last`: segment 1 is lost and
/// resent at once.
pub(super) fn first_lost_and_resent(
    stack: &mut Stack,
    at: crate::time::Instant,
    data: &[u8],
    last: usize,
) {
    send(
        stack,
        at,
        peer_ack(FIRST, &[(seg_end(1), seg_end(last))]),
        b"",
    );
    expect_segment(stack, at, data, 1);
}

/// Segment 1 is lost, and so is its fast retransmission. RFC 6675 alone
/// cannot tell (the hole was already resent) and waits for the RTO at
/// 220 ms; RACK sees that segment 6, sent after the retransmission, was
/// delivered a round trip later, and resends segment 1 at once.
#[test]
fn a_lost_retransmission_is_resent_without_a_timeout_rfc_8985_s6_2() {
    let (mut stack, conn, data) = first_of_five_lost_and_resent();
    // One more segment of new data fits in cwnd - pipe (RFC 6675 rule 2).
    let more = vec![9u8; SEG];
    assert_eq!(stack.send(conn, &more), Ok(SEG));
    let (header, _) = recv(&mut stack, ms(30));
    assert_eq!(header.seq, SeqNum(seg_end(5)), "new data");
    recv_nothing(&mut stack, ms(39));
    // Segment 6 arrives; the retransmission of 1 did not.
    send(
        &mut stack,
        ms(40),
        peer_ack(FIRST, &[(seg_end(1), seg_end(6))]),
        b"",
    );
    expect_segment(&mut stack, ms(40), &data, 1);
    assert_eq!(stack.recovery_stats().timeouts, 0);
}

/// The last two of three segments are lost: no later segment can reveal
/// it. The probe timeout (2 * SRTT after the last ACK) resends the last
/// segment; its SACK lets RACK find segment 2, resent at 60 ms instead of
/// at the RTO (230 ms).
#[test]
fn a_tail_loss_is_probed_and_repaired_without_a_timeout_rfc_8985_s7() {
    let (mut stack, conn) = established_with_sack();
    let data = send_segments(&mut stack, conn, 3, ms(20));
    send(&mut stack, ms(30), peer_ack(seg_end(1), &[]), b"");
    recv_nothing(&mut stack, ms(49));
    // PTO: no new data to send, so the last segment again (§7.3).
    expect_segment(&mut stack, ms(50), &data, 3);
    recv_nothing(&mut stack, ms(59));
    send(
        &mut stack,
        ms(60),
        peer_ack(seg_end(1), &[(seg_end(2), seg_end(3))]),
        b"",
    );
    expect_segment(&mut stack, ms(60), &data, 2);
    let stats = stack.recovery_stats();
    assert_eq!((stats.loss_probes, stats.timeouts), (1, 0));
}

/// A probe resends the last segment even when new data waits (RFC 8985
/// §7.3 would send the new data): a duplicate is ACKed at once, new data
/// may be held by a delaying receiver as long as our RTO (`emit_loss_probe`).
#[test]
fn a_loss_probe_resends_the_last_segment_even_with_new_data_waiting() {
    let (mut stack, conn) = established_with_sack();
    let data = send_segments(&mut stack, conn, 10, ms(20));
    // The initial window (10 segments) is full: more data waits (as much
    // as the 16 000-byte send buffer still takes).
    assert_eq!(stack.send(conn, &[5u8; SEG]), Ok(1400));
    recv_nothing(&mut stack, ms(39));
    expect_segment(&mut stack, ms(40), &data, 10);
    recv_nothing(&mut stack, ms(100));
}

/// A retransmission timeout does not resend what the peer SACKed (RFC
/// 6675 §5.1: use all SACK information in the repair): after segment 1
/// comes back, segment 2 and then 4 go, not 3.
#[test]
fn after_a_timeout_sacked_data_is_not_resent_rfc_6675_s5_1() {
    let (mut stack, conn) = established_with_sack();
    let data = send_segments(&mut stack, conn, 5, ms(20));
    // Segment 3 SACKed; 1 and 2 become lost at 20 + 10 + 2.5 ms.
    send(
        &mut stack,
        ms(30),
        peer_ack(FIRST, &[(seg_end(2), seg_end(3))]),
        b"",
    );
    recv_nothing(&mut stack, ms(32));
    expect_segment(&mut stack, ms(33), &data, 1);
    // Recovery's cwnd (half of 5 segments) is full; then nothing comes back.
    recv_nothing(&mut stack, ms(219));
    expect_segment(&mut stack, ms(220), &data, 1);
    recv_nothing(&mut stack, ms(220));
    assert_eq!(stack.recovery_stats().timeouts, 1);
    // Segment 1 arrives: cwnd grows to 2 segments, for 2 and 4 (not 3).
    send(
        &mut stack,
        ms(230),
        peer_ack(seg_end(1), &[(seg_end(2), seg_end(3))]),
        b"",
    );
    expect_segment(&mut stack, ms(230), &data, 2);
    expect_segment(&mut stack, ms(230), &data, 4);
    recv_nothing(&mut stack, ms(230));
}

/// The peer reneged (RFC 2018 §8): its cumulative ACK stops at a range it
/// had SACKed. The scoreboard is forgotten, so the timeout resends from
/// segment 2 (trusting the old SACKs, it would resend 4 first).
#[test]
fn a_reneging_peer_gets_its_sacked_data_again() {
    let (mut stack, conn) = established_with_sack();
    let data = send_segments(&mut stack, conn, 4, ms(20));
    // Two segments SACKed: segment 1 is lost after a quarter RTT more.
    send(
        &mut stack,
        ms(30),
        peer_ack(FIRST, &[(seg_end(1), seg_end(3))]),
        b"",
    );
    recv_nothing(&mut stack, ms(32));
    expect_segment(&mut stack, ms(33), &data, 1);
    // Segment 1 is acknowledged, but 2 and 3, SACKed before, are not.
    send(&mut stack, ms(40), peer_ack(seg_end(1), &[]), b"");
    recv_nothing(&mut stack, ms(239));
    expect_segment(&mut stack, ms(240), &data, 2);
}

/// Segment 1 is lost and resent in fast recovery; then the ACKs stop (the
/// retransmission's ACK is lost, or the retransmission itself). Nothing
/// sent after it can reveal anything, so without a probe only the RTO
/// (220 ms) would go on; the probe in recovery (see `arm_loss_probe`)
/// resends the last unSACKed segment 2 * SRTT after the retransmission,
/// and its ACK ends the recovery. This was every RTO we took against
/// Linux over tun0 at 5% loss both ways.
#[test]
fn a_stalled_fast_recovery_is_probed_not_timed_out() {
    let (mut stack, _, data) = first_of_five_lost_and_resent();
    recv_nothing(&mut stack, ms(49));
    // The probe: segment 1 is the only (so the last) one not SACKed.
    expect_segment(&mut stack, ms(50), &data, 1);
    recv_nothing(&mut stack, ms(59));
    send(&mut stack, ms(60), peer_ack(seg_end(5), &[]), b"");
    recv_nothing(&mut stack, ms(400));
    let stats = stack.recovery_stats();
    assert_eq!(
        (stats.loss_probes, stats.probes_acked, stats.timeouts),
        (1, 1, 0)
    );
}

/// A probe in recovery is one segment: when it is lost as well, the RTO
/// (restarted by the probe, RFC 8985 §7.3) still ends the stall.
#[test]
fn a_lost_probe_in_recovery_leaves_the_timeout_to_repair() {
    let (mut stack, _, data) = first_of_five_lost_and_resent();
    expect_segment(&mut stack, ms(50), &data, 1);
    recv_nothing(&mut stack, ms(249));
    expect_segment(&mut stack, ms(250), &data, 1);
    let stats = stack.recovery_stats();
    assert_eq!(
        (
            stats.loss_probes,
            stats.timeouts,
            stats.timeouts_after_probe
        ),
        (1, 1, 1)
    );
}
