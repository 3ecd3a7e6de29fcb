//! Moving data: §3.8 (data communication), §3.10.7.4 seventh step,
//! out-of-order queueing (SHLD-31), delayed ACK (RFC 1122 §4.2.3.2),
//! Nagle (§3.7.4), sequence numbers across 2^32 (§3.4).

use super::harness::*;
use crate::engine::{ApiError, Engine};
use crate::wire::{SeqNum, TcpHeader};

fn ack_for(received: u32) -> TcpHeader {
    TcpHeader {
        ack: Some(SeqNum(REMOTE_ISS + 1 + received)),
        window: LOCAL_WIN - received as u16,
        ..to_peer()
    }
}

fn peer_data_at(offset: u32) -> TcpHeader {
    TcpHeader {
        seq: SeqNum(REMOTE_ISS + 1 + offset),
        ..from_peer()
    }
}

#[test]
fn in_order_data_is_acked_and_read_s3_10_7_4() {
    // Over IPv4 and IPv6 alike (RFC 8200 changes nothing above IP).
    on_both_families(|| {
        let (mut stack, conn) = established();
        let mut buf = [0u8; 16];
        assert_eq!(stack.recv(conn, &mut buf), Err(ApiError::WouldBlock));
        send(&mut stack, ms(20), from_peer(), b"hello");
        expect(&mut stack, ms(20), ack_for(5), b"");
        assert_eq!(stack.recv(conn, &mut buf), Ok(5));
        assert_eq!(&buf[..5], b"hello");
    });
}

#[test]
fn peek_gives_the_bytes_without_taking_them_or_opening_the_window() {
    let (mut stack, conn) = established();
    let mut buf = [0u8; 16];
    assert_eq!(stack.peek(conn, &mut buf), Err(ApiError::WouldBlock));
    send(&mut stack, ms(20), from_peer(), b"hello");
    expect(&mut stack, ms(20), ack_for(5), b"");
    assert_eq!(stack.peek(conn, &mut buf[..3]), Ok(3));
    assert_eq!(&buf[..3], b"hel");
    recv_nothing(&mut stack, ms(20));
    assert_eq!(
        stack.recv(conn, &mut buf),
        Ok(5),
        "peeked bytes are read again"
    );
    assert_eq!(&buf[..5], b"hello");
}

#[test]
fn our_data_goes_out_and_acks_free_the_buffer_s3_10_2() {
    // Over IPv4 and IPv6 alike (RFC 8200 changes nothing above IP).
    on_both_families(|| {
        let (mut stack, conn) = established();
        send_and_expect(&mut stack, conn, ms(20), 0, b"abc");
        send(
            &mut stack,
            ms(30),
            TcpHeader {
                ack: Some(SeqNum(LOCAL_ISS + 4)),
                ..from_peer()
            },
            b"",
        );
        recv_nothing(&mut stack, ms(30));
        assert_eq!(
            stack.poll_timeout(),
            None,
            "retransmission timer stops when all is acked"
        );
    });
}

#[test]
fn out_of_order_segment_is_held_and_delivered_when_the_hole_fills_shld_31() {
    // Over IPv4 and IPv6 alike (RFC 8200 changes nothing above IP).
    on_both_families(|| {
        let (mut stack, conn) = established();
        send(&mut stack, ms(20), peer_data_at(3), b"def");
        // Immediate duplicate ACK for the hole (RFC 5681 §4.2); nothing readable.
        expect(
            &mut stack,
            ms(20),
            TcpHeader {
                window: LOCAL_WIN,
                ..to_peer()
            },
            b"",
        );
        let mut buf = [0u8; 16];
        assert_eq!(stack.recv(conn, &mut buf), Err(ApiError::WouldBlock));
        send(&mut stack, ms(21), peer_data_at(0), b"abc");
        expect(&mut stack, ms(21), ack_for(6), b"");
        assert_eq!(read_all(&mut stack, conn), b"abcdef");
    });
}

