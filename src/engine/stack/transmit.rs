//! Output and time: `poll_transmit`, `poll_timeout`, `handle_timeout`.

use std::cmp::Reverse;

use super::{ControlPacket, Stack};
use crate::engine::tcp::tcb::DSCP_MASK;
use crate::time::Instant;
use std::net::IpAddr;

use crate::wire::tcp::{emit_ip_tcp_in_place_with, ip_header_len};
use crate::wire::{icmp_error, icmpv6};
use crate::wire::{EchoRequest, IpSendFields};

impl Stack {
    /// One packet: control packets first (they are replies to what just
    /// arrived), then connections in turn.
    pub(super) fn transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        while let Some(packet) = self.control.pop_front() {
            if let Some(len) = self.emit_control(&packet, buf) {
                self.stats.packets_out += 1;
                return Some(len);
            }
        }
        while let Some(id) = self.ready.pop_front() {
            let Some(entry) = self.conns.get_mut(&id) else {
                continue;
            };
            entry.in_ready = false;
            // The TCB writes the payload after its header's place (which
            // depends on the options it chooses, and the IP header on the
            // family: 20 or 40 bytes); the headers follow here.
            let (src, dst) = (entry.tcb.local.ip(), entry.tcb.remote.ip());
            let Some(out) = entry.tcb.poll_segment(now, &mut buf[ip_header_len(src)..]) else {
                // Nothing after all (window closed, Nagle...): only timers
                // may have changed. Not re-queued, so this loop ends.
                Self::schedule(&mut self.timers, id, entry);
                continue;
            };
            let mut fields = entry.tcb.ip_fields();
            // The ECN field is the segment's (RFC 3168 §6.1.2), the DSCP
            // the connection's; IPv6's Traffic Class takes the same byte.
            fields.tos = fields.tos & DSCP_MASK | out.ecn.bits();
            let len =
                emit_ip_tcp_in_place_with(src, dst, &out.header, out.payload_len, buf, fields);
            self.stats.packets_out += 1;
            self.touch(id);
            return Some(len);
        }
        None
    }

    fn emit_control(&mut self, packet: &ControlPacket, buf: &mut [u8]) -> Option<usize> {
        match packet {
            ControlPacket::Segment {
                local,
                remote,
                header,
            } => {
                if header.flags.rst {
                    self.stats.resets_sent += 1;
                } else {
                    debug_assert!(header.flags.syn, "a RST or a cookie SYN-ACK");
                    self.stats.defence.syn_cookies_sent += 1;
                }
                log::trace!("{local} -> {remote}: {header}");
                let fields = IpSendFields {
                    ttl: self.config.ttl,
                    ..IpSendFields::default()
                };
                let (src, dst) = (local.ip(), remote.ip());
                Some(emit_ip_tcp_in_place_with(src, dst, header, 0, buf, fields))
            }
            ControlPacket::EchoReply {
                to,
                ident,
                seq_no,
                data,
                len,
            } => {
                let echo = EchoRequest {
                    ident: *ident,
                    seq_no: *seq_no,
                    data: &data[..usize::from(*len)],
                };
                match (*to, self.config.local_addr_v6) {
                    (IpAddr::V4(to), _) => echo.emit_reply(self.config.local_addr, to, buf),
                    // RFC 4443 §4.2, from the address the request was
                    // sent to (ours: the input checked it).
                    (IpAddr::V6(to), Some(us)) => {
                        icmpv6::emit_echo_reply(&echo, us, to, self.config.ttl, buf)
                    }
                    (IpAddr::V6(_), None) => None,
                }
            }
            ControlPacket::IcmpError {
                to,
                head,
                quote,
                len,
            } => {
                let quote = &quote[..usize::from(*len)];
                let ttl = self.config.ttl;
                let sent = match (*to, self.config.local_addr_v6) {
                    (IpAddr::V4(to), _) => {
                        let ends = (self.config.local_addr, to);
                        icmp_error::emit_ipv4_error(*head, ends, quote, ttl, buf)
                    }
                    (IpAddr::V6(to), Some(us)) => {
                        icmpv6::emit_error_message(*head, (us, to), quote, ttl, buf)
                    }
                    (IpAddr::V6(_), None) => None,
                };
                self.ip_stats.icmp_errors_sent += u64::from(sent.is_some());
                sent
            }
        }
    }

    /// The earliest timer of any connection. Heap entries that no longer
    /// match their connection's schedule are thrown away here.
    pub(super) fn next_timeout(&mut self) -> Option<Instant> {
        while let Some(&Reverse((at, id))) = self.timers.peek() {
            if self.is_current(at, id) {
                return Some(at);
            }
            self.timers.pop();
        }
        None
    }

    fn is_current(&self, at: Instant, id: u32) -> bool {
        self.conns
            .get(&id)
            .is_some_and(|entry| entry.scheduled == Some(at))
    }

    pub(super) fn run_timers(&mut self, now: Instant) {
        while let Some(&Reverse((at, id))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            if !self.is_current(at, id) {
                continue;
            }
            if let Some(entry) = self.conns.get_mut(&id) {
                entry.scheduled = None;
                entry.tcb.handle_timeout(now);
            }
            self.touch(id);
        }
    }
}
