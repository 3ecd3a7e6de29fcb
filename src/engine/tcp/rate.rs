//! Delivery rate estimation (draft-cheng-iccrg-delivery-rate-estimation-02,
//! the "Delivery Rate Samples" of the BBR draft; Linux's `tcp_rate.c`):
//! on each ACK that delivers data, how many bytes the network delivered
//! over how long, as BBR's bandwidth model needs it.
//!
//! Each segment carries, from when it was (last) sent, the connection's
//! count of delivered bytes and when that count last moved (§3.2). When
//! the segment is later delivered (ACKed or SACKed), the bytes delivered
//! since, divided by the longer of the send and ACK intervals (§3.3, the
//! longer one cannot overstate the rate: ACK compression shortens the
//! one, a burst sent at once the other), is the sample.
//!
//! ```text
//!   send:    P.delivered = C.delivered, P.delivered_time = C.delivered_time,
//!            P.first_sent_time = C.first_sent_time
//!   deliver: rs.delivered = C.delivered - P.delivered
//!            rs.interval  = max(P.sent_at - P.first_sent_time,
//!                               now - P.delivered_time)
//! ```

use std::time::Duration;

use super::sent::SentSegment;
use crate::time::Instant;

/// The connection's state at the time a segment was sent (§3.2): what the
/// per-packet fields P.delivered, P.delivered_time, P.first_sent_time and
/// P.is_app_limited hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateSnapshot {
    pub delivered: u64,
    pub delivered_time: Instant,
    pub first_sent_time: Instant,
    pub app_limited: bool,
}

/// One ACK's rate sample (§3.3's `rs`), from the newest segment it
/// delivered. An ACK that delivered nothing, or whose interval is too
/// short to trust, gives no rate (`interval` is `None`) but still its
/// counts of delivered and lost bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateSample {
    /// Bytes delivered over `interval`.
    pub delivered: u64,
    /// max(send_elapsed, ack_elapsed).
    pub interval: Option<Duration>,
    /// C.delivered when the newest delivered segment was sent: a round
    /// trip has passed when it reaches the count at the round's start.
    pub prior_delivered: Option<u64>,
    /// Sent while the application, not the network, limited the rate:
    /// the sample may understate the path's bandwidth.
    pub app_limited: bool,
    /// Round trip of the newest delivered segment, unless it was a
    /// retransmission (Karn: which copy was delivered is unknown).
    pub rtt: Option<Duration>,
    /// Bytes this ACK delivered (ACKed or SACKed), and those it caused
    /// to be marked lost.
    pub newly_delivered: u64,
    pub newly_lost: u64,
}

impl RateSample {
    /// The delivery rate, bytes per second (§3.3: "delivered / interval").
    pub fn bytes_per_sec(&self) -> Option<f64> {
        let interval = self.interval?;
        Some(self.delivered as f64 / interval.as_secs_f64())
    }
}

/// The newest segment delivered by the ACK being processed (§3.3's
/// UpdateRateSample keeps the fields of "the most recently sent" one).
#[derive(Clone, Copy, Debug)]
struct Newest {
    snapshot: RateSnapshot,
    sent_at: Instant,
    retransmitted: bool,
}

/// The connection's variables (§3.1: C.delivered, C.delivered_time,
/// C.first_sent_time, C.app_limited) and the sample being built.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeliveryRate {
    delivered: u64,
    delivered_time: Instant,
    first_sent_time: Instant,
    /// C.app_limited: the delivered count at which the application-
    /// limited bubble is gone; 0 when not application limited.
    app_limited_until: u64,
    newest: Option<Newest>,
    newly_delivered: u64,
    newly_lost: u64,
}

