//! SEGMENT ARRIVES (RFC 9293 §3.10.7), for a segment that found its TCB.
//!
//! SYN-SENT has its own procedure (§3.10.7.3). All other states follow
//! §3.10.7.4 step by step, one function per step, in the RFC's order:
//! sequence number, RST, (security), SYN, ACK, URG, text, FIN. Each step
//! either lets the segment go on to the next one or ends its processing.
//! With the RFC 5961 mitigations: exact-match RST, challenge ACKs, and the
//! ACK-value window check.

use std::ops::ControlFlow;
use std::time::Duration;

use log::{debug, trace};

use super::congestion::AckAction;
use super::reply::rst_for;
use super::state::State;
use super::tcb::{Tcb, MAX_DUP_ACKS_OWED, MAX_WINDOW_FIELD};
use super::timers::TimerKind;
use crate::engine::api::ApiError;
use crate::time::Instant;
use crate::wire::{SeqNum, TcpSegment};

/// What ended a segment's processing early: `Some(rst)` to send a reset.
type Step = ControlFlow<Option<crate::wire::TcpHeader>>;

const STOP: Step = ControlFlow::Break(None);

impl Tcb {
    /// Processes one segment for this connection. Returns a RST to send in
    /// reply when the RFC asks for one (replies that are ACKs are sent by
    /// the normal output path).
    pub fn handle_segment(
        &mut self,
        now: Instant,
        seg: &TcpSegment,
    ) -> Option<crate::wire::TcpHeader> {
        trace!(
            "{} <- {}: {} len {} in {}",
            self.local,
            self.remote,
            seg.header,
            seg.payload.len(),
            self.state
        );
        self.clock = now;
        let flow = match self.state {
            State::Closed | State::Listen => STOP,
            State::SynSent => self.on_segment_in_syn_sent(now, seg),
            _ => self.on_segment_in_other_states(now, seg),
        };
        self.update_persist_timer(now);
        match flow {
            ControlFlow::Break(rst) => rst,
            ControlFlow::Continue(()) => None,
        }
    }

    /// §3.10.7.3 SYN-SENT STATE.
    fn on_segment_in_syn_sent(&mut self, now: Instant, seg: &TcpSegment) -> Step {
        let h = &seg.header;
        // First, check the ACK bit.
        if let Some(ack) = h.ack {
            if ack <= self.iss || ack > self.snd_max {
                debug!("{}: unacceptable ACK {} in SYN-SENT", self.local, ack);
                self.segments_dropped += 1;
                return ControlFlow::Break(rst_for(seg));
            }
        }
        // Second, check the RST bit: only with an acceptable ACK (SEG.ACK
        // names our SYN, so the RST is not blind).
        if h.flags.rst {
            if h.ack.is_some() {
                self.fail(ApiError::ConnectionRefused);
            } else {
                self.segments_dropped += 1;
            }
            return STOP;
        }
        // Fourth, check the SYN bit; fifth, neither SYN nor RST: drop.
        if !h.flags.syn {
            self.segments_dropped += 1;
            return STOP;
        }
        self.synchronize_receive(now, h);
        self.last_heard = now;
        match h.ack {
            Some(ack) => {
                // Our SYN is acknowledged: "change the connection state to
                // ESTABLISHED, form an ACK segment ... and send it."
                self.acknowledge_syn(now, ack, h);
                self.snd_wl2 = ack;
                self.on_established();
                self.ack_now = true;
                // "If there are other controls or text in the segment, then
                // continue processing at the sixth step".
                let after_syn = TcpSegment {
                    header: crate::wire::TcpHeader {
                        seq: h.seq + 1,
                        ..*h
                    },
                    ..*seg
                };
                let text_held = self.process_text(now, &after_syn);
                self.process_fin(now, &after_syn, text_held);
            }
            None => {
                // Simultaneous open: "enter SYN-RECEIVED, form a SYN,ACK
                // segment <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send it".
                // Text on the SYN waits for ESTABLISHED (§3.10.7.2).
                self.set_state(State::SynReceived);
                self.queue_syn_text(seg.payload);
                self.snd_nxt = self.iss;
            }
        }
        STOP
    }

