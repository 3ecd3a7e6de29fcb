//! One TCP segment of a replay, as plain fields, and the one change a
//! replay makes to the peer's packets: moving their acknowledgement numbers
//! into the replaying engine's sequence space.
//!
//! Parsing goes through etherparse, not our own `wire/`: the replay judges
//! our engine, so a bug in `wire/` must not be able to hide itself in the
//! replay's view of the packets.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use etherparse::{IpNumber, IpSlice, TcpHeader, TcpOptionElement};

/// A TCP option a learner may want to see (RFC 9293 §3.2, RFC 7323,
/// RFC 2018). NOPs and unknown options are left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SegOption {
    Mss(u16),
    WindowScale(u8),
    SackPermitted,
    /// SACK blocks, (left, right) sequence numbers as sent.
    Sack(Vec<(u32, u32)>),
    Timestamp {
        value: u32,
        echo: u32,
    },
}

/// The fields of one TCP segment the replay reasons about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    /// Meaningful only when `has_ack` is set.
    pub ack: u32,
    pub syn: bool,
    /// The ACK flag.
    pub has_ack: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
    /// The window field as sent (not scaled).
    pub window: u16,
    pub options: Vec<SegOption>,
    pub payload: Vec<u8>,
}

impl Segment {
    /// `None` for anything that is not a well-formed TCP/IPv4 or TCP/IPv6
    /// packet.
    pub fn parse(bytes: &[u8]) -> Option<Segment> {
        let (ip, rest) = tcp_in_ip(bytes)?;
        let (tcp, payload) = TcpHeader::from_slice(rest).ok()?;
        Some(Segment {
            src: SocketAddr::new(ip.source_addr(), tcp.source_port),
            dst: SocketAddr::new(ip.destination_addr(), tcp.destination_port),
            seq: tcp.sequence_number,
            ack: tcp.acknowledgment_number,
            syn: tcp.syn,
            has_ack: tcp.ack,
            fin: tcp.fin,
            rst: tcp.rst,
            psh: tcp.psh,
            window: tcp.window_size,
            options: tcp
                .options_iterator()
                .filter_map(Result::ok)
                .filter_map(seg_option)
                .collect(),
            payload: payload.to_vec(),
        })
    }

    /// Sequence space the segment occupies: SYN and FIN count one each
    /// (RFC 9293 §3.4).
    pub fn seq_len(&self) -> u32 {
        self.payload.len() as u32 + u32::from(self.syn) + u32::from(self.fin)
    }

    /// The control flags as tcpdump writes them: "S.", "F.", "R", ".".
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

    /// The control flags as Wireshark names them, in its order:
    /// "FIN,ACK", "SYN,ACK", "PSH,ACK", "RST".
    pub fn flag_names(&self) -> String {
        let flags = [
            (self.fin, "FIN"),
            (self.syn, "SYN"),
            (self.rst, "RST"),
            (self.psh, "PSH"),
            (self.has_ack, "ACK"),
        ];
        let names: Vec<&str> = flags
            .iter()
            .filter(|(set, _)| *set)
            .map(|(_, name)| *name)
            .collect();
        names.join(",")
    }
}

fn seg_option(option: TcpOptionElement) -> Option<SegOption> {
    Some(match option {
        TcpOptionElement::Noop => return None,
        TcpOptionElement::MaximumSegmentSize(mss) => SegOption::Mss(mss),
        TcpOptionElement::WindowScale(shift) => SegOption::WindowScale(shift),
        TcpOptionElement::SelectiveAcknowledgementPermitted => SegOption::SackPermitted,
        TcpOptionElement::SelectiveAcknowledgement(first, rest) => SegOption::Sack(
            std::iter::once(first)
                .chain(rest.into_iter().flatten())
                .collect(),
        ),
        TcpOptionElement::Timestamp(value, echo) => SegOption::Timestamp { value, echo },
    })
}

impl fmt::Display for Segment {
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

/// The IP header (either family; IPv6 extension headers walked) and the
/// TCP segment after it, as long as the IP length field says. `None` if
/// the packet is malformed, a fragment, or not TCP.
fn tcp_in_ip(bytes: &[u8]) -> Option<(IpSlice<'_>, &[u8])> {
    let ip = IpSlice::from_slice(bytes).ok()?;
    let payload = ip.payload();
    if payload.ip_number != IpNumber::TCP || payload.fragmented {
        return None;
    }
    let segment = payload.payload;
    Some((ip, segment))
}

/// `packet` with its acknowledgement number, and the edges of any SACK
/// blocks (RFC 2018), passed through `map`; the TCP checksum is
/// recomputed over the pseudo-header of the packet's family (the IP header
/// does not change). `None` if `packet` is not TCP over IP.
pub fn rewrite_acks(packet: &[u8], map: impl Fn(u32) -> u32) -> Option<Vec<u8>> {
    let (ip, segment) = tcp_in_ip(packet)?;
    let (mut tcp, payload) = TcpHeader::from_slice(segment).ok()?;
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
        // Same options with other numbers: the same size, so this fits.
        tcp.set_options(&options).ok()?;
    }
    tcp.checksum = match (ip.source_addr(), ip.destination_addr()) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            tcp.calc_checksum_ipv4_raw(src.octets(), dst.octets(), payload)
        }
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            tcp.calc_checksum_ipv6_raw(src.octets(), dst.octets(), payload)
        }
        _ => return None,
    }
    .ok()?;
    // The IP header (and any IPv6 extension headers) ends where the TCP
    // segment starts in `packet`.
    let ip_header_len = segment.as_ptr() as usize - packet.as_ptr() as usize;
    let mut out = Vec::with_capacity(packet.len());
    out.extend_from_slice(&packet[..ip_header_len]);
    tcp.write(&mut out).ok()?;
    out.extend_from_slice(payload);
    Some(out)
}
