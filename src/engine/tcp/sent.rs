//! The sender's log of segments in flight: for each one, its sequence
//! range, when it was last sent, and what is known about it. RACK (RFC
//! 8985 §5.1) needs exactly this: "for each segment: its xmit_ts, end_seq,
//! lost and retransmitted flags", so that loss is judged by *time* (was a
//! segment sent after this one delivered a round trip ago?) rather than
//! by counting duplicate ACKs.
//!
//! ```text
//!   SND.UNA                                                     SND.MAX
//!     | seg 1 | seg 2 | seg 3 (sacked) | seg 4 | seg 5 (sacked) |
//!     sent_at t1  t1      t1            t1  resent t9   t2
//! ```
//!
//! Records are kept in sequence order, in storage that grows by doubling
//! as segments go out and is given back when the connection is idle
//! (`release_if_empty`), up to a limit set from the largest send buffer
//! (one record per smallest segment it can hold, so full-sized segments
//! never reach it; at most [`MAX_SEGMENTS`]); past that, new data is
//! merged into the last record (its loss is then judged a little later,
//! never wrongly earlier).

use std::collections::VecDeque;

use super::rate::RateSnapshot;
use crate::time::Instant;
use crate::wire::SeqNum;

/// The least limit, for tiny send buffers.
pub const MIN_SEGMENTS: usize = 128;
/// The most records per connection, whatever the buffer: a 4 MiB send
/// buffer of full-sized segments is under 3,000.
pub const MAX_SEGMENTS: usize = 4096;

/// One transmitted segment (RFC 8985 §5.1's per-segment variables).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentSegment {
    pub start: SeqNum,
    /// One past its last sequence number (a FIN included).
    pub end: SeqNum,
    /// Segment.xmit_ts: when it was last (re)transmitted.
    pub sent_at: Instant,
    /// Segment.retransmitted: sent more than once.
    pub retransmitted: bool,
    /// Segment.lost: judged lost and not sent again since.
    pub lost: bool,
    /// Every byte of it has been SACKed.
    pub sacked: bool,
    /// The delivery rate estimator's state when it was (last) sent
    /// (draft-cheng-iccrg-delivery-rate-estimation §3.2).
    pub rate: RateSnapshot,
}

/// The segments between SND.UNA and SND.MAX, in sequence order.
pub struct SentLog {
    segments: VecDeque<SentSegment>,
    /// Most records kept (bounded memory: ARCHITECTURE.md).
    limit: usize,
}

impl Default for SentLog {
    fn default() -> SentLog {
        SentLog::with_limit(MIN_SEGMENTS)
    }
}

impl SentLog {
    /// A log for a send buffer of `send_buffer` bytes, sent in segments of
    /// at least `min_segment` bytes but for the last of a write: room for
    /// every one of them in flight at once.
    pub fn for_send_buffer(send_buffer: usize, min_segment: usize) -> SentLog {
        let limit = send_buffer.div_ceil(min_segment.max(1));
        SentLog::with_limit(limit.clamp(MIN_SEGMENTS, MAX_SEGMENTS))
    }

    fn with_limit(limit: usize) -> SentLog {
        SentLog {
            segments: VecDeque::new(),
            limit,
        }
    }

    /// Bytes of storage held for records.
    pub fn heap_bytes(&self) -> usize {
        self.segments.capacity() * std::mem::size_of::<SentSegment>()
    }