    /// Our SYN got acknowledged by `ack` (SND.UNA < ack =< SND.MAX) in
    /// the segment `h`.
    fn acknowledge_syn(&mut self, now: Instant, ack: SeqNum, h: &crate::wire::TcpHeader) {
        self.snd_una = ack;
        self.snd_nxt = self.snd_nxt.max(ack);
        self.take_rtt_sample(now, ack, h, 1);
        self.timers.stop(TimerKind::Retransmit);
        self.stalled_since = None;
    }

    /// §3.10.7.4 "Other States", steps one to eight.
    fn on_segment_in_other_states(&mut self, now: Instant, seg: &TcpSegment) -> Step {
        if self.is_retransmitted_syn(seg) {
            // The peer did not get our SYN-ACK: send it again now rather
            // than wait for our retransmission timer.
            self.snd_nxt = self.iss;
            return STOP;
        }
        self.check_timestamp(now, seg)?;
        self.check_sequence(now, seg)?;
        // RFC 7323 §5.3 R3: an acceptable segment may update TS.Recent.
        let options = &seg.header.options;
        self.ts
            .on_acceptable_segment(now, seg.header.seq, options.timestamps);
        self.last_heard = now;
        self.check_rst(now, seg)?;
        self.check_syn(now, seg)?;
        self.check_ack(now, seg)?;
        self.on_ecn_marks(seg);
        // Sixth, the URG bit (`urgent.rs`); MUST-66: even at a zero window.
        self.note_urgent(&seg.header);
        self.check_orphan_data(seg)?;
        let text_held = self.process_text(now, seg);
        self.process_fin(now, seg, text_held);
        ControlFlow::Continue(())
    }

    fn is_retransmitted_syn(&self, seg: &TcpSegment) -> bool {
        let h = &seg.header;
        self.state == State::SynReceived
            && h.flags.syn
            && !h.flags.rst
            && h.ack.is_none()
            && h.seq == self.irs
    }

    /// RCV.WND: what we last advertised, measured from RCV.NXT.
    pub(super) fn rcv_wnd(&self) -> usize {
        self.rcv_adv.since(self.rcv_nxt)
    }

    /// Before the first step, RFC 7323 §5.3 R1 (PAWS): a segment with a
    /// TSval older than TS.Recent is an old duplicate, even if its sequence
    /// numbers look right (they may have wrapped): "Send an acknowledgment
    /// in reply ... and drop the segment". A segment without the option is
    /// let through: RFC 7323 §3.2 says a TCP SHOULD drop it, but Linux
    /// accepts it (middleboxes strip options), and so do we.
    fn check_timestamp(&mut self, now: Instant, seg: &TcpSegment) -> Step {
        let h = &seg.header;
        if !self.ts.rejects(now, h.options.timestamps, h.flags.rst) {
            return ControlFlow::Continue(());
        }
        debug!(
            "{} <- {}: PAWS: TSval older than TS.Recent, seq {} dropped",
            self.local, self.remote, h.seq
        );
        self.segments_dropped += 1;
        self.acknowledge_unacceptable(now, seg);
        STOP
    }

    /// "an acknowledgment should be sent in reply" to an unacceptable
    /// segment. Replies to segments without data share the challenge-ACK
    /// budget, so two confused ends cannot bounce bare ACKs at each other
    /// forever. Data before RCV.NXT came again (our ACK was lost, or the
    /// sender resent too early): the ACK says so with a D-SACK block.
    fn acknowledge_unacceptable(&mut self, now: Instant, seg: &TcpSegment) {
        if seg.seg_len() > 0 {
            self.ack_now = true;
        } else {
            self.challenge_ack(now);
        }
        let seq = seg.header.seq;
        if seq < self.rcv_nxt {
            let old = self.rcv_nxt.since(seq).min(seg.payload.len());
            self.report_duplicate(seq, old);
        }
    }

