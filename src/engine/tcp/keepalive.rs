//! Keep-alives (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6): a probe to a peer
//! that has been silent for a long time, to learn whether it is still
//! there. Off unless the application turns them on for the connection
//! (MUST-24, MUST-25); sent only when nothing we sent is outstanding and
//! the peer has been quiet for the idle time (MUST-26, MUST-27); the
//! connection is given up only after `count` probes in a row went
//! unanswered, never for one (MUST-29: ACKs without data are not
//! delivered reliably).
//!
//! A probe is SEG.SEQ = SND.NXT-1 with no data (SHLD-12), or one garbage
//! octet when asked (MAY-6): a sequence number the peer has already
//! acknowledged, which it must answer with an ACK (§3.10.7.4, first step).

use std::time::Duration;

use log::debug;

use super::output::Outgoing;
use super::state::State;
use super::tcb::Tcb;
use super::timers::TimerKind;
use crate::engine::api::ApiError;
use crate::time::Instant;
use crate::wire::{TcpFlags, TCP_HEADER_LEN};

/// A connection's keep-alive setting (as Linux's TCP_KEEPIDLE,
/// TCP_KEEPINTVL, TCP_KEEPCNT).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeepAlive {
    /// Silence before the first probe: MUST-28 wants the default to be no
    /// less than two hours.
    pub idle: Duration,
    /// Between unanswered probes (Linux: 75 s).
    pub interval: Duration,
    /// Unanswered probes in a row before the connection is given up
    /// (Linux: 9). At least 1.
    pub count: u32,
    /// Probes carry one garbage octet, for peers that do not answer an
    /// empty one (MAY-6). Off: SHLD-12 asks for no data.
    pub garbage_octet: bool,
}

impl Default for KeepAlive {
    fn default() -> KeepAlive {
        KeepAlive {
            idle: Duration::from_secs(2 * 60 * 60),
            interval: Duration::from_secs(75),
            count: 9,
            garbage_octet: false,
        }
    }
}

/// Where a connection's keep-alive stands.
#[derive(Clone, Copy, Debug)]
pub struct KeepAliveState {
    pub setting: Option<KeepAlive>,
    /// When the setting was made: silence is counted from then at least.
    pub since: Instant,
    /// Probes sent since the peer was last heard.
    pub probes: u32,
    pub last_probe: Instant,
    /// The timer fired: send a probe at the next poll.
    pub probe_now: bool,
}

impl KeepAliveState {
    pub fn new(setting: Option<KeepAlive>, now: Instant) -> KeepAliveState {
        KeepAliveState {
            setting,
            since: now,
            probes: 0,
            last_probe: now,
            probe_now: false,
        }
    }
}

impl Tcb {
    /// MUST-24: on or off for this connection. `count` 0 is refused:
    /// one lost probe must not end a connection (MUST-29).
    pub fn set_keepalive(
        &mut self,
        now: Instant,
        setting: Option<KeepAlive>,
    ) -> Result<(), ApiError> {
        if setting.is_some_and(|ka| ka.count == 0 || ka.interval.is_zero()) {
            return Err(ApiError::InvalidInput);
        }
        self.keepalive = KeepAliveState::new(setting, now);
        self.arm_keepalive();
        Ok(())
    }

    /// MUST-26: an established connection with nothing outstanding or
    /// waiting to be sent (a zero window has the persist timer instead).
    fn keepalive_applies(&self) -> bool {
        matches!(
            self.state,
            State::Established | State::CloseWait | State::FinWait2
        ) && self.snd_max == self.snd_una
            && self.send_buf.is_empty()
    }

    /// (Re)starts the keep-alive timer for the current state of the
    /// connection, or stops it. The stack calls this after every event.
    pub fn arm_keepalive(&mut self) {
        let Some(setting) = self.keepalive.setting.filter(|_| self.keepalive_applies()) else {
            self.timers.stop(TimerKind::KeepAlive);
            self.keepalive.probes = 0;
            return;
        };
        let ka = &mut self.keepalive;
        if ka.probes > 0 && self.last_heard >= ka.last_probe {
            ka.probes = 0; // answered: the next probe is an idle time away
        }
        let at = if ka.probes == 0 {
            self.last_heard.max(ka.since) + setting.idle
        } else {
            ka.last_probe + setting.interval
        };
        self.timers.start(TimerKind::KeepAlive, at);
    }

    /// The keep-alive timer fired: probe, or give up after `count`
    /// unanswered probes.
    pub(super) fn on_keepalive_timeout(&mut self, now: Instant) {
        let Some(setting) = self.keepalive.setting.filter(|_| self.keepalive_applies()) else {
            return;
        };
        if self.keepalive.probes >= setting.count {
            debug!(
                "{} -> {}: {} keep-alive probes unanswered, giving up",
                self.local, self.remote, self.keepalive.probes
            );
            self.fail(ApiError::TimedOut);
            return;
        }
        self.keepalive.probes += 1;
        self.keepalive.last_probe = now;
        self.keepalive.probe_now = true;
    }

    /// The probe: SEG.SEQ = SND.NXT-1, the current ACK and window.
    pub(super) fn emit_keepalive(&mut self, segment: &mut [u8]) -> Outgoing {
        let options = self.ack_options();
        let garbage = self.keepalive.setting.is_some_and(|ka| ka.garbage_octet);
        if garbage {
            segment[TCP_HEADER_LEN + options.len()] = 0;
        }
        Outgoing {
            header: self.acking_header(self.snd_nxt - 1, TcpFlags::default(), options),
            payload_len: usize::from(garbage),
            ecn: crate::wire::Ecn::NotEct,
        }
    }
}
