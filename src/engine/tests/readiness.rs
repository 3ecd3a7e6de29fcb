//! Readiness events (`Engine::take_readiness`): each kind of change the
//! socket layer must hear of, so it wakes exactly the threads waiting on it
//! (a waiter sleeps only while its call would block, so a missing event
//! would leave it asleep for good).

use super::harness::*;
use crate::engine::{ApiError, Engine, Readiness, ReadinessEvent, Stack, Watched};
use crate::wire::{SeqNum, TcpHeader};

fn drain(stack: &mut Stack) -> Vec<ReadinessEvent> {
    let mut events = Vec::new();
    stack.take_readiness(&mut events);
    events
}

/// Everything the stack has to send, thrown away.
fn flush(stack: &mut Stack, at: crate::time::Instant) {
    let mut buf = [0u8; 1600];
    while stack.poll_transmit(at, &mut buf).is_some() {}
}

#[test]
fn data_arriving_makes_the_connection_readable_once() {
    let (mut stack, conn) = established();
    drain(&mut stack);
    send(&mut stack, ms(20), from_peer(), b"hello");
    let events = drain(&mut stack);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].handle, Watched::Conn(conn));
    assert!(events[0].readiness.contains(Readiness::READABLE));
    // More data while still readable is no news: nobody can be waiting.
    let more = TcpHeader {
        seq: SeqNum(REMOTE_ISS + 6),
        ..from_peer()
    };
    send(&mut stack, ms(21), more, b"world");
    assert_eq!(drain(&mut stack), vec![]);
    // Reading it all empties it; the next byte is news again.
    read_all(&mut stack, conn);
    drain(&mut stack);
    let next = TcpHeader {
        seq: SeqNum(REMOTE_ISS + 11),
        ..from_peer()
    };
    send(&mut stack, ms(22), next, b"!");
    assert_eq!(drain(&mut stack).len(), 1);
}

#[test]
fn an_ack_that_frees_send_space_makes_the_connection_writable() {
    let (mut stack, conn) = established();
    let block = vec![7u8; 16_000];
    assert_eq!(
        stack.send(conn, &block),
        Ok(16_000),
        "fills the send buffer"
    );
    assert_eq!(stack.send(conn, b"x"), Err(ApiError::WouldBlock));
    flush(&mut stack, ms(20));
    let full = drain(&mut stack);
    assert!(full
        .iter()
        .all(|e| !e.readiness.contains(Readiness::WRITABLE)));
    let ack = TcpHeader {
        ack: Some(SeqNum(LOCAL_ISS + 1 + 1460)),
        ..from_peer()
    };
    send(&mut stack, ms(30), ack, b"");
    let events = drain(&mut stack);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].handle, Watched::Conn(conn));
    assert!(events[0].readiness.contains(Readiness::WRITABLE));
    assert_eq!(stack.send(conn, b"x"), Ok(1));
}

#[test]
fn a_completed_handshake_makes_the_listener_acceptable() {
    let (mut stack, listener) = listening_with(config());
    send(&mut stack, ms(0), peer_syn(), b"");
    flush(&mut stack, ms(0));
    assert_eq!(drain(&mut stack), vec![], "SYN-RECEIVED: nothing to accept");
    assert_eq!(
        stack.readiness(Watched::Listener(listener)),
        Some(Readiness::EMPTY)
    );
    send(&mut stack, ms(10), from_peer(), b"");
    let events = drain(&mut stack);
    assert_eq!(
        events,
        vec![ReadinessEvent {
            handle: Watched::Listener(listener),
            readiness: Readiness::READABLE,
        }]
    );
    let conn = stack.accept(listener).unwrap();
    let writable = stack.readiness(Watched::Conn(conn)).unwrap();
    assert!(writable.contains(Readiness::WRITABLE));
}

#[test]
fn a_completed_connect_makes_the_connection_writable() {
    let mut stack = Stack::new(config());
    let conn = stack.connect(ms(0), REMOTE, Some(LOCAL_PORT)).unwrap();
    flush(&mut stack, ms(0));
    drain(&mut stack);
    assert_eq!(
        stack.readiness(Watched::Conn(conn)),
        Some(Readiness::EMPTY),
        "SYN-SENT: neither readable nor writable"
    );
    send(&mut stack, ms(10), peer_syn_ack(), b"");
    let events = drain(&mut stack);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].handle, Watched::Conn(conn));
    assert_eq!(events[0].readiness, Readiness::WRITABLE);
}

#[test]
fn must_12_a_reset_is_an_error_event_s3_10_7_4() {
    let (mut stack, conn) = established();
    drain(&mut stack);
    let rst = TcpHeader {
        flags: flags("R"),
        ..from_peer()
    };
    send(&mut stack, ms(20), rst, b"");
    let events = drain(&mut stack);
    assert_eq!(events.len(), 1, "{events:?}");
    let readiness = events[0].readiness;
    assert!(readiness.contains(Readiness::ERROR | Readiness::READABLE | Readiness::WRITABLE));
    assert_eq!(
        stack.recv(conn, &mut [0u8; 4]),
        Err(ApiError::ConnectionReset)
    );
}

#[test]
fn must_12_the_peers_fin_is_a_read_closed_event_s3_10_7_4() {
    let (mut stack, conn) = established();
    drain(&mut stack);
    let fin = TcpHeader {
        flags: flags("F"),
        ..from_peer()
    };
    send(&mut stack, ms(20), fin, b"");
    let events = drain(&mut stack);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].handle, Watched::Conn(conn));
    assert!(events[0]
        .readiness
        .contains(Readiness::READ_CLOSED | Readiness::READABLE));
    assert_eq!(stack.recv(conn, &mut [0u8; 4]), Ok(0));
}

#[test]
fn our_fin_acknowledged_is_news_for_linger() {
    // FIN-WAIT-1 -> FIN-WAIT-2 changes no flag, but `linger` waits for it.
    let (mut stack, conn) = established();
    stack.shutdown_write(conn).unwrap();
    flush(&mut stack, ms(20));
    drain(&mut stack);
    let ack_of_fin = TcpHeader {
        ack: Some(SeqNum(LOCAL_ISS + 2)),
        ..from_peer()
    };
    send(&mut stack, ms(30), ack_of_fin, b"");
    assert_eq!(state(&stack, conn), "FIN-WAIT-2");
    assert_eq!(drain(&mut stack).len(), 1);
}

#[test]
fn changes_are_queued_once_per_handle_until_drained() {
    let (mut stack, conn) = established();
    drain(&mut stack);
    for round in 0..100u32 {
        let seg = TcpHeader {
            seq: SeqNum(REMOTE_ISS + 1 + round),
            ..from_peer()
        };
        send(&mut stack, ms(20), seg, b"a");
        read_all(&mut stack, conn);
    }
    // 200 changes (readable, then not), one handle: one event.
    assert_eq!(drain(&mut stack).len(), 1);
}
