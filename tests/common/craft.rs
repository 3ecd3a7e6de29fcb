//! IPv4/TCP packets for the integration tests, both ways: build one from
//! plain fields ([`Segment`]), read one back strictly ([`parse_strict`],
//! [`ParsedTcp::parse`]), rewrite a recorded one ([`rewrite_acks`]), fix or
//! break checksums on purpose; and a seeded PRNG to pick mutations.
//!
//! Packets are built with etherparse and read at the byte offsets of RFC
//! 791 and RFC 9293 §3.1, cross-checked with etherparse, so a bug in our
//! own `tuntcp::wire` parser cannot hide itself in the tests' view of the
//! packets. Checksums come from `tuntcp::wire::checksum` (RFC 1071; its
//! own tests hold it against etherparse).

#![allow(dead_code)] // each test binary uses a different part

use std::cell::RefCell;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};

use etherparse::{IpNumber, Ipv4Header, TcpHeader};
use tuntcp::rng::SplitMix64;
use tuntcp::wire::checksum::{checksum, tcp_checksum};

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;
pub const URG: u8 = 0x20;

pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;

/// IPv4 identification of the packets built here (any value will do: they
/// are never fragmented).
const IP_IDENTIFICATION: u16 = 0x1234;
const TTL: u8 = 64;

/// The crate's SplitMix64 behind a `RefCell`, so that draws nest on a
/// shared reference (`rng.bytes(rng.below(80))`).
#[derive(Clone, Debug)]
pub struct SplitMix(RefCell<SplitMix64>);

impl SplitMix {
    pub fn new(seed: u64) -> SplitMix {
        SplitMix(RefCell::new(SplitMix64::new(seed)))
    }

    pub fn next_u64(&self) -> u64 {
        self.0.borrow_mut().next_u64()
    }

    pub fn next_u32(&self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&self, n: usize) -> usize {
        self.0.borrow_mut().below(n as u64) as usize
    }

