//! Bytes on the wire: the IPv4/TCP packet a `<` line injects, byte for byte
//! as the script writes it (flags, option order, padding), and the facts
//! of a packet the stack sent, raw option bytes included, for the matcher.

use std::net::{IpAddr, Ipv4Addr};

use super::script::{FlagSet, TcpOptionSpec};
use crate::wire::checksum::{checksum, tcp_checksum};
use crate::wire::{Ecn, IpSendFields, Ipv4Repr, Ipv6Repr, TcpOptions, IPV6_HEADER_LEN, PROTO_TCP};

/// Absolute numbers for one inbound segment.
#[derive(Clone, Debug)]
pub struct Inbound {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: FlagSet,
    pub window: u16,
    pub urgent: u16,
    /// Options already with absolute SACK blocks and mapped TS ecr.
    pub options: Vec<TcpOptionSpec>,
    pub payload_len: usize,
    /// The IP header's ECN field.
    pub ecn: Ecn,
}

/// The option bytes as listed, in order; padded with EOL to 32 bits as
/// packetdrill does. `None` for an option we cannot encode.
pub fn encode_options(options: &[TcpOptionSpec]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for option in options {
        match option {
            TcpOptionSpec::Nop => out.push(1),
            TcpOptionSpec::Eol => out.push(0),
            TcpOptionSpec::Mss(mss) => out.extend([2, 4, (mss >> 8) as u8, *mss as u8]),
            TcpOptionSpec::WindowScale(shift) => out.extend([3, 3, *shift]),
            TcpOptionSpec::SackPermitted => out.extend([4, 2]),
            TcpOptionSpec::Sack(blocks) => {
                out.extend([5, 2 + 8 * blocks.len() as u8]);
                for (left, right) in blocks {
                    out.extend(left.to_be_bytes());
                    out.extend(right.to_be_bytes());
                }
            }
            TcpOptionSpec::Timestamp { val, ecr } => {
                out.extend([8, 10]);
                out.extend(val.to_be_bytes());
                out.extend(ecr.to_be_bytes());
            }
            TcpOptionSpec::Other(_) => return None,
        }
    }
    while out.len() % 4 != 0 {
        out.push(0);
    }
    (out.len() <= 40).then_some(out)
}

/// The whole IP packet (IPv4, or IPv6 if the addresses are, RFC 8200)
/// from the peer to the stack; `None` when its options cannot be encoded.
pub fn build_inbound(src: IpAddr, dst: IpAddr, segment: &Inbound) -> Option<Vec<u8>> {
    let options = encode_options(&segment.options)?;
    let tcp_len = 20 + options.len() + segment.payload_len;
    let mut tcp = Vec::with_capacity(tcp_len);
    tcp.extend(segment.src_port.to_be_bytes());
    tcp.extend(segment.dst_port.to_be_bytes());
    tcp.extend(segment.seq.to_be_bytes());
    tcp.extend(segment.ack.to_be_bytes());
    tcp.push((((20 + options.len()) / 4) << 4) as u8);
    tcp.push(segment.flags.to_byte());
    tcp.extend(segment.window.to_be_bytes());
    tcp.extend([0, 0]);
    tcp.extend(segment.urgent.to_be_bytes());
    tcp.extend(&options);
    tcp.resize(tcp_len, 0);
    let sum = tcp_checksum(src, dst, &tcp);
    tcp[16..18].copy_from_slice(&sum.to_be_bytes());
    let (src, dst) = match (src, dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => (src, dst),
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            let mut packet = vec![0u8; IPV6_HEADER_LEN];
            let ip = Ipv6Repr {
                src,
                dst,
                protocol: PROTO_TCP,
                hop_limit: 64,
                ecn: segment.ecn,
                payload_len: tcp_len,
            };
            // The Traffic Class carries the ECN field (RFC 3168 §5).
            let fields = IpSendFields {
                tos: segment.ecn.bits(),
                ..IpSendFields::default()
            };
            ip.emit_with(&mut packet, fields);
            packet.extend(tcp);
            return Some(packet);
        }
        _ => return None,
    };

    let mut packet = ipv4_header(src, dst, PROTO_TCP, 20 + tcp_len, segment.ecn);
    packet.extend(tcp);
    Some(packet)
}