    /// First step: the four cases of Table 6 (§3.10.7.4).
    fn check_sequence(&mut self, now: Instant, seg: &TcpSegment) -> Step {
        let seq = seg.header.seq;
        let len = seg.seg_len();
        let wnd = self.rcv_wnd();
        let window_end = self.rcv_nxt + wnd;
        let acceptable = match (len, wnd) {
            (0, 0) => seq == self.rcv_nxt,
            // An ACK exactly at the right edge too, as Linux's
            // tcp_sequence() takes it ("special allowance ... to accept
            // valid ACKs"): a peer whose segment filled our window and was
            // lost sends its ACKs there. Refusing them deadlocks a pair
            // whose other direction waits on those ACKs (seen with big
            // auto-tuned windows under loss: the echo blocks on its send
            // buffer, so nothing reopens our window). A RST there stays
            // outside (RFC 5961 §3: dropped silently).
            (0, _) => {
                seq.in_range(self.rcv_nxt, window_end)
                    || (seq == window_end && !seg.header.flags.rst)
            }
            // Table 6 says "not acceptable", but "special allowance should
            // be made to accept valid ACKs, URGs, and RSTs": a segment that
            // covers RCV.NXT goes on so its ACK and window are used
            // (otherwise two ends with full buffers can deadlock, each
            // ignoring the other's ACKs); the seventh step then finds no
            // room for its text, drops it and sends an ACK.
            (_, 0) => self.rcv_nxt.in_range(seq, seq + len),
            (_, _) => {
                seq.in_range(self.rcv_nxt, window_end)
                    || (seq + len - 1).in_range(self.rcv_nxt, window_end)
            }
        };
        if acceptable {
            return ControlFlow::Continue(());
        }
        debug!(
            "{} <- {}: unacceptable segment seq {} len {} (RCV.NXT {} RCV.WND {})",
            self.local, self.remote, seq, len, self.rcv_nxt, wnd
        );
        self.segments_dropped += 1;
        if !seg.header.flags.rst {
            self.acknowledge_unacceptable(now, seg);
            if self.state == State::TimeWait && seg.header.flags.fin {
                // A retransmitted FIN in TIME-WAIT (its sequence number is
                // old, so it lands here): "Acknowledge it, and restart the
                // 2 MSL timeout" (§3.10.7.4, fifth step, TIME-WAIT).
                self.enter_time_wait(now);
            }
        }
        STOP
    }

    /// Second step, with RFC 5961 §3: only an RST at exactly RCV.NXT resets.
    fn check_rst(&mut self, now: Instant, seg: &TcpSegment) -> Step {
        if !seg.header.flags.rst {
            return ControlFlow::Continue(());
        }
        if seg.header.seq != self.rcv_nxt {
            debug!(
                "{} <- {}: in-window RST not at RCV.NXT, challenge ACK",
                self.local, self.remote
            );
            self.segments_dropped += 1;
            self.challenge_ack(now);
            return STOP;
        }
        match self.state {
            // Passive open: "return this connection to LISTEN state"; the
            // listener never left LISTEN, so this TCB just goes away.
            State::SynReceived if self.passive => self.set_state(State::Closed),
            State::SynReceived => self.fail(ApiError::ConnectionRefused),
            State::Established | State::FinWait1 | State::FinWait2 | State::CloseWait => {
                self.fail(ApiError::ConnectionReset)
            }
            // CLOSING, LAST-ACK, TIME-WAIT: "enter the CLOSED state".
            _ => self.set_state(State::Closed),
        }
        STOP
    }

    /// Fourth step: a SYN on a synchronized connection gets a challenge ACK
    /// (RFC 5961 §4); in SYN-RECEIVED from a listener the TCB is dropped.
    fn check_syn(&mut self, now: Instant, seg: &TcpSegment) -> Step {
        if !seg.header.flags.syn {
            return ControlFlow::Continue(());
        }
        if self.state == State::SynReceived && self.passive {
            debug!(
                "{} <- {}: SYN in SYN-RECEIVED, back to LISTEN",
                self.local, self.remote
            );
            self.segments_dropped += 1;
            self.set_state(State::Closed);
            return STOP;
        }
        debug!(
            "{} <- {}: SYN in {}, challenge ACK",
            self.local, self.remote, self.state
        );
        self.segments_dropped += 1;
        self.challenge_ack(now);
        STOP
    }

    /// Sends an ACK that a blind attacker cannot use, at most
    /// `challenge_acks_per_sec` a second for this connection and within
    /// the stack-wide allowance (RFC 5961 §7).
    pub(super) fn challenge_ack(&mut self, now: Instant) {
        if now - self.challenge_window_start >= Duration::from_secs(1) {
            self.challenge_window_start = now;
            self.challenge_count = 0;
        }
        if self.challenge_count >= self.cfg.challenge_acks_per_sec {
            self.challenge_acks.note_limited();
            debug!(
                "{} -> {}: challenge ACK rate limit reached",
                self.local, self.remote
            );
        } else if !self.challenge_acks.try_take(now) {
            debug!(
                "{} -> {}: stack-wide challenge ACK limit reached",
                self.local, self.remote
            );
        } else {
            self.challenge_count += 1;
            self.ack_now = true;
        }
    }

