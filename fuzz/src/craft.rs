//! Building IPv4/TCP packets from fuzz input, and making their checksums
//! right so the input reaches the code behind the parsers. Nothing here
//! may panic on any bytes.

use std::net::Ipv4Addr;

use tuntcp::wire::checksum::{checksum, tcp_checksum};

pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;

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

/// A TCP segment's fields, options as raw bytes (padded to 4 with NOPs,
/// at most 40).
pub struct RawSegment<'a> {
    pub src: (Ipv4Addr, u16),
    pub dst: (Ipv4Addr, u16),
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
        ipv4_packet(self.src.0, self.dst.0, PROTO_TCP, &tcp)
    }
}

/// Makes the IPv4 header checksum right and, for an unfragmented TCP or
/// ICMP packet whose lengths hold, the transport checksum too. Lying
/// lengths are left lying: the parsers must refuse them.
pub fn fix_checksums(p: &mut [u8]) {
    let Some(&first) = p.first() else { return };
    let header_len = usize::from(first & 0x0f) * 4;
    if first >> 4 != 4 || header_len < 20 || p.len() < header_len {
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
    fix_transport_checksum(&mut p[header_len..total], protocol, src, dst);
}

/// The checksum of a TCP segment or ICMP message in place.
pub fn fix_transport_checksum(body: &mut [u8], protocol: u8, src: Ipv4Addr, dst: Ipv4Addr) {
    let at = match protocol {
        PROTO_TCP if body.len() >= 20 => 16,
        PROTO_ICMP if body.len() >= 8 => 2,
        _ => return,
    };
    body[at..at + 2].fill(0);
    let sum = if protocol == PROTO_TCP {
        tcp_checksum(src, dst, body)
    } else {
        checksum(body)
    };
    body[at..at + 2].copy_from_slice(&sum.to_be_bytes());
}
