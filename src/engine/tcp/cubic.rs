//! CUBIC congestion avoidance (RFC 9438), the window's growth between
//! congestion events and its reduction at one. Slow start, fast recovery
//! and the timeout's one segment stay those of RFC 5681 (`congestion.rs`).
//!
//! The window is a cubic function of the time since the last reduction:
//! concave up to the window where loss last happened (W_max), flat around
//! it, then convex beyond, probing for more:
//!
//! ```text
//!   W_cubic(t) = C * (t - K)^3 + W_max                 (RFC 9438 Figure 1)
//!   K = cbrt((W_max - cwnd_epoch) / C)                  (Figure 2)
//! ```
//!
//! with cwnd_epoch = W_max * beta after a reduction, so K = cbrt(W_max
//! (1 - beta) / C). Windows here are in segments (as in the RFC), times
//! in seconds from the engine's `now` (virtual time, no clock is read).

use std::time::Duration;

use crate::time::Instant;

/// RFC 9438 §5.1: C = 0.4.
pub const C: f64 = 0.4;
/// RFC 9438 §4.6: beta_cubic = 0.7.
pub const BETA: f64 = 0.7;
/// RFC 9438 §4.3: alpha_cubic = 3 (1 - beta) / (1 + beta), so the
/// Reno-friendly estimate grows as fast on average as Reno (beta 0.5).
const ALPHA: f64 = 3.0 * (1.0 - BETA) / (1.0 + BETA);

/// CUBIC's state (RFC 9438 §4.1's variables).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Cubic {
    /// W_max: the window just before the last reduction (after fast
    /// convergence, §4.7); 0 until the first congestion event.
    w_max: f64,
    /// cwnd_prior: the window when ssthresh was last set (§4.3's switch
    /// of alpha to 1 once W_est reaches it).
    cwnd_prior: f64,
    /// The start of the current congestion avoidance stage (the epoch);
    /// `None` until its first ACK.
    epoch_start: Option<Instant>,
    /// cwnd_epoch: cwnd at the epoch's start.
    cwnd_epoch: f64,
    /// K, seconds.
    k: f64,
    /// W_est: the Reno-friendly estimate (§4.3).
    w_est: f64,
    /// §4.8: the first congestion avoidance after a timeout takes W_max
    /// (and W_est) from the window at its start.
    after_timeout: bool,
}

impl Cubic {
    /// RFC 9438 Figure 2.
    pub fn k(w_max: f64, cwnd_epoch: f64) -> f64 {
        ((w_max - cwnd_epoch).max(0.0) / C).cbrt()
    }

    /// RFC 9438 Figure 1: the window `t` seconds into the epoch.
    pub fn w_cubic(&self, t: f64) -> f64 {
        C * (t - self.k).powi(3) + self.w_max
    }

    /// RFC 9438 §4.6 and §4.7, a congestion event with `cwnd` (segments)
    /// in use: W_max becomes that window, or with fast convergence a
    /// little less when it is below the previous W_max (a new flow may be
    /// taking its share: give up some more). The epoch ends.
    pub fn on_congestion(&mut self, cwnd: f64) {
        self.w_max = if cwnd < self.w_max {
            cwnd * (1.0 + BETA) / 2.0
        } else {
            cwnd
        };
        self.cwnd_prior = cwnd;
        self.epoch_start = None;
    }

    /// RFC 9438 §4.8: a retransmission timeout. The reduction of §4.6,
    /// then (the window restarts at one segment) the next congestion
    /// avoidance stage measures W_max from where it begins.
    pub fn on_timeout(&mut self, cwnd: f64) {
        self.on_congestion(cwnd);
        self.after_timeout = true;
    }

    /// A timeout when the window was already reduced for this loss
    /// episode: W_max stays, the next epoch starts as §4.8 says.
    pub fn restart_after_timeout(&mut self) {
        self.epoch_start = None;
        self.after_timeout = true;
    }

    /// The window after an ACK of `acked` segments in congestion
    /// avoidance at `now`, from `cwnd` (segments; never less than it).
    /// `rtt` is the smoothed round trip: the target is the curve one RTT
    /// ahead (§4.2).
    pub fn on_ack(&mut self, now: Instant, cwnd: f64, acked: f64, rtt: Duration) -> f64 {
        let start = self.start_epoch_if_new(now, cwnd);
        let t = (now - start).as_secs_f64();
        // §4.3 Reno-friendly region: W_est grows by alpha per window of
        // ACKs (1 once it reached the window of the last reduction).
        let alpha = if self.w_est >= self.cwnd_prior {
            1.0
        } else {
            ALPHA
        };
        self.w_est += alpha * acked / cwnd;
        if self.w_cubic(t) < self.w_est {
            return self.w_est.max(cwnd);
        }
        // §4.4 and §4.5 (concave and convex regions): move towards the
        // curve one RTT ahead, by at most half the window per RTT.
        let target = self.w_cubic(t + rtt.as_secs_f64()).clamp(cwnd, 1.5 * cwnd);
        cwnd + (target - cwnd) / cwnd * acked
    }

