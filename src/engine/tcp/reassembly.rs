//! Out-of-order bookkeeping for the receive side (RFC 9293 §3.10.7.4,
//! "Segments with higher beginning sequence numbers SHOULD be held for later
//! processing").
//!
//! The bytes themselves are already in the receive ring at their final
//! place; this only remembers which byte ranges past RCV.NXT have arrived,
//! as offsets from RCV.NXT. The number of ranges is bounded: a segment that
//! would open one hole too many is refused, and the sender retransmits it.

use std::ops::Range;

/// Received ranges past the next expected byte, sorted, never touching.
pub struct Reassembly {
    ranges: Vec<Range<usize>>,
    limit: usize,
}

/// The segment would need more ranges than the configured limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooManyHoles;

impl Reassembly {
    pub fn new(limit: usize) -> Reassembly {
        // +1: a new range may be inserted before merging collapses it.
        Reassembly {
            ranges: Vec::with_capacity(limit + 1),
            limit: limit.max(1),
        }
    }

    /// True when nothing is waiting past a hole.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Records that bytes `range` (offsets from RCV.NXT) have arrived.
    /// Overlaps and duplicates merge, so every byte is counted once.
    pub fn insert(&mut self, range: Range<usize>) -> Result<(), TooManyHoles> {
        if range.is_empty() {
            return Ok(());
        }
        // Ranges that overlap or touch the new one get merged into it.
        let first = self.ranges.iter().position(|r| r.end >= range.start);
        let first = first.unwrap_or(self.ranges.len());
        let last = self.ranges[first..]
            .iter()
            .take_while(|r| r.start <= range.end)
            .count();
        // In-order data (offset 0) is always taken: `pop_front` removes it
        // at once, so it never holds a range, and refusing it would stall
        // the connection for good once the ranges are full.
        if last == 0 && range.start > 0 && self.ranges.len() >= self.limit {
            return Err(TooManyHoles);
        }
        let mut merged = range;
        for r in self.ranges.drain(first..first + last) {
            merged.start = merged.start.min(r.start);
            merged.end = merged.end.max(r.end);
        }
        self.ranges.insert(first, merged);
        Ok(())
    }

    /// If the range at offset 0 is there, removes it and returns its length
    /// (the bytes now in order); every other offset moves down by as much.
    pub fn pop_front(&mut self) -> usize {
        match self.ranges.first() {
            Some(r) if r.start == 0 => {
                let n = r.end;
                self.ranges.remove(0);
                for r in &mut self.ranges {
                    r.start -= n;
                    r.end -= n;
                }
                n
            }
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_data_pops_at_once() {
        let mut r = Reassembly::new(4);
        r.insert(0..10).unwrap();
        assert_eq!(r.pop_front(), 10);
        assert!(r.is_empty());
    }

    #[test]
    fn hole_is_delivered_when_filled() {
        let mut r = Reassembly::new(4);
        r.insert(10..20).unwrap();
        assert_eq!(r.pop_front(), 0);
        r.insert(0..10).unwrap();
        assert_eq!(r.pop_front(), 20);
    }

    #[test]
    fn overlaps_and_duplicates_count_once() {
        let mut r = Reassembly::new(4);
        r.insert(5..10).unwrap();
        r.insert(5..10).unwrap();
        r.insert(8..15).unwrap();
        r.insert(2..6).unwrap();
        r.insert(0..3).unwrap();
        assert_eq!(r.pop_front(), 15);
    }

    #[test]
    fn offsets_shift_after_pop() {
        let mut r = Reassembly::new(4);
        r.insert(0..5).unwrap();
        r.insert(8..10).unwrap();
        assert_eq!(r.pop_front(), 5);
        r.insert(0..3).unwrap(); // old offsets 5..8
        assert_eq!(r.pop_front(), 5);
    }

    #[test]
    fn too_many_holes_are_refused_without_change() {
        let mut r = Reassembly::new(2);
        r.insert(10..11).unwrap();
        r.insert(20..21).unwrap();
        assert_eq!(r.insert(30..31), Err(TooManyHoles));
        // Extending an existing range is still fine.
        r.insert(11..15).unwrap();
        r.insert(0..10).unwrap();
        assert_eq!(r.pop_front(), 15);
    }

    #[test]
    fn in_order_data_is_taken_even_when_the_ranges_are_full() {
        let mut r = Reassembly::new(2);
        r.insert(10..11).unwrap();
        r.insert(20..21).unwrap();
        r.insert(0..5).unwrap();
        assert_eq!(r.pop_front(), 5);
    }
}
