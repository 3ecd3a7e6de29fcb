//! Replay tests: real sessions between the Linux kernel's TCP and tuntcp,
//! recorded by `scripts/record-captures.sh` into `captures/*.pcap`, are
//! played back into a fresh engine (ours, and smoltcp) on virtual time.
//!
//! The kernel's packets go in at their recorded times; an application on
//! the engine side does what the recorded one did (echo server, or the
//! `tuntcp connect` client); what the engine sends is compared with what
//! the capture shows the recorded stack sent. Not byte for byte: initial
//! sequence numbers differ, and so do ACK timing and segment boundaries.
//! What must match is what TCP promises: the handshake answer, every byte
//! delivered in order each way, FINs in the same order, RST where the
//! capture has one, and both sides' data acknowledged at the end.
//!
//! The kernel's packets acknowledge the recorded stack's sequence numbers,
//! so their ACK numbers (and SACK blocks) are moved into the replaying
//! engine's sequence space before they go in, never past what the engine
//! has actually sent (see [`Replay::feed_peer_packet`]).

mod common;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;

use common::craft::{rewrite_acks, ParsedTcp, ACK, FIN, RST, SYN};
use tuntcp::device::replay::{Capture, Direction};
use tuntcp::engine::{ApiError, ConnId, Engine, ListenerId, Stack, StackConfig};
use tuntcp::reference::{SmolConfig, SmolEngine};
use tuntcp::time::Instant;

/// The recorded stack's address in every capture (the project's default).
const STACK_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

/// How long the replay keeps running timers after the capture's last
/// packet, so a final delayed ACK still goes out.
const TAIL_MICROS: u64 = 500_000;

fn capture(name: &str) -> Capture {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name);
    Capture::read(&path, STACK_ADDR).unwrap_or_else(|err| panic!("{name}: {err}"))
}

fn engines() -> Vec<Box<dyn Engine>> {
    vec![
        Box::new(Stack::new(StackConfig::new(STACK_ADDR))),
        Box::new(SmolEngine::new(SmolConfig::new(STACK_ADDR))),
    ]
}

/// One TCP segment and where it sits in the session: `position` is the
/// number of capture packets that had crossed the device before it, so a
/// recorded packet's position is its index, and an engine's segment sent
/// right after capture packet #i went in has position i + 1.
#[derive(Clone, Debug)]
struct Placed {
    position: usize,
    seg: ParsedTcp,
}

/// The recorded session, read from the capture.
struct Recorded {
    /// Segments the recorded stack sent, and the peer's, in order.
    stack: Vec<Placed>,
    peer: Vec<Placed>,
    stack_end: SocketAddrV4,
    peer_end: SocketAddrV4,
    /// True when the stack sent the first SYN (`tuntcp connect`).
    active_open: bool,
}

impl Recorded {
    fn from_capture(capture: &Capture) -> Recorded {
        let placed = |direction| -> Vec<Placed> {
            capture
                .going(direction)
                .map(|(index, packet)| Placed {
                    position: index,
                    seg: ParsedTcp::parse(&packet.bytes)
                        .unwrap_or_else(|| panic!("capture packet #{index} is not TCP/IPv4")),
                })
                .collect()
        };
        let stack = placed(Direction::FromStack);
        let peer = placed(Direction::ToStack);
        let first = stack
            .iter()
            .chain(&peer)
            .min_by_key(|p| p.position)
            .expect("an empty capture");
        let active_open = first.seg.src.ip() == &STACK_ADDR;
        let (stack_end, peer_end) = if active_open {
            (first.seg.src, first.seg.dst)
        } else {
            (first.seg.dst, first.seg.src)
        };
        Recorded {
            stack,
            peer,
            stack_end,
            peer_end,
            active_open,
        }
    }

    /// The stack's own ISN in the recording: the sequence number of its
    /// SYN or SYN-ACK (an RST-only stack has none).
    fn stack_isn(&self) -> Option<u32> {
        self.stack
            .iter()
            .find(|p| p.seg.has(SYN))
            .map(|p| p.seg.seq)
    }
}

