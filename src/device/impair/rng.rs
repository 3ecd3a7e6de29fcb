//! A tiny seeded generator for packet fates: splitmix64 (Steele, Lea and
//! Flood, "Fast splittable pseudorandom number generators", 2014). Not for
//! cryptography; fast, well mixed, and the same seed always gives the same
//! numbers, which is all a repeatable fault injector needs.

use super::spec::Rate;

#[derive(Clone, Debug)]
pub(super) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(super) fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True with probability `rate`: 0% never, 100% always.
    pub(super) fn chance(&mut self, rate: Rate) -> bool {
        // The top 53 bits as a uniform number in [0, 1): exactly what an
        // f64 mantissa holds, so every value is equally likely.
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        unit * 100.0 < rate.percent()
    }

    /// A number below `bound` (which must not be 0). The tiny bias of a
    /// plain remainder does not matter for picking a byte to flip.
    pub(super) fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }
}
