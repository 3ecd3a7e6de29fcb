//! TCP segments (RFC 9293 §3.1): checked parse and emit.
//!
//! The fixed 20 bytes are read and written by etherparse
//! (`TcpHeaderSlice` checks the data offset against the bytes there;
//! `etherparse::TcpHeader` lays the fields out and computes the checksum).
//! The option bytes pass through raw, both ways, to and from our own
//! [`TcpOptions`] (see [`super::options`] for why we keep that parser).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Source Port          |       Destination Port        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        Sequence Number                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Acknowledgment Number                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Data |       |C|E|U|A|P|R|S|F|                               |
//! | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//! |       |       |R|E|G|K|H|T|N|N|                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Checksum            |         Urgent Pointer        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           [Options]                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use etherparse::err::tcp::{HeaderError, HeaderSliceError};
use etherparse::TcpHeaderSlice;

use super::checksum;
use super::ecn::Ecn;
use super::ipv4::{IpSendFields, Ipv4Repr, IPV4_HEADER_LEN, PROTO_TCP};
use super::ipv6::{Ipv6Repr, IPV6_HEADER_LEN};
use super::options::TcpOptions;
use super::seq::SeqNum;
use super::WireError;

/// Length of the fixed part of the header.
pub const TCP_HEADER_LEN: usize = etherparse::TcpHeader::MIN_LEN;

/// The control bits except ACK, which lives in [`TcpHeader::ack`] so that an
/// acknowledgement number can only be read when the ACK bit says it is valid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags {
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
    pub urg: bool,
    /// ECN-Echo (RFC 3168 §6.1): on a SYN, with CWR, "I do ECN"; on a
    /// SYN-ACK alone, "so do I"; later, "a packet of yours was CE-marked".
    pub ece: bool,
    /// Congestion Window Reduced (RFC 3168 §6.1.2): the sender answered
    /// an ECE; the receiver may stop echoing.
    pub cwr: bool,
}

/// A TCP header in plain fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpHeader {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: SeqNum,
    /// `Some` exactly when the ACK bit is set.
    pub ack: Option<SeqNum>,
    pub flags: TcpFlags,
    pub window: u16,
    pub urgent: u16,
    pub options: TcpOptions,
}

/// A parsed segment: header plus a view of the payload bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    pub header: TcpHeader,
    pub payload: &'a [u8],
    /// The ECN field of the IP header that carried it (RFC 3168 §6.1.3:
    /// TCP learns of a CE mark from IP). `parse` sees only TCP's bytes
    /// and says `NotEct`; the stack sets it from the IP header.
    pub ecn: Ecn,
}

impl TcpHeader {
    /// Header length including options.
    pub fn header_len(&self) -> usize {
        TCP_HEADER_LEN + self.options.len()
    }

    /// Writes header and checksum into `buf`, where the payload is already in
    /// place at `buf[self.header_len()..][..payload_len]`. Returns the segment
    /// length (header + payload).
    ///
    /// # Panics
    ///
    /// If the options take more than the 40 bytes a header has room for
    /// (the engine never builds such a header), or `buf` is too short.
    pub fn emit(
        &self,
        src: impl Into<IpAddr>,
        dst: impl Into<IpAddr>,
        buf: &mut [u8],
        payload_len: usize,
    ) -> usize {
        let header_len = self.header_len();
        let total = header_len + payload_len;
        let mut header = self.etherparse_header();
        // RFC 9293 §3.1: the checksum covers a pseudo-header (addresses,
        // protocol, TCP length), the header and the data; over IPv6 the
        // pseudo-header of RFC 8200 §8.1.
        let payload = &buf[header_len..total];
        header.checksum = match (src.into(), dst.into()) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                header.calc_checksum_ipv4_raw(src.octets(), dst.octets(), payload)
            }
            (src, dst) => {
                let (src, dst) = (checksum::mapped(src), checksum::mapped(dst));
                header.calc_checksum_ipv6_raw(src.octets(), dst.octets(), payload)
            }
        }
        .expect("one segment fits the 16-bit IP length");
        // `to_bytes` fills a stack array: nothing allocates per packet.
        buf[..header_len].copy_from_slice(&header.to_bytes());
        total
    }

    /// The same header as etherparse's struct, checksum not yet computed.
    /// The option bytes are the ones our own [`TcpOptions::emit`] lays out
    /// (aligned as Linux does), handed over raw.
    fn etherparse_header(&self) -> etherparse::TcpHeader {
        let options_len = self.options.len();
        assert!(
            options_len <= etherparse::TcpOptions::MAX_LEN,
            "TCP options take {options_len} bytes, more than the header has room for"
        );
        let mut raw = [0u8; etherparse::TcpOptions::MAX_LEN];
        self.options.emit(&mut raw);
        let options = etherparse::TcpOptions::try_from_slice(&raw[..options_len])
            .expect("checked above: the options fit");
        etherparse::TcpHeader {
            source_port: self.src_port,
            destination_port: self.dst_port,
            sequence_number: self.seq.0,
            // Zero when the ACK bit is clear: the field is then meaningless.
            acknowledgment_number: self.ack.unwrap_or_default().0,
            ack: self.ack.is_some(),
            syn: self.flags.syn,
            fin: self.flags.fin,
            rst: self.flags.rst,
            psh: self.flags.psh,
            urg: self.flags.urg,
            ece: self.flags.ece,
            cwr: self.flags.cwr,
            window_size: self.window,
            urgent_pointer: self.urgent,
            options,
            // NS (RFC 3540, historic) stays clear.
            ..etherparse::TcpHeader::default()
        }
    }
}