    /// Fifth step: the ACK field.
    fn check_ack(&mut self, now: Instant, seg: &TcpSegment) -> Step {
        let Some(ack) = seg.header.ack else {
            // "if the ACK bit is off, drop the segment and return"
            self.segments_dropped += 1;
            return STOP;
        };
        if self.state == State::SynReceived {
            // "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED".
            if !(self.snd_una < ack && ack <= self.snd_max) {
                debug!(
                    "{} <- {}: bad ACK {} in SYN-RECEIVED",
                    self.local, self.remote, ack
                );
                self.segments_dropped += 1;
                return ControlFlow::Break(rst_for(seg));
            }
            self.acknowledge_syn(now, self.iss + 1, &seg.header);
            self.snd_wnd = self.peer_window(&seg.header);
            self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
            self.snd_wl1 = seg.header.seq;
            self.snd_wl2 = ack;
            self.on_established();
        }
        // RFC 5961 §5: acceptable only in (SND.UNA - MAX.SND.WND) =< SEG.ACK =< SND.NXT.
        let oldest_acceptable = self.snd_una - self.max_snd_wnd.max(1);
        let newest_acceptable = self.highest_acceptable_ack();
        if ack > newest_acceptable || ack < oldest_acceptable {
            debug!(
                "{} <- {}: ACK {} outside [{}, {}]",
                self.local, self.remote, ack, oldest_acceptable, newest_acceptable
            );
            self.segments_dropped += 1;
            self.challenge_ack(now);
            return STOP;
        }
        let (una_before, sacked_before) = (self.snd_una, self.scoreboard.sacked_bytes());
        let sacked_new = self.on_sack_blocks(seg);
        let acked_new = ack > self.snd_una;
        if acked_new {
            self.on_new_ack(now, ack, &seg.header);
        } else if self.is_duplicate_ack(seg, ack, sacked_new) {
            self.on_duplicate_ack(!seg.header.options.sack.is_empty());
        }
        self.rack_on_ack(now, seg, acked_new, sacked_new);
        // RFC 6937 DeliveredData: the change in SND.UNA plus the change
        // in SACKed bytes (bytes SACKed before and now ACKed count once).
        let delivered = (self.snd_una.since(una_before) + self.scoreboard.sacked_bytes())
            .saturating_sub(sacked_before);
        self.prr_on_ack(delivered);
        self.on_ecn_echo(&seg.header);
        self.track_recovery_time(now);
        self.update_send_window(seg, ack);
        self.ack_state_transitions(now, seg)
    }

    /// SND.NXT of the RFC's checks: the highest number we have sent, plus
    /// the zero-window probe byte if one is out.
    fn highest_acceptable_ack(&self) -> SeqNum {
        if self.probe_sent {
            self.snd_max.max(self.snd_nxt + 1)
        } else {
            self.snd_max
        }
    }

    /// "If SND.UNA < SEG.ACK =< SND.NXT, then set SND.UNA <- SEG.ACK" and
    /// drop the acknowledged bytes; RTT sample, congestion window, timers.
    fn on_new_ack(&mut self, now: Instant, ack: SeqNum, h: &crate::wire::TcpHeader) {
        let acked = ack.since(self.snd_una);
        let flight_before = self.snd_max.since(self.snd_una);
        self.send_buf.discard(acked);
        self.snd_una = ack;
        self.scoreboard.advance(ack);
        self.snd_nxt = self.snd_nxt.max(ack);
        self.snd_max = self.snd_max.max(self.snd_nxt);
        self.probe_sent = false;
        self.take_rtt_sample(now, ack, h, flight_before);
        self.stalled_since = None;
        let flight = self.snd_max.since(self.snd_una);
        let action = self.cc.on_new_ack(ack, acked, flight, now, self.rtt.srtt());
        if action == AckAction::RetransmitFirst {
            self.retransmit_first = true;
        }
        // RFC 6298 (5.2) all acknowledged: stop; (5.3) else restart.
        if self.snd_una >= self.snd_nxt {
            self.timers.stop(TimerKind::Retransmit);
        } else {
            self.restart_retransmit_timer(now);
        }
    }

