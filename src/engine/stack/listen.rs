//! Segments for a listening port (RFC 9293 §3.10.7.2 LISTEN STATE) and
//! the listener's two queues, as listen(2) keeps them on Linux: the SYN
//! queue of half-open connections (SYN-RECEIVED, `StackConfig::syn_backlog`)
//! and the accept queue of established ones not yet accepted (listen's
//! `backlog`).

use std::net::SocketAddrV4;

use super::Stack;
use crate::engine::tcp::{rst_for, State, Tcb};
use crate::time::Instant;
use crate::wire::{SeqNum, TcpSegment};

impl Stack {
    /// §3.10.7.2 LISTEN STATE. `iss` overrides the ISN generator.
    pub(super) fn on_listen_segment(
        &mut self,
        now: Instant,
        listener_id: u32,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        seg: &TcpSegment,
        iss: Option<SeqNum>,
    ) {
        let h = &seg.header;
        // First, RST: "An incoming RST should be ignored."
        if h.flags.rst {
            return self.drop_packet(format_args!("TCP: RST to a listener"));
        }
        // Second, ACK: "An acceptable reset segment should be formed".
        if h.ack.is_some() {
            self.stats.packets_dropped += 1;
            if let Some(rst) = rst_for(seg) {
                self.queue_rst(local, remote, rst);
            }
            return;
        }
        // Fourth: "This should not be reached. Drop the segment".
        if !h.flags.syn {
            return self.drop_packet(format_args!("TCP: neither SYN nor ACK to a listener"));
        }
        // Third, SYN, if the listener's queues have room.
        if !self.syn_admitted(now, listener_id, local) {
            return;
        }
        // Out of connections or memory: dropped too, as Linux drops a SYN
        // it cannot allocate a request for (counted in ListenDrops): the
        // client's SYN retransmission finds room once some is freed, where
        // a RST would fail the connect for good. The connections that
        // exist keep their memory and go on.
        if let Err(reason) = self.admits_connection() {
            return self.drop_packet(format_args!("TCP: {reason}, SYN dropped"));
        }
        let iss = iss.unwrap_or_else(|| self.choose_isn(now, local, remote));
        let tcb = Tcb::accept_syn(now, local, remote, iss, seg, &self.config, &self.budget);
        self.insert(tcb, false, Some(listener_id));
    }

    /// Whether a SYN may make a half-open connection. A full queue drops
    /// it without answer, so the client tries again later (as Linux does)
    /// instead of seeing a refusal.
    fn syn_admitted(&mut self, now: Instant, listener_id: u32, local: SocketAddrV4) -> bool {
        let syn_backlog = self.config.syn_backlog;
        let Some(listener) = self.listeners.get_mut(&listener_id) else {
            return false;
        };
        // Linux (tcp_conn_request) drops a SYN while the accept queue is
        // full: a connection made now could not be queued anyway.
        if listener.accept_queue.len() >= listener.backlog {
            self.stats.defence.listen_drops += 1;
            self.drop_packet(format_args!(
                "TCP: accept queue of {local} full, SYN dropped"
            ));
            return false;
        }
        if listener.syn_queue >= syn_backlog {
            listener.last_overflow = Some(now);
            self.stats.defence.listen_drops += 1;
            self.drop_packet(format_args!("TCP: SYN queue of {local} full, SYN dropped"));
            return false;
        }
        true
    }

    /// A segment that would complete the handshake of connection `id`
    /// while its listener's accept queue is full: dropped (and counted),
    /// as Linux drops it (`tcp_abort_on_overflow = 0`). The connection
    /// stays half-open; its SYN-ACK retransmission brings the peer's ACK
    /// again, by which time the application may have accepted.
    pub(super) fn completes_into_full_accept_queue(&mut self, id: u32, seg: &TcpSegment) -> bool {
        let Some(entry) = self.conns.get(&id) else {
            return false;
        };
        let h = &seg.header;
        if entry.tcb.state() != State::SynReceived || h.ack.is_none() || h.flags.rst || h.flags.syn
        {
            return false;
        }
        let full = entry
            .listener
            .and_then(|l| self.listeners.get(&l))
            .is_some_and(|l| l.accept_queue.len() >= l.backlog);
        if full {
            self.stats.defence.listen_drops += 1;
            self.drop_packet(format_args!(
                "TCP: accept queue full, handshake ACK dropped"
            ));
        }
        full
    }
}
