//! The replay loop: the peer's packets go into a fresh engine at their
//! recorded times (virtual time), an application on the engine side does
//! what the recorded one did, and everything that happens is written down
//! as [`Event`]s, in order.
//!
//! The peer's packets acknowledge the recorded stack's sequence numbers,
//! so their ACK numbers (and SACK blocks) are moved into the replaying
//! engine's sequence space before they go in, never past what the engine
//! has actually sent (see [`Replay::feed_peer_packet`]).

use super::app::{App, AppKind, AppView};
use super::recorded::{Placed, Recorded, SessionError};
use super::segment::{rewrite_acks, Segment};
use crate::device::replay::{Capture, Direction};
use crate::engine::Engine;
use crate::time::Instant;

/// How long the replay keeps running timers after the capture's last
/// packet, so a final delayed ACK still goes out.
pub const TAIL_MICROS: u64 = 500_000;

/// Rounds of "timers, application, transmit" at one instant before the
/// engine is declared stuck: a working engine settles in a handful.
const MAX_ROUNDS: usize = 10_000;

/// Something that happened during a replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A segment crossed the wire: the peer's as it went into the engine
    /// (ACK rewritten), or one the engine sent.
    Segment {
        at: Instant,
        direction: Direction,
        seg: Segment,
    },
    /// The engine's connection changed state (RFC 9293 §3.3.2 names).
    /// `from` is `None` for the state the replay starts in.
    State {
        at: Instant,
        from: Option<&'static str>,
        to: &'static str,
    },
    /// The application made a call, e.g. "accept()", "read 14 bytes".
    App { at: Instant, what: String },
}

/// A replay in progress: the engine, its application, and what happened.
pub struct Replay {
    pub(super) engine: Box<dyn Engine>,
    pub(super) app: App,
    app_kind: AppKind,
    /// What the application saw.
    pub view: AppView,
    recorded_stack_isn: Option<u32>,
    /// The engine's ISN, from its first SYN; None until it sent one.
    engine_isn: Option<u32>,
    /// Highest sequence number the engine has sent, relative to its ISN.
    pub engine_snd_max: u32,
    /// Every segment the engine sent, placed in the capture.
    pub emitted: Vec<Placed>,
    /// The last peer ACK fed in, relative to the engine's ISN.
    pub last_peer_ack: Option<u32>,
    /// Everything that happened, in order.
    pub events: Vec<Event>,
    /// The connection's state as last seen.
    state: Option<&'static str>,
    /// The latest time the engine has been given: time never goes back,
    /// even for a timer that was due before the packet just handled.
    clock: Instant,
}

impl Replay {
    /// A replay of `recorded` into `engine` (fresh, with the recorded
    /// stack's address), with the application `kind`.
    pub fn new(
        mut engine: Box<dyn Engine>,
        recorded: &Recorded,
        kind: AppKind,
    ) -> Result<Replay, SessionError> {
        let app = App::new(kind, engine.as_mut(), recorded)?;
        let mut replay = Replay {
            engine,
            app,
            app_kind: kind,
            view: AppView::default(),
            recorded_stack_isn: recorded.stack_isn(),
            engine_isn: None,
            engine_snd_max: 0,
            emitted: Vec::new(),
            last_peer_ack: None,
            events: Vec::new(),
            state: None,
            clock: Instant::ZERO,
        };
        replay.observe_state(Instant::ZERO);
        Ok(replay)
    }

