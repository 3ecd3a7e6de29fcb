//! What a connection sends next: one segment per call.
//!
//! Priorities, highest first: the handshake's SYN or SYN-ACK; a fast
//! retransmission; new (or, after a timeout, resent) data and FIN as far as
//! the windows allow; a zero-window probe; a bare ACK. Every segment after
//! the SYN carries the current ACK and window, so any of them clears a
//! pending ACK.

use log::trace;

use super::state::State;
use super::tcb::{Tcb, MAX_WINDOW_FIELD};
use super::timers::TimerKind;
use crate::time::Instant;
use crate::wire::options::MAX_SACK_BLOCKS_WITH_TIMESTAMPS;
use crate::wire::{Ecn, SeqNum, TcpFlags, TcpHeader, TcpOptions, IPV4_HEADER_LEN, TCP_HEADER_LEN};

/// A segment ready to be written: its header, and `payload_len` bytes of
/// payload already in the buffer passed to [`Tcb::poll_segment`], right
/// after where the header goes (at `header.header_len()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub header: TcpHeader,
    pub payload_len: usize,
    /// The ECN field for the IP header (RFC 3168 §6.1.2: ECT(0) on new
    /// data of an ECN-capable connection, `ecn.rs`), for IPv4's TOS byte
    /// or IPv6's Traffic Class.
    pub ecn: Ecn,
}

impl Tcb {
    /// The next segment to send. `segment` is the room for the whole TCP
    /// segment: the payload is copied in after the header's place.
    pub fn poll_segment(&mut self, now: Instant, segment: &mut [u8]) -> Option<Outgoing> {
        self.clock = now;
        let out = match self.state {
            State::Closed | State::Listen => None,
            State::SynSent => (self.snd_nxt == self.iss).then(|| self.emit_syn(now, false)),
            State::SynReceived if self.snd_nxt == self.iss => Some(self.emit_syn(now, true)),
            State::SynReceived => self.ack_now.then(|| self.emit_ack(segment)),
            _ => self.poll_synchronized(now, segment),
        };
        if let Some(out) = &out {
            trace!(
                "{} -> {}: {} len {} in {}",
                self.local,
                self.remote,
                out.header,
                out.payload_len,
                self.state
            );
        }
        self.update_persist_timer(now);
        out
    }

    /// SYN (active open) or SYN-ACK (§3.10.7.2), with our MSS (§3.7.1).
    fn emit_syn(&mut self, now: Instant, with_ack: bool) -> Outgoing {
        let retransmission = self.snd_max != self.iss;
        let (ece, cwr) = self.syn_ecn_flags(with_ack);
        let header = TcpHeader {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq: self.iss,
            ack: with_ack.then_some(self.rcv_nxt),
            flags: TcpFlags {
                syn: true,
                ece,
                cwr,
                ..TcpFlags::default()
            },
            window: self.syn_window(),
            urgent: 0,
            options: self.syn_options(now, with_ack),
        };
        if with_ack {
            self.ts.on_ack_sent(self.rcv_nxt);
        }
        self.snd_nxt = self.iss + 1;
        self.snd_max = self.snd_max.max(self.snd_nxt);
        self.clear_pending_ack();
        self.note_sent(now, self.iss, 1, retransmission);
        Outgoing {
            header,
            payload_len: 0,
            ecn: Ecn::NotEct,
        }
    }

    /// Our options on a SYN (active open) or SYN-ACK: MSS (§3.7.1);
    /// SACK-permitted (RFC 2018 §2), Window Scale (RFC 7323 §2.2) and
    /// Timestamps (RFC 7323 §3.2), on a SYN-ACK only if the SYN had them.
    fn syn_options(&self, now: Instant, with_ack: bool) -> TcpOptions {
        let (sack_permitted, window_scale, timestamps) = if with_ack {
            let shift = self.window_scaling.then_some(self.offered_shift);
            (self.sack_ok, shift, self.ts.option(now))
        } else {
            let timestamps = self.cfg.timestamps.then(|| self.ts.syn_option(now));
            (self.cfg.sack, Some(self.offered_shift), timestamps)
        };
        TcpOptions {
            sack_permitted,
            window_scale,
            timestamps,
            ..TcpOptions::with_mss(self.cfg.our_mss)
        }
    }

