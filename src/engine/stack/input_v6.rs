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
use crate::wire::ipv6::NO_NEXT_HEADER;
use crate::wire::{
    icmpv6, Icmpv6Message, Ipv6Datagram, Ipv6Repr, UnknownOption, UnknownOptionAction, WireError,
    PROTO_ICMPV6, PROTO_TCP,
};

impl Stack {
    /// An IPv6 packet: checked (`wire/ipv6.rs`), then to TCP or ICMPv6.
    pub(super) fn on_ipv6_packet(&mut self, now: Instant, packet: &[u8]) {
        let datagram = match Ipv6Repr::parse_datagram(packet) {
            Ok(parsed) => parsed,
            Err(reason) => return self.refuse_ipv6(reason),
        };
        let ip = datagram.ip;
        if let Some(option) = datagram.unknown_option {
            return self.on_unknown_option(now, &datagram, option, packet);
        }
        if !self.is_for_us_from_a_peer(&ip) {
            return;
        }
        match ip.protocol {
            PROTO_TCP => self.on_tcp(
                now,
                (ip.src.into(), ip.dst.into()),
                ip.ecn,
                datagram.payload,
            ),
            PROTO_ICMPV6 => self.on_icmpv6(ip.src, ip.dst, datagram.payload),
            // RFC 8200 §4.7: "there is nothing following that header"; no
            // error is due.
            NO_NEXT_HEADER => {
                self.drop_packet(DropReason::NotForUs, format_args!("IPv6: no next header"))
            }
            other => {
                // RFC 8200 §4: a Next Header "not recognized ... SHOULD
                // send an ICMP Parameter Problem message to the source of
                // the packet, with an ICMP Code value of 1".
                let head = icmpv6::parameter_problem(
                    icmpv6::UNRECOGNIZED_NEXT_HEADER,
                    datagram.next_header_at,
                );
                self.queue_icmp_error(now, ip.src.into(), head, packet);
                self.drop_packet(
                    DropReason::NotForUs,
                    format_args!("IPv6: next header {other} not handled"),
                )
            }
        }
    }

    /// Whether a parsed packet is to our address from one a peer can
    /// have (RFC 4443 §2.4 (e.3)-(e.4) then hold for any error we send
    /// about it); drops it otherwise.
    fn is_for_us_from_a_peer(&mut self, ip: &Ipv6Repr) -> bool {
        if self.config.local_addr_v6 != Some(ip.dst) {
            if ip.dst.is_multicast() || self.config.local_addr_v6.is_none() {
                // The kernel's ND and MLD go to multicast groups; without
                // an IPv6 address nothing of IPv6 is ours.
                self.drop_quietly(ip.protocol, format_args!("IPv6: to {}", ip.dst));
            } else {
                self.drop_packet(
                    DropReason::NotForUs,
                    format_args!("IPv6: for {} not us", ip.dst),
                );
            }
            return false;
        }
        if !super::input::is_peer_address(ip.src.into()) {
            self.drop_packet(
                DropReason::NotForUs,
                format_args!("IPv6: bad source {}", ip.src),
            );
            return false;
        }
        true
    }

    /// RFC 8200 §4.2: an option we do not know, whose type's two
    /// highest-order bits say to discard the packet, and maybe to send a
    /// Parameter Problem, Code 2, pointing at it. To our address, or for
    /// "10" to the all-nodes group too: every node is in it (RFC 4291
    /// §2.8), and this is the one error RFC 4443 §2.4 (e.3) allows about
    /// a multicast packet. A TUN host joins no other group.
    fn on_unknown_option(
        &mut self,
        now: Instant,
        datagram: &Ipv6Datagram,
        option: UnknownOption,
        packet: &[u8],
    ) {
        let ip = datagram.ip;
        let to_all_nodes = is_all_nodes(ip.dst)
            && self.config.local_addr_v6.is_some()
            && super::input::is_peer_address(ip.src.into());
        if !to_all_nodes && !self.is_for_us_from_a_peer(&ip) {
            return;
        }
        let report = match option.action {
            UnknownOptionAction::Discard => false,
            UnknownOptionAction::Report => true,
            UnknownOptionAction::ReportUnlessMulticast => !ip.dst.is_multicast(),
        };
        // RFC 4443 §2.4 (e.1): never about an ICMPv6 error message.
        let about_an_error =
            ip.protocol == PROTO_ICMPV6 && icmpv6::may_be_error_message(datagram.payload);
        if report && !about_an_error {
            let head = icmpv6::parameter_problem(icmpv6::UNRECOGNIZED_OPTION, option.pointer);
            self.queue_icmp_error(now, ip.src.into(), head, packet);
        }
        self.ip_stats.ipv6_extensions_refused += 1;
        self.drop_packet(
            DropReason::NotForUs,
            format_args!("IPv6: unknown option at {}", option.pointer),
        );
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
            WireError::Jumbogram | WireError::ExtensionChain | WireError::Ipv6UnknownOption => {
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

/// The all-nodes multicast groups, interface- and link-local (RFC 4291
/// §2.7.1: ff01::1, ff02::1).
fn is_all_nodes(addr: Ipv6Addr) -> bool {
    let segments = addr.segments();
    matches!(segments[0], 0xff01 | 0xff02) && segments[1..] == [0, 0, 0, 0, 0, 0, 1]
}
