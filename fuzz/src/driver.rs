//! Runs a [`Stack`] on virtual time for a fuzz target and checks what must
//! hold whatever came in: every packet it sends parses (checksums
//! included), `poll_transmit` runs dry, and a timer that fires moves on.
//! A broken promise is a panic, which libFuzzer reports as a crash.
//!
//! The stack has both an IPv4 and an IPv6 address and listens dual-stack
//! (`0.0.0.0`); the scripted peer speaks the family the configuration
//! byte picks.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4};
use std::time::Duration;

use tuntcp::engine::{ConnId, Engine, ListenerId, Stack, StackConfig};
use tuntcp::time::Instant;
use tuntcp::wire::checksum::upper_layer_checksum_v6;
use tuntcp::wire::{Ipv4Repr, Ipv6Repr, TcpSegment, PROTO_ICMPV6, PROTO_TCP};

pub const STACK_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
pub const PEER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub const STACK_IP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
pub const PEER_IP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
/// The configuration byte's bit that puts the scripted peer on IPv6.
pub const IPV6_BIT: u8 = 0x40;
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
    /// The scripted peer's family: IPv6 when the configuration byte's
    /// [`IPV6_BIT`] is set.
    pub ipv6: bool,
    pub now: Instant,
    pub listener: ListenerId,
    buf: Vec<u8>,
    /// The echo application's read buffer, kept: zeroing a fresh one for
    /// every read was a tenth of an execution's time.
    app_buf: Vec<u8>,
    /// TCP segments the stack sent since the last [`Driver::drain_sent`],
    /// as parsed once by the check (not parsed again by the peer).
    sent: Vec<SentSegment>,
}

/// What the scripted peer needs from a TCP segment the stack sent.
#[derive(Clone, Copy, Debug)]
pub struct SentSegment {
    pub dst: IpAddr,
    pub dst_port: u16,
    /// SEG.SEQ + SEG.LEN: one past the last sequence number it used.
    pub end: u32,
    /// Its Timestamps option's TSval, if it had one.
    pub tsval: Option<u32>,
}

/// The stack's configuration, varied by the input's first byte so the
/// fuzzer reaches the paths of each option: timestamps, SACK, delayed
/// ACKs, small buffers (full windows, zero windows), syn cookies, ISNs
/// just below 2^32 or 2^31 (bit 6 is the peer's family: [`IPV6_BIT`]).
pub fn config(variant: u8) -> StackConfig {
    let mut config = StackConfig::new(STACK_IP)
        .with_ipv6(STACK_IP6)
        .with_fixed_secret();
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
    config.fixed_isn = Some(0xffff_ff00u32.wrapping_add(u32::from(variant >> 7) << 31));
    config
}

impl Driver {
    /// A stack configured by `variant` ([`config`]) listening dual-stack
    /// on the echo port.
    pub fn new(variant: u8) -> Driver {
        let mut stack = Stack::new(config(variant));
        let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, ECHO_PORT);
        let listener = stack
            .listen(any.into(), 16)
            .expect("listen on the echo port");
        Driver {
            stack,
            ipv6: variant & IPV6_BIT != 0,
            now: Instant::from_secs(1),
            listener,
            buf: vec![0u8; 70_000],
            app_buf: vec![0u8; 4096],
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
            let segment = check_sent(&self.buf[..len]);
            if let Some(segment) = segment.filter(|_| self.sent.len() < 4_096) {
                self.sent.push(segment);
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

    /// The scripted peer's address and the stack's, in the peer's family.
    pub fn addresses(&self) -> (IpAddr, IpAddr) {
        if self.ipv6 {
            (PEER_IP6.into(), STACK_IP6.into())
        } else {
            (PEER_IP.into(), STACK_IP.into())
        }
    }

    /// The segments sent since last asked.
    pub fn drain_sent(&mut self) -> std::vec::Drain<'_, SentSegment> {
        self.sent.drain(..)
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
        for _ in 0..64 {
            match self.stack.recv(conn, &mut self.app_buf) {
                Ok(n) if n > 0 => {
                    let _ = self.stack.send(conn, &self.app_buf[..n]);
                }
                _ => break,
            }
        }
        self.drain();
    }
}

/// Panics unless `packet` is a well-formed IPv4 or IPv6 packet from the
/// stack's address of its family whose TCP segment (if it is one) parses
/// with a right checksum, as does an ICMPv6 message's (RFC 4443 §2.3).
/// Returns what the peer needs of a TCP segment.
fn check_sent(packet: &[u8]) -> Option<SentSegment> {
    let version = packet.first().map(|b| b >> 4);
    let parsed = match version {
        Some(6) => Ipv6Repr::parse(packet).map(|(ip, body)| {
            (
                IpAddr::from(ip.src),
                IpAddr::from(ip.dst),
                ip.protocol,
                body,
            )
        }),
        _ => Ipv4Repr::parse(packet).map(|(ip, body)| {
            (
                IpAddr::from(ip.src),
                IpAddr::from(ip.dst),
                ip.protocol,
                body,
            )
        }),
    };
    let (src, dst, protocol, body) = parsed
        .unwrap_or_else(|err| panic!("the stack sent an IP packet that does not parse: {err}"));
    let ours: IpAddr = if version == Some(6) {
        STACK_IP6.into()
    } else {
        STACK_IP.into()
    };
    assert_eq!(src, ours, "the stack sent from another address");
    match (protocol, src, dst) {
        (PROTO_TCP, _, _) => {
            let segment = TcpSegment::parse(src, dst, body).unwrap_or_else(|err| {
                panic!("the stack sent a TCP segment that does not parse: {err}")
            });
            let header = &segment.header;
            return Some(SentSegment {
                dst,
                dst_port: header.dst_port,
                end: header.seq.0.wrapping_add(segment.seg_len() as u32),
                tsval: header.options.timestamps.map(|ts| ts.tsval),
            });
        }
        (PROTO_ICMPV6, IpAddr::V6(src), IpAddr::V6(dst)) => assert_eq!(
            upper_layer_checksum_v6(src, dst, PROTO_ICMPV6, body),
            0,
            "the stack sent an ICMPv6 message with a wrong checksum"
        ),
        _ => {}
    }
    None
}
