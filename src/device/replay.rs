//! Reading a recorded session back: a pcap capture as a list of
//! timestamped IP packets (IPv4 or IPv6), each marked as going to the stack or coming
//! from it.
//!
//! [`crate::apps::replay`] (behind `tuntcp replay FILE` and
//! `tests/replay.rs`) feeds the peer's packets ([`Direction::ToStack`]) into
//! a fresh engine at their recorded times, on virtual time, and compares
//! what the engine sends with what the capture shows the recorded stack
//! sent ([`Direction::FromStack`]).
//!
//! Captures are what [`super::PcapTap`] writes: link type RAW (101), every
//! record a bare IPv4 or IPv6 packet (the version nibble tells which).
//! Link types IPV4 (228) and IPV6 (229) are read the same way. Which way a
//! packet went is decided by the stack's addresses alone: the capture file
//! itself does not say.
//!
//! Packets to a multicast group that the stack did not send are left out:
//! the kernel's own link chatter on tun0, above all the IPv6 router
//! solicitations (RFC 4861 §6.3.7, to ff02::2) and MLD reports (RFC 3810,
//! to ff02::16) it sends once the interface is up, which every `--pcap`
//! of an IPv6 session holds and no TCP stack answers (ours drops them,
//! `IpStats::icmpv6_ignored`).

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use pcap_file::pcap::PcapReader;
use pcap_file::DataLink;

use crate::time::Instant;

/// Which way a captured packet crossed the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Sent by the peer (e.g. the Linux kernel) to the stack.
    ToStack,
    /// Sent by the stack to the peer.
    FromStack,
}

/// One packet of a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapturedPacket {
    /// Time since the capture's first packet, as virtual time: the first
    /// packet is at [`Instant::ZERO`].
    pub at: Instant,
    pub direction: Direction,
    /// The whole IP packet, as it crossed the device.
    pub bytes: Vec<u8>,
    /// Its record number in the file, from 0 (tshark's frame number minus
    /// one); above its place in [`Capture::packets`] once link chatter was
    /// left out before it.
    pub frame: usize,
}

/// A whole capture, in file order (which is the order the packets crossed
/// the device).
#[derive(Clone, Debug)]
pub struct Capture {
    /// The recorded stack's addresses (one of each family at most), which
    /// decided every [`Direction`].
    pub stack_addrs: Vec<IpAddr>,
    pub packets: Vec<CapturedPacket>,
}

/// Why a capture could not be read. Packet indexes count from 0 in file
/// order, as `tshark` numbers frames from 1: frame N is index N-1.
#[derive(Debug)]
pub enum ReplayError {
    Io(io::Error),
    /// The pcap structure itself is broken.
    Pcap(String),
    /// Not bare IP packets: an Ethernet capture, for instance.
    UnsupportedLinkType(DataLink),
    /// A record is not an IP packet (too short, or another version).
    NotIp {
        index: usize,
    },
    /// A packet neither from nor to the stack's addresses.
    Foreign {
        index: usize,
        src: IpAddr,
        dst: IpAddr,
    },
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Io(err) => write!(f, "cannot read the capture: {err}"),
            ReplayError::Pcap(err) => write!(f, "broken pcap file: {err}"),
            ReplayError::UnsupportedLinkType(link) => write!(
                f,
                "link type {link:?} is not supported: captures must hold bare IP packets (RAW)"
            ),
            ReplayError::NotIp { index } => {
                write!(f, "packet #{index} is neither an IPv4 nor an IPv6 packet")
            }
            ReplayError::Foreign { index, src, dst } => write!(
                f,
                "packet #{index} ({src} -> {dst}) is neither from nor to the stack"
            ),
        }
    }
}

impl std::error::Error for ReplayError {}

impl From<io::Error> for ReplayError {
    fn from(err: io::Error) -> Self {
        ReplayError::Io(err)
    }
}

impl Capture {
    /// Reads the pcap file at `path`; `stack_addrs` are the recorded
    /// stack's addresses (192.0.2.2 and 2001:db8::2 for everything in
    /// `captures/`).
    pub fn read(path: impl AsRef<Path>, stack_addrs: &[IpAddr]) -> Result<Capture, ReplayError> {
        let path = path.as_ref();
        let file = File::open(path)
            .map_err(|err| io::Error::new(err.kind(), format!("{}: {err}", path.display())))?;
        Capture::from_reader(BufReader::new(file), stack_addrs)
    }