impl<'a> TcpSegment<'a> {
    /// Checks a TCP segment carried from `src` to `dst`: lengths, checksum
    /// over the pseudo-header (§3.1), and options.
    ///
    /// etherparse checks that the fixed header is there, that the data
    /// offset is at least 5 words and that the options it promises are
    /// there; we add the checksum and read the options ourselves (see
    /// [`super::options`] for why).
    pub fn parse(
        src: impl Into<IpAddr>,
        dst: impl Into<IpAddr>,
        bytes: &'a [u8],
    ) -> Result<TcpSegment<'a>, WireError> {
        let fixed = TcpHeaderSlice::from_slice(bytes).map_err(|err| match err {
            HeaderSliceError::Len(_) => WireError::Truncated,
            HeaderSliceError::Content(HeaderError::DataOffsetTooSmall { .. }) => {
                WireError::BadHeaderLength
            }
        })?;
        if checksum::tcp_checksum(src, dst, bytes) != 0 {
            return Err(WireError::BadChecksum);
        }
        let header = TcpHeader {
            src_port: fixed.source_port(),
            dst_port: fixed.destination_port(),
            seq: SeqNum(fixed.sequence_number()),
            ack: fixed.ack().then(|| SeqNum(fixed.acknowledgment_number())),
            flags: TcpFlags {
                syn: fixed.syn(),
                fin: fixed.fin(),
                rst: fixed.rst(),
                psh: fixed.psh(),
                urg: fixed.urg(),
                ece: fixed.ece(),
                cwr: fixed.cwr(),
            },
            window: fixed.window_size(),
            urgent: fixed.urgent_pointer(),
            options: TcpOptions::parse(fixed.options())?,
        };
        Ok(TcpSegment {
            header,
            payload: &bytes[fixed.slice().len()..],
            ecn: Ecn::NotEct,
        })
    }

    /// SEG.LEN of RFC 9293 §3.3.1: payload octets plus one each for SYN and FIN.
    pub fn seg_len(&self) -> usize {
        self.payload.len() + usize::from(self.header.flags.syn) + usize::from(self.header.flags.fin)
    }
}

/// Writes a whole IPv4 packet carrying `header` and `payload` into `buf` and
/// returns its length. For callers that have the payload in one slice
/// (tests, RSTs, the simulation harness); the engine writes data segments
/// in place to avoid a copy.
pub fn emit_ipv4_tcp(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    header: &TcpHeader,
    payload: &[u8],
    buf: &mut [u8],
) -> usize {
    emit_ip_tcp(src.into(), dst.into(), header, payload, buf)
}

/// Writes the TCP and IPv4 headers in front of `payload_len` bytes of
/// payload already in place in `buf` (right after where the headers go),
/// and returns the packet's length. The engine copies data segments from
/// its send buffer straight there, so they are never copied twice.
pub fn emit_ipv4_tcp_in_place(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    header: &TcpHeader,
    payload_len: usize,
    buf: &mut [u8],
) -> usize {
    let fields = IpSendFields::default();
    emit_ipv4_tcp_in_place_with(src, dst, header, payload_len, buf, fields)
}

