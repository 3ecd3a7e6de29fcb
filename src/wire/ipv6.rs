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
//! An option we do not recognize is skipped or not as its type's two
//! highest-order bits say (§4.2); [`Ipv6Repr::parse_datagram`] reports the
//! first one not to skip, with where it is, and where the Next Header
//! field naming the upper layer is: the pointers of RFC 4443 §3.4's
//! Parameter Problem, which the stack sends.
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

/// RFC 8200 §4.7: "No Next Header": nothing follows.
pub const NO_NEXT_HEADER: u8 = 59;

/// Extension headers (RFC 8200 §4.1, IANA "IPv6 Extension Header Types").
const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const AUTHENTICATION: u8 = 51;
const DESTINATION_OPTIONS: u8 = 60;
/// RFC 2675 §2: the Jumbo Payload option's type.
const OPTION_JUMBO: u8 = 0xc2;
const OPTION_PAD1: u8 = 0;
const OPTION_PADN: u8 = 1;

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
    /// payload: [`Ipv6Repr::parse_datagram`], with a packet an option
    /// says to discard refused ([`WireError::Ipv6UnknownOption`]).
    pub fn parse(packet: &[u8]) -> Result<(Ipv6Repr, &[u8]), WireError> {
        let datagram = Ipv6Repr::parse_datagram(packet)?;
        if datagram.unknown_option.is_some() {
            return Err(WireError::Ipv6UnknownOption);
        }
        Ok((datagram.ip, datagram.payload))
    }

    /// Checks an IPv6 packet and returns its header, its upper-layer
    /// payload, where the Next Header field naming that payload is, and
    /// the first option whose type says to discard the packet. The
    /// payload length must match what arrived exactly: fewer bytes are
    /// [`WireError::Truncated`], more are [`WireError::BadPayloadLength`]
    /// (a TUN device carries no padding).
    pub fn parse_datagram(packet: &[u8]) -> Result<Ipv6Datagram<'_>, WireError> {
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
        let chain = walk_extensions(header.next_header().0, scope)?;
        if jumbo_candidate {
            // A zero length without the option: nothing can follow it.
            return Err(WireError::BadPayloadLength);
        }
        let ip = Ipv6Repr {
            src: header.source_addr(),
            dst: header.destination_addr(),
            protocol: chain.protocol,
            hop_limit: header.hop_limit(),
            ecn: Ecn::from_bits(header.traffic_class()),
            payload_len: payload_len - chain.offset,
        };
        Ok(Ipv6Datagram {
            ip,
            payload: &scope[chain.offset..],
            next_header_at: chain.next_header_at,
            unknown_option: chain.unknown_option,
        })
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

/// A checked IPv6 packet, as [`Ipv6Repr::parse_datagram`] finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Datagram<'a> {
    pub ip: Ipv6Repr,
    /// The upper-layer header and data.
    pub payload: &'a [u8],
    /// Offset in the packet of the Next Header field that names
    /// `ip.protocol`: RFC 4443 §3.4's pointer if we do not know it.
    pub next_header_at: u32,
    /// RFC 8200 §4.2: the first option we do not know whose type says
    /// the packet must be discarded. The rest of the chain is still
    /// walked, so the stack can tell an ICMPv6 error (about which no
    /// error is sent, RFC 4443 §2.4 (e.1)).
    pub unknown_option: Option<UnknownOption>,
}

/// An option of a Hop-by-Hop or Destination Options header we do not
/// recognize, whose type's two highest-order bits are not 00 (skip).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownOption {
    /// Offset of the option's type byte in the packet (RFC 4443 §3.4).
    pub pointer: u32,
    pub action: UnknownOptionAction,
}

/// RFC 8200 §4.2: what an unrecognized option's type asks of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownOptionAction {
    /// 01: discard the packet.
    Discard,
    /// 10: discard it and send a Parameter Problem, Code 2, "regardless
    /// of whether or not the packet's Destination Address was a
    /// multicast address".
    Report,
    /// 11: the same, "only if the packet's Destination Address was not a
    /// multicast address".
    ReportUnlessMulticast,
}

impl UnknownOptionAction {
    fn of(kind: u8) -> Option<UnknownOptionAction> {
        match kind >> 6 {
            0b00 => None,
            0b01 => Some(UnknownOptionAction::Discard),
            0b10 => Some(UnknownOptionAction::Report),
            _ => Some(UnknownOptionAction::ReportUnlessMulticast),
        }
    }
}

