//! Window scaling (RFC 7323 §2): buffers larger than 64 KiB.

use super::harness::*;
use crate::engine::{ConnId, Engine, Stack, StackConfig};
use crate::wire::{TcpHeader, TcpOptions};

const BIG_BUFFER: usize = 256 * 1024;
/// 256 KiB needs 2^3-byte units to fit in 16 bits (262144 >> 2 = 65536).
const OUR_SHIFT: u8 = 3;

fn big_config() -> StackConfig {
    StackConfig {
        recv_buffer: BIG_BUFFER,
        send_buffer: BIG_BUFFER,
        ..config()
    }
}

/// Passive open; `peer_shift` is the Window Scale option on the peer's SYN.
/// Returns the stack, the connection, and our SYN-ACK.
fn open_with(peer_shift: Option<u8>) -> (Stack, ConnId, TcpHeader) {
    let (mut stack, listener) = listening_with(big_config());
    let syn = TcpHeader {
        options: TcpOptions {
            window_scale: peer_shift,
            ..TcpOptions::with_mss(MSS)
        },
        ..peer_syn()
    };
    send(&mut stack, ms(0), syn, b"");
    let (syn_ack, _) = recv(&mut stack, ms(0));
    send(&mut stack, ms(10), from_peer(), b"");
    let conn = stack.accept(listener).unwrap();
    (stack, conn, syn_ack)
}

#[test]
fn window_scale_applies_both_ways_when_both_syns_carry_it_rfc_7323_s2_2() {
    let (mut stack, conn, syn_ack) = open_with(Some(7));
    assert_eq!(syn_ack.options.window_scale, Some(OUR_SHIFT));
    // "The window field in a segment where the SYN bit is set MUST NOT be scaled."
    assert_eq!(syn_ack.window, u16::MAX);
    // The peer's window 2 means 2 << 7 = 256 bytes.
    let small = TcpHeader {
        window: 2,
        ..from_peer()
    };
    send(&mut stack, ms(20), small, b"");
    assert_eq!(stack.send(conn, &[1u8; 1000]), Ok(1000));
    // Less than a segment fits and more is queued: sender SWS avoidance
    // (§3.8.6.2.1) holds it until the override timeout, then sends what
    // the window allows.
    recv_nothing(&mut stack, ms(20));
    let at = stack.poll_timeout().unwrap();
    let (_, payload) = recv(&mut stack, at);
    assert_eq!(payload.len(), 256);
    let later = at + std::time::Duration::from_millis(10);
    // Ours is scaled by 3: the whole buffer less what is unread, rounded up.
    send(&mut stack, later, from_peer(), &[9u8; 100]);
    let (ack, _) = recv(&mut stack, later);
    let expected = (BIG_BUFFER - 100).div_ceil(1 << OUR_SHIFT);
    assert_eq!(usize::from(ack.window), expected);
}

#[test]
fn no_scaling_unless_the_peer_offers_it_rfc_7323_s2_2() {
    let (mut stack, conn, syn_ack) = open_with(None);
    assert_eq!(syn_ack.options.window_scale, None);
    let small = TcpHeader {
        window: 2,
        ..from_peer()
    };
    send(&mut stack, ms(20), small, b"");
    assert_eq!(stack.send(conn, &[1u8; 1000]), Ok(1000));
    // Less than a segment fits and more is queued: sender SWS avoidance
    // (§3.8.6.2.1) holds it until the override timeout, then sends what
    // the window allows.
    recv_nothing(&mut stack, ms(20));
    let at = stack.poll_timeout().unwrap();
    let (_, payload) = recv(&mut stack, at);
    assert_eq!(payload.len(), 2);
    let later = at + std::time::Duration::from_millis(10);
    send(&mut stack, later, from_peer(), &[9u8; 100]);
    let (ack, _) = recv(&mut stack, later);
    // At most 65535 without scaling: the edge stays where the SYN-ACK put it.
    assert_eq!(ack.window, u16::MAX - 100);
}

#[test]
fn our_syn_offers_the_shift_the_buffer_needs_with_an_unscaled_window_rfc_7323_s2_3() {
    let mut stack = Stack::new(big_config());
    stack.connect(ms(0), REMOTE, Some(LOCAL_PORT)).unwrap();
    let (syn, _) = recv(&mut stack, ms(0));
    assert_eq!(syn.options.window_scale, Some(OUR_SHIFT));
    assert_eq!(syn.window, u16::MAX);
    // A SYN-ACK without Window Scale: no scaling in either direction.
    let syn_ack = TcpHeader {
        window: 1000,
        ..peer_syn_ack()
    };
    send(&mut stack, ms(10), syn_ack, b"");
    let (ack, _) = recv(&mut stack, ms(10));
    assert_eq!(ack.window, u16::MAX);
}

/// The peer's send window as the engine holds it.
fn peer_window(stack: &Stack) -> usize {
    let view = stack.view(ms(30));
    view.connections[0].tcp.as_ref().unwrap().snd_wnd
}

/// MUST-1, REC-1 (§3.1): windows are unsigned and held in 32 bits. A
/// window field of 65,535 (negative as an i16) is used whole, and with the
/// peer's largest shift, 14, its window of about 1 GiB is kept whole too.
#[test]
fn must_1_rec_1_windows_are_unsigned_and_held_in_32_bits() {
    let wide_open = TcpHeader {
        window: u16::MAX,
        ..from_peer()
    };
    let (mut stack, conn, _) = open_with(None);
    send(&mut stack, ms(20), wide_open, b"");
    assert_eq!(peer_window(&stack), 65_535);
    assert_eq!(stack.send(conn, &[1u8; 100]), Ok(100));
    let (_, payload) = recv(&mut stack, ms(20));
    assert_eq!(payload.len(), 100, "the window is not taken as negative");

    let (mut stack, _, _) = open_with(Some(14));
    send(&mut stack, ms(20), wide_open, b"");
    assert_eq!(peer_window(&stack), 65_535 << 14);
}