/// The application on the engine side, doing what the recorded one did.
enum App {
    /// `tuntcp echo`: accept, echo every byte, close after the peer's FIN
    /// once everything is echoed. `None` listener: the port was closed.
    EchoServer {
        listener: Option<ListenerId>,
        pending: Vec<u8>,
    },
    /// `tuntcp connect`: send what the recorded stack sent, FIN after it if
    /// the recorded stack closed first, close after the peer's FIN.
    Client {
        to_send: Vec<u8>,
        sent: usize,
        fin_first: bool,
        shut: bool,
    },
}

/// What the application saw.
#[derive(Default)]
struct AppView {
    conn: Option<ConnId>,
    received: Vec<u8>,
    eof: bool,
    closed: bool,
    errors: Vec<ApiError>,
}

/// A replay in progress: the engine, its application, and every segment
/// the engine sent.
struct Replay {
    engine: Box<dyn Engine>,
    app: App,
    view: AppView,
    recorded_stack_isn: Option<u32>,
    /// The engine's ISN, from its first SYN; None until it sent one.
    engine_isn: Option<u32>,
    /// Highest sequence number the engine has sent, relative to its ISN.
    engine_snd_max: u32,
    emitted: Vec<Placed>,
    /// The last peer ACK fed in, relative to the engine's ISN.
    last_peer_ack: Option<u32>,
}

impl Replay {
    fn new(mut engine: Box<dyn Engine>, recorded: &Recorded) -> Replay {
        let app = if recorded.active_open {
            let fin_first = fin_position(&recorded.stack) < fin_position(&recorded.peer);
            App::Client {
                to_send: stream_of(&recorded.stack, "recorded stack"),
                sent: 0,
                fin_first,
                shut: false,
            }
        } else {
            // Listen only where the recorded stack answered with SYN-ACK.
            let answered = recorded.stack.iter().any(|p| p.seg.has(SYN));
            let listener = answered.then(|| {
                engine
                    .listen(recorded.stack_end, 8)
                    .expect("listen on the captured port")
            });
            App::EchoServer {
                listener,
                pending: Vec::new(),
            }
        };
        Replay {
            engine,
            app,
            view: AppView::default(),
            recorded_stack_isn: recorded.stack_isn(),
            engine_isn: None,
            engine_snd_max: 0,
            emitted: Vec::new(),
            last_peer_ack: None,
        }
    }

    /// Runs the whole capture through the engine.
    fn run(&mut self, capture: &Capture, recorded: &Recorded) {
        for (index, packet) in capture.packets.iter().enumerate() {
            self.advance(packet.at, index, recorded);
            if packet.direction == Direction::ToStack {
                self.feed_peer_packet(packet.at, &packet.bytes);
                self.advance(packet.at, index + 1, recorded);
            }
        }
        let end = capture.packets.last().map_or(Instant::ZERO, |p| p.at);
        let tail = Instant::from_micros(end.total_micros() + TAIL_MICROS);
        self.advance(tail, capture.packets.len(), recorded);
    }

    /// Feeds one of the kernel's packets, its ACK moved into the engine's
    /// sequence space.
    ///
    /// The ACK is capped at what the engine has sent: the recorded stack may
    /// have been ahead of the replaying engine (different segment sizes or
    /// timing), and an ACK of unsent data would be dropped (RFC 9293
    /// §3.10.7.4, "If the ACK acks something not yet sent"), a difference
    /// made by the replay, not by the engine.
    fn feed_peer_packet(&mut self, now: Instant, bytes: &[u8]) {
        let packet = match (self.recorded_stack_isn, self.engine_isn) {
            (Some(recorded_isn), Some(engine_isn)) => {
                let cap = self.engine_snd_max;
                let packet = rewrite_acks(bytes, |ack| {
                    engine_isn.wrapping_add(ack.wrapping_sub(recorded_isn).min(cap))
                });
                if let Some(seg) = ParsedTcp::parse(&packet).filter(|s| s.has(ACK)) {
                    self.last_peer_ack = Some(seg.ack.wrapping_sub(engine_isn));
                }
                packet
            }
            _ => bytes.to_vec(),
        };
        self.engine.handle_packet(now, &packet);
    }

    /// Lets timers due by `now` fire at their own times, runs the
    /// application and collects what the engine sends, until quiet.
    fn advance(&mut self, now: Instant, position: usize, recorded: &Recorded) {
        for _ in 0..10_000 {
            let due = self.engine.poll_timeout().filter(|&t| t <= now);
            let at = due.unwrap_or(now);
            if let Some(at) = due {
                self.engine.handle_timeout(at);
            }
            let app_moved = self.step_app(at, recorded);
            let sent = self.drain(at, position);
            if due.is_none() && !app_moved && sent == 0 {
                return;
            }
        }
        panic!("the engine did not settle by {now} (position {position})");
    }

