//! TCP Timestamps (RFC 7323 §3-5): negotiation, TSecr echoing TS.Recent,
//! RTT from the echo (retransmissions included), PAWS with its 24-day idle
//! rule; and D-SACK blocks for duplicates (RFC 2883), which share the
//! option space with timestamps.

use std::time::Duration;

use super::harness::*;
use crate::engine::{ConnId, Engine, Stack, StackConfig};
use crate::time::Instant;
use crate::wire::{SeqNum, TcpHeader, TcpOptions, Timestamps};

/// The peer's timestamp clock: TSval at `at`.
fn peer_tsval(at: Instant) -> u32 {
    7_000 + at.total_millis() as u32
}

fn ts(tsval: u32, tsecr: u32) -> Option<Timestamps> {
    Some(Timestamps { tsval, tsecr })
}

/// Passive open at t = 0 (SYN) and 10 ms (ACK) with a peer whose SYN
/// carries timestamps (and SACK-permitted if `sack`); the SYN-ACK must
/// answer them (RFC 7323 §3.2).
fn established_with_timestamps(cfg: StackConfig, sack: bool) -> (Stack, ConnId) {
    let (mut stack, listener) = listening_with(cfg);
    let syn = TcpHeader {
        options: TcpOptions {
            timestamps: ts(peer_tsval(ms(0)), 0),
            sack_permitted: sack,
            ..TcpOptions::with_mss(MSS)
        },
        ..peer_syn()
    };
    send(&mut stack, ms(0), syn, b"");
    let syn_ack = TcpHeader {
        options: TcpOptions {
            timestamps: ts(our_tsval(ms(0)), peer_tsval(ms(0))),
            sack_permitted: sack,
            ..TcpOptions::with_mss(MSS)
        },
        ..our_syn_ack()
    };
    expect(&mut stack, ms(0), syn_ack, b"");
    let ack = TcpHeader {
        options: options_at(ms(10), our_tsval(ms(0))),
        ..from_peer()
    };
    send(&mut stack, ms(10), ack, b"");
    let conn = stack.accept(listener).unwrap();
    (stack, conn)
}

/// The peer's options at `at`, echoing `tsecr`.
fn options_at(at: Instant, tsecr: u32) -> TcpOptions {
    TcpOptions {
        timestamps: ts(peer_tsval(at), tsecr),
        ..TcpOptions::default()
    }
}

/// Peer data at `offset` (from its ISS + 1), sent at `at` with TSval `tsval`.
fn peer_data(offset: u32, tsval: u32) -> TcpHeader {
    TcpHeader {
        seq: SeqNum(REMOTE_ISS + 1 + offset),
        options: TcpOptions {
            timestamps: ts(tsval, our_tsval(ms(0))),
            ..TcpOptions::default()
        },
        ..from_peer()
    }
}

/// Our ACK of peer bytes up to `offset`, at `at`, echoing `tsecr`.
fn our_ack(at: Instant, offset: u32, tsecr: u32) -> TcpHeader {
    TcpHeader {
        ack: Some(SeqNum(REMOTE_ISS + 1 + offset)),
        window: LOCAL_WIN - offset as u16,
        options: TcpOptions {
            timestamps: ts(our_tsval(at), tsecr),
            ..TcpOptions::default()
        },
        ..to_peer()
    }
}

#[test]
fn timestamps_are_answered_and_then_on_every_segment_rfc_7323_s3_2() {
    let (mut stack, conn) = established_with_timestamps(ts_config(), false);
    send(&mut stack, ms(20), peer_data(0, 7_020), b"hello");
    expect(&mut stack, ms(20), our_ack(ms(20), 5, 7_020), b"");
    // Data carries them too, and 12 bytes of option displace 12 of data
    // (RFC 9293 §3.7.1, RFC 6691): 1460 - 12 per full segment.
    let data = vec![7u8; 2000];
    assert_eq!(stack.send(conn, &data), Ok(2000));
    let (header, payload) = recv(&mut stack, ms(30));
    assert_eq!(payload.len(), usize::from(MSS) - 12);
    assert_eq!(header.options.timestamps, ts(our_tsval(ms(30)), 7_020));
}