#[test]
fn a_segment_that_fills_the_hole_and_covers_what_was_held_is_acked_at_once_rfc5681_4_2() {
    // RFC 5681 §4.2: "an immediate ACK SHOULD be generated when the
    // incoming segment fills in all or part of a gap", also when it carries
    // the held data again (a sender retransmitting a whole window), so
    // that nothing was left out of order once it is stored.
    let (mut stack, conn) = established_with(crate::engine::StackConfig {
        delayed_ack: Some(std::time::Duration::from_millis(100)),
        ..config()
    });
    send(&mut stack, ms(20), peer_data_at(3), b"def");
    expect(&mut stack, ms(20), ack_for(0), b"");
    send(&mut stack, ms(21), peer_data_at(0), b"abcdef");
    expect(&mut stack, ms(21), ack_for(6), b"");
    assert_eq!(read_all(&mut stack, conn), b"abcdef");
}

#[test]
fn may_13_every_out_of_order_segment_of_a_batch_gets_its_own_duplicate_ack_rfc5681_4_2() {
    // The driver feeds a whole batch of packets before it asks for output.
    // Behind one lost segment, each later segment must still be answered by
    // a duplicate ACK of its own: the sender's fast retransmit counts three
    // of them (RFC 5681 §3.2), and one ACK for the whole batch would leave
    // it waiting for its retransmission timeout instead.
    let (mut stack, _conn) = established();
    for k in 1..=4 {
        send(&mut stack, ms(20), peer_data_at(3 * k), b"xyz");
    }
    let dup_ack = TcpHeader {
        window: LOCAL_WIN,
        ..to_peer()
    };
    for _ in 1..=4 {
        expect(&mut stack, ms(20), dup_ack, b"");
    }
    recv_nothing(&mut stack, ms(20));
}

#[test]
fn overlapping_and_duplicate_segments_are_delivered_exactly_once() {
    let (mut stack, conn) = established();
    send(&mut stack, ms(20), peer_data_at(0), b"abcd");
    send(&mut stack, ms(21), peer_data_at(2), b"cdefg"); // overlaps the left part
    send(&mut stack, ms(22), peer_data_at(9), b"jk"); // out of order
    send(&mut stack, ms(23), peer_data_at(9), b"jk"); // duplicate of it
    send(&mut stack, ms(24), peer_data_at(6), b"ghij"); // fills the hole, overlaps both sides
    send(&mut stack, ms(25), peer_data_at(0), b"abcdefgh"); // old duplicate
    assert_eq!(read_all(&mut stack, conn), b"abcdefghijk");
}

#[test]
fn out_of_order_queue_is_bounded() {
    let mut cfg = config();
    cfg.max_ooo_ranges = 2;
    let (mut stack, conn) = established_with(cfg);
    send(&mut stack, ms(20), peer_data_at(10), b"x");
    send(&mut stack, ms(20), peer_data_at(20), b"y");
    send(&mut stack, ms(20), peer_data_at(30), b"z"); // third hole: dropped
    let mut data = vec![b'.'; 30];
    data[10] = b'x';
    data[20] = b'y';
    send(&mut stack, ms(21), peer_data_at(0), &data[..10]);
    send(&mut stack, ms(21), peer_data_at(11), &data[11..20]);
    send(&mut stack, ms(21), peer_data_at(21), &data[21..30]);
    assert_eq!(
        read_all(&mut stack, conn),
        data,
        "the dropped byte at 30 is not there"
    );
}

#[test]
fn send_buffer_fills_up_and_then_would_block() {
    let mut cfg = config();
    cfg.send_buffer = 100;
    let (mut stack, conn) = established_with(cfg);
    assert_eq!(stack.send(conn, &[1u8; 150]), Ok(100));
    assert_eq!(stack.send(conn, b"more"), Err(ApiError::WouldBlock));
}

#[test]
fn shld_18_must_40_shld_19_delayed_ack_waits_for_a_second_segment_or_the_timer_rfc1122_4_2_3_2() {
    let mut cfg = config();
    cfg.delayed_ack = Some(std::time::Duration::from_millis(40));
    let (mut stack, _conn) = established_with(cfg);
    send(&mut stack, ms(100), peer_data_at(0), b"a");
    recv_nothing(&mut stack, ms(139));
    expect(&mut stack, ms(140), ack_for(1), b"");
    // Two segments: the second is ACKed at once.
    send(&mut stack, ms(200), peer_data_at(1), b"b");
    recv_nothing(&mut stack, ms(200));
    send(&mut stack, ms(201), peer_data_at(2), b"c");
    expect(&mut stack, ms(201), ack_for(3), b"");
    recv_nothing(&mut stack, ms(300));
}

