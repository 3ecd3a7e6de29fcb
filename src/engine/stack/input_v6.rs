//! `handle_packet` for IPv6 (RFC 8200): from the fixed header and its
//! extension headers to TCP (shared with IPv4 from there, `input.rs`) or
//! ICMPv6 (RFC 4443).
//!
//! A TUN device sees the kernel's own IPv6 chatter as soon as it is up:
//! router solicitations to ff02::2, MLD reports to ff02::16, neighbour
//! solicitations. None is for a TCP host on a link without link layer,
//! so they are counted and dropped quietly (trace level, not debug): they
//! are no fault of anyone's.

use std::net::{IpAddr, Ipv6Addr};

use log::trace;

use super::Stack;
use crate::engine::api::DropReason;
use crate::time::Instant;
use crate::wire::{Icmpv6Message, Ipv6Repr, WireError, PROTO_ICMPV6, PROTO_TCP};

impl Stack {
    /// An IPv6 packet: checked (`wire/ipv6.rs`), then to TCP or ICMPv6.
    pub(super) fn on_ipv6_packet(&mut self, now: Instant, packet: &[u8]) {
        let (ip, payload) = match Ipv6Repr::parse(packet) {
            Ok(parsed) => parsed,
            Err(reason) => return self.refuse_ipv6(reason),
        };
        let ours = self.config.local_addr_v6 == Some(ip.dst);
        if !ours {
            if ip.dst.is_multicast() || self.config.local_addr_v6.is_none() {
                // The kernel's ND and MLD go to multicast groups; without
                // an IPv6 address nothing of IPv6 is ours.
                return self.drop_quietly(ip.protocol, format_args!("IPv6: to {}", ip.dst));
            }
            return self.drop_packet(
                DropReason::NotForUs,
                format_args!("IPv6: for {} not us", ip.dst),
            );
        }
        if !super::input::is_peer_address(ip.src.into()) {
            return self.drop_packet(
                DropReason::NotForUs,
                format_args!("IPv6: bad source {}", ip.src),
            );
        }
        match ip.protocol {
            PROTO_TCP => self.on_tcp(now, (ip.src.into(), ip.dst.into()), ip.ecn, payload),
            PROTO_ICMPV6 => self.on_icmpv6(ip.src, ip.dst, payload),
            other => self.drop_packet(
                DropReason::NotForUs,
                format_args!("IPv6: next header {other} not handled"),
            ),
        }
    }

    /// A packet `Ipv6Repr::parse` refused, counted by why.
    fn refuse_ipv6(&mut self, reason: WireError) {
        let why = match reason {
            // RFC 8200 §4.5: no IPv6 reassembly (the peer does path MTU
            // discovery, RFC 8201, so TCP never needs it).
            WireError::Ipv6Fragment => {
                self.ip_stats.ipv6_fragments_dropped += 1;
                DropReason::Fragment
            }
            WireError::Jumbogram | WireError::ExtensionChain => {
                self.ip_stats.ipv6_extensions_refused += 1;
                DropReason::NotForUs
            }
            // §4.4: a Routing header with segments left: not for us yet.
            WireError::SourceRoute => {
                self.ip_stats.source_routed_dropped += 1;
                DropReason::NotForUs
            }
            _ => DropReason::Malformed,
        };
        self.drop_packet(why, format_args!("IPv6: {reason}"));
    }

    /// RFC 4443: echo requests answered (§4.2), errors to their
    /// connection (§3, as IPv4's), the rest dropped quietly.
    fn on_icmpv6(&mut self, src: Ipv6Addr, dst: Ipv6Addr, bytes: &[u8]) {
        match Icmpv6Message::parse(src, dst, bytes) {
            Ok(Icmpv6Message::EchoRequest(echo)) => self.queue_echo_reply(IpAddr::V6(src), &echo),
            Ok(Icmpv6Message::Error(message)) => self.apply_icmp_error(message),
            Ok(Icmpv6Message::Ignored(kind)) => {
                self.drop_quietly(PROTO_ICMPV6, format_args!("ICMPv6 {}", kind.0))
            }
            Err(reason) => {
                self.drop_packet(DropReason::Malformed, format_args!("ICMPv6: {reason}"))
            }
        }
    }

    /// Counts a packet that is nobody's fault (ND, MLD, multicast),
    /// logged at trace level only.
    fn drop_quietly(&mut self, protocol: u8, what: std::fmt::Arguments) {
        trace!("dropped packet: {what}");
        if protocol == PROTO_ICMPV6 {
            self.ip_stats.icmpv6_ignored += 1;
        }
        self.stats.count_drops(DropReason::NotForUs, 1);
    }
}
