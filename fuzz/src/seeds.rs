//! Seed inputs for each target from the IPv4 packets of a real session
//! (`captures/*.pcap`, read by the caller): the fuzzer starts from
//! packets the Linux kernel really sent.

use std::net::Ipv4Addr;

use super::chunks::encode;
use super::driver::{ECHO_PORT, PEER_IP};

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
        .flat_map(|p| [prefixed(&[0, 0], p), prefixed(&[0, 0b111], p)])
        .collect()
}

/// One `connection` seed: the kernel's segments after the handshake, in
/// order, when the kernel was the client of the echo port.
pub fn connection(packets: &[Vec<u8>]) -> Option<Vec<u8>> {
    let mut seed = vec![0u8, 0];
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

fn from_kernel(packets: &[Vec<u8>]) -> impl Iterator<Item = &Vec<u8>> {
    packets
        .iter()
        .filter(|p| p.len() >= 20 && Ipv4Addr::new(p[12], p[13], p[14], p[15]) == PEER_IP)
}

/// The TCP header and payload of an unfragmented IPv4 packet.
fn tcp_of(packet: &[u8]) -> Option<&[u8]> {
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
