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
//! The replay itself (ACK rewriting, the application, the comparison) is
//! `tuntcp::apps::replay`, which `tuntcp replay FILE` uses too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use tuntcp::apps::replay::{
    first_wrong_payload, outcome, stream_of, AppKind, Placed, Recorded, Replay,
};
use tuntcp::device::replay::{Capture, CapturedPacket};
use tuntcp::engine::{Engine, Stack, StackConfig};
use tuntcp::reference::{SmolConfig, SmolEngine};

/// The recorded stack's addresses in every capture (the project's defaults).
const STACK_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const STACK_ADDR_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
const STACK_ADDRS: &[IpAddr] = &[IpAddr::V4(STACK_ADDR), IpAddr::V6(STACK_ADDR_V6)];

fn capture(name: &str) -> Capture {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name);
    Capture::read(&path, STACK_ADDRS).unwrap_or_else(|err| panic!("{name}: {err}"))
}

/// Both engines, dual-stack.
fn engines() -> Vec<Box<dyn Engine>> {
    let mut smoltcp = SmolConfig::new(STACK_ADDR);
    smoltcp.addr_v6 = Some(STACK_ADDR_V6);
    vec![
        Box::new(Stack::new(
            StackConfig::new(STACK_ADDR)
                .with_fixed_secret()
                .with_ipv6(STACK_ADDR_V6),
        )),
        Box::new(SmolEngine::new(smoltcp)),
    ]
}

/// `capture` as if it had crossed IPv6 (RFC 8200): each packet's TCP
/// segment, unchanged, behind an IPv6 header from 2001:db8::X for
/// 192.0.2.X, its checksum over the IPv6 pseudo-header.
fn as_ipv6(capture: &Capture) -> Capture {
    let to_v6 = |v4: [u8; 4]| Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, v4[3].into()).octets();
    let packets = capture.packets.iter().map(|packet| {
        let (ip, rest) = etherparse::Ipv4Header::from_slice(&packet.bytes).unwrap();
        let tcp_len = usize::from(ip.total_len) - ip.header_len();
        let (tcp, payload) = etherparse::TcpHeader::from_slice(&rest[..tcp_len]).unwrap();
        let builder = etherparse::PacketBuilder::ipv6(to_v6(ip.source), to_v6(ip.destination), 64);
        let mut bytes = Vec::new();
        builder.tcp_header(tcp).write(&mut bytes, payload).unwrap();
        CapturedPacket {
            bytes,
            ..packet.clone()
        }
    });
    Capture {
        stack_addrs: capture.stack_addrs.clone(),
        packets: packets.collect(),
    }
}

/// The recorded session, or the test fails saying why.
fn recorded(name: &str, capture: &Capture) -> Recorded {
    Recorded::from_capture(capture).unwrap_or_else(|err| panic!("{name}: {err}"))
}

/// The byte stream `segs` carry, or the test fails saying why.
fn stream(segs: &[Placed], who: &'static str) -> Vec<u8> {
    stream_of(segs, who).unwrap_or_else(|err| panic!("{err}"))
}

/// `capture` replayed into `engine` with the application it shows.
fn replayed(engine: Box<dyn Engine>, capture: &Capture, recorded: &Recorded) -> Replay {
    let name = engine.name();
    let mut replay = Replay::new(engine, recorded, AppKind::of(recorded))
        .unwrap_or_else(|err| panic!("{name}: {err}"));
    replay
        .run(capture, recorded)
        .unwrap_or_else(|err| panic!("{name}: {err}"));
    replay
}

/// Replays `name` into every engine and checks the outcome.
fn replay_capture(name: &str) {
    replay_into(name, &capture(name), engines());
}

/// The same session moved to IPv6 (`as_ipv6`), into every engine.
fn replay_capture_over_ipv6(name: &str) {
    replay_into(name, &as_ipv6(&capture(name)), engines());
}

fn replay_into(name: &str, capture: &Capture, engines: Vec<Box<dyn Engine>>) {
    let recorded = recorded(name, capture);
    let recorded_out = outcome(&recorded.stack, &recorded.peer);
    let stack_stream = stream(&recorded.stack, "recorded stack");
    let peer_stream = stream(&recorded.peer, "recorded peer");
    for engine in engines {
        let engine_name = engine.name();
        let replay = replayed(engine, capture, &recorded);
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
    let engine_stream = stream(&replay.emitted, "engine");
    assert_eq!(
        engine_stream.len(),
        stack_stream.len(),
        "{context}: the engine sent a different number of bytes than the recorded stack"
    );
    let peer_fin = recorded.peer.iter().any(|p| p.seg.fin);
    assert_eq!(
        replay.view.eof, peer_fin,
        "{context}: EOF seen by the application"
    );
    // Everything the engine sent was acknowledged by the peer's last ACK,
    // as it was in the recording: no data or FIN left outstanding.
    if recorded.stack.iter().any(|p| p.seg.syn) {
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

/// Sessions recorded over IPv6 (`record-captures.sh --families 6`).
#[test]
fn recorded_ipv6_sessions() {
    for name in [
        "echo-line-ipv6.pcap",
        "bulk-200k-ipv6.pcap",
        "half-close-ipv6.pcap",
        "refused-ipv6.pcap",
        "client-closes-first-ipv6.pcap",
        "server-closes-first-ipv6.pcap",
    ] {
        replay_capture(name);
    }
}

#[test]
fn every_capture_moved_to_ipv6_replays_alike() {
    for name in [
        "echo-line.pcap",
        "bulk-200k.pcap",
        "half-close.pcap",
        "refused.pcap",
        "client-closes-first.pcap",
        "server-closes-first.pcap",
    ] {
        replay_capture_over_ipv6(name);
    }
}

/// The replay must be able to fail: a recording whose stack sent other
/// bytes than the engine does is caught, at the segment that differs.
#[test]
fn a_diverging_payload_is_reported_with_its_packet_index() {
    let capture = capture("echo-line.pcap");
    let recorded = recorded("echo-line.pcap", &capture);
    let mut stack_stream = stream(&recorded.stack, "recorded stack");
    stack_stream[3] ^= 0xff;
    let replay = replayed(engines().remove(0), &capture, &recorded);
    let problem = first_wrong_payload(&replay.emitted, &stack_stream).expect("a difference");
    assert!(problem.contains("after capture packet #"), "{problem}");
    assert!(problem.contains("bytes 0..14"), "{problem}");
}