    /// The window of a SYN or SYN-ACK: never scaled (RFC 7323 §2.2), so at
    /// most 65535; in SYN-RECEIVED, what `synchronize_receive` recorded.
    fn syn_window(&self) -> u16 {
        let window = match self.state {
            State::SynSent => self.window_limit(),
            _ => self.rcv_wnd(),
        };
        window.min(MAX_WINDOW_FIELD) as u16
    }

    /// Options on every other segment: timestamps once negotiated (RFC
    /// 7323 §3.2: "sent in every non-<RST> segment"); SACK blocks while we
    /// hold data past a hole (RFC 2018 §4: "SACK options SHOULD be
    /// included in all ACKs which do not ACK the highest sequence number
    /// in the data receiver's queue"), after a D-SACK block for a duplicate
    /// just received (RFC 2883 §4: "the first block"). With timestamps only
    /// 3 blocks fit in the 40 bytes of option space.
    pub(super) fn ack_options(&self) -> TcpOptions {
        let mut options = TcpOptions {
            timestamps: self.ts.option(self.clock),
            ..TcpOptions::default()
        };
        // (In SYN-RECEIVED the held bytes are SYN text at RCV.NXT, no hole.)
        let synchronized = self.state != State::SynReceived;
        if !(self.sack_ok && synchronized) {
            return options;
        }
        if let Some(dsack) = self.dsack {
            options.sack.push(dsack);
        }
        for &block in self.reassembly.sack_blocks(self.rcv_nxt).as_slice() {
            options.sack.push(block);
        }
        if options.timestamps.is_some() {
            options.sack.truncate(MAX_SACK_BLOCKS_WITH_TIMESTAMPS);
        }
        options
    }

    /// The most payload a segment may carry now: the MSS less the option
    /// bytes (§3.7.1: the MSS counts no options, so options displace
    /// data), and what fits in the caller's buffer.
    pub(super) fn max_payload(&self, segment: &[u8]) -> usize {
        let options = self.ack_options().len();
        let room = segment.len().saturating_sub(TCP_HEADER_LEN + options);
        self.send_mss.saturating_sub(options).min(room)
    }

    /// The most new data one segment may carry: one MSS (`mss`, from
    /// [`Tcb::max_payload`]), or with segmentation offload up to
    /// `offload_segment` bytes that the device cuts back into MSS-sized
    /// segments at its MTU. The device's cut fits only a peer that takes
    /// segments as large as our MSS, so a smaller peer MSS turns it off.
    /// Retransmissions stay one MSS each, so loss recovery is unchanged.
    fn max_new_data(&self, segment: &[u8], mss: usize) -> usize {
        let Some(offload) = self.cfg.offload_segment else {
            return mss;
        };
        if self.send_mss < usize::from(self.cfg.our_mss) {
            return mss;
        }
        let headers = TCP_HEADER_LEN + self.ack_options().len();
        // The IPv4 total length is 16 bits.
        let largest = (usize::from(u16::MAX) - IPV4_HEADER_LEN - headers)
            .min(segment.len().saturating_sub(headers));
        offload.min(largest).max(mss)
    }

