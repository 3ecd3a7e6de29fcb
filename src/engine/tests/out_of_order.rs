//! The bounds on out-of-order data (`engine/out_of_order.rs`,
//! `tcp/ooo_limit.rs`): per connection and stack-wide, pruned highest
//! sequence first as Linux's `tcp_prune_ofo_queue`, with SACK telling
//! only what is still held (reneging, RFC 2018 §8).

use super::harness::*;
use super::limits::{drain, established_clients};
use crate::engine::{ConnId, Engine, Stack, StackConfig};
use crate::time::Instant;
use crate::wire::{SeqNum, TcpHeader, TcpOptions};

/// Client `n` sends 1,000 bytes at `offset` past its first data byte.
fn send_at(stack: &mut Stack, n: u16, offset: u32, at: Instant) {
    let seg = TcpHeader {
        src_port: REMOTE_PORT + n,
        seq: SeqNum(REMOTE_ISS + 1 + offset),
        ..from_peer()
    };
    send(stack, at, seg, &[b'a' + (offset / 1000) as u8; 1000]);
}

/// The SACK blocks of the ACK the stack sends now, as offsets past the
/// client's first data byte.
fn sacked(stack: &mut Stack, at: Instant) -> Vec<(u32, u32)> {
    let (ack, _) = recv(stack, at);
    let base = REMOTE_ISS + 1;
    ack.options
        .sack
        .as_slice()
        .iter()
        .map(|b| (b.left.0 - base, b.right.0 - base))
        .collect()
}

fn established_with_sack(tweak: impl FnOnce(&mut StackConfig)) -> (Stack, ConnId) {
    let mut config = config();
    config.recv_buffer = 16_000;
    tweak(&mut config);
    let mut stack = Stack::new(config);
    let listener = stack.listen(LOCAL, 4).unwrap();
    let syn = TcpHeader {
        options: TcpOptions {
            sack_permitted: true,
            ..TcpOptions::with_mss(MSS)
        },
        ..peer_syn()
    };
    send(&mut stack, ms(0), syn, b"");
    recv(&mut stack, ms(0));
    send(&mut stack, ms(0), from_peer(), b"");
    let conn = stack.accept(listener).unwrap();
    (stack, conn)
}

#[test]
fn past_the_connection_bound_the_highest_out_of_order_data_is_pruned_first() {
    let (mut stack, conn) = established_with_sack(|c| c.max_ooo_bytes = 3000);
    for offset in [1000, 3000, 5000] {
        send_at(&mut stack, 0, offset, ms(10));
        drain(&mut stack, ms(10));
    }
    // 2000..3000 would make 4000 bytes: 5000..6000, the highest, goes.
    send_at(&mut stack, 0, 2000, ms(20));
    assert_eq!(
        sacked(&mut stack, ms(20)),
        vec![(1000, 4000)],
        "SACK tells only what is held"
    );
    assert_eq!(stack.stats().defence.ooo_pruned_bytes, 1000);
    // The hole fills: everything held is delivered, nothing pruned is.
    send_at(&mut stack, 0, 0, ms(30));
    let data = read_all(&mut stack, conn);
    assert_eq!(data.len(), 4000);
    assert!(data[3000..].iter().all(|&b| b == b'd'));
}

#[test]
fn out_of_order_data_above_everything_held_is_refused_at_the_connection_bound() {
    let (mut stack, _) = established_with_sack(|c| c.max_ooo_bytes = 3000);
    for offset in [1000, 2000, 3000] {
        send_at(&mut stack, 0, offset, ms(10));
        drain(&mut stack, ms(10));
    }
    // Nothing above it to prune (Linux's prune stops at the incoming
    // segment): refused, and the ACK still tells what is held.
    send_at(&mut stack, 0, 5000, ms(20));
    assert_eq!(sacked(&mut stack, ms(20)), vec![(1000, 4000)]);
    let defence = stack.stats().defence;
    assert_eq!(
        (defence.ooo_pruned_bytes, defence.ooo_segments_refused),
        (0, 1)
    );
    // In-order data is always taken.
    send_at(&mut stack, 0, 0, ms(30));
    let (ack, _) = recv(&mut stack, ms(30));
    assert_eq!(ack.ack, Some(SeqNum(REMOTE_ISS + 1 + 4000)));
}

#[test]
fn past_the_stack_bound_the_connection_holding_most_is_pruned() {
    let (mut stack, conns) = established_clients(2, |c| {
        c.max_ooo_bytes_total = 4000;
        c.recv_buffer = 16_000;
    });
    // Client 0 holds 3,000 bytes past a hole, client 1 1,000.
    for offset in [1000, 3000, 5000] {
        send_at(&mut stack, 0, offset, ms(10));
    }
    send_at(&mut stack, 1, 1000, ms(10));
    drain(&mut stack, ms(10));
    assert_eq!(
        stack.stats().defence.ooo_pruned_bytes,
        0,
        "at the bound, not past it"
    );
    // Client 1's next 1,000 make 5,000: client 0, the biggest holder,
    // loses its highest 1,500 (half of what it held) and the total is
    // back under 7/8 of the bound.
    send_at(&mut stack, 1, 2000, ms(20));
    drain(&mut stack, ms(20));
    assert_eq!(stack.stats().defence.ooo_pruned_bytes, 1500);
    for n in 0..2 {
        send_at(&mut stack, n, 0, ms(30));
    }
    drain(&mut stack, ms(30));
    // Client 0 keeps 1000..2000 and 3000..3500: 2,000 in order now.
    assert_eq!(read_all(&mut stack, conns[0]).len(), 2000);
    assert_eq!(read_all(&mut stack, conns[1]).len(), 3000);
}
