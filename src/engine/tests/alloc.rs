//! No heap allocation per packet on the hot paths (ARCHITECTURE.md: "reuse
//! receive/transmit buffers"): a counting allocator watches this thread
//! while packets go in and out. It also counts the bytes held, for what
//! an idle connection costs.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use std::time::Duration;

use super::buffers::open_on;
use super::harness::*;
use crate::engine::{Engine, Stack, StackConfig};
use crate::wire::{EchoRequest, Ipv4Repr, SeqNum, TcpHeader, PROTO_ICMP};

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    static LIVE_BYTES: Cell<i64> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        let _ = LIVE_BYTES.try_with(|n| n.set(n.get() + layout.size() as i64));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = LIVE_BYTES.try_with(|n| n.set(n.get() - layout.size() as i64));
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Allocations this thread makes while running `f`.
fn allocations_in(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

fn ping(seq_no: u16) -> Vec<u8> {
    let data = [0xabu8; 56];
    let mut icmp = [0u8; 64];
    EchoRequest {
        ident: 1,
        seq_no,
        data: &data,
    }
    .emit_request(&mut icmp);
    let mut packet = vec![0u8; 84];
    Ipv4Repr {
        src: REMOTE_IP,
        dst: LOCAL_IP,
        protocol: PROTO_ICMP,
        ttl: 64,
        ecn: crate::wire::Ecn::NotEct,
        payload_len: 64,
    }
    .emit(&mut packet);
    packet[20..].copy_from_slice(&icmp);
    packet
}

#[test]
fn echo_replies_do_not_allocate() {
    let mut stack = Stack::new(config());
    let pings: Vec<Vec<u8>> = (0..100).map(ping).collect();
    let mut buf = [0u8; 1500];
    let count = allocations_in(|| {
        for packet in &pings {
            stack.handle_packet(ms(0), packet);
            assert!(stack.poll_transmit(ms(0), &mut buf).is_some());
        }
    });
    assert_eq!(count, 0, "allocations for 100 pings");
}

#[test]
fn data_and_acks_do_not_allocate_once_warm() {
    let (mut stack, conn) = established();
    let chunk = [5u8; 1000];
    let segments: Vec<Vec<u8>> = (0..200u32)
        .map(|i| {
            let header = TcpHeader {
                seq: SeqNum(REMOTE_ISS + 1 + i * 1000),
                ack: Some(SeqNum(LOCAL_ISS + 1 + i * 100)),
                ..from_peer()
            };
            packet_from(REMOTE_IP, &header, &chunk)
        })
        .collect();
    let mut buf = [0u8; 1500];
    let mut read = [0u8; 2000];
    let mut exchange = |stack: &mut Stack, i: usize, at: u64| {
        stack.handle_packet(ms(at), &segments[i]);
        while stack.recv(conn, &mut read).is_ok() {}
        stack.send(conn, &[1u8; 100]).unwrap();
        stack.handle_timeout(ms(at));
        while stack.poll_transmit(ms(at), &mut buf).is_some() {}
    };
    // Warm up: queues and the timer heap reach their working size.
    for i in 0..100 {
        exchange(&mut stack, i, 20 + i as u64);
    }
    let count = allocations_in(|| {
        for i in 100..200 {
            exchange(&mut stack, i, 20 + i as u64);
        }
    });
    assert_eq!(count, 0, "allocations for 100 data segments each way");
}

/// Bytes this thread holds on the heap after `f` that it did not before.
fn bytes_kept_by<T>(f: impl FnOnce() -> T) -> (T, i64) {
    let before = LIVE_BYTES.with(Cell::get);
    let value = f();
    (value, LIVE_BYTES.with(Cell::get) - before)
}

#[test]
fn ten_thousand_idle_connections_cost_under_16_kib_each() {
    const CONNS: u16 = 10_000;
    let config = StackConfig {
        fixed_isn: Some(LOCAL_ISS),
        delayed_ack: None,
        ..StackConfig::new(LOCAL_IP).with_fixed_secret()
    };
    let ((stack, conns), kept) = bytes_kept_by(|| {
        let mut stack = Stack::new(config);
        let listener = stack.listen(LOCAL, usize::from(CONNS)).unwrap();
        let mut buf = [0u8; 1500];
        let mut read = [0u8; 64];
        let conns: Vec<_> = (0..CONNS)
            .map(|i| {
                let conn = open_on(&mut stack, listener, 10_000 + i, ms(0));
                // A line each way, then quiet.
                let line = TcpHeader {
                    src_port: 10_000 + i,
                    ..from_peer()
                };
                send(&mut stack, ms(20), line, b"hello\n");
                assert_eq!(stack.recv(conn, &mut read), Ok(6));
                stack.send(conn, b"hello\n").unwrap();
                while stack.poll_transmit(ms(20), &mut buf).is_some() {}
                let ack = TcpHeader {
                    src_port: 10_000 + i,
                    seq: SeqNum(REMOTE_ISS + 7),
                    ack: Some(SeqNum(LOCAL_ISS + 7)),
                    ..from_peer()
                };
                send(&mut stack, ms(30), ack, b"");
                conn
            })
            .collect();
        // Past the idle period every connection gives its storage back.
        let idle = ms(30) + Duration::from_secs(2);
        stack.handle_timeout(idle);
        while stack.poll_transmit(idle, &mut buf).is_some() {}
        (stack, conns)
    });
    assert_eq!(stack.connections_heap_bytes(), 0);
    assert!(conns
        .iter()
        .all(|&c| stack.conn_info(c).unwrap().state == "ESTABLISHED"));
    let each = kept / i64::from(CONNS);
    assert!(each < 16 * 1024, "{each} bytes per idle connection");
    println!("{each} bytes per idle connection");
}
