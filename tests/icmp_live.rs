//! Path MTU discovery (RFC 1191) and IPv4 reassembly (RFC 791, RFC 815)
//! against the real `tuntcp echo` on a TUN device: scapy
//! (scripts/craft/pmtu_fragments.py, with Debian's /usr/bin/python3) plays
//! a client at 192.0.2.3 that sends a segment in 16-byte fragments and an
//! ICMP "fragmentation needed" quoting one of the stack's segments.
//!
//! Runs in a private network namespace (common/netns.rs). Needs root.

mod common;

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
