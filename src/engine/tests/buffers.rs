//! Buffers that follow use: receive-buffer auto-tuning (dynamic
//! right-sizing, `tcp/autotune.rs`), a send buffer that follows cwnd,
//! storage allocated as data comes and given back when idle
//! (`tcp/footprint.rs`), and the memory budget (`engine/memory.rs`).

use std::time::Duration;

use super::harness::*;
use crate::engine::tcp::ring::MIN_STORAGE;
use crate::engine::tcp::tcb::CONNECTION_COST;
use crate::engine::{ApiError, ConnId, Engine, ListenerId, Stack, StackConfig};
use crate::time::Instant;
use crate::wire::{Ipv4Repr, SeqNum, TcpHeader, TcpOptions, TcpSegment};

const INITIAL: usize = 16_000;
const MAX: usize = 1_000_000;
/// 1,000,000 >> 4 = 62,500 fits the 16-bit field.
const SHIFT: u8 = 4;

fn tuned_config() -> StackConfig {
    StackConfig {
        recv_buffer: INITIAL,
        recv_buffer_max: MAX,
        idle_buffer_release: Some(Duration::from_secs(1)),
        ..config()
    }
}

/// The peer at `port` opens a connection with Window Scale (its shift
/// 0): SYN at `at`, ACK 10 ms later, so our RTT estimate is 10 ms.
/// Returns the accepted connection.
pub(super) fn open_on(stack: &mut Stack, listener: ListenerId, port: u16, at: Instant) -> ConnId {
    let syn = TcpHeader {
        src_port: port,
        options: TcpOptions {
            window_scale: Some(0),
            ..TcpOptions::with_mss(MSS)
        },
        ..peer_syn()
    };
    send(stack, at, syn, b"");
    let (syn_ack, _) = recv(stack, at);
    assert!(syn_ack.flags.syn, "{syn_ack}");
    let ack = TcpHeader {
        src_port: port,
        ..from_peer()
    };
    send(stack, at + Duration::from_millis(10), ack, b"");
    stack.accept(listener).expect("accepted")
}

fn open_scaled(config: StackConfig) -> (Stack, ConnId) {
    let (mut stack, listener) = listening_with(config);
    let conn = open_on(&mut stack, listener, REMOTE_PORT, ms(0));
    (stack, conn)
}

/// Every packet the stack sends at `at` (timers due first).
fn drain(stack: &mut Stack, at: Instant) -> Vec<TcpHeader> {
    stack.handle_timeout(at);
    let mut buf = [0u8; 1500];
    let mut out = Vec::new();
    while let Some(len) = stack.poll_transmit(at, &mut buf) {
        let (ip, bytes) = Ipv4Repr::parse(&buf[..len]).unwrap();
        out.push(TcpSegment::parse(ip.src, ip.dst, bytes).unwrap().header);
    }
    out
}

/// The peer's data at `offset` bytes into the stream.
fn data_at(offset: usize) -> TcpHeader {
    TcpHeader {
        seq: SeqNum(REMOTE_ISS + 1) + offset,
        ..from_peer()
    }
}

/// The peer's view: how far it sent, the right edge we advertised, and
/// the window our last ACK offered.
struct Sender {
    next: usize,
    edge: usize,
    window: usize,
}

impl Sender {
    fn new() -> Sender {
        Sender {
            next: 0,
            edge: INITIAL,
            window: INITIAL,
        }
    }

    /// One round trip: sends the window offered when it starts, in MSS
    /// segments, at `at`; `read` says whether the application reads after
    /// each one.
    fn fill_window(&mut self, stack: &mut Stack, conn: ConnId, at: Instant, read: bool) {
        let round_edge = self.edge;
        while self.next < round_edge {
            let len = usize::from(MSS).min(round_edge - self.next);
            send(stack, at, data_at(self.next), &vec![7u8; len]);
            self.next += len;
            if read {
                read_all(stack, conn);
            }
            for ack in drain(stack, at) {
                let acked = ack.ack.unwrap().since(SeqNum(REMOTE_ISS + 1));
                self.window = usize::from(ack.window) << SHIFT;
                self.edge = self.edge.max(acked + self.window);
            }
        }
    }
}

