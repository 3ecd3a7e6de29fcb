//! A replay drawn as the picture TCP textbooks draw: a ladder (sequence)
//! diagram, time running down, the kernel's side on the left, the stack's
//! on the right, one arrow per segment with its label on the arrow, the
//! stack's state changes under its side and the application's calls beside
//! it (`tuntcp replay --ladder FILE`).
//!
//! ```text
//!     time   kernel 192.0.2.1:41234                   stack 192.0.2.2:7
//!                                                          LISTEN
//!   0.000000 |--- [SYN] seq=0 win=64240 <mss 1460> ------->|
//!                                                          SYN-RECEIVED
//!   0.000000 |<-- [SYN,ACK] seq=0 ack=1 win=65535 ---------|
//! ```
//!
//! Numbers are relative to each side's initial sequence number, as in the
//! transcript (`transcript.rs`); timestamp values are left out (they are
//! noise in a picture), the other options stay.

use std::fmt::Write;

use super::recorded::Recorded;
use super::segment::{SegOption, Segment};
use super::session::{Event, Replay};
use super::transcript::{header_fields, option_text, preview, seconds, summary, Bases};
use crate::device::replay::Direction;

/// The narrowest the space between the two sides gets, and the widest:
/// a longer label is cut (the transcript has it whole).
const MIN_LANE: usize = 40;
const MAX_LANE: usize = 90;
/// Room left on the arrow around its label: "|--- " and " --->|".
const ARROW_ENDS: usize = 10;

/// The ladder of the replay's events, then the transcript's summary.
pub fn ladder(recorded: &Recorded, replay: &Replay) -> String {
    let bases = Bases::of(&replay.events);
    let labels: Vec<Option<String>> = replay
        .events
        .iter()
        .map(|event| match event {
            Event::Segment { direction, seg, .. } => Some(label(seg, *direction, &bases)),
            _ => None,
        })
        .collect();
    let longest = labels.iter().flatten().map(|l| l.chars().count()).max();
    let lane = (longest.unwrap_or(0) + ARROW_ENDS).clamp(MIN_LANE, MAX_LANE);
    let mut text = header(recorded, lane);
    for (event, label) in replay.events.iter().zip(&labels) {
        text += &row(event, label.as_deref(), lane);
        text.push('\n');
    }
    text += &summary(recorded, replay);
    text
}

/// The two sides' names over their lines.
fn header(recorded: &Recorded, lane: usize) -> String {
    let left = format!("kernel {}", recorded.peer_end);
    let right = format!("stack {}", recorded.stack_end);
    // The right name starts over the right-hand line.
    let gap = (lane + 1).saturating_sub(left.chars().count());
    format!("{:>11} {left}{:gap$}{right}\n", "time", "")
}

fn row(event: &Event, label: Option<&str>, lane: usize) -> String {
    // The stack's line sits after the time column and the lane.
    let stack_column = 12 + lane + 1;
    match (event, label) {
        (Event::Segment { at, direction, .. }, Some(label)) => {
            format!("{} {}", seconds(*at), arrow(label, *direction, lane))
        }
        (Event::State { to, .. }, _) => format!("{:stack_column$}{to}", ""),
        (Event::App { what, .. }, _) => format!("{:stack_column$}  app: {what}", ""),
        (Event::Segment { .. }, None) => String::new(),
    }
}

/// `|--- label --->|` or `|<-- label ----|`, `lane` characters between
/// the bars.
fn arrow(label: &str, direction: Direction, lane: usize) -> String {
    let room = lane - ARROW_ENDS;
    let label: String = if label.chars().count() > room {
        let cut: String = label.chars().take(room - 3).collect();
        cut + "..."
    } else {
        label.to_string()
    };
    let dashes = lane - 8 - label.chars().count();
    match direction {
        Direction::ToStack => format!("|--- {label} {}>|", "-".repeat(dashes + 2)),
        Direction::FromStack => format!("|<-- {label} {}|", "-".repeat(dashes + 3)),
    }
}

/// `[SYN] seq=0 win=64240 <mss 1460,sackOK,TS,ws 10>`, data as its
/// length and, for text, a quote.
fn label(seg: &Segment, direction: Direction, bases: &Bases) -> String {
    let (own, other) = match direction {
        Direction::ToStack => (bases.peer, bases.stack),
        Direction::FromStack => (bases.stack, bases.peer),
    };
    let mut text = header_fields(seg, own, other);
    let options: Vec<String> = seg
        .options
        .iter()
        .map(|option| match option {
            SegOption::Timestamp { .. } => "TS".to_string(),
            other_option => option_text(other_option, other),
        })
        .collect();
    // Timestamps alone on every segment say nothing new.
    if options.iter().any(|o| o != "TS") {
        let _ = write!(text, " <{}>", options.join(","));
    }
    if let Some(quote) = preview(&seg.payload) {
        let _ = write!(text, " {quote}");
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

    fn echo_line_ladder() -> String {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures/echo-line.pcap");
        let capture = Capture::read(path, &[IpAddr::V4(STACK_ADDR)]).unwrap();
        let engine = Box::new(Stack::new(StackConfig::new(STACK_ADDR).with_fixed_secret()));
        let (recorded, replay) = replay(&capture, engine, None).unwrap();
        ladder(&recorded, &replay)
    }

    #[test]
    fn the_handshake_is_drawn_as_arrows_between_the_two_sides() {
        let text = echo_line_ladder();
        let lines: Vec<&str> = text.lines().collect();
        let syn = lines
            .iter()
            .position(|l| l.contains("[SYN] seq=0"))
            .unwrap();
        assert!(lines[syn].contains("|--- [SYN] seq=0"), "{text}");
        assert!(lines[syn].ends_with("->|"), "{text}");
        let syn_ack = lines.iter().position(|l| l.contains("[SYN,ACK]")).unwrap();
        assert!(
            lines[syn_ack].contains("|<-- [SYN,ACK] seq=0 ack=1"),
            "{text}"
        );
        assert!(lines[syn_ack].ends_with("-|"), "{text}");
        assert!(syn < syn_ack, "{text}");
        // Every arrow has the same length: the two sides are straight lines.
        let widths: Vec<usize> = lines
            .iter()
            .filter(|l| l.contains("|---") || l.contains("|<--"))
            .map(|l| l.chars().count())
            .collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{text}");
    }

    #[test]
    fn states_sit_under_the_stack_and_data_is_quoted() {
        let text = echo_line_ladder();
        let header = text.lines().next().unwrap();
        let stack_column = header.find("stack ").unwrap();
        let established = text
            .lines()
            .find(|l| l.trim() == "ESTABLISHED")
            .unwrap_or_else(|| panic!("{text}"));
        assert_eq!(established.find('E'), Some(stack_column), "{text}");
        assert!(text.contains("len=14 \"hello, tuntcp\\n\""), "{text}");
        assert!(text.contains("compared with the capture"), "{text}");
    }

    #[test]
    fn a_long_label_is_cut_to_the_lane() {
        let label = "x".repeat(200);
        let drawn = arrow(&label, Direction::ToStack, MAX_LANE);
        assert_eq!(drawn.chars().count(), MAX_LANE + 2);
        assert!(drawn.contains("...") && drawn.ends_with("->|"));
    }
}
