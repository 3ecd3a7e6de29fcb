//! Maps keyed by the stack's own connection and listener ids.
//!
//! The ids are handed out by the stack in sequence ([`super::Stack`]'s
//! `next_conn_id`), never chosen by a peer, so these maps need none of
//! SipHash's resistance to hash flooding (the map keyed by a peer's
//! four-tuple keeps it). The connection map is looked up several times
//! per segment and timer (input, `touch`, scheduling), and SipHash was a
//! tenth of the time of an execution of the connection fuzz target; a
//! multiplication spreads sequential ids over the table as well.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` from a stack-assigned id to `V`.
pub(super) type IdMap<V> = HashMap<u32, V, BuildHasherDefault<IdHasher>>;

/// 2^64 / golden ratio, odd: multiplying by it is a bijection that moves
/// every input bit into the high bits hashbrown reads its tags from
/// (Knuth's multiplicative hashing, TAOCP vol. 3 §6.4).
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// Multiplicative hashing of one `u32` id.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u32` is used for a u32 key; this keeps any other
        // key type correct, if slower.
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(GOLDEN);
        }
    }

    fn write_u32(&mut self, id: u32) {
        self.0 = (self.0 ^ u64::from(id)).wrapping_mul(GOLDEN);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn sequential_ids_spread_over_low_and_high_bits() {
        let build = BuildHasherDefault::<IdHasher>::default();
        let hashes: Vec<u64> = (1..=1024u32).map(|id| build.hash_one(id)).collect();
        let low: HashSet<u64> = hashes.iter().map(|h| h & 1023).collect();
        let high: HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        assert_eq!(low.len(), 1024, "bucket bits collide");
        assert_eq!(high.len(), 128, "every 7-bit tag is used");
    }

    #[test]
    fn an_id_map_finds_what_it_holds() {
        let mut map: IdMap<u32> = IdMap::default();
        for id in 0..10_000 {
            map.insert(id, id * 2);
        }
        map.remove(&5);
        assert_eq!(map.get(&4), Some(&8));
        assert_eq!(map.get(&5), None);
        assert_eq!(map.len(), 9_999);
    }
}
