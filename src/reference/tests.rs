//! Two `SmolEngine`s wired back to back, on virtual time.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use smoltcp::socket::tcp::{self, State};

use super::{SmolConfig, SmolEngine};
use crate::engine::{ApiError, ConnId, Engine, ListenerId};
use crate::time::Instant;

const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const SERVER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const PORT: u16 = 7;
const CLIENT_IP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const SERVER_IP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

fn server_addr() -> SocketAddr {
    SocketAddr::from((SERVER_IP, PORT))
}

/// A client and a server engine joined by a perfect wire.
struct Pair {
    client: SmolEngine,
    server: SmolEngine,
    now: Instant,
    /// Packets toward the server vanish (a silent host).
    server_unreachable: bool,
    /// Every packet that reached the server, for replaying.
    to_server_log: Vec<Vec<u8>>,
    /// Every packet that reached the client.
    to_client_log: Vec<Vec<u8>>,
}

impl Pair {
    fn new() -> Pair {
        Pair::with(|_| {})
    }

    fn with(adjust: impl Fn(&mut SmolConfig)) -> Pair {
        let mut client = SmolConfig::new(CLIENT_IP);
        let mut server = SmolConfig::new(SERVER_IP);
        adjust(&mut client);
        adjust(&mut server);
        Pair::of(client, server)
    }

    /// Both engines with an address of each family.
    fn dual_stack() -> Pair {
        let mut client = SmolConfig::new(CLIENT_IP);
        let mut server = SmolConfig::new(SERVER_IP);
        client.addr_v6 = Some(CLIENT_IP6);
        server.addr_v6 = Some(SERVER_IP6);
        Pair::of(client, server)
    }

    fn of(client: SmolConfig, server: SmolConfig) -> Pair {
        Pair {
            client: SmolEngine::new(client),
            server: SmolEngine::new(server),
            now: Instant::ZERO,
            server_unreachable: false,
            to_server_log: Vec::new(),
            to_client_log: Vec::new(),
        }
    }

    /// Moves every packet due now across the wire; how many moved.
    fn transfer(&mut self) -> usize {
        let mut buf = [0u8; 1500];
        let mut moved = 0;
        while let Some(len) = self.client.poll_transmit(self.now, &mut buf) {
            moved += 1;
            if !self.server_unreachable {
                self.to_server_log.push(buf[..len].to_vec());
                self.server.handle_packet(self.now, &buf[..len]);
            }
        }
        while let Some(len) = self.server.poll_transmit(self.now, &mut buf) {
            moved += 1;
            self.to_client_log.push(buf[..len].to_vec());
            self.client.handle_packet(self.now, &buf[..len]);
        }
        moved
    }

    /// Runs both engines, jumping time from timer to timer, for `span`.
    fn run_for(&mut self, span: Duration) {
        let end = self.now + span;
        loop {
            while self.transfer() > 0 {}
            let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(at) if at <= end => {
                    self.now = self.now.max(at);
                    self.client.handle_timeout(self.now);
                    self.server.handle_timeout(self.now);
                }
                _ => break,
            }
        }
        self.now = end;
    }

    fn settle(&mut self) {
        self.run_for(Duration::from_millis(200));
    }

    fn connect(&mut self) -> ConnId {
        self.client
            .connect(self.now, server_addr(), None)
            .expect("connect")
    }

    /// A listener, a connected client and the accepted server side.
    fn established() -> (Pair, ListenerId, ConnId, ConnId) {
        let mut pair = Pair::new();
        let listener = pair.server.listen(server_addr(), 8).expect("listen");
        let client = pair.connect();
        pair.settle();
        let server = pair.server.accept(listener).expect("accept");
        (pair, listener, client, server)
    }
}

fn recv_all(engine: &mut SmolEngine, conn: ConnId) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match engine.recv(conn, &mut buf) {
            Ok(0) | Err(ApiError::WouldBlock) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return Err(e),
        }
    }
}

fn state(engine: &SmolEngine, conn: ConnId) -> &'static str {
    engine.conn_info(conn).expect("conn_info").state
}

