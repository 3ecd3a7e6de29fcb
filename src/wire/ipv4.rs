//! IPv4 headers (RFC 791): checked parse and emit.
//!
//! We check what RFC 1122 §3.2.1 asks a host to check (version, header
//! length, total length, header checksum) and refuse fragments, because the
//! engine does not reassemble: a TCP stack that sends MSS-sized segments
//! with DF set should not receive any.

use std::net::Ipv4Addr;

use super::checksum;
use super::WireError;

pub const IPV4_HEADER_LEN: usize = 20;
pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;

/// Time to live of packets we send (the Linux default).
pub const DEFAULT_TTL: u8 = 64;

const FLAG_DONT_FRAGMENT: u16 = 0x4000;
const FLAG_MORE_FRAGMENTS: u16 = 0x2000;
const FRAGMENT_OFFSET_MASK: u16 = 0x1fff;

/// The parts of an IPv4 header the engine uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Repr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    pub ttl: u8,
    /// Length of what follows the header (total length - header length).
    pub payload_len: usize,
}

impl Ipv4Repr {
    /// Checks an IPv4 packet and returns its header and payload. Bytes past
    /// the total length (link padding) are cut off.
    pub fn parse(packet: &[u8]) -> Result<(Ipv4Repr, &[u8]), WireError> {
        if packet.len() < IPV4_HEADER_LEN {
            return Err(WireError::Truncated);
        }
        if packet[0] >> 4 != 4 {
            return Err(WireError::NotIpv4);
        }
        let header_len = usize::from(packet[0] & 0x0f) * 4;
        if header_len < IPV4_HEADER_LEN {
            return Err(WireError::BadHeaderLength);
        }
        let total_len = usize::from(u16::from_be_bytes([packet[2], packet[3]]));
        if total_len < header_len {
            return Err(WireError::BadHeaderLength);
        }
        if packet.len() < total_len {
            return Err(WireError::Truncated);
        }
        if checksum::checksum(&packet[..header_len]) != 0 {
            return Err(WireError::BadChecksum);
        }
        let flags_offset = u16::from_be_bytes([packet[6], packet[7]]);
        if flags_offset & FLAG_MORE_FRAGMENTS != 0 || flags_offset & FRAGMENT_OFFSET_MASK != 0 {
            return Err(WireError::Fragment);
        }
        let repr = Ipv4Repr {
            src: Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]),
            dst: Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]),
            protocol: packet[9],
            ttl: packet[8],
            payload_len: total_len - header_len,
        };
        Ok((repr, &packet[header_len..total_len]))
    }

    /// Writes a 20-byte header (no options, DF set, identification 0 as
    /// RFC 6864 allows for atomic datagrams) into `buf[..20]`.
    pub fn emit(&self, buf: &mut [u8]) {
        let total_len = (IPV4_HEADER_LEN + self.payload_len) as u16;
        let header = &mut buf[..IPV4_HEADER_LEN];
        header[0] = 0x45; // version 4, 5 words of header
        header[1] = 0; // DSCP/ECN
        header[2..4].copy_from_slice(&total_len.to_be_bytes());
        header[4..6].copy_from_slice(&[0, 0]);
        header[6..8].copy_from_slice(&FLAG_DONT_FRAGMENT.to_be_bytes());
        header[8] = self.ttl;
        header[9] = self.protocol;
        header[10..12].copy_from_slice(&[0, 0]);
        header[12..16].copy_from_slice(&self.src.octets());
        header[16..20].copy_from_slice(&self.dst.octets());
        let sum = checksum::checksum(header);
        header[10..12].copy_from_slice(&sum.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let repr = Ipv4Repr {
            src: Ipv4Addr::new(192, 0, 2, 1),
            dst: Ipv4Addr::new(192, 0, 2, 2),
            protocol: PROTO_TCP,
            ttl: 64,
            payload_len: 4,
        };
        let mut buf = vec![0u8; 24];
        repr.emit(&mut buf);
        buf[20..].copy_from_slice(b"abcd");
        buf
    }

    fn refix_checksum(buf: &mut [u8]) {
        buf[10..12].copy_from_slice(&[0, 0]);
        let header_len = usize::from(buf[0] & 0x0f) * 4;
        let sum = checksum::checksum(&buf[..header_len.min(buf.len())]);
        buf[10..12].copy_from_slice(&sum.to_be_bytes());
    }

    #[test]
    fn emitted_header_parses_back() {
        let buf = sample();
        let (repr, payload) = Ipv4Repr::parse(&buf).unwrap();
        assert_eq!(repr.src, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(repr.protocol, PROTO_TCP);
        assert_eq!(payload, b"abcd");
    }

    #[test]
    fn link_padding_after_total_length_is_cut_off() {
        let mut buf = sample();
        buf.extend_from_slice(&[0, 0, 0]);
        let (_, payload) = Ipv4Repr::parse(&buf).unwrap();
        assert_eq!(payload, b"abcd");
    }

    #[test]
    fn bad_checksum_is_refused() {
        let mut buf = sample();
        buf[10] ^= 0xff;
        assert_eq!(Ipv4Repr::parse(&buf), Err(WireError::BadChecksum));
    }

    #[test]
    fn wrong_version_is_refused() {
        let mut buf = sample();
        buf[0] = 0x65;
        assert_eq!(Ipv4Repr::parse(&buf), Err(WireError::NotIpv4));
    }

    #[test]
    fn header_length_below_five_words_is_refused() {
        let mut buf = sample();
        buf[0] = 0x44;
        assert_eq!(Ipv4Repr::parse(&buf), Err(WireError::BadHeaderLength));
    }

    #[test]
    fn total_length_beyond_the_bytes_is_truncated() {
        let mut buf = sample();
        buf[2..4].copy_from_slice(&100u16.to_be_bytes());
        refix_checksum(&mut buf);
        assert_eq!(Ipv4Repr::parse(&buf), Err(WireError::Truncated));
        assert_eq!(Ipv4Repr::parse(&buf[..10]), Err(WireError::Truncated));
    }

    #[test]
    fn total_length_below_header_length_is_refused() {
        let mut buf = sample();
        buf[2..4].copy_from_slice(&10u16.to_be_bytes());
        refix_checksum(&mut buf);
        assert_eq!(Ipv4Repr::parse(&buf), Err(WireError::BadHeaderLength));
    }

    #[test]
    fn fragments_are_refused_first_and_later_ones() {
        let mut first = sample();
        first[6..8].copy_from_slice(&FLAG_MORE_FRAGMENTS.to_be_bytes());
        refix_checksum(&mut first);
        assert_eq!(Ipv4Repr::parse(&first), Err(WireError::Fragment));
        let mut later = sample();
        later[6..8].copy_from_slice(&3u16.to_be_bytes());
        refix_checksum(&mut later);
        assert_eq!(Ipv4Repr::parse(&later), Err(WireError::Fragment));
    }
}