#[test]
fn shld_7_nagle_holds_small_segments_while_data_is_unacked_s3_7_4() {
    let (mut stack, conn) = established();
    send_and_expect(&mut stack, conn, ms(20), 0, b"a");
    stack.send(conn, b"b").unwrap();
    recv_nothing(&mut stack, ms(21));
    send(
        &mut stack,
        ms(30),
        TcpHeader {
            ack: Some(SeqNum(LOCAL_ISS + 2)),
            ..from_peer()
        },
        b"",
    );
    let header = TcpHeader {
        seq: SeqNum(LOCAL_ISS + 2),
        flags: flags("P"),
        ..to_peer()
    };
    expect(&mut stack, ms(30), header, b"b");
}

#[test]
fn must_17_nodelay_sends_small_segments_at_once_s3_7_4() {
    let (mut stack, conn) = established();
    stack.set_nodelay(conn, true).unwrap();
    send_and_expect(&mut stack, conn, ms(20), 0, b"a");
    send_and_expect(&mut stack, conn, ms(21), 1, b"b");
}

#[test]
fn full_sized_segments_are_not_held_by_nagle() {
    let (mut stack, conn) = established();
    let data = vec![9u8; 3000];
    stack.send(conn, &data).unwrap();
    let (first, a) = recv(&mut stack, ms(20));
    let (second, b) = recv(&mut stack, ms(20));
    assert_eq!((a.len(), b.len()), (1460, 1460));
    assert_eq!(second.seq, first.seq + 1460);
    // The 80-byte tail waits for an ACK (Nagle).
    recv_nothing(&mut stack, ms(20));
}

#[test]
fn sequence_numbers_wrap_in_both_directions_s3_4() {
    // Over IPv4 and IPv6 alike (RFC 8200 changes nothing above IP).
    on_both_families(|| {
        let mut cfg = config();
        let our_iss = u32::MAX - 2;
        cfg.fixed_isn = Some(our_iss);
        let (mut stack, listener) = listening_with(cfg);
        let peer_iss = u32::MAX - 1;
        let syn = TcpHeader {
            seq: SeqNum(peer_iss),
            ..peer_syn()
        };
        send(&mut stack, ms(0), syn, b"");
        let (syn_ack, _) = recv(&mut stack, ms(0));
        assert_eq!(
            (syn_ack.seq, syn_ack.ack),
            (SeqNum(our_iss), Some(SeqNum(u32::MAX)))
        );
        let base = TcpHeader {
            seq: SeqNum(u32::MAX),
            ack: Some(SeqNum(u32::MAX - 1)),
            ..from_peer()
        };
        send(&mut stack, ms(1), base, b"");
        let conn = stack.accept(listener).unwrap();
        // Peer data 0xffffffff.. crosses zero.
        send(&mut stack, ms(2), base, b"wrap!");
        let (ack, _) = recv(&mut stack, ms(2));
        assert_eq!(ack.ack, Some(SeqNum(4)));
        assert_eq!(read_all(&mut stack, conn), b"wrap!");
        // Our data crosses zero too, and its ACK (past zero) is accepted.
        stack.set_nodelay(conn, true).unwrap();
        stack.send(conn, b"0123456789").unwrap();
        let (seg, data) = recv(&mut stack, ms(3));
        assert_eq!((seg.seq, data.len()), (SeqNum(u32::MAX - 1), 10));
        send(
            &mut stack,
            ms(4),
            TcpHeader {
                seq: SeqNum(4),
                ack: Some(SeqNum(8)),
                ..base
            },
            b"",
        );
        assert_eq!(
            stack.poll_timeout(),
            None,
            "everything acknowledged across the wrap"
        );
        // An out-of-order segment across the wrap is held and delivered.
        send(
            &mut stack,
            ms(5),
            TcpHeader {
                seq: SeqNum(7),
                ack: Some(SeqNum(8)),
                ..base
            },
            b"cd",
        );
        send(
            &mut stack,
            ms(5),
            TcpHeader {
                seq: SeqNum(4),
                ack: Some(SeqNum(8)),
                ..base
            },
            b"xab",
        );
        assert_eq!(read_all(&mut stack, conn), b"xabcd");
    });
}

/// A FIN from the peer at `offset`, with `payload` before it.
fn peer_fin_at(offset: u32) -> TcpHeader {
    TcpHeader {
        flags: crate::wire::TcpFlags {
            fin: true,
            ..Default::default()
        },
        ..peer_data_at(offset)
    }
}