#[test]
fn handshake_data_both_ways_and_a_graceful_close() {
    let (mut pair, _listener, client, server) = Pair::established();
    assert_eq!(pair.client.connect_status(client), Ok(()));
    assert_eq!(state(&pair.client, client), "ESTABLISHED");
    let info = pair.server.conn_info(server).unwrap();
    assert_eq!(info.local, server_addr());
    assert_eq!(info.remote, pair.client.conn_info(client).unwrap().local);

    assert_eq!(pair.client.send(client, b"hello"), Ok(5));
    pair.settle();
    assert_eq!(recv_all(&mut pair.server, server), Ok(b"hello".to_vec()));
    assert_eq!(pair.server.send(server, b"HELLO"), Ok(5));
    pair.settle();
    assert_eq!(recv_all(&mut pair.client, client), Ok(b"HELLO".to_vec()));

    // Client half-closes; the server reads EOF, then closes its side.
    pair.client.shutdown_write(client).unwrap();
    assert_eq!(pair.client.send(client, b"late"), Err(ApiError::BrokenPipe));
    pair.settle();
    let mut buf = [0u8; 16];
    assert_eq!(pair.server.recv(server, &mut buf), Ok(0));
    assert_eq!(state(&pair.server, server), "CLOSE-WAIT");
    assert_eq!(pair.server.shutdown_write(server), Ok(()));
    pair.settle();
    assert_eq!(pair.client.recv(client, &mut buf), Ok(0));
    assert_eq!(state(&pair.client, client), "TIME-WAIT");
    assert_eq!(state(&pair.server, server), "CLOSED");

    // TIME-WAIT ends on its timer; the handle still answers afterwards.
    pair.run_for(Duration::from_secs(30));
    assert_eq!(state(&pair.client, client), "CLOSED");
    assert_eq!(pair.client.recv(client, &mut buf), Ok(0));
    assert_eq!(pair.client.connect_status(client), Ok(()));
    pair.client.close(client);
    pair.server.close(server);
    assert_eq!(pair.client.conn_info(client), Err(ApiError::InvalidHandle));
    assert_eq!(pair.client.stats().connections_opened, 1);
    assert_eq!(pair.server.stats().connections_opened, 1);
    assert!(pair.client.stats().packets_out >= 4);
}

#[test]
fn connecting_to_a_closed_port_is_refused_by_an_rst() {
    let mut pair = Pair::new();
    let client = pair.connect();
    assert_eq!(
        pair.client.connect_status(client),
        Err(ApiError::WouldBlock)
    );
    pair.settle();
    assert_eq!(
        pair.client.connect_status(client),
        Err(ApiError::ConnectionRefused)
    );
    assert_eq!(
        pair.client.send(client, b"x"),
        Err(ApiError::ConnectionRefused)
    );
    assert_eq!(pair.server.stats().resets_sent, 1);
    assert_eq!(state(&pair.client, client), "CLOSED");
}

#[test]
fn a_silent_peer_times_the_handshake_out_after_retransmitting_the_syn() {
    let mut pair = Pair::with(|c| c.handshake_timeout = Duration::from_secs(20));
    pair.server_unreachable = true;
    let client = pair.connect();
    pair.run_for(Duration::from_secs(19));
    assert_eq!(
        pair.client.connect_status(client),
        Err(ApiError::WouldBlock)
    );
    pair.run_for(Duration::from_secs(2));
    assert_eq!(pair.client.connect_status(client), Err(ApiError::TimedOut));
    assert!(
        pair.client.stats().retransmissions >= 3,
        "{:?}",
        pair.client.stats()
    );
}

#[test]
fn unacknowledged_data_times_out_but_an_idle_connection_does_not() {
    let (mut pair, _l, client, _server) = Pair::established();
    for engine in [&mut pair.client, &mut pair.server] {
        engine.config.user_timeout = Duration::from_secs(30);
    }
    pair.run_for(Duration::from_secs(300));
    assert_eq!(state(&pair.client, client), "ESTABLISHED");

    pair.server_unreachable = true;
    pair.client.send(client, b"into the void").unwrap();
    pair.run_for(Duration::from_secs(60));
    assert_eq!(pair.client.connect_status(client), Err(ApiError::TimedOut));
    assert_eq!(
        pair.client.recv(client, &mut [0u8; 4]),
        Err(ApiError::TimedOut)
    );
}

