//! Building IPv4 and IPv6 TCP packets from fuzz input, and making their
//! checksums right so the input reaches the code behind the parsers.
//! Nothing here may panic on any bytes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use tuntcp::wire::checksum::{checksum, tcp_checksum, upper_layer_checksum_v6};

pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_ICMPV6: u8 = 58;

/// Extension headers of RFC 8200 §4 with the generic (next header,
/// length in 8-octet units beyond the first) layout, and Authentication
/// (RFC 4302 §2.2: length in 4-octet units, minus 2).
const EXT_GENERIC: [u8; 3] = [0, 43, 60];
const EXT_AUTHENTICATION: u8 = 51;
/// The most extension headers [`upper_layer_of_v6`] walks.
const MAX_WALK: usize = 8;

/// An IP packet around `body`: IPv4 (20-byte header, DF set, TTL 64) or
/// IPv6 (no extension headers, hop limit 64) as the addresses are.
pub fn ip_packet(src: IpAddr, dst: IpAddr, protocol: u8, body: &[u8]) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => ipv4_packet(src, dst, protocol, body),
        (IpAddr::V6(src), IpAddr::V6(dst)) => ipv6_packet(src, dst, protocol, body),
        _ => panic!("one family for both ends: {src} -> {dst}"),
    }
}

/// An IPv4 packet (20-byte header, DF set, TTL 64) around `body`.
pub fn ipv4_packet(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, body: &[u8]) -> Vec<u8> {
    let total = 20 + body.len();
    let mut p = vec![0u8; 20];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total.min(0xffff) as u16).to_be_bytes());
    p[6] = 0x40;
    p[8] = 64;
    p[9] = protocol;
    p[12..16].copy_from_slice(&src.octets());
    p[16..20].copy_from_slice(&dst.octets());
    p.extend_from_slice(body);
    fix_checksums(&mut p);
    p
}

/// An IPv6 packet (fixed header only, hop limit 64) around `body`.
pub fn ipv6_packet(src: Ipv6Addr, dst: Ipv6Addr, protocol: u8, body: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 40];
    p[0] = 0x60;
    p[4..6].copy_from_slice(&(body.len().min(0xffff) as u16).to_be_bytes());
    p[6] = protocol;
    p[7] = 64;
    p[8..24].copy_from_slice(&src.octets());
    p[24..40].copy_from_slice(&dst.octets());
    p.extend_from_slice(body);
    fix_checksums(&mut p);
    p
}

/// A TCP segment's fields, options as raw bytes (padded to 4 with NOPs,
/// at most 40). Both ends are of one family.
pub struct RawSegment<'a> {
    pub src: (IpAddr, u16),
    pub dst: (IpAddr, u16),
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub urgent: u16,
    pub options: &'a [u8],
    pub payload: &'a [u8],
}

impl RawSegment<'_> {
    pub fn build(&self) -> Vec<u8> {
        let mut options = self.options[..self.options.len().min(40)].to_vec();
        while !options.len().is_multiple_of(4) {
            options.push(1);
        }
        let header_len = 20 + options.len();
        let mut tcp = Vec::with_capacity(header_len + self.payload.len());
        tcp.extend_from_slice(&self.src.1.to_be_bytes());
        tcp.extend_from_slice(&self.dst.1.to_be_bytes());
        tcp.extend_from_slice(&self.seq.to_be_bytes());
        tcp.extend_from_slice(&self.ack.to_be_bytes());
        tcp.push(((header_len / 4) as u8) << 4);
        tcp.push(self.flags);
        tcp.extend_from_slice(&self.window.to_be_bytes());
        tcp.extend_from_slice(&[0, 0]);
        tcp.extend_from_slice(&self.urgent.to_be_bytes());
        tcp.extend_from_slice(&options);
        tcp.extend_from_slice(self.payload);
        ip_packet(self.src.0, self.dst.0, PROTO_TCP, &tcp)
    }
}

/// Makes the checksums of an IPv4 or IPv6 packet right: the IPv4 header
/// checksum and, for an unfragmented TCP or ICMP packet whose lengths
/// hold, the transport checksum; for IPv6, the TCP or ICMPv6 checksum
/// behind the extension headers when the payload length holds. Lying
/// lengths are left lying: the parsers must refuse them.
pub fn fix_checksums(p: &mut [u8]) {
    match p.first().map(|b| b >> 4) {
        Some(4) => fix_checksums_v4(p),
        Some(6) => fix_checksums_v6(p),
        _ => {}
    }
}

fn fix_checksums_v4(p: &mut [u8]) {
    let header_len = usize::from(p[0] & 0x0f) * 4;
    if header_len < 20 || p.len() < header_len {
        return;
    }
    p[10..12].fill(0);
    let sum = checksum(&p[..header_len]);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    let total = usize::from(u16::from_be_bytes([p[2], p[3]]));
    let fragmented = p[6] & 0x3f != 0 || p[7] != 0;
    if total < header_len || total > p.len() || fragmented {
        return;
    }
    let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
    let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
    let protocol = p[9];
    fix_transport_checksum(&mut p[header_len..total], protocol, src.into(), dst.into());
}

fn fix_checksums_v6(p: &mut [u8]) {
    if p.len() < 40 {
        return;
    }
    let payload_len = usize::from(u16::from_be_bytes([p[4], p[5]]));
    let Some(payload) = p.get(40..40 + payload_len) else {
        return;
    };
    let Some((protocol, at)) = upper_layer_of_v6(p[6], payload) else {
        return;
    };
    let src = Ipv6Addr::from(<[u8; 16]>::try_from(&p[8..24]).unwrap_or_default());
    let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&p[24..40]).unwrap_or_default());
    let end = 40 + payload_len;
    fix_transport_checksum(&mut p[40 + at..end], protocol, src.into(), dst.into());
}

/// Loosely follows an IPv6 extension-header chain (RFC 8200 §4) from
/// `next` through `bytes`: the upper-layer protocol and where its header
/// starts, or `None` if the chain runs out of bytes or on too long. The
/// parser under test decides what the chain is worth; this only finds
/// where a checksum goes.
pub fn upper_layer_of_v6(mut next: u8, bytes: &[u8]) -> Option<(u8, usize)> {
    let mut at = 0;
    for _ in 0..MAX_WALK {
        let len = if EXT_GENERIC.contains(&next) {
            (usize::from(*bytes.get(at + 1)?) + 1) * 8
        } else if next == EXT_AUTHENTICATION {
            (usize::from(*bytes.get(at + 1)?) + 2) * 4
        } else {
            return Some((next, at));
        };
        next = *bytes.get(at)?;
        at += len;
        if at > bytes.len() {
            return None;
        }
    }
    None
}

/// The checksum of a TCP segment, ICMP or ICMPv6 message in place, with
/// the pseudo-header of the addresses' family (ICMPv4 has none).
pub fn fix_transport_checksum(body: &mut [u8], protocol: u8, src: IpAddr, dst: IpAddr) {
    let at = match protocol {
        PROTO_TCP if body.len() >= 20 => 16,
        PROTO_ICMP | PROTO_ICMPV6 if body.len() >= 8 => 2,
        _ => return,
    };
    body[at..at + 2].fill(0);
    let sum = match (protocol, src, dst) {
        (PROTO_TCP, src, dst) => tcp_checksum(src, dst, body),
        (PROTO_ICMPV6, IpAddr::V6(src), IpAddr::V6(dst)) => {
            upper_layer_checksum_v6(src, dst, PROTO_ICMPV6, body)
        }
        _ => checksum(body),
    };
    body[at..at + 2].copy_from_slice(&sum.to_be_bytes());
}
