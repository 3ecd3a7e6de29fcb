//! Explicit Congestion Notification (RFC 3168 §6.1; RFC 9293 §3.8.2,
//! SHLD-8): a router that would drop a packet marks it Congestion
//! Experienced (CE) instead; the receiver echoes the mark to the sender
//! with ECE on its ACKs until the sender says, with CWR, that it has
//! reduced its window. Off unless `StackConfig::ecn`.
//!
//! - Negotiation (§6.1.1): our SYN carries ECE and CWR; a SYN-ACK with
//!   ECE and without CWR makes the connection ECN-capable. As responder,
//!   an ECN-setup SYN (ECE and CWR) is answered with ECE on the SYN-ACK,
//!   only when ECN is on (`EcnMode::On`, or `AnswerOnly`, which never asks). After `ecn_syn_retries` unanswered ECN-setup
//!   SYNs the next ones go without (§6.1.1.1: a middlebox may drop them).
//! - Sending (§6.1.2, §6.1.5, §6.1.6): new data goes out ECT(0); pure
//!   ACKs, SYNs, retransmissions and window probes stay Not-ECT.
//! - An ECE (§6.1.2) is a congestion signal as a loss is, without the
//!   retransmission: one reduction per window of data, then CWR on the
//!   next new data segment. BBR ignores it, as Linux's BBR v1 does (its
//!   window comes from the path model, not from ssthresh).
//! - Receiving (§6.1.3): a CE-marked data segment sets ECE on every
//!   segment we send until one with CWR arrives. A change between CE and
//!   not-CE is acknowledged at once (Linux's quick-ACK on CE), so the
//!   sender learns of it within a round trip, not a delayed ACK later.

use log::debug;

use super::tcb::Tcb;
use super::Outgoing;
use crate::engine::config::EcnMode;
use crate::wire::{Ecn, SeqNum, TcpHeader, TcpSegment};

/// ECN counters of one connection (`tuntcp ss`, Linux's `ecn` in `ss -i`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EcnStats {
    /// ACKs that carried ECE.
    pub ece_received: u64,
    /// Data segments that arrived CE-marked.
    pub ce_received: u64,
    /// Segments we sent with CWR.
    pub cwr_sent: u64,
    /// Window reductions made for an ECE.
    pub reductions: u64,
}

/// The connection's ECN state.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct EcnState {
    /// Both SYNs agreed (§6.1.1): data goes ECT(0), ECE and CWR mean
    /// what §6.1 says.
    capable: bool,
    /// ECN-setup SYNs sent (active open), to fall back after
    /// `ecn_syn_retries` retransmissions (§6.1.1.1).
    setup_syns_sent: u32,
    /// The last SYN we sent was an ECN-setup SYN.
    setup_sent: bool,
    /// Receiver: a CE mark arrived; ECE on what we send until CWR (§6.1.3).
    echo_ce: bool,
    /// Receiver: whether the last data segment was CE-marked.
    last_ce: bool,
    /// Sender: the window was reduced; CWR goes on the next new data.
    cwr_owed: bool,
    /// Sender: the last reduction covers data sent before this; ECEs
    /// until it is acknowledged are not answered again (§6.1.2: "no more
    /// than once per window of data").
    reduced_until: Option<SeqNum>,
    stats: EcnStats,
}

impl Tcb {
    /// The ECN counters, if the connection negotiated ECN.
    pub fn ecn_stats(&self) -> Option<EcnStats> {
        self.ecn.capable.then_some(self.ecn.stats)
    }

    /// ECE and CWR of our SYN or SYN-ACK (§6.1.1).
    pub(super) fn syn_ecn_flags(&mut self, with_ack: bool) -> (bool, bool) {
        if with_ack {
            return (self.ecn.capable, false);
        }
        let setup =
            self.cfg.ecn == EcnMode::On && self.ecn.setup_syns_sent <= self.cfg.ecn_syn_retries;
        if setup {
            self.ecn.setup_syns_sent += 1;
        }
        self.ecn.setup_sent = setup;
        (setup, setup)
    }