/// Where the extension chain led: the upper-layer protocol, where its
/// header starts (after the fixed header) and where the Next Header field
/// naming it is (from the packet's start).
struct Chain {
    protocol: u8,
    offset: usize,
    next_header_at: u32,
    unknown_option: Option<UnknownOption>,
}

/// Offset of the fixed header's Next Header field (RFC 8200 §3).
const FIXED_NEXT_HEADER_AT: usize = 6;

/// Follows the chain from `next` through `bytes` (what follows the fixed
/// header) to the upper-layer protocol. Every extension header starts
/// with its Next Header byte (RFC 8200 §4.1, RFC 4302 §2).
fn walk_extensions(mut next: u8, bytes: &[u8]) -> Result<Chain, WireError> {
    let mut offset = 0;
    let mut next_header_at = FIXED_NEXT_HEADER_AT;
    let mut unknown_option = None;
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
                if let Some((at, action)) = check_extension(next, ext.payload())? {
                    let pointer = IPV6_HEADER_LEN + offset + 2 + at;
                    unknown_option.get_or_insert(UnknownOption {
                        pointer: pointer as u32,
                        action,
                    });
                }
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
            protocol => {
                return Ok(Chain {
                    protocol,
                    offset,
                    next_header_at: next_header_at as u32,
                    unknown_option,
                })
            }
        };
        next_header_at = IPV6_HEADER_LEN + offset;
        offset += len;
    }
    Err(WireError::ExtensionChain)
}

/// What an extension header's contents may refuse: the Jumbo Payload
/// option (RFC 2675) in Hop-by-Hop options, a Routing header that would
/// have us forward (RFC 8200 §4.4: segments left not 0). For options
/// headers, the first unknown option that is not to be skipped: its
/// offset in `body` and what its type asks.
fn check_extension(
    kind: u8,
    body: &[u8],
) -> Result<Option<(usize, UnknownOptionAction)>, WireError> {
    match kind {
        // Routing: type, segments left, ... (body starts after the two
        // bytes etherparse already read).
        ROUTING if body.get(1).is_some_and(|&left| left != 0) => Err(WireError::SourceRoute),
        HOP_BY_HOP | DESTINATION_OPTIONS => scan_options(kind, body),
        _ => Ok(None),
    }
}

/// RFC 8200 §4.2: options are type-length-value, except Pad1 (one zero
/// byte), processed "strictly in the order they appear". We know Pad1,
/// PadN and (to refuse it) the Jumbo Payload; any other type's two
/// highest-order bits say what to do. A bad length ends the scan:
/// nothing more to understand.
fn scan_options(kind: u8, body: &[u8]) -> Result<Option<(usize, UnknownOptionAction)>, WireError> {
    let mut at = 0;
    while let Some(&option) = body.get(at) {
        if option == OPTION_PAD1 {
            at += 1;
            continue;
        }
        if option == OPTION_JUMBO && kind == HOP_BY_HOP {
            return Err(WireError::Jumbogram);
        }
        if option != OPTION_PADN {
            if let Some(action) = UnknownOptionAction::of(option) {
                return Ok(Some((at, action)));
            }
        }
        let Some(&len) = body.get(at + 1) else {
            return Ok(None);
        };
        at += 2 + usize::from(len);
    }
    Ok(None)
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
    fn unknown_options_and_next_headers_are_located_rfc8200_s4_2() {
        // Pad1, then an option of each action: 00 is skipped, the others
        // are reported at their type byte (40 + 2 + 1).
        for (kind, action) in [
            (0x1e, None),
            (0x5e, Some(UnknownOptionAction::Discard)),
            (0x9e, Some(UnknownOptionAction::Report)),
            (0xde, Some(UnknownOptionAction::ReportUnlessMulticast)),
        ] {
            let exts = [
                (HOP_BY_HOP, options_header(&[0, kind, 2, 0, 0])),
                (DESTINATION_OPTIONS, options_header(&[])),
            ];
            let bytes = packet(&exts, b"x");
            let datagram = Ipv6Repr::parse_datagram(&bytes).unwrap();
            let expected = action.map(|action| UnknownOption {
                pointer: 43,
                action,
            });
            assert_eq!(datagram.unknown_option, expected, "{kind:#x}");
            // The chain is walked on: the upper layer and the field that
            // names it (the Destination Options header's, at 48).
            assert_eq!((datagram.ip.protocol, datagram.next_header_at), (6, 48));
            assert_eq!(Ipv6Repr::parse(&bytes).is_ok(), action.is_none());
        }
        let bytes = packet(&[], b"x");
        let datagram = Ipv6Repr::parse_datagram(&bytes).unwrap();
        assert_eq!(datagram.next_header_at, 6);
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
