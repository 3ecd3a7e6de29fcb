//! Hostile packets on a real TUN device, for both stacks: scapy
//! (scripts/craft/hostile.py, run with Debian's /usr/bin/python3) sends bad
//! IP and TCP checksums, fragments, illegal option lengths, RSTs with wrong
//! sequence numbers, a SYN to the established tuple, a Christmas-tree
//! packet and data without ACK, aimed at a kernel client's live echo
//! connection. The stack must keep echoing that client exactly and serve a
//! new client afterwards.
//!
//! Every test runs in a private network namespace (common/netns.rs), so
//! nothing is sent outside it. Needs root.

mod common;

use std::io::{Read, Write};
use std::process::Command;
use std::time::Duration;

use common::netns::*;

const ECHO_PORT: u16 = 7;
const SHORT: Duration = Duration::from_secs(10);
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/craft/hostile.py");

#[track_caller]
fn expect_echo(stream: &mut std::net::TcpStream, data: &[u8]) {
    stream.write_all(data).unwrap();
    let mut reply = vec![0u8; data.len()];
    stream
        .read_exact(&mut reply)
        .expect("no echo within the read timeout");
    assert!(reply == data, "echo differs");
}

fn hostile_packets_do_not_disturb_a_live_client(stack: &'static str) {
    run_in_new_netns(move || {
        let capture = unique_temp_path("hostile", "pcap");
        let capture_arg = capture.to_str().unwrap().to_string();
        let (mut server, _) = start_echo(stack, &["--pcap", &capture_arg]);
        let mut client = connect_to_stack(ECHO_PORT, SHORT);
        expect_echo(&mut client, b"before the attack\n");
        let sport = client.local_addr().unwrap().port().to_string();

        let mut scapy = Command::new("/usr/bin/python3");
        scapy.args([SCRIPT, "--sport", &sport]);
        let (status, output) = run_with_input("scapy", scapy, b"", Duration::from_secs(120));
        assert!(
            status.success(),
            "scapy failed: {} {output}",
            describe(status)
        );
        assert!(output.contains("sent"), "{output}");

        let bulk: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        expect_echo(&mut client, &bulk);
        expect_echo(&mut client, b"after the attack\n");
        let mut second = connect_to_stack(ECHO_PORT, SHORT);
        expect_echo(&mut second, b"a new client\n");
        drop((client, second));
        server.terminate(SHORT).unwrap();

        // The attack did reach the stack: the capture (what the TUN device
        // carried) holds the Christmas-tree packets, 3 rounds of them.
        let xmas = run_ok(
            "tshark",
            &[
                "-r",
                &capture_arg,
                "-Y",
                "tcp.flags.syn == 1 && tcp.flags.fin == 1 && tcp.flags.reset == 1",
            ],
            SHORT,
        );
        let _ = std::fs::remove_file(&capture);
        assert!(
            xmas.lines().count() >= 3,
            "the stack never saw the crafted packets:\n{xmas}"
        );
    });
}

mod tuntcp {
    #[test]
    fn hostile_packets_do_not_disturb_a_live_client() {
        super::hostile_packets_do_not_disturb_a_live_client("tuntcp");
    }
}

mod smoltcp {
    #[test]
    fn hostile_packets_do_not_disturb_a_live_client() {
        super::hostile_packets_do_not_disturb_a_live_client("smoltcp");
    }
}
