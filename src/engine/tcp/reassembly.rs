//! Out-of-order bookkeeping for the receive side (RFC 9293 §3.10.7.4,
//! "Segments with higher beginning sequence numbers SHOULD be held for later
//! processing").
//!
//! The bytes themselves are already in the receive ring at their final
//! place; this only remembers which byte ranges past RCV.NXT have arrived,
//! as offsets from RCV.NXT. The number of ranges is bounded: a segment that
//! would open one hole too many is refused, and the sender retransmits it.
//!
//! It also tells the peer what it holds (SACK, RFC 2018 §4): each range
//! remembers when it last grew, so the most recent comes first.

use std::ops::Range;

use crate::wire::{SackBlock, SackBlocks, SeqNum};

/// Received ranges past the next expected byte, sorted, never touching.
pub struct Reassembly {
    ranges: Vec<Received>,
    limit: usize,
    /// Counts insertions: the stamp of the next one.
    next_stamp: u64,
    /// Bytes in all ranges together.
    held: usize,
}

struct Received {
    range: Range<usize>,
    /// When a segment last landed in this range (larger is more recent).
    stamp: u64,
}

/// The segment would need more ranges than the configured limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooManyHoles;

impl Reassembly {
    /// Nothing is allocated until the first hole (most connections see
    /// none); the ranges then grow by doubling, to at most `limit` + 1.
    pub fn new(limit: usize) -> Reassembly {
        Reassembly {
            ranges: Vec::new(),
            limit: limit.max(1),
            next_stamp: 0,
            held: 0,
        }
    }

    /// Bytes of storage held for ranges.
    pub fn heap_bytes(&self) -> usize {
        self.ranges.capacity() * std::mem::size_of::<Received>()
    }

    /// Gives the storage back if no range is held (an idle connection).
    pub fn release_if_empty(&mut self) {
        if self.ranges.is_empty() {
            self.ranges = Vec::new();
        }
    }

    /// Bytes held past RCV.NXT (each counted once).
    pub fn held(&self) -> usize {
        self.held
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
        let first = self.ranges.iter().position(|r| r.range.end >= range.start);
        let first = first.unwrap_or(self.ranges.len());
        let last = self.ranges[first..]
            .iter()
            .take_while(|r| r.range.start <= range.end)
            .count();
        // In-order data (offset 0) is always taken: `pop_front` removes it
        // at once, so it never holds a range, and refusing it would stall
        // the connection for good once the ranges are full.
        if last == 0 && range.start > 0 && self.ranges.len() >= self.limit {
            return Err(TooManyHoles);
        }
        let mut merged = range;
        for r in self.ranges.drain(first..first + last) {
            merged.start = merged.start.min(r.range.start);
            merged.end = merged.end.max(r.range.end);
            self.held -= r.range.len();
        }
        self.held += merged.len();
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        self.ranges.insert(
            first,
            Received {
                range: merged,
                stamp,
            },
        );
        Ok(())
    }

    /// The first part of `range` already held, if any (a duplicate, for
    /// a D-SACK block, RFC 2883 §4).
    pub fn first_overlap(&self, range: Range<usize>) -> Option<Range<usize>> {
        self.ranges.iter().find_map(|r| {
            let overlap = range.start.max(r.range.start)..range.end.min(r.range.end);
            (!overlap.is_empty()).then_some(overlap)
        })
    }

    /// If the range at offset 0 is there, removes it and returns its length
    /// (the bytes now in order); every other offset moves down by as much.
    pub fn pop_front(&mut self) -> usize {
        match self.ranges.first() {
            Some(r) if r.range.start == 0 => {
                let n = r.range.end;
                self.ranges.remove(0);
                self.held -= n;
                for r in &mut self.ranges {
                    r.range.start -= n;
                    r.range.end -= n;
                }
                n
            }
            _ => 0,
        }
    }