    fn poll_synchronized(&mut self, now: Instant, segment: &mut [u8]) -> Option<Outgoing> {
        if std::mem::take(&mut self.retransmit_first) {
            // RFC 6675 §5 (4.3): entering recovery resends the first lost
            // segment whatever pipe says; without SACK, the one at SND.UNA.
            let lost = if self.in_sack_recovery() {
                self.emit_lost_segment(now, segment, true)
            } else {
                None
            };
            if let Some(out) = lost.or_else(|| self.emit_first_unacked(now, segment)) {
                return Some(out);
            }
        }
        if std::mem::take(&mut self.tail_probe_now) {
            if let Some(out) = self.emit_loss_probe(now, segment) {
                return Some(out);
            }
        }
        let recovering = self.in_sack_recovery();
        if recovering {
            // RFC 6675 NextSeg rule 1: what is lost comes before new data.
            if let Some(out) = self.emit_lost_segment(now, segment, false) {
                return Some(out);
            }
        }
        if let Some(out) = self.emit_new_data(now, segment, false) {
            return Some(out);
        }
        if recovering {
            // NextSeg rules 3 and 4: no new data to send, so a hole not
            // yet judged lost, or once the last unSACKed segment, goes again.
            let hole = self.emit_unsacked_hole(now, segment);
            if let Some(out) = hole.or_else(|| self.emit_rescue(now, segment)) {
                return Some(out);
            }
        }
        if std::mem::take(&mut self.probe_now) {
            if let Some(out) = self.emit_window_probe(now, segment) {
                return Some(out);
            }
        }
        if std::mem::take(&mut self.keepalive.probe_now) {
            return Some(self.emit_keepalive(segment));
        }
        self.ack_now.then(|| self.emit_ack(segment))
    }

    /// A bare ACK. Its SEQ is SND.MAX, not SND.NXT: after a timeout SND.NXT
    /// points back into data the peer may already have, and an ACK with
    /// such an old SEQ would be unacceptable to the peer and answered with
    /// an ACK of its own (BSD's tcp_output makes the same choice). But never
    /// past the right edge of the peer's window, where a zero-window peer
    /// would refuse it (Linux's tcp_acceptable_seq).
    fn emit_ack(&mut self, segment: &mut [u8]) -> Outgoing {
        let seq = self.snd_max.min(self.snd_una + self.snd_wnd);
        self.emit_segment(seq, 0, false, segment)
    }

    /// Data from SND.NXT, limited by the peer's window, the congestion
    /// window and the MSS; FIN on the last segment once it is requested.
    /// A loss probe (`probe`) is not limited by cwnd (RFC 8985 §7.3).
    pub(super) fn emit_new_data(
        &mut self,
        now: Instant,
        segment: &mut [u8],
        probe: bool,
    ) -> Option<Outgoing> {
        if self.fin_seq.is_some_and(|fin| self.snd_nxt > fin) {
            return None; // everything, FIN included, is out
        }
        let flight = self.snd_nxt.since(self.snd_una);
        let unsent = self.send_buf.len().saturating_sub(flight);
        // RFC 6675 (C): in SACK recovery, cwnd limits `pipe` (what is
        // really in the network), not everything unacknowledged.
        let in_network = if self.in_sack_recovery() {
            self.pipe()
        } else {
            flight
        };
        let cwnd = if probe {
            usize::MAX
        } else {
            self.cc.cwnd + self.cc.limited_transmit_allowance()
        };
        let usable = self
            .snd_wnd
            .saturating_sub(flight)
            .min(cwnd.saturating_sub(in_network));
        let mss = self.max_payload(segment);
        if !probe && unsent < mss && in_network < cwnd && self.sent.first_lost().is_none() {
            // draft-cheng-iccrg-delivery-rate-estimation §3.4: less than
            // a segment to send, room in cwnd, nothing lost waiting: the
            // application limits the rate, not the network.
            self.cc.rate.mark_app_limited(in_network);
        }
        let mut len = unsent.min(usable).min(self.max_new_data(segment, mss));
        if len > mss && len < unsent {
            // Offload: whole MSS only, so every segment on the wire is full.
            len -= len % mss;
        }
        let fin = self.fin_requested && self.state.fin_queued() && len == unsent;
        let small_ok = probe || self.small_segment_allowed(len, unsent, flight);
        if len > 0 && len < mss && !fin && !small_ok {
            len = 0;
        }
        if len == 0 && !fin {
            return None;
        }
        let seq = self.snd_nxt;
        let retransmission = seq < self.snd_max;
        let mut out = self.emit_segment(seq, len, fin, segment);
        if !retransmission {
            self.mark_new_data(&mut out);
        }
        let seq_len = len + usize::from(fin);
        self.snd_nxt = seq + seq_len;
        self.snd_max = self.snd_max.max(self.snd_nxt);
        self.note_sent(now, seq, seq_len, retransmission);
        Some(out)
    }