    /// Reads a pcap stream (anything [`Capture::read`] accepts, from memory).
    pub fn from_reader(reader: impl Read, stack_addrs: &[IpAddr]) -> Result<Capture, ReplayError> {
        let mut reader = PcapReader::new(reader).map_err(pcap_error)?;
        let link = reader.header().datalink;
        if !matches!(link, DataLink::RAW | DataLink::IPV4 | DataLink::IPV6) {
            return Err(ReplayError::UnsupportedLinkType(link));
        }
        let mut packets = Vec::new();
        let mut first: Option<Duration> = None;
        let mut frame = 0;
        while let Some(record) = reader.next_packet() {
            let record = record.map_err(pcap_error)?;
            let index = frame;
            frame += 1;
            let bytes = record.data.into_owned();
            if is_link_chatter(&bytes, stack_addrs) {
                continue;
            }
            // Time zero is the first packet kept, so that a session's
            // times do not start with the kernel's router solicitation.
            let start = *first.get_or_insert(record.timestamp);
            packets.push(CapturedPacket {
                at: Instant::ZERO + record.timestamp.saturating_sub(start),
                direction: direction_of(index, &bytes, stack_addrs)?,
                bytes,
                frame: index,
            });
        }
        Ok(Capture {
            stack_addrs: stack_addrs.to_vec(),
            packets,
        })
    }

    /// The packets going one way, with their index in the whole capture.
    pub fn going(&self, direction: Direction) -> impl Iterator<Item = (usize, &CapturedPacket)> {
        self.packets
            .iter()
            .enumerate()
            .filter(move |(_, packet)| packet.direction == direction)
    }
}

/// ToStack if the destination is the stack, FromStack if the source is.
fn direction_of(index: usize, bytes: &[u8], stack: &[IpAddr]) -> Result<Direction, ReplayError> {
    let (src, dst) = ip_addresses(bytes).ok_or(ReplayError::NotIp { index })?;
    if stack.contains(&dst) {
        Ok(Direction::ToStack)
    } else if stack.contains(&src) {
        Ok(Direction::FromStack)
    } else {
        Err(ReplayError::Foreign { index, src, dst })
    }
}

/// A packet to a multicast group (IPv4 224.0.0.0/4, IPv6 ff00::/8) that
/// the stack did not send: none of a TCP session's (RFC 9293 §3.9.1: TCP
/// is unicast).
fn is_link_chatter(bytes: &[u8], stack: &[IpAddr]) -> bool {
    ip_addresses(bytes).is_some_and(|(src, dst)| dst.is_multicast() && !stack.contains(&src))
}

/// Source and destination from the fixed header (RFC 791 §3.1, RFC 8200
/// §3). Only those are looked at, so a short check is enough; the tests
/// parse the rest with `wire`/etherparse.
fn ip_addresses(bytes: &[u8]) -> Option<(IpAddr, IpAddr)> {
    match bytes.first()? >> 4 {
        4 => Some((
            Ipv4Addr::from(octets::<4>(bytes, 12)?).into(),
            Ipv4Addr::from(octets::<4>(bytes, 16)?).into(),
        )),
        6 => Some((
            Ipv6Addr::from(octets::<16>(bytes, 8)?).into(),
            Ipv6Addr::from(octets::<16>(bytes, 24)?).into(),
        )),
        _ => None,
    }
}

/// `N` bytes of `bytes` from `at`, if it holds them.
fn octets<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at + N)?.try_into().ok()
}

