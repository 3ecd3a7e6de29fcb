//! What happens when a connection's timers fire (RFC 9293 §3.10.8).

use std::time::Duration;

use log::debug;

use super::state::State;
use super::tcb::Tcb;
use super::timers::TimerKind;
use crate::engine::api::ApiError;
use crate::time::Instant;
use crate::wire::{SeqNum, TcpHeader};

impl Tcb {
    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.clock = now;
        while let Some(kind) = self.timers.due(now) {
            self.timers.stop(kind);
            match kind {
                TimerKind::Retransmit => self.on_retransmit_timeout(now),
                TimerKind::Persist => self.on_persist_timeout(now),
                TimerKind::DelayedAck => self.ack_now = true,
                // "If the time-wait timeout expires on a connection, delete
                // the TCB, enter the CLOSED state, and return."
                TimerKind::TimeWait => self.set_state(State::Closed),
                TimerKind::Reorder => self.detect_losses(now),
                TimerKind::LossProbe => self.tail_probe_now = true,
                TimerKind::OrphanFinWait2 => self.on_orphan_fin_wait_2_timeout(),
                TimerKind::ReleaseBuffers => self.on_buffer_release_timeout(now),
                TimerKind::KeepAlive => self.on_keepalive_timeout(now),
            }
        }
        self.track_recovery_time(now);
        self.update_persist_timer(now);
    }

    /// RFC 6298 (5.4)-(5.6): go back to SND.UNA and send again (SYN,
    /// SYN-ACK, data or FIN alike), back off the timer, shrink cwnd (RFC
    /// 5681 §3.1). Or give up: "USER TIMEOUT" (§3.10.8) / R2 (§3.8.3).
    fn on_retransmit_timeout(&mut self, now: Instant) {
        if self
            .give_up_deadline()
            .is_some_and(|deadline| now >= deadline)
        {
            debug!(
                "{} -> {}: no answer, giving up in {}",
                self.local, self.remote, self.state
            );
            self.fail(ApiError::TimedOut);
            return;
        }
        if self.snd_max == self.snd_una {
            return; // nothing outstanding any more
        }
        if self.snd_wnd == 0 && self.state.is_synchronized() {
            self.probe_shrunk_window(now);
            return;
        }
        debug!(
            "{} -> {}: retransmission timeout at {}, resending from {} (SND.MAX {}, {} SACKed, cwnd {}, recovery {}, probe {:?})",
            self.local,
            self.remote,
            now,
            self.snd_una,
            self.snd_max,
            self.scoreboard.sacked_bytes(),
            self.cc.cwnd,
            self.in_loss_recovery(),
            self.rack.tlp_end_seq,
        );
        // Nothing acknowledged since the last timeout: it fires again.
        let repeated = self.stalled_since.is_some();
        self.stalled_since.get_or_insert(now);
        self.note_timeout_for_r1(repeated);
        self.recovery_stats.timeouts += 1;
        self.recovery_stats.timeouts_in_recovery += u64::from(self.in_loss_recovery());
        self.recovery_stats.timeouts_after_probe += u64::from(self.rack.tlp_end_seq.is_some());
        self.rtt.back_off();
        self.rtt_probe = None;
        self.retransmit_first = false;
        if self.snd_una == self.iss {
            // SYN or SYN-ACK: the output path resends it when SND.NXT = ISS.
            // The data transfer will start with one segment (RFC 5681
            // §3.1) and a 3 s RTO (RFC 6298 (5.7), see `on_established`).
            self.handshake_timed_out = true;
            self.cc.on_handshake_timeout();
            self.snd_nxt = self.snd_una;
            return;
        }
        self.cc
            .on_timeout(self.snd_max.since(self.snd_una), self.snd_max, repeated);
        if self.sack_ok && self.sent.iter().any(|s| !s.sacked) {
            // RFC 6675 §5.1 lets the scoreboard survive the timeout when
            // reneging is detected (Errata 1610; `loss.rs` checks every
            // ACK for it), and asks to use all SACK information in the
            // repair: only what is not SACKed is marked lost and resent.
            self.mark_lost_after_timeout(now);
        } else {
            // Without SACK, everything is resent from SND.UNA.
            self.scoreboard.clear();
            self.snd_nxt = self.snd_una;
        }
        // The resent segment re-arms the timer; arm it here too so that a
        // closed peer window cannot leave us without any timer.
        self.restart_retransmit_timer(now);
    }

    /// The peer shrank its window to zero with our data outstanding
    /// (§3.8.6.1, MUST-35, MUST-37, SHLD-17): what the timer resends is a
    /// zero-window probe, one octet at SND.UNA (its ACK moves SND.NXT on if
    /// the peer takes it), and the timer, backed off, keeps probing as long
    /// as the peer answers (`give_up_deadline`). Nothing is judged lost:
    /// the peer holds the data, it only has no room for more. Linux does
    /// the same ("our retransmits become zero probes", tcp_retransmit_timer).
    fn probe_shrunk_window(&mut self, now: Instant) {
        if self.orphan_blocked_too_long(now) {
            return;
        }
        debug!(
            "{} -> {}: peer window zero with {} bytes outstanding: probing",
            self.local,
            self.remote,
            self.snd_max.since(self.snd_una)
        );
        self.rtt.back_off();
        self.rtt_probe = None;
        self.snd_nxt = self.snd_una;
        self.probe_now = true;
        self.restart_retransmit_timer(now);
    }

    /// Accounts `time_in_recovery`: a recovery (fast, or after a timeout)
    /// began or ended since the last call.
    pub(super) fn track_recovery_time(&mut self, now: Instant) {
        match (self.in_loss_recovery(), self.recovery_since) {
            (true, None) => self.recovery_since = Some(now),
            (false, Some(since)) => {
                self.recovery_stats.time_in_recovery += now - since;
                self.recovery_since = None;
                self.rack.on_recovery_end();
            }
            _ => {}
        }
    }

    /// The orphan waited long enough for the peer's FIN: the TCB is
    /// deleted without a word, as Linux does when `tcp_fin_timeout` runs
    /// out (a RST only with a negative TCP_LINGER2, which we do not have).
    /// All our data and our FIN were acknowledged, so nothing is lost; a
    /// peer that speaks later gets a RST as for any unknown connection.
    fn on_orphan_fin_wait_2_timeout(&mut self) {
        debug!(
            "{} -> {}: orphan in {}: no FIN from the peer, deleting",
            self.local, self.remote, self.state
        );
        self.set_state(State::Closed);
    }

    /// R2 set by the application (MUST-21): how long unacknowledged data,
    /// and an unanswered SYN, may wait before the connection gives up.
    pub fn set_user_timeout(&mut self, data: Duration, syn: Duration) {
        self.cfg.give_up_after = data;
        self.cfg.handshake_timeout = syn;
    }

    /// When the connection gives up if nothing is acknowledged.
    fn give_up_deadline(&self) -> Option<Instant> {
        match self.state {
            State::SynSent => Some(self.opened_at + self.cfg.handshake_timeout),
            State::SynReceived => Some(self.opened_at + self.cfg.syn_received_timeout),
            // A zero window: while the peer answers the probes, it is alive.
            _ if self.snd_wnd == 0 => Some(self.last_heard + self.cfg.give_up_after),
            _ => self
                .stalled_since
                .map(|since| since + self.cfg.give_up_after),
        }
    }

    /// (Re)starts the retransmission timer at RTO, but never past the
    /// moment the connection would give up.
    pub(super) fn restart_retransmit_timer(&mut self, now: Instant) {
        let mut at = now + self.rtt.rto();
        if let Some(deadline) = self.give_up_deadline() {
            at = at.min(deadline.max(now));
        }
        self.timers.start(TimerKind::Retransmit, at);
    }

    /// RTT sample for `ack`, new in `h`, with `flight` bytes outstanding
    /// before it. With timestamps, from the TSval the peer echoes (RFC
    /// 7323 §4.1): every such ACK gives one, retransmissions included (the
    /// echo names the copy that arrived, so Karn's ambiguity is gone), and
    /// each is weighted by the samples expected per RTT (§4.2, Appendix G).
    /// Without, when `ack` covers the one segment being timed (RFC 6298).
    pub(super) fn take_rtt_sample(
        &mut self,
        now: Instant,
        ack: SeqNum,
        h: &TcpHeader,
        flight: usize,
    ) {
        let timed = self.rtt_probe.filter(|&(seq, _)| ack > seq);
        if timed.is_some() {
            self.rtt_probe = None;
        }
        let echoed = h.options.timestamps.filter(|_| h.ack.is_some());
        if let Some(ts) = echoed.filter(|_| self.ts.enabled) {
            if let Some(rtt) = self.ts.rtt_sample(now, ts.tsecr) {
                // ExpectedSamples = ceiling(FlightSize / (SMSS * 2)).
                let expected = flight.div_ceil(self.send_mss * 2).max(1);
                self.rtt.sample_weighted(rtt, expected as u32);
            }
            return;
        }
        if let Some((_, sent_at)) = timed {
            self.rtt.sample(now - sent_at);
        }
    }

    /// §3.8.6.1: the peer's window is zero and we have data: probe it.
    /// The peer "must not" be left unprobed, and we keep the connection up
    /// as long as the peer answers the probes.
    fn on_persist_timeout(&mut self, now: Instant) {
        if self.orphan_blocked_too_long(now) {
            return;
        }
        if now - self.last_heard >= self.cfg.give_up_after {
            debug!(
                "{} -> {}: zero-window probes unanswered, giving up",
                self.local, self.remote
            );
            self.fail(ApiError::TimedOut);
            return;
        }
        self.probe_now = true;
        self.persist_backoff = (self.persist_backoff + 1).min(16);
    }

    /// Starts the persist timer when the send side is stuck with nothing
    /// in flight on a zero window, or on one too small for sender SWS
    /// avoidance to fill (§3.8.6.2.1); stops it otherwise.
    pub(super) fn update_persist_timer(&mut self, now: Instant) {
        self.track_zero_window(now);
        let unsent = self
            .send_buf
            .len()
            .saturating_sub(self.snd_nxt.since(self.snd_una));
        let fits = unsent.min(self.snd_wnd).min(self.send_mss);
        let window_too_small = self.snd_wnd == 0
            || (fits < self.send_mss && !self.small_segment_allowed(fits, unsent, 0));
        let stuck = self.state.is_synchronized()
            && window_too_small
            && unsent > 0
            && self.snd_nxt == self.snd_una
            && !self.probe_now
            && !self.timers.is_running(TimerKind::Retransmit);
        if stuck {
            if !self.timers.is_running(TimerKind::Persist) {
                let interval =
                    (self.rtt.rto() * (1u32 << self.persist_backoff)).min(self.cfg.max_rto);
                // Never later than the moment we would give up on a silent peer.
                let give_up = self.last_heard + self.cfg.give_up_after;
                self.timers
                    .start(TimerKind::Persist, (now + interval).min(give_up.max(now)));
            }
        } else {
            self.timers.stop(TimerKind::Persist);
            if self.snd_wnd > 0 {
                self.persist_backoff = 0;
            }
        }
    }
}
