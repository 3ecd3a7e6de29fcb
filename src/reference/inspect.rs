//! Reading packets on their way in and out, without changing them.
//!
//! smoltcp does the real protocol work; the wrapper only needs a few facts
//! it does not expose: whether an inbound packet is even well formed (so a
//! bad one is dropped, logged and counted here, per ARCHITECTURE.md), which
//! 4-tuple an RST or SYN belongs to (to tell "refused" from "timed out", and
//! to keep listening sockets from stealing a duplicate SYN), and what went
//! out (to count retransmissions and RSTs).

use std::net::SocketAddr;

use smoltcp::wire::{IpAddress, IpProtocol, Ipv4Packet, Ipv6Packet, TcpPacket};

/// The facts about one TCP segment the wrapper acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentFacts {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    /// Meaningful only when `ack` is set.
    pub ack_number: u32,
    /// Length in sequence space: payload, plus one each for SYN and FIN.
    pub seq_len: u32,
    pub syn: bool,
    pub ack: bool,
    pub rst: bool,
}

/// What an inbound packet turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A TCP segment with a valid IP header and TCP checksum.
    Tcp(SegmentFacts),
    /// An ICMP or ICMPv6 packet; `echo` module decides what to do with it.
    Icmp,
    /// A well formed IP packet of another protocol (or an IPv6 packet with
    /// extension headers); smoltcp answers it.
    Other,
    /// Dropped before smoltcp sees it, for this reason.
    Invalid(&'static str),
}

/// Checks an inbound packet once (RFC 791 or RFC 8200 header, RFC 9293
/// §3.1 checksum).
pub fn classify_inbound(packet: &[u8]) -> Inbound {
    match packet.first().map(|byte| byte >> 4) {
        Some(6) => classify_ipv6(packet),
        _ => classify_ipv4(packet),
    }
}

fn classify_ipv4(packet: &[u8]) -> Inbound {
    let Ok(ip) = Ipv4Packet::new_checked(packet) else {
        return Inbound::Invalid("truncated or malformed IPv4 header");
    };
    if ip.version() != 4 {
        return Inbound::Invalid("not IPv4");
    }
    if !ip.verify_checksum() {
        return Inbound::Invalid("bad IPv4 header checksum");
    }
    if ip.more_frags() || ip.frag_offset() != 0 {
        // Our build of smoltcp has no reassembly, and neither do we.
        return Inbound::Invalid("IPv4 fragment");
    }
    let addrs = (ip.src_addr().into(), ip.dst_addr().into());
    classify_transport(ip.next_header(), IpProtocol::Icmp, addrs, ip.payload())
}

/// RFC 8200 §3: the fixed header, and a payload length that the packet
/// holds (`new_checked`). Extension headers are smoltcp's to walk.
fn classify_ipv6(packet: &[u8]) -> Inbound {
    let Ok(ip) = Ipv6Packet::new_checked(packet) else {
        return Inbound::Invalid("truncated or malformed IPv6 header");
    };
    if ip.version() != 6 {
        return Inbound::Invalid("not IPv6");
    }
    let addrs = (ip.src_addr().into(), ip.dst_addr().into());
    classify_transport(ip.next_header(), IpProtocol::Icmpv6, addrs, ip.payload())
}

fn classify_transport(
    protocol: IpProtocol,
    icmp: IpProtocol,
    addrs: (IpAddress, IpAddress),
    payload: &[u8],
) -> Inbound {
    match protocol {
        IpProtocol::Tcp => match tcp_facts(addrs, payload, true) {
            Some(facts) => Inbound::Tcp(facts),
            None => Inbound::Invalid("truncated TCP header or bad TCP checksum"),
        },
        _ if protocol == icmp => Inbound::Icmp,
        _ => Inbound::Other,
    }
}

