//! Runs a [`Stack`] on virtual time for a fuzz target and checks what must
//! hold whatever came in: every packet it sends parses (checksums
//! included), `poll_transmit` runs dry, and a timer that fires moves on.
//! A broken promise is a panic, which libFuzzer reports as a crash.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use tuntcp::engine::{ConnId, Engine, ListenerId, Stack, StackConfig};
use tuntcp::time::Instant;
use tuntcp::wire::{Ipv4Repr, TcpSegment, PROTO_TCP};

pub const STACK_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
pub const PEER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The echo port the captures use.
pub const ECHO_PORT: u16 = 7;
pub const PEER_PORT: u16 = 40_000;

/// More packets than any one input can rightly make the stack send at
/// once (a window's worth of data, ACKs, RSTs): past it, output is taken
/// to run without end.
const MAX_BURST: usize = 20_000;
/// Timer firings in a row that leave the next deadline at or before now.
const MAX_STUCK_TIMERS: usize = 1_000;

/// A stack, its clock, and what it sent that the target has not looked at.
pub struct Driver {
    pub stack: Stack,
    pub now: Instant,
    pub listener: ListenerId,
    buf: Vec<u8>,
    /// TCP segments the stack sent since the last [`Driver::take_sent`].
    sent: Vec<Vec<u8>>,
}

/// The stack's configuration, varied by the input's first byte so the
/// fuzzer reaches the paths of each option: timestamps, SACK, delayed
/// ACKs, small buffers (full windows, zero windows), syn cookies.
pub fn config(variant: u8) -> StackConfig {
    let mut config = StackConfig::new(STACK_IP).with_fixed_secret();
    config.timestamps = variant & 1 == 0;
    config.sack = variant & 2 == 0;
    if variant & 4 != 0 {
        config.delayed_ack = None;
    }
    if variant & 8 != 0 {
        config.recv_buffer = 2_000;
        config.recv_buffer_max = 0;
        config.send_buffer = 4_000;
        config.send_buffer_max = 0;
        config.max_ooo_ranges = 4;
    }
    if variant & 16 != 0 {
        // A tiny SYN queue: the fuzzer meets cookies at once.
        config.syn_backlog = 1;
    }
    if variant & 32 != 0 {
        config.mss = 536;
    }
    config.fixed_isn = Some(0xffff_ff00u32.wrapping_add(u32::from(variant >> 6) << 30));
    config
}

impl Driver {
    pub fn new(config: StackConfig) -> Driver {
        let mut stack = Stack::new(config);
        let listener = stack
            .listen(SocketAddrV4::new(STACK_IP, ECHO_PORT).into(), 16)
            .expect("listen on the echo port");
        Driver {
            stack,
            now: Instant::from_secs(1),
            listener,
            buf: vec![0u8; 70_000],
            sent: Vec::new(),
        }
    }

    /// One packet in, everything it caused out.
    pub fn deliver(&mut self, packet: &[u8]) {
        self.stack.handle_packet(self.now, packet);
        self.drain();
    }

    /// Sends everything due, checking each packet.
    pub fn drain(&mut self) {
        for _ in 0..MAX_BURST {
            let Some(len) = self.stack.poll_transmit(self.now, &mut self.buf) else {
                return;
            };
            let packet = &self.buf[..len];
            check_sent(packet);
            if self.sent.len() < 4_096 {
                self.sent.push(packet.to_vec());
            }
        }
        panic!("poll_transmit still had packets after {MAX_BURST}");
    }

    /// Moves the clock forward by `by`, firing every timer due on the way.
    pub fn advance(&mut self, by: Duration) {
        let until = self.now + by;
        let mut stuck = 0;
        while let Some(deadline) = self.stack.poll_timeout() {
            if deadline > until {
                break;
            }
            if deadline <= self.now {
                stuck += 1;
                assert!(
                    stuck < MAX_STUCK_TIMERS,
                    "a timer keeps firing at {:?}",
                    self.now
                );
            } else {
                stuck = 0;
                self.now = deadline;
            }
            self.stack.handle_timeout(self.now);
            self.drain();
        }
        self.now = until;
        self.stack.handle_timeout(self.now);
        self.drain();
    }

    /// The segments sent since last asked.
    pub fn take_sent(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.sent)
    }

    /// Plays the echo application on every accepted connection: accept,
    /// read, write back what was read.
    pub fn accept_all(&mut self) -> Vec<ConnId> {
        let mut accepted = Vec::new();
        while let Ok(conn) = self.stack.accept(self.listener) {
            accepted.push(conn);
        }
        accepted
    }

    /// Reads what `conn` has and sends it back (the echo application).
    pub fn echo(&mut self, conn: ConnId) {
        let mut data = [0u8; 4096];
        for _ in 0..64 {
            match self.stack.recv(conn, &mut data) {
                Ok(n) if n > 0 => {
                    let _ = self.stack.send(conn, &data[..n]);
                }
                _ => break,
            }
        }
        self.drain();
    }
}

/// Panics unless `packet` is a well-formed IPv4 packet from the stack whose
/// TCP segment (if it is one) parses with a right checksum.
fn check_sent(packet: &[u8]) {
    let (ip, body) = Ipv4Repr::parse(packet)
        .unwrap_or_else(|err| panic!("the stack sent an IPv4 packet that does not parse: {err}"));
    assert_eq!(ip.src, STACK_IP, "the stack sent from another address");
    if ip.protocol == PROTO_TCP {
        if let Err(err) = TcpSegment::parse(ip.src, ip.dst, body) {
            panic!("the stack sent a TCP segment that does not parse: {err}");
        }
    }
}