#[test]
fn an_abort_resets_the_peer() {
    let (mut pair, _l, client, server) = Pair::established();
    pair.client.abort(client);
    pair.settle();
    assert_eq!(
        pair.server.recv(server, &mut [0u8; 4]),
        Err(ApiError::ConnectionReset)
    );
    assert_eq!(
        pair.server.send(server, b"x"),
        Err(ApiError::ConnectionReset)
    );
    assert_eq!(state(&pair.server, server), "CLOSED");
    assert_eq!(pair.client.stats().resets_sent, 1);
    // The aborted socket has left the client's set.
    assert_eq!(pair.client.sockets.iter().count(), 0);
}

#[test]
fn recv_would_block_when_empty_and_send_when_the_buffer_is_full() {
    let (mut pair, _l, client, server) = Pair::established();
    assert_eq!(
        pair.server.recv(server, &mut [0u8; 4]),
        Err(ApiError::WouldBlock)
    );
    let big = vec![7u8; 200 * 1024];
    let mut queued = 0;
    loop {
        match pair.client.send(client, &big[queued..]) {
            Ok(n) => queued += n,
            Err(ApiError::WouldBlock) => break,
            Err(e) => panic!("{e}"),
        }
        pair.settle(); // the server does not read: its window closes
    }
    assert!(queued >= 64 * 1024 && queued < big.len(), "queued {queued}");
    let received = recv_all(&mut pair.server, server).unwrap();
    assert!(!received.is_empty() && received.iter().all(|&b| b == 7));
}

#[test]
fn peek_leaves_the_bytes_for_recv() {
    let (mut pair, _l, client, server) = Pair::established();
    let mut buf = [0u8; 8];
    assert_eq!(
        pair.server.peek(server, &mut buf),
        Err(ApiError::WouldBlock)
    );
    pair.client.send(client, b"abc").unwrap();
    pair.settle();
    assert_eq!(pair.server.peek(server, &mut buf), Ok(3));
    assert_eq!(pair.server.recv(server, &mut buf), Ok(3));
    assert_eq!(&buf[..3], b"abc");
    assert_eq!(
        pair.server.peek(server, &mut buf),
        Err(ApiError::WouldBlock)
    );
}

#[test]
fn a_connection_not_yet_accepted_completes_and_buffers_data_and_fin() {
    let mut pair = Pair::new();
    let listener = pair.server.listen(server_addr(), 4).unwrap();
    let client = pair.connect();
    pair.settle();
    assert_eq!(pair.client.connect_status(client), Ok(()));
    pair.client.send(client, b"queued before accept").unwrap();
    pair.client.shutdown_write(client).unwrap();
    pair.settle();

    let server = pair.server.accept(listener).unwrap();
    assert_eq!(state(&pair.server, server), "CLOSE-WAIT");
    assert_eq!(
        recv_all(&mut pair.server, server),
        Ok(b"queued before accept".to_vec())
    );
    assert_eq!(pair.server.recv(server, &mut [0u8; 4]), Ok(0));
    assert_eq!(pair.server.accept(listener), Err(ApiError::WouldBlock));
}

#[test]
fn accept_hands_out_the_oldest_handshake_not_the_lowest_slot() {
    let mut pair = Pair::new();
    let listener = pair.server.listen(server_addr(), 3).unwrap();
    let a = pair.connect();
    pair.settle();
    let b = pair.connect();
    pair.settle();
    let accepted_a = pair.server.accept(listener).unwrap();
    // The fresh listening socket sits in A's old slot, so C lands below B.
    let c = pair.connect();
    pair.settle();
    let port = |pair: &Pair, conn| pair.client.conn_info(conn).unwrap().local;
    let remote = |pair: &Pair, conn| pair.server.conn_info(conn).unwrap().remote;
    assert_eq!(remote(&pair, accepted_a), port(&pair, a));
    let next = pair.server.accept(listener).unwrap();
    assert_eq!(remote(&pair, next), port(&pair, b));
    let last = pair.server.accept(listener).unwrap();
    assert_eq!(remote(&pair, last), port(&pair, c));
}

