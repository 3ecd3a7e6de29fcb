//! IPv4 reassembly (RFC 791 §3.2 "reassembly", RFC 815, RFC 1122 §3.3.2):
//! fragments wait here, per (source, destination, protocol,
//! identification), until every byte of the datagram has come.
//!
//! Bounded in memory and time, as ARCHITECTURE.md asks of every queue:
//! at most `max_datagrams` datagrams and `max_bytes` of storage at once
//! (the oldest is given up to make room, as Linux's evictor does), each
//! for at most `timeout` from its first fragment (RFC 1122 §3.3.2: "MUST
//! provide a mechanism for reassembly timeout"; Linux uses 30 s).
//!
//! Overlapping fragments discard the whole datagram, as RFC 5722 asks for
//! IPv6 and Linux does for IPv4: overlaps serve only attacks that make the
//! datagram read differently here than at a firewall (RFC 1858, RFC
//! 3128). An exact duplicate of a fragment already held is dropped alone
//! (RFC 5722 Errata 3089), since networks do duplicate packets.

use std::net::Ipv4Addr;
use std::ops::Range;
use std::time::Duration;

use crate::time::Instant;
use crate::wire::Ipv4Fragment;

/// The most a datagram can carry after its 20-byte header.
const MAX_PAYLOAD: usize = 65_535 - 20;

/// Limits of reassembly; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReassemblyLimits {
    pub max_datagrams: usize,
    pub max_bytes: usize,
    pub timeout: Duration,
}

