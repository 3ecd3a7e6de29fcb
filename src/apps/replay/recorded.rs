//! The recorded session, read from a capture: which side opened, the two
//! ends, and every segment each side sent, with its place in the capture.

use std::fmt;
use std::net::SocketAddr;

use super::segment::Segment;
use crate::device::replay::{Capture, Direction};
use crate::engine::ApiError;

/// One TCP segment and where it sits in the session: `position` is the
/// number of capture packets that had crossed the device before it, so a
/// recorded packet's position is its index, and an engine's segment sent
/// right after capture packet #i went in has position i + 1.
#[derive(Clone, Debug)]
pub struct Placed {
    pub position: usize,
    pub seg: Segment,
}

/// Why a capture cannot be replayed, as a sentence. Packet indexes are
/// [`crate::device::replay::CapturedPacket::frame`]s, counting from 0, as in
/// [`crate::device::replay`]: packet #N is Wireshark's frame N+1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionError {
    /// The capture holds no packet at all.
    Empty,
    /// A packet is not a TCP segment (ICMP, UDP, or broken).
    NotTcp { index: usize },
    /// A packet belongs to another connection than the first one.
    OtherConnection { index: usize },
    /// The capture does not hold every byte of a side's stream (a capture
    /// that lost packets).
    MissingBytes { who: &'static str, byte: usize },
    /// Two segments of one side carry different bytes at the same place.
    ConflictingBytes { who: &'static str, byte: usize },
    /// The engine refused to listen on the recorded stack's port.
    Listen { port: u16, error: ApiError },
    /// The engine kept working without end at one point in time.
    DidNotSettle { at_micros: u64 },
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Empty => write!(f, "the capture holds no packets"),
            SessionError::NotTcp { index } => write!(
                f,
                "packet #{index} is not a TCP segment: only TCP sessions can be replayed"
            ),
            SessionError::OtherConnection { index } => write!(
                f,
                "packet #{index} belongs to another connection than the first packet: only captures of one connection can be replayed"
            ),
            SessionError::MissingBytes { who, byte } => write!(
                f,
                "the capture does not hold byte {byte} of what the {who} sent (was it captured with packets lost?)"
            ),
            SessionError::ConflictingBytes { who, byte } => write!(
                f,
                "two segments the {who} sent disagree on byte {byte} of its stream"
            ),
            SessionError::Listen { port, error } => {
                write!(f, "the engine cannot listen on port {port}: {error}")
            }
            SessionError::DidNotSettle { at_micros } => write!(
                f,
                "the engine did not stop sending at {at_micros} µs of virtual time"
            ),
        }
    }
}

impl std::error::Error for SessionError {}

/// The recorded session.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Segments the recorded stack sent, and the peer's, in capture order.
    pub stack: Vec<Placed>,
    pub peer: Vec<Placed>,
    pub stack_end: SocketAddr,
    pub peer_end: SocketAddr,
    /// True when the stack sent the first segment (its SYN: `tuntcp
    /// connect`), false when the peer did (the stack was the server).
    pub active_open: bool,
}

impl Recorded {
    pub fn from_capture(capture: &Capture) -> Result<Recorded, SessionError> {
        let first = capture.packets.first().ok_or(SessionError::Empty)?;
        let first =
            Segment::parse(&first.bytes).ok_or(SessionError::NotTcp { index: first.frame })?;
        let active_open = capture.stack_addrs.contains(&first.src.ip());
        let (stack_end, peer_end) = if active_open {
            (first.src, first.dst)
        } else {
            (first.dst, first.src)
        };
        let mut recorded = Recorded {
            stack: Vec::new(),
            peer: Vec::new(),
            stack_end,
            peer_end,
            active_open,
        };
        for (index, packet) in capture.packets.iter().enumerate() {
            let frame = packet.frame;
            let seg = Segment::parse(&packet.bytes).ok_or(SessionError::NotTcp { index: frame })?;
            let (side, from, to) = match packet.direction {
                Direction::FromStack => (&mut recorded.stack, stack_end, peer_end),
                Direction::ToStack => (&mut recorded.peer, peer_end, stack_end),
            };
            if (seg.src, seg.dst) != (from, to) {
                return Err(SessionError::OtherConnection { index: frame });
            }
            side.push(Placed {
                position: index,
                seg,
            });
        }
        Ok(recorded)
    }

