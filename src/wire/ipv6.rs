//! IPv6 headers (RFC 8200): checked parse and emit.
//!
//! etherparse reads the fixed 40-byte header (`Ipv6HeaderSlice`: version
//! and length) and the generic extension headers
//! (`Ipv6RawExtHeaderSlice`); we walk the extension chain ourselves, as
//! RFC 8200 §4 orders it, to the upper-layer header, with a bound on its
//! length so a chain of options cannot make us loop or read far.
//!
//! What we do not take is refused with its own [`WireError`], for the
//! engine to count:
//!
//! - a Fragment header (§4.5): no IPv6 reassembly here (yet). TCP never
//!   needs it from a peer that does path MTU discovery (RFC 8201), which
//!   every IPv6 sender must do or send at most 1280 bytes;
//! - a Jumbo Payload option (RFC 2675): a TUN device's MTU is below 64 KiB;
//! - a Routing header with segments left (§4.4): we are not the final
//!   destination, and we forward nothing;
//! - a chain longer than [`MAX_EXTENSION_HEADERS`], or a Hop-by-Hop header
//!   anywhere but first (§4.3: "MUST immediately follow the IPv6 header").
//!
//! ```text
//!  |Version| Traffic Class |           Flow Label                  |
//!  |         Payload Length        |  Next Header  |   Hop Limit   |
//!  |                   Source Address (128 bits)                   |
//!  |                Destination Address (128 bits)                 |
//! ```

use std::net::Ipv6Addr;

use etherparse::err::ipv6::{HeaderError, HeaderSliceError};
use etherparse::{IpNumber, Ipv6FlowLabel, Ipv6Header, Ipv6HeaderSlice, Ipv6RawExtHeaderSlice};

use super::ecn::Ecn;
use super::ipv4::IpSendFields;
use super::WireError;

pub const IPV6_HEADER_LEN: usize = Ipv6Header::LEN;
/// ICMPv6's next-header value (RFC 4443 §1).
pub const PROTO_ICMPV6: u8 = 58;

/// Extension headers (RFC 8200 §4.1, IANA "IPv6 Extension Header Types").
const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const AUTHENTICATION: u8 = 51;
const DESTINATION_OPTIONS: u8 = 60;
/// RFC 2675 §2: the Jumbo Payload option's type.
const OPTION_JUMBO: u8 = 0xc2;
const OPTION_PAD1: u8 = 0;

/// Most extension headers we walk before the upper-layer header. RFC 8200
/// §4.1 recommends at most one of each (Destination Options twice): six
/// kinds in all; a longer chain is no honest packet.
pub const MAX_EXTENSION_HEADERS: usize = 8;

/// The parts of an IPv6 header the engine uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Repr {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    /// The upper-layer protocol, after the extension headers.
    pub protocol: u8,
    pub hop_limit: u8,
    /// The ECN codepoint (RFC 3168 §5, the low bits of the Traffic Class)
    /// of a parsed header; when emitting, [`IpSendFields::tos`] holds it.
    pub ecn: Ecn,
    /// Length of the upper-layer data (after the extension headers).
    pub payload_len: usize,
}

impl Ipv6Repr {
    /// Checks an IPv6 packet and returns its header and upper-layer
    /// payload. The payload length must match what arrived exactly: fewer
    /// bytes are [`WireError::Truncated`], more are
    /// [`WireError::BadPayloadLength`] (a TUN device carries no padding).
    pub fn parse(packet: &[u8]) -> Result<(Ipv6Repr, &[u8]), WireError> {
        let header = Ipv6HeaderSlice::from_slice(packet).map_err(|err| match err {
            HeaderSliceError::Len(_) => WireError::Truncated,
            HeaderSliceError::Content(HeaderError::UnexpectedVersion { .. }) => WireError::NotIpv6,
        })?;
        let rest = &packet[IPV6_HEADER_LEN..];
        let payload_len = usize::from(header.payload_length());
        // RFC 2675 §3: a Payload Length of 0 with a Hop-by-Hop header is
        // a jumbogram; the walk below finds its option and refuses it.
        let jumbo_candidate = payload_len == 0 && header.next_header().0 == HOP_BY_HOP;
        if rest.len() < payload_len {
            return Err(WireError::Truncated);
        }
        if rest.len() > payload_len && !jumbo_candidate {
            return Err(WireError::BadPayloadLength);
        }
        let scope = if jumbo_candidate {
            rest
        } else {
            &rest[..payload_len]
        };
        let (protocol, offset) = walk_extensions(header.next_header().0, scope)?;
        if jumbo_candidate {
            // A zero length without the option: nothing can follow it.
            return Err(WireError::BadPayloadLength);
        }
        let repr = Ipv6Repr {
            src: header.source_addr(),
            dst: header.destination_addr(),
            protocol,
            hop_limit: header.hop_limit(),
            ecn: Ecn::from_bits(header.traffic_class()),
            payload_len: payload_len - offset,
        };
        Ok((repr, &scope[offset..]))
    }