impl Default for ReassemblyLimits {
    fn default() -> ReassemblyLimits {
        ReassemblyLimits {
            max_datagrams: 64,
            max_bytes: 1024 * 1024,
            timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    ident: u16,
}

/// One datagram being put together.
struct Pending {
    key: Key,
    deadline: Instant,
    data: Vec<u8>,
    /// The byte ranges received, sorted and disjoint.
    held: Vec<Range<usize>>,
    /// The payload's length, once the last fragment (MF clear) came.
    total: Option<usize>,
}

impl Pending {
    fn is_complete(&self) -> bool {
        self.total
            .is_some_and(|total| self.held.len() == 1 && self.held[0] == (0..total))
    }
}

/// What became of a fragment.
#[derive(Debug, PartialEq, Eq)]
pub enum FragmentOutcome {
    /// Held, waiting for the rest.
    Held,
    /// The datagram is complete: its payload.
    Complete(Vec<u8>),
    /// An exact duplicate, dropped alone.
    Duplicate,
    /// Its datagram was discarded: the fragment overlapped another one,
    /// or disagreed on where the datagram ends.
    Overlap,
    /// Impossible on its own: past 65,535 bytes, or a fragment that is not
    /// the last and not a multiple of 8 bytes long (RFC 791 §3.1).
    Malformed,
}

/// The datagrams being reassembled (see the module docs).
#[derive(Default)]
pub struct Reassembly {
    limits: ReassemblyLimits,
    pending: Vec<Pending>,
    bytes: usize,
    /// Datagrams given up for their age, and for room, since last taken.
    pub timed_out: u64,
    pub evicted: u64,
}

impl Reassembly {
    pub fn new(limits: ReassemblyLimits) -> Reassembly {
        Reassembly {
            limits,
            ..Reassembly::default()
        }
    }

    /// Takes one fragment at `now`.
    pub fn insert(&mut self, now: Instant, fragment: &Ipv4Fragment) -> FragmentOutcome {
        self.expire(now);
        let range = fragment.offset..fragment.offset + fragment.payload.len();
        let misaligned = fragment.more && !fragment.payload.len().is_multiple_of(8);
        if range.end > MAX_PAYLOAD || misaligned || range.is_empty() {
            return FragmentOutcome::Malformed;
        }
        let key = Key {
            src: fragment.src,
            dst: fragment.dst,
            protocol: fragment.protocol,
            ident: fragment.ident,
        };
        let index = match self.pending.iter().position(|p| p.key == key) {
            Some(index) => index,
            None => self.start(now, key),
        };
        let pending = &mut self.pending[index];
        if pending.held.contains(&range) {
            return FragmentOutcome::Duplicate;
        }
        let overlaps = pending
            .held
            .iter()
            .any(|held| held.start < range.end && range.start < held.end);
        let end_disagrees = match (fragment.more, pending.total) {
            (false, Some(total)) => total != range.end,
            (false, None) => pending.held.iter().any(|held| held.end > range.end),
            (true, Some(total)) => range.end >= total,
            (true, None) => false,
        };
        if overlaps || end_disagrees {
            self.discard(index);
            return FragmentOutcome::Overlap;
        }
        let index = self.grow(index, range.end);
        let pending = &mut self.pending[index];
        pending.data[range.clone()].copy_from_slice(fragment.payload);
        if !fragment.more {
            pending.total = Some(range.end);
        }
        insert_range(&mut pending.held, range);
        if !pending.is_complete() {
            return FragmentOutcome::Held;
        }
        let done = self.discard(index);
        FragmentOutcome::Complete(done.data)
    }

    /// The earliest deadline of a datagram being reassembled.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending.iter().map(|p| p.deadline).min()
    }

    /// Gives up every datagram past its deadline.
    pub fn expire(&mut self, now: Instant) {
        while let Some(index) = self.pending.iter().position(|p| p.deadline <= now) {
            self.discard(index);
            self.timed_out += 1;
        }
    }

    /// Bytes of storage held, for the memory bound.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Datagrams being reassembled.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// A new datagram; the oldest is given up if the table is full.
    fn start(&mut self, now: Instant, key: Key) -> usize {
        if self.pending.len() >= self.limits.max_datagrams.max(1) {
            self.evict_oldest();
        }
        self.pending.push(Pending {
            key,
            deadline: now + self.limits.timeout,
            data: Vec::new(),
            held: Vec::new(),
            total: None,
        });
        self.pending.len() - 1
    }

    /// Makes the datagram's storage `len` bytes long, giving up older
    /// datagrams while the byte limit would be passed. Returns where the
    /// datagram is now.
    fn grow(&mut self, mut index: usize, len: usize) -> usize {
        let extra = len.saturating_sub(self.pending[index].data.len());
        while self.bytes + extra > self.limits.max_bytes && self.pending.len() > 1 {
            let oldest = self.oldest_index();
            if oldest == index {
                break;
            }
            self.discard(oldest);
            self.evicted += 1;
            if index == self.pending.len() {
                index = oldest; // `swap_remove` moved it into the gap
            }
        }
        let pending = &mut self.pending[index];
        if extra > 0 {
            pending.data.resize(len, 0);
            self.bytes += extra;
        }
        index
    }

    fn oldest_index(&self) -> usize {
        (0..self.pending.len())
            .min_by_key(|&i| self.pending[i].deadline)
            .unwrap_or(0)
    }

    fn evict_oldest(&mut self) {
        if !self.pending.is_empty() {
            let oldest = self.oldest_index();
            self.discard(oldest);
            self.evicted += 1;
        }
    }

    fn discard(&mut self, index: usize) -> Pending {
        let pending = self.pending.swap_remove(index);
        self.bytes -= pending.data.len();
        pending
    }
}

/// Adds `range` (disjoint from every held one) and merges neighbours.
fn insert_range(held: &mut Vec<Range<usize>>, range: Range<usize>) {
    let at = held.partition_point(|r| r.start < range.start);
    held.insert(at, range);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(held.len());
    for r in held.drain(..) {
        match merged.last_mut() {
            Some(last) if last.end == r.start => last.end = r.end,
            _ => merged.push(r),
        }
    }
    *held = merged;
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

    fn piece(ident: u16, offset: usize, payload: &[u8], more: bool) -> Ipv4Fragment<'_> {
        Ipv4Fragment {
            src: SRC,
            dst: DST,
            protocol: 6,
            ttl: 64,
            ident,
            offset,
            more,
            payload,
        }
    }

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn fragments_in_any_order_make_the_datagram_rfc815() {
        let mut r = Reassembly::default();
        let data: Vec<u8> = (0..24).collect();
        assert_eq!(
            r.insert(at(0), &piece(1, 16, &data[16..], false)),
            FragmentOutcome::Held
        );
        assert_eq!(
            r.insert(at(0), &piece(1, 0, &data[..8], true)),
            FragmentOutcome::Held
        );
        assert_eq!(
            r.insert(at(0), &piece(1, 8, &data[8..16], true)),
            FragmentOutcome::Complete(data.clone())
        );
        assert!(r.is_empty());
        assert_eq!(r.bytes(), 0);
    }

