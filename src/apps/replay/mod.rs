//! Replaying a recorded session: the peer's packets from a capture go into
//! a fresh engine (ours or smoltcp) at their recorded times, on virtual
//! time, with an application on the engine side doing what the recorded
//! one did; what the engine sends is written down and compared with what
//! the capture shows the recorded stack sent.
//!
//! Two users: `tuntcp replay FILE`, which prints a [`transcript`] for a
//! person learning TCP, and `tests/replay.rs`, which asserts that both
//! engines behave as the recorded stack did on every capture in
//! `captures/`.
//!
//! - `segment.rs`: a TCP segment as plain fields; rewriting ACK numbers.
//! - `recorded.rs`: the session as the capture shows it.
//! - `app.rs`: the echo server and the client, on the `Engine` trait.
//! - `session.rs`: the replay loop, and the [`Event`]s it records.
//! - `outcome.rs`: what must agree between recording and replay.
//! - `transcript.rs`: the events and a summary, as text.
//! - `ladder.rs`: the events as a ladder (sequence) diagram.

mod app;
mod ladder;
mod outcome;
mod recorded;
mod segment;
mod session;
mod transcript;

pub use app::{AppKind, AppView};
pub use ladder::ladder;
pub use outcome::{first_wrong_payload, outcome, Outcome};
pub use recorded::{fin_position, isn_of, stream_of, Placed, Recorded, SessionError};
pub use segment::{rewrite_acks, SegOption, Segment};
pub use session::{Event, Replay, TAIL_MICROS};
pub use transcript::transcript;

use crate::device::replay::Capture;
use crate::engine::Engine;

/// Replays `capture` into `engine` (fresh, with the recorded stack's
/// address) with the application `app`, or the one the capture shows when
/// `None`: the echo server if the peer opened, the client if the stack did.
pub fn replay(
    capture: &Capture,
    engine: Box<dyn Engine>,
    app: Option<AppKind>,
) -> Result<(Recorded, Replay), SessionError> {
    let recorded = Recorded::from_capture(capture)?;
    let kind = app.unwrap_or_else(|| AppKind::of(&recorded));
    let mut replay = Replay::new(engine, &recorded, kind)?;
    replay.run(capture, &recorded)?;
    Ok((recorded, replay))
}
