//! Path MTU discovery (RFC 1191) and IPv4 reassembly (RFC 791, RFC 815)
//! against the real `tuntcp echo` on a TUN device: scapy
//! (scripts/craft/pmtu_fragments.py, with Debian's /usr/bin/python3) plays
//! a client at 192.0.2.3 that sends a segment in 16-byte fragments and an
//! ICMP "fragmentation needed" quoting one of the stack's segments.
//!
//! And the errors the stack sends: a kernel UDP socket's datagram (a
//! transport the stack lacks) comes back as an ICMP protocol unreachable
//! (RFC 1122 §3.2.2.1) or ICMPv6 Parameter Problem code 1 (RFC 8200 §4),
//! which Linux reports on the connected socket as ENOPROTOOPT
//! (`icmp_err_convert`) or EPROTO (`icmpv6_err_convert`).
//!
//! Runs in a private network namespace (common/netns.rs). Needs root.

#[macro_use]
mod common;

use std::net::UdpSocket;
use std::process::Command;
use std::time::Duration;

use common::netns::*;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/scripts/craft/pmtu_fragments.py"
);

#[test]
fn fragments_are_reassembled_and_fragmentation_needed_lowers_the_segments() {
    run_in_new_netns(|| {
        // Without offloads every segment crosses tun0 at its real size.
        let (mut server, _) = start_echo("tuntcp", &["--no-offload"]);
        let mut scapy = Command::new("/usr/bin/python3");
        scapy.args([SCRIPT, "--iface", "tun0"]);
        let (status, output) = run_with_input("scapy", scapy, b"", Duration::from_secs(60));
        server.terminate(Duration::from_secs(10)).unwrap();
        assert!(
            status.success(),
            "{}: {output}\nstack stderr:\n{}",
            describe(status),
            server.final_stderr()
        );
        assert!(output.contains("reassembly ok"), "{output}");
        assert!(output.contains("pmtu ok"), "{output}");
        println!("{output}");
    });
}

/// Linux's errno for an ICMP protocol unreachable (ENOPROTOOPT) and an
/// ICMPv6 Parameter Problem (EPROTO) on a connected UDP socket.
const ENOPROTOOPT: i32 = 92;
const EPROTO: i32 = 71;

fn a_udp_datagram_gets_an_icmp_error_back(stack: &str, family: Family) {
    let stack = stack.to_string();
    run_in_new_netns(move || {
        let (mut server, _) = start_echo(&stack, &[]);
        let socket = UdpSocket::bind(family.any_socket(0)).unwrap();
        socket.connect(family.stack_socket(9)).unwrap();
        // Bounded: the error is an event to wait for, not a time to sleep.
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        socket.send(b"no UDP here").unwrap();
        let mut buf = [0u8; 64];
        let error = socket.recv(&mut buf).expect_err("an ICMP error, not data");
        let expected = match family {
            Family::V4 => ENOPROTOOPT,
            Family::V6 => EPROTO,
        };
        server.terminate(Duration::from_secs(10)).unwrap();
        assert_eq!(
            error.raw_os_error(),
            Some(expected),
            "{error}\nstack stderr:\n{}",
            server.final_stderr()
        );
    });
}

live_tests! {
    families: [ipv4, ipv6],
    stacks: [tuntcp],
    tests: [a_udp_datagram_gets_an_icmp_error_back]
}