#[test]
fn the_pool_serves_64_clients_at_once_and_is_refilled_past_64() {
    let mut pair = Pair::with(|c| {
        c.rx_buffer = 4096;
        c.tx_buffer = 4096;
    });
    let listener = pair.server.listen(server_addr(), 64).unwrap();
    for round in 0..2u8 {
        let clients: Vec<ConnId> = (0..64).map(|_| pair.connect()).collect();
        pair.settle();
        for &client in &clients {
            assert_eq!(pair.client.connect_status(client), Ok(()), "round {round}");
            pair.client.send(client, &[round]).unwrap();
        }
        pair.settle();
        for _ in 0..64 {
            let server = pair.server.accept(listener).unwrap();
            assert_eq!(recv_all(&mut pair.server, server), Ok(vec![round]));
            pair.server.close(server);
        }
        assert_eq!(pair.server.accept(listener), Err(ApiError::WouldBlock));
        for client in clients {
            pair.client.close(client);
        }
        pair.run_for(Duration::from_secs(30));
    }
    assert_eq!(pair.server.stats().connections_opened, 128);
    // Everything closed has been swept: only the 64 listening sockets remain.
    assert_eq!(pair.server.sockets.iter().count(), 64);
    assert_eq!(pair.client.sockets.iter().count(), 0);
}

#[test]
fn a_duplicate_syn_reaches_its_connection_not_a_listener_in_a_lower_slot() {
    let mut pair = Pair::new();
    let listener = pair.server.listen(server_addr(), 1).unwrap();
    // A takes slot 0 and is accepted (the fresh listener goes to slot 1);
    // A closes from the client first, so the server side ends in LAST-ACK
    // -> CLOSED and its slot 0 is freed.
    let a = pair.connect();
    pair.settle();
    let a_server = pair.server.accept(listener).unwrap();
    pair.client.close(a);
    pair.settle();
    pair.server.close(a_server);
    pair.settle();
    // B takes slot 1; accepting it puts the fresh listener into slot 0.
    let log_start = pair.to_server_log.len();
    let _b = pair.connect();
    pair.settle();
    let _b_server = pair.server.accept(listener).unwrap();
    let b_syn = pair.to_server_log[log_start].clone();

    pair.server.handle_packet(pair.now, &b_syn);
    pair.settle();
    let pool = &pair.server.listeners[&listener];
    for member in &pool.sockets {
        let socket = pair.server.sockets.get::<tcp::Socket>(member.handle);
        assert_eq!(socket.state(), State::Listen);
    }
    assert_eq!(pair.server.accept(listener), Err(ApiError::WouldBlock));
}

#[test]
fn a_lost_fin_is_resent_even_after_duplicate_acks_of_the_data_before_it() {
    let (mut pair, _l, client, server) = Pair::established();
    pair.client.send(client, b"data").unwrap();
    pair.settle();
    assert_eq!(recv_all(&mut pair.server, server), Ok(b"data".to_vec()));
    let ack_of_data = pair.to_client_log.last().unwrap().clone();

    pair.client.shutdown_write(client).unwrap();
    pair.server_unreachable = true;
    pair.transfer(); // the FIN is lost
    pair.server_unreachable = false;
    for _ in 0..3 {
        pair.client.handle_packet(pair.now, &ack_of_data);
    }
    pair.run_for(Duration::from_secs(5));
    assert_eq!(
        pair.server.recv(server, &mut [0u8; 4]),
        Ok(0),
        "the FIN arrived"
    );
}