    /// RFC 5681 §2 DUPLICATE ACKNOWLEDGMENT: outstanding data, no data or
    /// SYN/FIN in the segment, same ACK, same window. With SACK blocks,
    /// RFC 6675 §2 instead: outstanding data, same ACK, and SACK blocks
    /// that SACK bytes not SACKed before (whatever else the segment carries).
    fn is_duplicate_ack(&self, seg: &TcpSegment, ack: SeqNum, sacked_new: bool) -> bool {
        if ack != self.snd_una || self.snd_max == self.snd_una {
            return false;
        }
        if self.sack_ok && !seg.header.options.sack.is_empty() {
            return sacked_new;
        }
        self.snd_nxt > self.snd_una
            && seg.seg_len() == 0
            && self.peer_window(&seg.header) == self.snd_wnd
    }

    /// A duplicate ACK. With SACK blocks, RACK judges loss from them
    /// (RFC 8985, `loss.rs`) and the count only feeds Limited Transmit;
    /// without, the third one is a fast retransmit (RFC 5681 §3.2).
    fn on_duplicate_ack(&mut self, with_sack_blocks: bool) {
        if self.sack_ok && with_sack_blocks {
            self.cc.count_duplicate_ack();
            return;
        }
        let flight = self.snd_max.since(self.snd_una);
        let third = self.cc.on_duplicate_ack(flight, self.snd_max) == AckAction::RetransmitFirst;
        if third {
            debug!(
                "{} -> {}: third duplicate ACK, fast retransmit",
                self.local, self.remote
            );
            self.high_rxt = self.snd_una;
            self.recovery_stats.fast_recoveries += 1;
            self.retransmit_first = true;
        }
    }

    /// "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be
    /// updated. If (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =<
    /// SEG.ACK)), set SND.WND <- SEG.WND, set SND.WL1 <- SEG.SEQ, and set
    /// SND.WL2 <- SEG.ACK." An older ACK (below SND.UNA, which `on_new_ack`
    /// has already moved) carries an older window: it must not be used.
    fn update_send_window(&mut self, seg: &TcpSegment, ack: SeqNum) {
        let ack_in_range = self.snd_una <= ack && ack <= self.highest_acceptable_ack();
        if !ack_in_range {
            return;
        }
        let seq = seg.header.seq;
        if self.snd_wl1 < seq || (self.snd_wl1 == seq && self.snd_wl2 <= ack) {
            self.snd_wnd = self.peer_window(&seg.header);
            self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
            self.snd_wl1 = seq;
            self.snd_wl2 = ack;
        }
    }

    /// Whether our FIN has been sent and acknowledged.
    pub(super) fn fin_acked(&self) -> bool {
        self.fin_seq.is_some_and(|fin| self.snd_una > fin)
    }