/// A 20-byte IPv4 header with DF, TTL 64, the ECN field and its checksum,
/// for a datagram of `total` bytes.
pub fn ipv4_header(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, total: usize, ecn: Ecn) -> Vec<u8> {
    let mut header = vec![0x45, ecn.bits()];
    header.extend((total as u16).to_be_bytes());
    header.extend([0, 0, 0x40, 0, 64, protocol, 0, 0]);
    header.extend(src.octets());
    header.extend(dst.octets());
    let sum = checksum(&header);
    header[10..12].copy_from_slice(&sum.to_be_bytes());
    header
}

/// A TCP segment the stack sent, as the matcher needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// Virtual time it was sent, in microseconds.
    pub at: i64,
    pub src_port: u16,
    pub dst_port: u16,
    pub flags: FlagSet,
    pub seq: u32,
    /// The ACK field (meaningful when `flags.ack`).
    pub ack: u32,
    pub window: u16,
    pub urgent: u16,
    /// The option bytes exactly as sent.
    pub raw_options: Vec<u8>,
    pub options: TcpOptions,
    pub payload_len: usize,
    /// The IP header's ECN field.
    pub ecn: Ecn,
}

/// The facts of an outbound IPv4 or IPv6 packet; `None` when it is not
/// TCP (an ICMP echo reply, say), which the runner reports as unexpected.
pub fn parse_outbound(at: i64, packet: &[u8]) -> Option<Sent> {
    let (protocol, ecn, bytes) = if packet.first()? >> 4 == 6 {
        let (ip, bytes) = Ipv6Repr::parse(packet).ok()?;
        (ip.protocol, ip.ecn, bytes)
    } else {
        let (ip, bytes) = Ipv4Repr::parse(packet).ok()?;
        (ip.protocol, ip.ecn, bytes)
    };
    if protocol != PROTO_TCP || bytes.len() < 20 {
        return None;
    }
    let header_len = usize::from(bytes[12] >> 4) * 4;
    if header_len < 20 || header_len > bytes.len() {
        return None;
    }
    let raw_options = bytes[20..header_len].to_vec();
    let word = |at: usize| u16::from_be_bytes([bytes[at], bytes[at + 1]]);
    let long =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    Some(Sent {
        at,
        src_port: word(0),
        dst_port: word(2),
        seq: long(4),
        ack: long(8),
        flags: FlagSet::from_byte(bytes[13]),
        window: word(14),
        urgent: word(18),
        options: TcpOptions::parse(&raw_options).ok()?,
        raw_options,
        payload_len: bytes.len() - header_len,
        ecn,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inbound_packet_reads_back_as_written() {
        let segment = Inbound {
            src_port: 40000,
            dst_port: 8080,
            seq: 7,
            ack: 9,
            flags: FlagSet {
                syn: true,
                ece: true,
                ..FlagSet::default()
            },
            window: 32767,
            urgent: 0,
            options: vec![
                TcpOptionSpec::Mss(1460),
                TcpOptionSpec::SackPermitted,
                TcpOptionSpec::Eol,
                TcpOptionSpec::Eol,
            ],
            payload_len: 3,
            ecn: Ecn::Ce,
        };
        let v4: (IpAddr, IpAddr) = ([192, 0, 2, 1].into(), [192, 0, 2, 2].into());
        let v6 = (
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        );
        for (a, b) in [v4, v6] {
            let packet = build_inbound(a, b, &segment).unwrap();
            assert_eq!(packet[0] >> 4, if a.is_ipv6() { 6 } else { 4 });
            let sent = parse_outbound(5, &packet).expect("checksums and lengths are right");
            assert_eq!(sent.ecn, Ecn::Ce);
            assert_eq!(
                (sent.seq, sent.ack, sent.window, sent.payload_len),
                (7, 9, 32767, 3)
            );
            assert_eq!(sent.flags, segment.flags);
            assert_eq!(sent.raw_options, vec![2, 4, 5, 180, 4, 2, 0, 0]);
            assert_eq!(sent.options.mss, Some(1460));
            assert!(sent.options.sack_permitted);
        }
    }

    #[test]
    fn options_we_cannot_encode_are_refused() {
        assert_eq!(encode_options(&[TcpOptionSpec::Other("md5".into())]), None);
        assert_eq!(
            encode_options(&[TcpOptionSpec::Nop]),
            Some(vec![1, 0, 0, 0])
        );
    }
}
