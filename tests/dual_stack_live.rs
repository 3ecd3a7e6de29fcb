//! Both families on one TUN device: what `tuntcp` gives the kernel's side
//! (192.0.2.1/24 and 2001:db8::1/64, the IPv6 address usable at once, with
//! no duplicate address detection), what it refuses, and (with either
//! stack) clients of both families served at once.
//!
//! Every test runs in a private network namespace (common/netns.rs). They
//! need root.

#[macro_use]
mod common;

use std::process::Command;
use std::thread;
use std::time::Duration;

use common::netns::*;

/// `ip ARGS` in the test's namespace, its stdout.
fn ip(args: &[&str]) -> String {
    run_ok("ip", args, SHORT)
}

/// By default the kernel's side gets both addresses, the IPv6 one not
/// tentative (RFC 4862 §5.4: DAD would hold it back a second or more),
/// and the routes to both prefixes go through tun0.
#[test]
fn the_kernel_side_gets_both_families_usable_at_once() {
    run_in_new_netns(|| {
        let (_server, line) = start_echo("tuntcp", &[]);
        assert!(line.contains("nc -6 2001:db8::2 7"), "{line}");
        let v4 = ip(&["-4", "addr", "show", "dev", "tun0"]);
        assert!(v4.contains("inet 192.0.2.1/24"), "{v4}");
        let v6 = ip(&["-6", "addr", "show", "dev", "tun0"]);
        assert!(v6.contains("inet6 2001:db8::1/64 scope global"), "{v6}");
        assert!(!v6.contains("tentative"), "DAD still running:\n{v6}");
        let routes = ip(&["-6", "route", "show", "dev", "tun0"]);
        assert!(routes.contains("2001:db8::/64"), "{routes}");
    });
}

/// The IPv6 address may be the source of a `connect` as soon as
/// configuring returns: the kernel adds it tentative and clears that from
/// a work queue (RFC 4862 §5.4 even without DAD), and a `connect` in
/// between gets source ::1, which no peer may accept (RFC 4291 §2.5.3).
/// Many fresh devices, as `tuntcp` configures them (IPv4 first, then
/// IPv6), so the kernel's lag shows on a busy machine.
#[test]
fn the_ipv6_address_is_no_longer_tentative_when_configured() {
    run_in_new_netns(|| {
        for n in 0..40u16 {
            let name = unique_ifname();
            let _tun = ::tuntcp::device::TunDevice::open(&name).unwrap();
            let v4 = format!("192.0.{}.1", n + 10).parse().unwrap();
            ::tuntcp::device::netconfig::configure_host_side(&name, v4, 24).unwrap();
            let v6 = format!("2001:db8:{n:x}::1").parse().unwrap();
            ::tuntcp::device::netconfig_v6::configure_host_side_v6(&name, v6, 64).unwrap();
            let flags = if_inet6_flags(&name, v6);
            assert_eq!(
                flags & IFA_F_TENTATIVE,
                0,
                "{v6} on {name}: flags {flags:#x}"
            );
        }
    });
}

/// `IFA_F_TENTATIVE` (Linux include/uapi/linux/if_addr.h).
const IFA_F_TENTATIVE: u8 = 0x40;

/// The flags /proc/net/if_inet6 shows for `addr` on `ifname`.
fn if_inet6_flags(ifname: &str, addr: std::net::Ipv6Addr) -> u8 {
    let hex: String = addr.octets().iter().map(|b| format!("{b:02x}")).collect();
    let table = std::fs::read_to_string("/proc/thread-self/net/if_inet6").unwrap();
    let line = table
        .lines()
        .find(|line| line.starts_with(&hex) && line.ends_with(ifname))
        .unwrap_or_else(|| panic!("{addr} is not on {ifname}:\n{table}"));
    let flags = line.split_whitespace().nth(4).unwrap();
    u8::from_str_radix(flags, 16).unwrap()
}