    /// The epoch begins with the first ACK of a congestion avoidance
    /// stage (§4.2: "t is the elapsed time ... from the beginning of the
    /// current congestion avoidance stage").
    fn start_epoch_if_new(&mut self, now: Instant, cwnd: f64) -> Instant {
        if let Some(start) = self.epoch_start {
            return start;
        }
        // No congestion event yet, or the first stage after a timeout
        // (§4.8): the curve starts flat at this window (K = 0).
        if self.after_timeout || self.w_max < cwnd {
            self.w_max = cwnd;
            self.after_timeout = false;
        }
        self.epoch_start = Some(now);
        self.cwnd_epoch = cwnd;
        self.w_est = cwnd;
        self.k = Cubic::k(self.w_max, self.cwnd_epoch);
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    /// After a loss at W_max = 100 the window is 70: K = cbrt(100 * 0.3 /
    /// 0.4) = cbrt(75), and the curve passes W_max - C K^3 = 70 at t = 0,
    /// W_max at t = K, and C (t - K)^3 + W_max at every other t.
    #[test]
    fn the_window_curve_follows_rfc_9438_figures_1_and_2() {
        let mut cubic = Cubic::default();
        cubic.on_congestion(100.0);
        cubic.start_epoch_if_new(Instant::from_millis(0), 70.0);
        let k = 75f64.cbrt();
        assert!(close(cubic.k, k), "K = {}", cubic.k);
        assert!(close(Cubic::k(100.0, 100.0 * BETA), k));
        assert!(close(cubic.w_cubic(0.0), 70.0));
        assert!(close(cubic.w_cubic(k), 100.0));
        for t in [0.5, 1.0, 2.0, 4.0, 6.0, 10.0] {
            let expected = 0.4 * (t - k).powi(3) + 100.0;
            assert!(close(cubic.w_cubic(t), expected), "t = {t}");
        }
        assert!(cubic.w_cubic(1.0) < cubic.w_cubic(2.0), "concave, growing");
        assert!(cubic.w_cubic(10.0) > 100.0, "convex past W_max");
    }

    /// Per ACK, cwnd moves (target - cwnd) / cwnd towards the curve one
    /// RTT ahead (§4.4): over one window of ACKs it reaches the target.
    #[test]
    fn growth_per_ack_aims_at_the_curve_one_rtt_ahead_rfc_9438_s4_4() {
        let mut cubic = Cubic::default();
        cubic.on_congestion(100.0);
        let rtt = Duration::from_millis(100);
        cubic.on_ack(Instant::from_millis(0), 70.0, 1.0, rtt);
        let now = Instant::from_millis(2000);
        let cwnd = 80.0;
        let target = cubic.w_cubic(2.1);
        let grown = cubic.on_ack(now, cwnd, 1.0, rtt);
        assert!(close(grown, cwnd + (target - cwnd) / cwnd), "{grown}");
        // Far past K the target is capped at 1.5 cwnd.
        let capped = cubic.on_ack(Instant::from_millis(60_000), cwnd, cwnd, rtt);
        assert!(close(capped, 1.5 * cwnd), "{capped}");
    }

    /// On a short-RTT path the curve grows slower than Reno would: W_est
    /// (alpha = 0.53 segments per window, §4.3) takes over.
    #[test]
    fn the_reno_friendly_estimate_takes_over_when_the_curve_is_slower_rfc_9438_s4_3() {
        let mut cubic = Cubic::default();
        cubic.on_congestion(10.0);
        let rtt = Duration::from_millis(1);
        let mut cwnd = 7.0;
        let mut now = Instant::from_millis(0);
        // Ten round trips of 1 ms, a window of ACKs each.
        for _ in 0..10 {
            for _ in 0..7 {
                cwnd = cubic.on_ack(now, cwnd, 1.0, rtt);
            }
            now += rtt;
        }
        assert!(cubic.w_cubic(0.010) < cubic.w_est);
        assert!(close(cwnd, cubic.w_est));
        assert!(cwnd > 7.0 + 10.0 * 0.5 && cwnd < 7.0 + 10.0 * 0.6, "{cwnd}");
    }

    /// §4.7: a loss below the previous W_max lowers W_max further.
    #[test]
    fn fast_convergence_rfc_9438_s4_7() {
        let mut cubic = Cubic::default();
        cubic.on_congestion(100.0);
        assert!(close(cubic.w_max, 100.0));
        cubic.on_congestion(80.0);
        assert!(close(cubic.w_max, 80.0 * 1.7 / 2.0));
        cubic.on_congestion(120.0);
        assert!(close(cubic.w_max, 120.0));
    }

    /// §4.8: after a timeout the first epoch starts flat at its own window.
    #[test]
    fn after_a_timeout_w_max_is_the_window_where_avoidance_starts_rfc_9438_s4_8() {
        let mut cubic = Cubic::default();
        cubic.on_timeout(100.0);
        cubic.on_ack(Instant::from_millis(0), 35.0, 1.0, Duration::ZERO);
        assert!(close(cubic.w_max, 35.0) && close(cubic.k, 0.0));
        assert!(close(cubic.w_est, 35.0 + ALPHA / 35.0));
    }
}
