//! Two of our stacks talking over an in-memory link with seeded loss: an
//! echo of a large transfer must arrive intact, then both sides close.
//! (The full simulation harness lives in tests/; this is the engine's own
//! smoke test of everything working together.)

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use crate::engine::tcp::RecoveryStats;
use crate::engine::{ApiError, CongestionControl, ConnId, Engine, ListenerId, Stack, StackConfig};
use crate::time::Instant;

const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const SERVER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const CLIENT_IP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const SERVER_IP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
const LATENCY: Duration = Duration::from_millis(5);

/// xorshift64*: tiny, seeded, good enough to pick packets to drop.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

pub(super) struct Pair {
    pub(super) client: Stack,
    pub(super) server: Stack,
    /// (delivery time, to the server?, packet)
    wire: VecDeque<(Instant, bool, Vec<u8>)>,
    rng: Rng,
    loss_percent: u64,
    pub(super) now: Instant,
    /// Where the client connects: the server's IPv4 or IPv6 address
    /// (both stacks have both).
    server_ip: IpAddr,
}

impl Pair {
    fn new(seed: u64, loss_percent: u64) -> Pair {
        Pair::with_congestion_control(seed, loss_percent, CongestionControl::default())
    }

    /// Both ends run `cc`.
    pub(super) fn with_congestion_control(
        seed: u64,
        loss_percent: u64,
        cc: CongestionControl,
    ) -> Pair {
        let mut client_cfg = StackConfig::new(CLIENT_IP)
            .with_ipv6(CLIENT_IP6)
            .with_fixed_secret();
        client_cfg.isn_secret.0[0] = seed as u8;
        client_cfg.congestion_control = cc;
        let mut server_cfg = StackConfig::new(SERVER_IP)
            .with_ipv6(SERVER_IP6)
            .with_fixed_secret();
        server_cfg.congestion_control = cc;
        Pair {
            client: Stack::new(client_cfg),
            server: Stack::new(server_cfg),
            wire: VecDeque::new(),
            rng: Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1),
            loss_percent,
            now: Instant::ZERO,
            server_ip: SERVER_IP.into(),
        }
    }

    /// The client connects over IPv6 (RFC 8200).
    fn over_ipv6(self) -> Pair {
        Pair {
            server_ip: SERVER_IP6.into(),
            ..self
        }
    }

    /// Moves every packet that is due, then lets both stacks send.
    pub(super) fn step(&mut self) {
        let now = self.now;
        while self.wire.front().is_some_and(|(at, _, _)| *at <= now) {
            let (_, to_server, packet) = self.wire.pop_front().unwrap();
            let stack = if to_server {
                &mut self.server
            } else {
                &mut self.client
            };
            stack.handle_packet(now, &packet);
        }
        self.client.handle_timeout(now);
        self.server.handle_timeout(now);
        let mut buf = [0u8; 1500];
        for to_server in [true, false] {
            let stack = if to_server {
                &mut self.client
            } else {
                &mut self.server
            };
            while let Some(len) = stack.poll_transmit(now, &mut buf) {
                if !self.rng.chance(self.loss_percent) {
                    self.wire
                        .push_back((now + LATENCY, to_server, buf[..len].to_vec()));
                }
            }
        }
    }

    /// The server listens on `port`, the client connects to it.
    pub(super) fn listen_and_connect(&mut self, port: u16) -> (ListenerId, ConnId) {
        let address = SocketAddr::new(self.server_ip, port);
        let listener = self.server.listen(address, 4).unwrap();
        let client = self.client.connect(self.now, address, None).unwrap();
        let info = self.client.conn_info(client).unwrap();
        assert_eq!(
            (info.local.is_ipv6(), info.remote),
            (address.is_ipv6(), address)
        );
        (listener, client)
    }

    /// Jumps to the next moment anything can happen.
    pub(super) fn advance(&mut self) {
        let candidates = [
            self.wire.front().map(|(at, _, _)| *at),
            self.client.poll_timeout(),
            self.server.poll_timeout(),
        ];
        let next = candidates.into_iter().flatten().min();
        // Applications act every millisecond at least, like a real event loop.
        let tick = self.now + Duration::from_millis(1);
        self.now = next.map_or(tick, |at| at.min(tick)).max(self.now);
    }
}

/// The server application: reads, writes everything back, closes on EOF.
struct EchoServer {
    conn: Option<ConnId>,
    pending: Vec<u8>,
    done: bool,
}

impl EchoServer {
    fn step(&mut self, stack: &mut Stack, listener: ListenerId, buf: &mut [u8]) {
        if self.conn.is_none() {
            self.conn = stack.accept(listener).ok();
        }
        let Some(conn) = self.conn else { return };
        if !self.pending.is_empty() {
            if let Ok(n) = stack.send(conn, &self.pending) {
                self.pending.drain(..n);
            }
        }
        if self.pending.is_empty() && !self.done {
            match stack.recv(conn, buf) {
                Ok(0) => {
                    stack.close(conn);
                    self.done = true;
                }
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(ApiError::WouldBlock) => {}
                Err(e) => panic!("server recv: {e}"),
            }
        }
    }
}

