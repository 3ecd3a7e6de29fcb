//! Stack-wide bounds that hold whatever one connection does: the
//! challenge-ACK allowance (RFC 5961 §7) and the TIME-WAIT bound.

use super::harness::*;
use crate::engine::{ConnId, Engine, Stack, StackConfig};
use crate::time::Instant;
use crate::wire::{SeqNum, TcpHeader};

/// `clients` connections from ports REMOTE_PORT.., driven to ESTABLISHED
/// at 0 ms (each client's ISS is REMOTE_ISS, ours the fixed LOCAL_ISS),
/// and accepted; the test config changed by `tweak`.
pub(super) fn established_clients(
    clients: u16,
    tweak: impl FnOnce(&mut StackConfig),
) -> (Stack, Vec<ConnId>) {
    let mut config = config();
    tweak(&mut config);
    let mut stack = Stack::new(config);
    let mut conns = Vec::new();
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
        conns.push(stack.accept(listener).unwrap());
    }
    (stack, conns)
}

/// Packets the stack sends at `at`, all of them.
pub(super) fn drain(stack: &mut Stack, at: Instant) -> usize {
    let mut buf = [0u8; 1500];
    std::iter::from_fn(|| stack.poll_transmit(at, &mut buf)).count()
}

#[test]
fn challenge_acks_of_all_connections_share_one_allowance_rfc5961_s7() {
    let (mut stack, _) = established_clients(8, |c| c.challenge_acks_per_sec_total = 4);
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

/// We close client `n`'s connection at `at` (our FIN), the peer ACKs it
/// with its own FIN, and we send the last ACK: a 4-way close that leaves
/// us in TIME-WAIT (§3.6).
#[track_caller]
fn active_close(stack: &mut Stack, conn: ConnId, n: u16, at: Instant) {
    let port = REMOTE_PORT + n;
    stack.close(conn);
    let (fin, _) = recv(stack, at);
    assert!(fin.flags.fin && fin.dst_port == port);
    let fin_ack = TcpHeader {
        src_port: port,
        ack: Some(SeqNum(LOCAL_ISS + 2)),
        flags: flags("F"),
        ..from_peer()
    };
    send(stack, at, fin_ack, b"");
    let last_ack = TcpHeader {
        dst_port: port,
        seq: SeqNum(LOCAL_ISS + 2),
        ack: Some(SeqNum(REMOTE_ISS + 2)),
        ..to_peer()
    };
    expect(stack, at, last_ack, b"");
}

fn states(stack: &Stack, at: Instant) -> Vec<(u16, &'static str)> {
    let view = stack.view(at);
    view.connections
        .iter()
        .map(|c| (c.remote.port(), c.state))
        .collect()
}

#[test]
fn past_the_time_wait_bound_a_close_sends_its_last_ack_and_ends() {
    let (mut stack, conns) = established_clients(3, |c| c.max_time_wait = 1);
    active_close(&mut stack, conns[0], 0, ms(10));
    assert_eq!(states(&stack, ms(10))[0], (REMOTE_PORT, "TIME-WAIT"));
    // The bound (1) is reached: the second close still sends its last
    // ACK (checked in active_close), then the connection is gone.
    active_close(&mut stack, conns[1], 1, ms(20));
    let now = states(&stack, ms(20));
    assert!(
        now.iter().all(|&(port, _)| port != REMOTE_PORT + 1),
        "{now:?}"
    );
    assert_eq!(stack.stats().defence.time_wait_overflows, 1);
    // The first TIME-WAIT ends after 2 MSL; then there is room again.
    let later = ms(10) + stack.config().msl * 2;
    recv_nothing(&mut stack, later);
    active_close(&mut stack, conns[2], 2, later);
    let now = states(&stack, later);
    assert_eq!(now, vec![(REMOTE_PORT + 2, "TIME-WAIT")]);
    assert_eq!(stack.stats().defence.time_wait_overflows, 1);
}