    /// A SYN or SYN-ACK arrived (§6.1.1): a SYN with ECE and CWR asks for
    /// ECN (answered only when it is on); a SYN-ACK with ECE and without
    /// CWR answers our ECN-setup SYN.
    pub(super) fn negotiate_ecn(&mut self, syn: &TcpHeader) {
        let (ece, cwr) = (syn.flags.ece, syn.flags.cwr);
        self.ecn.capable = match syn.ack {
            Some(_) => self.ecn.setup_sent && ece && !cwr,
            None => self.cfg.ecn != EcnMode::Off && ece && cwr,
        };
    }

    /// A data segment's IP ECN field and a CWR, on an ECN-capable
    /// connection (§6.1.3), for a segment that passed the sequence check.
    pub(super) fn on_ecn_marks(&mut self, seg: &TcpSegment) {
        if !self.ecn.capable {
            return;
        }
        if seg.header.flags.cwr {
            // The sender reduced its window: stop echoing, unless this
            // very segment is marked too.
            self.ecn.echo_ce = false;
        }
        if seg.payload.is_empty() {
            return;
        }
        let ce = seg.ecn == Ecn::Ce;
        if ce {
            self.ecn.stats.ce_received += 1;
            self.ecn.echo_ce = true;
        }
        if ce != self.ecn.last_ce {
            self.ack_now = true;
        }
        self.ecn.last_ce = ce;
    }

    /// Whether what we send now carries ECE (§6.1.3).
    pub(super) fn ecn_echo(&self) -> bool {
        self.ecn.capable && self.ecn.echo_ce
    }

    /// An acceptable ACK arrived with ECE (§6.1.2): reduce the window as
    /// for a loss, once per window of data, without retransmitting; the
    /// next new data segment carries CWR. A loss recovery in progress has
    /// already reduced it.
    pub(super) fn on_ecn_echo(&mut self, header: &TcpHeader) {
        if !self.ecn.capable || !header.flags.ece || header.flags.syn {
            return;
        }
        self.ecn.stats.ece_received += 1;
        if self
            .ecn
            .reduced_until
            .is_some_and(|until| self.snd_una < until)
        {
            return;
        }
        self.ecn.reduced_until = Some(self.snd_max);
        self.ecn.cwr_owed = true;
        if self.cc.in_recovery() || self.cc.in_timeout_recovery() {
            return;
        }
        let flight = self.snd_max.since(self.snd_una);
        if self.cc.on_ecn_echo(flight, self.snd_max) {
            self.ecn.stats.reductions += 1;
            debug!(
                "{} -> {}: ECN-Echo, cwnd {} ssthresh {}",
                self.local, self.remote, self.cc.cwnd, self.cc.ssthresh
            );
        }
    }

    /// A segment of new data (not a retransmission nor a window probe)
    /// leaves ECT(0) (§6.1.2, §6.1.5), with CWR if a reduction is owed.
    pub(super) fn mark_new_data(&mut self, out: &mut Outgoing) {
        if !self.ecn.capable || out.payload_len == 0 {
            return;
        }
        out.ecn = Ecn::Ect0;
        if std::mem::take(&mut self.ecn.cwr_owed) {
            out.header.flags.cwr = true;
            self.ecn.stats.cwr_sent += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::config::CongestionControl;
    use crate::engine::tcp::congestion::Congestion;
    use crate::wire::SeqNum;

    const SMSS: usize = 1000;

    /// RFC 3168 §6.1.2 by each algorithm's own factor: NewReno halves the
    /// flight, CUBIC keeps beta = 0.7 of it (RFC 9438 §4.6); BBR v1, as
    /// Linux's, leaves its window to the path model.
    #[test]
    fn shld_8_each_congestion_control_answers_an_ece_as_a_loss_but_bbr() {
        let answer = |kind| {
            let mut cc = Congestion::new(SMSS, kind);
            cc.set_sack(true);
            let reduced = cc.on_ecn_echo(10 * SMSS, SeqNum(10 * SMSS as u32));
            (reduced, cc.cwnd, cc.ssthresh)
        };
        assert_eq!(
            answer(CongestionControl::NewReno),
            (true, 5 * SMSS, 5 * SMSS)
        );
        assert_eq!(answer(CongestionControl::Cubic), (true, 7 * SMSS, 7 * SMSS));
        assert_eq!(
            answer(CongestionControl::Bbr),
            (false, 10 * SMSS, usize::MAX)
        );
    }
}