impl DeliveryRate {
    /// C.delivered: bytes delivered (ACKed or SACKed) so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// §3.2 SendPacket: a segment goes out at `now`; `idle` when nothing
    /// else is in flight (the intervals restart there, so an idle period
    /// is not counted as delivery time).
    pub fn on_send(&mut self, now: Instant, idle: bool) -> RateSnapshot {
        if idle {
            self.first_sent_time = now;
            self.delivered_time = now;
        }
        RateSnapshot {
            delivered: self.delivered,
            delivered_time: self.delivered_time,
            first_sent_time: self.first_sent_time,
            app_limited: self.app_limited_until != 0,
        }
    }

    /// §3.3 UpdateRateSample for one segment newly delivered at `now`
    /// (the sent log passes each one once, SACKed or ACKed).
    pub fn on_delivered(&mut self, seg: &SentSegment, now: Instant) {
        let bytes = seg.end.since(seg.start) as u64;
        self.delivered += bytes;
        self.newly_delivered += bytes;
        self.delivered_time = now;
        let newer = self
            .newest
            .is_none_or(|n| seg.rate.delivered > n.snapshot.delivered || seg.sent_at > n.sent_at);
        if newer {
            self.newest = Some(Newest {
                snapshot: seg.rate,
                sent_at: seg.sent_at,
                retransmitted: seg.retransmitted,
            });
            // "C.first_sent_time = P.send_time": the next send interval
            // starts at this segment's.
            self.first_sent_time = seg.sent_at;
        }
    }

    /// Bytes newly marked lost while processing this ACK (BBR's
    /// rs->losses).
    pub fn on_lost(&mut self, bytes: usize) {
        self.newly_lost += bytes as u64;
    }

    /// §3.4 CheckIfApplicationLimited: the sender has less than a
    /// segment to send and room in cwnd for it, with `in_flight` bytes
    /// out: samples taken until what is now in flight is delivered may
    /// be limited by the application.
    pub fn mark_app_limited(&mut self, in_flight: usize) {
        self.app_limited_until = (self.delivered + in_flight as u64).max(1);
    }