    /// Nagle's algorithm (§3.7.4) and sender-side silly window syndrome
    /// avoidance (§3.8.6.2.1, MUST-38) decide whether a less-than-full
    /// segment may go: when it is all that is queued and nothing is in
    /// flight (Nagle) or Nagle is off, or when it is at least half the
    /// largest window the peer ever offered. A window too small for the
    /// rest is not filled with a small segment: the persist timer's
    /// override (`update_persist_timer`, RFC 1122 §4.2.3.4's 0.1-1 s, as
    /// Linux's probe timer) sends what it allows if nothing changes.
    pub(super) fn small_segment_allowed(&self, len: usize, unsent: usize, flight: usize) -> bool {
        (len == unsent && (flight == 0 || self.nodelay)) || len >= self.max_snd_wnd / 2
    }

    /// Fast retransmit (RFC 5681 §3.2) or NewReno partial ACK (RFC 6582):
    /// the segment at SND.UNA again, without moving SND.NXT.
    fn emit_first_unacked(&mut self, now: Instant, segment: &mut [u8]) -> Option<Outgoing> {
        let outstanding = self.snd_nxt.since(self.snd_una);
        let len = outstanding
            .min(self.send_buf.len())
            .min(self.max_payload(segment));
        let fin = self
            .fin_seq
            .is_some_and(|fin| self.snd_una + len == fin && self.snd_nxt > fin);
        if len == 0 && !fin {
            return None;
        }
        let out = self.emit_segment(self.snd_una, len, fin, segment);
        self.high_rxt = self.high_rxt.max(self.snd_una + len);
        self.note_sent(now, self.snd_una, len + usize::from(fin), true);
        Some(out)
    }

    /// Zero-window probe (§3.8.6.1): one byte past the window. SND.NXT does
    /// not move, so the retransmission timer stays off and the persist timer
    /// keeps probing with backoff for as long as the peer answers; if the
    /// byte is accepted, its ACK (valid while `probe_sent`) moves SND.NXT on.
    fn emit_window_probe(&mut self, now: Instant, segment: &mut [u8]) -> Option<Outgoing> {
        if self.snd_wnd > 0 && self.snd_nxt == self.snd_una {
            // The SWS override (§3.8.6.2.1 (4)): the window is open but
            // too small to be worth a segment, and it stayed so.
            return self.emit_new_data(now, segment, true);
        }
        if self.snd_wnd > 0
            || self.snd_nxt != self.snd_una
            || self.send_buf.is_empty()
            || self.max_payload(segment) == 0
        {
            return None;
        }
        let out = self.emit_segment(self.snd_nxt, 1, false, segment);
        self.probe_sent = true;
        Some(out)
    }

    /// Builds a segment at `seq` with `len` bytes of the send buffer, the
    /// current ACK, window and SACK blocks. `len` must be at most
    /// [`Tcb::max_payload`]. Does not move SND.NXT (callers do).
    pub(super) fn emit_segment(
        &mut self,
        seq: SeqNum,
        len: usize,
        fin: bool,
        segment: &mut [u8],
    ) -> Outgoing {
        let options = self.ack_options();
        let payload = &mut segment[TCP_HEADER_LEN + options.len()..];
        let offset = seq.since(self.snd_una);
        let copied = self.send_buf.read_at(offset, &mut payload[..len]);
        let reaches_end = offset + copied == self.send_buf.len();
        if fin {
            self.fin_seq = Some(seq + copied);
        }
        let flags = TcpFlags {
            fin,
            psh: copied > 0 && reaches_end,
            ..TcpFlags::default()
        };
        Outgoing {
            header: self.acking_header(seq, flags, options),
            payload_len: copied,
            ecn: Ecn::NotEct,
        }
    }

