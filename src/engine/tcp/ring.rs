//! A byte ring, the storage of both the send and the receive buffer.
//!
//! ```text
//!   read position            read + len                 capacity
//!        |<-------- data -------->|<------ free space ------>|
//! ```
//!
//! Besides queue/dequeue it can read at an offset inside the data (the send
//! side retransmits without dequeuing until ACKed) and write at an offset
//! inside the free space (the receive side stores out-of-order segments
//! where they belong, then [`RingBuffer::commit`]s them once the hole before
//! them is filled).
//!
//! Memory follows use. The *capacity* is what the buffer may hold (what the
//! receive window is computed from); the *storage* behind it is allocated
//! only when bytes arrive, doubled when they need more room (so growth costs
//! amortized O(1) and a connection in steady state allocates nothing), and
//! given back by [`RingBuffer::release_if_empty`] when the connection is
//! idle. Storage is charged to the engine's [`MemoryBudget`]; past it the
//! storage stops growing and writes store only what fits.

use crate::engine::memory::MemoryBudget;

/// The first storage a buffer gets: small writes (a line typed into `nc`)
/// cost no more than this.
pub const MIN_STORAGE: usize = 4096;

pub struct RingBuffer {
    storage: Vec<u8>,
    read_at: usize,
    len: usize,
    /// Bytes past the data that out-of-order writes have filled, as far as
    /// they reach: kept when the storage grows.
    written_past: usize,
    capacity: usize,
    budget: MemoryBudget,
}

impl RingBuffer {
    /// A ring of `capacity` bytes outside any budget (tests, tools).
    pub fn new(capacity: usize) -> RingBuffer {
        RingBuffer::with_budget(capacity, MemoryBudget::unlimited())
    }

    /// A ring that may hold `capacity` bytes, its storage charged to
    /// `budget`. Nothing is allocated yet.
    pub fn with_budget(capacity: usize, budget: MemoryBudget) -> RingBuffer {
        RingBuffer {
            storage: Vec::new(),
            read_at: 0,
            len: 0,
            written_past: 0,
            capacity,
            budget,
        }
    }

