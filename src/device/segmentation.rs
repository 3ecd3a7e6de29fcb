//! Software segmentation: a TCP segment larger than the MTU cut into the
//! packets a wire would carry, each a complete IPv4 or IPv6 + TCP packet
//! with its own checksums, as the kernel's GSO would cut it.
//!
//! With TUN offloads on, 64 KB segments cross the device in one piece; the
//! pcap tap uses this so a capture still shows MSS-sized packets, the
//! segments Wireshark users and the RFC talk about.

use super::vnet::{oversized_tcp_segment, IpView};
use crate::wire::checksum::checksum;

/// Offsets in the TCP header (RFC 9293 §3.1).
const TCP_SEQ: usize = 4;
const TCP_FLAGS: usize = 13;
const TCP_CHECKSUM: usize = 16;
/// Flags that belong to the last piece only (FIN, PSH): they mark the end
/// of what the large segment carried. CWR belongs to the first only.
const LAST_PIECE_FLAGS: u8 = 0x01 | 0x08;
const FIRST_PIECE_FLAGS: u8 = 0x80;

/// Calls `emit` with each packet `packet` stands for on a link of `mtu`:
/// the packet itself when it fits or is not a plain TCP segment, else its
/// pieces, in order, built in `scratch`.
pub fn for_each_wire_packet(
    packet: &[u8],
    mtu: usize,
    scratch: &mut Vec<u8>,
    mut emit: impl FnMut(&[u8]),
) {
    let Some(layout) = Layout::of(packet, mtu) else {
        emit(packet);
        return;
    };
    let payload = &packet[layout.headers..];
    for (index, chunk) in payload.chunks(layout.piece_payload).enumerate() {
        let first = index == 0;
        let last = (index + 1) * layout.piece_payload >= payload.len();
        layout.build_piece(packet, index, chunk, (first, last), scratch);
        emit(scratch);
    }
}

/// Where the headers end and how much payload each piece takes.
struct Layout {
    ip_header: usize,
    headers: usize,
    piece_payload: usize,
    ip: IpView,
}

impl Layout {
    fn of(packet: &[u8], mtu: usize) -> Option<Layout> {
        let (ip, headers) = oversized_tcp_segment(packet, mtu)?;
        // Only a whole packet with a real TCP header is cut: a recording
        // must not invent bytes a truncated or odd packet never had.
        // IPv4's total length, or IPv6's payload length (RFC 8200 §3).
        let total_len = if ip.is_ipv6 {
            40 + usize::from(u16::from_be_bytes([packet[4], packet[5]]))
        } else {
            usize::from(u16::from_be_bytes([packet[2], packet[3]]))
        };
        let whole = total_len == packet.len() && headers - ip.header_len >= 20;
        whole.then(|| Layout {
            ip_header: ip.header_len,
            headers,
            piece_payload: mtu - headers,
            ip,
        })
    }

