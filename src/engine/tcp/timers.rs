//! A connection's timers, kept as data: each is the instant it fires, or
//! `None` when not running. The stack asks [`Timers::next`] for the earliest
//! one and calls back when it is due; nothing ticks.

use crate::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerKind {
    /// RFC 6298: resend the oldest unacknowledged segment (SYN, data or FIN).
    Retransmit,
    /// §3.8.6.1: probe a zero window.
    Persist,
    /// RFC 1122 §4.2.3.2: send the ACK we held back.
    DelayedAck,
    /// §3.10.7.4: 2*MSL after the last FIN exchange, delete the TCB.
    TimeWait,
    /// RFC 8985 §6.2 step 5: a segment sent before a delivered one becomes
    /// lost when its reordering window has passed.
    Reorder,
    /// RFC 8985 §7.2: send a tail loss probe (PTO).
    LossProbe,
    /// An orphaned connection has waited long enough in FIN-WAIT-2
    /// (Linux's `tcp_fin_timeout`): delete it.
    OrphanFinWait2,
    /// A quiet connection gives its empty buffers' storage back
    /// (`footprint.rs`).
    ReleaseBuffers,
    /// Probe a peer silent for too long (`keepalive.rs`).
    KeepAlive,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Timers {
    pub retransmit: Option<Instant>,
    pub persist: Option<Instant>,
    pub delayed_ack: Option<Instant>,
    pub time_wait: Option<Instant>,
    pub reorder: Option<Instant>,
    pub loss_probe: Option<Instant>,
    pub orphan_fin_wait_2: Option<Instant>,
    pub release_buffers: Option<Instant>,
    pub keepalive: Option<Instant>,
}

impl Timers {
    fn all(&self) -> [(Option<Instant>, TimerKind); 9] {
        [
            (self.time_wait, TimerKind::TimeWait),
            (self.orphan_fin_wait_2, TimerKind::OrphanFinWait2),
            (self.retransmit, TimerKind::Retransmit),
            (self.reorder, TimerKind::Reorder),
            (self.loss_probe, TimerKind::LossProbe),
            (self.persist, TimerKind::Persist),
            (self.delayed_ack, TimerKind::DelayedAck),
            (self.release_buffers, TimerKind::ReleaseBuffers),
            (self.keepalive, TimerKind::KeepAlive),
        ]
    }

    /// The earliest running timer.
    pub fn next(&self) -> Option<Instant> {
        self.all().iter().filter_map(|(at, _)| *at).min()
    }

    /// A timer due at `now`, if any; the caller stops it and acts.
    pub fn due(&self, now: Instant) -> Option<TimerKind> {
        self.all()
            .iter()
            .find(|(at, _)| matches!(at, Some(t) if *t <= now))
            .map(|(_, kind)| *kind)
    }

    pub fn stop(&mut self, kind: TimerKind) {
        *self.slot(kind) = None;
    }

    pub fn start(&mut self, kind: TimerKind, at: Instant) {
        *self.slot(kind) = Some(at);
    }

    pub fn is_running(&self, kind: TimerKind) -> bool {
        self.all().iter().any(|(at, k)| *k == kind && at.is_some())
    }

    /// §3.10.7.4 (TIME-WAIT): "turn off the other timers".
    pub fn stop_all(&mut self) {
        *self = Timers::default();
    }

    fn slot(&mut self, kind: TimerKind) -> &mut Option<Instant> {
        match kind {
            TimerKind::Retransmit => &mut self.retransmit,
            TimerKind::Persist => &mut self.persist,
            TimerKind::DelayedAck => &mut self.delayed_ack,
            TimerKind::TimeWait => &mut self.time_wait,
            TimerKind::Reorder => &mut self.reorder,
            TimerKind::LossProbe => &mut self.loss_probe,
            TimerKind::OrphanFinWait2 => &mut self.orphan_fin_wait_2,
            TimerKind::ReleaseBuffers => &mut self.release_buffers,
            TimerKind::KeepAlive => &mut self.keepalive,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_the_earliest_and_due_finds_expired_ones() {
        let mut t = Timers::default();
        assert_eq!(t.next(), None);
        t.start(TimerKind::Retransmit, Instant::from_millis(300));
        t.start(TimerKind::DelayedAck, Instant::from_millis(40));
        assert_eq!(t.next(), Some(Instant::from_millis(40)));
        assert_eq!(t.due(Instant::from_millis(39)), None);
        assert_eq!(t.due(Instant::from_millis(40)), Some(TimerKind::DelayedAck));
        t.stop(TimerKind::DelayedAck);
        assert_eq!(
            t.due(Instant::from_millis(500)),
            Some(TimerKind::Retransmit)
        );
        assert!(t.is_running(TimerKind::Retransmit));
        t.stop_all();
        assert_eq!(t.next(), None);
    }
}