/// A user who names only IPv4 addresses gets IPv4 only, as before.
#[test]
fn ipv4_addresses_alone_give_ipv4_only() {
    run_in_new_netns(|| {
        let (_server, line) = start_echo("tuntcp", &["--addr", "192.0.2.2"]);
        assert_eq!(
            line,
            "serving echo on 192.0.2.2:7 with our engine, one thread for every client (events) \
             — try: nc 192.0.2.2 7"
        );
        let v6 = ip(&["-6", "addr", "show", "dev", "tun0"]);
        assert!(!v6.contains("2001:db8"), "{v6}");
    });
}

/// Mistakes are refused before any device is made, with the reason.
#[test]
fn bad_addresses_are_refused_in_words() {
    run_in_new_netns(|| {
        for (args, expected) in [
            (
                &["--addr", "2001:db8::2/64"][..],
                "--addr takes a plain address such as 2001:db8::2",
            ),
            (
                &["--host-addr", "2001:db8::1/129"][..],
                "must be a number from 1 to 127 for IPv6",
            ),
            (
                &["--addr", "2001:db9::2"][..],
                "--addr 2001:db9::2 is outside --host-addr 2001:db8::1/64",
            ),
            (&["--mtu", "1000"][..], "below IPv6's minimum of 1280"),
        ] {
            let mut command = tuntcp_command();
            command.arg("echo").args(args);
            let mut echo = ChildGuard::spawn("tuntcp echo", command);
            let status = echo
                .wait_timeout(SHORT)
                .unwrap_or_else(|why| panic!("{why}"));
            assert!(!status.success(), "{args:?} was taken");
            let stderr = echo.final_stderr();
            assert!(stderr.contains(expected), "{args:?}: {stderr}");
        }
        let links = ip(&["link", "show"]);
        assert!(!links.contains("tun0"), "a device was made:\n{links}");
    });
}

/// `ping -6` reaches the kernel's own side at once (no DAD), so the
/// namespace's IPv6 is up before any stack answers.
#[test]
fn the_kernel_answers_ping6_on_its_side_of_tun0() {
    run_in_new_netns(|| {
        let (_server, _) = start_echo("smoltcp", &[]);
        let mut ping = Command::new("ping");
        ping.args(["-6", "-c", "1", "-W", "2", HOST_ADDR_V6]);
        let (status, output) = run_with_input("ping -6", ping, b"", Duration::from_secs(10));
        assert!(
            status.success() && output.contains("1 received"),
            "{output}"
        );
    });
}

/// One stack, one dual-stack listener, clients of both families at once:
/// 8 over IPv4 and 8 over IPv6, each echoing its own megabyte exactly.
fn both_families_are_served_at_once(stack: &'static str) {
    run_in_new_netns(move || {
        let (_server, _) = start_echo(stack, &[]);
        let v6 = thread::spawn(|| echo_concurrently_over(Family::V6, 8, 600));
        echo_concurrently_over(Family::V4, 8, 500);
        v6.join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    });
}

/// IPv6 addresses alone: IPv6 only, the kernel's side without IPv4.
fn ipv6_addresses_alone_give_ipv6_only(stack: &'static str) {
    run_in_new_netns(move || {
        let (_server, line) = start_echo(stack, &["--addr", STACK_ADDR_V6]);
        assert!(
            line.starts_with("serving echo on [2001:db8::2]:7 with"),
            "{line}"
        );
        assert!(line.ends_with("— try: nc -6 2001:db8::2 7"), "{line}");
        let v4 = ip(&["-4", "addr", "show", "dev", "tun0"]);
        assert!(!v4.contains("inet "), "{v4}");
        echo_exactly_over(Family::V6, pattern(7, 100_000));
    });
}

live_tests! {
    stacks: [smoltcp, tuntcp],
    tests: [both_families_are_served_at_once, ipv6_addresses_alone_give_ipv6_only]
}
