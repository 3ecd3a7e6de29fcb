//! Packet-exact test helpers (smoltcp style): the test plays the peer at
//! 192.0.2.1:49500, the stack is 192.0.2.2:80, time is always explicit, and
//! every packet the stack sends is compared whole.
//!
//! The helpers work over either family: inside [`on_ipv6`] the peer is
//! [2001:db8::1]:49500 and the stack [2001:db8::2]:80 (the stack has both
//! addresses in every test config), packets are IPv6 and our MSS is 20
//! bytes smaller. `local()`/`remote()` give the current family's ends.

use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};

use crate::engine::{ConnId, Engine, ListenerId, Stack, StackConfig};
use crate::time::Instant;
use crate::wire::tcp::emit_ip_tcp;
use crate::wire::{
    Ipv4Repr, Ipv6Repr, SeqNum, TcpFlags, TcpHeader, TcpOptions, TcpSegment, PROTO_TCP,
};

pub const LOCAL_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
pub const REMOTE_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The two ends over IPv6 (documentation prefix, RFC 3849).
pub const LOCAL_IP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
pub const REMOTE_IP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
pub const LOCAL_PORT: u16 = 80;
pub const REMOTE_PORT: u16 = 49500;
pub const LOCAL: SocketAddr = SocketAddr::V4(SocketAddrV4::new(LOCAL_IP, LOCAL_PORT));
pub const REMOTE: SocketAddr = SocketAddr::V4(SocketAddrV4::new(REMOTE_IP, REMOTE_PORT));

thread_local! {
    /// The family the helpers speak in this test (each test has its thread).
    static IPV6: Cell<bool> = const { Cell::new(false) };
}

/// Runs `test` with the helpers speaking IPv6.
pub fn on_ipv6(test: impl FnOnce()) {
    IPV6.with(|v6| v6.set(true));
    test();
    IPV6.with(|v6| v6.set(false));
}

/// Runs `test` over IPv4, then over IPv6.
pub fn on_both_families(mut test: impl FnMut()) {
    test();
    on_ipv6(test);
}

fn ipv6() -> bool {
    IPV6.with(Cell::get)
}

/// The stack's address in the current family.
pub fn local_ip() -> IpAddr {
    if ipv6() {
        LOCAL_IP6.into()
    } else {
        LOCAL_IP.into()
    }
}

/// The peer's address in the current family.
pub fn remote_ip() -> IpAddr {
    if ipv6() {
        REMOTE_IP6.into()
    } else {
        REMOTE_IP.into()
    }
}

pub fn local() -> SocketAddr {
    SocketAddr::new(local_ip(), LOCAL_PORT)
}

pub fn remote() -> SocketAddr {
    SocketAddr::new(remote_ip(), REMOTE_PORT)
}

/// The MSS we announce in the current family (§3.7.1: MTU 1500 - 40,
/// or - 60 over IPv6).
pub fn our_mss() -> u16 {
    if ipv6() {
        MSS - 20
    } else {
        MSS
    }
}
/// Our ISS (pinned through `StackConfig::fixed_isn`).
pub const LOCAL_ISS: u32 = 10_000;
pub const REMOTE_ISS: u32 = 50_000;
/// The window the peer offers in the templates.
pub const REMOTE_WIN: u16 = 64_000;
/// Our receive buffer in the test config, so also our window.
pub const LOCAL_WIN: u16 = 8_000;
pub const MSS: u16 = 1460;

pub fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

pub fn flags(f: &str) -> TcpFlags {
    TcpFlags {
        syn: f.contains('S'),
        fin: f.contains('F'),
        rst: f.contains('R'),
        psh: f.contains('P'),
        urg: f.contains('U'),
        ece: f.contains('E'),
        cwr: f.contains('W'),
    }
}

/// Deterministic config: fixed ISS, no delayed ACK, small receive buffer,
/// no timestamps (their TSval follows the clock; `timestamps.rs` tests
/// them with [`ts_config`]).
pub fn config() -> StackConfig {
    StackConfig {
        fixed_isn: Some(LOCAL_ISS),
        delayed_ack: None,
        timestamps: false,
        recv_buffer: usize::from(LOCAL_WIN),
        send_buffer: 16_000,
        congestion_control: crate::engine::CongestionControl::NewReno,
        // Fixed buffers (no auto-tuning): exact windows in every test.
        recv_buffer_max: 0,
        send_buffer_max: 0,
        // No release timer among the timers the tests step through.
        idle_buffer_release: None,
        ..StackConfig::new(LOCAL_IP)
            .with_ipv6(LOCAL_IP6)
            .with_fixed_secret()
    }
}

