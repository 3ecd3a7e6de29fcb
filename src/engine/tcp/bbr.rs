//! BBR congestion control, version 1 (draft-cardwell-iccrg-bbr-congestion-
//! control-00, as Linux's `tcp_bbr.c`): the window follows a model of the
//! path, not the losses.
//!
//! BBR estimates the bottleneck bandwidth (BtlBw, the largest delivery
//! rate of the last 10 round trips, §4.1.1) and the round-trip
//! propagation time (RTprop, the least RTT of the last 10 seconds,
//! §4.1.2); their product is the path's BDP, and cwnd is a gain times it
//! (§4.2.3). A random loss says nothing about either, so it does not
//! shrink the window; that is the difference from CUBIC and NewReno on a
//! lossy path.
//!
//! ```text
//!   Startup  --bandwidth flat 3 rounds-->  Drain  --inflight <= BDP-->  ProbeBW
//!      ^                                                                 |  ^
//!      +--(not full)-- ProbeRTT <--RTprop not renewed for 10 s-----------+  |
//!                        |  cwnd 4 segments for 200 ms and a round trip    |
//!                        +-------------------(full)-------------------------+
//! ```
//!
//! Pacing: BBR paces at pacing_gain x BtlBw (§4.2.1). Our engine has no
//! per-connection send-time gate (output is clocked by ACKs and the
//! driver sends whatever `poll_transmit` gives), so BBR runs here
//! cwnd-limited: the gains cycle through cwnd's target (the quanta
//! included) and [`Bbr::pacing_rate`] is only reported. Windows are in
//! bytes, bandwidth in bytes per second, time from the engine's `now`.

use std::time::Duration;

use super::rate::RateSample;
use crate::time::Instant;

/// §4.3.1: the Startup gain 2/ln(2), the least that doubles the sending
/// rate each round trip (Linux's bbr_high_gain, 2885/1000).
pub const HIGH_GAIN: f64 = 2.885;
/// §4.3.2: Drain's pacing gain, the inverse of Startup's.
const DRAIN_GAIN: f64 = 1.0 / HIGH_GAIN;
/// §4.3.3: ProbeBW's cwnd gain, room for delayed and aggregated ACKs.
const CWND_GAIN: f64 = 2.0;
/// §4.3.3: ProbeBW's pacing gain cycle: probe up, drain the queue the
/// probe made, then cruise six round trips.
pub const PACING_GAIN_CYCLE: [f64; 8] = [1.25, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
/// §4.1.1: BtlBw_filter_len, the bandwidth filter's window in round trips.
pub const BW_FILTER_ROUNDS: u64 = 10;
/// §4.1.2: RTprop_filter_len.
pub const MIN_RTT_WINDOW: Duration = Duration::from_secs(10);
/// §4.3.4: ProbeRTT_duration.
pub const PROBE_RTT_DURATION: Duration = Duration::from_millis(200);
/// §4.2.3.1: BBRMinPipeCwnd, four segments.
pub const MIN_CWND_SEGMENTS: usize = 4;
/// §4.3.2 (BBRCheckFullPipe): the pipe is full when three round trips
/// without the bandwidth growing by a quarter have passed.
const FULL_BW_GROWTH: f64 = 1.25;
pub const FULL_BW_ROUNDS: u32 = 3;
/// RFC 6928's initial window, the BDP until a round trip is measured.
const INITIAL_WINDOW_SEGMENTS: usize = 10;
/// §4.2.3.2's quanta: 3 send quanta of 2 segments each (Linux's
/// bbr_quantization_budget with a TSO goal of 2 segments), for the
/// segments held back by offload and delayed ACKs at the receiver.
const QUANTA_SEGMENTS: usize = 3 * 2;

/// BBR's state machine (§4.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Startup,
    Drain,
    ProbeBw,
    ProbeRtt,
}

