//! In-memory stand-ins for a network: [`MemoryLink`], two engines in one
//! process joined by a simulated wire, and [`MemoryDevice`], a device whose
//! packets a test hands in and reads back.
//!
//! The link is the network of the simulation tests (ARCHITECTURE.md, "Test
//! layers"): it carries packets between endpoint [`Side::A`] and
//! [`Side::B`] after a latency, and, if configured, loses, duplicates,
//! reorders or corrupts some of them. Everything is in virtual time and
//! driven by a seeded generator ([`crate::rng::SplitMix64`]), so a seed names one exact
//! run: a failure found with seed 1234 is replayed by running seed 1234.
//!
//! The link does not own the engines; the test harness moves packets:
//! `poll_transmit` output goes into [`MemoryLink::send`], and
//! [`MemoryLink::deliver`] hands out what is due to `handle_packet`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use super::Device;

use crate::rng::SplitMix64;
use crate::time::Instant;

/// A [`Device`] for tests of what wraps devices (pcap tap, impairment):
/// `recv` returns the packets in `incoming`, in order, and every packet
/// given to `send` is kept in `sent`.
#[derive(Debug, Default)]
pub struct MemoryDevice {
    pub incoming: VecDeque<Vec<u8>>,
    pub sent: Vec<Vec<u8>>,
}

impl Device for MemoryDevice {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        Ok(self.incoming.pop_front().map(|packet| {
            buf[..packet.len()].copy_from_slice(&packet);
            packet.len()
        }))
    }

    fn send(&mut self, packet: &[u8]) -> io::Result<()> {
        self.sent.push(packet.to_vec());
        Ok(())
    }

    fn raw_fd(&self) -> Option<RawFd> {
        None
    }
}

/// One end of the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    A,
    B,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}

/// What the wire does to packets. Probabilities are per packet, in `[0, 1]`.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkConfig {
    /// One-way delay of every packet.
    pub latency: Duration,
    /// Extra delay, uniform in `0..=jitter`, per packet. Jitter alone never
    /// reorders: a packet is never delivered before one sent earlier in the
    /// same direction unless it is picked for `reorder`.
    pub jitter: Duration,
    pub loss: f64,
    pub duplicate: f64,
    /// Picked packets are held back by `reorder_delay`, so later ones pass.
    pub reorder: f64,
    pub reorder_delay: Duration,
    /// One bit flipped somewhere in the packet (checksums must catch it).
    pub corrupt: f64,
}

impl LinkConfig {
    /// A perfect wire with a fixed delay.
    pub fn perfect(latency: Duration) -> LinkConfig {
        LinkConfig {
            latency,
            jitter: Duration::ZERO,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay: Duration::ZERO,
            corrupt: 0.0,
        }
    }

    /// 5% loss, 2% duplication, 5% reordering by 15 ms, 1% corruption.
    pub fn faulty(latency: Duration) -> LinkConfig {
        LinkConfig {
            jitter: latency / 4,
            loss: 0.05,
            duplicate: 0.02,
            reorder: 0.05,
            reorder_delay: Duration::from_millis(15),
            corrupt: 0.01,
            ..LinkConfig::perfect(latency)
        }
    }
}

/// What the link did, for test reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    pub sent: u64,
    pub delivered: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub corrupted: u64,
}

/// A packet on the wire. Ordered by delivery time, then by when it was
/// sent, so equal times come out in sending order (determinism).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    due: Instant,
    order: u64,
    to: Side,
    bytes: Vec<u8>,
}

/// A seeded, lossy, in-memory wire between two endpoints.
#[derive(Debug)]
pub struct MemoryLink {
    config: LinkConfig,
    rng: SplitMix64,
    in_flight: BinaryHeap<Reverse<InFlight>>,
    sent_count: u64,
    /// Latest in-order delivery time per direction (index: receiving side),
    /// so jitter never reorders by itself.
    last_due: [Instant; 2],
    stats: LinkStats,
}

impl MemoryLink {
    pub fn new(config: LinkConfig, seed: u64) -> MemoryLink {
        MemoryLink {
            config,
            rng: SplitMix64::new(seed),
            in_flight: BinaryHeap::new(),
            sent_count: 0,
            last_due: [Instant::ZERO; 2],
            stats: LinkStats::default(),
        }
    }

    /// Puts a packet from `from` on the wire at `now`.
    pub fn send(&mut self, now: Instant, from: Side, packet: &[u8]) {
        self.stats.sent += 1;
        if self.rng.chance(self.config.loss) {
            self.stats.lost += 1;
            return;
        }
        let copies = if self.rng.chance(self.config.duplicate) {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let mut bytes = packet.to_vec();
            if !bytes.is_empty() && self.rng.chance(self.config.corrupt) {
                self.stats.corrupted += 1;
                let bit = self.rng.below(bytes.len() as u64 * 8);
                bytes[(bit / 8) as usize] ^= 1 << (bit % 8);
            }
            let due = self.due_time(now, from.other());
            self.in_flight.push(Reverse(InFlight {
                due,
                order: self.sent_count,
                to: from.other(),
                bytes,
            }));
            self.sent_count += 1;
        }
    }

