//! A replay written out for a person learning TCP: one line per segment in
//! both directions, the engine's state changes and the application's calls
//! in between, and a summary.
//!
//! Sequence and acknowledgement numbers are relative to each side's initial
//! sequence number, as Wireshark shows them: the SYN is seq=0, the first
//! data byte seq=1. A side whose first segment is not a SYN (an RST
//! answering a SYN, say) counts from one before that segment, as Wireshark
//! does.

use std::fmt::Write;

use super::app::AppKind;
use super::outcome::{first_wrong_payload, outcome};
use super::recorded::{stream_of, Recorded};
use super::segment::{SegOption, Segment};
use super::session::{Event, Replay};
use crate::device::replay::Direction;
use crate::time::Instant;

/// Longest stretch of payload quoted in a segment's line.
const PREVIEW_BYTES: usize = 40;

/// Who is who in the transcript.
const PEER: &str = "kernel";
const STACK: &str = "stack";

/// The replay's events, one a line, then the summary.
pub fn transcript(recorded: &Recorded, replay: &Replay) -> String {
    let bases = Bases::of(&replay.events);
    let mut text = String::new();
    for event in &replay.events {
        text += &event_line(event, &bases, recorded, replay.app_kind());
        text.push('\n');
    }
    text += &summary(recorded, replay);
    text
}

/// Each side's initial sequence number, the base of its relative numbers.
pub(super) struct Bases {
    pub(super) peer: Option<u32>,
    pub(super) stack: Option<u32>,
}

impl Bases {
    pub(super) fn of(events: &[Event]) -> Bases {
        let base = |want: Direction| {
            events.iter().find_map(|event| match event {
                Event::Segment { direction, seg, .. } if *direction == want => Some(if seg.syn {
                    seg.seq
                } else {
                    seg.seq.wrapping_sub(1)
                }),
                _ => None,
            })
        };
        Bases {
            peer: base(Direction::ToStack),
            stack: base(Direction::FromStack),
        }
    }
}

fn event_line(event: &Event, bases: &Bases, recorded: &Recorded, app: AppKind) -> String {
    match event {
        Event::Segment { at, direction, seg } => {
            let (arrow, own, other) = match direction {
                Direction::ToStack => (format!("{PEER} -> {STACK}"), bases.peer, bases.stack),
                Direction::FromStack => (format!("{STACK} -> {PEER}"), bases.stack, bases.peer),
            };
            format!("{}  {arrow}  {}", seconds(*at), describe(seg, own, other))
        }
        Event::State { from: None, to, .. } => first_state(to, recorded, app),
        Event::State {
            from: Some(from),
            to,
            ..
        } => format!("        {STACK}: {from} => {to}"),
        Event::App { what, .. } => format!("        app: {what}"),
    }
}

/// The state the replay starts in, with what it means for the peer.
fn first_state(state: &str, recorded: &Recorded, app: AppKind) -> String {
    let local = recorded.stack_end;
    match state {
        "LISTEN" => format!("        {STACK}: LISTEN on {local}"),
        "CLOSED" if app == AppKind::EchoServer => format!(
            "        {STACK}: CLOSED, nothing listens on {local}: a SYN to it is answered with RST (RFC 9293 §3.10.7.1)"
        ),
        other => format!("        {STACK}: {other}"),
    }
}