    /// Forgets up to `want` bytes at offsets from `floor` up, the highest
    /// first (Linux's `tcp_prune_ofo_queue`: the data furthest from
    /// RCV.NXT is the least useful, the last the application would read);
    /// returns how many were forgotten. Ranges are cut, so what SACK
    /// reports afterwards is exactly what is still held.
    pub fn prune_from_top(&mut self, floor: usize, want: usize) -> usize {
        let mut pruned = 0;
        while pruned < want {
            let Some(top) = self.ranges.last_mut() else {
                break;
            };
            let cut_to = top
                .range
                .start
                .max(floor)
                .max(top.range.end - (want - pruned).min(top.range.len()));
            if cut_to >= top.range.end {
                break;
            }
            pruned += top.range.end - cut_to;
            top.range.end = cut_to;
            if top.range.is_empty() {
                self.ranges.pop();
            }
        }
        self.held -= pruned;
        pruned
    }

    /// One past the highest offset held (0 when nothing is).
    pub fn end(&self) -> usize {
        self.ranges.last().map_or(0, |r| r.range.end)
    }

    /// SACK blocks for what is held past `rcv_nxt` (RFC 2018 §4): the
    /// range that grew last first ("the first SACK block MUST specify the
    /// contiguous block of data containing the segment which triggered this
    /// ACK"), then the others from most to least recently changed, so the
    /// ones left out of a full option are the stalest.
    pub fn sack_blocks(&self, rcv_nxt: SeqNum) -> SackBlocks {
        let mut blocks = SackBlocks::default();
        let mut newer_than = u64::MAX;
        loop {
            let next = self
                .ranges
                .iter()
                .filter(|r| r.stamp < newer_than)
                .max_by_key(|r| r.stamp);
            let Some(r) = next else { break };
            let block = SackBlock {
                left: rcv_nxt + r.range.start,
                right: rcv_nxt + r.range.end,
            };
            if !blocks.push(block) {
                break;
            }
            newer_than = r.stamp;
        }
        blocks
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
    fn sack_blocks_list_the_newest_range_first_rfc_2018_s4() {
        let mut r = Reassembly::new(8);
        let nxt = SeqNum(u32::MAX - 4);
        for start in [10, 30, 50, 70, 90] {
            r.insert(start..start + 5).unwrap();
        }
        r.insert(35..40).unwrap(); // extends the second range: now newest
        let blocks = r.sack_blocks(nxt);
        let edges: Vec<(u32, u32)> = blocks
            .as_slice()
            .iter()
            .map(|b| (b.left.0, b.right.0))
            .collect();
        // Offsets 30..40, 90..95, 70..75, 50..55; 10..15 is the stalest.
        let at = |offset: u32| nxt.0.wrapping_add(offset);
        assert_eq!(
            edges,
            vec![
                (at(30), at(40)),
                (at(90), at(95)),
                (at(70), at(75)),
                (at(50), at(55))
            ]
        );
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
    fn pruning_forgets_the_highest_bytes_first_and_stops_at_the_floor() {
        let mut r = Reassembly::new(8);
        r.insert(10..20).unwrap();
        r.insert(30..40).unwrap();
        r.insert(50..60).unwrap();
        assert_eq!(r.held(), 30);
        assert_eq!(r.prune_from_top(0, 15), 15);
        assert_eq!((r.held(), r.end()), (15, 35));
        // Nothing below the floor goes, however much is wanted.
        assert_eq!(r.prune_from_top(33, 100), 2);
        assert_eq!((r.held(), r.end()), (13, 33));
        let blocks = r.sack_blocks(SeqNum(1000));
        let rights: Vec<u32> = blocks.as_slice().iter().map(|b| b.right.0).collect();
        assert_eq!(rights, vec![1033, 1020], "SACK tells only what is held");
        r.insert(0..10).unwrap();
        assert_eq!(r.pop_front(), 20);
        assert_eq!(r.held(), 3);
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
