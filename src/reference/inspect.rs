//! Reading packets on their way in and out, without changing them.
//!
//! smoltcp does the real protocol work; the wrapper only needs a few facts
//! it does not expose: whether an inbound packet is even well formed (so a
//! bad one is dropped, logged and counted here, per ARCHITECTURE.md), which
//! 4-tuple an RST or SYN belongs to (to tell "refused" from "timed out", and
//! to keep listening sockets from stealing a duplicate SYN), and what went
//! out (to count retransmissions and RSTs).

use std::net::SocketAddrV4;

use smoltcp::wire::{IpAddress, IpProtocol, Ipv4Packet, TcpPacket};

/// The facts about one TCP segment the wrapper acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentFacts {
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
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
    /// A TCP segment with valid IPv4 and TCP checksums.
    Tcp(SegmentFacts),
    /// An ICMP packet; `echo` module decides what to do with it.
    Icmp,
    /// A well formed IPv4 packet of another protocol; smoltcp answers it.
    Other,
    /// Dropped before smoltcp sees it, for this reason.
    Invalid(&'static str),
}

/// Checks an inbound packet once (RFC 791 header, RFC 9293 §3.1 checksum).
pub fn classify_inbound(packet: &[u8]) -> Inbound {
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
    match ip.next_header() {
        IpProtocol::Tcp => match tcp_facts(&ip, true) {
            Some(facts) => Inbound::Tcp(facts),
            None => Inbound::Invalid("truncated TCP header or bad TCP checksum"),
        },
        IpProtocol::Icmp => Inbound::Icmp,
        _ => Inbound::Other,
    }
}

/// Facts about an outbound packet smoltcp built, `None` if not TCP.
pub fn outbound_segment(packet: &[u8]) -> Option<SegmentFacts> {
    let ip = Ipv4Packet::new_checked(packet).ok()?;
    if ip.next_header() != IpProtocol::Tcp {
        return None;
    }
    tcp_facts(&ip, false)
}

fn tcp_facts(ip: &Ipv4Packet<&[u8]>, verify: bool) -> Option<SegmentFacts> {
    let (src_ip, dst_ip) = (ip.src_addr(), ip.dst_addr());
    let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
    if verify && !tcp.verify_checksum(&IpAddress::Ipv4(src_ip), &IpAddress::Ipv4(dst_ip)) {
        return None;
    }
    Some(SegmentFacts {
        src: SocketAddrV4::new(src_ip, tcp.src_port()),
        dst: SocketAddrV4::new(dst_ip, tcp.dst_port()),
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
        assert_eq!(facts.src, SocketAddrV4::new(A, 1000));
        assert_eq!(facts.dst, SocketAddrV4::new(B, 80));
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
