//! Trace events (`StackConfig::trace`, `Engine::take_trace`): each state
//! change with its time, 4-tuple and the segment that caused it.

use super::harness::*;
use crate::engine::tcp::State;
use crate::engine::trace::{Flags, SegmentSummary, TraceEvent, MAX_TRACE_EVENTS};
use crate::engine::{Engine, Stack, StackConfig};
use crate::wire::TcpHeader;

fn traced() -> StackConfig {
    StackConfig {
        trace: true,
        ..config()
    }
}

fn take(stack: &mut Stack) -> Vec<TraceEvent> {
    let mut events = Vec::new();
    stack.take_trace(&mut events);
    events
}

fn changes(events: &[TraceEvent]) -> Vec<(State, State)> {
    events.iter().map(|event| (event.from, event.to)).collect()
}

#[test]
fn passive_open_traces_listen_syn_received_established_with_causes() {
    let (mut stack, _conn) = established_with(traced());
    let events = take(&mut stack);
    assert_eq!(
        changes(&events),
        [
            (State::Listen, State::SynReceived),
            (State::SynReceived, State::Established)
        ]
    );
    let syn = events[0];
    assert_eq!((syn.at, syn.local, syn.remote), (ms(0), LOCAL, REMOTE));
    assert_eq!(
        syn.cause,
        Some(SegmentSummary {
            flags: Flags(Flags::SYN),
            seq: REMOTE_ISS,
            ack: 0,
            len: 0,
            window: REMOTE_WIN,
        })
    );
    let ack = events[1].cause.unwrap();
    assert_eq!(events[1].at, ms(10));
    assert_eq!(ack.flags.to_string(), "ACK");
    assert_eq!((ack.seq, ack.ack), (REMOTE_ISS + 1, LOCAL_ISS + 1));
    assert!(take(&mut stack).is_empty(), "drained once");
}

#[test]
fn close_by_the_application_is_traced_without_a_cause() {
    let (mut stack, conn) = established_with(traced());
    take(&mut stack);
    stack.close(conn);
    let events = take(&mut stack);
    assert_eq!(changes(&events), [(State::Established, State::FinWait1)]);
    assert_eq!(events[0].cause, None);
}

#[test]
fn a_fin_and_its_ack_in_one_segment_trace_both_changes() {
    let (mut stack, conn) = established_with(traced());
    stack.close(conn);
    recv(&mut stack, ms(20));
    take(&mut stack);
    let fin_ack = TcpHeader {
        flags: flags("F"),
        ack: Some(crate::wire::SeqNum(LOCAL_ISS + 2)),
        ..from_peer()
    };
    send(&mut stack, ms(30), fin_ack, b"");
    let events = take(&mut stack);
    assert_eq!(
        changes(&events),
        [
            (State::FinWait1, State::FinWait2),
            (State::FinWait2, State::TimeWait)
        ]
    );
    let cause = events[1].cause.unwrap();
    assert_eq!(cause.flags.to_string(), "FIN,ACK");
}

#[test]
fn nothing_is_recorded_without_the_flag() {
    let (mut stack, conn) = established();
    stack.close(conn);
    assert!(take(&mut stack).is_empty());
}

#[test]
fn an_undrained_queue_stays_bounded() {
    let mut stack = Stack::new(StackConfig {
        max_connections: MAX_TRACE_EVENTS + 10,
        ..traced()
    });
    for port in 0..(MAX_TRACE_EVENTS as u16 + 5) {
        stack.connect(ms(0), REMOTE, Some(1000 + port)).unwrap();
    }
    let events = take(&mut stack);
    assert_eq!(events.len(), MAX_TRACE_EVENTS);
    // The oldest gave way: the last connect's change is kept.
    assert_eq!(
        events.last().unwrap().local.port(),
        1000 + MAX_TRACE_EVENTS as u16 + 4
    );
}