    /// The per-state part of the fifth step.
    fn ack_state_transitions(&mut self, now: Instant, seg: &TcpSegment) -> Step {
        match self.state {
            // "if the FIN segment is now acknowledged, then enter FIN-WAIT-2".
            State::FinWait1 if self.fin_acked() => {
                self.set_state(State::FinWait2);
                self.start_orphan_timeout(now);
            }
            // "if the ACK acknowledges our FIN, then enter the TIME-WAIT
            // state; otherwise, ignore the segment."
            State::Closing => {
                if self.fin_acked() {
                    self.enter_time_wait(now);
                }
                return STOP;
            }
            // "If our FIN is now acknowledged, delete the TCB".
            State::LastAck => {
                if self.fin_acked() {
                    self.set_state(State::Closed);
                }
                return STOP;
            }
            // "The only thing that can arrive in this state is a
            // retransmission of the remote FIN. Acknowledge it, and restart
            // the 2 MSL timeout." Whatever else arrives inside the window is
            // answered so too (Linux and FreeBSD do), except a bare ACK at
            // RCV.NXT, which has nothing to answer.
            State::TimeWait => {
                let bare_ack = seg.seg_len() == 0 && seg.header.seq == self.rcv_nxt;
                if !bare_ack {
                    self.ack_now = true;
                    self.timers
                        .start(TimerKind::TimeWait, now + self.cfg.msl * 2);
                }
                return STOP;
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    /// Before the seventh step: new data for a connection the application
    /// has closed can never be read. RFC 1122 §4.2.2.13: "if new data is
    /// received after CLOSE is called, its TCP SHOULD send a RST to show
    /// that data was lost" (RFC 2525 §2.17); the connection is aborted, as
    /// Linux and BSD do. A half-closed connection (shutdown_write with the
    /// handle kept) is not an orphan and receives as usual.
    fn check_orphan_data(&mut self, seg: &TcpSegment) -> Step {
        let new_data = !seg.payload.is_empty() && seg.header.seq + seg.payload.len() > self.rcv_nxt;
        if !(self.orphaned && new_data && self.state.can_receive_data()) {
            return ControlFlow::Continue(());
        }
        debug!(
            "{} <- {}: data after close in {}, reset",
            self.local, self.remote, self.state
        );
        self.segments_dropped += 1;
        self.fail(ApiError::ConnectionReset);
        ControlFlow::Break(rst_for(seg))
    }

    /// Seventh step: segment text. The segment has passed the sequence
    /// check, so some of it is at or after RCV.NXT and inside the window;
    /// the rest is trimmed off here ("only the new parts are processed").
    /// Returns whether all of the text is now held (received before, or
    /// stored in order or out of order), so a FIN after it may be too.
    pub(super) fn process_text(&mut self, now: Instant, seg: &TcpSegment) -> bool {
        if seg.payload.is_empty() || !self.state.can_receive_data() {
            return seg.payload.is_empty();
        }
        let offset = seg.header.seq.diff(self.rcv_nxt);
        let skip = usize::try_from(-offset).unwrap_or(0);
        let start = usize::try_from(offset).unwrap_or(0);
        let window = self.rcv_wnd().min(self.recv_buf.free());
        if skip > 0 {
            // RFC 2883 §4: the part before RCV.NXT is a duplicate.
            self.report_duplicate(seg.header.seq, skip.min(seg.payload.len()));
        }
        if skip >= seg.payload.len() || start >= window {
            self.ack_now = true; // a duplicate or beyond the window: re-ACK
            return skip >= seg.payload.len();
        }
        let data = &seg.payload[skip..];
        let data = &data[..data.len().min(window - start)];
        if !self.make_out_of_order_room(start, data.len()) {
            debug!(
                "{} <- {}: out-of-order data at its bound, segment dropped",
                self.local, self.remote
            );
            self.segments_dropped += 1;
            self.ack_now = true;
            return false;
        }
        // Storage grows as data arrives; past the memory budget only what
        // fits is kept, and the sender sends the rest again.
        let data = &data[..self.recv_buf.make_room(start, data.len())];
        if data.is_empty() {
            self.segments_dropped += 1;
            self.ack_now = true;
            return false;
        }
        let all_fits = skip + data.len() == seg.payload.len();
        let range = start..start + data.len();
        // RFC 2883 §4: out-of-order data we already hold, again. A segment
        // that also repeats bytes below RCV.NXT reports those instead (the
        // RFC allows either; Linux's tcp_data_queue and FreeBSD do so).
        let held = self.reassembly.first_overlap(range).filter(|_| skip == 0);
        if let Some(held) = held {
            self.report_duplicate(self.rcv_nxt + held.start, held.len());
        }
        // Held out-of-order data means a gap this segment may fill.
        let gap_before = !self.reassembly.is_empty();
        if self.reassembly.insert(start..start + data.len()).is_err() {
            debug!(
                "{} <- {}: out-of-order queue full, segment dropped",
                self.local, self.remote
            );
            self.segments_dropped += 1;
            self.ack_now = true;
            return false;
        }
        self.recv_buf.write_unallocated(start, data);
        let in_order = self.reassembly.pop_front();
        self.sync_out_of_order_charge();
        self.recv_buf.commit(in_order);
        self.rcv_nxt += in_order;
        self.autotune_receive(now);
        if start > 0 {
            self.dup_acks_owed = (self.dup_acks_owed + 1).min(MAX_DUP_ACKS_OWED);
        } else {
            // RCV.NXT moved: ACKs owed for the old value would no longer
            // be duplicates; the one ACK scheduled below says it all.
            self.dup_acks_owed = 0;
        }
        self.schedule_ack(
            now,
            data.len(),
            start > 0 || gap_before || !self.reassembly.is_empty(),
        );
        all_fits
    }

    /// `len` bytes from `seq` arrived a second time: the next ACK reports
    /// them first in its SACK option, as a D-SACK block (RFC 2883 §4), if
    /// SACK is in use. The sender learns that it resent needlessly, and
    /// learns it at once: the ACK is not delayed (a sender undoes a
    /// needless window reduction from it, RFC 8985 §6.2, RFC 3708; Linux
    /// and FreeBSD ACK duplicates at once too).
    fn report_duplicate(&mut self, seq: SeqNum, len: usize) {
        if self.sack_ok && len > 0 {
            self.dsack = Some(crate::wire::SackBlock {
                left: seq,
                right: seq + len,
            });
            self.ack_now = true;
        }
    }

    /// RFC 1122 §4.2.3.2 delayed ACK: at least every second full-sized
    /// segment, never later than the delay; out-of-order data and filled
    /// holes are ACKed at once so the sender's fast retransmit works (RFC
    /// 5681 §4.2). A segment of `len` bytes counts as the full-sized ones
    /// it holds: a 64 KB segment from a sender with segmentation offload
    /// stands for 44 of them and is ACKed at once, not 40 ms later.
    fn schedule_ack(&mut self, now: Instant, len: usize, immediately: bool) {
        let full_sized = len / usize::from(self.cfg.our_mss).max(1);
        // At most 65535 / 88 (the smallest MSS): no overflow.
        self.segments_unacked += full_sized.max(1) as u32;
        match self.cfg.delayed_ack {
            Some(delay) if !immediately && self.segments_unacked < 2 => {
                if !self.timers.is_running(TimerKind::DelayedAck) {
                    self.timers.start(TimerKind::DelayedAck, now + delay);
                }
            }
            _ => self.ack_now = true,
        }
    }

    /// Eighth step: the FIN bit. A FIN counts once RCV.NXT reaches it (all
    /// data before it has arrived). One after a hole is remembered, like
    /// the text before it: "segments with higher beginning sequence numbers
    /// SHOULD be held for later processing" (§3.10.7.4); so it is processed
    /// when a later segment fills the hole, even one without FIN. Only if
    /// all the text before it was held (`text_held`): a FIN after trimmed
    /// text lies outside the window and will come again.
    pub(super) fn process_fin(&mut self, now: Instant, seg: &TcpSegment, text_held: bool) {
        if self.fin_received {
            if seg.header.flags.fin {
                // The peer's FIN again, inside the window: "send an
                // acknowledgment for the FIN" (§3.10.7.4, eighth step;
                // TIME-WAIT answers in the fifth, `ack_state_transitions`).
                self.ack_now = true;
            }
            return;
        }
        let fin_seq = seg.header.seq + seg.payload.len();
        if seg.header.flags.fin && text_held && fin_seq >= self.rcv_nxt {
            if fin_seq > self.rcv_nxt {
                trace!(
                    "{} <- {}: FIN at {} after a hole (RCV.NXT {}), held",
                    self.local,
                    self.remote,
                    fin_seq,
                    self.rcv_nxt
                );
                // Out of order: a duplicate ACK at once (RFC 5681 §4.2).
                self.ack_now = true;
            }
            self.peer_fin_at = Some(fin_seq);
        }
        if self.peer_fin_at != Some(self.rcv_nxt) {
            return;
        }
        self.rcv_nxt += 1;
        // The FIN takes a sequence number but no buffer space: the right
        // edge moves with it, so the window we offer stays the same.
        self.rcv_adv += 1;
        self.fin_received = true;
        self.ack_now = true;
        match self.state {
            State::SynReceived | State::Established => self.set_state(State::CloseWait),
            // "If our FIN has been ACKed ... enter TIME-WAIT ...; otherwise,
            // enter the CLOSING state."
            State::FinWait1 if self.fin_acked() => self.enter_time_wait(now),
            State::FinWait1 => self.set_state(State::Closing),
            State::FinWait2 => self.enter_time_wait(now),
            _ => {}
        }
    }

    /// The largest window we could advertise right now.
    pub(super) fn window_limit(&self) -> usize {
        self.recv_buf.free().min(MAX_WINDOW_FIELD << self.rcv_shift)
    }
}
