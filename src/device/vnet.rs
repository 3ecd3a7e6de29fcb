//! The `virtio_net_hdr` a TUN device opened with `IFF_VNET_HDR` puts in
//! front of every packet (Linux include/uapi/linux/virtio_net.h), and what
//! it means for the packet behind it.
//!
//! With offloads on (`TUNSETOFFLOAD`), the kernel stops doing two jobs per
//! 1500-byte packet and leaves them to the header's reader:
//!
//! * Checksums. `VIRTIO_NET_HDR_F_NEEDS_CSUM` says the TCP checksum field
//!   holds only the pseudo-header sum; the real checksum is the Internet
//!   checksum of everything from `csum_start` on, stored at
//!   `csum_start + csum_offset`. We complete it on receipt
//!   ([`complete_checksum`]) so the engine checks it as always.
//! * Segmentation. A packet may be one large TCP segment (up to 64 KB) that
//!   stands for many MTU-sized ones (`gso_type` TCPV4 or TCPV6, `gso_size` payload
//!   bytes each). Received, it is just a segment with a lot of data. Sent,
//!   the kernel cuts it into `gso_size` pieces for us ([`header_for`]).
//!
//! The header is the 10-byte legacy layout (the TUN default,
//! `TUNSETVNETHDRSZ` unchanged), in the host's byte order (the legacy
//! virtio header is "guest-native"; little-endian on every host we build for).

use crate::wire::checksum::checksum;
use crate::wire::ipv4::PROTO_TCP;

/// Bytes of the legacy `struct virtio_net_hdr`.
pub const VNET_HDR_LEN: usize = 10;

/// `flags`: the checksum is partial and must be completed.
pub const F_NEEDS_CSUM: u8 = 1;
/// `gso_type`: an ordinary packet, no segmentation.
pub const GSO_NONE: u8 = 0;
/// `gso_type`: a TCP over IPv4 segment to be cut into `gso_size` pieces.
pub const GSO_TCPV4: u8 = 1;
/// `gso_type`: the same over IPv6 (`VIRTIO_NET_HDR_GSO_TCPV6`).
pub const GSO_TCPV6: u8 = 4;

/// `gso_type` bit: the segment carries CWR (RFC 3168 §6.1.2), which the
/// kernel's segmentation leaves on the first piece only.
pub const GSO_ECN: u8 = 0x80;
/// The CWR bit of the TCP flags byte (offset 13).
const TCP_FLAGS_CWR: u8 = 0x80;

/// Offset of the checksum field in a TCP header (RFC 9293 §3.1).
const TCP_CHECKSUM_OFFSET: u16 = 16;

/// One `virtio_net_hdr`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VnetHeader {
    pub flags: u8,
    pub gso_type: u8,
    /// Bytes of headers (IP + TCP) that every cut segment repeats.
    pub hdr_len: u16,
    /// Payload bytes per cut segment.
    pub gso_size: u16,
    /// Where the checksummed range starts (the TCP header).
    pub csum_start: u16,
    /// Where the checksum field is, counted from `csum_start`.
    pub csum_offset: u16,
}

impl VnetHeader {
    pub fn parse(bytes: &[u8; VNET_HDR_LEN]) -> VnetHeader {
        let u16_at = |at: usize| u16::from_ne_bytes([bytes[at], bytes[at + 1]]);
        VnetHeader {
            flags: bytes[0],
            gso_type: bytes[1],
            hdr_len: u16_at(2),
            gso_size: u16_at(4),
            csum_start: u16_at(6),
            csum_offset: u16_at(8),
        }
    }

    pub fn emit(&self) -> [u8; VNET_HDR_LEN] {
        let mut bytes = [0u8; VNET_HDR_LEN];
        bytes[0] = self.flags;
        bytes[1] = self.gso_type;
        bytes[2..4].copy_from_slice(&self.hdr_len.to_ne_bytes());
        bytes[4..6].copy_from_slice(&self.gso_size.to_ne_bytes());
        bytes[6..8].copy_from_slice(&self.csum_start.to_ne_bytes());
        bytes[8..10].copy_from_slice(&self.csum_offset.to_ne_bytes());
        bytes
    }
}

/// Completes a partial checksum in a received `packet` as the header asks.
/// Returns false (drop the packet) when the header points outside it.
pub fn complete_checksum(header: &VnetHeader, packet: &mut [u8]) -> bool {
    if header.flags & F_NEEDS_CSUM == 0 {
        return true;
    }
    let start = usize::from(header.csum_start);
    let field = start + usize::from(header.csum_offset);
    if field + 2 > packet.len() {
        return false;
    }
    // The field holds the pseudo-header sum, so the checksum of the range
    // with it in place is the finished TCP checksum.
    let sum = checksum(&packet[start..]);
    packet[field..field + 2].copy_from_slice(&sum.to_be_bytes());
    true
}

