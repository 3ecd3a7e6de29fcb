//! ICMP errors to the connection that caused them (RFC 9293 §3.9.2.2,
//! MUST-54): the quoted IPv4 (or IPv6, RFC 4443 §3) and TCP headers name
//! the 4-tuple, as seen from our side (we sent the quoted datagram).

use crate::engine::api::DropReason;
use log::debug;

use super::{FourTuple, Stack};
use crate::wire::{IcmpError, IcmpErrorMessage};

impl Stack {
    /// An ICMP message that is no echo request: an error about one of
    /// our segments, or dropped.
    pub(super) fn on_icmp_error(&mut self, bytes: &[u8]) {
        let message = match IcmpErrorMessage::parse(bytes) {
            Ok(message) => message,
            Err(reason) => {
                return self.drop_packet(DropReason::Malformed, format_args!("ICMP: {reason}"))
            }
        };
        self.apply_icmp_error(message);
    }

    /// An ICMP or ICMPv6 error, checked: to its connection, or ignored.
    pub(super) fn apply_icmp_error(&mut self, message: IcmpErrorMessage) {
        if message.error == IcmpError::SourceQuench {
            // MUST-55 (RFC 6633): "silently discard".
            self.ip_stats.icmp_errors_ignored += 1;
            return self.drop_packet(
                DropReason::Other,
                format_args!("ICMP: source quench discarded"),
            );
        }
        let quoted = message.quoted;
        let tuple = FourTuple {
            local: quoted.src,
            remote: quoted.dst,
        };
        let Some(&id) = self.by_tuple.get(&tuple) else {
            self.ip_stats.icmp_errors_ignored += 1;
            return self.drop_packet(
                DropReason::Other,
                format_args!(
                    "ICMP: {:?} for no connection {} -> {}",
                    message.error, quoted.src, quoted.dst
                ),
            );
        };
        let Some(entry) = self.conns.get_mut(&id) else {
            return;
        };
        match entry.tcb.handle_icmp_error(message.error, &quoted) {
            Ok(()) => {
                debug!("{} -> {}: ICMP {:?}", quoted.src, quoted.dst, message.error);
                self.ip_stats.icmp_errors_applied += 1;
                if matches!(
                    message.error,
                    IcmpError::FragmentationNeeded { .. } | IcmpError::PacketTooBig { .. }
                ) {
                    self.ip_stats.path_mtu_reductions += 1;
                }
            }
            Err(reason) => {
                self.ip_stats.icmp_errors_ignored += 1;
                self.drop_packet(DropReason::Other, format_args!("{reason}"));
            }
        }
        self.touch(id);
    }
}
