//! Live loss made by the Linux kernel itself: nftables rules on the
//! kernel's side of tun0 drop packets in both directions (this kernel has
//! no netem, and `--impair` would be our own code), while the kernel's TCP
//! echoes through our engine. Correctness only, bounded in time; the speed
//! is measured by `scripts/lossy-echo.sh`, never asserted.

mod common;

use std::time::Instant;

use common::netns::*;

/// Drops `per_mille` of the packets that reach the kernel from tun0 and of
/// those it sends to tun0 (the rule of issue 7's measurements).
fn drop_both_ways_on_tun0(per_mille: u32) {
    if std::process::Command::new("nft")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("this test needs nft: install nftables (scripts/test.sh does)");
    }
    let limit = per_mille.to_string();
    let nft = |args: &[&str]| run_ok("nft", args, SHORT);
    nft(&["add", "table", "inet", "loss"]);
    for (chain, hook) in [("in", "input"), ("out", "output")] {
        let spec = format!("{{ type filter hook {hook} priority 0; }}");
        nft(&["add", "chain", "inet", "loss", chain, &spec]);
    }
    for (chain, direction) in [("in", "iifname"), ("out", "oifname")] {
        nft(&[
            "add", "rule", "inet", "loss", chain, direction, "tun0", "numgen", "random", "mod",
            "1000", "<", &limit, "drop",
        ]);
    }
}

/// Offloads off: the drop rules must see the packets a wire carries, not
/// 64 KB segments that stand for dozens of them.
const WIRE_SIZED: &[&str] = &["--no-offload"];

#[test]
fn tuntcp_echoes_2_mb_exactly_with_5_percent_kernel_loss_both_ways() {
    run_in_new_netns(|| {
        let (_server, _) = start_echo("tuntcp", WIRE_SIZED);
        drop_both_ways_on_tun0(50);
        let started = Instant::now();
        echo_exactly(pattern(7, 2 * MEGABYTE));
        println!(
            "2 MB echoed exactly with 5% nftables loss both ways in {:.2?}",
            started.elapsed()
        );
    });
}

#[test]
fn tuntcp_echoes_half_a_mb_exactly_with_20_percent_kernel_loss_both_ways() {
    run_in_new_netns(|| {
        let (_server, _) = start_echo("tuntcp", WIRE_SIZED);
        drop_both_ways_on_tun0(200);
        let started = Instant::now();
        echo_exactly(pattern(8, MEGABYTE / 2));
        println!(
            "512 KB echoed exactly with 20% nftables loss both ways in {:.2?}",
            started.elapsed()
        );
    });
}
