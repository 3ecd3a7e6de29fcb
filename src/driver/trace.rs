//! `--trace FILE`: the driver's side of the trace, as JSON lines. Each
//! segment crossing between the engine and the device is one line, and
//! each state change the engine recorded (`engine/trace.rs`) is another,
//! written right after the segment that caused it and before the answer:
//!
//! ```text
//! {"t":0.000213,"event":"segment","dir":"in","src":"192.0.2.1:40000","dst":"192.0.2.2:7","flags":"SYN","seq":1,"ack":0,"len":0,"win":64240}
//! {"t":0.000213,"event":"state","local":"192.0.2.2:7","remote":"192.0.2.1:40000","from":"LISTEN","to":"SYN-RECEIVED","cause":{"flags":"SYN","seq":1,"ack":0,"len":0,"win":64240}}
//! ```
//!
//! Times are seconds since the driver started, on the engine's clock.
//! Segments are traced where the engine sees them, so with `--impair` an
//! outgoing segment the impairment then drops is still listed; with TCP
//! offloads a segment is listed whole, as the engine sent it. The few
//! fields are written by hand: addresses, numbers and state names need no
//! escaping, and it keeps serde out of the dependencies.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use etherparse::{IpNumber, Ipv4HeaderSlice, TcpHeaderSlice};

use crate::wire::{Ipv6Repr, PROTO_TCP};

use crate::engine::trace::{Flags, SegmentSummary, TraceEvent};
use crate::time::Instant;

/// Which way a segment crossed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From the device to the engine.
    In,
    /// From the engine to the device.
    Out,
}

/// Where the trace goes, and a buffer for the engine's events.
pub struct TraceWriter {
    out: Box<dyn Write + Send>,
    events: Vec<TraceEvent>,
    line: String,
}

impl TraceWriter {
    pub fn new(out: Box<dyn Write + Send>) -> TraceWriter {
        TraceWriter {
            out,
            events: Vec::new(),
            line: String::new(),
        }
    }

    /// One line for a TCP packet (IPv4 or IPv6); other packets are not traced.
    pub fn segment(&mut self, now: Instant, dir: Direction, packet: &[u8]) {
        self.line.clear();
        if segment_line(&mut self.line, now, dir, packet).is_some() {
            self.write_line();
        }
    }

    /// Lines for the state changes `engine` recorded since the last call.
    pub fn state_changes(&mut self, engine: &mut dyn crate::engine::Engine) {
        engine.take_trace(&mut self.events);
        for event in std::mem::take(&mut self.events).drain(..) {
            self.line.clear();
            state_line(&mut self.line, &event);
            self.write_line();
        }
    }

    /// Pushes buffered lines to the file, once a driver turn, so a reader
    /// (or a killed process) loses at most one turn.
    pub fn flush(&mut self) {
        if let Err(err) = self.out.flush() {
            log::warn!("trace: cannot write: {err}");
        }
    }

    fn write_line(&mut self) {
        self.line.push('\n');
        if let Err(err) = self.out.write_all(self.line.as_bytes()) {
            log::warn!("trace: cannot write: {err}");
        }
    }
}

/// Opens `path` for a trace (truncating it).
pub fn create(path: &std::path::Path) -> io::Result<TraceWriter> {
    let file = std::fs::File::create(path)?;
    Ok(TraceWriter::new(Box::new(io::BufWriter::new(file))))
}

/// Writes the JSON line for `packet` into `line` (without the newline);
/// `None` if it is not TCP over IPv4 or IPv6.
pub fn segment_line(line: &mut String, now: Instant, dir: Direction, packet: &[u8]) -> Option<()> {
    let (src_ip, dst_ip, tcp_bytes) = tcp_of(packet)?;
    let tcp = TcpHeaderSlice::from_slice(tcp_bytes).ok()?;
    let summary = SegmentSummary {
        flags: Flags::of(tcp.fin(), tcp.syn(), tcp.rst(), tcp.psh(), tcp.ack()),
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        len: (tcp_bytes.len() - tcp.slice().len()) as u32,
        window: tcp.window_size(),
    };
    let src = SocketAddr::new(src_ip, tcp.source_port());
    let dst = SocketAddr::new(dst_ip, tcp.destination_port());
    let dir = match dir {
        Direction::In => "in",
        Direction::Out => "out",
    };
    let _ = write!(
        line,
        r#"{{"t":{},"event":"segment","dir":"{dir}","src":"{src}","dst":"{dst}","#,
        seconds(now)
    );
    summary_fields(line, &summary);
    line.push('}');
    Some(())
}