    /// "tuntcp" or "smoltcp".
    pub fn engine_name(&self) -> &'static str {
        self.engine.name()
    }

    /// The application running on the engine.
    pub fn app_kind(&self) -> AppKind {
        self.app_kind
    }

    /// The connection's state when the replay ended.
    pub fn final_state(&self) -> Option<&'static str> {
        self.state
    }

    /// Runs the whole capture through the engine, then its timers for
    /// [`TAIL_MICROS`] more, then releases the connection.
    pub fn run(&mut self, capture: &Capture, recorded: &Recorded) -> Result<(), SessionError> {
        for (index, packet) in capture.packets.iter().enumerate() {
            self.advance(packet.at, index, recorded)?;
            if packet.direction == Direction::ToStack {
                self.feed_peer_packet(packet.at, &packet.bytes);
                self.advance(packet.at, index + 1, recorded)?;
            }
        }
        let end = capture.packets.last().map_or(Instant::ZERO, |p| p.at);
        let tail = Instant::from_micros(end.total_micros() + TAIL_MICROS);
        self.advance(tail, capture.packets.len(), recorded)?;
        // The application kept its handle to watch the states to the end;
        // now it lets go, as close(2) would have.
        if let Some(conn) = self.view.conn {
            self.engine.close(conn);
        }
        Ok(())
    }

    /// Feeds one of the peer's packets, its ACK moved into the engine's
    /// sequence space.
    ///
    /// The ACK is capped at what the engine has sent: the recorded stack may
    /// have been ahead of the replaying engine (different segment sizes or
    /// timing), and an ACK of unsent data would be dropped (RFC 9293
    /// §3.10.7.4, "If the ACK acks something not yet sent"), a difference
    /// made by the replay, not by the engine.
    fn feed_peer_packet(&mut self, now: Instant, bytes: &[u8]) {
        let now = now.max(self.clock);
        self.clock = now;
        let packet = match (self.recorded_stack_isn, self.engine_isn) {
            (Some(recorded_isn), Some(engine_isn)) => {
                let cap = self.engine_snd_max;
                rewrite_acks(bytes, |ack| {
                    engine_isn.wrapping_add(ack.wrapping_sub(recorded_isn).min(cap))
                })
                .unwrap_or_else(|| bytes.to_vec())
            }
            _ => bytes.to_vec(),
        };
        if let Some(seg) = Segment::parse(&packet) {
            if let (true, Some(engine_isn)) = (seg.has_ack, self.engine_isn) {
                self.last_peer_ack = Some(seg.ack.wrapping_sub(engine_isn));
            }
            self.events.push(Event::Segment {
                at: now,
                direction: Direction::ToStack,
                seg,
            });
        }
        self.engine.handle_packet(now, &packet);
        self.observe_state(now);
    }

    /// Lets timers due by `now` fire at their own times, runs the
    /// application and collects what the engine sends, until quiet.
    fn advance(
        &mut self,
        now: Instant,
        position: usize,
        recorded: &Recorded,
    ) -> Result<(), SessionError> {
        for _ in 0..MAX_ROUNDS {
            let due = self.engine.poll_timeout().filter(|&t| t <= now);
            // A timer fires at its own time, or at once if it was already
            // due when the clock got where it is.
            let at = due.unwrap_or(now).max(self.clock);
            self.clock = at;
            if due.is_some() {
                self.engine.handle_timeout(at);
                self.observe_state(at);
            }
            let app_moved = self.step_app(at, recorded);
            self.observe_state(at);
            let sent = self.drain(at, position);
            self.observe_state(at);
            if due.is_none() && !app_moved && sent == 0 {
                return Ok(());
            }
        }
        Err(SessionError::DidNotSettle {
            at_micros: now.total_micros(),
        })
    }

    fn drain(&mut self, now: Instant, position: usize) -> usize {
        let mut buf = [0u8; 1500];
        let mut count = 0;
        while let Some(len) = self.engine.poll_transmit(now, &mut buf) {
            count += 1;
            let Some(seg) = Segment::parse(&buf[..len]) else {
                // Not TCP (an ICMP answer, say): not part of the session.
                continue;
            };
            if seg.syn && self.engine_isn.is_none() {
                self.engine_isn = Some(seg.seq);
            }
            if let Some(isn) = self.engine_isn {
                let end = seg.seq.wrapping_sub(isn).wrapping_add(seg.seq_len());
                self.engine_snd_max = self.engine_snd_max.max(end);
            }
            if seg.syn && seg.has_ack && self.view.conn.is_none() {
                // A connection not yet accepted has no handle to ask its
                // state; sending SYN,ACK is what a listener does on
                // entering SYN-RECEIVED (RFC 9293 §3.10.7.2).
                self.note_state(now, "SYN-RECEIVED");
            }
            self.events.push(Event::Segment {
                at: now,
                direction: Direction::FromStack,
                seg: seg.clone(),
            });
            self.emitted.push(Placed { position, seg });
        }
        count
    }

    /// Asks the engine for the connection's state and notes a change.
    fn observe_state(&mut self, now: Instant) {
        let state = match self.view.conn {
            Some(conn) => match self.engine.conn_info(conn) {
                Ok(info) => info.state,
                Err(_) => return,
            },
            None => match self.state {
                // Before the handle exists, only the listener is known.
                Some(state) => state,
                None if self.app.is_listening() => "LISTEN",
                None => "CLOSED",
            },
        };
        self.note_state(now, state);
    }

    fn note_state(&mut self, now: Instant, state: &'static str) {
        if self.state != Some(state) {
            self.events.push(Event::State {
                at: now,
                from: self.state,
                to: state,
            });
            self.state = Some(state);
        }
    }

    pub(super) fn note_app(&mut self, now: Instant, what: String) {
        self.events.push(Event::App { at: now, what });
    }
}