    fn drain(&mut self, now: Instant, position: usize) -> usize {
        let mut buf = [0u8; 1500];
        let mut count = 0;
        while let Some(len) = self.engine.poll_transmit(now, &mut buf) {
            count += 1;
            let seg = ParsedTcp::parse(&buf[..len]).unwrap_or_else(|| {
                panic!("{} sent a packet that is not TCP/IPv4", self.engine.name())
            });
            if seg.has(SYN) && self.engine_isn.is_none() {
                self.engine_isn = Some(seg.seq);
            }
            if let Some(isn) = self.engine_isn {
                let end = seg.seq.wrapping_sub(isn).wrapping_add(seg.seg_len());
                self.engine_snd_max = self.engine_snd_max.max(end);
            }
            self.emitted.push(Placed { position, seg });
        }
        count
    }

    /// One round of the application; true if it did anything.
    fn step_app(&mut self, now: Instant, recorded: &Recorded) -> bool {
        if self.view.closed {
            return false;
        }
        let mut moved = false;
        if self.view.conn.is_none() {
            moved |= self.open(now, recorded);
        }
        let Some(conn) = self.view.conn else {
            return moved;
        };
        moved |= self.read_all(conn);
        moved |= self.write_some(conn);
        let done_writing = match &self.app {
            App::EchoServer { pending, .. } => pending.is_empty(),
            App::Client { to_send, sent, .. } => *sent == to_send.len(),
        };
        if self.view.eof && done_writing {
            self.engine.close(conn);
            self.view.closed = true;
            moved = true;
        }
        moved
    }

    fn open(&mut self, now: Instant, recorded: &Recorded) -> bool {
        match &self.app {
            App::EchoServer { listener, .. } => {
                let Some(listener) = *listener else {
                    return false;
                };
                match self.engine.accept(listener) {
                    Ok(conn) => self.view.conn = Some(conn),
                    Err(ApiError::WouldBlock) => return false,
                    Err(err) => self.view.errors.push(err),
                }
            }
            App::Client { .. } => {
                let port = Some(recorded.stack_end.port());
                match self.engine.connect(now, recorded.peer_end, port) {
                    Ok(conn) => self.view.conn = Some(conn),
                    Err(err) => {
                        self.view.errors.push(err);
                        self.view.closed = true;
                    }
                }
            }
        }
        true
    }

    fn read_all(&mut self, conn: ConnId) -> bool {
        let mut buf = [0u8; 4096];
        let mut moved = false;
        while !self.view.eof {
            match self.engine.recv(conn, &mut buf) {
                Ok(0) => self.view.eof = true,
                Ok(n) => {
                    self.view.received.extend_from_slice(&buf[..n]);
                    if let App::EchoServer { pending, .. } = &mut self.app {
                        pending.extend_from_slice(&buf[..n]);
                    }
                }
                Err(ApiError::WouldBlock) => break,
                Err(err) => {
                    self.view.errors.push(err);
                    self.view.closed = true;
                    return true;
                }
            }
            moved = true;
        }
        moved
    }

    fn write_some(&mut self, conn: ConnId) -> bool {
        let engine = &mut self.engine;
        let mut moved = false;
        match &mut self.app {
            App::EchoServer { pending, .. } => {
                while !pending.is_empty() {
                    match engine.send(conn, pending) {
                        Ok(n) => drop(pending.drain(..n)),
                        Err(_) => break,
                    }
                    moved = true;
                }
            }
            App::Client {
                to_send,
                sent,
                fin_first,
                shut,
            } => {
                // The client must wait for the handshake before writing.
                if engine.connect_status(conn).is_err() {
                    return false;
                }
                while *sent < to_send.len() {
                    match engine.send(conn, &to_send[*sent..]) {
                        Ok(n) => *sent += n,
                        Err(_) => break,
                    }
                    moved = true;
                }
                if *fin_first && !*shut && *sent == to_send.len() {
                    *shut = true;
                    moved = true;
                    engine.shutdown_write(conn).expect("shutdown_write");
                }
            }
        }
        moved
    }
}