    /// §3.3 GenerateRateSample, once the ACK's deliveries are in. The
    /// interval is not trusted when shorter than `min_rtt` (the draft's
    /// "rs.interval < MinRTT" rule, which catches the ACKs of a burst
    /// whose send interval was cut short).
    pub fn take_sample(&mut self, now: Instant, min_rtt: Option<Duration>) -> RateSample {
        if self.app_limited_until != 0 && self.delivered > self.app_limited_until {
            self.app_limited_until = 0;
        }
        let mut sample = RateSample {
            newly_delivered: std::mem::take(&mut self.newly_delivered),
            newly_lost: std::mem::take(&mut self.newly_lost),
            ..RateSample::default()
        };
        let Some(newest) = self.newest.take() else {
            return sample;
        };
        let send_elapsed = newest.sent_at - newest.snapshot.first_sent_time;
        let ack_elapsed = self.delivered_time - newest.snapshot.delivered_time;
        let interval = send_elapsed.max(ack_elapsed);
        sample.delivered = self.delivered - newest.snapshot.delivered;
        sample.prior_delivered = Some(newest.snapshot.delivered);
        sample.app_limited = newest.snapshot.app_limited;
        sample.rtt = (!newest.retransmitted).then(|| now - newest.sent_at);
        let trusted = !interval.is_zero() && min_rtt.is_none_or(|min| interval >= min);
        sample.interval = trusted.then_some(interval);
        sample
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::SeqNum;

    const MSS: u32 = 1000;

    fn t(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn segment(i: u32, sent_at: Instant, rate: RateSnapshot) -> SentSegment {
        SentSegment {
            start: SeqNum(i * MSS),
            end: SeqNum((i + 1) * MSS),
            sent_at,
            retransmitted: false,
            lost: false,
            sacked: false,
            rate,
        }
    }

    /// A window of 10 segments sent at once every 100 ms round trip, ACKed
    /// one by one over the next 10 ms: after the first flight, each ACK's
    /// sample covers the bytes delivered since the ACKed segment was sent
    /// over the round trip: 10 segments per 100 ms.
    #[test]
    fn steady_flights_give_the_delivery_rate_draft_cheng_s3_3() {
        let mut rate = DeliveryRate::default();
        let mut in_flight: Vec<SentSegment> = (0..10)
            .map(|i| segment(i, t(0), rate.on_send(t(0), i == 0)))
            .collect();
        let mut next = 10;
        let mut samples = Vec::new();
        for round in 1..=3u64 {
            for k in 0..10u64 {
                let now = t(round * 100 + k);
                let seg = in_flight.remove(0);
                rate.on_delivered(&seg, now);
                samples.push(rate.take_sample(now, None));
                let snapshot = rate.on_send(now, false);
                in_flight.push(segment(next, now, snapshot));
                next += 1;
            }
        }
        let last = samples.last().unwrap();
        assert_eq!(last.delivered, 10 * u64::from(MSS));
        assert_eq!(last.interval, Some(Duration::from_millis(100)));
        assert!((last.bytes_per_sec().unwrap() - 100_000.0).abs() < 1.0);
        assert_eq!(last.rtt, Some(Duration::from_millis(100)));
        assert!(samples.iter().all(|s| s.interval.is_some()));
        assert_eq!(rate.delivered(), 30 * u64::from(MSS));
    }

    /// §3.3: the interval is the longer of the send and ACK intervals.
    /// Five segments sent over 50 ms whose ACKs come compressed within
    /// 1 ms of the previous delivery would otherwise show 50 times the
    /// rate; a burst sent at once and ACKed over 50 ms likewise.
    #[test]
    fn ack_compression_does_not_inflate_the_rate_draft_cheng_s3_3() {
        let mut rate = DeliveryRate::default();
        let first = segment(0, t(0), rate.on_send(t(0), true));
        rate.on_delivered(&first, t(99));
        rate.take_sample(t(99), None);
        // Sent 50 ms after the newest delivered one was (t(0)), while the
        // last delivery was at 99 ms.
        let snapshot = RateSnapshot {
            delivered: 1000,
            delivered_time: t(99),
            first_sent_time: t(0),
            app_limited: false,
        };
        for i in 1..6 {
            rate.on_delivered(&segment(i, t(50), snapshot), t(100));
        }
        let sample = rate.take_sample(t(100), None);
        assert_eq!(sample.delivered, 5 * u64::from(MSS));
        assert_eq!(sample.interval, Some(Duration::from_millis(50)));
        assert_eq!(sample.newly_delivered, 5 * u64::from(MSS));
    }

    /// §3.4: segments sent while the application had nothing more to send
    /// give samples marked application limited, until what was in flight
    /// then is delivered.
    #[test]
    fn app_limited_marks_samples_until_the_bubble_is_delivered_draft_cheng_s3_4() {
        let mut rate = DeliveryRate::default();
        let first = segment(0, t(0), rate.on_send(t(0), true));
        rate.mark_app_limited(1000);
        let second = segment(1, t(1), rate.on_send(t(1), false));
        rate.on_delivered(&first, t(100));
        assert!(!rate.take_sample(t(100), None).app_limited);
        rate.on_delivered(&second, t(101));
        let sample = rate.take_sample(t(101), None);
        assert!(sample.app_limited);
        // Bubble delivered: new sends are not limited.
        assert!(!rate.on_send(t(102), false).app_limited);
    }

    /// An ACK that delivered nothing new gives no sample; one whose
    /// interval is under the minimum RTT is not trusted.
    #[test]
    fn no_sample_without_delivery_or_below_min_rtt() {
        let mut rate = DeliveryRate::default();
        assert_eq!(rate.take_sample(t(5), None), RateSample::default());
        let seg = segment(0, t(0), rate.on_send(t(0), true));
        rate.on_delivered(&seg, t(10));
        let short = rate.take_sample(t(10), Some(Duration::from_millis(20)));
        assert_eq!(short.interval, None);
        assert_eq!(short.newly_delivered, u64::from(MSS), "still counted");
    }
}