    fn due_time(&mut self, now: Instant, to: Side) -> Instant {
        let jitter_micros = self.config.jitter.as_micros() as u64;
        let jitter = Duration::from_micros(self.rng.below(jitter_micros + 1));
        let in_order = (now + self.config.latency + jitter).max(self.last_due[to as usize]);
        if self.rng.chance(self.config.reorder) {
            self.stats.reordered += 1;
            // Held back without moving `last_due`: later packets overtake it.
            return in_order + self.config.reorder_delay;
        }
        self.last_due[to as usize] = in_order;
        in_order
    }

    /// When the next packet arrives, if any is on the wire.
    pub fn next_delivery(&self) -> Option<Instant> {
        self.in_flight.peek().map(|Reverse(packet)| packet.due)
    }

    /// The next packet due at or before `now`, and the side it arrives at.
    pub fn deliver(&mut self, now: Instant) -> Option<(Side, Vec<u8>)> {
        if self.next_delivery()? > now {
            return None;
        }
        let Reverse(packet) = self.in_flight.pop()?;
        self.stats.delivered += 1;
        Some((packet.to, packet.bytes))
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    pub fn stats(&self) -> LinkStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn deliver_all(link: &mut MemoryLink) -> Vec<(Instant, Side, Vec<u8>)> {
        let mut out = Vec::new();
        while let Some(at) = link.next_delivery() {
            let (side, bytes) = link.deliver(at).expect("due");
            out.push((at, side, bytes));
        }
        out
    }

    #[test]
    fn a_perfect_link_delivers_in_order_after_the_latency() {
        let mut link = MemoryLink::new(LinkConfig::perfect(5 * MS), 1);
        link.send(Instant::ZERO, Side::A, b"one");
        link.send(Instant::ZERO, Side::A, b"two");
        link.send(Instant::from_millis(1), Side::B, b"back");
        assert_eq!(link.deliver(Instant::from_millis(4)), None);
        let got = deliver_all(&mut link);
        assert_eq!(
            got,
            vec![
                (Instant::from_millis(5), Side::B, b"one".to_vec()),
                (Instant::from_millis(5), Side::B, b"two".to_vec()),
                (Instant::from_millis(6), Side::A, b"back".to_vec()),
            ]
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_faults_and_another_seed_does_not() {
        let run = |seed| {
            let mut link = MemoryLink::new(LinkConfig::faulty(10 * MS), seed);
            for i in 0..500u32 {
                link.send(
                    Instant::from_millis(u64::from(i)),
                    Side::A,
                    &i.to_be_bytes(),
                );
            }
            (deliver_all(&mut link), link.stats())
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7).0, run(8).0);
    }

    #[test]
    fn faults_happen_at_roughly_the_configured_rates() {
        let mut link = MemoryLink::new(LinkConfig::faulty(10 * MS), 99);
        for i in 0..20_000u32 {
            link.send(
                Instant::from_micros(u64::from(i) * 100),
                Side::A,
                &i.to_be_bytes(),
            );
        }
        let got = deliver_all(&mut link);
        let stats = link.stats();
        let rate = |count: u64| count as f64 / 20_000.0;
        assert!((0.04..0.06).contains(&rate(stats.lost)), "{stats:?}");
        assert!(
            (0.015..0.025).contains(&rate(stats.duplicated)),
            "{stats:?}"
        );
        assert!((0.04..0.06).contains(&rate(stats.reordered)), "{stats:?}");
        assert!((0.005..0.015).contains(&rate(stats.corrupted)), "{stats:?}");
        assert_eq!(got.len() as u64, stats.delivered);
        assert_eq!(stats.delivered, stats.sent - stats.lost + stats.duplicated);
        let order: Vec<u32> = got
            .iter()
            .filter(|(_, _, b)| b.len() == 4)
            .map(|(_, _, b)| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert!(
            order.windows(2).any(|w| w[0] > w[1]),
            "some packets overtaken"
        );
    }

    #[test]
    fn jitter_alone_never_reorders() {
        let config = LinkConfig {
            jitter: 20 * MS,
            ..LinkConfig::perfect(MS)
        };
        let mut link = MemoryLink::new(config, 3);
        for i in 0..1000u32 {
            link.send(
                Instant::from_micros(u64::from(i) * 10),
                Side::B,
                &i.to_be_bytes(),
            );
        }
        let got: Vec<Vec<u8>> = deliver_all(&mut link)
            .into_iter()
            .map(|(_, _, b)| b)
            .collect();
        let sent: Vec<Vec<u8>> = (0..1000u32).map(|i| i.to_be_bytes().to_vec()).collect();
        assert_eq!(got, sent);
    }
}