/// Position of the first FIN among `segs`, `usize::MAX` if none.
fn fin_position(segs: &[Placed]) -> usize {
    segs.iter()
        .find(|p| p.seg.has(FIN))
        .map_or(usize::MAX, |p| p.position)
}

/// The byte stream `segs` carry, put together by sequence number relative
/// to their sender's SYN, whatever the segmentation and retransmissions.
/// Panics if two segments disagree on a byte or leave a hole.
fn stream_of(segs: &[Placed], who: &str) -> Vec<u8> {
    let Some(isn) = segs.iter().find(|p| p.seg.has(SYN)).map(|p| p.seg.seq) else {
        return Vec::new();
    };
    let mut bytes: Vec<Option<u8>> = Vec::new();
    for placed in segs.iter().filter(|p| !p.seg.payload.is_empty()) {
        let offset = placed.seg.seq.wrapping_sub(isn).wrapping_sub(1) as usize;
        let end = offset + placed.seg.payload.len();
        if bytes.len() < end {
            bytes.resize(end, None);
        }
        for (i, &byte) in placed.seg.payload.iter().enumerate() {
            let slot = &mut bytes[offset + i];
            assert!(
                slot.is_none_or(|old| old == byte),
                "{who}: segment at position {} changes byte {} of the stream",
                placed.position,
                offset + i
            );
            *slot = Some(byte);
        }
    }
    bytes
        .iter()
        .enumerate()
        .map(|(i, b)| b.unwrap_or_else(|| panic!("{who}: byte {i} of the stream never sent")))
        .collect()
}

/// What must agree between the recording and the replay, each a sentence
/// for the failure message.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    /// Flags of the stack's first segment and its ACK relative to the
    /// peer's ISN, e.g. "[S.] ack 1".
    first_answer: String,
    /// Whether the stack reset the connection.
    sent_rst: bool,
    /// Where the stack's FIN sits relative to its ISN, if it sent one.
    fin_seq: Option<u32>,
    /// Whether the stack's FIN went out before the peer's came in.
    fin_before_peer_fin: Option<bool>,
    /// Highest ACK the stack sent, relative to the peer's ISN.
    final_ack: Option<u32>,
}

fn outcome(stack: &[Placed], peer: &[Placed]) -> Outcome {
    let peer_isn = peer.iter().find(|p| p.seg.has(SYN)).map(|p| p.seg.seq);
    let own_isn = stack.iter().find(|p| p.seg.has(SYN)).map(|p| p.seg.seq);
    let relative_ack = |seg: &ParsedTcp| peer_isn.map(|isn| seg.ack.wrapping_sub(isn));
    let first_answer = stack.first().map_or("nothing".to_string(), |p| {
        match relative_ack(&p.seg).filter(|_| p.seg.has(ACK)) {
            Some(ack) => format!("[{}] ack {ack}", p.seg.flag_letters()),
            None => format!("[{}]", p.seg.flag_letters()),
        }
    });
    let fin = stack.iter().find(|p| p.seg.has(FIN));
    let peer_fin = fin_position(peer);
    Outcome {
        first_answer,
        sent_rst: stack.iter().any(|p| p.seg.has(RST)),
        fin_seq: fin.and_then(|p| {
            let end = p.seg.seq.wrapping_add(p.seg.payload.len() as u32);
            own_isn.map(|isn| end.wrapping_sub(isn))
        }),
        fin_before_peer_fin: fin.map(|p| p.position <= peer_fin),
        final_ack: stack
            .iter()
            .filter(|p| p.seg.has(ACK) && !p.seg.has(RST))
            .filter_map(|p| relative_ack(&p.seg))
            .max(),
    }
}

/// The first segment the engine sent whose payload differs from the
/// recorded stack's stream at the same offset, as a failure message.
fn first_wrong_payload(emitted: &[Placed], expected: &[u8]) -> Option<String> {
    let isn = emitted.iter().find(|p| p.seg.has(SYN))?.seg.seq;
    emitted.iter().find_map(|placed| {
        let offset = placed.seg.seq.wrapping_sub(isn).wrapping_sub(1) as usize;
        let payload = &placed.seg.payload;
        let want = expected.get(offset..offset + payload.len());
        (!payload.is_empty() && want != Some(&payload[..])).then(|| {
            format!(
                "the segment sent after capture packet #{} carries stream bytes {}..{} that differ from what the recorded stack sent there",
                placed.position.saturating_sub(1),
                offset,
                offset + payload.len()
            )
        })
    })
}

