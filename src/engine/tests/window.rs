//! Windows: the acceptability table of §3.10.7.4 at its ±1 edges, zero
//! windows both ways (§3.8.6.1 persist), window updates and SWS avoidance
//! (§3.8.6.2), shrinking peer windows.

use super::harness::*;
use crate::engine::{ApiError, Engine, StackConfig};
use crate::wire::{SeqNum, TcpHeader};

fn small_window_config(window: u16) -> StackConfig {
    StackConfig {
        recv_buffer: usize::from(window),
        ..config()
    }
}

fn peer_data_at(offset: u32) -> TcpHeader {
    TcpHeader {
        seq: SeqNum(REMOTE_ISS + 1 + offset),
        ..from_peer()
    }
}

fn our_ack(received: u32, window: u16) -> TcpHeader {
    TcpHeader {
        ack: Some(SeqNum(REMOTE_ISS + 1 + received)),
        window,
        ..to_peer()
    }
}

#[test]
fn last_byte_at_the_window_edge_is_accepted_one_past_is_not_s3_10_7_4() {
    let (mut stack, conn) = established_with(small_window_config(1000));
    // Segment starting at RCV.NXT+RCV.WND-1: acceptable (first byte inside).
    send(&mut stack, ms(20), peer_data_at(999), b"z");
    expect(&mut stack, ms(20), our_ack(0, 1000), b"");
    // Starting at RCV.NXT+RCV.WND: not acceptable, ACK and drop.
    send(&mut stack, ms(21), peer_data_at(1000), b"!");
    expect(&mut stack, ms(21), our_ack(0, 1000), b"");
    let fill = vec![b'a'; 999];
    send(&mut stack, ms(22), peer_data_at(0), &fill);
    expect(&mut stack, ms(22), our_ack(1000, 0), b"");
    let got = read_all(&mut stack, conn);
    assert_eq!(got.len(), 1000);
    assert_eq!(got[999], b'z');
}

#[test]
fn segment_straddling_the_right_edge_is_trimmed_s3_10_7_4() {
    let (mut stack, conn) = established_with(small_window_config(10));
    send(&mut stack, ms(20), peer_data_at(0), b"0123456789abcdef");
    expect(&mut stack, ms(20), our_ack(10, 0), b"");
    assert_eq!(read_all(&mut stack, conn), b"0123456789");
}

#[test]
fn segment_straddling_the_left_edge_keeps_only_new_bytes_s3_10_7_4() {
    let (mut stack, conn) = established();
    send(&mut stack, ms(20), peer_data_at(0), b"abc");
    recv(&mut stack, ms(20));
    // Starts one before RCV.NXT, ends inside: acceptable, old part trimmed.
    send(&mut stack, ms(21), peer_data_at(2), b"cde");
    assert_eq!(read_all(&mut stack, conn), b"abcde");
}

#[test]
fn segment_ending_just_before_rcv_nxt_is_unacceptable_s3_10_7_4() {
    let (mut stack, conn) = established();
    send(&mut stack, ms(20), peer_data_at(0), b"abc");
    recv(&mut stack, ms(20));
    send(&mut stack, ms(21), peer_data_at(0), b"abc");
    expect(&mut stack, ms(21), our_ack(3, LOCAL_WIN - 3), b"");
    assert_eq!(read_all(&mut stack, conn), b"abc");
}

#[test]
fn zero_window_accepts_only_segments_at_rcv_nxt_without_data_s3_10_7_4() {
    let (mut stack, conn) = established_with(small_window_config(4));
    send(&mut stack, ms(20), peer_data_at(0), b"full");
    expect(&mut stack, ms(20), our_ack(4, 0), b"");
    // Data into a zero window: not acceptable, ACK says window 0.
    send(&mut stack, ms(21), peer_data_at(4), b"x");
    expect(&mut stack, ms(21), our_ack(4, 0), b"");
    // A bare ACK at RCV.NXT is fine (and processed: it acks our data).
    stack.set_nodelay(conn, true).unwrap();
    send_and_expect_window(&mut stack, conn);
}

fn send_and_expect_window(stack: &mut crate::engine::Stack, conn: crate::engine::ConnId) {
    stack.send(conn, b"q").unwrap();
    let (seg, _) = recv(stack, ms(22));
    assert_eq!(seg.window, 0);
    let ack = TcpHeader {
        seq: SeqNum(REMOTE_ISS + 5),
        ack: Some(SeqNum(LOCAL_ISS + 2)),
        ..from_peer()
    };
    send(stack, ms(23), ack, b"");
    recv_nothing(stack, ms(23));
    assert_eq!(stack.poll_timeout(), None);
}

