//! The scripted peer of the engine targets: it opens one connection to
//! the stack's echo port and keeps the numbers a fuzzed segment is aimed
//! with (its own SND.NXT, the highest the stack sent, the stack's TSval),
//! over IPv4 or IPv6 as the driver's configuration says.

use std::time::Duration;

use tuntcp::engine::ConnId;

use super::craft::RawSegment;
use super::driver::{Driver, ECHO_PORT, PEER_PORT};

pub const SYN: u8 = 0x02;
pub const ACK: u8 = 0x10;
pub const PEER_ISN: u32 = 0xffff_fff0;

pub struct Peer {
    pub isn: u32,
    pub snd_nxt: u32,
    /// One past the highest sequence number the stack sent.
    pub stack_high: u32,
    /// The stack's latest TSval (our TSecr).
    pub ts_recent: u32,
    pub conn: Option<ConnId>,
}

/// The peer's SYN options by the variant's low bits: MSS, SACK-permitted,
/// Timestamps, Window Scale, as Linux sends them, or fewer, or a tiny MSS.
pub fn syn_options(variant: u8) -> Vec<u8> {
    let mss: u16 = if variant & 4 != 0 { 64 } else { 1460 };
    let mut options = vec![2, 4];
    options.extend_from_slice(&mss.to_be_bytes());
    if variant & 1 == 0 {
        options.extend_from_slice(&[4, 2]); // SACK-permitted
        options.extend_from_slice(&[8, 10, 0, 0, 0, 1, 0, 0, 0, 0]); // TSval 1
        options.extend_from_slice(&[1, 3, 3, if variant & 2 != 0 { 14 } else { 7 }]);
    }
    options
}

impl Peer {
    /// Opens the connection (SYN, SYN-ACK, ACK) and has the stack accept it.
    pub fn open(driver: &mut Driver, syn_variant: u8) -> Peer {
        let mut peer = Peer {
            isn: PEER_ISN,
            snd_nxt: PEER_ISN,
            stack_high: 0,
            ts_recent: 0,
            conn: None,
        };
        let options = syn_options(syn_variant);
        peer.send(driver, SYN, PEER_ISN, 0, 65_535, &options, &[]);
        peer.snd_nxt = PEER_ISN.wrapping_add(1);
        let ack = peer.stack_high;
        let ts = [1, 1, 8, 10, 0, 0, 0, 2];
        let mut ts = ts.to_vec();
        ts.extend_from_slice(&peer.ts_recent.to_be_bytes());
        peer.send(driver, ACK, peer.snd_nxt, ack, 65_535, &ts, &[]);
        peer.conn = driver.accept_all().first().copied();
        peer
    }

    /// Sends one segment and takes in what the stack answered.
    #[allow(clippy::too_many_arguments)]
    pub fn send(
        &mut self,
        driver: &mut Driver,
        flags: u8,
        seq: u32,
        ack: u32,
        window: u16,
        options: &[u8],
        payload: &[u8],
    ) {
        let (peer_ip, stack_ip) = driver.addresses();
        let packet = RawSegment {
            src: (peer_ip, PEER_PORT),
            dst: (stack_ip, ECHO_PORT),
            seq,
            ack,
            flags,
            window,
            urgent: 0,
            options,
            payload,
        }
        .build();
        driver.deliver(&packet);
        self.absorb(driver);
    }

    /// Moves the clock and takes in what the stack sent meanwhile.
    pub fn wait(&mut self, driver: &mut Driver, by: Duration) {
        driver.advance(by);
        self.absorb(driver);
    }

    /// Notes the highest sequence number and latest TSval the stack sent
    /// to this peer.
    pub fn absorb(&mut self, driver: &mut Driver) {
        let (peer_ip, _) = driver.addresses();
        for seg in driver.drain_sent() {
            if seg.dst != peer_ip || seg.dst_port != PEER_PORT {
                continue;
            }
            if self.stack_high == 0 || (seg.end.wrapping_sub(self.stack_high) as i32) > 0 {
                self.stack_high = seg.end;
            }
            if let Some(tsval) = seg.tsval {
                self.ts_recent = tsval;
            }
        }
    }
}
