//! `handle_packet`: from raw IPv4 bytes to the TCB a segment belongs to
//! (IPv6 packets go on to `input_v6.rs`; from TCP on, both share this).

use crate::engine::api::DropReason;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use log::{debug, trace};

use super::fragments::FragmentOutcome;
use super::{ControlPacket, FourTuple, Stack, MAX_ECHO_DATA};
use crate::engine::tcp::rst_for;
use crate::engine::trace::SegmentSummary;
use crate::time::Instant;
use crate::wire::{
    EchoRequest, Ecn, Ipv4Fragment, Ipv4Repr, TcpSegment, WireError, PROTO_ICMP, PROTO_TCP,
};

impl Stack {
    pub(super) fn on_packet(&mut self, now: Instant, packet: &[u8]) {
        self.stats.packets_in += 1;
        let (ip, payload) = match Ipv4Repr::parse(packet) {
            Ok(parsed) => parsed,
            Err(WireError::Fragment) => return self.on_fragment(now, packet),
            Err(WireError::SourceRoute) => {
                self.ip_stats.source_routed_dropped += 1;
                return self.drop_packet(
                    DropReason::NotForUs,
                    format_args!("IPv4: source route refused (MUST-51..53)"),
                );
            }
            // RFC 8200: version 6 goes to the IPv6 input.
            Err(WireError::NotIpv4) if packet.first().is_some_and(|b| b >> 4 == 6) => {
                return self.on_ipv6_packet(now, packet)
            }
            Err(reason) => {
                return self.drop_packet(DropReason::Malformed, format_args!("IPv4: {reason}"))
            }
        };
        self.on_datagram(now, &ip, payload, Some(packet));
    }

    /// A whole datagram, as it came (`whole`, header and all) or put
    /// together from fragments (`None`).
    fn on_datagram(&mut self, now: Instant, ip: &Ipv4Repr, payload: &[u8], whole: Option<&[u8]>) {
        if ip.dst != self.config.local_addr {
            return self.drop_packet(
                DropReason::NotForUs,
                format_args!("IPv4: for {} not us", ip.dst),
            );
        }
        if !is_peer_address(ip.src.into()) {
            return self.drop_packet(
                DropReason::NotForUs,
                format_args!("IPv4: bad source {}", ip.src),
            );
        }
        match ip.protocol {
            PROTO_TCP => self.on_tcp(now, (ip.src.into(), ip.dst.into()), ip.ecn, payload),
            PROTO_ICMP => self.on_icmp(ip, payload),
            other => {
                // RFC 1122 §3.2.2.1: "A host SHOULD generate Destination
                // Unreachable messages with code: 2 (Protocol Unreachable),
                // when the designated transport protocol is not
                // supported". The source is a single host's (checked
                // above), the destination ours (no broadcast or multicast)
                // and the datagram whole, and ICMP is handled: none of
                // §3.2.2's exclusions apply.
                self.protocol_unreachable(now, ip, whole, payload);
                self.drop_packet(
                    DropReason::NotForUs,
                    format_args!("IPv4: protocol {other} not handled"),
                )
            }
        }
    }