    /// Gives the storage back if nothing is in flight (an idle connection).
    pub fn release_if_empty(&mut self) {
        if self.segments.is_empty() {
            self.segments = VecDeque::new();
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &SentSegment> {
        self.segments.iter()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut SentSegment> {
        self.segments.iter_mut()
    }

    pub fn last(&self) -> Option<&SentSegment> {
        self.segments.back()
    }

    pub fn clear(&mut self) {
        self.segments.clear();
    }

    /// RFC 8985 §6.1: a segment went out at `now`. New data is appended;
    /// a retransmission restamps the records it covers (split first, so
    /// a partial resend does not restamp bytes that were not resent).
    /// `rate` is the delivery rate snapshot of this transmission.
    pub fn on_sent(&mut self, start: SeqNum, end: SeqNum, now: Instant, rate: RateSnapshot) {
        let new_from = self
            .segments
            .back()
            .map_or(start, |last| last.end.max(start));
        if start < new_from {
            self.split_at(start);
            self.split_at(end.min(new_from));
            for seg in self.segments.iter_mut() {
                if seg.start >= start && seg.end <= end {
                    seg.sent_at = now;
                    seg.retransmitted = true;
                    seg.lost = false;
                    seg.rate = rate;
                }
            }
        }
        if end > new_from {
            self.append(new_from, end, now, rate);
        }
    }

    fn append(&mut self, start: SeqNum, end: SeqNum, now: Instant, rate: RateSnapshot) {
        if self.segments.len() >= self.limit {
            if let Some(last) = self.segments.back_mut() {
                last.end = end;
                last.sent_at = now;
                last.sacked = false;
                last.rate = rate;
                return;
            }
        }
        self.segments.push_back(SentSegment {
            start,
            end,
            sent_at: now,
            retransmitted: false,
            lost: false,
            sacked: false,
            rate,
        });
    }

    /// Splits the record containing `at` in two, if there is room.
    fn split_at(&mut self, at: SeqNum) {
        if self.segments.len() >= self.limit {
            return;
        }
        let Some(i) = self
            .segments
            .iter()
            .position(|s| s.start < at && at < s.end)
        else {
            return;
        };
        let mut tail = self.segments[i];
        tail.start = at;
        self.segments[i].end = at;
        self.segments.insert(i + 1, tail);
    }

    /// SND.UNA moved to `snd_una`: the records it covers are delivered;
    /// each one not already SACKed is passed to `delivered`.
    pub fn acknowledge(&mut self, snd_una: SeqNum, mut delivered: impl FnMut(&SentSegment)) {
        while let Some(first) = self.segments.front_mut() {
            if first.end <= snd_una {
                if !first.sacked {
                    delivered(first);
                }
                self.segments.pop_front();
            } else {
                first.start = first.start.max(snd_una);
                break;
            }
        }
    }

    /// Marks records whose every byte `is_sacked` says was SACKed; each
    /// newly SACKed record is passed to `delivered`.
    pub fn mark_sacked(
        &mut self,
        is_sacked: impl Fn(SeqNum, SeqNum) -> bool,
        mut delivered: impl FnMut(&SentSegment),
    ) {
        for seg in self.segments.iter_mut().filter(|s| !s.sacked) {
            if is_sacked(seg.start, seg.end) {
                seg.sacked = true;
                seg.lost = false;
                delivered(seg);
            }
        }
    }

    /// The receiver reneged (RFC 2018 §8): nothing counts as SACKed.
    pub fn forget_sacks(&mut self) {
        for seg in self.segments.iter_mut() {
            seg.sacked = false;
        }
    }

    pub fn sacked_count(&self) -> usize {
        self.segments.iter().filter(|s| s.sacked).count()
    }

    /// The first segment judged lost and not resent since.
    pub fn first_lost(&self) -> Option<&SentSegment> {
        self.segments.iter().find(|s| s.lost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn new_data_appends_and_retransmissions_restamp_rfc_8985_s6_1() {
        let mut log = SentLog::default();
        log.on_sent(SeqNum(100), SeqNum(200), t(1), RateSnapshot::default());
        log.on_sent(SeqNum(200), SeqNum(300), t(2), RateSnapshot::default());
        log.on_sent(SeqNum(100), SeqNum(150), t(9), RateSnapshot::default());
        let segs: Vec<_> = log
            .iter()
            .map(|s| (s.start.0, s.end.0, s.retransmitted))
            .collect();
        assert_eq!(
            segs,
            [(100, 150, true), (150, 200, false), (200, 300, false)]
        );
        assert_eq!(log.iter().next().unwrap().sent_at, t(9));
    }

    #[test]
    fn acknowledged_and_sacked_segments_are_delivered_once() {
        let mut log = SentLog::default();
        for i in 0..4u32 {
            log.on_sent(
                SeqNum(i * 100),
                SeqNum(i * 100 + 100),
                t(u64::from(i)),
                RateSnapshot::default(),
            );
        }
        let mut delivered = Vec::new();
        log.mark_sacked(|from, _| from == SeqNum(200), |s| delivered.push(s.start.0));
        log.mark_sacked(|from, _| from == SeqNum(200), |s| delivered.push(s.start.0));
        log.acknowledge(SeqNum(300), |s| delivered.push(s.start.0));
        assert_eq!(delivered, [200, 0, 100]);
        assert_eq!(log.iter().count(), 1);
    }

    #[test]
    fn the_log_is_bounded_and_merges_at_the_end() {
        let mut log = SentLog::default();
        for i in 0..(MIN_SEGMENTS as u32 + 5) {
            log.on_sent(
                SeqNum(i * 10),
                SeqNum(i * 10 + 10),
                t(1),
                RateSnapshot::default(),
            );
        }
        assert_eq!(log.iter().count(), MIN_SEGMENTS);
        assert_eq!(
            log.last().unwrap().end,
            SeqNum((MIN_SEGMENTS as u32 + 5) * 10)
        );
    }

    #[test]
    fn the_log_grows_with_the_window_a_segment_each() {
        // A 1 MB send buffer of 1460-byte segments: 719 in flight at once,
        // each judged on its own by RACK, none merged.
        let mut log = SentLog::for_send_buffer(1 << 20, 1460);
        let n = (1u32 << 20) / 1460;
        for i in 0..n {
            log.on_sent(
                SeqNum(i * 1460),
                SeqNum(i * 1460 + 1460),
                t(1),
                RateSnapshot::default(),
            );
        }
        assert_eq!(log.iter().count(), n as usize);
        assert!(log.iter().all(|s| s.end.since(s.start) == 1460));
    }
}