/// Runs the echo until the client has read end-of-stream; returns what it read.
fn run_echo(pair: &mut Pair, seed: u64, data: &[u8]) -> Vec<u8> {
    let (listener, client) = pair.listen_and_connect(7);
    let mut server = EchoServer {
        conn: None,
        pending: Vec::new(),
        done: false,
    };
    let (mut sent, mut echoed) = (0, Vec::with_capacity(data.len()));
    let mut buf = vec![0u8; 8192];
    for _ in 0..5_000_000 {
        pair.step();
        server.step(&mut pair.server, listener, &mut buf);
        if sent < data.len() {
            if let Ok(n) = pair.client.send(client, &data[sent..]) {
                sent += n;
                if sent == data.len() {
                    pair.client.shutdown_write(client).unwrap();
                }
            }
        }
        match pair.client.recv(client, &mut buf) {
            Ok(0) => break,
            Ok(n) => echoed.extend_from_slice(&buf[..n]),
            Err(ApiError::WouldBlock) => {}
            Err(e) => panic!(
                "seed {seed}: client recv after {} echoed: {e}",
                echoed.len()
            ),
        }
        pair.advance();
    }
    pair.client.close(client);
    echoed
}

/// Echoes `total` bytes and returns the virtual time the echo took.
fn echo_through(seed: u64, loss_percent: u64, total: usize) -> Duration {
    echo_measured(Pair::new(seed, loss_percent), seed, total).0
}

/// Echoes `total` bytes: the virtual time it took, and how both ends
/// recovered from loss (client, server).
fn echo_measured(
    mut pair: Pair,
    seed: u64,
    total: usize,
) -> (Duration, RecoveryStats, RecoveryStats) {
    super::transitions::install_test_logger();
    let loss_percent = pair.loss_percent;
    let data: Vec<u8> = (0..total).map(|i| (i * 7 + i / 251) as u8).collect();
    let echoed = run_echo(&mut pair, seed, &data);
    let took = pair.now - Instant::ZERO;
    assert_eq!(echoed.len(), total, "seed {seed}: echo incomplete");
    assert!(echoed == data, "seed {seed}: echoed bytes differ");
    let (client, server) = (pair.client.stats(), pair.server.stats());
    log::info!(
        "seed {seed}: {total} bytes echoed by {} with {client:?} / {server:?}",
        pair.now
    );
    if loss_percent > 0 {
        assert!(
            client.retransmissions > 0,
            "seed {seed}: the link lost nothing?"
        );
    }
    // Both ends finish the close: the client sits in TIME-WAIT, the
    // server's TCB is gone after LAST-ACK.
    for _ in 0..100_000 {
        pair.step();
        if pair.wire.is_empty() && pair.server.poll_timeout().is_none() {
            break;
        }
        pair.advance();
    }
    assert_eq!(
        pair.server.poll_timeout(),
        None,
        "seed {seed}: server TCB not freed"
    );
    let recovery = (pair.client.recovery_stats(), pair.server.recovery_stats());
    (took, recovery.0, recovery.1)
}

#[test]
fn echo_of_a_megabyte_over_a_clean_link() {
    echo_through(1, 0, 1 << 20);
}

#[test]
fn echo_survives_five_percent_loss() {
    for seed in 1..=4 {
        echo_through(seed, 5, 256 * 1024);
    }
}

#[test]
fn echo_over_ipv6_survives_five_percent_loss() {
    for seed in 1..=2 {
        let pair = Pair::new(seed, 5).over_ipv6();
        echo_measured(pair, seed, 256 * 1024);
    }
}

#[test]
fn echo_survives_twenty_percent_loss() {
    echo_through(99, 20, 64 * 1024);
}

#[test]
#[ignore = "measurement: prints virtual time of a 1 MB echo at 5% loss"]
fn measure_megabyte_echo_at_five_percent_loss() {
    let clean = echo_through(1, 0, 1 << 20);
    eprintln!("1 MB echo over a clean link took {clean:?} of virtual time");
    for seed in 1..=4 {
        let (took, client, server) = echo_measured(Pair::new(seed, 5), seed, 1 << 20);
        eprintln!("seed {seed}: 1 MB echo at 5% loss took {took:?} of virtual time");
        eprintln!("  client {client:?}\n  server {server:?}");
    }
}

#[test]
#[ignore = "long: run with --ignored to soak the engine"]
fn soak_many_seeds() {
    let var = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let first = var("SOAK_FIRST", 1);
    for seed in first..first + var("SOAK_SEEDS", 50) {
        log::info!("soak seed {seed}");
        echo_through(seed, 5, 1 << 20);
        echo_through(seed + 1000, 15, 128 * 1024);
    }
}
