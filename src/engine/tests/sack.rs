//! Selective acknowledgments (RFC 2018) and SACK-based loss recovery
//! (RFC 6675), with a peer that offers SACK-permitted as Linux does.

use super::harness::*;
use crate::engine::{ConnId, Engine, Stack, StackConfig};
use crate::wire::{SackBlock, SackBlocks, SeqNum, TcpHeader, TcpOptions};

const SEG: usize = MSS as usize;

/// Passive open where the peer's SYN carries SACK-permitted; our SYN-ACK
/// must carry it back (RFC 2018 §2).
pub(super) fn established_with_sack() -> (Stack, ConnId) {
    established_with_sack_using(config())
}

/// The same, with `config`.
pub(super) fn established_with_sack_using(config: StackConfig) -> (Stack, ConnId) {
    let (mut stack, listener) = listening_with(config);
    let syn = TcpHeader {
        options: our_syn_options(),
        ..peer_syn()
    };
    send(&mut stack, ms(0), syn, b"");
    let syn_ack = TcpHeader {
        options: our_syn_options(),
        ..our_syn_ack()
    };
    expect(&mut stack, ms(0), syn_ack, b"");
    send(&mut stack, ms(10), from_peer(), b"");
    let conn = stack.accept(listener).unwrap();
    (stack, conn)
}

pub(super) fn sack(edges: &[(u32, u32)]) -> TcpOptions {
    let mut blocks = SackBlocks::default();
    for &(left, right) in edges {
        blocks.push(SackBlock {
            left: SeqNum(left),
            right: SeqNum(right),
        });
    }
    TcpOptions {
        sack: blocks,
        ..TcpOptions::default()
    }
}

/// Peer data at `offset` (from its ISS + 1).
fn peer_data(offset: u32) -> TcpHeader {
    TcpHeader {
        seq: SeqNum(REMOTE_ISS + 1 + offset),
        ..from_peer()
    }
}

#[test]
fn out_of_order_data_is_sacked_newest_block_first_rfc_2018_s4() {
    let (mut stack, _conn) = established_with_sack();
    let r = REMOTE_ISS + 1;
    send(&mut stack, ms(20), peer_data(10), b"bbbbb");
    let ack = |ack: u32, window: u16, edges: &[(u32, u32)]| TcpHeader {
        ack: Some(SeqNum(ack)),
        window,
        options: sack(edges),
        ..to_peer()
    };
    expect(
        &mut stack,
        ms(20),
        ack(r, LOCAL_WIN, &[(r + 10, r + 15)]),
        b"",
    );
    send(&mut stack, ms(21), peer_data(20), b"ccccc");
    let both = [(r + 20, r + 25), (r + 10, r + 15)];
    expect(&mut stack, ms(21), ack(r, LOCAL_WIN, &both), b"");
    // The first hole fills: what is still held past the second is SACKed.
    send(&mut stack, ms(22), peer_data(0), b"aaaaaaaaaa");
    let filled = ack(r + 15, LOCAL_WIN - 15, &[(r + 20, r + 25)]);
    expect(&mut stack, ms(22), filled, b"");
    // The last hole fills: no SACK option any more.
    send(&mut stack, ms(23), peer_data(15), b"xxxxx");
    expect(&mut stack, ms(23), ack(r + 25, LOCAL_WIN - 25, &[]), b"");
}

#[test]
fn no_sack_blocks_without_sack_permitted_rfc_2018_s2() {
    let (mut stack, _conn) = established();
    send(&mut stack, ms(20), peer_data(10), b"bbbbb");
    expect(&mut stack, ms(20), to_peer(), b"");
}

/// We send five full segments; the first is lost. The peer keeps sending
/// data (an echo), so its ACKs carry data and do not count as duplicates
/// under RFC 5681; with SACK they do (RFC 6675 §2), and the hole is resent
/// long before the retransmission timeout.
#[test]
fn must_5_sacks_on_data_segments_trigger_retransmission_of_the_hole_rfc_6675_s5() {
    let (mut stack, conn) = established_with_sack();
    let s = LOCAL_ISS + 1;
    let data: Vec<u8> = (0..5 * SEG).map(|i| i as u8).collect();
    assert_eq!(stack.send(conn, &data), Ok(data.len()));
    for i in 0..5 {
        let (header, payload) = recv(&mut stack, ms(20));
        assert_eq!(
            (header.seq, payload.len()),
            (SeqNum(s + (i * SEG) as u32), SEG)
        );
    }
    let seg_end = |n: usize| s + (n * SEG) as u32;
    for (i, sacked_up_to) in [2, 3, 4].into_iter().enumerate() {
        let reply = TcpHeader {
            seq: SeqNum(REMOTE_ISS + 1 + i as u32),
            options: sack(&[(seg_end(1), seg_end(sacked_up_to))]),
            ..from_peer()
        };
        send(&mut stack, ms(30 + i as u64), reply, b"e");
        let (header, payload) = recv(&mut stack, ms(30 + i as u64));
        if i < 2 {
            // RFC 3042 limited transmit has no new data to send: an ACK.
            assert_eq!(payload.len(), 0, "dup ACK {i} answered with data");
            continue;
        }
        // Third duplicate (and more than 2 SMSS SACKed above): resend.
        assert_eq!(header.seq, SeqNum(s), "the hole is resent");
        assert_eq!(payload, &data[..SEG]);
        assert_eq!(header.ack, Some(SeqNum(REMOTE_ISS + 4)));
    }
    recv_nothing(&mut stack, ms(40));
    assert_eq!(stack.stats().retransmissions, 1);
    // The hole is filled: everything is acknowledged, nothing more is sent.
    let all = TcpHeader {
        seq: SeqNum(REMOTE_ISS + 4),
        ack: Some(SeqNum(seg_end(5))),
        ..from_peer()
    };
    send(&mut stack, ms(45), all, b"");
    recv_nothing(&mut stack, ms(2000));
    assert_eq!(stack.stats().retransmissions, 1);
}

#[test]
fn limited_transmit_sends_new_data_on_the_first_duplicates_rfc_3042() {
    let cfg = crate::engine::StackConfig {
        send_buffer: 64_000,
        ..config()
    };
    let (mut stack, listener) = listening_with(cfg);
    let syn = TcpHeader {
        options: our_syn_options(),
        ..peer_syn()
    };
    send(&mut stack, ms(0), syn, b"");
    recv(&mut stack, ms(0));
    send(&mut stack, ms(10), from_peer(), b"");
    let conn = stack.accept(listener).unwrap();
    let s = LOCAL_ISS + 1;
    // Eleven segments of data; the initial window (RFC 6928) lets ten go.
    let data = vec![7u8; 11 * SEG];
    assert_eq!(stack.send(conn, &data), Ok(data.len()));
    for _ in 0..10 {
        recv(&mut stack, ms(20));
    }
    recv_nothing(&mut stack, ms(20));
    let seg_end = |n: usize| s + (n * SEG) as u32;
    let dup = TcpHeader {
        options: sack(&[(seg_end(1), seg_end(2))]),
        ..from_peer()
    };
    send(&mut stack, ms(30), dup, b"");
    let (header, payload) = recv(&mut stack, ms(30));
    assert_eq!((header.seq, payload.len()), (SeqNum(seg_end(10)), SEG));
}
