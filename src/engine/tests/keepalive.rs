//! Keep-alives (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6: MUST-24..29,
//! SHLD-12, MAY-6), on virtual time: hours pass in no time.

use std::time::Duration;

use super::harness::*;
use crate::engine::{ApiError, ConnId, Engine, KeepAlive, Stack, StackConfig};
use crate::wire::{SeqNum, TcpHeader};

const IDLE: Duration = Duration::from_secs(60);

fn short_keepalive() -> KeepAlive {
    KeepAlive {
        idle: IDLE,
        interval: Duration::from_secs(10),
        count: 3,
        garbage_octet: false,
    }
}

/// Established at 10 ms (the peer last heard then), keep-alive on.
fn with_keepalive(setting: KeepAlive) -> (Stack, ConnId) {
    let (mut stack, conn) = established();
    assert_eq!(stack.set_keepalive(conn, Some(setting)), Ok(()));
    (stack, conn)
}

/// A probe: SEG.SEQ = SND.NXT-1, no data (SHLD-12).
fn probe() -> TcpHeader {
    TcpHeader {
        seq: SeqNum(LOCAL_ISS),
        ..to_peer()
    }
}

#[test]
fn must_25_keepalive_is_off_by_default() {
    let (mut stack, conn) = established();
    assert_eq!(stack.poll_timeout(), None, "no timer at all");
    recv_nothing(&mut stack, ms(100 * 3_600_000));
    assert_eq!(state(&stack, conn), "ESTABLISHED");
    assert_eq!(StackConfig::new(LOCAL_IP).keepalive, None);
}

#[test]
fn must_24_keepalive_is_turned_on_and_off_per_connection() {
    let (mut stack, conn) = with_keepalive(short_keepalive());
    recv_nothing(&mut stack, ms(60_009));
    expect(&mut stack, ms(60_010), probe(), b"");
    assert_eq!(stack.set_keepalive(conn, None), Ok(()));
    recv_nothing(&mut stack, ms(10 * 3_600_000));
    assert_eq!(state(&stack, conn), "ESTABLISHED");
}

#[test]
fn may_5_shld_12_must_26_probes_only_after_the_idle_time_with_nothing_outstanding() {
    let (mut stack, conn) = with_keepalive(short_keepalive());
    send_and_expect(&mut stack, conn, ms(1_000), 0, b"data");
    // Outstanding data: the retransmission timer works, not keep-alive.
    let ack = TcpHeader {
        ack: Some(SeqNum(LOCAL_ISS + 5)),
        ..from_peer()
    };
    send(&mut stack, ms(1_100), ack, b"");
    // Idle counts from the last segment heard.
    recv_nothing(&mut stack, ms(61_099));
    let after_data = TcpHeader {
        seq: SeqNum(LOCAL_ISS + 4),
        ..to_peer()
    };
    expect(&mut stack, ms(61_100), after_data, b"");
}

#[test]
fn must_27_must_28_the_interval_is_configurable_and_defaults_to_two_hours() {
    assert!(KeepAlive::default().idle >= Duration::from_secs(2 * 3_600));
    let (mut stack, _conn) = with_keepalive(KeepAlive::default());
    recv_nothing(&mut stack, ms(2 * 3_600_000 + 9));
    expect(&mut stack, ms(2 * 3_600_000 + 10), probe(), b"");
}

#[test]
fn must_29_one_unanswered_probe_does_not_end_the_connection() {
    let (mut stack, conn) = with_keepalive(short_keepalive());
    expect(&mut stack, ms(60_010), probe(), b"");
    expect(&mut stack, ms(70_010), probe(), b"");
    // The peer answers the second: the count starts over, a whole idle
    // time away.
    send(&mut stack, ms(70_020), from_peer(), b"");
    recv_nothing(&mut stack, ms(130_019));
    expect(&mut stack, ms(130_020), probe(), b"");
    expect(&mut stack, ms(140_020), probe(), b"");
    expect(&mut stack, ms(150_020), probe(), b"");
    assert_eq!(state(&stack, conn), "ESTABLISHED");
    // `count` (3) probes unanswered: given up an interval after the last.
    recv_nothing(&mut stack, ms(160_019));
    assert_eq!(state(&stack, conn), "ESTABLISHED");
    stack.handle_timeout(ms(160_020));
    assert_eq!(state(&stack, conn), "CLOSED");
    assert_eq!(stack.recv(conn, &mut [0; 8]), Err(ApiError::TimedOut));
}

#[test]
fn must_29_a_count_of_zero_is_refused() {
    let (mut stack, conn) = established();
    let none = KeepAlive {
        count: 0,
        ..short_keepalive()
    };
    assert_eq!(
        stack.set_keepalive(conn, Some(none)),
        Err(ApiError::InvalidInput)
    );
}

#[test]
fn may_6_a_probe_may_carry_one_garbage_octet() {
    let (mut stack, _conn) = with_keepalive(KeepAlive {
        garbage_octet: true,
        ..short_keepalive()
    });
    expect(&mut stack, ms(60_010), probe(), &[0]);
}

#[test]
fn must_25_a_stack_wide_default_applies_to_new_connections() {
    let cfg = StackConfig {
        keepalive: Some(short_keepalive()),
        ..config()
    };
    let (mut stack, _conn) = established_with(cfg);
    expect(&mut stack, ms(60_010), probe(), b"");
}
