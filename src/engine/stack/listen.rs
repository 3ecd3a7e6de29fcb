//! Segments for a listening port (RFC 9293 §3.10.7.2 LISTEN STATE) and
//! the listener's two queues, as listen(2) keeps them on Linux: the SYN
//! queue of half-open connections (SYN-RECEIVED, `StackConfig::syn_backlog`)
//! and the accept queue of established ones not yet accepted (listen's
//! `backlog`).

use crate::engine::api::DropReason;
use std::net::SocketAddr;

use log::debug;

use super::cookies::CookieAck;
use super::{FourTuple, Stack};
use crate::engine::tcp::{rst_for, State, Tcb};
use crate::time::Instant;
use crate::wire::{SeqNum, TcpSegment};

/// What a SYN to a listener gets.
enum SynAdmission {
    /// A half-open connection in the SYN queue.
    Admitted,
    /// Nothing: a queue is full (counted).
    Dropped,
    /// A SYN cookie: the SYN queue is full and cookies are on.
    Cookie,
}

impl Stack {
    /// §3.10.7.2 LISTEN STATE. `iss` overrides the ISN generator.
    pub(super) fn on_listen_segment(
        &mut self,
        now: Instant,
        listener_id: u32,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpSegment,
        iss: Option<SeqNum>,
    ) {
        let h = &seg.header;
        // First, RST: "An incoming RST should be ignored."
        if h.flags.rst {
            return self.drop_packet(
                DropReason::NoConnection,
                format_args!("TCP: RST to a listener"),
            );
        }
        // Second, ACK: "An acceptable reset segment should be formed" --
        // unless it brings back a SYN cookie of ours (RFC 4987 §3.6).
        if h.ack.is_some() {
            if !h.flags.syn && self.cookies_recently_sent(now, listener_id) {
                let tuple = FourTuple { local, remote };
                match self.open_from_cookie(now, listener_id, tuple, seg) {
                    CookieAck::Opened | CookieAck::Dropped => return,
                    // An expired or forged cookie is answered as any ACK
                    // to a listener, with a RST, as Linux does: the peer
                    // may be a real client whose cookie aged, and the RST
                    // ends its connect at once instead of after its
                    // retransmissions; an attacker learns nothing from it
                    // (SEQ = its own SEG.ACK), and RSTs go through the
                    // bounded control queue like every other.
                    CookieAck::Rejected(error) => {
                        self.stats.defence.syn_cookies_rejected += 1;
                        debug!("{local} <- {remote}: SYN cookie {error:?}, RST");
                    }
                }
            }
            self.stats.count_drops(DropReason::NoConnection, 1);
            if let Some(rst) = rst_for(seg) {
                self.queue_rst(local, remote, rst);
            }
            return;
        }
        // Fourth: "This should not be reached. Drop the segment".
        if !h.flags.syn {
            return self.drop_packet(
                DropReason::NoConnection,
                format_args!("TCP: neither SYN nor ACK to a listener"),
            );
        }
        // Third, SYN, if the listener's queues have room; past a full SYN
        // queue, a cookie.
        match self.syn_admission(now, listener_id, local) {
            SynAdmission::Admitted => {}
            SynAdmission::Dropped => return,
            SynAdmission::Cookie => return self.send_cookie(now, local, remote, seg),
        }
        // Out of connections or memory: dropped too, as Linux drops a SYN
        // it cannot allocate a request for (counted in ListenDrops): the
        // client's SYN retransmission finds room once some is freed, where
        // a RST would fail the connect for good. The connections that
        // exist keep their memory and go on.
        if let Err(reason) = self.admits_connection() {
            return self.drop_packet(
                DropReason::NoConnection,
                format_args!("TCP: {reason}, SYN dropped"),
            );
        }
        let iss = iss.unwrap_or_else(|| self.choose_isn(now, local, remote));
        let tcb = Tcb::accept_syn(now, local, remote, iss, seg, &self.config, &self.shared);
        self.insert(tcb, false, Some(listener_id));
    }

    /// Whether a SYN may make a half-open connection. A full queue drops
    /// it without answer, so the client tries again later (as Linux does)
    /// instead of seeing a refusal; a full SYN queue with cookies on
    /// answers with a cookie instead.
    fn syn_admission(&mut self, now: Instant, listener_id: u32, local: SocketAddr) -> SynAdmission {
        let syn_backlog = self.config.syn_backlog;
        let Some(listener) = self.listeners.get_mut(&listener_id) else {
            return SynAdmission::Dropped;
        };
        // Linux (tcp_conn_request) drops a SYN while the accept queue is
        // full: a connection made now could not be queued anyway.
        if listener.accept_queue.len() >= listener.backlog {
            self.stats.defence.listen_drops += 1;
            self.drop_packet(
                DropReason::NoConnection,
                format_args!("TCP: accept queue of {local} full, SYN dropped"),
            );
            return SynAdmission::Dropped;
        }
        if listener.syn_queue >= syn_backlog {
            listener.last_overflow = Some(now);
            if self.config.syn_cookies {
                return SynAdmission::Cookie;
            }
            self.stats.defence.listen_drops += 1;
            self.drop_packet(
                DropReason::NoConnection,
                format_args!("TCP: SYN queue of {local} full, SYN dropped"),
            );
            return SynAdmission::Dropped;
        }
        SynAdmission::Admitted
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
            self.drop_packet(
                DropReason::NoConnection,
                format_args!("TCP: accept queue full, handshake ACK dropped"),
            );
        }
        full
    }
}
