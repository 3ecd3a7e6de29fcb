//! Does a packet the stack sent match a `>` line? Sequence numbers are
//! compared relative to each side's ISN, SACK blocks remapped, and the
//! stack's own choices compared loosely (see `loose.rs`).

use super::loose::{Loosening, Strictness};
use super::packets::{encode_options, Sent};
use super::script::{PacketSpec, TcpOptionSpec};

/// The initial sequence numbers of the connection: the peer's is the
/// runner's choice, the stack's is learned from its SYN or SYN-ACK.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Isns {
    pub stack: Option<u32>,
    pub peer: u32,
}

impl Isns {
    /// The stack's ISN, or 0 before it is known (packets to a closed port).
    pub fn stack_or_zero(&self) -> u32 {
        self.stack.unwrap_or(0)
    }
}

/// The options of raw bytes, in order, NOPs and EOLs included.
pub fn decode_options(raw: &[u8]) -> Vec<TcpOptionSpec> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < raw.len() {
        let kind = raw[at];
        if kind <= 1 {
            out.push(if kind == 0 {
                TcpOptionSpec::Eol
            } else {
                TcpOptionSpec::Nop
            });
            at += 1;
            continue;
        }
        let len = usize::from(*raw.get(at + 1).unwrap_or(&0)).max(2);
        let body = &raw[(at + 2).min(raw.len())..(at + len).min(raw.len())];
        let long = |i: usize| {
            body.get(i..i + 4)
                .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        out.push(match (kind, body.len()) {
            (2, 2) => TcpOptionSpec::Mss(u16::from_be_bytes([body[0], body[1]])),
            (3, 1) => TcpOptionSpec::WindowScale(body[0]),
            (4, 0) => TcpOptionSpec::SackPermitted,
            (5, n) if n % 8 == 0 => {
                TcpOptionSpec::Sack((0..n / 8).map(|i| (long(8 * i), long(8 * i + 4))).collect())
            }
            (8, 8) => TcpOptionSpec::Timestamp {
                val: long(0),
                ecr: long(4),
            },
            (kind, _) => TcpOptionSpec::Other(format!("kind {kind}")),
        });
        at += len;
    }
    out
}

/// Options as a script writes them: `<mss 1460,nop,wscale 7>`.
pub fn render_options(options: &[TcpOptionSpec]) -> String {
    let items: Vec<String> = options
        .iter()
        .map(|option| match option {
            TcpOptionSpec::Nop => "nop".into(),
            TcpOptionSpec::Eol => "eol".into(),
            TcpOptionSpec::Mss(mss) => format!("mss {mss}"),
            TcpOptionSpec::WindowScale(shift) => format!("wscale {shift}"),
            TcpOptionSpec::SackPermitted => "sackOK".into(),
            TcpOptionSpec::Sack(blocks) => {
                let blocks: Vec<String> = blocks.iter().map(|(l, r)| format!("{l}:{r}")).collect();
                format!("sack {}", blocks.join(" "))
            }
            TcpOptionSpec::Timestamp { val, ecr } => format!("TS val {val} ecr {ecr}"),
            TcpOptionSpec::Other(name) => name.clone(),
        })
        .collect();
    format!("<{}>", items.join(","))
}

/// A sent packet in script notation, relative to the ISNs.
pub fn render_sent(sent: &Sent, isns: &Isns) -> String {
    let start = sent.seq.wrapping_sub(isns.stack_or_zero());
    let mut text = format!(
        "{} {start}:{}({})",
        sent.flags,
        start.wrapping_add(sent.payload_len as u32),
        sent.payload_len
    );
    if sent.flags.ack {
        text += &format!(" ack {}", sent.ack.wrapping_sub(isns.peer));
    }
    text += &format!(" win {}", sent.window);
    let options = relative_sack(decode_options(&sent.raw_options), isns.peer);
    if !options.is_empty() {
        text += &format!(" {}", render_options(&options));
    }
    text
}

