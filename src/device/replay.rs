//! Reading a recorded session back: a pcap capture as a list of
//! timestamped IPv4 packets, each marked as going to the stack or coming
//! from it.
//!
//! [`crate::apps::replay`] (behind `tuntcp replay FILE` and
//! `tests/replay.rs`) feeds the peer's packets ([`Direction::ToStack`]) into
//! a fresh engine at their recorded times, on virtual time, and compares
//! what the engine sends with what the capture shows the recorded stack
//! sent ([`Direction::FromStack`]).
//!
//! Captures are what [`super::PcapTap`] writes: link type RAW (101), every
//! record a bare IPv4 packet. Link type IPV4 (228) is read the same way.
//! Which way a packet went is decided by the stack's address alone: the
//! capture file itself does not say.

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::net::Ipv4Addr;
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
    /// The whole IPv4 packet, as it crossed the device.
    pub bytes: Vec<u8>,
}

/// A whole capture, in file order (which is the order the packets crossed
/// the device).
#[derive(Clone, Debug)]
pub struct Capture {
    /// The recorded stack's address, which decided every [`Direction`].
    pub stack_addr: Ipv4Addr,
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
    /// A record is not an IPv4 packet (too short, or another version).
    NotIpv4 {
        index: usize,
    },
    /// A packet neither from nor to the stack's address.
    Foreign {
        index: usize,
        src: Ipv4Addr,
        dst: Ipv4Addr,
    },
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Io(err) => write!(f, "cannot read the capture: {err}"),
            ReplayError::Pcap(err) => write!(f, "broken pcap file: {err}"),
            ReplayError::UnsupportedLinkType(link) => write!(
                f,
                "link type {link:?} is not supported: captures must hold bare IPv4 packets (RAW)"
            ),
            ReplayError::NotIpv4 { index } => {
                write!(f, "packet #{index} is not an IPv4 packet")
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
    /// Reads the pcap file at `path`; `stack_addr` is the recorded stack's
    /// address (192.0.2.2 for everything in `captures/`).
    pub fn read(path: impl AsRef<Path>, stack_addr: Ipv4Addr) -> Result<Capture, ReplayError> {
        let path = path.as_ref();
        let file = File::open(path)
            .map_err(|err| io::Error::new(err.kind(), format!("{}: {err}", path.display())))?;
        Capture::from_reader(BufReader::new(file), stack_addr)
    }

    /// Reads a pcap stream (anything [`Capture::read`] accepts, from memory).
    pub fn from_reader(reader: impl Read, stack_addr: Ipv4Addr) -> Result<Capture, ReplayError> {
        let mut reader = PcapReader::new(reader).map_err(pcap_error)?;
        let link = reader.header().datalink;
        if !matches!(link, DataLink::RAW | DataLink::IPV4) {
            return Err(ReplayError::UnsupportedLinkType(link));
        }
        let mut packets = Vec::new();
        let mut first: Option<Duration> = None;
        while let Some(record) = reader.next_packet() {
            let record = record.map_err(pcap_error)?;
            let index = packets.len();
            let start = *first.get_or_insert(record.timestamp);
            let bytes = record.data.into_owned();
            packets.push(CapturedPacket {
                at: Instant::ZERO + record.timestamp.saturating_sub(start),
                direction: direction_of(index, &bytes, stack_addr)?,
                bytes,
            });
        }
        Ok(Capture {
            stack_addr,
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
fn direction_of(index: usize, bytes: &[u8], stack: Ipv4Addr) -> Result<Direction, ReplayError> {
    // Only the fixed IPv4 header fields are looked at, so a short check is
    // enough; the tests parse the rest with `wire`/etherparse.
    if bytes.len() < 20 || bytes[0] >> 4 != 4 {
        return Err(ReplayError::NotIpv4 { index });
    }
    let src = Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15]);
    let dst = Ipv4Addr::new(bytes[16], bytes[17], bytes[18], bytes[19]);
    if dst == stack {
        Ok(Direction::ToStack)
    } else if src == stack {
        Ok(Direction::FromStack)
    } else {
        Err(ReplayError::Foreign { index, src, dst })
    }
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

    const STACK: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

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
                    bytes: to_stack
                },
                CapturedPacket {
                    at: Instant::from_micros(250),
                    direction: Direction::FromStack,
                    bytes: from_stack
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

        let bytes = pcap_bytes(DataLink::RAW, &[(0, ok), (1, vec![0x60; 40])]);
        let err = Capture::from_reader(&bytes[..], STACK).unwrap_err();
        assert!(matches!(err, ReplayError::NotIpv4 { index: 1 }), "{err}");
    }

    #[test]
    fn ethernet_captures_are_refused() {
        let bytes = pcap_bytes(DataLink::ETHERNET, &[]);
        let err = Capture::from_reader(&bytes[..], STACK).unwrap_err();
        assert!(err.to_string().contains("RAW"), "{err}");
    }
}
