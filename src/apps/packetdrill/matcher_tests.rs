use super::*;
use crate::apps::packetdrill::parser::parse_script;
use crate::apps::packetdrill::script::{EventKind, FlagSet};
use crate::wire::TcpOptions;

const ISNS: Isns = Isns {
    stack: Some(1000),
    peer: 5000,
};

fn spec(line: &str) -> PacketSpec {
    match parse_script(line).unwrap().events.remove(0).kind {
        EventKind::Packet(spec) => spec,
        other => panic!("{other:?}"),
    }
}

/// A segment from the stack: SYN-ACK-like with these option bytes.
fn sent(flags: &str, seq: u32, ack: u32, window: u16, raw_options: Vec<u8>) -> Sent {
    let flag_spec = spec(&format!("0 > {flags} 0:0(0)")).flags;
    Sent {
        at: 0,
        src_port: 8080,
        dst_port: 40000,
        flags: flag_spec,
        seq: 1000 + seq,
        ack: 5000 + ack,
        window,
        urgent: 0,
        options: TcpOptions::parse(&raw_options).unwrap(),
        raw_options,
        payload_len: 0,
        ecn: crate::wire::Ecn::NotEct,
    }
}

fn check(line: &str, sent: &Sent, strict: bool) -> Result<(), String> {
    let spec = spec(line);
    check_packet(
        &spec,
        spec.start,
        spec.len,
        sent,
        &ISNS,
        Strictness { strict },
    )
}

#[test]
fn window_and_option_order_are_loose_by_default_and_exact_when_strict() {
    // mss 1460, sackOK, wscale 7 (ours) against FreeBSD's mss,nop,wscale 6,sackOK.
    let ours = sent("S.", 0, 1, 64_240, vec![2, 4, 5, 180, 4, 2, 1, 3, 3, 7]);
    let line = "0 > S. 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 6,sackOK>";
    assert_eq!(check(line, &ours, false), Ok(()));
    let strict = check(line, &ours, true).unwrap_err();
    assert!(strict.contains("win 65535 against 64240"), "{strict}");
}

#[test]
fn a_zero_window_is_never_loosened() {
    let closed = sent(".", 1, 1, 0, vec![]);
    let error = check("0 > . 1:1(0) ack 1 win 65535", &closed, false).unwrap_err();
    assert!(error.contains("win 65535 against 0"), "{error}");
}

#[test]
fn seq_ack_and_sack_blocks_are_relative_to_the_isns() {
    let mut sack = vec![1, 1, 5, 10];
    sack.extend((5000u32 + 200).to_be_bytes());
    sack.extend((5000u32 + 300).to_be_bytes());
    let ours = sent(".", 1, 100, 65535, sack);
    assert_eq!(
        check(
            "0 > . 1:1(0) ack 100 win 65535 <nop,nop,sack 200:300>",
            &ours,
            false
        ),
        Ok(())
    );
    let wrong = check("0 > . 1:1(0) ack 100 <nop,nop,sack 200:400>", &ours, false).unwrap_err();
    assert!(wrong.contains("sack 200:300"), "{wrong}");
    assert!(check("0 > . 1:1(0) ack 99", &ours, false)
        .unwrap_err()
        .contains("ack 99 against 100"));
    assert!(check("0 > . 2:2(0) ack 100", &ours, false)
        .unwrap_err()
        .contains("seq 2 against 1"));
}

#[test]
fn flags_and_unexpected_options_fail() {
    let rst = sent("R.", 1, 1, 0, vec![]);
    assert!(check("0 > R 1:1(0)", &rst, false)
        .unwrap_err()
        .contains("flags R against R."));
    let with_ts = sent(".", 1, 1, 100, vec![1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 7]);
    assert!(
        check("0 > . 1:1(0) ack 1", &with_ts, false).is_err(),
        "options not in the script"
    );
    assert_eq!(check("0 > . 1:1(0) ack 1 <...>", &with_ts, false), Ok(()));
    // The TSval is the stack's; the TSecr echoes the script's value.
    assert_eq!(
        check(
            "0 > . 1:1(0) ack 1 <nop,nop,TS val 1 ecr 7>",
            &with_ts,
            false
        ),
        Ok(())
    );
    assert!(check(
        "0 > . 1:1(0) ack 1 <nop,nop,TS val 1 ecr 8>",
        &with_ts,
        false
    )
    .is_err());
}

#[test]
fn a_sent_packet_renders_in_script_notation() {
    let ours = sent("F.", 1, 2, 512, vec![]);
    assert_eq!(render_sent(&ours, &ISNS), "F. 1:1(0) ack 2 win 512");
    assert_eq!(FlagSet::default().to_string(), "-");
}

#[test]
fn the_ip_ecn_field_is_checked_when_the_line_names_it() {
    let data = Sent {
        ecn: crate::wire::Ecn::Ect0,
        ..sent("P.", 1, 1, 1000, vec![])
    };
    assert_eq!(
        check("0 >[ect0] P. 1:1(0) ack 1 <...>", &data, false),
        Ok(())
    );
    assert_eq!(check("0 > P. 1:1(0) ack 1 <...>", &data, false), Ok(()));
    assert!(check("0 >[noecn] P. 1:1(0) ack 1 <...>", &data, false)
        .unwrap_err()
        .contains("IP ECN"));
}