    /// RFC 791 §3.2: a fragment for us goes to reassembly
    /// (`fragments.rs`); the datagram it completes is handled as if it
    /// had come whole.
    fn on_fragment(&mut self, now: Instant, packet: &[u8]) {
        let fragment = match Ipv4Fragment::parse(packet) {
            Ok(fragment) => fragment,
            Err(reason) => {
                return self.drop_packet(DropReason::Malformed, format_args!("IPv4: {reason}"))
            }
        };
        if fragment.dst != self.config.local_addr || !is_peer_address(fragment.src.into()) {
            return self.drop_packet(
                DropReason::NotForUs,
                format_args!("IPv4: fragment not for us"),
            );
        }
        self.ip_stats.fragments_received += 1;
        let outcome = self.fragments.insert(now, &fragment);
        self.count_fragments_given_up();
        match outcome {
            FragmentOutcome::Held => {}
            FragmentOutcome::Complete(payload) => {
                self.ip_stats.datagrams_reassembled += 1;
                let ip = Ipv4Repr {
                    src: fragment.src,
                    dst: fragment.dst,
                    protocol: fragment.protocol,
                    ttl: fragment.ttl,
                    ecn: crate::wire::Ecn::NotEct,
                    payload_len: payload.len(),
                };
                self.on_datagram(now, &ip, &payload, None);
            }
            FragmentOutcome::Duplicate => self.drop_packet(
                DropReason::Fragment,
                format_args!("IPv4: duplicate fragment"),
            ),
            FragmentOutcome::Overlap => {
                self.ip_stats.reassembly_overlaps += 1;
                self.drop_packet(
                    DropReason::Fragment,
                    format_args!("IPv4: overlapping fragment, datagram discarded"),
                );
            }
            FragmentOutcome::Malformed => self.drop_packet(
                DropReason::Fragment,
                format_args!("IPv4: malformed fragment"),
            ),
        }
    }

    /// Reassembly's timeout (RFC 1122 §3.3.2) for datagrams still
    /// incomplete at `now`.
    pub(super) fn expire_fragments(&mut self, now: Instant) {
        self.fragments.expire(now);
        self.count_fragments_given_up();
    }

    fn count_fragments_given_up(&mut self) {
        self.ip_stats.reassembly_timeouts += std::mem::take(&mut self.fragments.timed_out);
        self.ip_stats.reassembly_full += std::mem::take(&mut self.fragments.evicted);
    }

    pub(super) fn drop_packet(&mut self, why: DropReason, reason: std::fmt::Arguments) {
        debug!("dropped packet: {reason}");
        self.stats.count_drops(why, 1);
    }

    /// RFC 1122 §3.2.2.6: answer echo requests with the same data.
    fn on_icmp(&mut self, ip: &Ipv4Repr, bytes: &[u8]) {
        match EchoRequest::parse(bytes) {
            Ok(echo) => self.queue_echo_reply(ip.src.into(), &echo),
            Err(WireError::Unsupported) => self.on_icmp_error(bytes),
            Err(reason) => self.drop_packet(DropReason::Malformed, format_args!("ICMP: {reason}")),
        }
    }

    /// Queues the reply to an echo request (ICMP or ICMPv6) from `to`.
    pub(super) fn queue_echo_reply(&mut self, to: IpAddr, echo: &EchoRequest) {
        if echo.data.len() > MAX_ECHO_DATA {
            return self.drop_packet(
                DropReason::Other,
                format_args!("ICMP: echo request too long"),
            );
        }
        let mut data = [0u8; MAX_ECHO_DATA];
        data[..echo.data.len()].copy_from_slice(echo.data);
        let reply = ControlPacket::EchoReply {
            to,
            ident: echo.ident,
            seq_no: echo.seq_no,
            data,
            len: echo.data.len() as u16,
        };
        self.queue_control(reply);
    }

    /// A TCP segment from `src` to `dst` (either family: the checksum's
    /// pseudo-header follows it, RFC 9293 §3.1, RFC 8200 §8.1), with the
    /// ECN field of its IP header.
    pub(super) fn on_tcp(
        &mut self,
        now: Instant,
        (src, dst): (IpAddr, IpAddr),
        ecn: Ecn,
        bytes: &[u8],
    ) {
        let seg = match TcpSegment::parse(src, dst, bytes) {
            // RFC 3168 §6.1.3: the IP layer passes the ECN field up.
            Ok(seg) => TcpSegment { ecn, ..seg },
            Err(reason) => {
                return self.drop_packet(DropReason::Malformed, format_args!("TCP: {reason}"))
            }
        };
        if self.config.trace {
            self.cause = Some(SegmentSummary::of(&seg.header, seg.payload.len()));
        }
        let local = SocketAddr::new(dst, seg.header.dst_port);
        let remote = SocketAddr::new(src, seg.header.src_port);
        self.on_segment(now, local, remote, &seg);
        self.cause = None;
    }

