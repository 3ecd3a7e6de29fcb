//! IPv4 headers (RFC 791): checked parse and emit.
//!
//! We check what RFC 1122 §3.2.1 asks a host to check (version, header
//! length, total length, header checksum). Fragments are refused by
//! [`Ipv4Repr::parse`] and read by [`Ipv4Fragment::parse`] instead, for
//! the engine's reassembly (RFC 791, RFC 815). IP options are skipped
//! (RFC 9293 MUST-50: "ignore options that it does not understand"),
//! except source routes, which a TUN stack refuses (see
//! [`WireError::SourceRoute`]).

use std::net::Ipv4Addr;

use etherparse::err::ipv4::{HeaderError, HeaderSliceError};
use etherparse::{IpDscp, IpEcn, IpNumber, Ipv4Header, Ipv4HeaderSlice};

use super::checksum;
use super::ecn::Ecn;
use super::WireError;

pub const IPV4_HEADER_LEN: usize = 20;
pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;

/// Time to live of packets we send (the Linux default).
pub const DEFAULT_TTL: u8 = 64;

/// The parts of an IPv4 header the engine uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Repr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    pub ttl: u8,
    /// The ECN codepoint (RFC 3168 §5) of a parsed header; when emitting,
    /// [`IpSendFields::tos`] holds it instead.
    pub ecn: Ecn,
    /// Length of what follows the header (total length - header length).
    pub payload_len: usize,
}

impl Ipv4Repr {
    /// Checks an IPv4 packet and returns its header and payload. Bytes past
    /// the total length (link padding) are cut off.
    ///
    /// etherparse checks the version, the header length and that the
    /// header's bytes are there; we add what it leaves to the caller: the
    /// total length, the header checksum and the fragment fields.
    pub fn parse(packet: &[u8]) -> Result<(Ipv4Repr, &[u8]), WireError> {
        let header = Ipv4HeaderSlice::from_slice(packet).map_err(|err| match err {
            HeaderSliceError::Len(_) => WireError::Truncated,
            HeaderSliceError::Content(HeaderError::UnexpectedVersion { .. }) => WireError::NotIpv4,
            HeaderSliceError::Content(HeaderError::HeaderLengthSmallerThanHeader { .. }) => {
                WireError::BadHeaderLength
            }
        })?;
        let header_len = header.slice().len();
        let total_len = usize::from(header.total_len());
        if total_len < header_len {
            return Err(WireError::BadHeaderLength);
        }
        if packet.len() < total_len {
            return Err(WireError::Truncated);
        }
        if checksum::checksum(header.slice()) != 0 {
            return Err(WireError::BadChecksum);
        }
        if has_source_route(header.options()) {
            return Err(WireError::SourceRoute);
        }
        if header.is_fragmenting_payload() {
            return Err(WireError::Fragment);
        }
        let repr = Ipv4Repr {
            src: header.source_addr(),
            dst: header.destination_addr(),
            protocol: header.protocol().0,
            ttl: header.ttl(),
            ecn: Ecn::from_bits(header.ecn().value()),
            payload_len: total_len - header_len,
        };
        Ok((repr, &packet[header_len..total_len]))
    }

    /// Writes a 20-byte header (no options, DF set, identification 0 as
    /// RFC 6864 allows for atomic datagrams) into `buf[..20]`.
    pub fn emit(&self, buf: &mut [u8]) {
        self.emit_with(buf, IpSendFields::default());
    }

    /// [`Ipv4Repr::emit`] with a connection's own DiffServ byte and DF bit
    /// (the TTL is the repr's).
    /// Without DF the identification is still 0: RFC 6864 §4.1 wants a
    /// unique one then, which a datagram we never fragment ourselves only
    /// needs if a router does; RFC 1191 §3 lets us clear DF only below
    /// the smallest MTU we accept, where that is rare.
    pub fn emit_with(&self, buf: &mut [u8], fields: IpSendFields) {
        // Our packets are at most one MTU, far below the 16-bit limit.
        let payload_len = self.payload_len as u16;
        let mut header = Ipv4Header::new(
            payload_len,
            self.ttl,
            IpNumber(self.protocol),
            self.src.octets(),
            self.dst.octets(),
        )
        .expect("payload of one packet fits an IPv4 total length");
        header.dont_fragment = fields.dont_fragment;
        // RFC 2474 §3: the DS field is the upper six bits (DSCP), RFC 3168
        // §5 the lower two (ECN). `>>`/`&` keep each in range.
        header.dscp = IpDscp::try_new(fields.tos >> 2).unwrap_or(IpDscp::ZERO);
        header.ecn = IpEcn::try_new(fields.tos & 0b11).unwrap_or(IpEcn::ZERO);
        header.header_checksum = header.calc_header_checksum();
        buf[..IPV4_HEADER_LEN].copy_from_slice(&header.to_bytes());
    }
}

