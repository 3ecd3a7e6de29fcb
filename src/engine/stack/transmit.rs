//! Output and time: `poll_transmit`, `poll_timeout`, `handle_timeout`.

use std::cmp::Reverse;

use super::{ControlPacket, Stack};
use crate::engine::tcp::tcb::DSCP_MASK;
use crate::time::Instant;
use crate::wire::tcp::emit_ipv4_tcp_in_place_with;
use crate::wire::{EchoRequest, IpSendFields, IPV4_HEADER_LEN};

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
            // depends on the options it chooses); the header follows here.
            let Some(out) = entry.tcb.poll_segment(now, &mut buf[IPV4_HEADER_LEN..]) else {
                // Nothing after all (window closed, Nagle...): only timers
                // may have changed. Not re-queued, so this loop ends.
                Self::schedule(&mut self.timers, id, entry);
                continue;
            };
            let (src, dst) = (*entry.tcb.local.ip(), *entry.tcb.remote.ip());
            let mut fields = entry.tcb.ip_fields();
            // The ECN field is the segment's (RFC 3168 §6.1.2), the DSCP
            // the connection's.
            fields.tos = fields.tos & DSCP_MASK | out.ecn.bits();
            let len =
                emit_ipv4_tcp_in_place_with(src, dst, &out.header, out.payload_len, buf, fields);
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
                let (src, dst) = (*local.ip(), *remote.ip());
                Some(emit_ipv4_tcp_in_place_with(
                    src, dst, header, 0, buf, fields,
                ))
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
                echo.emit_reply(self.config.local_addr, *to, buf)
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
