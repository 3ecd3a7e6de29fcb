//! Buffers sized to the path, as Linux sizes them.
//!
//! Receive side, dynamic right-sizing (Linux `tcp_rcv_space_adjust`, after
//! Fisk and Feng's DRS): once per round trip, count the bytes the
//! application read. If it read more than in the round trip before, the
//! peer is (or could be) sending faster, so the receive buffer grows to
//! about twice that, plus room for the sender's growth in the next round
//! trip. A reader that does not keep up reads little per round trip and
//! the buffer stays as it is: the window is not opened for data that would
//! only wait. Growth only raises the capacity, so the advertised right
//! edge only moves right (RFC 9293 §3.10.7.4: "The total of RCV.NXT and
//! RCV.WND should not be reduced"); the Window Scale offered on the SYN
//! was computed from the maximum, so the larger window can be expressed
//! (RFC 7323 §2.3).
//!
//! Send side: the send buffer keeps room for about twice the congestion
//! window (Linux `tcp_sndbuf_expand`), bounded by the peer's largest
//! window, so a fast path is never starved by a small buffer.
//!
//! Both stop at their configured maximum and at the memory budget.

use std::time::Duration;

use log::trace;

use super::tcb::Tcb;
use crate::time::Instant;

/// Linux `TCP_INIT_CWND`: the first round trip's worth of data a sender
/// may send (RFC 6928), the measure the first growth is compared with.
const INITIAL_SPACE_SEGMENTS: usize = 10;
/// Linux adds 16 segments of headroom to twice what was read.
const HEADROOM_SEGMENTS: usize = 16;

/// What the receive side measured (Linux `rcvq_space`).
#[derive(Debug)]
pub struct ReceiveAutotune {
    /// Bytes read in the best round trip so far (`rcvq_space.space`).
    space: usize,
    /// Bytes the application has read, all told (`copied_seq`).
    read_total: u64,
    /// `read_total` when the current round trip began (`rcvq_space.seq`).
    mark_read: u64,
    /// When the current round trip began (`rcvq_space.time`).
    mark_time: Option<Instant>,
}

impl ReceiveAutotune {
    pub fn new(buffer: usize, mss: usize) -> ReceiveAutotune {
        ReceiveAutotune {
            space: buffer.min(INITIAL_SPACE_SEGMENTS * mss).max(1),
            read_total: 0,
            mark_read: 0,
            mark_time: None,
        }
    }

    /// The application read `n` bytes.
    pub fn on_read(&mut self, n: usize) {
        self.read_total += n as u64;
    }

    /// Once a round trip (`rtt`) has passed since the last measurement:
    /// the receive buffer to aim for, if the application read more in it
    /// than ever before. Linux's formula: twice what was read (one round
    /// trip in flight, one for losses) plus 16 segments, plus twice the
    /// growth over the last best, since a sender in slow start doubles.
    pub fn measure(&mut self, now: Instant, rtt: Duration, mss: usize) -> Option<usize> {
        let Some(start) = self.mark_time else {
            self.start_round(now);
            return None;
        };
        if now.saturating_duration_since(start) < rtt {
            return None;
        }
        let read = usize::try_from(self.read_total - self.mark_read).unwrap_or(usize::MAX);
        self.start_round(now);
        if read <= self.space {
            return None;
        }
        let base = read
            .saturating_mul(2)
            .saturating_add(HEADROOM_SEGMENTS * mss);
        let growth = (base as u128 * (read - self.space) as u128 / self.space as u128)
            .min(usize::MAX as u128) as usize;
        self.space = read;
        Some(base.saturating_add(growth.saturating_mul(2)))
    }

    fn start_round(&mut self, now: Instant) {
        self.mark_read = self.read_total;
        self.mark_time = Some(now);
    }
}

impl Tcb {
    /// In-order data arrived at `now`: the receive buffer may grow (see
    /// the module docs). Needs a round-trip estimate, as Linux does.
    pub(super) fn autotune_receive(&mut self, now: Instant) {
        let Some(rtt) = self.rtt.srtt() else { return };
        let mss = usize::from(self.cfg.our_mss);
        let Some(target) = self.autotune.measure(now, rtt, mss) else {
            return;
        };
        let target = target.min(self.cfg.recv_buffer_max);
        if target > self.recv_buf.capacity() && self.recv_buf.grow_capacity(target) {
            trace!(
                "{} <- {}: receive buffer grows to {target}",
                self.local,
                self.remote
            );
        }
    }

    /// Before the application queues data: room for twice the congestion
    /// window, or the peer's largest window if that is smaller (more
    /// could not be in flight anyway), up to the maximum.
    pub(super) fn autotune_send(&mut self) {
        let in_flight_at_most = self.cc.cwnd.min(self.max_snd_wnd.max(self.send_mss));
        let target = in_flight_at_most
            .saturating_mul(2)
            .min(self.cfg.send_buffer_max);
        if target > self.send_buf.capacity() {
            self.send_buf.grow_capacity(target);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: usize = 1000;
    const RTT: Duration = Duration::from_millis(10);

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn a_reader_that_keeps_up_grows_the_target_each_round_trip() {
        let mut tune = ReceiveAutotune::new(64_000, MSS);
        assert_eq!(
            tune.measure(at(0), RTT, MSS),
            None,
            "first call starts a round"
        );
        tune.on_read(20_000); // more than 10 segments in one round trip
        let first = tune.measure(at(10), RTT, MSS).unwrap();
        assert!(first >= 2 * 20_000 + 16 * MSS, "{first}");
        tune.on_read(40_000);
        let second = tune.measure(at(20), RTT, MSS).unwrap();
        assert!(second > first, "{second} after {first}");
    }

    #[test]
    fn nothing_read_or_less_than_before_means_no_growth() {
        let mut tune = ReceiveAutotune::new(64_000, MSS);
        tune.measure(at(0), RTT, MSS);
        assert_eq!(tune.measure(at(10), RTT, MSS), None);
        tune.on_read(30_000);
        assert!(tune.measure(at(20), RTT, MSS).is_some());
        tune.on_read(20_000);
        assert_eq!(tune.measure(at(30), RTT, MSS), None);
    }

    #[test]
    fn measures_once_per_round_trip() {
        let mut tune = ReceiveAutotune::new(64_000, MSS);
        tune.measure(at(0), RTT, MSS);
        tune.on_read(50_000);
        assert_eq!(tune.measure(at(5), RTT, MSS), None, "half a round trip");
        assert!(tune.measure(at(10), RTT, MSS).is_some());
    }
}