#[test]
fn addresses_and_ports_are_checked() {
    let mut pair = Pair::new();
    let any = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 80));
    pair.server.listen(any, 4).unwrap();
    assert_eq!(
        pair.server.listen(server_addr(), 0),
        Err(ApiError::InvalidInput)
    );
    assert_eq!(
        pair.server.listen(SocketAddr::from((SERVER_IP, 80)), 4),
        Err(ApiError::AddrInUse)
    );
    let foreign = SocketAddr::from((Ipv4Addr::new(10, 9, 8, 7), 81));
    assert_eq!(
        pair.server.listen(foreign, 4),
        Err(ApiError::AddrNotAvailable)
    );

    let target = SocketAddr::from((SERVER_IP, 80));
    let first = pair.client.connect(pair.now, target, None).unwrap();
    let second = pair.client.connect(pair.now, target, None).unwrap();
    let port = |pair: &Pair, conn| pair.client.conn_info(conn).unwrap().local.port();
    assert!(port(&pair, first) >= 49152 && port(&pair, second) >= 49152);
    assert_ne!(port(&pair, first), port(&pair, second));
    let fixed = pair.client.connect(pair.now, target, Some(5000)).unwrap();
    assert_eq!(port(&pair, fixed), 5000);
    assert_eq!(
        pair.client.connect(pair.now, target, Some(5000)),
        Err(ApiError::AddrInUse)
    );
    let zero_port = SocketAddr::from((SERVER_IP, 0));
    assert_eq!(
        pair.client.connect(pair.now, zero_port, None),
        Err(ApiError::InvalidInput)
    );
}

#[test]
fn closing_a_listener_resets_connections_nobody_accepted() {
    let mut pair = Pair::new();
    let listener = pair.server.listen(server_addr(), 4).unwrap();
    let client = pair.connect();
    pair.settle();
    pair.server.close_listener(listener);
    pair.settle();
    assert_eq!(
        pair.client.send(client, b"x"),
        Err(ApiError::ConnectionReset)
    );
    assert_eq!(pair.server.sockets.iter().count(), 0);
    assert_eq!(pair.server.accept(listener), Err(ApiError::InvalidHandle));
}

#[test]
fn nodelay_sends_small_writes_without_waiting_for_acks() {
    let (mut pair, _l, client, _server) = Pair::established();
    let mut buf = [0u8; 1500];
    pair.client.send(client, b"a").unwrap();
    assert!(pair.client.poll_transmit(pair.now, &mut buf).is_some());
    // Nagle (the default): a second small write waits for the first's ACK.
    pair.client.send(client, b"b").unwrap();
    assert_eq!(pair.client.poll_transmit(pair.now, &mut buf), None);
    pair.client.set_nodelay(client, true).unwrap();
    assert!(pair.client.poll_transmit(pair.now, &mut buf).is_some());
}

#[test]
fn echo_requests_are_answered_and_garbage_is_counted() {
    let mut engine = SmolEngine::new(SmolConfig::new(SERVER_IP));
    // ICMP echo request 192.0.2.1 -> 192.0.2.2, ident 1, seq 1, "hi".
    let mut request = vec![
        0x45, 0, 0, 30, 0, 0, 0x40, 0, 64, 1, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2, //
        8, 0, 0, 0, 0, 1, 0, 1, b'h', b'i',
    ];
    fill_checksum(&mut request, 0, 20, 10);
    fill_checksum(&mut request, 20, 30, 22);
    engine.handle_packet(Instant::ZERO, &request);
    let mut buf = [0u8; 1500];
    let len = engine
        .poll_transmit(Instant::ZERO, &mut buf)
        .expect("an echo reply");
    assert_eq!(len, 30);
    assert_eq!(buf[20], 0, "type 0 = echo reply");
    assert_eq!(&buf[12..20], &[192, 0, 2, 2, 192, 0, 2, 1]);

    engine.handle_packet(Instant::ZERO, &request[..10]);
    assert_eq!(engine.stats().packets_dropped, 1);
    assert_eq!(engine.stats().packets_in, 2);
}