    /// Hands a checked segment to its connection, to a listener, or
    /// answers it with a RST (§3.10.7).
    fn on_segment(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpSegment,
    ) {
        if let Some(&id) = self.by_tuple.get(&FourTuple { local, remote }) {
            if self.reopen_from_time_wait(now, id, local, remote, seg) {
                return;
            }
            if self.completes_into_full_accept_queue(id, seg) {
                return;
            }
            let Some(entry) = self.conns.get_mut(&id) else {
                return;
            };
            if let Some(rst) = entry.tcb.handle_segment(now, seg) {
                self.queue_rst(local, remote, rst);
            }
            self.touch(id);
        } else if let Some(listener_id) = self.listener_for(local) {
            self.on_listen_segment(now, listener_id, local, remote, seg, None);
        } else {
            // §3.10.7.1: no TCB. Anything but a RST gets a RST.
            trace!("{local} <- {remote}: no connection for {}", seg.header);
            self.stats.count_drops(DropReason::NoConnection, 1);
            if let Some(rst) = rst_for(seg) {
                self.queue_rst(local, remote, rst);
            }
        }
    }

    /// A new SYN for a connection in TIME-WAIT, to a port that listens:
    /// the old incarnation ends and the listener takes the SYN (MAY-2 of
    /// §3.6, as Linux does), with an ISS past everything the old one used
    /// (§3.6 condition (1)). Otherwise a client that reuses its port
    /// quickly would get challenge ACKs for a minute. Returns true if so.
    fn reopen_from_time_wait(
        &mut self,
        now: Instant,
        id: u32,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpSegment,
    ) -> bool {
        let Some(listener_id) = self.listener_for(local) else {
            return false;
        };
        let Some(entry) = self.conns.get_mut(&id) else {
            return false;
        };
        let Some(iss) = entry.tcb.reopen_iss(seg) else {
            return false;
        };
        debug!("{local} <- {remote}: new SYN in TIME-WAIT, reopening");
        let old = self.set_time_wait_aside(id);
        self.on_listen_segment(now, listener_id, local, remote, seg, Some(iss));
        self.keep_time_wait_aside(FourTuple { local, remote }, old);
        true
    }
}

/// An address a TCP peer can have. IPv4: not 0/8, 127/8, broadcast,
/// multicast or reserved class E (RFC 1122 §3.2.1.3 and §4.2.3.10).
/// IPv6: not the unspecified address (RFC 4291 §2.5.2: "must never be
/// assigned to any node", nor be a destination), the loopback (§2.5.3:
/// "must not be sent outside of a single node") or multicast (§2.7: "must
/// not be used as a source address"; TCP is unicast, RFC 9293 MUST-46),
/// nor an IPv4-mapped address (RFC 4291 §2.5.5.2: those are IPv4 peers,
/// which speak IPv4 to us). Link-local is fine: a TUN link is a link.
pub(super) fn is_peer_address(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => is_peer_address_v4(v4),
        IpAddr::V6(v6) => is_peer_address_v6(v6),
    }
}

fn is_peer_address_v6(addr: Ipv6Addr) -> bool {
    !(addr.is_unspecified()
        || addr.is_loopback()
        || addr.is_multicast()
        || addr.to_ipv4_mapped().is_some())
}

fn is_peer_address_v4(addr: Ipv4Addr) -> bool {
    let first = addr.octets()[0];
    // RFC 1122 §3.2.1.3: 0/8 ("this network", a source only while a host
    // learns its address) and 127/8 (loopback, "MUST NOT appear outside a
    // host") are no peer's address either (MUST-63 for sources, MUST-46
    // for what connect accepts).
    !(first == 0 || first == 127 || addr.is_broadcast() || addr.is_multicast() || first >= 240)
}
