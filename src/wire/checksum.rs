//! The Internet checksum (RFC 1071), computed by etherparse's
//! `Sum16BitWords`: the ones' complement of the ones' complement sum of
//! 16-bit words. IPv4 covers its header with it; TCP covers a pseudo-header
//! (addresses, protocol, length), its header and its data (RFC 9293 §3.1);
//! over IPv6 the pseudo-header is RFC 8200 §8.1's (128-bit addresses, a
//! 32-bit length), and ICMPv6 is covered by one too (RFC 4443 §2.3).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::checksum::Sum16BitWords;

use super::ipv4::PROTO_TCP;

/// Checksum of a plain byte range (IPv4 header, ICMP message). Over bytes
/// that include a correct checksum field it is 0, which is how we verify.
pub fn checksum(data: &[u8]) -> u16 {
    Sum16BitWords::new()
        .add_slice(data)
        .ones_complement()
        .to_be()
}

/// Checksum of a TCP segment (header and data) with its IPv4 pseudo-header
/// (RFC 9293 §3.1: source, destination, zero, protocol, TCP length). Over a
/// segment that includes a correct checksum field it is 0.
/// Over IPv6 (or if either address is IPv6, an IPv4 one taken as
/// IPv4-mapped) the RFC 8200 §8.1 pseudo-header is used.
pub fn tcp_checksum(src: impl Into<IpAddr>, dst: impl Into<IpAddr>, segment: &[u8]) -> u16 {
    match (src.into(), dst.into()) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => tcp_checksum_v4(src, dst, segment),
        (src, dst) => upper_layer_checksum_v6(mapped(src), mapped(dst), PROTO_TCP, segment),
    }
}

/// `addr` as IPv6: an IPv4 address IPv4-mapped (RFC 4291 §2.5.5.2).
pub(crate) fn mapped(addr: IpAddr) -> Ipv6Addr {
    match addr {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

fn tcp_checksum_v4(src: Ipv4Addr, dst: Ipv4Addr, segment: &[u8]) -> u16 {
    // Segments never exceed the 16-bit IPv4 total length, so this fits.
    let tcp_len = segment.len() as u16;
    Sum16BitWords::new()
        .add_4bytes(src.octets())
        .add_4bytes(dst.octets())
        .add_2bytes([0, PROTO_TCP])
        .add_2bytes(tcp_len.to_be_bytes())
        .add_slice(segment)
        .ones_complement()
        .to_be()
}

/// RFC 8200 §8.1: the checksum of an upper-layer message (TCP, ICMPv6)
/// with the IPv6 pseudo-header: source, destination, upper-layer packet
/// length (32 bits), three zero bytes and the next header value. Over a
/// message that includes a correct checksum field it is 0.
pub fn upper_layer_checksum_v6(src: Ipv6Addr, dst: Ipv6Addr, protocol: u8, data: &[u8]) -> u16 {
    // One packet: its length fits 32 bits.
    let len = data.len() as u32;
    Sum16BitWords::new()
        .add_16bytes(src.octets())
        .add_16bytes(dst.octets())
        .add_4bytes(len.to_be_bytes())
        .add_4bytes([0, 0, 0, protocol])
        .add_slice(data)
        .ones_complement()
        .to_be()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example_sums_to_known_value() {
        // RFC 1071 §3 example: words 0001 f203 f4f5 f6f7 sum to ddf2 (before complement).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(checksum(&[0x12]), checksum(&[0x12, 0x00]));
        assert_ne!(checksum(&[0x12]), checksum(&[0x00, 0x12]));
    }

    #[test]
    fn data_including_its_checksum_verifies_to_zero() {
        let mut data = [0x45, 0x00, 0x00, 0x1c, 0x12, 0x34, 0x00, 0x00, 0x40, 0x06];
        let sum = checksum(&data);
        data[6..8].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(checksum(&data), 0);
    }

    /// A segment from `src` to `dst` with the checksum etherparse
    /// computes for it in place: ours must agree, and verify to 0.
    #[track_caller]
    fn agrees_with_etherparse(src: IpAddr, dst: IpAddr) -> Vec<u8> {
        let header = etherparse::TcpHeader::new(40000, 7, 1234, 65535);
        let payload = b"hello, odd length";
        let expected = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                header.calc_checksum_ipv4_raw(s.octets(), d.octets(), payload)
            }
            _ => header.calc_checksum_ipv6_raw(mapped(src).octets(), mapped(dst).octets(), payload),
        }
        .unwrap();
        let mut segment = header.to_bytes().to_vec();
        segment.extend_from_slice(payload);
        assert_eq!(tcp_checksum(src, dst, &segment), expected);
        segment[16..18].copy_from_slice(&expected.to_be_bytes());
        assert_eq!(tcp_checksum(src, dst, &segment), 0);
        segment
    }

    #[test]
    fn tcp_checksum_matches_etherparse_header_checksum() {
        agrees_with_etherparse([192, 0, 2, 1].into(), [192, 0, 2, 2].into());
    }

    #[test]
    fn tcp_checksum_over_ipv6_matches_etherparse_rfc8200_s8_1() {
        let src: IpAddr = "2001:db8::1".parse().unwrap();
        let dst: IpAddr = "2001:db8::2".parse().unwrap();
        let segment = agrees_with_etherparse(src, dst);
        // The same bytes do not verify over IPv4's pseudo-header.
        let v4 = Ipv4Addr::new(192, 0, 2, 1);
        assert_ne!(tcp_checksum(v4, Ipv4Addr::new(192, 0, 2, 2), &segment), 0);
    }
}