#[test]
fn must_39_reading_opens_the_window_with_an_update_but_not_for_a_few_bytes_s3_8_6_2_2() {
    let (mut stack, conn) = established_with(small_window_config(4000));
    let data = vec![1u8; 4000];
    for (i, chunk) in data.chunks(1000).enumerate() {
        send(&mut stack, ms(20), peer_data_at(i as u32 * 1000), chunk);
        recv(&mut stack, ms(20));
    }
    // Reading 100 bytes frees less than min(buffer/2, MSS): no update.
    let mut buf = [0u8; 100];
    stack.recv(conn, &mut buf).unwrap();
    recv_nothing(&mut stack, ms(30));
    // Reading 2000 more frees enough: window update right away.
    let mut big = [0u8; 2000];
    stack.recv(conn, &mut big).unwrap();
    expect(&mut stack, ms(31), our_ack(4000, 2100), b"");
}

#[test]
fn shld_14_advertised_window_never_shrinks_s3_8_6_2_2() {
    let (mut stack, conn) = established_with(small_window_config(4000));
    send(&mut stack, ms(20), peer_data_at(0), &[1u8; 1000]);
    let (ack, _) = recv(&mut stack, ms(20));
    let right_edge = ack.ack.unwrap() + usize::from(ack.window);
    let mut buf = [0u8; 10];
    stack.recv(conn, &mut buf).unwrap(); // a little room, below the threshold
    stack.set_nodelay(conn, true).unwrap();
    stack.send(conn, b"x").unwrap();
    let (seg, _) = recv(&mut stack, ms(21));
    assert_eq!(seg.ack.unwrap() + usize::from(seg.window), right_edge);
}

#[test]
fn must_36_shld_29_shld_30_must_37_zero_window_from_the_peer_is_probed_with_backoff_and_survives_s3_8_6_1(
) {
    let (mut stack, conn) = established();
    let closed = TcpHeader {
        window: 0,
        ..from_peer()
    };
    send(&mut stack, ms(20), closed, b"");
    assert_eq!(stack.send(conn, b"abc"), Ok(3));
    recv_nothing(&mut stack, ms(20));
    // Probes: one byte past the window, after the RTO (200 ms: the
    // handshake measured 10 ms and the minimum applies), then doubling.
    let probe = TcpHeader {
        seq: SeqNum(LOCAL_ISS + 1),
        flags: flags("P").then_no_psh(),
        ..to_peer()
    };
    let mut at = 20;
    for gap in [200, 400, 800] {
        recv_nothing(&mut stack, ms(at + gap - 1));
        at += gap;
        expect(&mut stack, ms(at), probe, b"a");
        send(&mut stack, ms(at + 5), closed, b""); // answered: still closed
    }
    // The connection stays up long past the give-up time while answered.
    let mut t = at;
    while t < 300_000 {
        t = stack.poll_timeout().unwrap().total_millis();
        recv(&mut stack, ms(t));
        send(&mut stack, ms(t + 5), closed, b"");
    }
    assert_eq!(state(&stack, conn), "ESTABLISHED");
    // The window opens: data flows from where it was.
    send(&mut stack, ms(t + 10), from_peer(), b"");
    let header = TcpHeader {
        seq: SeqNum(LOCAL_ISS + 1),
        flags: flags("P"),
        ..to_peer()
    };
    expect(&mut stack, ms(t + 10), header, b"abc");
}

/// MUST-35, MUST-37, SHLD-17 (§3.8.6.1): the peer shrinks its window to
/// zero while our data is unacknowledged. Our retransmissions become the
/// zero-window probes, and the connection stays up as long as the peer
/// answers them (Linux: "our retransmits become zero probes, but we should
/// not timeout this connection"), however long past the give-up time.
#[test]
fn must_34_must_35_must_37_shld_17_may_7_zero_window_with_data_outstanding_is_probed_while_the_peer_answers(
) {
    let (mut stack, conn) = established();
    assert_eq!(stack.send(conn, &[7u8; 100]), Ok(100));
    let (_, data) = recv(&mut stack, ms(20));
    assert_eq!(data.len(), 100);
    // Nothing acknowledged, and no window left.
    let closed = TcpHeader {
        window: 0,
        ..from_peer()
    };
    send(&mut stack, ms(25), closed, b"");
    let mut probes = 0;
    let mut t = 25;
    while t < 300_000 {
        t = stack.poll_timeout().unwrap().total_millis();
        let (header, _) = recv(&mut stack, ms(t));
        assert_eq!(
            header.seq,
            SeqNum(LOCAL_ISS + 1),
            "a probe starts at SND.UNA"
        );
        probes += 1;
        send(&mut stack, ms(t + 5), closed, b""); // answered: still closed
    }
    assert!(probes >= 5, "{probes} probes in 300 s");
    assert_eq!(state(&stack, conn), "ESTABLISHED");
    // The window opens: all 100 bytes go.
    send(&mut stack, ms(t + 10), from_peer(), b"");
    let (header, data) = recv(&mut stack, ms(t + 10));
    assert_eq!((header.seq, data.len()), (SeqNum(LOCAL_ISS + 1), 100));
}