    /// Writes the 40-byte fixed header into `buf[..40]`: no extension
    /// headers, flow label 0 (RFC 6437 allows it), the traffic class from
    /// `fields.tos` as IPv4's DiffServ byte (RFC 8200 §7: the same DSCP
    /// and ECN bits), the hop limit from `fields.ttl`.
    pub fn emit_with(&self, buf: &mut [u8], fields: IpSendFields) {
        let header = Ipv6Header {
            traffic_class: fields.tos,
            flow_label: Ipv6FlowLabel::ZERO,
            // Our packets are at most one MTU, far below the 16-bit limit.
            payload_length: self.payload_len as u16,
            next_header: IpNumber(self.protocol),
            hop_limit: fields.ttl,
            source: self.src.octets(),
            destination: self.dst.octets(),
        };
        buf[..IPV6_HEADER_LEN].copy_from_slice(&header.to_bytes());
    }
}

/// Follows the chain from `next` through `bytes` (what follows the fixed
/// header) to the upper-layer protocol; returns it and where its header
/// starts.
fn walk_extensions(mut next: u8, bytes: &[u8]) -> Result<(u8, usize), WireError> {
    let mut offset = 0;
    for index in 0..=MAX_EXTENSION_HEADERS {
        let rest = &bytes[offset..];
        let len = match next {
            HOP_BY_HOP | ROUTING | DESTINATION_OPTIONS => {
                if next == HOP_BY_HOP && index > 0 {
                    // RFC 8200 §4.3: only right after the IPv6 header.
                    return Err(WireError::ExtensionChain);
                }
                let ext =
                    Ipv6RawExtHeaderSlice::from_slice(rest).map_err(|_| WireError::Truncated)?;
                check_extension(next, ext.payload())?;
                next = ext.next_header().0;
                ext.slice().len()
            }
            // §4.5: a fragment. Its own header is fixed (8 bytes); we do
            // not put IPv6 datagrams back together.
            FRAGMENT => return Err(WireError::Ipv6Fragment),
            // RFC 4302 §2.2: Payload Len is in 4-octet units, minus 2.
            AUTHENTICATION => {
                let words = usize::from(*rest.get(1).ok_or(WireError::Truncated)?);
                let len = (words + 2) * 4;
                next = *rest.first().ok_or(WireError::Truncated)?;
                if rest.len() < len {
                    return Err(WireError::Truncated);
                }
                len
            }
            upper => return Ok((upper, offset)),
        };
        offset += len;
    }
    Err(WireError::ExtensionChain)
}

/// What an extension header's contents may refuse: the Jumbo Payload
/// option (RFC 2675) in Hop-by-Hop options, a Routing header that would
/// have us forward (RFC 8200 §4.4: segments left not 0).
fn check_extension(kind: u8, body: &[u8]) -> Result<(), WireError> {
    match kind {
        // Routing: type, segments left, ... (body starts after the two
        // bytes etherparse already read).
        ROUTING if body.get(1).is_some_and(|&left| left != 0) => Err(WireError::SourceRoute),
        HOP_BY_HOP if has_jumbo_option(body) => Err(WireError::Jumbogram),
        _ => Ok(()),
    }
}