#[test]
fn fin_after_a_hole_is_held_and_processed_when_the_hole_fills_s3_10_7_4() {
    // Over IPv4 and IPv6 alike (RFC 8200 changes nothing above IP).
    on_both_families(|| {
        let (mut stack, conn) = established();
        // "world" + FIN arrive before "hello": "segments with higher beginning
        // sequence numbers SHOULD be held for later processing" (§3.10.7.4),
        // the FIN with them.
        send(&mut stack, ms(20), peer_fin_at(5), b"world");
        let (dup, _) = recv(&mut stack, ms(20));
        assert_eq!(dup.ack, Some(SeqNum(REMOTE_ISS + 1)));
        assert_eq!(state(&stack, conn), "ESTABLISHED");
        send(&mut stack, ms(30), from_peer(), b"hello");
        // The ACK covers both texts and the FIN (which takes no buffer space).
        expect(
            &mut stack,
            ms(30),
            TcpHeader {
                ack: Some(SeqNum(REMOTE_ISS + 12)),
                ..ack_for(10)
            },
            b"",
        );
        assert_eq!(state(&stack, conn), "CLOSE-WAIT");
        assert_eq!(read_all(&mut stack, conn), b"helloworld");
        let mut buf = [0u8; 4];
        assert_eq!(stack.recv(conn, &mut buf), Ok(0));
    });
}

#[test]
fn bare_fin_after_a_hole_is_held_too_s3_10_7_4() {
    let (mut stack, conn) = established();
    send(&mut stack, ms(20), peer_fin_at(5), b"");
    recv(&mut stack, ms(20));
    send(&mut stack, ms(30), from_peer(), b"hello");
    expect(
        &mut stack,
        ms(30),
        TcpHeader {
            ack: Some(SeqNum(REMOTE_ISS + 7)),
            ..ack_for(5)
        },
        b"",
    );
    assert_eq!(state(&stack, conn), "CLOSE-WAIT");
}

#[test]
fn fin_whose_text_did_not_fit_is_not_held_s3_10_7_4() {
    // A 100-byte window: text past it is trimmed off, so the FIN after it
    // lies outside the window too and must come again.
    let cfg = crate::engine::StackConfig {
        recv_buffer: 100,
        ..config()
    };
    let (mut stack, conn) = established_with(cfg);
    send(&mut stack, ms(20), peer_fin_at(1), &[1u8; 100]);
    recv(&mut stack, ms(20));
    send(&mut stack, ms(30), from_peer(), b"h");
    let (ack, _) = recv(&mut stack, ms(30));
    assert_eq!(ack.ack, Some(SeqNum(REMOTE_ISS + 1 + 100)));
    assert_eq!(state(&stack, conn), "ESTABLISHED");
}

/// MUST-58, MUST-59 (§3.10.7.4): in-order segments that arrive together
/// are all processed before we acknowledge, with one ACK for them all.
#[test]
fn must_58_must_59_a_batch_of_in_order_segments_gets_one_ack() {
    let (mut stack, _conn) = established();
    for k in 0..4 {
        send(&mut stack, ms(20), peer_data_at(3 * k), b"xyz");
    }
    expect(&mut stack, ms(20), ack_for(12), b"");
    recv_nothing(&mut stack, ms(20));
}

/// MUST-60, MUST-61 (§3.9.1.2): SEND has no PUSH flag here, so we hold no
/// data indefinitely and set PSH on the segment that empties the buffer.
#[test]
fn must_60_must_61_the_segment_that_empties_the_send_buffer_carries_psh() {
    let (mut stack, conn) = established();
    assert_eq!(stack.send(conn, &[3u8; 3000]), Ok(3000));
    let full = usize::from(MSS);
    for _ in 0..2 {
        let (_, payload) = recv(&mut stack, ms(20));
        assert_eq!(payload.len(), full);
    }
    // Nagle holds the short tail only until the rest is acknowledged.
    recv_nothing(&mut stack, ms(20));
    let acks_both = TcpHeader {
        ack: Some(SeqNum(LOCAL_ISS + 1 + 2 * u32::from(MSS))),
        ..from_peer()
    };
    send(&mut stack, ms(30), acks_both, b"");
    let (last, payload) = recv(&mut stack, ms(30));
    assert_eq!(payload.len(), 3000 - 2 * full);
    assert!(last.flags.psh, "{last:?}");
}
