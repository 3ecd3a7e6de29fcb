//! Live loss made by the Linux kernel itself: the client's namespace
//! reaches the stack's through a veth, and the stack's namespace, routing
//! between the veth and tun0, drops packets at random in its nftables
//! forward hook in both directions (`common/lossy_path.rs`; this kernel
//! has no netem, and `--impair` would be our own code). The kernel's TCP
//! echoes through our engine. Correctness only, bounded in time; the speed
//! is measured by `scripts/bench.sh --loss`, never asserted.

mod common;

use std::time::Instant;

use common::lossy_path::{LossyPath, STACK_SIDE_HOST_ADDR};
use common::netns::*;

/// Offloads off: the drop rule must see the packets a wire carries, not
/// 64 KB segments that stand for dozens of them.
fn start_echo_behind_lossy_path(per_mille: u32) -> (ChildGuard, LossyPath) {
    let args = ["--host-addr", STACK_SIDE_HOST_ADDR, "--no-offload"];
    let (server, _) = start_echo("tuntcp", &args);
    (server, LossyPath::new(per_mille))
}

#[test]
fn tuntcp_echoes_2_mb_exactly_with_5_percent_kernel_loss_both_ways() {
    run_in_new_netns(|| {
        let (_server, path) = start_echo_behind_lossy_path(50);
        let started = Instant::now();
        path.run_client(|| echo_exactly(pattern(7, 2 * MEGABYTE)));
        println!(
            "2 MB echoed exactly with 5% loss both ways in {:.2?}",
            started.elapsed()
        );
    });
}

#[test]
fn tuntcp_echoes_half_a_mb_exactly_with_20_percent_kernel_loss_both_ways() {
    run_in_new_netns(|| {
        let (_server, path) = start_echo_behind_lossy_path(200);
        let started = Instant::now();
        path.run_client(|| echo_exactly(pattern(8, MEGABYTE / 2)));
        println!(
            "512 KB echoed exactly with 20% loss both ways in {:.2?}",
            started.elapsed()
        );
    });
}