/// RFC 8200 §4.2: options are type-length-value, except Pad1 (one zero
/// byte). A bad length ends the scan: nothing more to understand.
fn has_jumbo_option(mut options: &[u8]) -> bool {
    while let Some(&kind) = options.first() {
        if kind == OPTION_JUMBO {
            return true;
        }
        if kind == OPTION_PAD1 {
            options = &options[1..];
            continue;
        }
        let Some(&len) = options.get(1) else {
            return false;
        };
        let skip = 2 + usize::from(len);
        if skip > options.len() {
            return false;
        }
        options = &options[skip..];
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    const B: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

    /// A packet with `exts` (each: kind, raw bytes with their own next
    /// header byte set by this function) before `payload` of protocol 6.
    fn packet(exts: &[(u8, Vec<u8>)], payload: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        for (i, (_, raw)) in exts.iter().enumerate() {
            let mut raw = raw.clone();
            raw[0] = exts.get(i + 1).map_or(6, |(kind, _)| *kind);
            body.extend_from_slice(&raw);
        }
        body.extend_from_slice(payload);
        let mut buf = vec![0u8; IPV6_HEADER_LEN + body.len()];
        let repr = Ipv6Repr {
            src: A,
            dst: B,
            protocol: exts.first().map_or(6, |(kind, _)| *kind),
            hop_limit: 64,
            ecn: Ecn::NotEct,
            payload_len: body.len(),
        };
        repr.emit_with(&mut buf, IpSendFields::default());
        buf[IPV6_HEADER_LEN..].copy_from_slice(&body);
        buf
    }

    /// An 8-byte options header (Hop-by-Hop or Destination) padded with PadN.
    fn options_header(option: &[u8]) -> Vec<u8> {
        let mut raw = vec![0, 0];
        raw.extend_from_slice(option);
        let pad = 8 - raw.len();
        if pad > 0 {
            raw.extend_from_slice(&[1, (pad - 2) as u8]);
            raw.resize(8, 0);
        }
        raw
    }

    #[test]
    fn fixed_header_round_trips_through_etherparse() {
        let bytes = packet(&[], b"tcp bytes");
        let (repr, payload) = Ipv6Repr::parse(&bytes).unwrap();
        assert_eq!((repr.src, repr.dst, repr.protocol), (A, B, 6));
        assert_eq!((repr.hop_limit, repr.payload_len), (64, 9));
        assert_eq!(payload, b"tcp bytes");
        let (header, _) = Ipv6Header::from_slice(&bytes).unwrap();
        assert_eq!(header.payload_length, 9);
        assert_eq!(header.traffic_class, 0);
    }

    #[test]
    fn traffic_class_carries_the_diffserv_byte_rfc8200_s7() {
        let mut buf = [0u8; 40];
        let fields = IpSendFields {
            tos: 0xb8,
            ttl: 7,
            ..IpSendFields::default()
        };
        Ipv6Repr {
            src: A,
            dst: B,
            protocol: 6,
            hop_limit: 0,
            ecn: Ecn::NotEct,
            payload_len: 0,
        }
        .emit_with(&mut buf, fields);
        let (header, _) = Ipv6Header::from_slice(&buf).unwrap();
        assert_eq!((header.traffic_class, header.hop_limit), (0xb8, 7));
    }

    #[test]
    fn extension_headers_are_walked_to_the_upper_layer() {
        let hbh = options_header(&[]);
        let dst = options_header(&[]);
        // Routing type 4 (segment routing) with segments left 0: skipped.
        let routing = vec![0, 0, 4, 0, 0, 0, 0, 0];
        let exts = [
            (HOP_BY_HOP, hbh),
            (ROUTING, routing),
            (DESTINATION_OPTIONS, dst),
        ];
        let bytes = packet(&exts, b"abc");
        let (repr, payload) = Ipv6Repr::parse(&bytes).unwrap();
        assert_eq!(
            (repr.protocol, repr.payload_len, payload),
            (6, 3, &b"abc"[..])
        );
    }

    #[test]
    fn a_chain_past_the_limit_is_refused() {
        let exts: Vec<_> = (0..=MAX_EXTENSION_HEADERS)
            .map(|_| (DESTINATION_OPTIONS, options_header(&[])))
            .collect();
        assert_eq!(
            Ipv6Repr::parse(&packet(&exts, b"x")),
            Err(WireError::ExtensionChain)
        );
        let fits = &exts[..MAX_EXTENSION_HEADERS];
        assert!(Ipv6Repr::parse(&packet(fits, b"x")).is_ok());
    }

    #[test]
    fn hop_by_hop_after_another_header_is_refused_rfc8200_s4_3() {
        let exts = [
            (DESTINATION_OPTIONS, options_header(&[])),
            (HOP_BY_HOP, options_header(&[])),
        ];
        assert_eq!(
            Ipv6Repr::parse(&packet(&exts, b"x")),
            Err(WireError::ExtensionChain)
        );
    }

    #[test]
    fn fragments_jumbograms_and_routing_onwards_are_refused() {
        let fragment = vec![0, 0, 0, 1, 0, 0, 0, 7];
        let bytes = packet(&[(FRAGMENT, fragment)], b"x");
        assert_eq!(Ipv6Repr::parse(&bytes), Err(WireError::Ipv6Fragment));
        let routing = vec![0, 0, 4, 1, 0, 0, 0, 0];
        let bytes = packet(&[(ROUTING, routing)], b"x");
        assert_eq!(Ipv6Repr::parse(&bytes), Err(WireError::SourceRoute));
        let jumbo = options_header(&[OPTION_JUMBO, 4, 0, 1, 0, 0]);
        let mut bytes = packet(&[(HOP_BY_HOP, jumbo)], b"x");
        bytes[4..6].copy_from_slice(&[0, 0]);
        assert_eq!(Ipv6Repr::parse(&bytes), Err(WireError::Jumbogram));
    }

    #[test]
    fn lengths_must_match_what_arrived() {
        let bytes = packet(&[], b"abcd");
        assert_eq!(
            Ipv6Repr::parse(&bytes[..bytes.len() - 1]),
            Err(WireError::Truncated)
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(Ipv6Repr::parse(&longer), Err(WireError::BadPayloadLength));
        assert_eq!(Ipv6Repr::parse(&bytes[..39]), Err(WireError::Truncated));
        let mut zero = packet(&[(HOP_BY_HOP, options_header(&[]))], b"x");
        zero[4..6].copy_from_slice(&[0, 0]);
        assert_eq!(Ipv6Repr::parse(&zero), Err(WireError::BadPayloadLength));
        // An extension header cut short by the payload length.
        let mut short = packet(&[(DESTINATION_OPTIONS, options_header(&[]))], b"");
        short[4..6].copy_from_slice(&[0, 4]);
        short.truncate(44);
        assert_eq!(Ipv6Repr::parse(&short), Err(WireError::Truncated));
        let mut v4 = bytes;
        v4[0] = 0x45;
        assert_eq!(Ipv6Repr::parse(&v4), Err(WireError::NotIpv6));
    }
}
