//! Fuzz target: any bytes as one packet into a stack that listens on the
//! echo port (both families) and has one established connection. The
//! first byte picks the stack's configuration and the connection's family
//! (bit 6: IPv6); the second how the packet is aimed: bit 0 makes its
//! checksums right, bit 1 addresses it from the peer to the stack (in the
//! packet's own IP version), bit 2 puts the connection's ports on it,
//! bits 3-7 how long the clock runs afterwards (x 100 ms). The
//! application echoes, and a last ten minutes let every timer fire.

use std::net::IpAddr;
use std::time::Duration;

use super::craft::{fix_checksums, upper_layer_of_v6};
use super::driver::{Driver, ECHO_PORT, PEER_IP, PEER_IP6, PEER_PORT, STACK_IP, STACK_IP6};
use super::peer::Peer;

pub fn run(data: &[u8]) {
    let [variant, mode, packet @ ..] = data else {
        return;
    };
    let mut driver = Driver::new(*variant);
    let mut peer = Peer::open(&mut driver, 0);
    let packet = aim(packet, *mode);
    driver.deliver(&packet);
    peer.wait(
        &mut driver,
        Duration::from_millis(100 * u64::from(mode >> 3)),
    );
    if let Some(conn) = peer.conn {
        driver.echo(conn);
    }
    for conn in driver.accept_all() {
        driver.echo(conn);
    }
    peer.wait(&mut driver, Duration::from_secs(600));
}

/// The packet with the fields `mode` asks for rewritten.
fn aim(packet: &[u8], mode: u8) -> Vec<u8> {
    let mut packet = packet.to_vec();
    let ipv6 = packet.first().is_some_and(|b| b >> 4 == 6);
    if mode & 2 != 0 {
        let (peer, stack, at): (IpAddr, IpAddr, usize) = if ipv6 {
            (PEER_IP6.into(), STACK_IP6.into(), 8)
        } else {
            (PEER_IP.into(), STACK_IP.into(), 12)
        };
        put_address(&mut packet, at, peer);
        let width = if ipv6 { 16 } else { 4 };
        put_address(&mut packet, at + width, stack);
    }
    if mode & 4 != 0 {
        if let Some(at) = transport_offset(&packet, ipv6) {
            if packet.len() >= at + 4 {
                packet[at..at + 2].copy_from_slice(&PEER_PORT.to_be_bytes());
                packet[at + 2..at + 4].copy_from_slice(&ECHO_PORT.to_be_bytes());
            }
        }
    }
    if mode & 1 != 0 {
        fix_checksums(&mut packet);
    }
    packet
}

/// Writes `addr` at `at` if the packet is long enough.
fn put_address(packet: &mut [u8], at: usize, addr: IpAddr) {
    let octets = match addr {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    };
    if let Some(field) = packet.get_mut(at..at + octets.len()) {
        field.copy_from_slice(&octets);
    }
}

/// Where the transport header starts: after the IPv4 header, or after
/// the IPv6 header and its extension headers.
fn transport_offset(packet: &[u8], ipv6: bool) -> Option<usize> {
    if ipv6 {
        let (_, at) = upper_layer_of_v6(*packet.get(6)?, packet.get(40..)?)?;
        Some(40 + at)
    } else {
        let header_len = usize::from(packet.first()? & 0x0f) * 4;
        (header_len >= 20).then_some(header_len)
    }
}