/// Internet checksum of `bytes[start..end]` stored at `at`.
fn fill_checksum(bytes: &mut [u8], start: usize, end: usize, at: usize) {
    let mut sum: u32 = 0;
    for pair in bytes[start..end].chunks(2) {
        sum += u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    bytes[at..at + 2].copy_from_slice(&(!(sum as u16)).to_be_bytes());
}

// ----- IPv6 (RFC 8200): the same engine, the other family -----

fn is_ipv6(packet: &[u8]) -> bool {
    packet.first().map(|byte| byte >> 4) == Some(6)
}

/// A listener on 0.0.0.0 is dual-stack: an IPv6 client's handshake, data
/// both ways and close all cross as IPv6 packets.
#[test]
fn an_ipv6_client_is_served_by_a_listener_on_the_unspecified_address() {
    let mut pair = Pair::dual_stack();
    let listener = pair.server.listen(server_addr_any(), 8).unwrap();
    let remote = SocketAddr::new(SERVER_IP6.into(), PORT);
    let client = pair.client.connect(pair.now, remote, None).unwrap();
    pair.settle();
    assert_eq!(pair.client.connect_status(client), Ok(()));
    let server = pair.server.accept(listener).unwrap();
    let slot = &pair.server.conns[&server];
    assert_eq!(slot.local, remote);
    assert_eq!(slot.remote.ip(), std::net::IpAddr::V6(CLIENT_IP6));

    assert_eq!(pair.client.send(client, b"over IPv6"), Ok(9));
    pair.settle();
    assert_eq!(
        recv_all(&mut pair.server, server),
        Ok(b"over IPv6".to_vec())
    );
    assert_eq!(pair.server.send(server, b"echo"), Ok(4));
    pair.client.shutdown_write(client).unwrap();
    pair.settle();
    assert_eq!(recv_all(&mut pair.client, client), Ok(b"echo".to_vec()));
    pair.server.shutdown_write(server).unwrap();
    pair.settle();
    assert_eq!(state(&pair.client, client), "TIME-WAIT");
    assert!(pair.to_server_log.iter().all(|p| is_ipv6(p)));
    assert!(pair.to_client_log.iter().all(|p| is_ipv6(p)));
    assert!(!pair.to_server_log.is_empty() && !pair.to_client_log.is_empty());
}

fn server_addr_any() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::UNSPECIFIED, PORT))
}

/// Both families at once on one listener, each connection in its own.
#[test]
fn one_listener_serves_both_families_at_once() {
    let mut pair = Pair::dual_stack();
    let listener = pair.server.listen(server_addr_any(), 8).unwrap();
    let v6 = pair
        .client
        .connect(pair.now, SocketAddr::new(SERVER_IP6.into(), PORT), None)
        .unwrap();
    let v4 = pair.connect();
    pair.settle();
    let first = pair.server.accept(listener).unwrap();
    let second = pair.server.accept(listener).unwrap();
    let families: Vec<bool> = [first, second]
        .iter()
        .map(|conn| pair.server.conns[conn].remote.is_ipv6())
        .collect();
    assert!(families.contains(&true) && families.contains(&false));
    for conn in [v4, v6] {
        assert_eq!(pair.client.send(conn, b"x"), Ok(1));
    }
    pair.settle();
    for conn in [first, second] {
        assert_eq!(recv_all(&mut pair.server, conn), Ok(b"x".to_vec()));
    }
}

/// A closed IPv6 port answers RST (RFC 9293 §3.10.7.1): refused.
#[test]
fn a_closed_ipv6_port_is_refused() {
    let mut pair = Pair::dual_stack();
    let remote = SocketAddr::new(SERVER_IP6.into(), 9);
    let client = pair.client.connect(pair.now, remote, None).unwrap();
    pair.settle();
    assert_eq!(
        pair.client.connect_status(client),
        Err(ApiError::ConnectionRefused)
    );
    assert_eq!(pair.server.stats().resets_sent, 1);
}

/// Without an IPv6 address an IPv6 destination is unreachable, as on
/// Linux (ENETUNREACH), and packets to an IPv6 address not ours are dropped.
#[test]
fn an_ipv4_only_engine_neither_connects_nor_answers_over_ipv6() {
    let mut pair = Pair::new();
    let remote = SocketAddr::new(SERVER_IP6.into(), PORT);
    assert_eq!(
        pair.client.connect(pair.now, remote, None),
        Err(ApiError::NetworkUnreachable)
    );
    let mut dual = Pair::dual_stack();
    dual.client
        .connect(dual.now, remote, None)
        .expect("the dual-stack client connects");
    let mut buf = [0u8; 1500];
    let len = dual.client.poll_transmit(dual.now, &mut buf).unwrap();
    let before = pair.server.stats().packets_dropped;
    pair.server.handle_packet(pair.now, &buf[..len]);
    assert_eq!(pair.server.stats().packets_dropped, before + 1);
    assert_eq!(
        pair.server.poll_transmit(pair.now, &mut buf),
        None,
        "no RST"
    );
}