/// The IPv4 header fields a connection chooses for what it sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpSendFields {
    /// The DiffServ field (RFC 2474: DSCP << 2) with the ECN bits (RFC
    /// 3168), the old TOS byte (RFC 9293 §3.9.1.9, MUST-48).
    pub tos: u8,
    /// Don't Fragment: set while we do path MTU discovery (RFC 1191).
    pub dont_fragment: bool,
    /// Time to live (RFC 9293 MUST-49: configurable).
    pub ttl: u8,
}

impl Default for IpSendFields {
    fn default() -> IpSendFields {
        IpSendFields {
            tos: 0,
            dont_fragment: true,
            ttl: DEFAULT_TTL,
        }
    }
}

/// Loose (131) and strict (137) source route options (RFC 791 §3.1).
const OPTION_LSRR: u8 = 131;
const OPTION_SSRR: u8 = 137;
const OPTION_END: u8 = 0;
const OPTION_NOP: u8 = 1;

/// Whether the header's options hold a source route. Other options are
/// skipped whatever they are (MUST-50); a malformed length ends the scan,
/// as there is nothing more to understand.
fn has_source_route(mut options: &[u8]) -> bool {
    while let Some(&kind) = options.first() {
        match kind {
            OPTION_END => return false,
            OPTION_NOP => options = &options[1..],
            OPTION_LSRR | OPTION_SSRR => return true,
            _ => {
                let len = options.get(1).map_or(0, |&len| usize::from(len));
                if len < 2 || len > options.len() {
                    return false;
                }
                options = &options[len..];
            }
        }
    }
    false
}

/// One fragment of a datagram (RFC 791 §2.3 "Fragmentation"), checked
/// as [`Ipv4Repr::parse`] checks whole datagrams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Fragment<'a> {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    pub ttl: u8,
    pub ident: u16,
    /// Where this fragment's data starts in the datagram's payload, bytes.
    pub offset: usize,
    /// More Fragments: this is not the last one.
    pub more: bool,
    pub payload: &'a [u8],
}

impl<'a> Ipv4Fragment<'a> {
    /// A fragment, or [`WireError::Unsupported`] for a whole datagram.
    pub fn parse(packet: &'a [u8]) -> Result<Ipv4Fragment<'a>, WireError> {
        match Ipv4Repr::parse(packet) {
            Err(WireError::Fragment) => {}
            Err(other) => return Err(other),
            Ok(_) => return Err(WireError::Unsupported),
        }
        // Checked by `parse` above: the header is whole and valid.
        let header = Ipv4HeaderSlice::from_slice(packet).map_err(|_| WireError::Truncated)?;
        let header_len = header.slice().len();
        let total_len = usize::from(header.total_len());
        Ok(Ipv4Fragment {
            src: header.source_addr(),
            dst: header.destination_addr(),
            protocol: header.protocol().0,
            ttl: header.ttl(),
            ident: header.identification(),
            offset: usize::from(header.fragments_offset().value()) * 8,
            more: header.more_fragments(),
            payload: &packet[header_len..total_len],
        })
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
            ecn: crate::wire::Ecn::NotEct,
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
    fn emitted_header_sets_dont_fragment_and_ttl() {
        let buf = sample();
        assert_eq!(buf[6] & 0x40, 0x40, "DF set");
        assert_eq!(buf[8], 64);
        assert_eq!(checksum::checksum(&buf[..20]), 0);
    }

    #[test]
    fn fragments_are_refused_first_and_later_ones() {
        let mut first = sample();
        // Flags field: "more fragments" (0x2000), offset 0.
        first[6..8].copy_from_slice(&0x2000u16.to_be_bytes());
        refix_checksum(&mut first);
        assert_eq!(Ipv4Repr::parse(&first), Err(WireError::Fragment));
        let mut later = sample();
        later[6..8].copy_from_slice(&3u16.to_be_bytes());
        refix_checksum(&mut later);
        assert_eq!(Ipv4Repr::parse(&later), Err(WireError::Fragment));
    }
}
