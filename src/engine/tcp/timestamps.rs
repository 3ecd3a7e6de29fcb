//! TCP Timestamps for one connection (RFC 7323 §3-5): what we put in the
//! option, TS.Recent and Last.ACK.sent (§4.3), PAWS (§5), and the RTT
//! measured from an echoed TSval (§4.1).
//!
//! Our timestamp clock ticks once a millisecond (the engine's `now`, §5.4:
//! "between 1 ms and 1 sec per tick") and starts at a keyed, per-connection
//! offset (§7.1: "a random offset ... per connection"), so a TSval tells
//! nothing about how long the host has been up and nothing that links two
//! connections to each other.

use std::time::Duration;

use crate::time::Instant;
use crate::wire::{SeqNum, Timestamps};

/// RFC 7323 §5.5: a TS.Recent not updated for 24 days may be older than
/// half the peer's timestamp space (2^31 ticks of 1 ms is 24.8 days): it
/// is invalid, and the PAWS test is not applied against it.
pub const TS_RECENT_VALID_FOR: Duration = Duration::from_secs(24 * 24 * 60 * 60);

/// The timestamp state of a connection.
#[derive(Clone, Copy, Debug)]
pub struct TimestampClock {
    /// Both SYNs carried the option (§3.2): every non-RST segment we send
    /// carries it, and PAWS is on.
    pub enabled: bool,
    /// Added to the millisecond clock (§7.1).
    offset: u32,
    /// TS.Recent (§4.3): the TSval to echo.
    recent: u32,
    /// When TS.Recent was last set (§5.5's idle test).
    recent_at: Instant,
    /// Last.ACK.sent (§4.3): the ACK field of the last segment we sent.
    last_ack_sent: SeqNum,
    /// The connection began: no segment of ours was sent before, so a
    /// TSecr claiming an earlier send time is bogus.
    opened_at: Instant,
}

