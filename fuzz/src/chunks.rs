//! How the connection target cuts its input into segments. Each segment is
//! an 11-byte head and then its option and payload bytes:
//!
//! ```text
//!  0      control: bits 0-2 clock step (0, then 4^k ms: 4 ms .. 16 s)
//!                  bits 3-5 what the application does (see `AppAction`)
//!                  bit 6    SEQ counts from the peer's ISN, not SND.NXT
//!                  bit 7    put a right Timestamps option first
//!  1      TCP flags (all eight bits, CWR and ECE included)
//!  2..4   SEQ - the peer's SND.NXT (i16)
//!  4..6   ACK - the highest the stack sent (i16)
//!  6..8   window
//!  8      option bytes that follow (at most 40 are used)
//!  9..11  payload bytes that follow (fewer if the input ends)
//! ```
//!
//! Seeds are written with [`encode`], so the capture of a real session
//! becomes a fuzz input.

use std::time::Duration;

pub const HEAD_LEN: usize = 11;

/// What the echo application does after a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppAction {
    /// Reads and echoes back what it read.
    Echo,
    /// Does nothing: the receive buffer fills.
    Nothing,
    /// Writes 1,000 bytes.
    WriteSome,
    /// Writes 100,000 bytes (fills the send buffer).
    WriteMany,
    /// Shuts its sending side (FIN).
    Shutdown,
    /// Closes the connection.
    Close,
    /// Aborts the connection (RST).
    Abort,
    /// Sends a byte of urgent data.
    Urgent,
}

impl AppAction {
    fn from_bits(bits: u8) -> AppAction {
        match bits & 7 {
            0 => AppAction::Echo,
            1 => AppAction::Nothing,
            2 => AppAction::WriteSome,
            3 => AppAction::WriteMany,
            4 => AppAction::Shutdown,
            5 => AppAction::Close,
            6 => AppAction::Abort,
            _ => AppAction::Urgent,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Chunk<'a> {
    pub step: Duration,
    pub action: AppAction,
    pub seq_from_isn: bool,
    pub with_timestamps: bool,
    pub flags: u8,
    pub seq_offset: i16,
    pub ack_offset: i16,
    pub window: u16,
    pub options: &'a [u8],
    pub payload: &'a [u8],
}

/// Splits the input into chunks; a trailing part shorter than a head is
/// ignored.
pub fn decode(mut data: &[u8]) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    while data.len() >= HEAD_LEN {
        let (head, rest) = data.split_at(HEAD_LEN);
        let be = |at: usize| u16::from_be_bytes([head[at], head[at + 1]]);
        let options_len = usize::from(head[8]).min(rest.len());
        let (options, rest) = rest.split_at(options_len);
        let payload_len = usize::from(be(9)).min(rest.len());
        let (payload, rest) = rest.split_at(payload_len);
        let step_code = u32::from(head[0] & 7);
        chunks.push(Chunk {
            step: match step_code {
                0 => Duration::ZERO,
                k => Duration::from_millis(4u64.pow(k)),
            },
            action: AppAction::from_bits(head[0] >> 3),
            seq_from_isn: head[0] & 0x40 != 0,
            with_timestamps: head[0] & 0x80 != 0,
            flags: head[1],
            seq_offset: be(2) as i16,
            ack_offset: be(4) as i16,
            window: be(6),
            options,
            payload,
        });
        data = rest;
    }
    chunks
}

/// The bytes [`decode`] reads back as a segment in order (SEQ = SND.NXT,
/// ACK = the stack's highest) with these flags, window and payload, the
/// clock moved by `step_code` and the application echoing.
pub fn encode(step_code: u8, flags: u8, window: u16, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let payload = &payload[..payload.len().min(usize::from(u16::MAX))];
    let options = &options[..options.len().min(40)];
    let mut out = vec![step_code & 7, flags, 0, 0, 0, 0];
    out.extend_from_slice(&window.to_be_bytes());
    out.push(options.len() as u8);
    out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    out.extend_from_slice(options);
    out.extend_from_slice(payload);
    out
}