/// [`config`] with TCP Timestamps on (RFC 7323), as by default.
pub fn ts_config() -> StackConfig {
    StackConfig {
        timestamps: true,
        ..config()
    }
}

/// Our TSval at `at` (RFC 7323 §7.1: milliseconds plus the connection's
/// keyed offset; the test config's secret is all zeros).
pub fn our_tsval(at: Instant) -> u32 {
    let secret = crate::engine::isn::IsnSecret::default();
    let offset = crate::engine::isn::timestamp_offset(&secret, local(), remote());
    (at.total_millis() as u32).wrapping_add(offset)
}

/// A segment from the peer, in the established connection: SEQ and ACK
/// one past the two ISSs.
pub fn from_peer() -> TcpHeader {
    TcpHeader {
        src_port: REMOTE_PORT,
        dst_port: LOCAL_PORT,
        seq: SeqNum(REMOTE_ISS + 1),
        ack: Some(SeqNum(LOCAL_ISS + 1)),
        window: REMOTE_WIN,
        ..TcpHeader::default()
    }
}

/// A segment we expect from the stack, in the established connection.
pub fn to_peer() -> TcpHeader {
    TcpHeader {
        src_port: LOCAL_PORT,
        dst_port: REMOTE_PORT,
        seq: SeqNum(LOCAL_ISS + 1),
        ack: Some(SeqNum(REMOTE_ISS + 1)),
        window: LOCAL_WIN,
        ..TcpHeader::default()
    }
}

/// The options on our SYN (active open): MSS, SACK-permitted (RFC 2018),
/// Window Scale (RFC 7323) with shift 0, as our small test buffer needs none.
pub fn our_syn_options() -> TcpOptions {
    TcpOptions {
        sack_permitted: true,
        window_scale: Some(0),
        ..TcpOptions::with_mss(our_mss())
    }
}

pub fn peer_syn() -> TcpHeader {
    TcpHeader {
        seq: SeqNum(REMOTE_ISS),
        ack: None,
        flags: flags("S"),
        options: TcpOptions::with_mss(MSS),
        ..from_peer()
    }
}

pub fn our_syn_ack() -> TcpHeader {
    TcpHeader {
        seq: SeqNum(LOCAL_ISS),
        flags: flags("S"),
        options: TcpOptions::with_mss(our_mss()),
        ..to_peer()
    }
}

/// The peer's answer to our SYN: its own SYN with MSS, acknowledging ours.
pub fn peer_syn_ack() -> TcpHeader {
    TcpHeader {
        seq: SeqNum(REMOTE_ISS),
        flags: flags("S"),
        options: TcpOptions::with_mss(MSS),
        ..from_peer()
    }
}

/// The base of every RST we send: no window (RFC 9293 §3.10.7.1 says
/// nothing of one, and we send 0). Tests fill in SEQ and ACK.
pub fn our_rst() -> TcpHeader {
    TcpHeader {
        flags: flags("R"),
        window: 0,
        ..to_peer()
    }
}

/// A packet from `src` to the stack (its address in `src`'s family).
/// Our RST to the peer's SYN where nothing listens (§3.10.7.1: SEQ 0,
/// ACK of the SYN).
pub fn rst_to_peer_syn() -> TcpHeader {
    TcpHeader {
        seq: SeqNum(0),
        ack: Some(SeqNum(REMOTE_ISS + 1)),
        ..our_rst()
    }
}

/// A packet from `src` to the stack (its address in `src`'s family).
pub fn packet_from(src: impl Into<IpAddr>, header: &TcpHeader, payload: &[u8]) -> Vec<u8> {
    let src = src.into();
    let dst = match src {
        IpAddr::V4(_) => IpAddr::V4(LOCAL_IP),
        IpAddr::V6(_) => IpAddr::V6(LOCAL_IP6),
    };
    let mut buf = vec![0u8; 1600];
    let len = emit_ip_tcp(src, dst, header, payload, &mut buf);
    buf.truncate(len);
    buf
}

/// The peer sends `header` + `payload` at time `at`.
#[track_caller]
pub fn send(stack: &mut Stack, at: Instant, header: TcpHeader, payload: &[u8]) {
    stack.handle_packet(at, &packet_from(remote_ip(), &header, payload));
}

/// A packet we sent: its IP source, destination and protocol, and what
/// follows the IP header (either family).
#[track_caller]
pub fn parse_ip(packet: &[u8]) -> ((IpAddr, IpAddr, u8), &[u8]) {
    if packet.first().is_some_and(|b| b >> 4 == 6) {
        let (ip, rest) = Ipv6Repr::parse(packet).expect("we sent a bad IPv6 packet");
        ((ip.src.into(), ip.dst.into(), ip.protocol), rest)
    } else {
        let (ip, rest) = Ipv4Repr::parse(packet).expect("we sent a bad IPv4 packet");
        ((ip.src.into(), ip.dst.into(), ip.protocol), rest)
    }
}

