//! One TCP segment of a replay, as plain fields, and the one change a
//! replay makes to the peer's packets: moving their acknowledgement numbers
//! into the replaying engine's sequence space.
//!
//! Parsing goes through etherparse, not our own `wire/`: the replay judges
//! our engine, so a bug in `wire/` must not be able to hide itself in the
//! replay's view of the packets.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};

use etherparse::{Ipv4Header, TcpHeader, TcpOptionElement};

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
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
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
    /// `None` for anything that is not a well-formed TCP/IPv4 packet.
    pub fn parse(bytes: &[u8]) -> Option<Segment> {
        let (ip, rest) = Ipv4Header::from_slice(bytes).ok()?;
        if ip.protocol != etherparse::IpNumber::TCP {
            return None;
        }
        let ip_payload_len = usize::from(ip.total_len).checked_sub(ip.header_len())?;
        let rest = rest.get(..ip_payload_len)?;
        let (tcp, payload) = TcpHeader::from_slice(rest).ok()?;
        Some(Segment {
            src: SocketAddrV4::new(Ipv4Addr::from(ip.source), tcp.source_port),
            dst: SocketAddrV4::new(Ipv4Addr::from(ip.destination), tcp.destination_port),
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

/// `packet` with its acknowledgement number, and the edges of any SACK
/// blocks (RFC 2018), passed through `map`; IPv4 and TCP checksums are
/// recomputed. `None` if `packet` is not TCP/IPv4.
pub fn rewrite_acks(packet: &[u8], map: impl Fn(u32) -> u32) -> Option<Vec<u8>> {
    let (ip, rest) = Ipv4Header::from_slice(packet).ok()?;
    let tcp_len = usize::from(ip.total_len).checked_sub(ip.header_len())?;
    let (mut tcp, payload) = TcpHeader::from_slice(rest.get(..tcp_len)?).ok()?;
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
    tcp.checksum = tcp.calc_checksum_ipv4(&ip, payload).ok()?;
    let mut out = Vec::with_capacity(packet.len());
    ip.write(&mut out).ok()?;
    tcp.write(&mut out).ok()?;
    out.extend_from_slice(payload);
    Some(out)
}