/// What loss recovery the connection is in, as Linux's TCP_CA_* states
/// that BBR reads (Open, Recovery, Loss), ordered like them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum LossState {
    #[default]
    Open,
    Recovery,
    /// After a retransmission timeout, until its recovery point is ACKed.
    Loss,
}

/// One ACK as BBR sees it.
#[derive(Clone, Copy, Debug)]
pub struct AckInput {
    pub now: Instant,
    pub sample: RateSample,
    /// C.delivered after this ACK.
    pub delivered: u64,
    /// Bytes in the network after this ACK (RFC 6675 pipe).
    pub in_flight: usize,
    pub state: LossState,
    pub smss: usize,
}

/// Kathleen Nichols' windowed max filter (Linux's lib/win_minmax.c): the
/// best, second best and third best samples of the window, so the max
/// over the last `window` time units is kept in constant space.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MaxFilter {
    samples: [(u64, f64); 3],
}

impl MaxFilter {
    pub fn get(&self) -> f64 {
        self.samples[0].1
    }

    /// `value` measured at time `t` (round trips, for BtlBw); returns
    /// the max over the window.
    pub fn update(&mut self, window: u64, t: u64, value: f64) -> f64 {
        let sample = (t, value);
        let s = &mut self.samples;
        if value >= s[0].1 || t - s[2].0 > window {
            *s = [sample; 3];
            return value;
        }
        if value >= s[1].1 {
            s[1] = sample;
            s[2] = sample;
        } else if value >= s[2].1 {
            s[2] = sample;
        }
        self.expire(window, t, sample)
    }

    /// The best sample aged out: the second becomes the best; and keep
    /// the second and third from the window's later quarters.
    fn expire(&mut self, window: u64, t: u64, sample: (u64, f64)) -> f64 {
        let s = &mut self.samples;
        let age = t - s[0].0;
        if age > window {
            *s = [s[1], s[2], sample];
            if t - s[0].0 > window {
                *s = [s[1], s[2], sample];
            }
        } else if s[1].0 == s[0].0 && age > window / 4 {
            s[1] = sample;
            s[2] = sample;
        } else if s[2].0 == s[1].0 && age > window / 2 {
            s[2] = sample;
        }
        s[0].1
    }
}

/// BBR's state (§4's variables; Linux's struct bbr).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bbr {
    mode: Mode,
    /// BtlBw filter, bytes per second by round count.
    bw: MaxFilter,
    /// RTprop and when it was last set (or renewed by ProbeRTT).
    min_rtt: Option<Duration>,
    min_rtt_stamp: Instant,
    /// §4.1.1.3: round trips counted by delivery: a round ends when a
    /// segment sent after it began is delivered.
    round_count: u64,
    next_round_delivered: u64,
    round_start: bool,
    /// §4.3.2: the bandwidth when it last grew by a quarter, and the
    /// round trips since.
    full_bw: f64,
    full_bw_count: u32,
    full_bw_reached: bool,
    cycle_index: usize,
    cycle_stamp: Instant,
    probe_rtt_done: Option<Instant>,
    probe_rtt_round_done: bool,
    /// §4.2.3.4: cwnd before a recovery or ProbeRTT, restored after.
    prior_cwnd: usize,
    /// §4.2.3.4: the first round trip of a recovery sends only what is
    /// delivered.
    packet_conservation: bool,
    prev_state: LossState,
    pacing_gain: f64,
    cwnd_gain: f64,
}

impl Default for Bbr {
    fn default() -> Bbr {
        Bbr::new()
    }
}