#[test]
fn no_timestamps_when_the_peer_syn_has_none_rfc_7323_s3_2() {
    let (mut stack, listener) = listening_with(ts_config());
    send(&mut stack, ms(0), peer_syn(), b"");
    expect(&mut stack, ms(0), our_syn_ack(), b"");
    send(&mut stack, ms(10), from_peer(), b"");
    let conn = stack.accept(listener).unwrap();
    send(&mut stack, ms(20), peer_data(0, 1), b"hi");
    let ack = TcpHeader {
        ack: Some(SeqNum(REMOTE_ISS + 3)),
        window: LOCAL_WIN - 2,
        ..to_peer()
    };
    expect(&mut stack, ms(20), ack, b"");
    // A full segment is a whole MSS: no option space taken.
    let data = vec![7u8; 2000];
    assert_eq!(stack.send(conn, &data), Ok(2000));
    let (header, payload) = recv(&mut stack, ms(30));
    assert_eq!(
        (header.options, payload.len()),
        (TcpOptions::default(), 1460)
    );
}

#[test]
fn our_syn_offers_timestamps_and_the_syn_ack_turns_them_on_rfc_7323_s3_2() {
    let mut stack = Stack::new(ts_config());
    stack.connect(ms(0), REMOTE, Some(LOCAL_PORT)).unwrap();
    let (syn, _) = recv(&mut stack, ms(0));
    // §3.2: "The TSecr field ... is zero" in a SYN without ACK.
    assert_eq!(syn.options.timestamps, ts(our_tsval(ms(0)), 0));
    let syn_ack = TcpHeader {
        options: TcpOptions {
            timestamps: ts(peer_tsval(ms(10)), our_tsval(ms(0))),
            ..TcpOptions::with_mss(MSS)
        },
        ..peer_syn_ack()
    };
    send(&mut stack, ms(10), syn_ack, b"");
    expect(
        &mut stack,
        ms(10),
        our_ack(ms(10), 0, peer_tsval(ms(10))),
        b"",
    );
}

#[test]
fn a_syn_ack_without_timestamps_leaves_them_off_rfc_7323_s3_2() {
    let mut stack = Stack::new(ts_config());
    stack.connect(ms(0), REMOTE, Some(LOCAL_PORT)).unwrap();
    recv(&mut stack, ms(0));
    send(&mut stack, ms(10), peer_syn_ack(), b"");
    expect(&mut stack, ms(10), to_peer(), b"");
}

/// RFC 7323 §4.3, case (C): an out-of-order segment does not set TS.Recent
/// (its SEQ is past Last.ACK.sent), the one filling the hole does, so the
/// echo stands for the segment that held things up.
#[test]
fn tsecr_echoes_ts_recent_of_the_segment_that_advanced_the_window_rfc_7323_s4_3() {
    let (mut stack, _conn) = established_with_timestamps(ts_config(), false);
    send(&mut stack, ms(20), peer_data(0, 7_020), b"aaaaa");
    expect(&mut stack, ms(20), our_ack(ms(20), 5, 7_020), b"");
    // Bytes 5..10 are lost; 10..15 arrive with a later TSval.
    send(&mut stack, ms(30), peer_data(10, 7_030), b"ccccc");
    expect(&mut stack, ms(30), our_ack(ms(30), 5, 7_020), b"");
    // The hole is filled by a retransmission sent later still.
    send(&mut stack, ms(40), peer_data(5, 7_040), b"bbbbb");
    expect(&mut stack, ms(40), our_ack(ms(40), 15, 7_040), b"");
}

/// RFC 7323 §4.1 and §4.2: the ACK of a retransmitted segment echoes the
/// TSval of the copy that arrived, so it is a valid RTT sample (Karn's
/// rule forbids it without timestamps), and the sample ends the backoff.
#[test]
fn the_ack_of_a_retransmission_is_an_rtt_sample_rfc_7323_s4_1() {
    let cfg = StackConfig {
        min_rto: Duration::from_millis(1),
        ..ts_config()
    };
    let (mut stack, listener) = listening_with(cfg);
    let syn = TcpHeader {
        options: TcpOptions {
            timestamps: ts(peer_tsval(ms(0)), 0),
            ..TcpOptions::with_mss(MSS)
        },
        ..peer_syn()
    };
    send(&mut stack, ms(0), syn, b"");
    recv(&mut stack, ms(0));
    // The handshake takes 100 ms: SRTT 100, RTTVAR 50, RTO 300 ms.
    let ack = TcpHeader {
        options: options_at(ms(100), our_tsval(ms(0))),
        ..from_peer()
    };
    send(&mut stack, ms(100), ack, b"");
    let conn = stack.accept(listener).unwrap();
    assert_eq!(stack.send(conn, b"lost"), Ok(4));
    recv(&mut stack, ms(100));
    recv_nothing(&mut stack, ms(399));
    let (resent, _) = recv(&mut stack, ms(400));
    assert_eq!(resent.options.timestamps, ts(our_tsval(ms(400)), 7_100));
    // Its ACK echoes the retransmission's TSval: RTT 100 ms again, so
    // RTTVAR = 3/4 * 50 and RTO = 100 + 4 * 37.5 = 250 ms, not backed off.
    let ack = TcpHeader {
        ack: Some(SeqNum(LOCAL_ISS + 5)),
        options: options_at(ms(500), our_tsval(ms(400))),
        ..from_peer()
    };
    send(&mut stack, ms(500), ack, b"");
    assert_eq!(stack.send(conn, b"lost too"), Ok(8));
    recv(&mut stack, ms(500));
    recv_nothing(&mut stack, ms(749));
    let (resent, payload) = recv(&mut stack, ms(750));
    assert_eq!(
        (resent.seq, payload.as_slice()),
        (SeqNum(LOCAL_ISS + 5), &b"lost too"[..])
    );
}

