//! `Engine::view`, what `tuntcp ss` shows: a connection's queues, bytes,
//! windows and timers, and a listener's SYN and accept queues.

use super::harness::*;
use crate::engine::{Engine, ListenerView};

#[test]
fn a_connection_shows_its_queues_bytes_and_timers() {
    let (mut stack, conn) = established();
    send(&mut stack, ms(20), from_peer(), b"hello");
    stack.send(conn, b"abc").unwrap();
    let _ = recv(&mut stack, ms(20)); // our 3 bytes (with the ACK of "hello")

    let view = stack.view(ms(30));
    assert_eq!(view.connections.len(), 1, "{view:?}");
    let c = &view.connections[0];
    assert_eq!((c.local, c.remote, c.state), (LOCAL, REMOTE, "ESTABLISHED"));
    // "hello" waits for the application; "abc" for the peer's ACK.
    assert_eq!((c.recv_queue, c.send_queue), (5, 3));
    let tcp = c.tcp.as_ref().expect("our engine shows its variables");
    assert_eq!((tcp.bytes_received, tcp.bytes_acked), (5, 0));
    assert_eq!(tcp.mss, usize::from(MSS));
    assert_eq!(tcp.snd_wnd, usize::from(REMOTE_WIN));
    // The retransmission timer runs for "abc" (RFC 6298 (5.1)), due one
    // RTO after it was sent at 20 ms.
    let retransmit = tcp.timers.iter().find(|(name, _)| *name == "retransmit");
    let ten_ms = std::time::Duration::from_millis(10);
    assert_eq!(retransmit.map(|(_, left)| *left + ten_ms), Some(tcp.rto));
    assert_eq!(view.stats.packets_in, 3);
}

#[test]
fn a_listener_shows_its_syn_and_accept_queues() {
    let (mut stack, _) = listening_with(config());
    send(&mut stack, ms(0), peer_syn(), b"");
    let view = stack.view(ms(1));
    let expected = ListenerView {
        local: LOCAL,
        backlog: 8,
        syn_queue: 1,
        accept_queue: 0,
    };
    assert_eq!(view.listeners, vec![expected.clone()]);
    let _ = recv(&mut stack, ms(0)); // SYN-ACK
    send(&mut stack, ms(10), from_peer(), b"");
    let view = stack.view(ms(11));
    let queued = ListenerView {
        syn_queue: 0,
        accept_queue: 1,
        ..expected
    };
    assert_eq!(view.listeners, vec![queued]);
}
