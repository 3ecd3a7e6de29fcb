//! Counting what smoltcp sends: RSTs and retransmissions.
//!
//! smoltcp keeps no statistics, so the wrapper reads every outbound segment.
//! A segment is a retransmission when it starts below the highest sequence
//! number already sent on its connection (RFC 9293 §3.8.1: resending what
//! was not acknowledged). A SYN with a new initial sequence number starts a
//! new record for its 4-tuple.

use std::collections::HashMap;
use std::net::SocketAddr;

use super::inspect::SegmentFacts;

/// Records kept before stale ones (of connections long gone) are pruned.
const PRUNE_ABOVE: usize = 4096;

/// Where a connection's sending stands, as seen on the wire.
#[derive(Clone, Copy, Debug)]
struct SentMark {
    /// Initial sequence number: tells a retransmitted SYN from a new one.
    iss: u32,
    /// One past the highest sequence number sent so far.
    high: u32,
}

/// (local, remote) of a connection.
pub type Tuple = (SocketAddr, SocketAddr);

#[derive(Debug, Default)]
pub struct OutboundCounter {
    marks: HashMap<Tuple, SentMark>,
    pub retransmissions: u64,
    pub resets_sent: u64,
}

impl OutboundCounter {
    pub fn count(&mut self, segment: &SegmentFacts) {
        if segment.rst {
            self.resets_sent += 1;
            return;
        }
        if segment.seq_len == 0 {
            return; // a bare ACK occupies no sequence space
        }
        let tuple = (segment.src, segment.dst);
        let end = segment.seq.wrapping_add(segment.seq_len);
        match self.marks.get_mut(&tuple) {
            Some(mark) if !(segment.syn && mark.iss != segment.seq) => {
                if seq_lt(segment.seq, mark.high) {
                    self.retransmissions += 1;
                }
                if seq_lt(mark.high, end) {
                    mark.high = end;
                }
            }
            _ => {
                let mark = SentMark {
                    iss: segment.seq,
                    high: end,
                };
                self.marks.insert(tuple, mark);
            }
        }
    }

    /// Enough records that some are likely of connections long gone (a
    /// listening socket that lost its connection before accept, say).
    pub fn needs_prune(&self) -> bool {
        self.marks.len() > PRUNE_ABOVE
    }

    /// Keeps only the records of connections for which `live` is true.
    pub fn prune(&mut self, live: impl Fn(&Tuple) -> bool) {
        self.marks.retain(|tuple, _| live(tuple));
    }

    /// One past the highest sequence number sent on `tuple`.
    pub fn sent_high(&self, tuple: &Tuple) -> Option<u32> {
        self.marks.get(tuple).map(|mark| mark.high)
    }

    pub fn forget(&mut self, tuple: &Tuple) {
        self.marks.remove(tuple);
    }
}

/// `a < b` in sequence space (RFC 9293 §3.4: arithmetic modulo 2^32).
fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(seq: u32, seq_len: u32, syn: bool) -> SegmentFacts {
        SegmentFacts {
            src: "192.0.2.2:80".parse().unwrap(),
            dst: "192.0.2.1:5000".parse().unwrap(),
            seq,
            seq_len,
            syn,
            ack: true,
            ack_number: 0,
            rst: false,
        }
    }

    #[test]
    fn resending_below_the_high_mark_counts_even_across_the_wrap() {
        let mut counter = OutboundCounter::default();
        let iss = u32::MAX - 10;
        counter.count(&segment(iss, 1, true));
        counter.count(&segment(iss.wrapping_add(1), 100, false)); // wraps past 2^32
        assert_eq!(counter.retransmissions, 0);
        counter.count(&segment(iss.wrapping_add(1), 100, false));
        counter.count(&segment(iss, 1, true)); // the SYN again
        assert_eq!(counter.retransmissions, 2);
        counter.count(&segment(iss.wrapping_add(101), 1, false)); // new data
        assert_eq!(counter.retransmissions, 2);
    }

    #[test]
    fn a_syn_with_a_new_iss_starts_a_new_connection() {
        let mut counter = OutboundCounter::default();
        counter.count(&segment(1000, 1, true));
        counter.count(&segment(1001, 500, false));
        counter.count(&segment(5, 1, true));
        counter.count(&segment(6, 10, false));
        assert_eq!(counter.retransmissions, 0);
    }

    #[test]
    fn resets_are_counted_and_bare_acks_are_not_retransmissions() {
        let mut counter = OutboundCounter::default();
        counter.count(&segment(1000, 1, true));
        counter.count(&segment(1001, 0, false));
        counter.count(&segment(1001, 0, false));
        counter.count(&SegmentFacts {
            rst: true,
            ..segment(1001, 0, false)
        });
        assert_eq!((counter.retransmissions, counter.resets_sent), (0, 1));
    }
}