/// The addresses and TCP bytes of an IPv4 or IPv6 (RFC 8200, extension
/// headers walked by `wire/ipv6.rs`) packet carrying TCP.
fn tcp_of(packet: &[u8]) -> Option<(IpAddr, IpAddr, &[u8])> {
    if packet.first()? >> 4 == 6 {
        let (ip, tcp) = Ipv6Repr::parse(packet).ok()?;
        return (ip.protocol == PROTO_TCP).then_some((ip.src.into(), ip.dst.into(), tcp));
    }
    let ip = Ipv4HeaderSlice::from_slice(packet).ok()?;
    if ip.protocol() != IpNumber::TCP {
        return None;
    }
    let end = usize::from(ip.total_len()).min(packet.len());
    let tcp_bytes = packet.get(ip.slice().len()..end)?;
    let (src, dst) = (
        Ipv4Addr::from(ip.source()),
        Ipv4Addr::from(ip.destination()),
    );
    Some((src.into(), dst.into(), tcp_bytes))
}

/// Writes the JSON line for one state change into `line`.
pub fn state_line(line: &mut String, event: &TraceEvent) {
    let _ = write!(
        line,
        r#"{{"t":{},"event":"state","local":"{}","remote":"{}","from":"{}","to":"{}","cause":"#,
        seconds(event.at),
        event.local,
        event.remote,
        event.from,
        event.to
    );
    match &event.cause {
        Some(cause) => {
            line.push('{');
            summary_fields(line, cause);
            line.push('}');
        }
        None => line.push_str("null"),
    }
    line.push('}');
}

fn summary_fields(line: &mut String, summary: &SegmentSummary) {
    let _ = write!(
        line,
        r#""flags":"{}","seq":{},"ack":{},"len":{},"win":{}"#,
        summary.flags, summary.seq, summary.ack, summary.len, summary.window
    );
}

/// Seconds with microseconds, as a JSON number.
fn seconds(at: Instant) -> String {
    let micros = at.total_micros();
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tcp::State;
    use crate::wire::tcp::{emit_ip_tcp, emit_ipv4_tcp};
    use crate::wire::{SeqNum, TcpFlags, TcpHeader};

    const KERNEL: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 40000);
    const STACK: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), 7);

    #[test]
    fn a_segment_is_one_json_line_with_its_fields() {
        let header = TcpHeader {
            src_port: KERNEL.port(),
            dst_port: STACK.port(),
            seq: SeqNum(100),
            ack: Some(SeqNum(7)),
            flags: TcpFlags {
                psh: true,
                ..TcpFlags::default()
            },
            window: 502,
            ..TcpHeader::default()
        };
        let mut packet = vec![0u8; 100];
        let (kernel, stack) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2));
        let len = emit_ipv4_tcp(kernel, stack, &header, b"hello", &mut packet);
        let mut line = String::new();
        segment_line(
            &mut line,
            Instant::from_micros(1_500_042),
            Direction::In,
            &packet[..len],
        )
        .unwrap();
        assert_eq!(
            line,
            r#"{"t":1.500042,"event":"segment","dir":"in","src":"192.0.2.1:40000","dst":"192.0.2.2:7","flags":"PSH,ACK","seq":100,"ack":7,"len":5,"win":502}"#
        );
    }

    #[test]
    fn a_state_change_names_states_as_the_rfc_and_its_cause() {
        let mut event = TraceEvent {
            at: Instant::from_millis(20),
            local: STACK,
            remote: KERNEL,
            from: State::Listen,
            to: State::SynReceived,
            cause: Some(SegmentSummary {
                flags: Flags(Flags::SYN),
                seq: 1,
                ack: 0,
                len: 0,
                window: 64240,
            }),
        };
        let mut line = String::new();
        state_line(&mut line, &event);
        assert_eq!(
            line,
            r#"{"t":0.020000,"event":"state","local":"192.0.2.2:7","remote":"192.0.2.1:40000","from":"LISTEN","to":"SYN-RECEIVED","cause":{"flags":"SYN","seq":1,"ack":0,"len":0,"win":64240}}"#
        );
        event.cause = None;
        line.clear();
        state_line(&mut line, &event);
        assert!(line.ends_with(r#""cause":null}"#), "{line}");
    }

    #[test]
    fn an_ipv6_segment_is_traced_with_bracketed_addresses() {
        let header = TcpHeader {
            src_port: 40000,
            dst_port: 7,
            seq: SeqNum(1),
            flags: TcpFlags {
                syn: true,
                ..TcpFlags::default()
            },
            window: 64800,
            ..TcpHeader::default()
        };
        let (kernel, stack) = (
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        );
        let mut packet = vec![0u8; 100];
        let len = emit_ip_tcp(kernel, stack, &header, b"", &mut packet);
        let mut line = String::new();
        segment_line(&mut line, Instant::ZERO, Direction::In, &packet[..len]).unwrap();
        assert!(
            line.contains(r#""src":"[2001:db8::1]:40000","dst":"[2001:db8::2]:7","flags":"SYN""#),
            "{line}"
        );
    }

    #[test]
    fn other_packets_are_not_traced() {
        let mut line = String::new();
        assert!(segment_line(&mut line, Instant::ZERO, Direction::Out, &[0x45, 0, 0]).is_none());
    }
}