/// Runs timers due at `at`, then takes exactly one packet; it must be TCP
/// from us to the peer.
#[track_caller]
pub fn recv(stack: &mut Stack, at: Instant) -> (TcpHeader, Vec<u8>) {
    stack.handle_timeout(at);
    let mut buf = [0u8; 1500];
    let len = stack
        .poll_transmit(at, &mut buf)
        .expect("expected a packet, got none");
    let ((src, dst, protocol), bytes) = parse_ip(&buf[..len]);
    assert_eq!((src, dst, protocol), (local_ip(), remote_ip(), PROTO_TCP));
    let seg = TcpSegment::parse(src, dst, bytes).expect("we sent a bad TCP segment");
    (seg.header, seg.payload.to_vec())
}

/// Expects exactly `header` with `payload`.
#[track_caller]
pub fn expect(stack: &mut Stack, at: Instant, header: TcpHeader, payload: &[u8]) {
    let (got, data) = recv(stack, at);
    assert_eq!(got, header, "\n got: {got}\nwant: {header}");
    assert_eq!(data, payload, "payload differs");
}

/// Expects silence at `at` (after running due timers).
#[track_caller]
pub fn recv_nothing(stack: &mut Stack, at: Instant) {
    stack.handle_timeout(at);
    let mut buf = [0u8; 1500];
    if let Some(len) = stack.poll_transmit(at, &mut buf) {
        let ((src, dst, _), bytes) = parse_ip(&buf[..len]);
        match TcpSegment::parse(src, dst, bytes) {
            Ok(seg) => panic!(
                "expected nothing, got {} len {}",
                seg.header,
                seg.payload.len()
            ),
            Err(_) => panic!("expected nothing, got a non-TCP packet"),
        }
    }
}

/// Reads everything available.
#[track_caller]
pub fn read_all(stack: &mut Stack, conn: ConnId) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = stack.recv(conn, &mut buf) {
        out.extend_from_slice(&buf[..n]);
    }
    out
}

pub fn state(stack: &Stack, conn: ConnId) -> &'static str {
    stack.conn_info(conn).unwrap().state
}

pub fn listening_with(config: StackConfig) -> (Stack, ListenerId) {
    let mut stack = Stack::new(config);
    let listener = stack.listen(local(), 8).unwrap();
    (stack, listener)
}

/// Passive open driven to ESTABLISHED at t = 0..10 ms and accepted.
pub fn established_with(config: StackConfig) -> (Stack, ConnId) {
    let window = config.recv_buffer.min(usize::from(u16::MAX)) as u16;
    let (mut stack, listener) = listening_with(config);
    send(&mut stack, ms(0), peer_syn(), b"");
    expect(
        &mut stack,
        ms(0),
        TcpHeader {
            window,
            ..our_syn_ack()
        },
        b"",
    );
    send(&mut stack, ms(10), from_peer(), b"");
    recv_nothing(&mut stack, ms(10));
    let conn = stack.accept(listener).unwrap();
    assert_eq!(state(&stack, conn), "ESTABLISHED");
    (stack, conn)
}

pub fn established() -> (Stack, ConnId) {
    established_with(config())
}

/// Active open from port 80 to the peer, driven to ESTABLISHED.
pub fn connected_with(config: StackConfig) -> (Stack, ConnId) {
    let mut stack = Stack::new(config);
    let conn = stack.connect(ms(0), remote(), Some(LOCAL_PORT)).unwrap();
    let syn = TcpHeader {
        seq: SeqNum(LOCAL_ISS),
        ack: None,
        flags: flags("S"),
        options: our_syn_options(),
        ..to_peer()
    };
    expect(
        &mut stack,
        ms(0),
        TcpHeader {
            window: LOCAL_WIN,
            ..syn
        },
        b"",
    );
    send(&mut stack, ms(10), peer_syn_ack(), b"");
    expect(&mut stack, ms(10), to_peer(), b"");
    assert_eq!(stack.connect_status(conn), Ok(()));
    (stack, conn)
}

/// Sends `data` from our side and checks it goes out as one segment.
#[track_caller]
pub fn send_and_expect(stack: &mut Stack, conn: ConnId, at: Instant, seq_offset: u32, data: &[u8]) {
    assert_eq!(stack.send(conn, data), Ok(data.len()));
    let header = TcpHeader {
        seq: SeqNum(LOCAL_ISS + 1 + seq_offset),
        flags: flags("P"),
        ..to_peer()
    };
    expect(stack, at, header, data);
}
