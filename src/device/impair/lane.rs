//! One direction of an impaired link: decides each packet's fate and keeps
//! the packet being held back for reordering.

use std::collections::VecDeque;
use std::fmt;

use super::spec::Impairment;
use crate::rng::SplitMix64;

/// Spare packet buffers kept for reuse, so a busy link does not allocate
/// per packet once warmed up.
const SPARE_BUFFERS: usize = 16;

/// What happened to the packets of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LaneStats {
    /// Packets that entered the impairment.
    pub packets: u64,
    /// Packets dropped.
    pub lost: u64,
    /// Packets delivered twice.
    pub duplicated: u64,
    /// Packets held back and delivered after a later one.
    pub reordered: u64,
    /// Packets delivered with one byte flipped.
    pub corrupted: u64,
}

impl fmt::Display for LaneStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} packets, {} lost, {} duplicated, {} reordered, {} corrupted",
            self.packets, self.lost, self.duplicated, self.reordered, self.corrupted
        )
    }
}

/// The dice rolled for one packet. Every packet draws the same amount of
/// randomness whatever its fate, so packet N's fate depends only on the
/// seed and N, never on what happened to the packets before it.
struct Fate {
    lost: bool,
    reorder: bool,
    duplicate: bool,
    /// Which byte to flip, and the (non-zero) bits to flip in it.
    corrupt: Option<(usize, u8)>,
}

impl Fate {
    fn roll(rng: &mut SplitMix64, impairment: &Impairment, len: usize) -> Fate {
        let lost = rng.chance(impairment.loss.probability());
        let reorder = rng.chance(impairment.reorder.probability());
        let duplicate = rng.chance(impairment.duplicate.probability());
        let corrupt = rng.chance(impairment.corrupt.probability());
        let at = rng.below(len.max(1) as u64) as usize;
        let mask = 1 + rng.below(255) as u8;
        Fate {
            lost,
            reorder,
            duplicate,
            corrupt: (corrupt && len > 0).then_some((at, mask)),
        }
    }
}

/// One direction's generator, held packet and counters.
pub(super) struct Lane {
    /// "inbound" or "outbound", for logs.
    direction: &'static str,
    /// The faults for this direction (none if the spec excludes it).
    faults: Impairment,
    rng: SplitMix64,
    /// The packet held back for reordering, with its number.
    held: Option<(u64, Vec<u8>)>,
    stats: LaneStats,
    spare: Vec<Vec<u8>>,
}

impl Lane {
    pub(super) fn new(direction: &'static str, faults: Impairment, seed: u64) -> Lane {
        Lane {
            direction,
            faults,
            rng: SplitMix64::new(seed),
            held: None,
            stats: LaneStats::default(),
            spare: Vec::new(),
        }
    }

    pub(super) fn stats(&self) -> LaneStats {
        self.stats
    }

    /// Puts what becomes of `packet` at the back of `out`, in delivery
    /// order: nothing (lost), the packet, or it twice (duplicated); then
    /// the packet held back before it, which this one has now overtaken.
    /// The packet itself may instead be held back for the next one.
    pub(super) fn process(&mut self, packet: &[u8], out: &mut VecDeque<Vec<u8>>) {
        self.stats.packets += 1;
        let number = self.stats.packets;
        let len = packet.len();
        let fate = Fate::roll(&mut self.rng, &self.faults, len);
        let earlier = self.held.take();
        if fate.lost {
            self.stats.lost += 1;
            log::debug!(
                "impair: lost {} packet #{number} ({len} bytes)",
                self.direction
            );
        } else {
            let mut copy = self.copy_of(packet);
            if let Some((at, mask)) = fate.corrupt {
                copy[at] ^= mask;
                self.stats.corrupted += 1;
                log::debug!(
                    "impair: corrupted {} packet #{number} ({len} bytes) at byte {at}",
                    self.direction
                );
            }
            if fate.reorder && earlier.is_none() {
                log::debug!(
                    "impair: holding {} packet #{number} back to deliver after the next",
                    self.direction
                );
                self.held = Some((number, copy));
            } else {
                if fate.duplicate {
                    self.stats.duplicated += 1;
                    log::debug!("impair: duplicated {} packet #{number}", self.direction);
                    let twin = self.copy_of(&copy);
                    out.push_back(twin);
                }
                out.push_back(copy);
                if let Some((earlier_number, _)) = &earlier {
                    self.stats.reordered += 1;
                    log::debug!(
                        "impair: {} packet #{earlier_number} delivered after #{number}",
                        self.direction
                    );
                }
            }
        }
        if let Some((_, earlier)) = earlier {
            out.push_back(earlier);
        }
    }

    /// Puts the held-back packet, if any, at the back of `out`: nothing
    /// came to overtake it in time, so it goes out merely late. True if
    /// there was one.
    pub(super) fn release(&mut self, out: &mut VecDeque<Vec<u8>>) -> bool {
        match self.held.take() {
            Some((number, packet)) => {
                log::trace!(
                    "impair: released held {} packet #{number}: nothing overtook it",
                    self.direction
                );
                out.push_back(packet);
                true
            }
            None => false,
        }
    }

    /// Takes back a delivered packet's buffer for reuse.
    pub(super) fn recycle(&mut self, buffer: Vec<u8>) {
        if self.spare.len() < SPARE_BUFFERS {
            self.spare.push(buffer);
        }
    }

    fn copy_of(&mut self, packet: &[u8]) -> Vec<u8> {
        let mut buffer = self.spare.pop().unwrap_or_default();
        buffer.clear();
        buffer.extend_from_slice(packet);
        buffer
    }
}