/// How we hand an outgoing packet to the kernel: as it is (`None`) when it
/// fits the `mtu`, or, for a larger TCP segment, the header asking the
/// kernel to cut it at the MTU, and the partial checksum (pseudo-header
/// sum) that must replace the TCP checksum field at the given offset, since
/// the kernel finishes each piece's checksum from it.
pub fn header_for(packet: &[u8], mtu: usize) -> Option<(VnetHeader, usize, [u8; 2])> {
    let (ip, headers) = oversized_tcp_segment(packet, mtu)?;
    let cwr = packet
        .get(ip.header_len + 13)
        .is_some_and(|flags| flags & TCP_FLAGS_CWR != 0);
    let header = VnetHeader {
        flags: F_NEEDS_CSUM,
        gso_type: (if ip.is_ipv6 { GSO_TCPV6 } else { GSO_TCPV4 }) | if cwr { GSO_ECN } else { 0 },
        hdr_len: headers as u16,
        // Every piece carries the same headers: at most MTU in all.
        gso_size: (mtu - headers) as u16,
        csum_start: ip.header_len as u16,
        csum_offset: TCP_CHECKSUM_OFFSET,
    };
    let partial = ip.pseudo_header_sum(packet, packet.len() - ip.header_len);
    let field = ip.header_len + usize::from(TCP_CHECKSUM_OFFSET);
    Some((header, field, partial.to_be_bytes()))
}

/// For a TCP segment larger than `mtu` that can be cut at it: its IP
/// view and the length of its IP and TCP headers together (which every
/// piece repeats, so they must leave room for payload). `None` for a
/// packet that fits, is not TCP, or is too short for what it claims.
pub(super) fn oversized_tcp_segment(packet: &[u8], mtu: usize) -> Option<(IpView, usize)> {
    if packet.len() <= mtu {
        return None;
    }
    let ip = IpView::new(packet)?;
    let tcp_header_len = usize::from(*packet.get(ip.header_len + 12)? >> 4) * 4;
    let headers = ip.header_len + tcp_header_len;
    if ip.protocol != PROTO_TCP || headers >= packet.len() || mtu <= headers {
        return None;
    }
    Some((ip, headers))
}

/// The few IP header fields segmentation needs, from a packet our own
/// engine built (so already well-formed; anything odd is sent unsegmented).
/// IPv6 only without extension headers: TCP must follow the fixed header.
pub(super) struct IpView {
    pub(super) header_len: usize,
    pub(super) protocol: u8,
    pub(super) is_ipv6: bool,
}

impl IpView {
    pub(super) fn new(packet: &[u8]) -> Option<IpView> {
        match packet.first()? >> 4 {
            4 => {
                let header = packet.get(..20)?;
                let header_len = usize::from(header[0] & 0x0f) * 4;
                (header_len >= 20).then_some(IpView {
                    header_len,
                    protocol: header[9],
                    is_ipv6: false,
                })
            }
            // RFC 8200 §3: next header at byte 6, a 40-byte fixed header.
            6 => Some(IpView {
                header_len: 40,
                protocol: *packet.get(6).filter(|_| packet.len() >= 40)?,
                is_ipv6: true,
            }),
            _ => None,
        }
    }

