//! A fixed-size byte ring, the storage of both the send and the receive
//! buffer. Allocated once per connection; no allocation per packet.
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

pub struct RingBuffer {
    storage: Box<[u8]>,
    read_at: usize,
    len: usize,
}

impl RingBuffer {
    pub fn new(capacity: usize) -> RingBuffer {
        RingBuffer {
            storage: vec![0; capacity].into_boxed_slice(),
            read_at: 0,
            len: 0,
        }
    }

    pub fn capacity(&self) -> usize {
        self.storage.len()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn free(&self) -> usize {
        self.capacity() - self.len
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
        self.read_at = (self.read_at + n) % self.capacity().max(1);
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
    /// the data, without making it readable; returns how many bytes fit.
    pub fn write_unallocated(&mut self, offset: usize, data: &[u8]) -> usize {
        let room = self.free().saturating_sub(offset);
        let n = data.len().min(room);
        self.copy_in(self.read_at + self.len + offset, &data[..n]);
        n
    }

    /// Makes `n` bytes after the end of the data readable (they were put
    /// there by [`RingBuffer::write_unallocated`]).
    pub fn commit(&mut self, n: usize) {
        self.len += n.min(self.free());
    }

    fn copy_out(&self, start: usize, out: &mut [u8]) {
        let cap = self.capacity();
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
        let cap = self.capacity();
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
    fn unallocated_write_is_clipped_to_free_space() {
        let mut ring = RingBuffer::new(4);
        assert_eq!(ring.write_unallocated(2, b"abcdef"), 2);
        assert_eq!(ring.write_unallocated(5, b"z"), 0);
    }
}
