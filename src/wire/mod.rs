//! Packet formats: IPv4 (and its fragments), IPv6 (with its extension
//! headers), TCP (with options), ICMP and ICMPv6 echo and the errors that
//! quote a TCP segment, plus the wrapping sequence-number type.
//!
//! # The parsing rule
//!
//! Bytes from the network are untrusted. They are checked here, once, by the
//! `parse` functions (lengths, versions, checksums, option lengths) and turned
//! into small plain structs (`Ipv4Repr`, `TcpSegment`, `EchoRequest`). After
//! that nothing above this layer indexes raw bytes, so nothing above can panic
//! on them. A packet that fails a check comes back as a [`WireError`] that says
//! why, so the engine can log and count the drop.
//!
//! Emitting goes the other way: the engine fills a repr and the `emit`
//! functions write header bytes and checksums into the caller's buffer.

pub mod checksum;
pub mod ecn;
pub mod icmp;
pub mod icmp_error;
pub mod icmpv6;
pub mod ipv4;
pub mod ipv6;
pub mod options;
pub mod seq;
pub mod tcp;

pub use ecn::Ecn;
pub use icmp::EchoRequest;
pub use icmp_error::{ErrorHead, IcmpError, IcmpErrorMessage, QuotedTcp};
pub use icmpv6::{Icmpv6Message, NeighbourDiscovery};
pub use ipv4::{IpSendFields, Ipv4Fragment, Ipv4Repr, IPV4_HEADER_LEN, PROTO_ICMP, PROTO_TCP};
pub use ipv6::{
    Ipv6Datagram, Ipv6Repr, UnknownOption, UnknownOptionAction, IPV6_HEADER_LEN, PROTO_ICMPV6,
};
pub use options::{SackBlock, SackBlocks, TcpOptions, Timestamps};
pub use seq::SeqNum;
pub use tcp::{TcpFlags, TcpHeader, TcpSegment, TCP_HEADER_LEN};

use std::fmt;

/// Why a packet was refused by the parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// Fewer bytes than the headers (or a length field) promise.
    Truncated,
    /// IP version other than 4.
    NotIpv4,
    /// IP version other than 6.
    NotIpv6,
    /// An IPv6 payload length that disagrees with the bytes that came
    /// (more bytes than it says; fewer is [`WireError::Truncated`]), or a
    /// zero length that is no jumbogram.
    BadPayloadLength,
    /// An IPv6 Fragment header (RFC 8200 §4.5): IPv6 reassembly is not
    /// implemented, so fragments are dropped and counted.
    Ipv6Fragment,
    /// An IPv6 Jumbo Payload option (RFC 2675): more than a TUN MTU.
    Jumbogram,
    /// An IPv6 option we do not recognize whose type says to discard the
    /// packet (RFC 8200 §4.2).
    Ipv6UnknownOption,
    /// An IPv6 extension-header chain longer than we walk, or out of the
    /// order RFC 8200 §4.1 requires (Hop-by-Hop not first).
    ExtensionChain,
    /// Header length field smaller than the fixed header.
    BadHeaderLength,
    /// Header (IPv4) or whole-segment (TCP, ICMP) checksum does not verify.
    BadChecksum,
    /// An IPv4 fragment: whole datagrams only here; the engine's
    /// reassembly takes fragments ([`Ipv4Fragment`]).
    Fragment,
    /// An IPv4 source route option (RFC 791 §3.1, LSRR or SSRR). A TUN
    /// stack has no route of its own to reverse (the kernel routes for
    /// it), and source routing is a known spoofing tool (RFC 7126 §4.3, §4.4),
    /// so such datagrams are refused (RFC 9293 MUST-51..53 not met).
    SourceRoute,
    /// A TCP option whose length byte is impossible (RFC 9293 MUST-7).
    BadOption,
    /// Not a message we handle (ICMP types other than echo request...).
    Unsupported,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            WireError::Truncated => "truncated packet",
            WireError::NotIpv4 => "not IPv4",
            WireError::NotIpv6 => "not IPv6",
            WireError::BadPayloadLength => "IPv6 payload length disagrees with the packet",
            WireError::Ipv6Fragment => "IPv6 fragment (no IPv6 reassembly)",
            WireError::Jumbogram => "IPv6 jumbogram",
            WireError::Ipv6UnknownOption => "IPv6 option not recognized, to discard",
            WireError::ExtensionChain => "IPv6 extension header chain refused",
            WireError::BadHeaderLength => "bad header length",
            WireError::BadChecksum => "bad checksum",
            WireError::Fragment => "IPv4 fragment",
            WireError::SourceRoute => "IPv4 source route refused",
            WireError::BadOption => "illegal TCP option length",
            WireError::Unsupported => "unsupported message",
        };
        f.write_str(text)
    }
}

impl std::error::Error for WireError {}
