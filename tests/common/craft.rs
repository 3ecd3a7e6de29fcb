//! Hand-made IPv4/TCP packets for the hostile-input tests, a checker for
//! what an engine sends back, and a tiny seeded PRNG.
//!
//! Everything is done by hand on byte offsets, independently of
//! `tuntcp::wire`, so a bug there cannot hide itself here. The checker
//! cross-checks with etherparse.

#![allow(dead_code)] // each test binary uses a different part

use std::cell::Cell;
use std::net::{Ipv4Addr, SocketAddrV4};

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;
pub const URG: u8 = 0x20;

pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;

/// SplitMix64: tiny, seedable, good enough to pick mutations. The state is
/// a `Cell` so calls nest (`rng.bytes(rng.below(80))`).
#[derive(Clone, Debug)]
pub struct SplitMix(Cell<u64>);

impl SplitMix {
    pub fn new(seed: u64) -> SplitMix {
        SplitMix(Cell::new(seed))
    }

    pub fn next_u64(&self) -> u64 {
        let state = self.0.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        self.0.set(state);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn next_u32(&self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `percent`/100.
    pub fn chance(&self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

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
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    /// Raw option bytes; padded with zeros (EOL) to a multiple of 4.
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
        let mut options = self.options.clone();
        while !options.len().is_multiple_of(4) {
            options.push(0);
        }
        let tcp_len = 20 + options.len() + self.payload.len();
        let total = 20 + tcp_len;
        let mut p = vec![0u8; total];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
        p[6] = 0x40; // DF
        p[8] = 64;
        p[9] = PROTO_TCP;
        p[12..16].copy_from_slice(&self.src.ip().octets());
        p[16..20].copy_from_slice(&self.dst.ip().octets());
        let t = &mut p[20..];
        t[0..2].copy_from_slice(&self.src.port().to_be_bytes());
        t[2..4].copy_from_slice(&self.dst.port().to_be_bytes());
        t[4..8].copy_from_slice(&self.seq.to_be_bytes());
        t[8..12].copy_from_slice(&self.ack.to_be_bytes());
        t[12] = (((20 + options.len()) / 4) as u8) << 4;
        t[13] = self.flags;
        t[14..16].copy_from_slice(&self.window.to_be_bytes());
        t[20..20 + options.len()].copy_from_slice(&options);
        t[20 + options.len()..].copy_from_slice(&self.payload);
        fix_checksums(&mut p);
        p
    }
}

/// The Internet checksum (RFC 1071) of `data`, starting from `sum`.
pub fn checksum(data: &[u8], mut sum: u32) -> u16 {
    let mut chunks = data.chunks_exact(2);
    for pair in &mut chunks {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Sum of the TCP pseudo-header (RFC 9293 §3.1) for a segment of `len` bytes.
fn pseudo_header_sum(src: &[u8], dst: &[u8], len: usize) -> u32 {
    let mut sum = 0u32;
    for pair in src.chunks(2).chain(dst.chunks(2)) {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    sum + u32::from(PROTO_TCP) + len as u32
}

/// Recomputes whatever checksums the (possibly lying) headers let us find:
/// the IPv4 header checksum if the IHL fits, and the TCP checksum over the
/// bytes the total-length field claims (cut to what is there). A mutated
/// packet fixed up like this gets past the checksum tests and reaches the
/// length, option and state logic, which is what the fuzzing is after.
pub fn fix_checksums(p: &mut [u8]) {
    if p.len() < 20 {
        return;
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    if ihl < 20 || ihl > p.len() {
        return;
    }
    p[10] = 0;
    p[11] = 0;
    let sum = checksum(&p[..ihl], 0);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    let total = usize::from(u16::from_be_bytes([p[2], p[3]])).min(p.len());
    if p[9] == PROTO_TCP && total >= ihl + 18 {
        let (header, rest) = p.split_at_mut(ihl);
        let tcp = &mut rest[..total - ihl];
        tcp[16] = 0;
        tcp[17] = 0;
        let start = pseudo_header_sum(&header[12..16], &header[16..20], tcp.len());
        let sum = checksum(tcp, start);
        tcp[16..18].copy_from_slice(&sum.to_be_bytes());
    } else if p[9] == PROTO_ICMP && total >= ihl + 4 {
        let icmp = &mut p[ihl..total];
        icmp[2] = 0;
        icmp[3] = 0;
        let sum = checksum(icmp, 0);
        icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    }
}

/// A TCP segment as read back from a packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedTcp {
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub options: Vec<u8>,
    pub payload: Vec<u8>,
}

impl ParsedTcp {
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// Sequence space the segment occupies (RFC 9293 §3.4: SYN and FIN count).
    pub fn seg_len(&self) -> u32 {
        self.payload.len() as u32 + u32::from(self.has(SYN)) + u32::from(self.has(FIN))
    }
}

/// What a well-formed packet from an engine is.
#[derive(Clone, Debug)]
pub enum Parsed {
    Tcp(ParsedTcp),
    /// ICMP type and code.
    Icmp(u8, u8),
}

/// Strictly parses an IPv4 packet: every length consistent, both checksums
/// right, no fragment. Used on what engines send (it must pass) and on
/// what the fuzzer sends (to know whether an engine could take it as valid).
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
    if checksum(&p[..ihl], 0) != 0 {
        return Err("bad IPv4 header checksum".into());
    }
    let frag = u16::from_be_bytes([p[6], p[7]]);
    if frag & 0x3fff != 0 {
        return Err(format!("fragment (flags/offset {frag:#06x})"));
    }
    etherparse::Ipv4Slice::from_slice(p).map_err(|e| format!("etherparse IPv4: {e}"))?;
    let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
    let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
    let body = &p[ihl..];
    match p[9] {
        PROTO_TCP => parse_tcp(src, dst, &p[12..20], body).map(Parsed::Tcp),
        PROTO_ICMP => {
            if body.len() < 8 || checksum(body, 0) != 0 {
                return Err("short ICMP or bad ICMP checksum".into());
            }
            etherparse::Icmpv4Slice::from_slice(body)
                .map_err(|e| format!("etherparse ICMP: {e}"))?;
            Ok(Parsed::Icmp(body[0], body[1]))
        }
        other => Err(format!("protocol {other}")),
    }
}

fn parse_tcp(src: Ipv4Addr, dst: Ipv4Addr, addrs: &[u8], t: &[u8]) -> Result<ParsedTcp, String> {
    if t.len() < 20 {
        return Err(format!("TCP of {} bytes", t.len()));
    }
    let offset = usize::from(t[12] >> 4) * 4;
    if offset < 20 || offset > t.len() {
        return Err(format!("TCP data offset {offset} in {} bytes", t.len()));
    }
    let start = pseudo_header_sum(&addrs[..4], &addrs[4..], t.len());
    if checksum(t, start) != 0 {
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

/// Whether TCP options are well formed (every length fits, none below 2).
pub fn options_well_formed(options: &[u8]) -> bool {
    let mut i = 0;
    while i < options.len() {
        match options[i] {
            0 => return true,
            1 => i += 1,
            _ => {
                let Some(&len) = options.get(i + 1) else {
                    return false;
                };
                if len < 2 || i + usize::from(len) > options.len() {
                    return false;
                }
                i += usize::from(len);
            }
        }
    }
    true
}

/// The MSS option an engine announced on a SYN, if any.
pub fn mss_option(options: &[u8]) -> Option<u16> {
    let mut i = 0;
    while i + 1 < options.len() {
        match options[i] {
            0 => return None,
            1 => i += 1,
            2 if options[i + 1] == 4 && i + 4 <= options.len() => {
                return Some(u16::from_be_bytes([options[i + 2], options[i + 3]]))
            }
            _ => i += usize::from(options[i + 1].max(2)),
        }
    }
    None
}
