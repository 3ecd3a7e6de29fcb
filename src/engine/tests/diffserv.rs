//! The IPv4 fields of what a connection sends: the DiffServ field (RFC
//! 9293 §3.9.1.9: MUST-48, SHLD-21, SHLD-22) and the TTL (MUST-49).

use super::harness::*;
use super::icmp::recv_packet;
use crate::engine::{Engine, StackConfig};

/// DSCP EF (46, RFC 3246) in the DiffServ field: 46 << 2.
const EF: u8 = 46 << 2;
/// DSCP AF11 (10, RFC 2597).
const AF11: u8 = 10 << 2;

#[test]
fn must_48_shld_22_the_diffserv_field_is_set_per_connection() {
    let (mut stack, conn) = established();
    assert_eq!(stack.set_tos(conn, EF), Ok(()));
    assert_eq!(stack.send(conn, b"voice"), Ok(5));
    let packet = recv_packet(&mut stack, ms(20));
    assert_eq!(packet[1], EF, "passed to IP unchanged");
}

#[test]
fn shld_21_the_diffserv_field_may_change_while_the_connection_is_open() {
    let (mut stack, conn) = established();
    stack.set_tos(conn, EF).unwrap();
    stack.send(conn, b"a").unwrap();
    assert_eq!(recv_packet(&mut stack, ms(20))[1], EF);
    stack.set_tos(conn, AF11).unwrap();
    stack.set_nodelay(conn, true).unwrap();
    stack.send(conn, b"b").unwrap();
    assert_eq!(recv_packet(&mut stack, ms(30))[1], AF11);
}

#[test]
fn must_48_the_ecn_bits_stay_tcps_rfc3168_s6_1_1() {
    let (mut stack, conn) = established();
    stack.set_tos(conn, EF | 0b11).unwrap();
    stack.send(conn, b"x").unwrap();
    assert_eq!(recv_packet(&mut stack, ms(20))[1], EF);
}

#[test]
fn must_48_a_stack_wide_default_applies_from_the_syn_ack() {
    let cfg = StackConfig {
        tos: AF11,
        ..config()
    };
    let (mut stack, _listener) = listening_with(cfg);
    send(&mut stack, ms(0), peer_syn(), b"");
    assert_eq!(recv_packet(&mut stack, ms(0))[1], AF11);
}

#[test]
fn must_49_the_ttl_is_configurable() {
    let cfg = StackConfig {
        ttl: 17,
        ..config()
    };
    let (mut stack, conn) = established_with(cfg);
    stack.send(conn, b"x").unwrap();
    assert_eq!(recv_packet(&mut stack, ms(20))[8], 17);
    assert_eq!(StackConfig::new(LOCAL_IP).ttl, 64);
}