    /// True with probability `percent`/100. (One draw compared in whole
    /// percent, not `SplitMix64::chance`, so a seed picks the same
    /// mutations it always has.)
    pub fn chance(&self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// `len` bytes, one draw each (the same bytes a seed always gave).
    pub fn bytes(&self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }

    pub fn pick<T: Copy>(&self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// One TCP segment to build.
#[derive(Clone, Debug)]
pub struct Segment {
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
    pub seq: u32,
    /// Written as given, even without the ACK flag (hostile input).
    pub ack: u32,
    /// All eight control bits, as on the wire.
    pub flags: u8,
    pub window: u16,
    /// Raw option bytes (at most 40); padded with zeros (EOL) to a
    /// multiple of 4.
    pub options: Vec<u8>,
    pub payload: Vec<u8>,
}

impl Segment {
    pub fn new(src: SocketAddrV4, dst: SocketAddrV4, seq: u32, ack: u32, flags: u8) -> Segment {
        Segment {
            src,
            dst,
            seq,
            ack,
            flags,
            window: 65535,
            options: Vec::new(),
            payload: Vec::new(),
        }
    }

    /// The whole IPv4 packet, both checksums correct.
    pub fn build(&self) -> Vec<u8> {
        let bit = |flag: u8| self.flags & flag != 0;
        let mut tcp = TcpHeader {
            source_port: self.src.port(),
            destination_port: self.dst.port(),
            sequence_number: self.seq,
            acknowledgment_number: self.ack,
            fin: bit(FIN),
            syn: bit(SYN),
            rst: bit(RST),
            psh: bit(PSH),
            ack: bit(ACK),
            urg: bit(URG),
            ece: bit(0x40),
            cwr: bit(0x80),
            window_size: self.window,
            ..TcpHeader::default()
        };
        tcp.set_options_raw(&self.options)
            .expect("at most 40 bytes of options");
        let mut body = tcp.to_bytes().to_vec();
        body.extend_from_slice(&self.payload);
        ipv4_packet(*self.src.ip(), *self.dst.ip(), PROTO_TCP, &body)
    }
}

/// An IPv4 packet (DF set, TTL 64) carrying `body`, every checksum right.
pub fn ipv4_packet(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, body: &[u8]) -> Vec<u8> {
    let payload_len = u16::try_from(body.len()).expect("one packet");
    let mut ip = Ipv4Header::new(
        payload_len,
        TTL,
        IpNumber(protocol),
        src.octets(),
        dst.octets(),
    )
    .expect("one packet");
    ip.identification = IP_IDENTIFICATION;
    let mut packet = ip.to_bytes().to_vec();
    packet.extend_from_slice(body);
    fix_checksums(&mut packet);
    packet
}

/// Recomputes whatever checksums the (possibly lying) headers let us find:
/// the IPv4 header checksum if the IHL fits, and the TCP or ICMP checksum
/// over the bytes the total-length field claims (cut to what is there). A
/// mutated packet fixed up like this gets past the checksum tests and
/// reaches the length, option and state logic, which is what the fuzzing
/// is after.
pub fn fix_checksums(p: &mut [u8]) {
    if p.len() < 20 {
        return;
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    if ihl < 20 || ihl > p.len() {
        return;
    }
    p[10..12].fill(0);
    let sum = checksum(&p[..ihl]);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    let total = usize::from(u16::from_be_bytes([p[2], p[3]])).min(p.len());
    let (src, dst) = addresses(p);
    if p[9] == PROTO_TCP && total >= ihl + 18 {
        let tcp = &mut p[ihl..total];
        tcp[16..18].fill(0);
        let sum = tcp_checksum(src, dst, tcp);
        tcp[16..18].copy_from_slice(&sum.to_be_bytes());
    } else if p[9] == PROTO_ICMP && total >= ihl + 4 {
        let icmp = &mut p[ihl..total];
        icmp[2..4].fill(0);
        let sum = checksum(icmp);
        icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    }
}

/// `packet` with its TCP checksum broken (the IPv4 header stays valid).
pub fn with_bad_tcp_checksum(mut packet: Vec<u8>) -> Vec<u8> {
    let ip_header_len = usize::from(packet[0] & 0x0f) * 4;
    packet[ip_header_len + 16] ^= 0x5a;
    packet
}

/// Source and destination of an IPv4 header of at least 20 bytes.
fn addresses(p: &[u8]) -> (Ipv4Addr, Ipv4Addr) {
    let octets = |at: usize| Ipv4Addr::new(p[at], p[at + 1], p[at + 2], p[at + 3]);
    (octets(12), octets(16))
}

/// A TCP segment as read back from a packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedTcp {
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
    pub seq: u32,
    /// Meaningful only with the ACK flag.
    pub ack: u32,
    /// All eight control bits, as on the wire.
    pub flags: u8,
    pub window: u16,
    pub options: Vec<u8>,
    pub payload: Vec<u8>,
}

impl ParsedTcp {
    /// The segment in `packet`; `None` for anything [`parse_strict`]
    /// refuses and for ICMP.
    pub fn parse(packet: &[u8]) -> Option<ParsedTcp> {
        match parse_strict(packet) {
            Ok(Parsed::Tcp(seg)) => Some(seg),
            _ => None,
        }
    }

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// Sequence space the segment occupies (RFC 9293 §3.4: SYN and FIN count).
    pub fn seg_len(&self) -> u32 {
        self.payload.len() as u32 + u32::from(self.has(SYN)) + u32::from(self.has(FIN))
    }

    /// The control flags as letters, tcpdump style: "S.", "F.", "R", ".".
    pub fn flag_letters(&self) -> String {
        let mut text = String::new();
        for (flag, letter) in [(SYN, 'S'), (FIN, 'F'), (RST, 'R')] {
            if self.has(flag) {
                text.push(letter);
            }
        }
        if self.has(ACK) {
            text.push('.');
        }
        text
    }
}

impl fmt::Display for ParsedTcp {
    /// One line for failure messages: `a > b [S.] seq 1 ack 2 win 3 len 4`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} > {} [{}] seq {} ack {} win {} len {}",
            self.src,
            self.dst,
            self.flag_letters(),
            self.seq,
            self.ack,
            self.window,
            self.payload.len()
        )
    }
}

/// The bits of control flags written as letters: S(YN), A(CK), F(IN),
/// R(ST), P(SH); e.g. `flag_bits("AP") == ACK | PSH`.
pub fn flag_bits(letters: &str) -> u8 {
    letters
        .chars()
        .map(|letter| match letter {
            'S' => SYN,
            'A' => ACK,
            'F' => FIN,
            'R' => RST,
            'P' => PSH,
            other => panic!("unknown TCP flag letter {other:?} in {letters:?}"),
        })
        .fold(0, |bits, flag| bits | flag)
}

/// What a well-formed packet from an engine is.
#[derive(Clone, Debug)]
pub enum Parsed {
    Tcp(ParsedTcp),
    /// ICMP type and code.
    Icmp(u8, u8),
}

/// Strictly parses an IPv4 packet: every length consistent, both checksums
/// right, no fragment. Used on what engines send (it must pass), on what
/// the fuzzer sends (to know whether an engine could take it as valid) and
/// on recorded captures.
pub fn parse_strict(p: &[u8]) -> Result<Parsed, String> {
    if p.len() < 20 || p[0] >> 4 != 4 {
        return Err(format!("not IPv4 ({} bytes)", p.len()));
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([p[2], p[3]]));
    if ihl < 20 || total < ihl || total != p.len() {
        return Err(format!(
            "IHL {ihl}, total length {total}, {} bytes",
            p.len()
        ));
    }
    if checksum(&p[..ihl]) != 0 {
        return Err("bad IPv4 header checksum".into());
    }
    let frag = u16::from_be_bytes([p[6], p[7]]);
    if frag & 0x3fff != 0 {
        return Err(format!("fragment (flags/offset {frag:#06x})"));
    }
    etherparse::Ipv4Slice::from_slice(p).map_err(|e| format!("etherparse IPv4: {e}"))?;
    let (src, dst) = addresses(p);
    let body = &p[ihl..];
    match p[9] {
        PROTO_TCP => parse_tcp(src, dst, body).map(Parsed::Tcp),
        PROTO_ICMP => {
            if body.len() < 8 || checksum(body) != 0 {
                return Err("short ICMP or bad ICMP checksum".into());
            }
            etherparse::Icmpv4Slice::from_slice(body)
                .map_err(|e| format!("etherparse ICMP: {e}"))?;
            Ok(Parsed::Icmp(body[0], body[1]))
        }
        other => Err(format!("protocol {other}")),
    }
}

fn parse_tcp(src: Ipv4Addr, dst: Ipv4Addr, t: &[u8]) -> Result<ParsedTcp, String> {
    if t.len() < 20 {
        return Err(format!("TCP of {} bytes", t.len()));
    }
    let offset = usize::from(t[12] >> 4) * 4;
    if offset < 20 || offset > t.len() {
        return Err(format!("TCP data offset {offset} in {} bytes", t.len()));
    }
    if tcp_checksum(src, dst, t) != 0 {
        return Err("bad TCP checksum".into());
    }
    etherparse::TcpSlice::from_slice(t).map_err(|e| format!("etherparse TCP: {e}"))?;
    let word = |i: usize| u32::from_be_bytes([t[i], t[i + 1], t[i + 2], t[i + 3]]);
    Ok(ParsedTcp {
        src: SocketAddrV4::new(src, u16::from_be_bytes([t[0], t[1]])),
        dst: SocketAddrV4::new(dst, u16::from_be_bytes([t[2], t[3]])),
        seq: word(4),
        ack: word(8),
        flags: t[13],
        window: u16::from_be_bytes([t[14], t[15]]),
        options: t[20..offset].to_vec(),
        payload: t[offset..].to_vec(),
    })
}