/// SACK blocks from absolute to relative to the peer's ISN (they cover
/// the peer's data).
fn relative_sack(options: Vec<TcpOptionSpec>, peer_isn: u32) -> Vec<TcpOptionSpec> {
    options
        .into_iter()
        .map(|option| option.map_sack(|edge| edge.wrapping_sub(peer_isn)))
        .collect()
}

/// Compares `sent` with `spec`, whose payload starts at `start` and is
/// `len` long (a script packet larger than the MSS is matched by several
/// segments; the runner moves `start` on). `Err` says what differed.
pub fn check_packet(
    spec: &PacketSpec,
    start: u32,
    len: u32,
    sent: &Sent,
    isns: &Isns,
    strictness: Strictness,
) -> Result<(), String> {
    let mut expected_flags = spec.flags;
    let mut actual_flags = sent.flags;
    if strictness.loosens(Loosening::PushFlag) {
        expected_flags.psh = false;
        actual_flags.psh = false;
    }
    if expected_flags != actual_flags {
        return Err(format!("flags {} against {}", spec.flags, sent.flags));
    }
    let seq = sent.seq.wrapping_sub(isns.stack_or_zero());
    if seq != start {
        return Err(format!("seq {start} against {seq}"));
    }
    let sent_len = sent.payload_len as u32;
    if sent_len != len && !(sent_len > 0 && sent_len < len) {
        return Err(format!("payload length {len} against {sent_len}"));
    }
    if let Some(ack) = spec.ack {
        let actual = sent.ack.wrapping_sub(isns.peer);
        if actual != ack {
            return Err(format!("ack {ack} against {actual}"));
        }
    }
    if let Some(window) = spec.window {
        check_window(window, sent.window, strictness)?;
    }
    if let Some(options) = &spec.options {
        check_options(options, sent, isns, strictness)?;
    }
    match spec.ip_ecn {
        Some(ecn) if ecn != sent.ecn => Err(format!("IP ECN {ecn:?} against {:?}", sent.ecn)),
        _ => Ok(()),
    }
}

fn check_window(expected: u16, actual: u16, strictness: Strictness) -> Result<(), String> {
    let same = if strictness.loosens(Loosening::WindowValue) {
        (expected == 0) == (actual == 0)
    } else {
        expected == actual
    };
    match same {
        true => Ok(()),
        false => Err(format!("win {expected} against {actual}")),
    }
}

fn check_options(
    expected: &[TcpOptionSpec],
    sent: &Sent,
    isns: &Isns,
    strictness: Strictness,
) -> Result<(), String> {
    let actual = relative_sack(decode_options(&sent.raw_options), isns.peer);
    let normalize = |options: &[TcpOptionSpec]| -> Vec<TcpOptionSpec> {
        let mut out: Vec<TcpOptionSpec> = options
            .iter()
            .filter(|o| {
                !strictness.loosens(Loosening::OptionLayout)
                    || !matches!(o, TcpOptionSpec::Nop | TcpOptionSpec::Eol)
            })
            .map(|o| match o {
                // packetdrill does not check an outbound TSval.
                TcpOptionSpec::Timestamp { ecr, .. } => {
                    TcpOptionSpec::Timestamp { val: 0, ecr: *ecr }
                }
                TcpOptionSpec::WindowScale(_)
                    if strictness.loosens(Loosening::WindowScaleShift) =>
                {
                    TcpOptionSpec::WindowScale(0)
                }
                other => other.clone(),
            })
            .collect();
        if strictness.loosens(Loosening::OptionLayout) {
            out.sort_by_key(|o| format!("{o:?}"));
        }
        out
    };
    // Strict: padding as packetdrill would have sent it.
    let expected_padded = match strictness.loosens(Loosening::OptionLayout) {
        true => expected.to_vec(),
        false => encode_options(expected).map_or(expected.to_vec(), |raw| decode_options(&raw)),
    };
    if normalize(&expected_padded) != normalize(&actual) {
        return Err(format!(
            "options {} against {}",
            render_options(expected),
            render_options(&actual)
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "matcher_tests.rs"]
mod tests;