/// [`emit_ipv4_tcp_in_place`] with a connection's IPv4 fields (DiffServ,
/// Don't Fragment, TTL).
pub fn emit_ipv4_tcp_in_place_with(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    header: &TcpHeader,
    payload_len: usize,
    buf: &mut [u8],
    fields: IpSendFields,
) -> usize {
    let tcp_len = header.emit(src, dst, &mut buf[IPV4_HEADER_LEN..], payload_len);
    let ip = Ipv4Repr {
        src,
        dst,
        protocol: PROTO_TCP,
        ttl: fields.ttl,
        ecn: crate::wire::Ecn::NotEct,
        payload_len: tcp_len,
    };
    ip.emit_with(buf, fields);
    IPV4_HEADER_LEN + tcp_len
}

/// The IP header's length for packets from `src`: 20 (IPv4, no options)
/// or 40 (IPv6, no extension headers).
pub fn ip_header_len(src: IpAddr) -> usize {
    match src {
        IpAddr::V4(_) => IPV4_HEADER_LEN,
        IpAddr::V6(_) => IPV6_HEADER_LEN,
    }
}

/// [`emit_ipv4_tcp_in_place_with`] for either family: the payload is in
/// place after `ip_header_len(src)` + the TCP header. Over IPv6 the
/// traffic class is `fields.tos` and the hop limit `fields.ttl` (RFC 8200
/// §3); DF has no IPv6 meaning (only the source fragments, §5).
pub fn emit_ip_tcp_in_place_with(
    src: IpAddr,
    dst: IpAddr,
    header: &TcpHeader,
    payload_len: usize,
    buf: &mut [u8],
    fields: IpSendFields,
) -> usize {
    match (src, dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            emit_ipv4_tcp_in_place_with(src, dst, header, payload_len, buf, fields)
        }
        (src, dst) => {
            let (src, dst) = (checksum::mapped(src), checksum::mapped(dst));
            let tcp_len = header.emit(src, dst, &mut buf[IPV6_HEADER_LEN..], payload_len);
            let ip = Ipv6Repr {
                src,
                dst,
                protocol: PROTO_TCP,
                hop_limit: fields.ttl,
                ecn: Ecn::NotEct,
                payload_len: tcp_len,
            };
            ip.emit_with(buf, fields);
            IPV6_HEADER_LEN + tcp_len
        }
    }
}

/// A whole IP packet (either family) carrying `header` and `payload`,
/// as [`emit_ipv4_tcp`]: for tests and tools.
pub fn emit_ip_tcp(
    src: IpAddr,
    dst: IpAddr,
    header: &TcpHeader,
    payload: &[u8],
    buf: &mut [u8],
) -> usize {
    let payload_start = ip_header_len(src) + header.header_len();
    buf[payload_start..payload_start + payload.len()].copy_from_slice(payload);
    let fields = IpSendFields::default();
    emit_ip_tcp_in_place_with(src, dst, header, payload.len(), buf, fields)
}