    /// The stack's own ISN in the recording: the sequence number of its
    /// SYN or SYN-ACK (a stack that only sent RST has none).
    pub fn stack_isn(&self) -> Option<u32> {
        isn_of(&self.stack)
    }

    /// The peer's ISN in the recording.
    pub fn peer_isn(&self) -> Option<u32> {
        isn_of(&self.peer)
    }
}

/// The sequence number of the first SYN among `segs`.
pub fn isn_of(segs: &[Placed]) -> Option<u32> {
    segs.iter().find(|p| p.seg.syn).map(|p| p.seg.seq)
}

/// Position of the first FIN among `segs`, `usize::MAX` if none.
pub fn fin_position(segs: &[Placed]) -> usize {
    segs.iter()
        .find(|p| p.seg.fin)
        .map_or(usize::MAX, |p| p.position)
}

/// The byte stream `segs` carry, put together by sequence number relative
/// to their sender's SYN, whatever the segmentation and retransmissions.
/// `who` names the sender in the error.
pub fn stream_of(segs: &[Placed], who: &'static str) -> Result<Vec<u8>, SessionError> {
    let Some(isn) = isn_of(segs) else {
        return Ok(Vec::new());
    };
    let mut bytes: Vec<Option<u8>> = Vec::new();
    for placed in segs.iter().filter(|p| !p.seg.payload.is_empty()) {
        // The first data byte is ISN + 1: the SYN takes one sequence number.
        let offset = placed.seg.seq.wrapping_sub(isn).wrapping_sub(1) as usize;
        let end = offset + placed.seg.payload.len();
        if bytes.len() < end {
            bytes.resize(end, None);
        }
        for (i, &byte) in placed.seg.payload.iter().enumerate() {
            let slot = &mut bytes[offset + i];
            if slot.is_some_and(|old| old != byte) {
                let byte = offset + i;
                return Err(SessionError::ConflictingBytes { who, byte });
            }
            *slot = Some(byte);
        }
    }
    bytes
        .iter()
        .enumerate()
        .map(|(byte, b)| b.ok_or(SessionError::MissingBytes { who, byte }))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::device::replay::CapturedPacket;
    use crate::time::Instant;

    fn capture_of(packets: Vec<Vec<u8>>) -> Capture {
        Capture {
            stack_addrs: vec![Ipv4Addr::new(192, 0, 2, 2).into()],
            packets: packets
                .into_iter()
                .enumerate()
                .map(|(frame, bytes)| CapturedPacket {
                    at: Instant::ZERO,
                    direction: Direction::ToStack,
                    bytes,
                    frame,
                })
                .collect(),
        }
    }

    #[test]
    fn an_empty_or_non_tcp_capture_is_refused_with_the_reason() {
        let err = Recorded::from_capture(&capture_of(vec![])).unwrap_err();
        assert_eq!(err, SessionError::Empty);
        // An IPv4 header with protocol 1 (ICMP) and nothing after it.
        let mut icmp = vec![0x45, 0, 0, 20, 0, 0, 0, 0, 64, 1, 0, 0];
        icmp.extend_from_slice(&[192, 0, 2, 1, 192, 0, 2, 2]);
        let err = Recorded::from_capture(&capture_of(vec![icmp])).unwrap_err();
        assert_eq!(err, SessionError::NotTcp { index: 0 });
        assert!(err.to_string().contains("only TCP sessions"), "{err}");
    }
}