#[test]
fn syn_offers_the_shift_of_the_maximum_buffer_not_the_initial_one_rfc_7323_s2_3() {
    let mut stack = Stack::new(tuned_config());
    stack.connect(ms(0), REMOTE, Some(LOCAL_PORT)).unwrap();
    let (syn, _) = recv(&mut stack, ms(0));
    assert_eq!(syn.options.window_scale, Some(SHIFT));
    // Unscaled on the SYN (RFC 7323 §2.2): the initial buffer.
    assert_eq!(usize::from(syn.window), INITIAL);
    // The defaults: 6 MiB at most needs a shift of 7, as Linux offers.
    let mut stack = Stack::new(StackConfig {
        fixed_isn: Some(LOCAL_ISS),
        ..StackConfig::new(LOCAL_IP).with_fixed_secret()
    });
    stack.connect(ms(0), REMOTE, Some(LOCAL_PORT)).unwrap();
    let (syn, _) = recv(&mut stack, ms(0));
    assert_eq!(syn.options.window_scale, Some(7));
}

#[test]
fn receive_window_grows_while_the_application_keeps_up() {
    let (mut stack, conn) = open_scaled(tuned_config());
    let mut peer = Sender::new();
    for round in 0..12 {
        peer.fill_window(&mut stack, conn, ms(20 + 10 * round), true);
    }
    assert!(
        peer.window > MAX - 2 * usize::from(MSS),
        "window {} after 12 round trips of a reader that keeps up",
        peer.window
    );
}

#[test]
fn receive_window_does_not_grow_when_the_application_does_not_read() {
    let (mut stack, conn) = open_scaled(tuned_config());
    let mut peer = Sender::new();
    for round in 0..6 {
        peer.fill_window(&mut stack, conn, ms(20 + 10 * round), false);
    }
    // The window closed on the unread initial buffer (but for the bytes
    // RFC 7323 §2.4's rounding up offers past it); it never grew.
    assert!(peer.window < usize::from(MSS), "window {}", peer.window);
    assert!(peer.edge < INITIAL + usize::from(MSS), "edge {}", peer.edge);
    assert_eq!(read_all(&mut stack, conn).len(), INITIAL);
}

#[test]
fn storage_comes_with_data_and_goes_back_when_idle() {
    let (mut stack, conn) = open_scaled(tuned_config());
    assert_eq!(stack.connections_heap_bytes(), 0, "nothing before data");
    send(&mut stack, ms(20), data_at(0), b"hello");
    let first_ack = drain(&mut stack, ms(20));
    let held = stack.connections_heap_bytes();
    assert!(
        (MIN_STORAGE..MIN_STORAGE + 256).contains(&held),
        "{held}: one small piece"
    );
    assert_eq!(read_all(&mut stack, conn), b"hello");
    assert_eq!(stack.send(conn, b"world"), Ok(5));
    drain(&mut stack, ms(20));
    let ack = TcpHeader {
        ack: Some(SeqNum(LOCAL_ISS + 1 + 5)),
        ..data_at(5)
    };
    send(&mut stack, ms(30), ack, b"");
    // Quiet for less than the idle period: kept.
    drain(&mut stack, ms(1000));
    assert!(stack.connections_heap_bytes() > 0);
    // Quiet for a whole second since the last segment: all given back.
    drain(&mut stack, ms(1030));
    assert_eq!(stack.connections_heap_bytes(), 0);
    assert_eq!(stack.poll_timeout(), None, "no timer left behind");
    // The window stays what it was, and data flows again.
    send(&mut stack, ms(2000), data_at(5), b"again");
    let acks = drain(&mut stack, ms(2000));
    assert_eq!(acks.last().unwrap().window, first_ack[0].window);
    assert_eq!(read_all(&mut stack, conn), b"again");
}

