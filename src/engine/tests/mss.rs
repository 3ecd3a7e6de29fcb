//! The Maximum Segment Size option (RFC 9293 §3.7.1): we send it on our
//! SYN and SYN-ACK and on nothing else (MUST-14, MUST-65), and its value
//! comes from what we can receive, the MTU less the headers (MUST-67).
//! What the peer's MSS does to our segments is in `handshake.rs` and
//! `offload.rs` (MUST-15, MUST-16).

use super::harness::*;
use crate::engine::{Engine, Stack};
use crate::wire::{SeqNum, TcpHeader};

#[test]
fn must_14_must_65_may_3_shld_5_our_mss_goes_on_the_syn_and_the_syn_ack_only() {
    let mut stack = Stack::new(config());
    stack.connect(ms(0), REMOTE, Some(LOCAL_PORT)).unwrap();
    let (syn, _) = recv(&mut stack, ms(0));
    assert_eq!(syn.options.mss, Some(MSS));

    let (mut stack, listener) = listening_with(config());
    send(&mut stack, ms(0), peer_syn(), b"");
    let (syn_ack, _) = recv(&mut stack, ms(0));
    assert_eq!(syn_ack.options.mss, Some(MSS));
    send(&mut stack, ms(10), from_peer(), b"");
    let conn = stack.accept(listener).unwrap();
    // Our data, our ACK of the peer's data and our FIN carry none.
    stack.send(conn, b"hello").unwrap();
    let (data, _) = recv(&mut stack, ms(11));
    let acks_hello = TcpHeader {
        ack: Some(SeqNum(LOCAL_ISS + 6)),
        ..from_peer()
    };
    send(&mut stack, ms(20), acks_hello, b"ping");
    let (ack, _) = recv(&mut stack, ms(20));
    stack.shutdown_write(conn).unwrap();
    let (fin, _) = recv(&mut stack, ms(21));
    assert!(fin.flags.fin);
    for segment in [data, ack, fin] {
        assert_eq!(segment.options.mss, None, "{segment:?}");
    }
}

#[test]
fn must_67_the_mss_we_announce_is_the_mtu_less_the_ip_and_tcp_headers() {
    for mtu in [576, 1280, 1500, 9000] {
        let (mut stack, _) = listening_with(config().with_mtu(mtu));
        send(&mut stack, ms(0), peer_syn(), b"");
        let (syn_ack, _) = recv(&mut stack, ms(0));
        assert_eq!(syn_ack.options.mss, Some(mtu - 40), "MTU {mtu}");
    }
}
