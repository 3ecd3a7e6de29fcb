//! Live tests of TUN offloads (the default with our engine, `--offload`
//! to insist, `--no-offload` to refuse): the TUN device with the kernel's
//! segmentation and checksum offloads, so TCP segments of up to 64 KB cross
//! it both ways. The same exactness checks as tests/live.rs, each in a
//! private network namespace (common/netns.rs); they need root.

mod common;

use std::time::Duration;

use common::netns::*;

const OFFLOAD: &[&str] = &["--offload"];

#[test]
fn ten_megabytes_are_echoed_exactly() {
    run_in_new_netns(|| {
        let (_server, _) = start_echo("tuntcp", OFFLOAD);
        echo_exactly(pattern(1, 10 * MEGABYTE));
    });
}

#[test]
fn sixty_four_concurrent_clients_are_echoed_exactly() {
    run_in_new_netns(|| {
        let (_server, _) = start_echo("tuntcp", OFFLOAD);
        echo_concurrently(64, 100);
    });
}

/// Packets our engine sent while echoing one megabyte: with offloads
/// they are 64 KB segments (a few dozen), without them at most MTU-sized
/// (more than 1 MB / 1460 = 685). Read from the counters `tuntcp echo`
/// prints when it stops.
fn packets_out_echoing_a_megabyte(extra_args: &'static [&'static str]) -> u64 {
    let stderr = run_in_new_netns(move || {
        let (mut server, _) = start_echo("tuntcp", extra_args);
        echo_exactly(pattern(3, MEGABYTE));
        let status = server
            .terminate(SHORT)
            .unwrap_or_else(|why| panic!("{why}"));
        assert!(status.success(), "{}", describe(status));
        server.final_stderr()
    });
    let counters = stderr
        .lines()
        .find_map(|line| line.strip_prefix("tuntcp echo stopped: "))
        .unwrap_or_else(|| panic!("no counters line in:\n{stderr}"));
    let out = counters
        .split(", ")
        .find_map(|part| part.strip_suffix(" out"))
        .and_then(|n| n.parse().ok());
    out.unwrap_or_else(|| panic!("no packets-out count in {counters:?}; stderr:\n{stderr}"))
}

#[test]
fn offloads_are_the_default_and_no_offload_turns_them_off() {
    let by_default = packets_out_echoing_a_megabyte(&[]);
    let without = packets_out_echoing_a_megabyte(&["--no-offload"]);
    assert!(by_default < 300, "default: {by_default} packets out");
    assert!(without > 685, "--no-offload: {without} packets out");
}

/// Large segments cross the device both ways, yet the capture holds the
/// MTU-sized packets a wire would carry, each decoding cleanly with
/// correct checksums.
#[test]
fn pcap_capture_holds_wire_sized_packets_and_decodes_cleanly() {
    let path = unique_temp_path("offload-capture", "pcap");
    let path_arg = path.to_str().unwrap().to_string();
    run_in_new_netns(move || {
        let (mut server, _) = start_echo("tuntcp", &["--offload", "--pcap", &path_arg]);
        echo_exactly(pattern(7, MEGABYTE));
        let status = server
            .terminate(SHORT)
            .unwrap_or_else(|why| panic!("{why}"));
        assert!(status.success(), "{}", describe(status));
    });
    let path_str = path.to_str().unwrap();
    let summary = run_ok(
        "tshark",
        &[
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "ip.check_checksum:TRUE",
            "-r",
            path_str,
        ],
        Duration::from_secs(60),
    );
    for warning in ["Malformed", "Bad", "incorrect"] {
        assert!(!summary.contains(warning), "tshark: {warning}:\n{summary}");
    }
    let lengths = run_ok(
        "tshark",
        &[
            "-r", path_str, "-T", "fields", "-e", "ip.src", "-e", "ip.len",
        ],
        Duration::from_secs(60),
    );
    for from in [HOST_ADDR, STACK_ADDR] {
        let sizes: Vec<usize> = lengths
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .filter(|(src, _)| *src == from)
            .filter_map(|(_, len)| len.trim().parse::<usize>().ok())
            .collect();
        let largest = sizes.iter().copied().max().unwrap_or(0);
        assert!(largest <= 1500, "a packet of {largest} bytes from {from}");
        let full = sizes.iter().filter(|&&len| len == 1500).count();
        assert!(full > 600, "only {full} full-sized packets from {from}");
    }
    std::fs::remove_file(&path).ok();
}

#[test]
fn smoltcp_with_offload_is_refused_with_the_reason() {
    run_in_new_netns(|| {
        let mut command = tuntcp_command();
        command.args(["echo", "--stack", "smoltcp", "--offload"]);
        let output = command.output().expect("running tuntcp");
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("--offload works with our engine only"),
            "{stderr}"
        );
    });
}