    /// Piece `index`: the original headers with the length, IP ID,
    /// sequence number, flags and checksums made right for `chunk` (IPv6
    /// has neither an ID outside fragments nor a header checksum).
    fn build_piece(
        &self,
        packet: &[u8],
        index: usize,
        chunk: &[u8],
        (first, last): (bool, bool),
        out: &mut Vec<u8>,
    ) {
        out.clear();
        out.extend_from_slice(&packet[..self.headers]);
        out.extend_from_slice(chunk);
        if self.ip.is_ipv6 {
            let payload_len = (out.len() - self.ip_header) as u16;
            out[4..6].copy_from_slice(&payload_len.to_be_bytes());
        } else {
            let total = out.len() as u16;
            out[2..4].copy_from_slice(&total.to_be_bytes());
            let id = u16::from_be_bytes([packet[4], packet[5]]).wrapping_add(index as u16);
            out[4..6].copy_from_slice(&id.to_be_bytes());
            out[10..12].fill(0);
            let ip_sum = checksum(&out[..self.ip_header]);
            out[10..12].copy_from_slice(&ip_sum.to_be_bytes());
        }

        let tcp = self.ip_header;
        let seq_at = tcp + TCP_SEQ;
        let seq = u32::from_be_bytes(packet[seq_at..seq_at + 4].try_into().unwrap_or_default());
        let offset = (index * self.piece_payload) as u32;
        out[seq_at..seq_at + 4].copy_from_slice(&seq.wrapping_add(offset).to_be_bytes());
        if !last {
            out[tcp + TCP_FLAGS] &= !LAST_PIECE_FLAGS;
        }
        if !first {
            out[tcp + TCP_FLAGS] &= !FIRST_PIECE_FLAGS;
        }
        // With the pseudo-header sum in the field, the checksum of the
        // segment is the finished TCP checksum (as in vnet.rs).
        let field = tcp + TCP_CHECKSUM..tcp + TCP_CHECKSUM + 2;
        let partial = self.ip.pseudo_header_sum(out, out.len() - tcp);
        out[field.clone()].copy_from_slice(&partial.to_be_bytes());
        let tcp_sum = checksum(&out[tcp..]);
        out[field].copy_from_slice(&tcp_sum.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tcp::emit_ipv4_tcp;
    use crate::wire::{Ipv4Repr, SeqNum, TcpFlags, TcpHeader, TcpSegment};
    use std::net::Ipv4Addr;

    /// Both checksums and every length are checked here.
    fn parse(packet: &[u8]) -> Option<TcpSegment<'_>> {
        let (ip, tcp) = Ipv4Repr::parse(packet).ok()?;
        TcpSegment::parse(ip.src, ip.dst, tcp).ok()
    }

    const SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
    const DST: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

    fn large_segment(payload: &[u8]) -> Vec<u8> {
        let header = TcpHeader {
            src_port: 7,
            dst_port: 40000,
            seq: SeqNum(u32::MAX - 1000),
            ack: Some(SeqNum(5)),
            flags: TcpFlags {
                psh: true,
                fin: true,
                ..TcpFlags::default()
            },
            window: 1000,
            ..TcpHeader::default()
        };
        let mut buf = vec![0u8; 70_000];
        let len = emit_ipv4_tcp(SRC, DST, &header, payload, &mut buf);
        buf.truncate(len);
        buf
    }

    #[test]
    fn a_large_segment_becomes_mtu_sized_packets_that_parse_and_add_up() {
        let payload: Vec<u8> = (0..4000u32).map(|i| i as u8).collect();
        let packet = large_segment(&payload);
        let mut pieces = Vec::new();
        for_each_wire_packet(&packet, 1500, &mut Vec::new(), |p| pieces.push(p.to_vec()));
        assert_eq!(pieces.len(), 3, "1460 + 1460 + 1080");
        let mut joined = Vec::new();
        let mut expected_seq = u32::MAX - 1000;
        for (i, piece) in pieces.iter().enumerate() {
            assert!(piece.len() <= 1500);
            // Parsing checks both checksums.
            let seg = parse(piece).expect("each piece is a valid packet");
            assert_eq!(seg.header.seq.0, expected_seq, "sequence numbers wrap");
            let last = i == pieces.len() - 1;
            assert_eq!((seg.header.flags.fin, seg.header.flags.psh), (last, last));
            assert_eq!(seg.header.ack, Some(SeqNum(5)));
            expected_seq = expected_seq.wrapping_add(seg.payload.len() as u32);
            joined.extend_from_slice(seg.payload);
        }
        assert_eq!(joined, payload);
    }

    #[test]
    fn packets_that_fit_or_are_not_tcp_pass_unchanged() {
        let small = large_segment(b"hello");
        let mut seen = Vec::new();
        for_each_wire_packet(&small, 1500, &mut Vec::new(), |p| seen.push(p.to_vec()));
        assert_eq!(seen, vec![small]);

        let mut not_tcp = large_segment(&[0u8; 3000]);
        not_tcp[9] = 17; // UDP
        seen.clear();
        for_each_wire_packet(&not_tcp, 1500, &mut Vec::new(), |p| seen.push(p.to_vec()));
        assert_eq!(seen, vec![not_tcp]);
    }

    /// An IPv6 segment (RFC 8200) is cut the same way: each piece's
    /// payload length and TCP checksum, over the IPv6 pseudo-header, are
    /// its own (checked by smoltcp, an independent implementation).
    #[test]
    fn a_large_ipv6_segment_becomes_packets_with_their_own_lengths_and_checksums() {
        use smoltcp::wire::{IpAddress, Ipv6Packet, TcpPacket};
        let packet = super::super::vnet::tests::tcp_packet_v6(3000);
        let mut pieces = Vec::new();
        for_each_wire_packet(&packet, 1500, &mut Vec::new(), |p| pieces.push(p.to_vec()));
        assert_eq!(pieces.len(), 3, "1440 + 1440 + 120");
        let mut joined = Vec::new();
        for piece in &pieces {
            let ip = Ipv6Packet::new_checked(&piece[..]).expect("payload length is right");
            assert_eq!(ip.total_len(), piece.len());
            let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
            let (src, dst) = (
                IpAddress::Ipv6(ip.src_addr()),
                IpAddress::Ipv6(ip.dst_addr()),
            );
            assert!(tcp.verify_checksum(&src, &dst), "TCP checksum of a piece");
            joined.extend_from_slice(tcp.payload());
        }
        assert_eq!(joined, &packet[60..]);
    }
}