#[test]
fn unanswered_zero_window_probes_give_up() {
    let mut cfg = config();
    cfg.give_up_after = std::time::Duration::from_secs(30);
    let (mut stack, conn) = established_with(cfg);
    send(
        &mut stack,
        ms(20),
        TcpHeader {
            window: 0,
            ..from_peer()
        },
        b"",
    );
    stack.send(conn, b"abc").unwrap();
    recv_nothing(&mut stack, ms(20));
    while let Some(at) = stack.poll_timeout() {
        stack.handle_timeout(at);
        let mut buf = [0u8; 1500];
        while stack.poll_transmit(at, &mut buf).is_some() {}
        assert!(at <= ms(40_000));
    }
    assert_eq!(stack.send(conn, b"x"), Err(ApiError::TimedOut));
    assert_eq!(state(&stack, conn), "CLOSED");
}

#[test]
fn probe_accepted_by_an_opening_window_moves_on() {
    let (mut stack, conn) = established();
    send(
        &mut stack,
        ms(20),
        TcpHeader {
            window: 0,
            ..from_peer()
        },
        b"",
    );
    stack.send(conn, b"abc").unwrap();
    recv_nothing(&mut stack, ms(20));
    let (probe, data) = recv(&mut stack, ms(220));
    assert_eq!(
        (probe.seq, data.as_slice()),
        (SeqNum(LOCAL_ISS + 1), b"a".as_slice())
    );
    // The peer took the byte and opened its window.
    send(
        &mut stack,
        ms(230),
        TcpHeader {
            ack: Some(SeqNum(LOCAL_ISS + 2)),
            ..from_peer()
        },
        b"",
    );
    let rest = TcpHeader {
        seq: SeqNum(LOCAL_ISS + 2),
        flags: flags("P"),
        ..to_peer()
    };
    expect(&mut stack, ms(230), rest, b"bc");
}

/// MUST-38 (§3.8.6.2.1): a window smaller than a segment, with more
/// queued than it takes, is not filled at once with a small segment (the
/// audit's "any small segment goes out when nothing is in flight"); the
/// override timeout sends what it allows if nothing better comes. A
/// shrunk window then limits the next one the same way.
#[test]
fn must_38_a_small_peer_window_is_not_filled_at_once_sws_avoidance() {
    let (mut stack, conn) = established();
    stack.set_nodelay(conn, true).unwrap();
    send(
        &mut stack,
        ms(20),
        TcpHeader {
            window: 100,
            ..from_peer()
        },
        b"",
    );
    stack.send(conn, &[5u8; 300]).unwrap();
    recv_nothing(&mut stack, ms(21));
    // The override fires one persist interval (the RTO, 200 ms) after the
    // output found the window too small.
    let at = stack.poll_timeout().unwrap();
    assert_eq!(at, ms(221));
    let (_, data) = recv(&mut stack, at);
    assert_eq!(data.len(), 100);
    recv_nothing(&mut stack, at);
    // The peer acks 100 but offers only 50 now: held again, then sent.
    send(
        &mut stack,
        ms(230),
        TcpHeader {
            ack: Some(SeqNum(LOCAL_ISS + 101)),
            window: 50,
            ..from_peer()
        },
        b"",
    );
    recv_nothing(&mut stack, ms(230));
    let at = stack.poll_timeout().unwrap();
    let (header, data) = recv(&mut stack, at);
    assert_eq!((header.seq, data.len()), (SeqNum(LOCAL_ISS + 101), 50));
    // A window that takes everything left sends it at once.
    send(
        &mut stack,
        at + std::time::Duration::from_millis(5),
        TcpHeader {
            ack: Some(SeqNum(LOCAL_ISS + 151)),
            ..from_peer()
        },
        b"",
    );
    let (_, data) = recv(&mut stack, at + std::time::Duration::from_millis(5));
    assert_eq!(data.len(), 150);
}

trait NoPsh {
    fn then_no_psh(self) -> Self;
}

impl NoPsh for crate::wire::TcpFlags {
    fn then_no_psh(mut self) -> Self {
        self.psh = false;
        self
    }
}

