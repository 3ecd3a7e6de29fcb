//! The Internet checksum (RFC 1071), computed by etherparse's
//! `Sum16BitWords`: the ones' complement of the ones' complement sum of
//! 16-bit words. IPv4 covers its header with it; TCP covers a pseudo-header
//! (addresses, protocol, length), its header and its data (RFC 9293 §3.1).

use std::net::Ipv4Addr;

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
pub fn tcp_checksum(src: Ipv4Addr, dst: Ipv4Addr, segment: &[u8]) -> u16 {
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

    #[test]
    fn tcp_checksum_matches_etherparse_header_checksum() {
        let src = Ipv4Addr::new(192, 0, 2, 1);
        let dst = Ipv4Addr::new(192, 0, 2, 2);
        let header = etherparse::TcpHeader::new(40000, 7, 1234, 65535);
        let payload = b"hello, odd length";
        let expected = header
            .calc_checksum_ipv4_raw(src.octets(), dst.octets(), payload)
            .unwrap();
        let mut segment = header.to_bytes().to_vec();
        segment.extend_from_slice(payload);
        assert_eq!(tcp_checksum(src, dst, &segment), expected);
        segment[16..18].copy_from_slice(&expected.to_be_bytes());
        assert_eq!(tcp_checksum(src, dst, &segment), 0);
    }
}
