//! A listener's two queues, as listen(2) on Linux: the SYN queue
//! (half-open, `StackConfig::syn_backlog`) and the accept queue
//! (established, not accepted; listen's `backlog`), each with its own
//! limit and counted drops (RFC 9293 §3.10.7.2 leaves the limits to us).

use super::harness::*;
use crate::engine::{ApiError, Engine, ListenerId, Stack, StackConfig};
use crate::wire::{SeqNum, TcpHeader};

/// The SYN of the `n`th client (its own port and ISS).
fn client_syn(n: u16) -> TcpHeader {
    TcpHeader {
        src_port: REMOTE_PORT + n,
        seq: SeqNum(REMOTE_ISS + u32::from(n) * 1000),
        ..peer_syn()
    }
}

/// The `n`th client's ACK of our SYN-ACK (ISS fixed by the test config).
fn client_ack(n: u16) -> TcpHeader {
    TcpHeader {
        src_port: REMOTE_PORT + n,
        seq: SeqNum(REMOTE_ISS + u32::from(n) * 1000 + 1),
        ..from_peer()
    }
}

fn without_cookies(syn_backlog: usize) -> StackConfig {
    StackConfig {
        syn_backlog,
        syn_cookies: false,
        ..config()
    }
}

/// A listener without cookies and with these queue limits; clients
/// 0..`clients` sent their SYN at 0 ms and each got its SYN-ACK.
#[track_caller]
fn half_open(syn_backlog: usize, backlog: usize, clients: u16) -> (Stack, ListenerId) {
    let mut stack = Stack::new(without_cookies(syn_backlog));
    let listener = stack.listen(LOCAL, backlog).unwrap();
    for n in 0..clients {
        send(&mut stack, ms(0), client_syn(n), b"");
        let (syn_ack, _) = recv(&mut stack, ms(0));
        assert_eq!(syn_ack.dst_port, REMOTE_PORT + n);
    }
    (stack, listener)
}

#[test]
fn a_full_syn_queue_drops_syns_even_with_room_to_accept() {
    let (mut stack, listener) = half_open(2, 8, 2);
    send(&mut stack, ms(1), client_syn(2), b"");
    recv_nothing(&mut stack, ms(1));
    assert_eq!(stack.stats().defence.listen_drops, 1);
    assert_eq!(stack.view(ms(1)).listeners[0].syn_queue, 2);
    // One handshake completes: it moves to the accept queue, which frees
    // a place in the SYN queue for the next client.
    send(&mut stack, ms(2), client_ack(0), b"");
    let view = stack.view(ms(2)).listeners[0].clone();
    assert_eq!((view.syn_queue, view.accept_queue), (1, 1));
    send(&mut stack, ms(3), client_syn(2), b"");
    let (syn_ack, _) = recv(&mut stack, ms(3));
    assert_eq!(syn_ack.dst_port, REMOTE_PORT + 2);
    assert!(stack.accept(listener).is_ok());
}

#[test]
fn a_full_accept_queue_drops_the_handshake_ack_until_accept_makes_room() {
    let (mut stack, listener) = half_open(8, 1, 2);
    send(&mut stack, ms(1), client_ack(0), b"");
    // The accept queue (1) is full: the second client's ACK is dropped,
    // and its connection stays half-open (as Linux, tcp_abort_on_overflow 0).
    send(&mut stack, ms(2), client_ack(1), b"");
    recv_nothing(&mut stack, ms(2));
    assert_eq!(stack.stats().defence.listen_drops, 1);
    let view = stack.view(ms(2));
    assert_eq!(
        (view.listeners[0].syn_queue, view.listeners[0].accept_queue),
        (1, 1)
    );
    let first = stack.accept(listener).unwrap();
    assert_eq!(stack.conn_info(first).unwrap().remote.port(), REMOTE_PORT);
    assert_eq!(stack.accept(listener), Err(ApiError::WouldBlock));
    // The SYN-ACK comes again at the RTO (1 s); the client's ACK now fits.
    let (syn_ack, _) = recv(&mut stack, ms(1000));
    assert_eq!(
        (syn_ack.dst_port, syn_ack.flags.syn),
        (REMOTE_PORT + 1, true)
    );
    send(&mut stack, ms(1001), client_ack(1), b"");
    let second = stack.accept(listener).unwrap();
    assert_eq!(state(&stack, second), "ESTABLISHED");
}
