//! Round-trip time estimation and the retransmission timeout, RFC 6298.

use std::time::Duration;

/// RFC 6298 (2.1): "Until a round-trip time (RTT) measurement has been made
/// ... the sender SHOULD set RTO <- 1 second".
const INITIAL_RTO: Duration = Duration::from_secs(1);
/// RFC 6298 (5.7): the RTO when data transmission begins after the timer
/// expired awaiting the ACK of a SYN.
const RTO_AFTER_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);
/// G, the clock granularity of RFC 6298 (2.2): our clock counts microseconds,
/// but a floor of 1 ms keeps RTO from collapsing onto SRTT on a quiet link.
const CLOCK_GRANULARITY: Duration = Duration::from_millis(1);
/// Doubling stops here; by then the user timeout has long given up.
const MAX_BACKOFF_SHIFT: u32 = 16;

pub struct RttEstimator {
    srtt: Option<Duration>,
    rttvar: Duration,
    /// RTO before backoff.
    base_rto: Duration,
    /// Number of doublings since the last fresh RTT sample (RFC 6298 (5.5)).
    backoff: u32,
    min_rto: Duration,
    max_rto: Duration,
}

impl RttEstimator {
    pub fn new(min_rto: Duration, max_rto: Duration) -> RttEstimator {
        RttEstimator {
            srtt: None,
            rttvar: Duration::ZERO,
            base_rto: INITIAL_RTO.clamp(min_rto, max_rto.max(min_rto)),
            backoff: 0,
            min_rto,
            max_rto: max_rto.max(min_rto),
        }
    }

    /// Feeds one measurement R (never from a retransmitted segment: Karn's
    /// rule is enforced by the caller, RFC 6298 §3).
    pub fn sample(&mut self, r: Duration) {
        self.sample_weighted(r, 1);
    }

    /// Feeds one of about `expected` measurements per round trip (RFC 7323
    /// Appendix G, timestamps give one per ACK): alpha' = alpha /
    /// ExpectedSamples and beta' = beta / ExpectedSamples, so a window's
    /// worth of samples moves SRTT and RTTVAR as much as one sample per
    /// RTT would, and RTTVAR does not collapse under many close samples.
    pub fn sample_weighted(&mut self, r: Duration, expected: u32) {
        let n = expected.max(1);
        match self.srtt {
            // RFC 6298 (2.2): first measurement.
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            // RFC 6298 (2.3): alpha = 1/8, beta = 1/4, RTTVAR first.
            Some(srtt) => {
                let delta = srtt.abs_diff(r);
                self.rttvar = self.rttvar - self.rttvar / (4 * n) + delta / (4 * n);
                self.srtt = Some(srtt - srtt / (8 * n) + r / (8 * n));
            }
        }
        let srtt = self.srtt.unwrap_or(r);
        // RTO <- SRTT + max (G, K*RTTVAR), K = 4, then (2.4) and (2.5) bounds.
        let rto = srtt + CLOCK_GRANULARITY.max(self.rttvar * 4);
        self.base_rto = rto.clamp(self.min_rto, self.max_rto);
        self.backoff = 0;
    }

    /// The timeout to arm now, including backoff.
    pub fn rto(&self) -> Duration {
        let factor = 1u32 << self.backoff.min(MAX_BACKOFF_SHIFT);
        (self.base_rto * factor).min(self.max_rto)
    }

    /// RFC 6298 (5.5): "The host MUST set RTO <- RTO * 2 ("back off the timer")".
    pub fn back_off(&mut self) {
        self.backoff = (self.backoff + 1).min(MAX_BACKOFF_SHIFT);
    }

    /// RFC 6298 (5.7): the SYN (or SYN-ACK) timed out and data transmission
    /// begins: "the RTO MUST be re-initialized to 3 seconds" (no backoff
    /// left), unless an RTT measurement already replaced the defaults.
    pub fn fall_back_after_handshake_timeout(&mut self) {
        if self.srtt.is_none() {
            self.base_rto = RTO_AFTER_HANDSHAKE_TIMEOUT.clamp(self.min_rto, self.max_rto);
            self.backoff = 0;
        }
    }

    pub fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// RTTVAR of RFC 6298 (2.2)-(2.3): `None` before the first sample.
    pub fn rttvar(&self) -> Option<Duration> {
        self.srtt.map(|_| self.rttvar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn initial_rto_is_one_second() {
        assert_eq!(RttEstimator::new(ms(200), ms(60_000)).rto(), ms(1000));
    }

    #[test]
    fn first_sample_sets_srtt_and_half_rttvar() {
        let mut rtt = RttEstimator::new(ms(1), ms(60_000));
        rtt.sample(ms(100));
        // RTO = 100 + 4 * 50
        assert_eq!(rtt.rto(), ms(300));
    }

    #[test]
    fn later_samples_are_smoothed() {
        let mut rtt = RttEstimator::new(ms(1), ms(60_000));
        rtt.sample(ms(100));
        rtt.sample(ms(200));
        // RTTVAR = 3/4*50 + 1/4*100 = 62.5; SRTT = 87.5 + 25 = 112.5
        assert_eq!(rtt.srtt(), Some(Duration::from_micros(112_500)));
        assert_eq!(rtt.rto(), Duration::from_micros(112_500 + 250_000));
    }

    #[test]
    fn samples_are_weighted_by_the_samples_expected_per_rtt_rfc_7323_appendix_g() {
        let mut rtt = RttEstimator::new(ms(1), ms(60_000));
        rtt.sample(ms(100));
        rtt.sample_weighted(ms(200), 4);
        // beta' = 1/16: RTTVAR = 50 - 50/16 + 100/16 = 53.125;
        // alpha' = 1/32: SRTT = 100 - 100/32 + 200/32 = 103.125.
        assert_eq!(rtt.srtt(), Some(Duration::from_micros(103_125)));
        assert_eq!(rtt.rto(), Duration::from_micros(103_125 + 212_500));
    }

    #[test]
    fn min_rto_applies() {
        let mut rtt = RttEstimator::new(ms(200), ms(60_000));
        rtt.sample(ms(1));
        assert_eq!(rtt.rto(), ms(200));
    }

    #[test]
    fn handshake_timeout_reinitializes_rto_to_three_seconds_rfc6298_5_7() {
        let mut rtt = RttEstimator::new(ms(200), ms(60_000));
        rtt.back_off();
        rtt.back_off();
        rtt.fall_back_after_handshake_timeout();
        assert_eq!(rtt.rto(), ms(3000));
        let mut measured = RttEstimator::new(ms(200), ms(60_000));
        measured.sample(ms(100));
        measured.fall_back_after_handshake_timeout();
        assert_eq!(measured.rto(), ms(300), "a real sample is kept");
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum_and_a_sample_resets_it() {
        let mut rtt = RttEstimator::new(ms(200), ms(5_000));
        rtt.back_off();
        assert_eq!(rtt.rto(), ms(2000));
        rtt.back_off();
        rtt.back_off();
        assert_eq!(rtt.rto(), ms(5000));
        rtt.sample(ms(10));
        assert_eq!(rtt.rto(), ms(200));
    }
}
