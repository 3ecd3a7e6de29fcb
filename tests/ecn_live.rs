//! ECN (RFC 3168; RFC 9293 SHLD-8) against the Linux kernel: a client
//! with `net.ipv4.tcp_ecn=1` in the test's namespace negotiates ECN with
//! `tuntcp echo --ecn`; nftables on the kernel's side of tun0 marks
//! ECT(0) packets CE both ways (`ip ecn set ce`, as a congested router
//! would instead of dropping), so each side echoes ECE and the other
//! answers with CWR, without a retransmission. tshark reads the stack's
//! capture.
//!
//! Runs in a private network namespace (common/netns.rs). Needs root.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::time::Duration;

use common::netns::*;

const BYTES: usize = 200_000;

/// Echoes `BYTES` through `tuntcp echo --ecn` from a kernel client with
/// ECN on, with `nft` rules (if any) loaded first; returns the capture's
/// packets and the server's stop line.
fn echo_with_ecn(nft_rules: &'static [&'static str]) -> (Vec<Packet>, String) {
    let path = unique_temp_path("ecn", "pcap");
    let pcap = path.to_str().unwrap().to_string();
    let stderr = run_in_new_netns(move || {
        run_ok("sysctl", &["-w", "net.ipv4.tcp_ecn=1"], SHORT);
        let args = ["--ecn", "--no-offload", "--pcap", &pcap];
        let (mut server, _) = start_echo("tuntcp", &args);
        for rule in nft_rules {
            run_ok("nft", &[rule], SHORT);
        }
        let mut stream = TcpStream::connect(format!("{STACK_ADDR}:7")).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut reader = stream.try_clone().unwrap();
        let echoed = std::thread::spawn(move || {
            let mut back = Vec::new();
            reader.read_to_end(&mut back).map(|_| back)
        });
        let data: Vec<u8> = (0..BYTES).map(|i| (i % 251) as u8).collect();
        stream.write_all(&data).unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        let back = echoed.join().unwrap().unwrap();
        assert!(
            back == data,
            "echo differs ({} of {BYTES} bytes)",
            back.len()
        );
        server.terminate(SHORT).unwrap();
        server.final_stderr()
    });
    let packets = read_capture(&path);
    std::fs::remove_file(&path).ok();
    (packets, stderr)
}

/// One packet of the capture, as tshark decodes it.
#[derive(Debug)]
struct Packet {
    from_stack: bool,
    syn: bool,
    ack: bool,
    ece: bool,
    cwr: bool,
    /// The IP header's ECN field: 0 Not-ECT, 2 ECT(0), 3 CE.
    ecn: u8,
    len: usize,
}

fn read_capture(path: &Path) -> Vec<Packet> {
    let fields = [
        "ip.src",
        "tcp.flags.syn",
        "tcp.flags.ack",
        "tcp.flags.ece",
        "tcp.flags.cwr",
        "ip.dsfield.ecn",
        "tcp.len",
    ];
    let mut args = vec!["-r", path.to_str().unwrap(), "-Y", "tcp", "-T", "fields"];
    for field in fields {
        args.extend(["-e", field]);
    }
    let text = run_ok("tshark", &args, Duration::from_secs(60));
    let flag = |value: &str| value == "1" || value == "True";
    text.lines()
        .map(|line| {
            let v: Vec<&str> = line.split('\t').collect();
            Packet {
                from_stack: v[0] == STACK_ADDR,
                syn: flag(v[1]),
                ack: flag(v[2]),
                ece: flag(v[3]),
                cwr: flag(v[4]),
                ecn: v[5].parse().unwrap_or(0),
                len: v[6].parse().unwrap_or(0),
            }
        })
        .collect()
}

/// The stop line says ", 0 retransmissions,".
fn no_retransmissions(stop_line: &str) -> bool {
    stop_line.contains(" 0 retransmissions")
}

#[test]
fn shld_8_a_linux_client_negotiates_ecn_and_our_data_goes_ect0() {
    let (packets, stderr) = echo_with_ecn(&[]);
    let syn = packets.iter().find(|p| p.syn && !p.ack).expect("a SYN");
    assert!(syn.ece && syn.cwr, "Linux asks for ECN: {syn:?}");
    let syn_ack = packets.iter().find(|p| p.syn && p.ack).expect("a SYN-ACK");
    assert!(
        syn_ack.from_stack && syn_ack.ece && !syn_ack.cwr,
        "{syn_ack:?}"
    );
    assert_eq!(syn_ack.ecn, 0);
    let ours: Vec<&Packet> = packets.iter().filter(|p| p.from_stack && !p.syn).collect();
    assert!(
        ours.iter().filter(|p| p.len > 0).all(|p| p.ecn == 2),
        "data ECT(0)"
    );
    assert!(
        ours.iter().filter(|p| p.len == 0).all(|p| p.ecn == 0),
        "ACKs Not-ECT"
    );
    assert!(
        packets
            .iter()
            .any(|p| !p.from_stack && p.len > 0 && p.ecn == 2),
        "Linux's data ECT(0)"
    );
    assert!(no_retransmissions(&stderr), "{stderr}");
}

#[test]
fn shld_8_ce_marks_are_echoed_and_answered_both_ways_without_retransmission() {
    const RULES: [&str; 5] = [
        "add table inet marks",
        "add chain inet marks to_stack { type filter hook postrouting priority -150; }",
        "add chain inet marks from_stack { type filter hook prerouting priority -150; }",
        "add rule inet marks to_stack oifname tun0 ip ecn ect0 ip ecn set ce",
        "add rule inet marks from_stack iifname tun0 ip ecn ect0 ip ecn set ce",
    ];
    let (packets, stderr) = echo_with_ecn(&RULES);
    let count = |pred: &dyn Fn(&Packet) -> bool| packets.iter().filter(|p| pred(p)).count();
    // The kernel's data reached us CE; we echoed ECE; the kernel said CWR.
    assert!(
        count(&|p| !p.from_stack && p.len > 0 && p.ecn == 3) > 0,
        "CE in"
    );
    assert!(count(&|p| p.from_stack && !p.syn && p.ece) > 0, "our ECE");
    assert!(
        count(&|p| !p.from_stack && p.cwr && !p.syn) > 0,
        "Linux's CWR"
    );
    // Our data reached the kernel CE (marked after the capture); it echoed
    // ECE and we answered with CWR on new data, resending nothing.
    assert!(
        count(&|p| !p.from_stack && !p.syn && p.ece) > 0,
        "Linux's ECE"
    );
    assert!(
        count(&|p| p.from_stack && p.cwr && p.len > 0) > 0,
        "our CWR"
    );
    assert!(no_retransmissions(&stderr), "{stderr}");
}