#[test]
fn send_buffer_grows_with_the_congestion_window() {
    let config = StackConfig {
        send_buffer: 4_000,
        send_buffer_max: MAX,
        ..tuned_config()
    };
    let (mut stack, conn) = open_scaled(config);
    let chunk = vec![1u8; 100_000];
    // Initial window 10 segments: room for twice that, not just 4,000.
    let first = stack.send(conn, &chunk).unwrap();
    assert_eq!(first, 2 * 10 * usize::from(MSS));
    let sent = drain(&mut stack, ms(20)).len();
    assert_eq!(sent, 10);
    let ack = TcpHeader {
        ack: Some(SeqNum(LOCAL_ISS + 1) + 10 * usize::from(MSS)),
        ..from_peer()
    };
    send(&mut stack, ms(30), ack, b"");
    // cwnd grew in slow start: the buffer takes more than it freed.
    let more = stack.send(conn, &chunk).unwrap();
    assert!(more > 10 * usize::from(MSS), "{more}");
    assert_eq!(stack.send(conn, &chunk), Err(ApiError::WouldBlock));
}

#[test]
fn spent_budget_refuses_new_connections_and_spares_existing_ones() {
    // Room for two connections and the first storage of one.
    let config = StackConfig {
        memory_budget: 2 * CONNECTION_COST + 2 * MIN_STORAGE,
        ..tuned_config()
    };
    let (mut stack, listener) = listening_with(config);
    let first = open_on(&mut stack, listener, 40_001, ms(0));
    let _second = open_on(&mut stack, listener, 40_002, ms(0));
    let syn = TcpHeader {
        src_port: 40_003,
        ..peer_syn()
    };
    send(&mut stack, ms(20), syn, b"");
    // Dropped without an answer, as Linux drops SYNs it has no room for:
    // the client's retransmission may find room later.
    recv_nothing(&mut stack, ms(20));
    assert_eq!(stack.memory_stats().connections_refused, 1);
    assert_eq!(
        stack.connect(ms(20), REMOTE, None),
        Err(ApiError::ResourceLimit)
    );
    // The existing connection still receives.
    let data = TcpHeader {
        src_port: 40_001,
        ..data_at(0)
    };
    send(&mut stack, ms(30), data, b"still here");
    drain(&mut stack, ms(30));
    assert_eq!(read_all(&mut stack, first), b"still here");
    // One connection gone: the next SYN is taken.
    stack.abort(first);
    drain(&mut stack, ms(40));
    open_on(&mut stack, listener, 40_004, ms(50));
}

#[test]
fn spent_budget_stops_buffer_growth_and_the_sender_resends_the_rest() {
    // One connection, and storage of 8 KiB in all (4 KiB doubled once).
    let config = StackConfig {
        memory_budget: CONNECTION_COST + 2 * MIN_STORAGE + 1_000,
        ..tuned_config()
    };
    let (mut stack, conn) = open_scaled(config);
    let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
    for offset in (0..10_000).step_by(1_000) {
        send(
            &mut stack,
            ms(20),
            data_at(offset),
            &data[offset..offset + 1_000],
        );
    }
    let acks = drain(&mut stack, ms(20));
    let acked = acks
        .last()
        .unwrap()
        .ack
        .unwrap()
        .since(SeqNum(REMOTE_ISS + 1));
    assert_eq!(acked, 2 * MIN_STORAGE, "what the storage could hold");
    assert!(stack.memory_stats().growth_refused >= 1);
    let mut got = read_all(&mut stack, conn);
    // The sender resends from the ACK; the storage is reused.
    for offset in (acked..10_000).step_by(1_000) {
        let end = (offset + 1_000).min(10_000);
        send(&mut stack, ms(40), data_at(offset), &data[offset..end]);
    }
    drain(&mut stack, ms(40));
    got.extend(read_all(&mut stack, conn));
    assert_eq!(got, data);
}