/// RFC 7323 §5.3 R1: a segment whose TSval is older than TS.Recent is an
/// old duplicate: dropped, answered with an ACK. §5.5: after 24 days of
/// silence TS.Recent is invalid and such a segment is accepted.
#[test]
fn paws_drops_an_old_segment_with_an_ack_until_24_days_idle_rfc_7323_s5() {
    let (mut stack, conn) = established_with_timestamps(ts_config(), false);
    send(&mut stack, ms(20), peer_data(0, 9_000), b"new");
    expect(&mut stack, ms(20), our_ack(ms(20), 3, 9_000), b"");
    assert_eq!(read_all(&mut stack, conn), b"new");
    // Next in sequence, but stamped before TS.Recent: wrapped sequence
    // numbers of an old incarnation look just like this.
    send(&mut stack, ms(30), peer_data(3, 8_000), b"old");
    expect(&mut stack, ms(30), our_ack(ms(30), 3, 9_000), b"");
    assert_eq!(read_all(&mut stack, conn), b"");
    // 24 days later TS.Recent is no longer valid: the same segment is
    // accepted, and its TSval becomes TS.Recent (§5.3 R3).
    let idle = ms(30) + Duration::from_secs(24 * 24 * 3600);
    send(&mut stack, idle, peer_data(3, 8_000), b"old");
    expect(&mut stack, idle, our_ack(idle, 6, 8_000), b"");
    assert_eq!(read_all(&mut stack, conn), b"old");
}

#[test]
fn a_duplicate_segment_is_reported_in_a_dsack_block_rfc_2883_s4() {
    let (mut stack, _conn) = established_with_timestamps(ts_config(), true);
    let r = REMOTE_ISS + 1;
    send(&mut stack, ms(20), peer_data(0, 7_020), b"0123456789");
    expect(&mut stack, ms(20), our_ack(ms(20), 10, 7_020), b"");
    // The same segment again (our ACK was lost): below RCV.NXT.
    send(&mut stack, ms(30), peer_data(0, 7_030), b"0123456789");
    let dsack = |at, offset, tsecr, edges: &[(u32, u32)]| {
        let mut ack = our_ack(at, offset, tsecr);
        ack.options.sack = super::sack::sack(edges).sack;
        ack
    };
    expect(
        &mut stack,
        ms(30),
        dsack(ms(30), 10, 7_020, &[(r, r + 10)]),
        b"",
    );
    // Out of order, then that again: D-SACK first, then the block that
    // holds it (RFC 2883 §4 example).
    send(&mut stack, ms(40), peer_data(20, 7_040), b"xxxxx");
    let held = [(r + 20, r + 25)];
    expect(&mut stack, ms(40), dsack(ms(40), 10, 7_020, &held), b"");
    send(&mut stack, ms(50), peer_data(20, 7_050), b"xxxxx");
    let both = [(r + 20, r + 25), (r + 20, r + 25)];
    expect(&mut stack, ms(50), dsack(ms(50), 10, 7_020, &both), b"");
    // Reported once: the next ACK has the plain SACK block only.
    send(&mut stack, ms(60), peer_data(30, 7_060), b"yyyyy");
    let two = [(r + 30, r + 35), (r + 20, r + 25)];
    expect(&mut stack, ms(60), dsack(ms(60), 10, 7_020, &two), b"");
}