    /// How many bytes the buffer may hold (not what is allocated).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes of storage allocated now.
    pub fn allocated(&self) -> usize {
        self.storage.len()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn free(&self) -> usize {
        self.capacity - self.len
    }

    /// Raises the capacity to `capacity` if the budget has room for it;
    /// returns whether it now is at least that. Capacity never shrinks: a
    /// receive window once offered must stay offered (RFC 9293 §3.10.7.4).
    pub fn grow_capacity(&mut self, capacity: usize) -> bool {
        if capacity <= self.capacity {
            return true;
        }
        if !self.budget.has_room(capacity - self.capacity) {
            self.budget.note_refused();
            return false;
        }
        self.capacity = capacity;
        true
    }

    /// Gives the storage back when it holds nothing (no data, no
    /// out-of-order bytes); the capacity stays. True if anything was freed.
    pub fn release_if_empty(&mut self) -> bool {
        if self.len > 0 || self.written_past > 0 || self.storage.is_empty() {
            return false;
        }
        self.budget.release(self.storage.len());
        self.storage = Vec::new();
        self.read_at = 0;
        true
    }

    /// Makes storage for `n` bytes written `offset` bytes past the data,
    /// growing it if the capacity and budget allow; returns how many of
    /// the `n` bytes fit now.
    pub fn make_room(&mut self, offset: usize, n: usize) -> usize {
        let want = (self.len + offset + n).min(self.capacity);
        if want > self.storage.len() {
            self.grow_storage(want);
        }
        self.storage.len().saturating_sub(self.len + offset).min(n)
    }

    /// Reallocates to at least `want` bytes (doubling, from
    /// [`MIN_STORAGE`], at most the capacity), with the data and the
    /// out-of-order bytes moved to the front. Refused past the budget.
    fn grow_storage(&mut self, want: usize) {
        let old = self.storage.len();
        let size = want
            .next_power_of_two()
            .max(old * 2)
            .max(MIN_STORAGE)
            .min(self.capacity)
            .max(want);
        if !self.budget.try_charge(size - old) {
            return;
        }
        let mut storage = vec![0u8; size];
        let kept = (self.len + self.written_past).min(old);
        self.copy_out(self.read_at, &mut storage[..kept]);
        self.storage = storage;
        self.read_at = 0;
    }

    /// Appends as much of `data` as fits; returns how much that was.
    pub fn enqueue(&mut self, data: &[u8]) -> usize {
        let n = self.write_unallocated(0, data);
        self.commit(n);
        n
    }

    /// Takes up to `out.len()` bytes from the front.
    pub fn dequeue(&mut self, out: &mut [u8]) -> usize {
        let n = self.read_at(0, out);
        self.discard(n);
        n
    }

    /// Drops `n` bytes from the front (bytes the peer has acknowledged).
    pub fn discard(&mut self, n: usize) {
        let n = n.min(self.len);
        self.read_at = (self.read_at + n) % self.storage.len().max(1);
        self.len -= n;
    }

    /// Copies data starting `offset` bytes after the front into `out`,
    /// without removing it; returns how many bytes were copied.
    pub fn read_at(&self, offset: usize, out: &mut [u8]) -> usize {
        let available = self.len.saturating_sub(offset);
        let n = out.len().min(available);
        self.copy_out(self.read_at + offset, &mut out[..n]);
        n
    }

    /// Writes `data` into the free space, `offset` bytes after the end of
    /// the data, without making it readable; returns how many bytes fit
    /// (in the capacity, and in storage the budget allows).
    pub fn write_unallocated(&mut self, offset: usize, data: &[u8]) -> usize {
        let room = self.free().saturating_sub(offset);
        let n = self.make_room(offset, data.len().min(room));
        self.copy_in(self.read_at + self.len + offset, &data[..n]);
        self.written_past = self.written_past.max(offset + n);
        n
    }

    /// Makes `n` bytes after the end of the data readable (they were put
    /// there by [`RingBuffer::write_unallocated`]).
    pub fn commit(&mut self, n: usize) {
        let n = n.min(self.free()).min(self.storage.len() - self.len);
        self.len += n;
        self.written_past = self.written_past.saturating_sub(n);
    }

    /// Forgets the out-of-order bytes past the data (the connection will
    /// not deliver them), so the storage can be released.
    pub fn forget_unallocated(&mut self) {
        self.written_past = 0;
    }

    /// Forgets the out-of-order bytes from `offset` past the data on
    /// (pruned: they will not be delivered).
    pub fn forget_past(&mut self, offset: usize) {
        self.written_past = self.written_past.min(offset);
    }

    /// Gives back storage no longer needed for the data and the
    /// out-of-order bytes kept (after pruning): reallocates to the
    /// smallest power of two that holds them, if that is at most half of
    /// what is allocated. Returns the bytes given back.
    pub fn shrink_storage(&mut self) -> usize {
        let old = self.storage.len();
        let kept = self.len + self.written_past;
        let size = kept.next_power_of_two().max(MIN_STORAGE);
        if kept == 0 {
            return if self.release_if_empty() { old } else { 0 };
        }
        if size > old / 2 {
            return 0;
        }
        let mut storage = vec![0u8; size];
        self.copy_out(self.read_at, &mut storage[..kept]);
        self.storage = storage;
        self.read_at = 0;
        self.budget.release(old - size);
        old - size
    }

    fn copy_out(&self, start: usize, out: &mut [u8]) {
        let cap = self.storage.len();
        if cap == 0 {
            return;
        }
        let start = start % cap;
        let first = out.len().min(cap - start);
        out[..first].copy_from_slice(&self.storage[start..start + first]);
        let rest = out.len() - first;
        out[first..].copy_from_slice(&self.storage[..rest]);
    }

    fn copy_in(&mut self, start: usize, data: &[u8]) {
        let cap = self.storage.len();
        if cap == 0 {
            return;
        }
        let start = start % cap;
        let first = data.len().min(cap - start);
        self.storage[start..start + first].copy_from_slice(&data[..first]);
        let rest = data.len() - first;
        self.storage[..rest].copy_from_slice(&data[first..]);
    }
}

impl Drop for RingBuffer {
    fn drop(&mut self) {
        self.budget.release(self.storage.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enqueue_stops_when_full_and_dequeue_wraps_around() {
        let mut ring = RingBuffer::new(8);
        assert_eq!(ring.enqueue(b"abcdef"), 6);
        let mut out = [0u8; 4];
        assert_eq!(ring.dequeue(&mut out), 4);
        assert_eq!(&out, b"abcd");
        assert_eq!(ring.enqueue(b"ghijklmn"), 6); // wraps; only 6 free
        let mut all = [0u8; 16];
        assert_eq!(ring.dequeue(&mut all), 8);
        assert_eq!(&all[..8], b"efghijkl");
        assert!(ring.is_empty());
    }

    #[test]
    fn read_at_does_not_consume() {
        let mut ring = RingBuffer::new(8);
        ring.enqueue(b"abcdef");
        let mut out = [0u8; 3];
        assert_eq!(ring.read_at(2, &mut out), 3);
        assert_eq!(&out, b"cde");
        assert_eq!(ring.read_at(5, &mut out), 1);
        assert_eq!(ring.read_at(9, &mut out), 0);
        assert_eq!(ring.len(), 6);
    }

    #[test]
    fn out_of_order_write_becomes_readable_after_commit() {
        let mut ring = RingBuffer::new(8);
        ring.enqueue(b"xx");
        let mut out = [0u8; 2];
        ring.dequeue(&mut out);
        // Bytes 3..5 arrive before 0..3.
        assert_eq!(ring.write_unallocated(3, b"de"), 2);
        assert_eq!(ring.write_unallocated(0, b"abc"), 3);
        assert_eq!(ring.len(), 0);
        ring.commit(5);
        let mut all = [0u8; 8];
        assert_eq!(ring.dequeue(&mut all), 5);
        assert_eq!(&all[..5], b"abcde");
    }

    #[test]
    fn shrinking_keeps_data_and_kept_out_of_order_bytes_and_gives_storage_back() {
        let budget = MemoryBudget::new(1 << 20);
        let mut ring = RingBuffer::with_budget(1 << 16, budget.clone());
        ring.enqueue(b"abc");
        assert_eq!(ring.write_unallocated(40_000, b"far"), 3);
        assert_eq!(ring.write_unallocated(10, b"near"), 4);
        assert_eq!(ring.allocated(), 1 << 16);
        ring.forget_past(14);
        assert_eq!(ring.shrink_storage(), (1 << 16) - MIN_STORAGE);
        assert_eq!(budget.used(), MIN_STORAGE);
        assert_eq!(ring.write_unallocated(0, b"0123456789"), 10);
        ring.commit(14);
        let mut all = [0u8; 32];
        assert_eq!(ring.dequeue(&mut all), 17);
        assert_eq!(&all[..17], b"abc0123456789near");
        assert_eq!(ring.shrink_storage(), MIN_STORAGE, "empty: all given back");
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn unallocated_write_is_clipped_to_free_space() {
        let mut ring = RingBuffer::new(4);
        assert_eq!(ring.write_unallocated(2, b"abcdef"), 2);
        assert_eq!(ring.write_unallocated(5, b"z"), 0);
    }
}