#[test]
fn data_into_a_zero_window_still_delivers_its_ack_s3_10_7_4() {
    // "special allowance should be made to accept valid ACKs": without it,
    // two ends with full buffers ignore each other's ACKs and deadlock.
    let (mut stack, conn) = established_with(small_window_config(4));
    stack.set_nodelay(conn, true).unwrap();
    stack.send(conn, b"out").unwrap();
    let (out, _) = recv(&mut stack, ms(20));
    assert_eq!(out.seq, SeqNum(LOCAL_ISS + 1));
    send(&mut stack, ms(21), peer_data_at(0), b"full");
    let (ack, _) = recv(&mut stack, ms(21));
    assert_eq!(ack.window, 0);
    // More data at RCV.NXT, overlapping old bytes, carrying the ACK of "out".
    let acking = TcpHeader {
        seq: SeqNum(REMOTE_ISS + 3),
        ack: Some(SeqNum(LOCAL_ISS + 4)),
        ..from_peer()
    };
    send(&mut stack, ms(30), acking, b"llmore");
    let ack_only = TcpHeader {
        seq: SeqNum(LOCAL_ISS + 4),
        ..our_ack(4, 0)
    };
    expect(&mut stack, ms(30), ack_only, b"");
    assert_eq!(
        stack.poll_timeout(),
        None,
        "our data counts as acknowledged"
    );
    assert_eq!(
        read_all(&mut stack, conn),
        b"full",
        "the text beyond the window was dropped"
    );
}

#[test]
fn old_ack_does_not_update_the_send_window_s3_10_7_4() {
    let (mut stack, conn) = established();
    send_and_expect(&mut stack, conn, ms(20), 0, b"abc");
    // The peer acknowledges "abc" with data of its own...
    let acks_abc = TcpHeader {
        ack: Some(SeqNum(LOCAL_ISS + 4)),
        ..from_peer()
    };
    send(&mut stack, ms(30), acks_abc, b"y");
    recv(&mut stack, ms(30));
    // ...then a segment with a newer SEQ but an ACK below SND.UNA and a
    // zero window. "If SND.UNA =< SEG.ACK =< SND.NXT, the send window
    // should be updated": an older ACK must not close the window.
    let old_ack = TcpHeader {
        seq: SeqNum(REMOTE_ISS + 2),
        ack: Some(SeqNum(LOCAL_ISS + 2)),
        window: 0,
        ..from_peer()
    };
    send(&mut stack, ms(40), old_ack, b"z");
    recv(&mut stack, ms(40));
    assert_eq!(stack.send(conn, b"more"), Ok(4));
    let more = TcpHeader {
        seq: SeqNum(LOCAL_ISS + 4),
        ack: Some(SeqNum(REMOTE_ISS + 3)),
        flags: flags("P"),
        window: LOCAL_WIN - 2,
        ..to_peer()
    };
    expect(&mut stack, ms(50), more, b"more");
}

/// A bare ACK whose SEQ is exactly our right edge: the peer's segment that
/// filled our window was lost, and its ACKs now start there. Table 6 would
/// refuse it; Linux's tcp_sequence() takes it, and so do we, or a pair
/// whose other direction waits on those ACKs deadlocks.
#[test]
fn a_bare_ack_at_the_right_edge_is_used_as_linux_does() {
    let (mut stack, conn) = established_with(small_window_config(1000));
    assert_eq!(stack.send(conn, b"ping"), Ok(4));
    let (ours, _) = recv(&mut stack, ms(20));
    assert_eq!(ours.seq, SeqNum(LOCAL_ISS + 1));
    let ack = TcpHeader {
        seq: SeqNum(REMOTE_ISS + 1 + 1000),
        ack: Some(SeqNum(LOCAL_ISS + 1 + 4)),
        ..from_peer()
    };
    send(&mut stack, ms(30), ack, b"");
    recv_nothing(&mut stack, ms(30));
    // Our data is acknowledged: no retransmission timer left.
    assert_eq!(stack.poll_timeout(), None);
}

/// MUST-21 (§3.8.3): the application sets R2 for one connection. With
/// 5 s, data nobody acknowledges gives the connection up 5 s after the
/// first retransmission (at 220 ms), not after the stack's 100 s.
#[test]
fn must_21_the_application_sets_r2_for_a_connection() {
    let (mut stack, conn) = established();
    stack
        .set_user_timeout(conn, Some(std::time::Duration::from_secs(5)))
        .unwrap();
    stack.send(conn, b"lost").unwrap();
    recv(&mut stack, ms(20));
    while let Some(at) = stack.poll_timeout() {
        stack.handle_timeout(at);
        let mut buf = [0u8; 1500];
        while stack.poll_transmit(at, &mut buf).is_some() {}
        assert!(at <= ms(5_220), "still trying at {at:?}");
    }
    assert_eq!(stack.send(conn, b"x"), Err(ApiError::TimedOut));
}