    /// The header of a synchronized-state segment at `seq`: the current
    /// ACK and window, which it reports, so no ACK is pending after it.
    pub(super) fn acking_header(
        &mut self,
        seq: SeqNum,
        flags: TcpFlags,
        options: TcpOptions,
    ) -> TcpHeader {
        let urgent = self.urgent_field(seq);
        let header = TcpHeader {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq,
            ack: Some(self.rcv_nxt),
            flags: TcpFlags {
                urg: urgent.is_some(),
                ece: self.ecn_echo(),
                ..flags
            },
            window: self.advertise_window(),
            urgent: urgent.unwrap_or(0),
            options,
        };
        self.ts.on_ack_sent(self.rcv_nxt);
        self.clear_pending_ack();
        header
    }

    /// An ACK went out. If more duplicate ACKs are owed (a batch of
    /// out-of-order segments), the next poll sends another.
    fn clear_pending_ack(&mut self) {
        // A D-SACK block is reported once (RFC 2883 §4).
        self.dsack = None;
        self.dup_acks_owed = self.dup_acks_owed.saturating_sub(1);
        self.ack_now = self.dup_acks_owed > 0;
        self.segments_unacked = 0;
        self.timers.stop(TimerKind::DelayedAck);
    }

    /// Bookkeeping for a segment that used `seq_len` sequence numbers:
    /// RTT timing (not of retransmissions: Karn), and the retransmission
    /// timer "if it is not running" (RFC 6298 (5.1)).
    pub(super) fn note_sent(
        &mut self,
        now: Instant,
        seq: SeqNum,
        seq_len: usize,
        retransmission: bool,
    ) {
        if seq_len == 0 {
            return;
        }
        if self.sack_ok && seq != self.iss {
            // §3.2 SendPacket: the intervals restart when nothing was in
            // flight (an idle time is not delivery time).
            let idle = self.sent.last().is_none();
            let snapshot = self.cc.rate.on_send(now, idle);
            self.sent.on_sent(seq, seq + seq_len, now, snapshot);
        }
        self.cc.on_sent(seq_len, retransmission);
        if retransmission {
            self.retransmissions += 1;
            self.recovery_stats.retransmitted_bytes += seq_len as u64;
            if self.cc.in_recovery() {
                self.recovery_stats.fast_retransmits += 1;
            } else {
                self.recovery_stats.timeout_retransmits += 1;
            }
            self.rtt_probe = None;
        } else if self.rtt_probe.is_none() {
            self.rtt_probe = Some((seq, now));
        }
        if !self.timers.is_running(TimerKind::Retransmit) {
            self.restart_retransmit_timer(now);
        }
        if !retransmission || self.cc.in_recovery() {
            // RFC 8985 §7.2: (re)arm the loss probe after new data; in
            // fast recovery after retransmissions too (`arm_loss_probe`).
            self.arm_loss_probe(now);
        }
    }

    /// The window to put in a segment now. Receiver-side SWS avoidance
    /// (§3.8.6.2.2): the right edge only moves when it can move by at least
    /// min(half the buffer, one MSS); it never moves left.
    /// With window scaling the field is the window >> Rcv.Wind.Shift,
    /// rounded up so the right edge we announce never moves left (RFC 7323
    /// §2.4); the few bytes past the buffer this may offer are trimmed
    /// from arriving segments like any data beyond the buffer.
    pub(super) fn advertise_window(&mut self) -> u16 {
        if self.window_increase_worth_sending() {
            self.rcv_adv = self.rcv_nxt + self.window_limit();
        }
        self.rcv_adv = self.rcv_adv.max(self.rcv_nxt);
        let unit = 1usize << self.rcv_shift;
        let field = self.rcv_wnd().div_ceil(unit).min(MAX_WINDOW_FIELD);
        self.rcv_adv = self.rcv_nxt + (field << self.rcv_shift);
        field as u16
    }

    pub(super) fn window_increase_worth_sending(&self) -> bool {
        let edge = self.rcv_nxt + self.window_limit();
        let threshold = (self.recv_buf.capacity() / 2).min(self.send_mss).max(1);
        edge.diff(self.rcv_adv) >= threshold as i32
    }
}