/// `a < b` in the 32-bit timestamp space (§5.2: "modulo 2^32 arithmetic").
fn ts_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl TimestampClock {
    pub fn new(now: Instant, offset: u32) -> TimestampClock {
        TimestampClock {
            enabled: false,
            offset,
            recent: 0,
            recent_at: now,
            last_ack_sent: SeqNum(0),
            opened_at: now,
        }
    }

    /// Our TSval at `now`: milliseconds plus the connection's offset.
    pub fn tsval(&self, now: Instant) -> u32 {
        (now.total_millis() as u32).wrapping_add(self.offset)
    }

    /// The option for a SYN we initiate (§3.2: TSecr is 0 without ACK).
    pub fn syn_option(&self, now: Instant) -> Timestamps {
        Timestamps {
            tsval: self.tsval(now),
            tsecr: 0,
        }
    }

    /// The option for any other non-RST segment, if negotiated: "its TSecr
    /// field is set to the current TS.Recent value" (§4.3 (3)).
    pub fn option(&self, now: Instant) -> Option<Timestamps> {
        self.enabled.then(|| Timestamps {
            tsval: self.tsval(now),
            tsecr: self.recent,
        })
    }

    /// The peer's SYN (or SYN-ACK) arrived with `option`; we offer
    /// timestamps if `offered`. §3.2: the option is used only if both SYNs
    /// carry it; TS.Recent starts as the SYN's TSval.
    pub fn on_syn(&mut self, now: Instant, option: Option<Timestamps>, offered: bool) {
        self.enabled = false;
        if let (true, Some(ts)) = (offered, option) {
            self.enabled = true;
            self.set_recent(now, ts.tsval);
        }
    }

    fn set_recent(&mut self, now: Instant, tsval: u32) {
        self.recent = tsval;
        self.recent_at = now;
    }

    /// §5.5: TS.Recent is invalid once it has not been updated for 24 days.
    fn recent_is_valid(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.recent_at) < TS_RECENT_VALID_FOR
    }

    /// PAWS, §5.3 R1: a non-RST segment whose TSval is older than a valid
    /// TS.Recent is an old duplicate and not acceptable.
    pub fn rejects(&self, now: Instant, option: Option<Timestamps>, rst: bool) -> bool {
        match option {
            Some(ts) if self.enabled && !rst => {
                ts_before(ts.tsval, self.recent) && self.recent_is_valid(now)
            }
            _ => false,
        }
    }

    /// §5.3 R3 (the rule of §4.3 (2)): "If SEG.TSval >= TS.Recent and
    /// SEG.SEQ =< Last.ACK.sent, then SEG.TSval is copied to TS.Recent",
    /// for a segment that passed the sequence check. An invalid TS.Recent
    /// (§5.5) is replaced whatever the comparison says.
    pub fn on_acceptable_segment(&mut self, now: Instant, seq: SeqNum, option: Option<Timestamps>) {
        let Some(ts) = option.filter(|_| self.enabled) else {
            return;
        };
        let newer = !ts_before(ts.tsval, self.recent) || !self.recent_is_valid(now);
        if newer && seq <= self.last_ack_sent {
            self.set_recent(now, ts.tsval);
        }
    }

    /// §4.3 (1): a segment with ACK field `ack` went out.
    pub fn on_ack_sent(&mut self, ack: SeqNum) {
        self.last_ack_sent = ack;
    }

    /// §4.1: the round-trip time of the segment whose TSval the peer
    /// echoes in `tsecr`, if that is a time we could have sent it. Our
    /// clock keeps milliseconds; the send time is taken as the start of
    /// its millisecond, so the sample is at most 1 ms too long, never short.
    pub fn rtt_sample(&self, now: Instant, tsecr: u32) -> Option<Duration> {
        if !self.enabled {
            return None;
        }
        let elapsed_ms = self.tsval(now).wrapping_sub(tsecr) as i32;
        let elapsed_ms = u64::try_from(elapsed_ms).ok()?;
        let rtt = Duration::from_micros(elapsed_ms * 1000 + now.total_micros() % 1000);
        // A TSecr from before the connection began is not one of ours.
        let lifetime = now.saturating_duration_since(self.opened_at);
        (rtt <= lifetime + Duration::from_millis(1)).then_some(rtt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(tsval: u32) -> Option<Timestamps> {
        Some(Timestamps { tsval, tsecr: 0 })
    }

    fn negotiated(recent: u32) -> TimestampClock {
        let mut clock = TimestampClock::new(Instant::ZERO, 7);
        clock.on_syn(Instant::ZERO, ts(recent), true);
        clock.on_ack_sent(SeqNum(1000));
        clock
    }

    #[test]
    fn tsval_is_milliseconds_plus_the_offset_and_wraps() {
        let clock = TimestampClock::new(Instant::ZERO, u32::MAX);
        assert_eq!(clock.tsval(Instant::from_millis(5)), 4);
    }

    #[test]
    fn not_enabled_unless_both_syns_carry_it_s3_2() {
        let mut clock = TimestampClock::new(Instant::ZERO, 0);
        clock.on_syn(Instant::ZERO, ts(1), false);
        assert_eq!(clock.option(Instant::ZERO), None);
        clock.on_syn(Instant::ZERO, None, true);
        assert_eq!(clock.option(Instant::ZERO), None);
        clock.on_syn(Instant::ZERO, ts(1), true);
        assert_eq!(clock.option(Instant::ZERO).map(|t| t.tsecr), Some(1));
    }

    #[test]
    fn paws_compares_modulo_2_32_s5_2() {
        let clock = negotiated(5);
        let now = Instant::from_secs(1);
        assert!(clock.rejects(now, ts(4), false));
        assert!(!clock.rejects(now, ts(5), false));
        assert!(!clock.rejects(now, ts(5 + (1 << 30)), false));
        assert!(clock.rejects(now, ts(5u32.wrapping_sub(1 << 30)), false));
        assert!(!clock.rejects(now, ts(4), true), "never a RST");
        assert!(!clock.rejects(now, None, false));
    }

    #[test]
    fn ts_recent_moves_only_forward_and_only_up_to_last_ack_sent_s4_3() {
        let mut clock = negotiated(100);
        let now = Instant::from_secs(1);
        clock.on_acceptable_segment(now, SeqNum(1001), ts(200));
        assert_eq!(
            clock.recent, 100,
            "past Last.ACK.sent: not the next in order"
        );
        clock.on_acceptable_segment(now, SeqNum(1000), ts(90));
        assert_eq!(clock.recent, 100, "older");
        clock.on_acceptable_segment(now, SeqNum(1000), ts(150));
        assert_eq!(clock.recent, 150);
    }

    #[test]
    fn ts_recent_older_than_24_days_is_invalid_s5_5() {
        let mut clock = negotiated(100);
        let later = Instant::ZERO + TS_RECENT_VALID_FOR;
        assert!(!clock.rejects(later, ts(50), false));
        clock.on_acceptable_segment(later, SeqNum(1000), ts(50));
        assert_eq!(clock.recent, 50);
        assert!(clock.rejects(later, ts(49), false), "valid again");
    }

    #[test]
    fn rtt_from_an_echoed_tsval_s4_1() {
        let clock = negotiated(0);
        let sent = clock.tsval(Instant::from_micros(10_400));
        let rtt = clock.rtt_sample(Instant::from_micros(35_900), sent);
        assert_eq!(rtt, Some(Duration::from_micros(25_900)));
        assert_eq!(clock.rtt_sample(Instant::from_millis(9), sent), None);
        let bogus = clock.tsval(Instant::ZERO).wrapping_sub(60_000);
        assert_eq!(clock.rtt_sample(Instant::from_millis(10), bogus), None);
    }
}
