//! Trace events: every RFC 9293 state change of our engine's connections,
//! with the time, the 4-tuple and the segment that caused it, for a
//! machine-readable record of a connection's life (`--trace FILE`).
//!
//! The engine only records them, in a bounded queue, and only when
//! [`StackConfig::trace`](super::StackConfig::trace) is on; the driver
//! drains them ([`Engine::take_trace`](super::Engine::take_trace)) and
//! writes them out, as it does readiness events. No I/O here.

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;

use super::tcp::State;
use crate::time::Instant;
use crate::wire::TcpHeader;

/// Most events held between two drains; older ones give way and are
/// counted, so an undrained queue cannot grow.
pub const MAX_TRACE_EVENTS: usize = 4096;

/// One state change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceEvent {
    pub at: Instant,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub from: State,
    pub to: State,
    /// The incoming segment being processed when the state changed; `None`
    /// for changes made by a timer or an application call.
    pub cause: Option<SegmentSummary>,
}

/// What a trace says of a segment: the fields a ladder diagram labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentSummary {
    pub flags: Flags,
    pub seq: u32,
    /// Meaningful only with the ACK flag.
    pub ack: u32,
    /// Payload bytes.
    pub len: u32,
    /// The window field as sent (not scaled).
    pub window: u16,
}

/// The TCP flags a trace shows, as bits of the header's flag byte
/// (RFC 9293 §3.1: FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags(pub u8);

impl Flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;

    /// The flags a header has set.
    pub fn of(fin: bool, syn: bool, rst: bool, psh: bool, ack: bool) -> Flags {
        let bits = [(fin, Flags::FIN), (syn, Flags::SYN), (rst, Flags::RST)]
            .into_iter()
            .chain([(psh, Flags::PSH), (ack, Flags::ACK)])
            .filter(|(set, _)| *set)
            .fold(0, |all, (_, bit)| all | bit);
        Flags(bits)
    }

    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
}

/// Names as tcpdump and Wireshark list them: `SYN,ACK`.
impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Flags::SYN, "SYN"),
            (Flags::RST, "RST"),
            (Flags::FIN, "FIN"),
            (Flags::PSH, "PSH"),
            (Flags::ACK, "ACK"),
        ];
        let mut first = true;
        for (bit, name) in names {
            if self.has(bit) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl SegmentSummary {
    pub fn of(header: &TcpHeader, payload_len: usize) -> SegmentSummary {
        let f = &header.flags;
        SegmentSummary {
            flags: Flags::of(f.fin, f.syn, f.rst, f.psh, header.ack.is_some()),
            seq: header.seq.0,
            ack: header.ack.map_or(0, |ack| ack.0),
            len: u32::try_from(payload_len).unwrap_or(u32::MAX),
            window: header.window,
        }
    }
}

/// The stack's queue of events, bounded by [`MAX_TRACE_EVENTS`].
#[derive(Debug, Default)]
pub(crate) struct TraceQueue {
    events: VecDeque<TraceEvent>,
    /// Events dropped because nobody drained the queue in time.
    pub(crate) lost: u64,
}

impl TraceQueue {
    pub(crate) fn push(&mut self, event: TraceEvent) {
        if self.events.len() == MAX_TRACE_EVENTS {
            self.events.pop_front();
            self.lost += 1;
        }
        self.events.push_back(event);
    }

    pub(crate) fn drain_into(&mut self, out: &mut Vec<TraceEvent>) {
        out.extend(self.events.drain(..));
    }
}