fn pcap_error(err: pcap_file::PcapError) -> ReplayError {
    match err {
        pcap_file::PcapError::IoError(err) => ReplayError::Io(err),
        other => ReplayError::Pcap(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};

    use super::*;

    const STACK: &[IpAddr] = &[
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2)),
    ];

    fn ip_packet(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
        let mut packet = vec![0u8; 20];
        packet[0] = 0x45;
        packet[12..16].copy_from_slice(&src);
        packet[16..20].copy_from_slice(&dst);
        packet
    }

    fn pcap_bytes(link: DataLink, records: &[(u64, Vec<u8>)]) -> Vec<u8> {
        let header = PcapHeader {
            datalink: link,
            ..PcapHeader::default()
        };
        let mut writer = PcapWriter::with_header(Vec::new(), header).unwrap();
        for (micros, data) in records {
            let at = Duration::from_micros(*micros);
            writer
                .write_packet(&PcapPacket::new(at, data.len() as u32, data))
                .unwrap();
        }
        writer.into_writer()
    }

    #[test]
    fn directions_come_from_the_stack_address_and_times_start_at_zero() {
        let to_stack = ip_packet([192, 0, 2, 1], [192, 0, 2, 2]);
        let from_stack = ip_packet([192, 0, 2, 2], [192, 0, 2, 1]);
        let bytes = pcap_bytes(
            DataLink::RAW,
            &[
                (1_000_000, to_stack.clone()),
                (1_000_250, from_stack.clone()),
            ],
        );
        let capture = Capture::from_reader(&bytes[..], STACK).unwrap();
        assert_eq!(
            capture.packets,
            vec![
                CapturedPacket {
                    at: Instant::ZERO,
                    direction: Direction::ToStack,
                    bytes: to_stack,
                    frame: 0,
                },
                CapturedPacket {
                    at: Instant::from_micros(250),
                    direction: Direction::FromStack,
                    bytes: from_stack,
                    frame: 1,
                },
            ]
        );
        let from: Vec<usize> = capture
            .going(Direction::FromStack)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(from, vec![1]);
    }

    #[test]
    fn foreign_and_non_ipv4_packets_are_reported_with_their_index() {
        let ok = ip_packet([192, 0, 2, 1], [192, 0, 2, 2]);
        let foreign = ip_packet([10, 0, 0, 1], [10, 0, 0, 2]);
        let bytes = pcap_bytes(DataLink::RAW, &[(0, ok.clone()), (1, foreign)]);
        let err = Capture::from_reader(&bytes[..], STACK).unwrap_err();
        assert!(
            matches!(err, ReplayError::Foreign { index: 1, .. }),
            "{err}"
        );

        let bytes = pcap_bytes(DataLink::RAW, &[(0, ok), (1, vec![0x60; 39])]);
        let err = Capture::from_reader(&bytes[..], STACK).unwrap_err();
        assert!(matches!(err, ReplayError::NotIp { index: 1 }), "{err}");
    }

    #[test]
    fn ipv6_packets_take_their_direction_from_the_stacks_ipv6_address() {
        let mut to_stack = vec![0u8; 40];
        to_stack[0] = 0x60;
        to_stack[23] = 1; // 2001:db8::1 after the prefix below
        to_stack[39] = 2; // to 2001:db8::2
        for at in [8, 24] {
            to_stack[at..at + 4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        }
        let mut from_stack = to_stack.clone();
        from_stack[8..40].rotate_left(16);
        let records = [(0, to_stack), (5, from_stack)];
        let bytes = pcap_bytes(DataLink::RAW, &records);
        let capture = Capture::from_reader(&bytes[..], STACK).unwrap();
        let directions: Vec<Direction> = capture.packets.iter().map(|p| p.direction).collect();
        assert_eq!(directions, [Direction::ToStack, Direction::FromStack]);
        let bytes = pcap_bytes(DataLink::IPV6, &records);
        let err = Capture::from_reader(&bytes[..], &STACK[..1]).unwrap_err();
        assert!(
            err.to_string().contains("2001:db8::1 -> 2001:db8::2"),
            "{err}"
        );
    }

    /// An IPv6 packet from `src` to `dst` (the last two bytes of each are
    /// given; the rest is 2001:db8:: or, with `link` set, fe80:: and ff02::).
    fn ipv6_packet(src: u16, dst: u16, link: bool) -> Vec<u8> {
        let mut packet = vec![0u8; 40];
        packet[0] = 0x60;
        let (from, to) = if link {
            ([0xfe, 0x80], [0xff, 0x02])
        } else {
            ([0x20, 0x01], [0x20, 0x01])
        };
        packet[8..10].copy_from_slice(&from);
        packet[24..26].copy_from_slice(&to);
        if !link {
            packet[10..12].copy_from_slice(&[0x0d, 0xb8]);
            packet[26..28].copy_from_slice(&[0x0d, 0xb8]);
        }
        packet[22..24].copy_from_slice(&src.to_be_bytes());
        packet[38..40].copy_from_slice(&dst.to_be_bytes());
        packet
    }

    #[test]
    fn the_kernels_router_solicitations_and_mld_reports_are_left_out() {
        let solicitation = ipv6_packet(0x9ea5, 2, true); // to ff02::2
        let mld_report = ipv6_packet(0x9ea5, 0x16, true); // to ff02::16
        let syn = ipv6_packet(1, 2, false);
        let records = [
            (1_000_000, solicitation),
            (1_100_000, syn.clone()),
            (5_000_000, mld_report),
            (5_000_100, ipv6_packet(3, 4, false)),
        ];
        let err =
            Capture::from_reader(&pcap_bytes(DataLink::RAW, &records)[..], STACK).unwrap_err();
        // The foreign packet keeps its number in the file.
        assert!(
            matches!(err, ReplayError::Foreign { index: 3, .. }),
            "{err}"
        );
        let capture =
            Capture::from_reader(&pcap_bytes(DataLink::RAW, &records[..3])[..], STACK).unwrap();
        assert_eq!(
            capture.packets,
            [CapturedPacket {
                at: Instant::ZERO,
                direction: Direction::ToStack,
                bytes: syn,
                frame: 1,
            }]
        );
    }

    #[test]
    fn ethernet_captures_are_refused() {
        let bytes = pcap_bytes(DataLink::ETHERNET, &[]);
        let err = Capture::from_reader(&bytes[..], STACK).unwrap_err();
        assert!(err.to_string().contains("RAW"), "{err}");
    }
}