    #[test]
    fn overlapping_fragments_discard_the_datagram_rfc5722() {
        let mut r = Reassembly::default();
        let data = [1u8; 32];
        r.insert(at(0), &piece(1, 0, &data[..16], true));
        assert_eq!(
            r.insert(at(0), &piece(1, 8, &data[..16], true)),
            FragmentOutcome::Overlap
        );
        assert!(r.is_empty());
        // The rest of it starts a new datagram that never completes.
        assert_eq!(
            r.insert(at(0), &piece(1, 16, &data[..16], false)),
            FragmentOutcome::Held
        );
    }

    #[test]
    fn an_exact_duplicate_is_dropped_alone() {
        let mut r = Reassembly::default();
        let data = [1u8; 16];
        r.insert(at(0), &piece(1, 0, &data[..8], true));
        assert_eq!(
            r.insert(at(0), &piece(1, 0, &data[..8], true)),
            FragmentOutcome::Duplicate
        );
        assert!(matches!(
            r.insert(at(0), &piece(1, 8, &data[8..], false)),
            FragmentOutcome::Complete(_)
        ));
    }

    #[test]
    fn disagreeing_ends_discard_the_datagram() {
        let mut r = Reassembly::default();
        let data = [1u8; 32];
        r.insert(at(0), &piece(1, 8, &data[..8], false));
        assert_eq!(
            r.insert(at(0), &piece(1, 16, &data[..8], true)),
            FragmentOutcome::Overlap
        );
        r.insert(at(0), &piece(2, 16, &data[..16], true));
        assert_eq!(
            r.insert(at(0), &piece(2, 0, &data[..8], false)),
            FragmentOutcome::Overlap
        );
    }

    #[test]
    fn malformed_fragments_are_refused() {
        let mut r = Reassembly::default();
        assert_eq!(
            r.insert(at(0), &piece(1, 0, &[0; 7], true)),
            FragmentOutcome::Malformed
        );
        assert_eq!(
            r.insert(at(0), &piece(1, 65_512, &[0; 8], false)),
            FragmentOutcome::Malformed
        );
        assert!(r.is_empty());
    }

    #[test]
    fn datagrams_time_out_rfc1122_s3_3_2() {
        let mut r = Reassembly::default();
        r.insert(at(0), &piece(1, 0, &[0; 8], true));
        assert_eq!(r.next_deadline(), Some(at(30_000)));
        r.expire(at(29_999));
        assert_eq!(r.len(), 1);
        r.expire(at(30_000));
        assert!(r.is_empty());
        assert_eq!((r.timed_out, r.bytes()), (1, 0));
    }

    #[test]
    fn the_oldest_datagram_makes_room_for_new_ones() {
        let limits = ReassemblyLimits {
            max_datagrams: 2,
            max_bytes: 24,
            timeout: Duration::from_secs(30),
        };
        let mut r = Reassembly::new(limits);
        r.insert(at(0), &piece(1, 0, &[0; 8], true));
        r.insert(at(1), &piece(2, 0, &[0; 8], true));
        r.insert(at(2), &piece(3, 0, &[0; 8], true));
        assert_eq!((r.len(), r.evicted), (2, 1));
        // 16 more bytes for datagram 3 pass the byte limit: 2 goes.
        r.insert(at(3), &piece(3, 8, &[0; 16], true));
        assert_eq!((r.len(), r.evicted, r.bytes()), (1, 2, 24));
    }
}