/// Replays `name` into every engine and checks the outcome.
fn replay_capture(name: &str) {
    let capture = capture(name);
    let recorded = Recorded::from_capture(&capture);
    let recorded_out = outcome(&recorded.stack, &recorded.peer);
    let stack_stream = stream_of(&recorded.stack, "recorded stack");
    let peer_stream = stream_of(&recorded.peer, "recorded peer");
    for engine in engines() {
        let engine_name = engine.name();
        let mut replay = Replay::new(engine, &recorded);
        replay.run(&capture, &recorded);
        let context = format!("{name} replayed into {engine_name}");
        if let Some(problem) = first_wrong_payload(&replay.emitted, &stack_stream) {
            panic!("{context}: {problem}");
        }
        let replayed_out = outcome(&replay.emitted, &recorded.peer);
        assert_eq!(
            replayed_out,
            recorded_out,
            "{context}: the engine's visible behaviour (left) differs from the recording (right)\n{}",
            describe(&replay.emitted)
        );
        check_application(&context, &replay, &recorded, &peer_stream, &stack_stream);
    }
}

fn check_application(
    context: &str,
    replay: &Replay,
    recorded: &Recorded,
    peer_stream: &[u8],
    stack_stream: &[u8],
) {
    assert_eq!(replay.view.errors, vec![], "{context}: application errors");
    assert!(
        replay.view.received == peer_stream,
        "{context}: the application received {} bytes, the peer sent {} (first difference at byte {:?})",
        replay.view.received.len(),
        peer_stream.len(),
        replay
            .view
            .received
            .iter()
            .zip(peer_stream)
            .position(|(a, b)| a != b)
    );
    let engine_stream = stream_of(&replay.emitted, "engine");
    assert_eq!(
        engine_stream.len(),
        stack_stream.len(),
        "{context}: the engine sent a different number of bytes than the recorded stack"
    );
    let peer_fin = recorded.peer.iter().any(|p| p.seg.has(FIN));
    assert_eq!(
        replay.view.eof, peer_fin,
        "{context}: EOF seen by the application"
    );
    // Everything the engine sent was acknowledged by the peer's last ACK,
    // as it was in the recording: no data or FIN left outstanding.
    if recorded.stack.iter().any(|p| p.seg.has(SYN)) {
        assert_eq!(
            replay.last_peer_ack,
            Some(replay.engine_snd_max),
            "{context}: the peer's last ACK does not cover all the engine sent"
        );
    }
}

/// The engine's segments, one a line, for failure messages.
fn describe(emitted: &[Placed]) -> String {
    let mut text = String::from("engine sent:\n");
    for placed in emitted.iter().take(40) {
        text += &format!(
            "  after capture packet #{}: {}\n",
            placed.position as i64 - 1,
            placed.seg
        );
    }
    text
}

#[test]
fn echo_line_with_client_closing_first() {
    replay_capture("echo-line.pcap");
}

#[test]
fn bulk_200k_echo() {
    replay_capture("bulk-200k.pcap");
}

#[test]
fn half_close_keeps_the_echo_flowing() {
    replay_capture("half-close.pcap");
}

#[test]
fn syn_to_closed_port_is_refused() {
    replay_capture("refused.pcap");
}

#[test]
fn stack_as_client_closes_first() {
    replay_capture("client-closes-first.pcap");
}

#[test]
fn stack_as_client_server_closes_first() {
    replay_capture("server-closes-first.pcap");
}

/// The replay must be able to fail: a recording whose stack sent other
/// bytes than the engine does is caught, at the segment that differs.
#[test]
fn a_diverging_payload_is_reported_with_its_packet_index() {
    let capture = capture("echo-line.pcap");
    let recorded = Recorded::from_capture(&capture);
    let mut stream = stream_of(&recorded.stack, "recorded stack");
    stream[3] ^= 0xff;
    let mut replay = Replay::new(engines().remove(0), &recorded);
    replay.run(&capture, &recorded);
    let problem = first_wrong_payload(&replay.emitted, &stream).expect("a difference");
    assert!(problem.contains("after capture packet #"), "{problem}");
    assert!(problem.contains("bytes 0..14"), "{problem}");
}
