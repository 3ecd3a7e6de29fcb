//! The Internet checksum (RFC 1071): the ones' complement of the ones'
//! complement sum of 16-bit words. IPv4 covers its header with it; TCP covers
//! a pseudo-header (addresses, protocol, length), its header and its data.

use std::net::Ipv4Addr;

/// Adds `data` to a running 32-bit sum as big-endian 16-bit words; an odd
/// last byte is padded with a zero byte on the right (RFC 9293 §3.1).
pub fn sum_words(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for pair in &mut chunks {
        sum = sum.wrapping_add(u32::from(u16::from_be_bytes([pair[0], pair[1]])));
    }
    if let [last] = chunks.remainder() {
        sum = sum.wrapping_add(u32::from(*last) << 8);
    }
    sum
}

/// The sum of the IPv4 pseudo-header that TCP's checksum covers
/// (RFC 9293 §3.1: source, destination, zero, protocol, TCP length).
pub fn pseudo_header_sum(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: usize) -> u32 {
    let mut sum = sum_words(0, &src.octets());
    sum = sum_words(sum, &dst.octets());
    sum = sum.wrapping_add(u32::from(protocol));
    // Segments never exceed the 16-bit IPv4 total length, so this fits.
    sum.wrapping_add(length as u32 & 0xffff)
}

/// Folds the carries back in and complements: the value to put on the wire.
/// Verifying a packet that includes its checksum field yields 0.
pub fn finish(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Checksum of a plain byte range (IPv4 header, ICMP message).
pub fn checksum(data: &[u8]) -> u16 {
    finish(sum_words(0, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example_sums_to_known_value() {
        // RFC 1071 §3 example: words 0001 f203 f4f5 f6f7 sum to ddf2 (before complement).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(finish(sum_words(0, &data)), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(checksum(&[0x12]), checksum(&[0x12, 0x00]));
    }

    #[test]
    fn data_including_its_checksum_verifies_to_zero() {
        let mut data = [0x45, 0x00, 0x00, 0x1c, 0x12, 0x34, 0x00, 0x00, 0x40, 0x06];
        let sum = checksum(&data);
        data[6..8].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(checksum(&data), 0);
    }
}
