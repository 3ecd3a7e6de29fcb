//! Fuzz target: any bytes as one packet into a stack that listens on the
//! echo port and has one established connection. The first byte picks
//! the stack's configuration; the second how the packet is aimed: bit 0
//! makes its checksums right, bit 1 addresses it from the peer to the
//! stack, bit 2 puts the connection's ports on it, bits 3-7 how long the
//! clock runs afterwards (x 100 ms). The application echoes, and a last
//! ten minutes let every timer fire.

use std::time::Duration;

use super::craft::fix_checksums;
use super::driver::{config, Driver, ECHO_PORT, PEER_IP, PEER_PORT, STACK_IP};
use super::peer::Peer;

pub fn run(data: &[u8]) {
    let [variant, mode, packet @ ..] = data else {
        return;
    };
    let mut driver = Driver::new(config(*variant));
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
    let header_len = packet.first().map_or(0, |b| usize::from(b & 0x0f) * 4);
    if mode & 2 != 0 && packet.len() >= 20 {
        packet[12..16].copy_from_slice(&PEER_IP.octets());
        packet[16..20].copy_from_slice(&STACK_IP.octets());
    }
    if mode & 4 != 0 && header_len >= 20 && packet.len() >= header_len + 4 {
        packet[header_len..header_len + 2].copy_from_slice(&PEER_PORT.to_be_bytes());
        packet[header_len + 2..header_len + 4].copy_from_slice(&ECHO_PORT.to_be_bytes());
    }
    if mode & 1 != 0 {
        fix_checksums(&mut packet);
    }
    packet
}
