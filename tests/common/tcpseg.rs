//! TCP/IPv4 segments for the replay and differential tests: parse a packet
//! into plain fields, build one from a flags string, and rewrite the
//! acknowledgement numbers of a recorded one (with fresh checksums).
//!
//! Parsing goes through etherparse, independently of our own `wire/`, so a
//! bug in `wire/` cannot hide itself in the tests' view of the packets.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};

use etherparse::{Ipv4Header, PacketBuilder, TcpHeader, TcpOptionElement};

/// The fields of one TCP segment the tests reason about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seg {
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
    pub seq: u32,
    pub ack: u32,
    pub syn: bool,
    /// The ACK flag; `ack` is meaningful only when it is set.
    pub has_ack: bool,
    pub fin: bool,
    pub rst: bool,
    pub window: u16,
    pub payload: Vec<u8>,
}

impl Seg {
    /// `None` for anything that is not a well-formed TCP/IPv4 packet.
    pub fn parse(bytes: &[u8]) -> Option<Seg> {
        let (ip, rest) = Ipv4Header::from_slice(bytes).ok()?;
        if ip.protocol != etherparse::IpNumber::TCP {
            return None;
        }
        let ip_payload_len = usize::from(ip.total_len).checked_sub(ip.header_len())?;
        let rest = rest.get(..ip_payload_len)?;
        let (tcp, payload) = TcpHeader::from_slice(rest).ok()?;
        Some(Seg {
            src: SocketAddrV4::new(Ipv4Addr::from(ip.source), tcp.source_port),
            dst: SocketAddrV4::new(Ipv4Addr::from(ip.destination), tcp.destination_port),
            seq: tcp.sequence_number,
            ack: tcp.acknowledgment_number,
            syn: tcp.syn,
            has_ack: tcp.ack,
            fin: tcp.fin,
            rst: tcp.rst,
            window: tcp.window_size,
            payload: payload.to_vec(),
        })
    }

    /// Sequence space the segment occupies: SYN and FIN count one each
    /// (RFC 9293 §3.4).
    pub fn seq_len(&self) -> u32 {
        self.payload.len() as u32 + u32::from(self.syn) + u32::from(self.fin)
    }

    /// The control flags as letters, tcpdump style: "S.", "F.", "R", ".".
    pub fn flags(&self) -> String {
        let mut text = String::new();
        for (set, letter) in [(self.syn, 'S'), (self.fin, 'F'), (self.rst, 'R')] {
            if set {
                text.push(letter);
            }
        }
        if self.has_ack {
            text.push('.');
        }
        text
    }
}

impl fmt::Display for Seg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} > {} [{}] seq {} ack {} win {} len {}",
            self.src,
            self.dst,
            self.flags(),
            self.seq,
            self.ack,
            self.window,
            self.payload.len()
        )
    }
}

/// `packet` with its acknowledgement number, and the edges of any SACK
/// blocks (RFC 2018), passed through `map`; IPv4 and TCP checksums are
/// recomputed. Used to move a recorded peer's ACKs from the recorded
/// stack's sequence space into the replaying engine's.
pub fn rewrite_acks(packet: &[u8], map: impl Fn(u32) -> u32) -> Vec<u8> {
    let (ip, rest) = Ipv4Header::from_slice(packet).expect("an IPv4 packet");
    let tcp_len = usize::from(ip.total_len) - ip.header_len();
    let (mut tcp, payload) = TcpHeader::from_slice(&rest[..tcp_len]).expect("a TCP segment");
    if tcp.ack {
        tcp.acknowledgment_number = map(tcp.acknowledgment_number);
    }
    let options: Vec<TcpOptionElement> = tcp
        .options_iterator()
        .filter_map(Result::ok)
        .map(|option| match option {
            TcpOptionElement::SelectiveAcknowledgement(first, rest) => {
                let block = |(left, right): (u32, u32)| (map(left), map(right));
                TcpOptionElement::SelectiveAcknowledgement(block(first), rest.map(|b| b.map(block)))
            }
            other => other,
        })
        .collect();
    if options
        .iter()
        .any(|o| matches!(o, TcpOptionElement::SelectiveAcknowledgement(..)))
    {
        tcp.set_options(&options).expect("same options, same size");
    }
    tcp.checksum = tcp.calc_checksum_ipv4(&ip, payload).expect("small segment");
    let mut out = Vec::with_capacity(packet.len());
    ip.write(&mut out).expect("write to a Vec");
    tcp.write(&mut out).expect("write to a Vec");
    out.extend_from_slice(payload);
    out
}

/// A TCP/IPv4 packet from `src` to `dst`. `flags` holds the letters of the
/// flags to set: S(YN), A(CK), F(IN), R(ST), P(SH); `ack` is used when A is
/// among them.
#[allow(clippy::too_many_arguments)]
pub fn build(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    flags: &str,
    seq: u32,
    ack: u32,
    window: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut builder = PacketBuilder::ipv4(src.ip().octets(), dst.ip().octets(), 64).tcp(
        src.port(),
        dst.port(),
        seq,
        window,
    );
    for letter in flags.chars() {
        builder = match letter {
            'S' => builder.syn(),
            'A' => builder.ack(ack),
            'F' => builder.fin(),
            'R' => builder.rst(),
            'P' => builder.psh(),
            other => panic!("unknown TCP flag letter {other:?} in {flags:?}"),
        };
    }
    let mut packet = Vec::new();
    builder.write(&mut packet, payload).expect("write to a Vec");
    packet
}

/// `packet` with its TCP checksum broken (the IPv4 header stays valid).
pub fn with_bad_tcp_checksum(mut packet: Vec<u8>) -> Vec<u8> {
    let ip_header_len = usize::from(packet[0] & 0x0f) * 4;
    packet[ip_header_len + 16] ^= 0x5a;
    packet
}
