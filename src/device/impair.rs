//! A device wrapper that makes the link bad on purpose: seeded, repeatable
//! loss, duplication, reordering and corruption, in both directions.
//!
//! It exists so retransmission (RFC 9293 §3.8.1), out-of-order reassembly
//! (§3.10.7.4), duplicate segments and checksum failures (§3.1) happen on
//! demand, on any kernel and in any test, where `tc qdisc ... netem` is not
//! available (netem is a kernel module many CI kernels lack), and in the
//! stack-to-kernel direction too, which netem on tun0 cannot reach.
//!
//! # Fates
//!
//! Each direction has its own generator, seeded from the spec's seed, and
//! every packet draws the same dice whatever happens to it. So the Nth
//! packet the engine sends always meets the same fate for a given seed,
//! however the two directions interleave in time.
//!
//! - loss: the packet is dropped.
//! - duplicate: it is delivered twice, back to back.
//! - reorder: it is held back and delivered right after the next packet of
//!   the same direction. A held packet never waits for long: any call in
//!   either direction releases it when no later packet is there to overtake
//!   it (an idle [`Device::recv`] releases an inbound one, every
//!   [`Device::recv`] an outbound one). The driver calls `recv` every turn,
//!   and TCP's timers guarantee another turn, so the worst a held packet
//!   suffers is a delay until then.
//! - corrupt: one byte is XORed with a non-zero value. Every byte of an
//!   IPv4 packet is covered by the IP header checksum or by the TCP/ICMP
//!   checksum, and a one-byte change always changes a ones'-complement sum,
//!   so the receiver detects and drops it (RFC 9293 §3.1).
//!
//! `dir=inbound` or `dir=outbound` limits the faults to one direction;
//! `dir=inbound` matches netem on tun0, which impairs only what the kernel
//! sends.
//!
//! Every event is logged at debug level; a summary per direction is logged
//! at info level when the device is dropped.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::os::fd::RawFd;

use super::Device;

mod lane;
mod spec;
#[cfg(test)]
mod tests;

pub use lane::LaneStats;
pub use spec::{Direction, Impairment, Rate, SpecError, DEFAULT_SEED};

use crate::rng::SplitMix64;
use lane::Lane;

/// What an [`ImpairedDevice`] did so far, per direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImpairStats {
    /// Packets read from the inner device, on their way to the engine.
    pub inbound: LaneStats,
    /// Packets from the engine, on their way to the inner device.
    pub outbound: LaneStats,
}

impl fmt::Display for ImpairStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "inbound: {}; outbound: {}", self.inbound, self.outbound)
    }
}

/// A [`Device`] that passes packets between the engine and `inner` through
/// an [`Impairment`].
pub struct ImpairedDevice<D: Device> {
    inner: D,
    impairment: Impairment,
    inbound: Lane,
    outbound: Lane,
    /// Inbound packets that survived, in delivery order, for `recv`.
    arrived: VecDeque<Vec<u8>>,
    /// Outbound packets that survived, about to be sent to `inner`.
    departing: VecDeque<Vec<u8>>,
}

impl<D: Device> ImpairedDevice<D> {
    pub fn new(inner: D, impairment: Impairment) -> ImpairedDevice<D> {
        // Two independent streams from one seed: the first two outputs of
        // a generator seeded with it.
        let mut seeds = SplitMix64::new(impairment.seed);
        let inbound = Lane::new(
            "inbound",
            impairment.toward(Direction::Inbound),
            seeds.next_u64(),
        );
        let outbound = Lane::new(
            "outbound",
            impairment.toward(Direction::Outbound),
            seeds.next_u64(),
        );
        log::info!("impairing the link: {impairment}");
        ImpairedDevice {
            inner,
            impairment,
            inbound,
            outbound,
            arrived: VecDeque::new(),
            departing: VecDeque::new(),
        }
    }

    pub fn impairment(&self) -> &Impairment {
        &self.impairment
    }

    pub fn stats(&self) -> ImpairStats {
        ImpairStats {
            inbound: self.inbound.stats(),
            outbound: self.outbound.stats(),
        }
    }

    /// The wrapped device.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// The wrapped device, mutably.
    pub fn inner_mut(&mut self) -> &mut D {
        &mut self.inner
    }

    /// Sends everything in `departing` to the inner device; returns the
    /// first error, after trying them all.
    fn send_departing(&mut self) -> io::Result<()> {
        let mut result = Ok(());
        while let Some(packet) = self.departing.pop_front() {
            let sent = self.inner.send(&packet);
            self.outbound.recycle(packet);
            if result.is_ok() {
                result = sent;
            }
        }
        result
    }

    /// Sends a held-back outbound packet that nothing overtook.
    fn release_outbound(&mut self) {
        if self.outbound.release(&mut self.departing) {
            if let Err(err) = self.send_departing() {
                // As the driver does for its own sends: TCP retransmits.
                log::debug!("impair: dropped a released outbound packet: {err}");
            }
        }
    }
}

impl<D: Device> Device for ImpairedDevice<D> {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        self.release_outbound();
        loop {
            if let Some(packet) = self.arrived.pop_front() {
                let len = packet.len().min(buf.len());
                buf[..len].copy_from_slice(&packet[..len]);
                self.inbound.recycle(packet);
                return Ok(Some(len));
            }
            match self.inner.recv(buf)? {
                Some(len) => self.inbound.process(&buf[..len], &mut self.arrived),
                // Idle: a held packet goes now rather than wait for a next
                // one that may never come.
                None if self.inbound.release(&mut self.arrived) => {}
                None => return Ok(None),
            }
        }
    }

    fn send(&mut self, packet: &[u8]) -> io::Result<()> {
        self.outbound.process(packet, &mut self.departing);
        // A lost packet is not an error: it left, and the link ate it.
        self.send_departing()
    }

    fn raw_fd(&self) -> Option<RawFd> {
        self.inner.raw_fd()
    }

    fn mtu(&self) -> usize {
        self.inner.mtu()
    }

    fn max_packet(&self) -> usize {
        self.inner.max_packet()
    }
}

impl<D: Device> Drop for ImpairedDevice<D> {
    fn drop(&mut self) {
        self.release_outbound();
        log::info!("impairment {} did: {}", self.impairment, self.stats());
    }
}