/// Facts about an outbound packet smoltcp built, `None` if not TCP.
pub fn outbound_segment(packet: &[u8]) -> Option<SegmentFacts> {
    let (protocol, addrs, payload) = if packet.first().map(|byte| byte >> 4) == Some(6) {
        let ip = Ipv6Packet::new_checked(packet).ok()?;
        let addrs = (ip.src_addr().into(), ip.dst_addr().into());
        (ip.next_header(), addrs, ip.payload())
    } else {
        let ip = Ipv4Packet::new_checked(packet).ok()?;
        let addrs = (ip.src_addr().into(), ip.dst_addr().into());
        (ip.next_header(), addrs, ip.payload())
    };
    if protocol != IpProtocol::Tcp {
        return None;
    }
    tcp_facts(addrs, payload, false)
}

fn tcp_facts(
    (src_ip, dst_ip): (IpAddress, IpAddress),
    payload: &[u8],
    verify: bool,
) -> Option<SegmentFacts> {
    let tcp = TcpPacket::new_checked(payload).ok()?;
    // The checksum covers the pseudo-header of the family (RFC 9293
    // §3.1, RFC 8200 §8.1).
    if verify && !tcp.verify_checksum(&src_ip, &dst_ip) {
        return None;
    }
    Some(SegmentFacts {
        src: SocketAddr::new(src_ip.into(), tcp.src_port()),
        dst: SocketAddr::new(dst_ip.into(), tcp.dst_port()),
        seq: tcp.seq_number().0 as u32,
        ack_number: tcp.ack_number().0 as u32,
        seq_len: u32::try_from(tcp.segment_len()).unwrap_or(u32::MAX),
        syn: tcp.syn(),
        ack: tcp.ack(),
        rst: tcp.rst(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{Ipv4Address, Ipv4Repr, TcpControl, TcpRepr, TcpSeqNumber};

    const A: Ipv4Address = Ipv4Address::new(192, 0, 2, 1);
    const B: Ipv4Address = Ipv4Address::new(192, 0, 2, 2);

    /// A SYN from A:1000 to B:80, checksums filled in.
    pub fn syn_packet() -> Vec<u8> {
        let tcp = TcpRepr {
            src_port: 1000,
            dst_port: 80,
            control: TcpControl::Syn,
            seq_number: TcpSeqNumber(7),
            ack_number: None,
            window_len: 1000,
            window_scale: None,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: &[],
        };
        let ip = Ipv4Repr {
            src_addr: A,
            dst_addr: B,
            next_header: IpProtocol::Tcp,
            payload_len: tcp.buffer_len(),
            hop_limit: 64,
        };
        let mut bytes = vec![0u8; ip.buffer_len() + tcp.buffer_len()];
        let caps = ChecksumCapabilities::default();
        let mut ip_packet = Ipv4Packet::new_unchecked(&mut bytes[..]);
        ip.emit(&mut ip_packet, &caps);
        let mut tcp_packet = TcpPacket::new_unchecked(ip_packet.payload_mut());
        tcp.emit(&mut tcp_packet, &A.into(), &B.into(), &caps);
        bytes
    }

    #[test]
    fn a_valid_syn_is_read_with_its_tuple_and_sequence_length() {
        let Inbound::Tcp(facts) = classify_inbound(&syn_packet()) else {
            panic!("expected TCP");
        };
        assert_eq!(facts.src, SocketAddr::new(A.into(), 1000));
        assert_eq!(facts.dst, SocketAddr::new(B.into(), 80));
        assert_eq!((facts.seq, facts.seq_len), (7, 1));
        assert!(facts.syn && !facts.ack && !facts.rst);
    }

    #[test]
    fn corrupted_packets_are_invalid() {
        let mut bad_tcp = syn_packet();
        let last = bad_tcp.len() - 1;
        bad_tcp[last] ^= 0x40;
        assert!(matches!(classify_inbound(&bad_tcp), Inbound::Invalid(_)));

        let mut bad_ip = syn_packet();
        bad_ip[8] ^= 1; // TTL changes, header checksum no longer matches
        assert_eq!(
            classify_inbound(&bad_ip),
            Inbound::Invalid("bad IPv4 header checksum")
        );

        assert!(matches!(classify_inbound(&[0x45, 0]), Inbound::Invalid(_)));
    }
}