impl fmt::Display for TcpHeader {
    /// A tcpdump-like one-line summary for logs: `[S.] seq 1 ack 2 win 3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fl = &self.flags;
        let mut marks = String::new();
        for (set, mark) in [
            (fl.syn, 'S'),
            (fl.fin, 'F'),
            (fl.rst, 'R'),
            (fl.psh, 'P'),
            (fl.urg, 'U'),
            (fl.ece, 'E'),
            (fl.cwr, 'W'),
        ] {
            if set {
                marks.push(mark);
            }
        }
        if self.ack.is_some() {
            marks.push('.');
        }
        write!(
            f,
            "{}->{} [{}] seq {}",
            self.src_port, self.dst_port, marks, self.seq
        )?;
        if let Some(ack) = self.ack {
            write!(f, " ack {ack}")?;
        }
        write!(f, " win {}", self.window)?;
        let options = &self.options;
        if let Some(mss) = options.mss {
            write!(f, " mss {mss}")?;
        }
        if let Some(shift) = options.window_scale {
            write!(f, " wscale {shift}")?;
        }
        if options.sack_permitted {
            write!(f, " sackOK")?;
        }
        if let Some(ts) = options.timestamps {
            write!(f, " TS val {} ecr {}", ts.tsval, ts.tsecr)?;
        }
        for block in options.sack.as_slice() {
            write!(f, " sack {}:{}", block.left, block.right)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

    fn syn_ack() -> TcpHeader {
        TcpHeader {
            src_port: 80,
            dst_port: 49152,
            seq: SeqNum(u32::MAX),
            ack: Some(SeqNum(1)),
            flags: TcpFlags {
                syn: true,
                ..TcpFlags::default()
            },
            window: 1000,
            urgent: 0,
            options: TcpOptions::with_mss(1460),
        }
    }

    fn packet(header: &TcpHeader, payload: &[u8]) -> Vec<u8> {
        let mut buf = vec![0u8; 1500];
        let len = emit_ipv4_tcp(A, B, header, payload, &mut buf);
        buf.truncate(len);
        buf
    }

    #[test]
    fn emitted_segment_parses_back_exactly() {
        let header = syn_ack();
        let bytes = packet(&header, b"hello");
        let (ip, tcp) = Ipv4Repr::parse(&bytes).unwrap();
        let seg = TcpSegment::parse(ip.src, ip.dst, tcp).unwrap();
        assert_eq!(seg.header, header);
        assert_eq!(seg.payload, b"hello");
        assert_eq!(seg.seg_len(), 6);
    }

    #[test]
    fn ack_number_is_hidden_without_the_ack_bit() {
        let header = TcpHeader {
            ack: None,
            ..syn_ack()
        };
        let bytes = packet(&header, b"");
        let seg = TcpSegment::parse(A, B, &bytes[20..]).unwrap();
        assert_eq!(seg.header.ack, None);
    }

    #[test]
    fn must_3_corrupted_byte_fails_the_checksum() {
        let mut bytes = packet(&syn_ack(), b"hello");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        assert_eq!(
            TcpSegment::parse(A, B, &bytes[20..]),
            Err(WireError::BadChecksum)
        );
    }

    #[test]
    fn checksum_covers_the_pseudo_header_addresses() {
        let bytes = packet(&syn_ack(), b"hello");
        let other = Ipv4Addr::new(192, 0, 2, 3);
        assert_eq!(
            TcpSegment::parse(other, B, &bytes[20..]),
            Err(WireError::BadChecksum)
        );
    }

    #[test]
    fn data_offset_out_of_bounds_is_refused() {
        let mut bytes = packet(&syn_ack(), b"");
        bytes[20 + 12] = 4 << 4;
        assert_eq!(
            TcpSegment::parse(A, B, &bytes[20..]),
            Err(WireError::BadHeaderLength)
        );
        bytes[20 + 12] = 15 << 4;
        assert_eq!(
            TcpSegment::parse(A, B, &bytes[20..]),
            Err(WireError::Truncated)
        );
        assert_eq!(
            TcpSegment::parse(A, B, &bytes[20..30]),
            Err(WireError::Truncated)
        );
    }

    #[test]
    fn must_2_emitted_fixed_header_has_the_rfc_9293_layout() {
        let bytes = packet(&syn_ack(), b"");
        let tcp = &bytes[20..];
        assert_eq!(tcp[0..2], 80u16.to_be_bytes(), "source port");
        assert_eq!(tcp[2..4], 49152u16.to_be_bytes(), "destination port");
        assert_eq!(tcp[4..8], u32::MAX.to_be_bytes(), "sequence number");
        assert_eq!(tcp[8..12], 1u32.to_be_bytes(), "acknowledgment number");
        assert_eq!(tcp[12], 6 << 4, "data offset: 20 + 4 bytes of MSS");
        assert_eq!(tcp[13], 0x12, "SYN and ACK, nothing else");
        assert_eq!(tcp[14..16], 1000u16.to_be_bytes(), "window");
        assert_eq!(tcp[20..24], [2, 4, 0x05, 0xb4], "MSS option, raw");
        assert_eq!(checksum::tcp_checksum(A, B, tcp), 0);
    }

    /// MUST-69 (§3.1): the header past the options is zero padding. Ours
    /// fill whole words (NOPs in front), so the data offset ends where
    /// they end, and nothing of the buffer's old bytes is left in between.
    #[test]
    fn must_69_the_header_holds_our_options_and_no_other_bytes() {
        let everything = TcpOptions {
            window_scale: Some(7),
            sack_permitted: true,
            timestamps: Some(crate::wire::Timestamps {
                tsval: 0x0102_0304,
                tsecr: 5,
            }),
            ..TcpOptions::with_mss(1460)
        };
        let scale_only = TcpOptions {
            window_scale: Some(3),
            ..TcpOptions::default()
        };
        for options in [TcpOptions::with_mss(1460), everything, scale_only] {
            let header = TcpHeader {
                options,
                ..syn_ack()
            };
            let mut buf = vec![0xaa; 1500];
            let len = emit_ipv4_tcp(A, B, &header, b"", &mut buf);
            let tcp = &buf[20..len];
            let data_offset = usize::from(tcp[12] >> 4) * 4;
            assert_eq!(data_offset, tcp.len());
            let option_space = &tcp[TCP_HEADER_LEN..data_offset];
            assert!(!option_space.contains(&0xaa), "{option_space:?}");
            assert_eq!(TcpOptions::parse(option_space), Ok(header.options));
        }
    }

    /// A segment as another stack might send it, built with etherparse
    /// alone: ECN bits set and `options` as raw bytes.
    fn foreign_segment(options: &[u8]) -> Vec<u8> {
        let mut header = etherparse::TcpHeader::new(40000, 80, 7, 512);
        header.syn = true;
        header.ece = true;
        header.cwr = true;
        header.set_options_raw(options).unwrap();
        header.checksum = header
            .calc_checksum_ipv4_raw(A.octets(), B.octets(), &[])
            .unwrap();
        header.to_bytes().to_vec()
    }

    #[test]
    fn unknown_options_before_mss_are_skipped_must_6() {
        // An experimental option (kind 254, RFC 6994) that etherparse's
        // own iterator would stop at, then MSS 1460.
        let bytes = foreign_segment(&[254, 4, 0xab, 0xcd, 2, 4, 0x05, 0xb4]);
        let seg = TcpSegment::parse(A, B, &bytes).unwrap();
        assert_eq!(seg.header.options, TcpOptions::with_mss(1460));
        assert!(seg.header.flags.syn);
        assert_eq!(seg.header.ack, None);
        assert!(seg.payload.is_empty());
    }

    #[test]
    fn illegal_option_length_in_a_segment_is_refused_must_7() {
        let bytes = foreign_segment(&[254, 0, 0, 0]);
        assert_eq!(TcpSegment::parse(A, B, &bytes), Err(WireError::BadOption));
    }

    #[test]
    #[should_panic(expected = "more than the header has room for")]
    fn options_over_40_bytes_are_a_programming_error() {
        let mut options = TcpOptions {
            window_scale: Some(7),
            sack_permitted: true,
            ..TcpOptions::with_mss(1460)
        };
        for _ in 0..4 {
            options.sack.push(Default::default());
        }
        let header = TcpHeader {
            options,
            ..syn_ack()
        };
        packet(&header, b"");
    }

    #[test]
    fn ipv6_segment_parses_back_with_its_pseudo_header_rfc8200_s8_1() {
        let (a, b): (IpAddr, IpAddr) = (
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        );
        let header = syn_ack();
        let mut buf = vec![0u8; 1500];
        let len = emit_ip_tcp(a, b, &header, b"hello", &mut buf);
        assert_eq!(len, IPV6_HEADER_LEN + header.header_len() + 5);
        let (ip, tcp) = Ipv6Repr::parse(&buf[..len]).unwrap();
        assert_eq!((IpAddr::from(ip.src), IpAddr::from(ip.dst)), (a, b));
        let seg = TcpSegment::parse(ip.src, ip.dst, tcp).unwrap();
        assert_eq!((seg.header, seg.payload), (header, &b"hello"[..]));
        // Another destination breaks the checksum, as over IPv4.
        let other: IpAddr = "2001:db8::3".parse().unwrap();
        assert_eq!(
            TcpSegment::parse(a, other, tcp),
            Err(WireError::BadChecksum)
        );
    }

    #[test]
    fn display_reads_like_tcpdump() {
        assert_eq!(
            syn_ack().to_string(),
            "80->49152 [S.] seq 4294967295 ack 1 win 1000 mss 1460"
        );
    }
}