    /// The folded, uncomplemented sum of the TCP pseudo-header for a TCP
    /// segment of `tcp_len` bytes (RFC 9293 §3.1, RFC 8200 §8.1), which is
    /// what a partial checksum field holds (Linux's
    /// `~tcp_v4_check(len, saddr, daddr, 0)`, `~tcp_v6_check(...)`).
    pub(super) fn pseudo_header_sum(&self, packet: &[u8], tcp_len: usize) -> u16 {
        let mut pseudo = [0u8; 40];
        let len = if self.is_ipv6 {
            pseudo[..32].copy_from_slice(&packet[8..40]);
            pseudo[32..36].copy_from_slice(&(tcp_len as u32).to_be_bytes());
            pseudo[39] = PROTO_TCP;
            40
        } else {
            pseudo[..8].copy_from_slice(&packet[12..20]);
            pseudo[9] = PROTO_TCP;
            pseudo[10..12].copy_from_slice(&(tcp_len as u16).to_be_bytes());
            12
        };
        !checksum(&pseudo[..len])
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::wire::checksum::tcp_checksum;
    use std::net::Ipv4Addr;

    const SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
    const DST: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

    /// An IPv4 + 20-byte TCP packet with `payload` bytes and a correct
    /// TCP checksum.
    fn tcp_packet(payload: usize) -> Vec<u8> {
        let total = 40 + payload;
        let mut packet = vec![0u8; total];
        packet[0] = 0x45;
        packet[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        packet[8] = 64;
        packet[9] = PROTO_TCP;
        packet[12..16].copy_from_slice(&SRC.octets());
        packet[16..20].copy_from_slice(&DST.octets());
        packet[32] = 5 << 4; // data offset
        for (i, byte) in packet[40..].iter_mut().enumerate() {
            *byte = (i * 7) as u8;
        }
        let sum = tcp_checksum(SRC, DST, &packet[20..]);
        packet[36..38].copy_from_slice(&sum.to_be_bytes());
        packet
    }

    #[test]
    fn header_round_trips_in_host_order() {
        let header = VnetHeader {
            flags: F_NEEDS_CSUM,
            gso_type: GSO_TCPV4,
            hdr_len: 40,
            gso_size: 1460,
            csum_start: 20,
            csum_offset: 16,
        };
        let bytes = header.emit();
        assert_eq!(bytes[4..6], 1460u16.to_ne_bytes());
        assert_eq!(VnetHeader::parse(&bytes), header);
    }

    #[test]
    fn partial_checksum_from_the_kernel_is_completed() {
        let mut packet = tcp_packet(3000);
        let correct = [packet[36], packet[37]];
        let ip = IpView::new(&packet).unwrap();
        let partial = ip.pseudo_header_sum(&packet, packet.len() - 20);
        packet[36..38].copy_from_slice(&partial.to_be_bytes());
        let header = VnetHeader {
            flags: F_NEEDS_CSUM,
            csum_start: 20,
            csum_offset: 16,
            ..VnetHeader::default()
        };
        assert!(complete_checksum(&header, &mut packet));
        assert_eq!([packet[36], packet[37]], correct);
        assert_eq!(tcp_checksum(SRC, DST, &packet[20..]), 0);
    }

    #[test]
    fn complete_checksum_leaves_full_checksums_and_refuses_bad_offsets() {
        let mut packet = tcp_packet(10);
        let before = packet.clone();
        assert!(complete_checksum(&VnetHeader::default(), &mut packet));
        assert_eq!(packet, before);
        let outside = VnetHeader {
            flags: F_NEEDS_CSUM,
            csum_start: 40,
            csum_offset: 16,
            ..VnetHeader::default()
        };
        assert!(!complete_checksum(&outside, &mut packet));
    }

    #[test]
    fn packets_that_fit_the_mtu_go_as_they_are() {
        assert_eq!(header_for(&tcp_packet(1460), 1500), None);
    }

    #[test]
    fn large_tcp_segment_is_cut_at_the_mtu_with_a_partial_checksum() {
        let packet = tcp_packet(10 * 1460 + 5);
        let (header, field, partial) = header_for(&packet, 1500).unwrap();
        assert_eq!(header.gso_type, GSO_TCPV4);
        assert_eq!(header.gso_size, 1460);
        assert_eq!(header.hdr_len, 40);
        assert_eq!((header.csum_start, header.csum_offset), (20, 16));
        assert_eq!(header.flags, F_NEEDS_CSUM);
        assert_eq!(field, 36);
        // What the kernel does with it: completing the partial checksum
        // gives the same checksum as the one the engine computed.
        let mut sent = packet.clone();
        sent[field..field + 2].copy_from_slice(&partial);
        assert!(complete_checksum(&header, &mut sent));
        assert_eq!(sent, packet);
    }

    #[test]
    fn options_shrink_each_piece_so_it_still_fits() {
        let mut packet = tcp_packet(5000);
        packet[32] = 8 << 4; // 32-byte TCP header
        let (header, _, _) = header_for(&packet, 1500).unwrap();
        assert_eq!(header.hdr_len, 52);
        assert_eq!(header.gso_size, 1448);
    }

    #[test]
    fn large_non_tcp_packets_are_not_segmented() {
        let mut packet = tcp_packet(5000);
        packet[9] = 1; // ICMP
        assert_eq!(header_for(&packet, 1500), None);
    }

    /// An IPv6 + 20-byte TCP packet with `payload` bytes, checksummed by
    /// etherparse (an independent implementation).
    pub(crate) fn tcp_packet_v6(payload: usize) -> Vec<u8> {
        let data: Vec<u8> = (0..payload).map(|i| (i * 7) as u8).collect();
        let builder = etherparse::PacketBuilder::ipv6(
            [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            64,
        )
        .tcp(7, 40000, 1000, 65535)
        .ack(1);
        let mut packet = Vec::new();
        builder.write(&mut packet, &data).unwrap();
        packet
    }

    #[test]
    fn large_ipv6_segment_is_cut_as_tcpv6_with_its_pseudo_header_sum() {
        let packet = tcp_packet_v6(10 * 1440 + 5);
        let (header, field, partial) = header_for(&packet, 1500).unwrap();
        assert_eq!(header.gso_type, GSO_TCPV6);
        assert_eq!((header.hdr_len, header.gso_size), (60, 1440));
        assert_eq!((header.csum_start, header.csum_offset), (40, 16));
        assert_eq!(field, 56);
        let mut sent = packet.clone();
        sent[field..field + 2].copy_from_slice(&partial);
        assert!(complete_checksum(&header, &mut sent));
        assert_eq!(
            sent, packet,
            "the kernel's completion gives etherparse's checksum"
        );
        assert_eq!(header_for(&tcp_packet_v6(1440), 1500), None);
    }
}
