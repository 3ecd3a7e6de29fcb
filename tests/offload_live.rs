//! Live tests of `tuntcp echo --offload`: the TUN device with the kernel's
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

/// The capture holds the large segments as they crossed the device, both
/// ways, each with a complete and correct checksum (the ones we send are
/// cut into MTU-sized packets by the kernel after the tap).
#[test]
fn pcap_capture_holds_large_segments_and_decodes_cleanly() {
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
        let largest = lengths
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .filter(|(src, _)| *src == from)
            .filter_map(|(_, len)| len.trim().parse::<usize>().ok())
            .max()
            .unwrap_or(0);
        assert!(
            largest > 1500,
            "no segment larger than the MTU from {from} (largest {largest})"
        );
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