/// Virtual time as seconds since the first packet, microsecond precision.
pub(super) fn seconds(at: Instant) -> String {
    let micros = at.total_micros();
    format!("{:>4}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// `[SYN,ACK] seq=0 ack=1 win=64240 len=0 <mss 1460>`: `own` is the
/// sender's base, `other` the receiver's.
fn describe(seg: &Segment, own: Option<u32>, other: Option<u32>) -> String {
    let mut text = header_fields(seg, own, other);
    if !seg.options.is_empty() {
        let options: Vec<String> = seg
            .options
            .iter()
            .map(|option| option_text(option, other))
            .collect();
        let _ = write!(text, " <{}>", options.join(","));
    }
    if let Some(preview) = preview(&seg.payload) {
        let _ = write!(text, " {preview}");
    }
    text
}

/// `[SYN,ACK] seq=0 ack=1 win=64240 len=0`, the fields every view of a
/// segment starts with.
pub(super) fn header_fields(seg: &Segment, own: Option<u32>, other: Option<u32>) -> String {
    let relative = |n: u32, base: Option<u32>| n.wrapping_sub(base.unwrap_or(0));
    let mut text = format!("[{}] seq={}", seg.flag_names(), relative(seg.seq, own));
    if seg.has_ack {
        let _ = write!(text, " ack={}", relative(seg.ack, other));
    }
    let _ = write!(text, " win={}", seg.window);
    if !seg.payload.is_empty() {
        let _ = write!(text, " len={}", seg.payload.len());
    }
    text
}

/// An option as tcpdump writes it; SACK blocks are relative to the
/// receiver's base, since they name bytes the receiver sent.
pub(super) fn option_text(option: &SegOption, other: Option<u32>) -> String {
    let relative = |n: u32| n.wrapping_sub(other.unwrap_or(0));
    match option {
        SegOption::Mss(mss) => format!("mss {mss}"),
        SegOption::WindowScale(shift) => format!("ws {shift}"),
        SegOption::SackPermitted => "sackOK".into(),
        SegOption::Timestamp { value, echo } => format!("TS val {value} ecr {echo}"),
        SegOption::Sack(blocks) => {
            let blocks: Vec<String> = blocks
                .iter()
                .map(|&(left, right)| format!("{}-{}", relative(left), relative(right)))
                .collect();
            format!("sack {}", blocks.join(" "))
        }
    }
}

/// The payload quoted, if it is text: what a learner typed is worth
/// seeing; binary data is only counted.
pub(super) fn preview(payload: &[u8]) -> Option<String> {
    let is_text = |b: &u8| b.is_ascii_graphic() || matches!(b, b' ' | b'\n' | b'\r' | b'\t');
    if payload.is_empty() || !payload.iter().all(is_text) {
        return None;
    }
    let shown = &payload[..payload.len().min(PREVIEW_BYTES)];
    let text: String = shown.iter().map(|&b| char::from(b)).collect();
    let more = if shown.len() < payload.len() {
        "..."
    } else {
        ""
    };
    Some(format!("{:?}{more}", text))
}

/// Bytes each way, who closed first, final states, and whether the engine
/// did in substance what the recorded stack did.
pub(super) fn summary(recorded: &Recorded, replay: &Replay) -> String {
    let engine = replay.engine_name();
    let peer_bytes = stream_of(&recorded.peer, "recorded peer").map_or(0, |s| s.len());
    let sent_bytes = stream_of(&replay.emitted, "engine").map_or(0, |s| s.len());
    let mut text = format!("\nSummary ({engine}):\n");
    let _ = writeln!(
        text,
        "  {PEER} -> {STACK}: {peer_bytes} bytes; the application read {}",
        replay.view.received.len()
    );
    let _ = writeln!(text, "  {STACK} -> {PEER}: {sent_bytes} bytes");
    let _ = writeln!(text, "  {}", who_closed_first(&replay.events));
    let _ = writeln!(
        text,
        "  final state: {STACK} {}, {PEER} {} (as its segments show)",
        replay.final_state().unwrap_or("CLOSED"),
        peer_final_state(&replay.events)
    );
    text += &verdict(recorded, replay);
    text
}

/// The first FIN or RST in either direction, as a sentence.
fn who_closed_first(events: &[Event]) -> String {
    let ending = events.iter().find_map(|event| match event {
        Event::Segment { at, direction, seg } if seg.fin || seg.rst => {
            Some((*at, *direction, seg.rst))
        }
        _ => None,
    });
    let Some((at, direction, rst)) = ending else {
        return "nobody closed the connection".into();
    };
    let who = match direction {
        Direction::ToStack => PEER,
        Direction::FromStack => STACK,
    };
    let how = if rst {
        "reset it (RST)"
    } else {
        "closed first (FIN)"
    };
    format!("the {who} {how} at {}", seconds(at).trim_start())
}

/// The peer's state at the end, worked out from the segments both ways
/// (RFC 9293 §3.3.2 state diagram): the replay cannot ask the peer.
fn peer_final_state(events: &[Event]) -> &'static str {
    let segments = || {
        events.iter().filter_map(|event| match event {
            Event::Segment { direction, seg, .. } => Some((*direction, seg)),
            _ => None,
        })
    };
    let first_fin =
        |want: Direction| segments().position(|(direction, seg)| direction == want && seg.fin);
    if segments().any(|(_, seg)| seg.rst) {
        return "CLOSED";
    }
    let peer_synced = segments().any(|(d, seg)| d == Direction::ToStack && seg.has_ack);
    match (
        first_fin(Direction::ToStack),
        first_fin(Direction::FromStack),
    ) {
        (Some(peer), Some(stack)) if peer < stack => "TIME-WAIT",
        (Some(_), Some(_)) => "CLOSED",
        (Some(_), None) => "FIN-WAIT-2",
        (None, Some(_)) => "CLOSE-WAIT",
        (None, None) if peer_synced => "ESTABLISHED",
        (None, None) => "SYN-SENT",
    }
}

/// Whether the engine did what the recorded stack did, with the reasons
/// when not.
fn verdict(recorded: &Recorded, replay: &Replay) -> String {
    let mut problems = outcome(&replay.emitted, &recorded.peer)
        .differences(&outcome(&recorded.stack, &recorded.peer));
    let recorded_stream = stream_of(&recorded.stack, "recorded stack").unwrap_or_default();
    problems.extend(first_wrong_payload(&replay.emitted, &recorded_stream));
    let sent = stream_of(&replay.emitted, "engine").map_or(0, |s| s.len());
    if sent != recorded_stream.len() {
        problems.push(format!(
            "bytes sent: {sent}, the recorded stack {}",
            recorded_stream.len()
        ));
    }
    let peer_stream = stream_of(&recorded.peer, "recorded peer").unwrap_or_default();
    if replay.view.received != peer_stream {
        problems.push(format!(
            "the application read {} bytes that are not the {} the {PEER} sent",
            replay.view.received.len(),
            peer_stream.len()
        ));
    }
    // As in the recording, the peer's last ACK covers all the engine sent.
    let synchronized = recorded.stack.iter().any(|p| p.seg.syn);
    if synchronized && replay.last_peer_ack != Some(replay.engine_snd_max) {
        problems.push("the peer's last ACK does not cover all the engine sent".into());
    }
    problems.extend(
        replay
            .view
            .errors
            .iter()
            .map(|e| format!("application error: {e}")),
    );
    if problems.is_empty() {
        return format!(
            "  compared with the capture: {} did what the recorded stack did (same answer, same bytes, same close)\n",
            replay.engine_name()
        );
    }
    let mut text = format!(
        "  compared with the capture: {} did NOT do what the recorded stack did:\n",
        replay.engine_name()
    );
    for problem in problems {
        let _ = writeln!(text, "    - {problem}");
    }
    text
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::path::PathBuf;

    use super::*;
    use crate::apps::replay::replay;
    use crate::device::replay::Capture;
    use crate::engine::{Stack, StackConfig};

    const STACK_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

    fn echo_line() -> (Recorded, Replay) {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures/echo-line.pcap");
        let capture = Capture::read(path, &[IpAddr::V4(STACK_ADDR)]).unwrap();
        let engine = Box::new(Stack::new(StackConfig::new(STACK_ADDR).with_fixed_secret()));
        replay(&capture, engine, None).unwrap()
    }

    #[test]
    fn the_verdict_names_what_differs_from_the_recording() {
        let (mut recorded, replay) = echo_line();
        assert!(
            transcript(&recorded, &replay).contains("tuntcp did what the recorded stack did"),
            "{}",
            transcript(&recorded, &replay)
        );
        // As if the recorded stack had echoed other bytes and never closed.
        for placed in &mut recorded.stack {
            placed.seg.payload.iter_mut().for_each(|b| *b ^= 0x20);
            placed.seg.fin = false;
        }
        let text = transcript(&recorded, &replay);
        assert!(
            text.contains("tuntcp did NOT do what the recorded stack did"),
            "{text}"
        );
        assert!(
            text.contains("- FIN: FIN at seq=15, the recorded stack no FIN"),
            "{text}"
        );
        assert!(text.contains("stream bytes 0..14 that differ"), "{text}");
    }

    #[test]
    fn text_payload_is_quoted_and_cut_binary_is_only_counted() {
        assert_eq!(preview(b"hi\n").as_deref(), Some(r#""hi\n""#));
        let long = [b'a'; 50];
        assert_eq!(
            preview(&long).unwrap(),
            format!("\"{}\"...", "a".repeat(PREVIEW_BYTES))
        );
        assert_eq!(preview(&[0, 1, 2]), None);
        assert_eq!(preview(b""), None);
    }

    #[test]
    fn times_are_seconds_with_microseconds() {
        assert_eq!(seconds(Instant::from_micros(512)), "   0.000512");
        assert_eq!(seconds(Instant::from_micros(12_345_678)), "  12.345678");
    }
}
