//! Seed inputs for each target from the IPv4 or IPv6 packets of a real
//! session (`captures/*.pcap` and `captures/*-ipv6.pcap`, read by the
//! caller): the fuzzer starts from packets the Linux kernel really sent.
//! Seeds from an IPv6 capture set the configuration byte's
//! [`IPV6_BIT`], so the live connection is an IPv6 one too.

use std::net::Ipv4Addr;

use super::chunks::encode;
use super::driver::{ECHO_PORT, IPV6_BIT, PEER_IP, PEER_IP6};

/// Most bytes of one connection-target seed: a bulk capture is cut short.
const MAX_CONNECTION_SEED: usize = 64 * 1024;
/// Most seeds one capture gives a target.
const MAX_SEEDS_PER_CAPTURE: usize = 48;

/// `wire` seeds: every packet, as it is and with checksums made right.
pub fn wire(packets: &[Vec<u8>]) -> Vec<Vec<u8>> {
    packets
        .iter()
        .take(MAX_SEEDS_PER_CAPTURE)
        .flat_map(|p| [prefixed(&[0], p), prefixed(&[1], p)])
        .collect()
}

/// `packet` seeds: each packet the kernel sent, as it is, and aimed at
/// the live connection (its ports, checksums made right).
pub fn packet(packets: &[Vec<u8>]) -> Vec<Vec<u8>> {
    from_kernel(packets)
        .take(MAX_SEEDS_PER_CAPTURE)
        .flat_map(|p| {
            let variant = family_bit(p);
            [prefixed(&[variant, 0], p), prefixed(&[variant, 0b111], p)]
        })
        .collect()
}

/// One `connection` seed: the kernel's segments after the handshake, in
/// order, when the kernel was the client of the echo port.
pub fn connection(packets: &[Vec<u8>]) -> Option<Vec<u8>> {
    let variant = packets.first().map_or(0, |p| family_bit(p));
    let mut seed = vec![variant, 0];
    for packet in from_kernel(packets) {
        let Some(tcp) = tcp_of(packet) else { continue };
        let (flags, dst_port) = (tcp[13], u16::from_be_bytes([tcp[2], tcp[3]]));
        let header_len = usize::from(tcp[12] >> 4) * 4;
        if dst_port != ECHO_PORT || flags & 0x02 != 0 || tcp.len() < header_len {
            continue;
        }
        let window = u16::from_be_bytes([tcp[14], tcp[15]]);
        let chunk = encode(0, flags, window, &tcp[20..header_len], &tcp[header_len..]);
        if seed.len() + chunk.len() > MAX_CONNECTION_SEED {
            break;
        }
        seed.extend_from_slice(&chunk);
    }
    (seed.len() > 2).then_some(seed)
}

/// The configuration byte's family bit for a packet of this IP version.
fn family_bit(packet: &[u8]) -> u8 {
    if packet.first().is_some_and(|b| b >> 4 == 6) {
        IPV6_BIT
    } else {
        0
    }
}

/// The packets the kernel (the peer's address, either family) sent.
fn from_kernel(packets: &[Vec<u8>]) -> impl Iterator<Item = &Vec<u8>> {
    packets.iter().filter(|p| match p.first().map(|b| b >> 4) {
        Some(4) => p.len() >= 20 && Ipv4Addr::new(p[12], p[13], p[14], p[15]) == PEER_IP,
        Some(6) => p.len() >= 40 && p[8..24] == PEER_IP6.octets(),
        _ => false,
    })
}

/// The TCP header and payload of an unfragmented IPv4 packet, or of an
/// IPv6 packet without extension headers (what the kernel sends).
fn tcp_of(packet: &[u8]) -> Option<&[u8]> {
    if packet.first()? >> 4 == 6 {
        let payload_len = usize::from(u16::from_be_bytes([*packet.get(4)?, *packet.get(5)?]));
        let tcp = packet.get(40..(40 + payload_len).min(packet.len()))?;
        return (*packet.get(6)? == 6 && tcp.len() >= 20).then_some(tcp);
    }
    let header_len = usize::from(packet.first()? & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*packet.get(2)?, *packet.get(3)?]));
    let tcp = packet.get(header_len..total.min(packet.len()))?;
    (*packet.get(9)? == 6 && tcp.len() >= 20).then_some(tcp)
}

fn prefixed(head: &[u8], packet: &[u8]) -> Vec<u8> {
    let mut seed = head.to_vec();
    seed.extend_from_slice(packet);
    seed
}