impl Bbr {
    /// §4.3.1 BBRInit, at the start of a connection.
    pub fn new() -> Bbr {
        Bbr {
            mode: Mode::Startup,
            bw: MaxFilter::default(),
            min_rtt: None,
            min_rtt_stamp: Instant::ZERO,
            round_count: 0,
            next_round_delivered: 0,
            round_start: false,
            full_bw: 0.0,
            full_bw_count: 0,
            full_bw_reached: false,
            cycle_index: 0,
            cycle_stamp: Instant::ZERO,
            probe_rtt_done: None,
            probe_rtt_round_done: false,
            prior_cwnd: 0,
            packet_conservation: false,
            prev_state: LossState::Open,
            pacing_gain: HIGH_GAIN,
            cwnd_gain: HIGH_GAIN,
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// BtlBw, bytes per second.
    pub fn max_bw(&self) -> f64 {
        self.bw.get()
    }

    /// RTprop.
    pub fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt
    }

    pub fn full_bw_reached(&self) -> bool {
        self.full_bw_reached
    }

    pub fn pacing_gain(&self) -> f64 {
        self.pacing_gain
    }

    /// §4.2.1: pacing_gain x BtlBw, bytes per second (reported only; see
    /// the module's note on pacing).
    pub fn pacing_rate(&self) -> f64 {
        self.pacing_gain * self.max_bw()
    }

    /// §4.2.3.4 BBRSaveCwnd, as a recovery or ProbeRTT begins: the window
    /// to return to; in a recovery already, the larger one.
    pub fn save_cwnd(&mut self, cwnd: usize) {
        if self.prev_state < LossState::Recovery && self.mode != Mode::ProbeRtt {
            self.prior_cwnd = cwnd;
        } else {
            self.prior_cwnd = self.prior_cwnd.max(cwnd);
        }
    }

    /// A retransmission timeout (Linux's bbr_set_state(TCP_CA_Loss)): the
    /// timeout ends a round trip, and the bandwidth plateau is measured
    /// again from scratch. The model itself stays.
    pub fn on_timeout(&mut self) {
        self.prev_state = LossState::Loss;
        self.full_bw = 0.0;
        self.round_start = true;
    }

    /// The undo of a reduction D-SACKs proved needless (Linux's
    /// bbr_undo_cwnd): measure the plateau again.
    pub fn on_undo(&mut self) {
        self.full_bw = 0.0;
        self.full_bw_count = 0;
    }

    /// §4.1.1.1 and §4.2: update the model with an ACK, then the window.
    /// Returns the new cwnd; `mark_app_limited` is set in ProbeRTT, whose
    /// low delivery rates must not lower BtlBw.
    pub fn on_ack(&mut self, cwnd: usize, ack: &AckInput) -> usize {
        let mut cwnd = cwnd;
        self.update_bw(ack);
        self.update_cycle_phase(ack);
        self.check_full_bw_reached(ack);
        self.check_drain(ack);
        self.update_min_rtt(ack, &mut cwnd);
        self.update_gains();
        self.set_cwnd(cwnd, ack)
    }

    /// §4.1.1.3 round counting and §4.1.1.5 BBRUpdateBtlBw: the sample
    /// enters the max filter unless it is application limited and lower
    /// than the estimate.
    fn update_bw(&mut self, ack: &AckInput) {
        self.round_start = false;
        let sample = &ack.sample;
        let (Some(prior), Some(rate)) = (sample.prior_delivered, sample.bytes_per_sec()) else {
            return;
        };
        if prior >= self.next_round_delivered {
            self.next_round_delivered = ack.delivered;
            self.round_count += 1;
            self.round_start = true;
            self.packet_conservation = false;
        }
        if !sample.app_limited || rate >= self.max_bw() {
            self.bw.update(BW_FILTER_ROUNDS, self.round_count, rate);
        }
    }

    /// §4.3.3 BBRUpdateGainCyclePhase: the next phase after a round trip
    /// (RTprop), but probing continues until inflight reached its target
    /// (or losses show it cannot), and draining ends early once inflight
    /// is down to the BDP.
    fn update_cycle_phase(&mut self, ack: &AckInput) {
        if self.mode != Mode::ProbeBw {
            return;
        }
        let full_length = ack.now - self.cycle_stamp > self.min_rtt.unwrap_or_default();
        let bw = self.max_bw();
        let next = if self.pacing_gain == 1.0 {
            full_length
        } else if self.pacing_gain > 1.0 {
            full_length
                && (ack.sample.newly_lost > 0
                    || ack.in_flight >= self.inflight(bw, self.pacing_gain, ack.smss))
        } else {
            full_length || ack.in_flight <= self.inflight(bw, 1.0, ack.smss)
        };
        if next {
            self.advance_cycle_phase(ack.now);
        }
    }

    fn advance_cycle_phase(&mut self, now: Instant) {
        self.cycle_index = (self.cycle_index + 1) % PACING_GAIN_CYCLE.len();
        self.cycle_stamp = now;
    }

    /// §4.3.2 BBRCheckFullPipe: once per round trip, with a sample the
    /// application did not limit, did BtlBw grow by a quarter? Three
    /// round trips without: the pipe is full.
    fn check_full_bw_reached(&mut self, ack: &AckInput) {
        if self.full_bw_reached || !self.round_start || ack.sample.app_limited {
            return;
        }
        if self.max_bw() >= self.full_bw * FULL_BW_GROWTH {
            self.full_bw = self.max_bw();
            self.full_bw_count = 0;
            return;
        }
        self.full_bw_count += 1;
        self.full_bw_reached = self.full_bw_count >= FULL_BW_ROUNDS;
    }

    /// §4.3.2: Startup ends with a full pipe; Drain ends when the queue
    /// Startup built is gone (inflight down to the BDP).
    fn check_drain(&mut self, ack: &AckInput) {
        if self.mode == Mode::Startup && self.full_bw_reached {
            self.mode = Mode::Drain;
        }
        let bdp = self.inflight(self.max_bw(), 1.0, ack.smss);
        if self.mode == Mode::Drain && ack.in_flight <= bdp {
            self.enter_probe_bw(ack);
        }
    }

    /// §4.3.3 BBREnterProbeBW: a phase of the cycle other than the
    /// draining one (Linux picks at random; we from the delivered count,
    /// the engine being deterministic), then on to the next.
    fn enter_probe_bw(&mut self, ack: &AckInput) {
        self.mode = Mode::ProbeBw;
        let random = (ack.delivered / ack.smss.max(1) as u64 % 7) as usize;
        self.cycle_index = PACING_GAIN_CYCLE.len() - 1 - random;
        self.advance_cycle_phase(ack.now);
    }

    /// §4.1.2.3 BBRUpdateRTprop and §4.3.4 ProbeRTT: a new minimum RTT,
    /// or one at all after 10 s (the old one may be of a path that is
    /// gone); an expired minimum sends the flow to ProbeRTT: at most 4
    /// segments in flight for 200 ms and a round trip, so the queue
    /// drains and the true RTprop is seen.
    fn update_min_rtt(&mut self, ack: &AckInput, cwnd: &mut usize) {
        let expired = self.min_rtt.is_some() && ack.now > self.min_rtt_stamp + MIN_RTT_WINDOW;
        if let Some(rtt) = ack.sample.rtt {
            if self.min_rtt.is_none_or(|min| rtt < min) || expired {
                self.min_rtt = Some(rtt);
                self.min_rtt_stamp = ack.now;
            }
        }
        if expired && self.mode != Mode::ProbeRtt {
            self.mode = Mode::ProbeRtt;
            self.save_cwnd(*cwnd);
            self.probe_rtt_done = None;
        }
        if self.mode != Mode::ProbeRtt {
            return;
        }
        let min_window = MIN_CWND_SEGMENTS * ack.smss;
        match self.probe_rtt_done {
            None if ack.in_flight <= min_window => {
                self.probe_rtt_done = Some(ack.now + PROBE_RTT_DURATION);
                self.probe_rtt_round_done = false;
                self.next_round_delivered = ack.delivered;
            }
            None => {}
            Some(done) => {
                self.probe_rtt_round_done |= self.round_start;
                if self.probe_rtt_round_done && ack.now > done {
                    self.exit_probe_rtt(ack, cwnd);
                }
            }
        }
    }

    /// §4.3.4 BBRExitProbeRTT: RTprop stands for another 10 s; the window
    /// returns to what it was; Startup again if the pipe was never full.
    fn exit_probe_rtt(&mut self, ack: &AckInput, cwnd: &mut usize) {
        self.min_rtt_stamp = ack.now;
        *cwnd = (*cwnd).max(self.prior_cwnd);
        if self.full_bw_reached {
            self.enter_probe_bw(ack);
        } else {
            self.mode = Mode::Startup;
        }
    }

    fn update_gains(&mut self) {
        (self.pacing_gain, self.cwnd_gain) = match self.mode {
            Mode::Startup => (HIGH_GAIN, HIGH_GAIN),
            Mode::Drain => (DRAIN_GAIN, HIGH_GAIN),
            Mode::ProbeBw => (PACING_GAIN_CYCLE[self.cycle_index], CWND_GAIN),
            Mode::ProbeRtt => (1.0, 1.0),
        };
    }

    /// §4.2.3.2 BBRBDPMultiple: gain x BtlBw x RTprop; the initial window
    /// until a round trip has been measured.
    fn bdp(&self, bw: f64, gain: f64, smss: usize) -> usize {
        match self.min_rtt {
            None => INITIAL_WINDOW_SEGMENTS * smss,
            Some(rtt) => (bw * rtt.as_secs_f64() * gain).ceil() as usize,
        }
    }

    /// §4.2.3.2 BBRInflight: the BDP multiple plus the quanta, rounded up
    /// to an even number of segments (Linux's bbr_quantization_budget),
    /// two more while probing.
    fn inflight(&self, bw: f64, gain: f64, smss: usize) -> usize {
        let segments = self.bdp(bw, gain, smss).div_ceil(smss.max(1)) + QUANTA_SEGMENTS;
        let mut segments = segments.next_multiple_of(2);
        if self.mode == Mode::ProbeBw && self.cycle_index == 0 {
            segments += 2;
        }
        segments * smss
    }

    /// §4.2.3 BBRSetCwnd: grow towards the target by what was delivered
    /// (at once while the pipe is not yet full), never below 4 segments;
    /// in the first round of a recovery only what was delivered goes
    /// (packet conservation), and after it the old window returns.
    fn set_cwnd(&mut self, cwnd: usize, ack: &AckInput) -> usize {
        let acked = ack.sample.newly_delivered as usize;
        let min_window = MIN_CWND_SEGMENTS * ack.smss;
        let mut cwnd = cwnd;
        if acked > 0 {
            let (recovered, conserving) = self.recover_or_restore(cwnd, ack);
            cwnd = recovered;
            if !conserving {
                let target = self.inflight(self.max_bw(), self.cwnd_gain, ack.smss);
                let initial = (ack.delivered as usize) < INITIAL_WINDOW_SEGMENTS * ack.smss;
                if self.full_bw_reached {
                    cwnd = (cwnd + acked).min(target);
                } else if cwnd < target || initial {
                    cwnd += acked;
                }
                cwnd = cwnd.max(min_window);
            }
        }
        if self.mode == Mode::ProbeRtt {
            cwnd = cwnd.min(min_window);
        }
        cwnd
    }

    /// §4.2.3.4 (Linux's bbr_set_cwnd_to_recover_or_restore): losses
    /// take their bytes off the window; entering a recovery the window is
    /// what is in flight plus what was delivered (conservation for a
    /// round trip); leaving one (or a timeout's repair), the window saved
    /// before it returns. Returns the window and whether it conserves.
    fn recover_or_restore(&mut self, cwnd: usize, ack: &AckInput) -> (usize, bool) {
        let acked = ack.sample.newly_delivered as usize;
        let lost = ack.sample.newly_lost as usize;
        let mut cwnd = if lost > 0 {
            cwnd.saturating_sub(lost).max(ack.smss)
        } else {
            cwnd
        };
        let (prev, state) = (self.prev_state, ack.state);
        if state == LossState::Recovery && prev != LossState::Recovery {
            self.packet_conservation = true;
            // The round starts now: conservation lasts one round trip.
            self.next_round_delivered = ack.delivered;
            cwnd = ack.in_flight + acked;
        } else if prev >= LossState::Recovery && state < LossState::Recovery {
            cwnd = cwnd.max(self.prior_cwnd);
            self.packet_conservation = false;
        }
        self.prev_state = state;
        if self.packet_conservation {
            // Not below BBRMinPipeCwnd either (the draft and Linux apply
            // it only outside conservation, and so allow one segment).
            // With one segment, several lost segments are resent one per
            // round trip, and a lost retransmission leaves nothing to
            // draw a SACK, nor a loss probe (RFC 8985 §7.2: none while
            // lost segments wait): only the RTO repairs it. Measured at
            // 20% random loss, that was where the timeouts came from.
            let floor = (ack.in_flight + acked).max(MIN_CWND_SEGMENTS * ack.smss);
            return (cwnd.max(floor), true);
        }
        (cwnd, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMSS: usize = 1000;
    const RTT: Duration = Duration::from_millis(20);

    /// A flow fed one ACK per round trip: each delivers a round's worth
    /// at `rate` bytes per second, sampled over the round trip.
    struct Flow {
        bbr: Bbr,
        cwnd: usize,
        delivered: u64,
        now: Instant,
    }

    impl Flow {
        fn new() -> Flow {
            Flow {
                bbr: Bbr::new(),
                cwnd: 10 * SMSS,
                delivered: 0,
                now: Instant::from_secs(1),
            }
        }

        fn ack(&mut self, rate: f64, rtt: Duration, in_flight: usize, state: LossState, lost: u64) {
            let bytes = (rate * rtt.as_secs_f64()) as u64;
            let prior = self.delivered;
            self.delivered += bytes;
            self.now += rtt;
            let sample = RateSample {
                delivered: bytes,
                interval: Some(rtt),
                prior_delivered: Some(prior),
                app_limited: false,
                rtt: Some(rtt),
                newly_delivered: bytes,
                newly_lost: lost,
            };
            let ack = AckInput {
                now: self.now,
                sample,
                delivered: self.delivered,
                in_flight,
                state,
                smss: SMSS,
            };
            self.cwnd = self.bbr.on_ack(self.cwnd, &ack);
        }

        fn round(&mut self, rate: f64, in_flight: usize) {
            self.ack(rate, RTT, in_flight, LossState::Open, 0);
        }

        /// Startup at growing rates, then flat at 1 MB/s until ProbeBW.
        fn in_probe_bw() -> Flow {
            let mut flow = Flow::new();
            for rate in [100e3, 200e3, 400e3, 800e3] {
                flow.round(rate, 1_000_000);
            }
            for _ in 0..3 {
                flow.round(1e6, 1_000_000);
            }
            flow.round(1e6, 10 * SMSS);
            assert_eq!(flow.bbr.mode(), Mode::ProbeBw);
            flow
        }
    }

    /// lib/win_minmax.c's filter: the max of the last `window` rounds,
    /// forgotten once it is older.
    #[test]
    fn the_bandwidth_filter_keeps_the_max_of_ten_rounds_draft_s4_1_1() {
        let mut filter = MaxFilter::default();
        assert_eq!(filter.update(10, 1, 5.0), 5.0);
        assert_eq!(filter.update(10, 2, 9.0), 9.0);
        for round in 3..=12 {
            assert_eq!(filter.update(10, round, 4.0), 9.0, "round {round}");
        }
        // Round 13: the 9 of round 2 is 11 rounds old.
        assert_eq!(filter.update(10, 13, 4.0), 4.0);
        assert_eq!(filter.update(10, 14, 6.0), 6.0);
    }

    /// §4.3.2: Startup doubles until three round trips pass without the
    /// bandwidth growing by a quarter; Drain then lasts until inflight is
    /// down to the BDP; then ProbeBW.
    #[test]
    fn startup_ends_after_three_flat_rounds_then_drain_then_probe_bw_draft_s4_3_2() {
        let mut flow = Flow::new();
        for rate in [100e3, 200e3, 400e3, 800e3, 1e6] {
            flow.round(rate, 1_000_000);
            assert_eq!(flow.bbr.mode(), Mode::Startup);
        }
        // 1.2 MB/s is less than a quarter more than 1 MB/s: flat.
        flow.round(1.2e6, 1_000_000);
        flow.round(1.2e6, 1_000_000);
        assert_eq!(flow.bbr.mode(), Mode::Startup, "two flat rounds");
        assert!((flow.bbr.pacing_gain() - HIGH_GAIN).abs() < 1e-9);
        flow.round(1.2e6, 1_000_000);
        assert!(flow.bbr.full_bw_reached());
        assert_eq!(flow.bbr.mode(), Mode::Drain, "third flat round");
        assert!(flow.bbr.pacing_gain() < 1.0);
        // BDP = 1.2 MB/s x 20 ms = 24 segments (+ quanta): still above.
        flow.round(1.2e6, 40 * SMSS);
        assert_eq!(flow.bbr.mode(), Mode::Drain);
        flow.round(1.2e6, 24 * SMSS);
        assert_eq!(flow.bbr.mode(), Mode::ProbeBw);
        assert!((flow.bbr.max_bw() - 1.2e6).abs() < 1.0);
        assert_eq!(flow.bbr.min_rtt(), Some(RTT));
    }

    /// §4.2.3: in ProbeBW cwnd is 2 x BDP plus the quanta; growth is
    /// capped there, however much is ACKed.
    #[test]
    fn probe_bw_cwnd_is_twice_the_bdp_draft_s4_2_3() {
        let mut flow = Flow::in_probe_bw();
        for _ in 0..50 {
            flow.round(1e6, 20 * SMSS);
        }
        // BDP 20 segments: 2 x 20 + 6 quanta, +2 in the probing phase.
        assert!([46 * SMSS, 48 * SMSS].contains(&flow.cwnd), "{}", flow.cwnd);
    }

    /// §4.3.3: the pacing gain cycles 1.25, 0.75, then 1 six times, one
    /// phase per RTprop (the 0.75 phase may end early, the 1.25 phase
    /// once inflight reached its target).
    #[test]
    fn the_gain_cycle_visits_every_phase_draft_s4_3_3() {
        let mut flow = Flow::in_probe_bw();
        let mut gains = Vec::new();
        for _ in 0..16 {
            flow.ack(
                1e6,
                RTT + Duration::from_millis(1),
                40 * SMSS,
                LossState::Open,
                0,
            );
            gains.push(flow.bbr.pacing_gain());
        }
        let ups = gains.windows(2).filter(|w| w[0] == 1.25 && w[1] == 0.75);
        assert_eq!(ups.count(), 2, "{gains:?}");
        assert_eq!(gains.iter().filter(|&&g| g == 1.0).count(), 12, "{gains:?}");
    }

    /// §4.3.4: RTprop not renewed for 10 s: ProbeRTT, cwnd 4 segments,
    /// for 200 ms and a round trip once inflight is down; then back to
    /// ProbeBW with the window it had, and RTprop stands 10 s more.
    #[test]
    fn probe_rtt_after_ten_seconds_without_a_new_minimum_draft_s4_3_4() {
        let mut flow = Flow::in_probe_bw();
        let slower = Duration::from_millis(25);
        let mut entered = None;
        for _ in 0..500 {
            flow.ack(1e6, slower, 40 * SMSS, LossState::Open, 0);
            if flow.bbr.mode() == Mode::ProbeRtt {
                entered = Some(flow.now);
                break;
            }
        }
        let entered = entered.expect("ProbeRTT");
        // The first ACK measured it; the equal ones after did not renew it.
        let min_rtt_seen = Instant::from_secs(1) + RTT;
        assert!(entered > min_rtt_seen + MIN_RTT_WINDOW);
        assert!(entered <= min_rtt_seen + MIN_RTT_WINDOW + slower);
        assert_eq!(flow.cwnd, MIN_CWND_SEGMENTS * SMSS);
        // The new minimum after 10 s is the current RTT (the path changed).
        assert_eq!(flow.bbr.min_rtt(), Some(slower));
        let mut rounds = 0;
        while flow.bbr.mode() == Mode::ProbeRtt {
            flow.ack(1e6, slower, 4 * SMSS, LossState::Open, 0);
            if flow.bbr.mode() == Mode::ProbeRtt {
                assert_eq!(flow.cwnd, MIN_CWND_SEGMENTS * SMSS);
            }
            rounds += 1;
            assert!(rounds < 20);
        }
        // 200 ms of 25 ms rounds, plus the round it started in.
        assert!((8..=10).contains(&rounds), "{rounds}");
        assert_eq!(flow.bbr.mode(), Mode::ProbeBw);
        assert!(flow.cwnd >= 40 * SMSS, "restored: {}", flow.cwnd);
    }

    /// §4.2.3.4 and Linux's bbr_set_cwnd_to_recover_or_restore: a loss
    /// leaves the model alone; recovery's first round conserves packets
    /// (cwnd = inflight + delivered), and the window before it returns
    /// when it ends.
    #[test]
    fn loss_keeps_the_model_and_recovery_restores_the_window_draft_s4_2_3_4() {
        let mut flow = Flow::in_probe_bw();
        for _ in 0..20 {
            flow.round(1e6, 20 * SMSS);
        }
        let (bw, before) = (flow.bbr.max_bw(), flow.cwnd);
        flow.bbr.save_cwnd(flow.cwnd);
        flow.ack(1e6, RTT, 10 * SMSS, LossState::Recovery, 2 * SMSS as u64);
        assert_eq!(flow.cwnd, 10 * SMSS + 20 * SMSS, "inflight + delivered");
        flow.ack(1e6, RTT, 30 * SMSS, LossState::Recovery, SMSS as u64);
        assert_eq!(flow.bbr.max_bw(), bw, "losses do not lower BtlBw");
        assert_eq!(flow.bbr.mode(), Mode::ProbeBw);
        // Recovery over: the saved window returns, within the target
        // of the current phase (2 BDP + quanta, +2 segments probing).
        flow.ack(1e6, RTT, 30 * SMSS, LossState::Open, 0);
        assert!(before >= 46 * SMSS);
        assert!([46 * SMSS, 48 * SMSS].contains(&flow.cwnd), "{}", flow.cwnd);
    }

    /// Entering a recovery with little in flight, conservation keeps the
    /// 4 segments of BBRMinPipeCwnd, so more than one lost segment can
    /// be resent per round trip.
    #[test]
    fn conservation_keeps_four_segments() {
        let mut flow = Flow::in_probe_bw();
        flow.bbr.save_cwnd(flow.cwnd);
        flow.ack(10e3, RTT, 0, LossState::Recovery, 5 * SMSS as u64);
        assert_eq!(flow.cwnd, MIN_CWND_SEGMENTS * SMSS);
    }

    /// A timeout drops cwnd to one segment (the caller's), then the window
    /// grows back by what is delivered and returns to the saved one when
    /// the repair ends.
    #[test]
    fn after_a_timeout_the_saved_window_returns() {
        let mut flow = Flow::in_probe_bw();
        let before = flow.cwnd;
        flow.bbr.save_cwnd(flow.cwnd);
        flow.bbr.on_timeout();
        flow.cwnd = SMSS;
        flow.ack(100e3, RTT, SMSS, LossState::Loss, 0);
        assert_eq!(flow.cwnd, 4 * SMSS, "at least 4 segments");
        flow.ack(100e3, RTT, SMSS, LossState::Open, 0);
        assert_eq!(flow.cwnd, before);
        assert!(flow.bbr.max_bw() >= 1e6, "model kept");
    }
}
