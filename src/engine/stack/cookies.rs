//! A listener's SYN cookies (RFC 4987 §3.6; the cookie itself is in
//! `engine/syn_cookie.rs`): a SYN that finds the SYN queue full is
//! answered with a cookie SYN-ACK and forgotten; an ACK that brings a
//! valid cookie back makes the connection, with the options the cookie
//! kept.

use crate::engine::api::DropReason;
use std::net::SocketAddr;

use super::{ControlPacket, FourTuple, Stack};
use crate::engine::isn;
use crate::engine::syn_cookie::{self, CookieError, CookieOptions};
use crate::engine::tcp::tcb::{window_shift_for, MAX_WINDOW_FIELD};
use crate::engine::tcp::timestamps::TimestampClock;
use crate::engine::tcp::Tcb;
use crate::time::Instant;
use crate::wire::{TcpFlags, TcpHeader, TcpOptions, TcpSegment, Timestamps};

/// What became of an ACK that reached a listener while cookies were in use.
pub(super) enum CookieAck {
    /// The cookie was good: the connection exists now.
    Opened,
    /// The cookie was good but there is no room (accept queue, memory):
    /// dropped, as Linux does; the peer's retransmission may find room.
    Dropped,
    /// Not a cookie of ours, or an expired one.
    Rejected(CookieError),
}

impl Stack {
    /// Answers `seg`, a SYN, with a cookie SYN-ACK; keeps nothing.
    pub(super) fn send_cookie(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpSegment,
    ) {
        let syn = &seg.header;
        let secret = &self.config.isn_secret;
        let iss = syn_cookie::make(secret, now, local, remote, syn.seq, syn.options.mss);
        // Window scale and SACK survive only in the TSval (see
        // syn_cookie.rs): without timestamps they are not offered at all.
        let sack = self.config.sack && syn.options.sack_permitted;
        let timestamps = syn.options.timestamps.filter(|_| self.config.timestamps);
        let timestamps = timestamps.map(|theirs| {
            let offset = isn::timestamp_offset(secret, local, remote);
            let ours = TimestampClock::new(now, offset).tsval(now);
            Timestamps {
                tsval: syn_cookie::encode_tsval(ours, syn.options.window_scale, sack),
                tsecr: theirs.tsval,
            }
        });
        let with_options = timestamps.is_some();
        let our_shift = window_shift_for(self.config.recv_buffer_limit());
        let header = TcpHeader {
            src_port: local.port(),
            dst_port: remote.port(),
            seq: iss,
            ack: Some(syn.seq + 1),
            flags: TcpFlags {
                syn: true,
                ..TcpFlags::default()
            },
            // RFC 7323 §2.2: a SYN-ACK's window is never scaled.
            window: self.config.recv_buffer.min(MAX_WINDOW_FIELD) as u16,
            urgent: 0,
            options: TcpOptions {
                sack_permitted: with_options && sack,
                window_scale: syn
                    .options
                    .window_scale
                    .filter(|_| with_options)
                    .map(|_| our_shift),
                timestamps,
                ..TcpOptions::with_mss(self.config.mss_for(remote.ip()))
            },
        };
        self.queue_control(ControlPacket::Segment {
            local,
            remote,
            header,
        });
    }

    /// Whether an ACK to listener `listener_id` may carry a cookie: cookies
    /// are on, and the SYN queue overflowed within a cookie's lifetime
    /// (Linux's `tcp_synq_no_recent_overflow`).
    pub(super) fn cookies_recently_sent(&self, now: Instant, listener_id: u32) -> bool {
        self.config.syn_cookies
            && self
                .listeners
                .get(&listener_id)
                .and_then(|l| l.last_overflow)
                .is_some_and(|at| now.saturating_duration_since(at) <= syn_cookie::LIFETIME)
    }

    /// An ACK (no SYN, no RST) to a listener: if SEG.ACK - 1 is a valid
    /// cookie for this 4-tuple and SEG.SEQ - 1, the connection is made as
    /// the SYN would have made it and the ACK (with any data) processed.
    pub(super) fn open_from_cookie(
        &mut self,
        now: Instant,
        listener_id: u32,
        tuple: FourTuple,
        seg: &TcpSegment,
    ) -> CookieAck {
        let FourTuple { local, remote } = tuple;
        let h = &seg.header;
        let Some(ack) = h.ack else {
            return CookieAck::Rejected(CookieError::Forged);
        };
        let (peer_isn, iss) = (h.seq - 1, ack - 1);
        let secret = &self.config.isn_secret;
        let mss = match syn_cookie::check(secret, now, local, remote, peer_isn, iss) {
            Ok(mss) => mss,
            Err(error) => return CookieAck::Rejected(error),
        };
        let echoed = h.options.timestamps.filter(|_| self.config.timestamps);
        let options = echoed.map_or(
            CookieOptions {
                mss,
                window_scale: None,
                sack_permitted: false,
            },
            |ts| syn_cookie::decode_tsecr(ts.tsecr, mss),
        );
        let full = self
            .listeners
            .get(&listener_id)
            .is_none_or(|l| l.accept_queue.len() >= l.backlog);
        if full || self.admits_connection().is_err() {
            self.stats.defence.listen_drops += 1;
            self.drop_packet(
                DropReason::NoConnection,
                format_args!("TCP: valid cookie but no room, ACK dropped"),
            );
            return CookieAck::Dropped;
        }
        let syn = syn_for_cookie(h, options);
        let syn = TcpSegment {
            header: syn,
            payload: &[],
            ecn: crate::wire::Ecn::NotEct,
        };
        let mut tcb = Tcb::accept_syn(now, local, remote, iss, &syn, &self.config, &self.shared);
        tcb.syn_ack_sent_as_cookie();
        let rst = tcb.handle_segment(now, seg);
        self.stats.defence.syn_cookies_accepted += 1;
        self.insert(tcb, false, Some(listener_id));
        if let Some(rst) = rst {
            self.queue_rst(local, remote, rst);
        }
        CookieAck::Opened
    }
}

/// The SYN that an ACK with a valid cookie answers, as far as the cookie
/// kept it: the peer's ISN, and the options (RFC 4987 §3.6). The window
/// is the ACK's; the ACK itself sets it right when processed.
fn syn_for_cookie(ack: &TcpHeader, options: CookieOptions) -> TcpHeader {
    TcpHeader {
        seq: ack.seq - 1,
        ack: None,
        flags: TcpFlags {
            syn: true,
            ..TcpFlags::default()
        },
        options: TcpOptions {
            mss: Some(options.mss),
            window_scale: options.window_scale,
            sack_permitted: options.sack_permitted,
            timestamps: ack.options.timestamps.map(|ts| Timestamps {
                tsval: ts.tsval,
                tsecr: 0,
            }),
            ..TcpOptions::default()
        },
        ..*ack
    }
}