/// RFC 7323 §3.2 / RFC 2018 §3: with timestamps, 40 bytes of options hold
/// 3 SACK blocks, not 4; with a D-SACK block first, 2 others.
#[test]
fn with_timestamps_at_most_three_sack_blocks_fit_rfc_2018_s3() {
    let (mut stack, _conn) = established_with_timestamps(ts_config(), true);
    for i in 0..4u32 {
        let at = ms(20 + u64::from(i));
        send(&mut stack, at, peer_data(10 + 10 * i, 7_020), b"hole");
        let (ack, _) = recv(&mut stack, at);
        let blocks = ack.options.sack.as_slice().len();
        assert_eq!(blocks, (i as usize + 1).min(3), "ACK {i}");
    }
    send(&mut stack, ms(30), peer_data(10, 7_030), b"hole");
    let (ack, _) = recv(&mut stack, ms(30));
    let r = REMOTE_ISS + 1;
    let blocks = ack.options.sack.as_slice();
    assert_eq!(blocks.len(), 3);
    assert_eq!(
        (blocks[0].left, blocks[0].right),
        (SeqNum(r + 10), SeqNum(r + 14))
    );
}

/// RFC 2883 §4.1.1-like: a segment that repeats some bytes already
/// received and brings new ones; the repeated part is D-SACKed.
#[test]
fn the_old_part_of_a_partly_new_segment_is_dsacked_rfc_2883_s4() {
    let (mut stack, _conn) = established_with_timestamps(ts_config(), true);
    let r = REMOTE_ISS + 1;
    send(&mut stack, ms(20), peer_data(0, 7_020), b"0123456789");
    expect(&mut stack, ms(20), our_ack(ms(20), 10, 7_020), b"");
    send(&mut stack, ms(30), peer_data(5, 7_030), b"56789abcde");
    let mut ack = our_ack(ms(30), 15, 7_030);
    ack.options.sack = super::sack::sack(&[(r + 5, r + 10)]).sack;
    expect(&mut stack, ms(30), ack, b"");
}

/// A segment repeating bytes below RCV.NXT and also bytes held out of
/// order: the D-SACK block reports the part below RCV.NXT, as Linux
/// (tcp_data_queue) and FreeBSD do. RFC 2883 §4 allows either; the
/// FreeBSD rcv-data-segments scripts expect this one.
#[test]
fn a_segment_repeating_old_and_held_bytes_dsacks_the_old_part_rfc_2883_s4() {
    let (mut stack, _conn) = established_with_timestamps(ts_config(), true);
    let r = REMOTE_ISS + 1;
    send(&mut stack, ms(20), peer_data(0, 7_020), b"0123456789");
    expect(&mut stack, ms(20), our_ack(ms(20), 10, 7_020), b"");
    send(&mut stack, ms(30), peer_data(15, 7_030), b"fghij");
    recv(&mut stack, ms(30));
    // 5..20: 5..10 below RCV.NXT, 10..15 new, 15..20 held already.
    send(&mut stack, ms(40), peer_data(5, 7_040), b"56789abcdefghij");
    let mut ack = our_ack(ms(40), 20, 7_040);
    ack.options.sack = super::sack::sack(&[(r + 5, r + 10)]).sack;
    expect(&mut stack, ms(40), ack, b"");
}

/// A segment partly below RCV.NXT, the rest new and in order: its ACK,
/// which carries the D-SACK block, goes at once instead of waiting for
/// the delayed-ACK timer (the FreeBSD rcv-data-segments scripts expect
/// it so; a sender learns at once that it resent needlessly).
#[test]
fn a_partly_duplicate_segment_is_acked_at_once_with_its_dsack_rfc_2883_s4() {
    let (mut stack, _conn) = established_with_timestamps(ts_config(), true);
    let r = REMOTE_ISS + 1;
    send(&mut stack, ms(20), peer_data(0, 7_020), b"0123456789");
    expect(&mut stack, ms(20), our_ack(ms(20), 10, 7_020), b"");
    // Two full-sized segments' worth is not reached: without the D-SACK
    // this ACK would wait for the delayed-ACK timer.
    send(&mut stack, ms(30), peer_data(5, 7_030), b"56789ab");
    let mut ack = our_ack(ms(30), 12, 7_030);
    ack.options.sack = super::sack::sack(&[(r + 5, r + 10)]).sack;
    expect(&mut stack, ms(30), ack, b"");
}
