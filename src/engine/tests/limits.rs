//! Stack-wide bounds that hold whatever one connection does: the
//! challenge-ACK allowance (RFC 5961 §7) and the TIME-WAIT bound.

use super::harness::*;
use crate::engine::{Engine, Stack, StackConfig};
use crate::wire::{SeqNum, TcpHeader};

/// `clients` connections from ports REMOTE_PORT.., driven to ESTABLISHED
/// at 0 ms (each client's ISS is REMOTE_ISS, ours the fixed LOCAL_ISS).
fn established_clients(config: StackConfig, clients: u16) -> Stack {
    let mut stack = Stack::new(config);
    let listener = stack.listen(LOCAL, usize::from(clients)).unwrap();
    for n in 0..clients {
        let port = REMOTE_PORT + n;
        let syn = TcpHeader {
            src_port: port,
            ..peer_syn()
        };
        send(&mut stack, ms(0), syn, b"");
        recv(&mut stack, ms(0));
        let ack = TcpHeader {
            src_port: port,
            ..from_peer()
        };
        send(&mut stack, ms(0), ack, b"");
        stack.accept(listener).unwrap();
    }
    stack
}

/// Packets the stack sends at `at`, all of them.
fn drain(stack: &mut Stack, at: crate::time::Instant) -> usize {
    let mut buf = [0u8; 1500];
    std::iter::from_fn(|| stack.poll_transmit(at, &mut buf)).count()
}

#[test]
fn challenge_acks_of_all_connections_share_one_allowance_rfc5961_s7() {
    let config = StackConfig {
        challenge_acks_per_sec_total: 4,
        ..config()
    };
    let mut stack = established_clients(config, 8);
    // A SYN in each connection's window, three times: 24 challenge ACKs
    // asked for, well within each connection's own 10 a second.
    let mut answered = 0;
    for round in 0..3 {
        for n in 0..8 {
            let syn = TcpHeader {
                src_port: REMOTE_PORT + n,
                seq: SeqNum(REMOTE_ISS + 1),
                ..peer_syn()
            };
            send(&mut stack, ms(100 + round), syn, b"");
            answered += drain(&mut stack, ms(100 + round));
        }
    }
    // Linux's spread: between half and one and a half times the limit.
    assert!((2..6).contains(&answered), "{answered} challenge ACKs");
    let limited = stack.stats().defence.challenge_acks_limited;
    assert_eq!(limited, 24 - answered as u64);
    // A new second, a new allowance.
    let syn = TcpHeader {
        seq: SeqNum(REMOTE_ISS + 1),
        ..peer_syn()
    };
    send(&mut stack, ms(1100), syn, b"");
    assert_eq!(drain(&mut stack, ms(1100)), 1);
}
