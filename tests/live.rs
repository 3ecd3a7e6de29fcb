//! Live tests: the real `tuntcp` binary on a real TUN device, with the Linux
//! kernel's TCP, netcat and ping as peers.
//!
//! Every test runs in a private network namespace (see common/netns.rs), so
//! they run in parallel, each with its own `tun0`, and never touch the
//! host's network. They need root.
//!
//! The `harness_*` and `tun_device_*` tests check the harness and the device
//! layer by themselves (no CLI needed). The rest drive the binary and run
//! once per stack, in modules that `live_tests!` (common/mod.rs) generates at
//! the bottom
//! (`smoltcp::ping_is_answered`, ...); adding a stack is a one-word change
//! there. Run one stack with `cargo test --release --test live smoltcp::`.
//! Those that take a [`Family`] run once per family and stack too
//! (`ipv4::smoltcp::ping_is_answered`, `ipv6::...`).

#[macro_use]
mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use ::tuntcp::device::{netconfig, Device, DeviceError, PcapTap, TunDevice};
use common::netns::*;

// ---------------------------------------------------------------------------
// The harness and the device layer, without the CLI.
// ---------------------------------------------------------------------------

/// A TUN device configured inside a test namespace has its address and is
/// up there, while the host namespace never sees it.
#[test]
fn harness_tun_lives_only_inside_its_namespace() {
    let ifname = unique_ifname();
    let inner_name = ifname.clone();
    let (configured_tx, configured_rx) = mpsc::channel();
    let (host_checked_tx, host_checked_rx) = mpsc::channel::<()>();
    let netns = spawn_in_new_netns(move || {
        let tun = TunDevice::open(&inner_name).unwrap();
        assert_eq!(tun.name(), inner_name);
        netconfig::configure_host_side(&inner_name, "192.0.2.1".parse().unwrap(), 24).unwrap();
        let addr = run_ok("ip", &["-4", "addr", "show", &inner_name], SHORT);
        let link = run_ok("ip", &["link", "show", "lo"], SHORT);
        configured_tx.send(()).unwrap();
        // Keep the device alive until the host side has looked.
        host_checked_rx.recv_timeout(SHORT).unwrap();
        drop(tun);
        (addr, link)
    });

    configured_rx
        .recv_timeout(SHORT)
        .expect("namespace thread did not configure the device");
    assert!(
        host_has_no_interface(&ifname),
        "{ifname} leaked into the host namespace while the test namespace was alive"
    );
    host_checked_tx.send(()).unwrap();
    let (addr, lo) = netns
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));

    assert!(
        addr.contains("inet 192.0.2.1/24"),
        "address missing:\n{addr}"
    );
    assert!(addr.contains(",UP"), "interface not up:\n{addr}");
    assert!(lo.contains(",UP"), "lo not up in the test namespace:\n{lo}");
    assert!(
        host_has_no_interface(&ifname),
        "{ifname} appeared in the host namespace"
    );
}

fn host_has_no_interface(ifname: &str) -> bool {
    matches!(
        netconfig::mtu(ifname),
        Err(DeviceError::NoSuchInterface { .. })
    )
}

/// Two namespaces alive at once can each create and address their own tun0.
#[test]
fn harness_parallel_namespaces_each_get_their_own_tun0() {
    let both_open = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let both_open = Arc::clone(&both_open);
            spawn_in_new_netns(move || {
                let tun = TunDevice::open("tun0").unwrap();
                netconfig::configure_host_side("tun0", "192.0.2.1".parse().unwrap(), 24).unwrap();
                // Both devices exist at the same moment, in different namespaces.
                both_open.wait();
                drop(tun);
            })
        })
        .collect();
    for handle in handles {
        handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    }
}

/// A second open of a TUN device that is in use fails with a sentence.
#[test]
fn harness_second_open_of_a_busy_tun_is_explained() {
    run_in_new_netns(|| {
        let _first = TunDevice::open("tun0").unwrap();
        let err = TunDevice::open("tun0").unwrap_err();
        assert_eq!(
            err.to_string(),
            "interface tun0 is in use by another program: stop that program or choose another name with --iface"
        );
    });
}

#[test]
fn harness_child_guard_kills_and_reaps_on_drop() {
    let mut command = Command::new("sleep");
    command.arg("1000");
    let child = ChildGuard::spawn("sleep", command);
    let proc_dir = format!("/proc/{}", child.pid());
    assert!(Path::new(&proc_dir).exists());
    drop(child);
    // Reaped: not even a zombie is left.
    assert!(
        !Path::new(&proc_dir).exists(),
        "{proc_dir} still exists after drop"
    );
}

#[test]
fn harness_waiting_for_a_line_has_a_deadline() {
    let mut command = Command::new("sh");
    command.args(["-c", "echo ready; exec sleep 1000"]);
    let mut child = ChildGuard::spawn("sh", command);
    assert_eq!(child.next_line(SHORT).unwrap(), "ready");
    let err = child.next_line(Duration::from_millis(200)).unwrap_err();
    assert!(err.contains("printed no line within"), "{err}");
    assert!(child.wait_timeout(Duration::from_millis(200)).is_err());
    let status = child.terminate(SHORT).unwrap();
    assert_eq!(describe(status), "killed by signal 15");
}

/// The transfer helpers the per-stack tests use, checked against the
/// kernel's own TCP (192.0.2.2 on `lo`, a thread-per-connection echo
/// server), so a failing live test is about the stack, not the harness.
#[test]
fn harness_transfer_helpers_work_against_a_kernel_echo_server() {
    run_in_new_netns(|| {
        run_ok("ip", &["addr", "add", "192.0.2.2/32", "dev", "lo"], SHORT);
        let listener = TcpListener::bind((STACK_ADDR, ECHO_PORT)).unwrap();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let mut stream = stream.unwrap();
                thread::spawn(move || {
                    let mut reader = stream.try_clone().unwrap();
                    std::io::copy(&mut reader, &mut stream).unwrap();
                    // Dropping both handles closes the connection after EOF.
                });
            }
        });
        assert_eq!(nc_exchange(b"kernel echo\n"), "kernel echo\n");
        echo_exactly(pattern(3, 10 * MEGABYTE));
        echo_concurrently(8, 200);
        let addr: SocketAddr = format!("{STACK_ADDR}:9").parse().unwrap();
        let err = TcpStream::connect_timeout(&addr, SHORT).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    });
}

/// The device is non-blocking: with nothing queued (the link is down, so
/// the kernel sends nothing), recv answers `None` at once instead of
/// waiting, and the descriptor is there for poll.
#[test]
fn tun_device_recv_returns_none_when_idle() {
    let (result_tx, result_rx) = mpsc::channel();
    let _netns = spawn_in_new_netns(move || {
        let mut tun = TunDevice::open("tun0").unwrap();
        assert!(tun.raw_fd().is_some());
        assert_eq!(tun.mtu(), 1500);
        let mut buf = [0u8; 1500];
        result_tx
            .send(tun.recv(&mut buf).map_err(|e| e.to_string()))
            .unwrap();
    });
    let result = result_rx
        .recv_timeout(SHORT)
        .expect("recv blocked on an idle TUN device");
    assert_eq!(result, Ok(None));
}

#[test]
fn tun_device_set_mtu_reaches_the_kernel() {
    run_in_new_netns(|| {
        let mut tun = TunDevice::open("tun0").unwrap();
        tun.set_mtu(1280).unwrap();
        assert_eq!(tun.mtu(), 1280);
        assert_eq!(netconfig::mtu("tun0").unwrap(), 1280);
        let link = run_ok("ip", &["link", "show", "tun0"], SHORT);
        assert!(link.contains("mtu 1280"), "{link}");
    });
}

/// Without CAP_NET_ADMIN, opening a TUN device tells the user to use sudo.
/// Capabilities are per thread in Linux, so the namespace thread drops its
/// own and the rest of the test process keeps root.
#[test]
fn tun_device_without_cap_net_admin_says_run_with_sudo() {
    run_in_new_netns(|| {
        drop_effective_capability(CAP_NET_ADMIN);
        let err = TunDevice::open("tun0").unwrap_err();
        assert!(matches!(err, DeviceError::NotPermitted { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "could not create TUN device tun0: permission denied. tuntcp needs root \
             (CAP_NET_ADMIN) to create and configure TUN devices: run it with sudo"
        );
    });
}

/// From linux/capability.h; libc does not export the capability numbers.
const CAP_NET_ADMIN: u32 = 12;

/// Removes one capability from the calling thread's effective set
/// (capget/capset, _LINUX_CAPABILITY_VERSION_3: two 32-bit words).
fn drop_effective_capability(capability: u32) {
    #[repr(C)]
    struct CapHeader {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct CapData {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0, // this thread
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and two data words, as version 3 expects.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    assert_eq!(rc, 0, "capget: {}", std::io::Error::last_os_error());
    data[(capability / 32) as usize].effective &= !(1 << (capability % 32));
    // SAFETY: as above.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    assert_eq!(rc, 0, "capset: {}", std::io::Error::last_os_error());
}

/// The device layer end to end with no stack at all: the kernel's ping goes
/// out through a TunDevice in a PcapTap, we answer by hand, ping succeeds,
/// and tshark decodes the capture.
#[test]
fn tun_device_carries_ping_both_ways_and_pcap_records_it() {
    let path = unique_temp_path("tun-ping", "pcap");
    let pcap_path = path.clone();
    run_in_new_netns(move || {
        let tun = TunDevice::open("tun0").unwrap();
        netconfig::configure_host_side("tun0", HOST_ADDR.parse().unwrap(), 24).unwrap();
        let mut tap = PcapTap::create(tun, &pcap_path).unwrap();
        let mut ping = ChildGuard::spawn("ping", {
            let mut command = Command::new("ping");
            command.args(["-c", "1", "-W", "5", STACK_ADDR]);
            command
        });
        answer_one_echo_request(&mut tap);
        let status = ping.wait_timeout(SHORT).unwrap();
        assert!(
            status.success(),
            "ping got no answer: {}",
            ping.stderr_text()
        );
    });
    let summary = tshark_summary(&path);
    assert!(summary.contains("Echo (ping) request"), "{summary}");
    assert!(summary.contains("Echo (ping) reply"), "{summary}");
    std::fs::remove_file(&path).ok();
}

/// Reads packets (with a deadline) until an ICMP echo request arrives and
/// sends the matching reply, as our stack would.
fn answer_one_echo_request(device: &mut impl Device) {
    use etherparse::{Icmpv4Type, NetSlice, PacketBuilder, SlicedPacket, TransportSlice};
    let deadline = std::time::Instant::now() + SHORT;
    let mut buf = vec![0u8; device.mtu()];
    loop {
        let Some(len) = device.recv(&mut buf).unwrap() else {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            assert!(!left.is_zero(), "no echo request reached the TUN device");
            wait_readable(device.raw_fd().unwrap(), left);
            continue;
        };
        let Ok(packet) = SlicedPacket::from_ip(&buf[..len]) else {
            continue;
        };
        let (Some(NetSlice::Ipv4(ip)), Some(TransportSlice::Icmpv4(icmp))) =
            (packet.net, packet.transport)
        else {
            continue; // e.g. IPv6 router solicitations
        };
        let Icmpv4Type::EchoRequest(echo) = icmp.icmp_type() else {
            continue;
        };
        let mut reply = Vec::new();
        PacketBuilder::ipv4(ip.header().destination(), ip.header().source(), 64)
            .icmpv4_echo_reply(echo.id, echo.seq)
            .write(&mut reply, icmp.payload())
            .unwrap();
        device.send(&reply).unwrap();
        return;
    }
}

fn wait_readable(fd: std::os::fd::RawFd, timeout: Duration) {
    let mut poll_fd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd; a short or interrupted wait just loops.
    unsafe {
        libc::poll(
            &mut poll_fd,
            1,
            timeout.as_millis().min(10_000) as libc::c_int,
        )
    };
}

/// tshark's one-line-per-packet view of a capture, with checksum checks on;
/// fails on any sign of a malformed packet or a bad checksum.
fn tshark_summary(path: &Path) -> String {
    let path = path.to_str().unwrap();
    let args = [
        "-o",
        "tcp.check_checksum:TRUE",
        "-o",
        "ip.check_checksum:TRUE",
        "-r",
        path,
    ];
    let summary = run_ok("tshark", &args, Duration::from_secs(60));
    for warning in ["Malformed", "Bad", "incorrect"] {
        assert!(
            !summary.contains(warning),
            "tshark reports {warning} in {path}:\n{summary}"
        );
    }
    summary
}

// ---------------------------------------------------------------------------
// The binary, once per stack.
// ---------------------------------------------------------------------------

fn nc_line_is_echoed(stack: &'static str, family: Family) {
    run_in_new_netns(move || {
        let (_server, banner) = start_echo(stack, &[]);
        let serving = family.stack_socket(ECHO_PORT).to_string();
        assert!(banner.contains(&serving), "unexpected banner {banner:?}");
        let line = nc_exchange_over(family, b"hello through tuntcp\n");
        assert_eq!(line, "hello through tuntcp\n");
    });
}

/// `nc -N` sends `input`, shuts its sending side at EOF and prints what
/// comes back until the server closes.
fn nc_exchange(input: &[u8]) -> String {
    nc_exchange_over(Family::V4, input)
}

/// [`nc_exchange`] over `family` (`nc -4`, `nc -6`).
fn nc_exchange_over(family: Family, input: &[u8]) -> String {
    let mut nc = Command::new("nc");
    let port = ECHO_PORT.to_string();
    nc.args([family.flag(), "-N", "-w", "10", family.stack_addr(), &port]);
    let (status, output) = run_with_input("nc", nc, input, Duration::from_secs(20));
    assert!(status.success(), "nc failed: {}", describe(status));
    output
}

fn ten_megabytes_are_echoed_exactly(stack: &'static str, family: Family) {
    run_in_new_netns(move || {
        let (_server, _) = start_echo(stack, &[]);
        echo_exactly_over(family, pattern(1, 10 * MEGABYTE));
    });
}

fn sixty_four_concurrent_clients_are_echoed_exactly(stack: &'static str, family: Family) {
    run_in_new_netns(move || {
        let (_server, _) = start_echo(stack, &[]);
        echo_concurrently_over(family, 64, 100);
    });
}

/// `ping -4` / `ping -6`: ICMP echo (RFC 792) or ICMPv6 echo (RFC 4443).
fn ping_is_answered(stack: &'static str, family: Family) {
    run_in_new_netns(move || {
        let (_server, _) = start_echo(stack, &[]);
        let output = ping_once(family);
        assert!(output.contains("1 received"), "{output}");
    });
}

fn ping_once(family: Family) -> String {
    let args = [family.flag(), "-c", "1", "-W", "2", family.stack_addr()];
    run_ok("ping", &args, SHORT)
}

/// A SYN to a port nobody listens on gets RST (RFC 9293 §3.10.7.1).
fn closed_port_is_refused(stack: &'static str, family: Family) {
    run_in_new_netns(move || {
        let (_server, _) = start_echo(stack, &[]);
        let addr = family.stack_socket(9);
        let err = TcpStream::connect_timeout(&addr, SHORT).expect_err("port 9 should be closed");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    });
}

/// `--mode iterative` serves one connection at a time: a second client's
/// echo comes only after the first client closes.
fn iterative_mode_serves_clients_one_after_another(stack: &'static str) {
    run_in_new_netns(move || {
        let (_server, _) = start_echo(stack, &["--mode", "iterative"]);
        let mut first = connect_to_stack(ECHO_PORT, SHORT);
        expect_echo(&mut first, b"first\n");

        // The second client may wait in the backlog or in connect(), so it
        // runs on its own thread and reports when its echo arrives.
        let (echoed_tx, echoed_rx) = mpsc::channel();
        thread::spawn(move || {
            let mut second = connect_to_stack(ECHO_PORT, Duration::from_secs(30));
            second.write_all(b"second\n").unwrap();
            let mut reply = [0u8; 7];
            let result = second.read_exact(&mut reply).map(|()| reply.to_vec());
            echoed_tx.send(result.map_err(|e| e.to_string())).ok();
        });

        // While the first client is open: no echo for the second, and the
        // server is still busy serving the first.
        let early = echoed_rx.recv_timeout(Duration::from_millis(700));
        assert!(
            early.is_err(),
            "second client was served while the first was open: {early:?}"
        );
        expect_echo(&mut first, b"still here\n");

        drop(first);
        let echoed = echoed_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("second client never served");
        assert_eq!(echoed.unwrap(), b"second\n");
    });
}

/// `--mode threaded` (no longer the default) still serves clients at once.
fn threaded_mode_serves_concurrent_clients(stack: &'static str) {
    run_in_new_netns(move || {
        let (_server, _) = start_echo(stack, &["--mode", "threaded"]);
        echo_concurrently(8, 300);
    });
}

/// The event-driven server holds a thousand connections open at once from
/// its one thread: every client connects first, and only when all are
/// connected does each send its line and wait for the echo.
#[test]
fn event_mode_serves_a_thousand_concurrent_clients() {
    const CLIENTS: usize = 1000;
    run_in_new_netns(|| {
        let (_server, _) = start_echo("tuntcp", &["--mode", "event", "--backlog", "1024"]);
        let connected = Arc::new(Barrier::new(CLIENTS));
        let (done_tx, done_rx) = mpsc::channel();
        for client in 0..CLIENTS {
            let (connected, done_tx) = (Arc::clone(&connected), done_tx.clone());
            thread::spawn(move || {
                let mut stream = connect_to_stack(ECHO_PORT, Duration::from_secs(60));
                connected.wait();
                let line = format!("client {client} says hello\n");
                expect_echo(&mut stream, line.as_bytes());
                done_tx.send(client).unwrap();
            });
        }
        // A client that fails panics before sending; all must report, in
        // bounded time (connects retry SYNs at most ~10 s; echoes are fast).
        for _ in 0..CLIENTS {
            done_rx
                .recv_timeout(Duration::from_secs(120))
                .expect("a client was not echoed in time");
        }
    });
}

/// Ten thousand connections held open at once by the event server's one
/// thread: each is proven served when it opens (one byte echoed), and
/// after all are open every hundredth echoes again. Bounded: connects and
/// echoes time out, and the whole run must end within two minutes.
#[test]
fn event_mode_holds_ten_thousand_connections_and_still_echoes() {
    const CONNECTIONS: usize = 10_000;
    const BOUND: Duration = Duration::from_secs(120);
    raise_open_file_limit(CONNECTIONS + 1_000);
    run_in_new_netns(|| {
        let (_server, _) = start_echo("tuntcp", &["--mode", "event", "--backlog", "1024"]);
        let started = std::time::Instant::now();
        let mut streams = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            let mut stream = connect_to_stack(ECHO_PORT, Duration::from_secs(20));
            expect_echo(&mut stream, b"o");
            streams.push(stream);
            assert!(
                started.elapsed() < BOUND,
                "{} opened in {BOUND:?}",
                streams.len()
            );
        }
        for stream in streams.iter_mut().step_by(100) {
            expect_echo(stream, b"s");
        }
        assert!(started.elapsed() < BOUND, "not done within {BOUND:?}");
    });
}

/// Lets this test process hold `wanted` descriptors (its soft limit may
/// be 1024), within the hard limit.
fn raise_open_file_limit(wanted: usize) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: both calls take a pointer to a live rlimit.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        assert!(
            limit.rlim_max as usize >= wanted,
            "the hard limit on open files ({}) is below {wanted}",
            limit.rlim_max
        );
        limit.rlim_cur = limit.rlim_cur.max(wanted as libc::rlim_t);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
}

#[track_caller]
fn expect_echo(stream: &mut TcpStream, line: &[u8]) {
    stream.write_all(line).unwrap();
    let mut reply = vec![0u8; line.len()];
    stream
        .read_exact(&mut reply)
        .expect("no echo within the read timeout");
    assert_eq!(reply, line);
}

/// The first line says what serves, where and how, in words (no Rust
/// names), and how to try it.
fn start_line_says_the_mode_in_words(stack: &'static str) {
    let engine = if stack == "tuntcp" {
        "our engine"
    } else {
        "smoltcp"
    };
    run_in_new_netns(move || {
        for (mode, words) in [
            ("event", "one thread for every client (events)"),
            ("threaded", "a thread per client"),
            ("iterative", "one client at a time"),
        ] {
            let (mut server, line) = start_echo(stack, &["--mode", mode]);
            assert_eq!(
                line,
                format!(
                    "serving echo on 192.0.2.2:7 and [2001:db8::2]:7 with {engine}, {words} \
                     — try: nc 192.0.2.2 7 or nc -6 2001:db8::2 7"
                )
            );
            server
                .terminate(SHORT)
                .unwrap_or_else(|why| panic!("{why}"));
        }
    });
}

/// `--pcap FILE` leaves a capture that tshark decodes with every checksum
/// correct, flushed by the SIGTERM shutdown; an IPv6 session shows as
/// TCP over IPv6 (link type RAW carries both).
fn pcap_capture_decodes_cleanly(stack: &'static str, family: Family) {
    let path = unique_temp_path("live-capture", "pcap");
    let path_arg = path.to_str().unwrap().to_string();
    run_in_new_netns(move || {
        let (mut server, _) = start_echo(stack, &["--pcap", &path_arg]);
        let line = nc_exchange_over(family, b"captured line\n");
        assert_eq!(line, "captured line\n");
        ping_once(family);
        let status = server
            .terminate(SHORT)
            .unwrap_or_else(|why| panic!("{why}"));
        assert!(
            status.success(),
            "SIGTERM should end the server cleanly, got {}",
            describe(status)
        );
    });
    let summary = tshark_summary(&path);
    // A TCP segment from the stack to the kernel, over the family's IP.
    let (from, to) = (family.stack_addr(), family.host_addr());
    let from_stack = |line: &&str| {
        (line.contains(&format!("{from} → {to} ")) || line.contains(&format!("{from} -> {to} ")))
            && line.contains(" TCP ")
    };
    assert!(summary.lines().any(|line| from_stack(&line)), "{summary}");
    assert!(
        summary.contains("[SYN]") && summary.contains("[FIN"),
        "handshake or close missing:\n{summary}"
    );
    assert!(summary.contains("Echo (ping) reply"), "{summary}");
    std::fs::remove_file(&path).ok();
}

/// The kernel's TCP and ours agree on timestamps (RFC 7323 §3.2): after
/// the handshake every segment either way carries the option, and the
/// kernel echoes TSvals we sent; with `--no-timestamps` none carries it
/// after the kernel's SYN.
#[test]
fn timestamps_are_negotiated_with_the_kernel() {
    for (args, expected) in [(&[][..], true), (&["--no-timestamps"][..], false)] {
        let path = unique_temp_path("live-timestamps", "pcap");
        let path_arg = path.to_str().unwrap().to_string();
        run_in_new_netns(move || {
            let mut echo_args = vec!["--pcap", path_arg.as_str()];
            echo_args.extend_from_slice(args);
            let (mut server, _) = start_echo("tuntcp", &echo_args);
            assert_eq!(nc_exchange(b"stamped line\n"), "stamped line\n");
            server
                .terminate(SHORT)
                .unwrap_or_else(|why| panic!("{why}"));
        });
        let fields = [
            "-r",
            path.to_str().unwrap(),
            "-Y",
            "tcp.flags.reset == 0",
            "-T",
            "fields",
            "-e",
            "ip.src",
            "-e",
            "tcp.flags.syn",
            "-e",
            "tcp.options.timestamp.tsval",
            "-e",
            "tcp.options.timestamp.tsecr",
        ];
        let table = run_ok("tshark", &fields, Duration::from_secs(60));
        std::fs::remove_file(&path).ok();
        let rows: Vec<Vec<&str>> = table.lines().map(|l| l.split('\t').collect()).collect();
        let ours: Vec<&str> = rows
            .iter()
            .filter(|r| r[0] == STACK_ADDR)
            .map(|r| r[2])
            .collect();
        for row in rows.iter().filter(|r| r[1] != "1" && r[1] != "True") {
            assert_eq!(
                !row[2].is_empty(),
                expected,
                "timestamps in {row:?}:\n{table}"
            );
            if expected && row[0] != STACK_ADDR {
                assert!(
                    ours.contains(&row[3]),
                    "the kernel echoes {row:?}:\n{table}"
                );
            }
        }
        assert!(rows.len() >= 6, "too few segments:\n{table}");
    }
}

/// 10 MB still echo exactly over a bad link. When the kernel has netem
/// (a module many CI kernels lack), `netem` impairs tun0's egress, the
/// kernel-to-stack direction, as a real qdisc would. Otherwise the same
/// faults come from `tuntcp --impair SPEC`, in-process and in both
/// directions (so the test is, if anything, harsher), and one line says so.
fn echo_survives_bad_link(stack: &'static str, netem: &'static [&'static str], spec: &'static str) {
    run_in_new_netns(move || {
        let netem_missing = netem_unavailable_here();
        let impair_args: &[&str] = match &netem_missing {
            None => &[],
            Some(why) => {
                println!(
                    "netem is unavailable ({why}), so the in-process impairment --impair {spec} was used"
                );
                &["--impair", spec]
            }
        };
        let (_server, _) = start_echo(stack, impair_args);
        if netem_missing.is_none() {
            let mut args = vec!["qdisc", "add", "dev", "tun0", "root", "netem"];
            args.extend_from_slice(netem);
            run_ok("tc", &args, SHORT);
        }
        let started = std::time::Instant::now();
        echo_exactly(pattern(7, 10 * MEGABYTE));
        println!(
            "10 MB echoed exactly over the bad link in {:.1?}",
            started.elapsed()
        );
    });
}

/// Whether this namespace's kernel lacks netem: tries adding it to `lo`
/// (the test namespace's own, so nothing else sees it) and removes it
/// again. `Some(tc's complaint)` when it is missing.
fn netem_unavailable_here() -> Option<String> {
    let mut command = Command::new("tc");
    command.args(["qdisc", "add", "dev", "lo", "root", "netem", "delay", "0ms"]);
    let mut tc = ChildGuard::spawn("tc qdisc add dev lo root netem", command);
    drop(tc.stdin());
    let status = tc.wait_timeout(SHORT).unwrap_or_else(|why| panic!("{why}"));
    if !status.success() {
        return Some(tc.final_stderr().trim().to_string());
    }
    run_ok("tc", &["qdisc", "del", "dev", "lo", "root"], SHORT);
    None
}

fn netem_loss_5_percent(stack: &'static str) {
    // dir=inbound: netem on tun0 loses only what the kernel sends. (5% of
    // what smoltcp sends takes it ~70 s for 10 MB: its 1 s minimum RTO
    // fires for about one loss in four; see the combined test.)
    echo_survives_bad_link(stack, &["loss", "5%"], "loss=5%,seed=5,dir=inbound");
}

fn netem_reordering(stack: &'static str) {
    // netem reorders by sending some packets at once and delaying the rest.
    echo_survives_bad_link(
        stack,
        &["delay", "5ms", "reorder", "25%", "50%"],
        "reorder=25%,seed=6",
    );
}

fn netem_duplication(stack: &'static str) {
    echo_survives_bad_link(stack, &["duplicate", "5%"], "dup=5%,seed=7");
}

/// Every fault at once, in both directions without netem: corruption too,
/// which checksums must catch. Loss is kept low because each loss of the
/// stack's own data costs smoltcp about a second (RTO) one time in four.
fn netem_loss_duplication_reordering_and_corruption(stack: &'static str) {
    echo_survives_bad_link(
        stack,
        &[
            "delay",
            "5ms",
            "reorder",
            "25%",
            "50%",
            "loss",
            "0.5%",
            "duplicate",
            "5%",
            "corrupt",
            "0.5%",
        ],
        "loss=0.5%,dup=5%,reorder=25%,corrupt=0.5%,seed=8",
    );
}

/// Someone deletes tun0 under a running server: it must say so and exit
/// with an error, not hang or exit as if all went well.
#[test]
fn deleting_the_tun_device_ends_echo_with_a_clear_error() {
    run_in_new_netns(|| {
        let (mut server, _) = start_echo("tuntcp", &[]);
        run_ok("ip", &["link", "del", "tun0"], SHORT);
        let status = server
            .wait_timeout(SHORT)
            .unwrap_or_else(|why| panic!("{why}"));
        assert!(!status.success(), "exit status {status}");
        let stderr = server.final_stderr();
        assert!(
            stderr.contains("the TUN device tun0 was deleted while in use"),
            "{stderr}"
        );
    });
}

/// 5% loss of every packet, both ways: beyond what netem on tun0 can do
/// (it only delays what the kernel sends), so always `--impair`. Our
/// engine only: smoltcp takes over a minute for this (1 s minimum RTO, no
/// SACK), which is measured and reported, not hidden behind a long timeout.
#[test]
fn tuntcp_echoes_10_mb_exactly_with_5_percent_loss_both_ways() {
    run_in_new_netns(|| {
        let (_server, _) = start_echo("tuntcp", &["--impair", "loss=5%,seed=3"]);
        let started = std::time::Instant::now();
        echo_exactly(pattern(11, 10 * MEGABYTE));
        println!(
            "10 MB echoed exactly with 5% loss both ways in {:.1?}",
            started.elapsed()
        );
    });
}

/// `--mtu 65535`, the largest IPv4 packet: the device gets the MTU, our
/// MSS follows it (65495), and with windows scaled to fill the path
/// (RFC 7323, auto-tuned buffers) 10 MB echo exactly. Before scaling, a
/// 64 KiB window held one such segment and the transfer crawled.
#[test]
fn tuntcp_echoes_10_mb_exactly_at_mtu_65535() {
    run_in_new_netns(|| {
        let (_server, _) = start_echo("tuntcp", &["--mtu", "65535"]);
        let link = run_ok("ip", &["link", "show", "tun0"], SHORT);
        assert!(link.contains("mtu 65535"), "{link}");
        let started = std::time::Instant::now();
        echo_exactly(pattern(12, 10 * MEGABYTE));
        println!(
            "10 MB echoed exactly at MTU 65535 in {:.1?}",
            started.elapsed()
        );
    });
}

/// `tuntcp ss` attaches to the running echo server in this namespace and
/// lists its listener and a live connection; our engine also shows the
/// connection's TCP variables (smoltcp keeps them private).
fn ss_shows_the_listener_and_a_live_connection(stack: &'static str) {
    let engine = if stack == "tuntcp" {
        "our engine"
    } else {
        "smoltcp"
    };
    run_in_new_netns(move || {
        let (_server, _) = start_echo(stack, &[]);
        let mut client = connect_to_stack(ECHO_PORT, SHORT);
        client.write_all(b"hi\n").unwrap();
        client.read_exact(&mut [0u8; 3]).unwrap();
        let local = client.local_addr().unwrap().to_string();
        let shown = run_ok(
            env!("CARGO_BIN_EXE_tuntcp"),
            &["ss", "--iface", "tun0"],
            SHORT,
        );
        let lines: Vec<&str> = shown.lines().collect();
        let title = format!("{engine} on tun0: 1 connections, 1 listeners");
        assert_eq!(lines[0], title, "{shown}");
        let listener = lines
            .iter()
            .find(|l| l.starts_with("LISTEN"))
            .expect(&shown);
        assert!(
            listener.contains("192.0.2.2:7 ") && listener.contains("syn-queue:0"),
            "{shown}"
        );
        let conn = lines
            .iter()
            .position(|l| l.starts_with("ESTABLISHED") && l.contains(&local))
            .unwrap_or_else(|| panic!("no ESTABLISHED line for {local}:\n{shown}"));
        if stack == "tuntcp" {
            let tcp = lines[conn + 1];
            assert!(
                tcp.contains("bytes_received:3") && tcp.contains("bytes_acked:3"),
                "{shown}"
            );
            assert!(
                tcp.contains("mss:") && tcp.contains("cwnd:") && tcp.contains("rto:"),
                "{shown}"
            );
        }
        assert!(lines.iter().any(|l| l.starts_with("counters: ")), "{shown}");
        // Our engine says why packets were dropped, on the last line.
        let last = lines.last().unwrap();
        assert_eq!(last.starts_with("drops: "), stack == "tuntcp", "{shown}");
    });
}

/// The view shows every connection of the stack: only root may see it,
/// which the stack checks (SO_PEERCRED) since an abstract socket has no
/// file permissions.
#[test]
fn ss_is_for_root_only() {
    use std::os::unix::process::CommandExt;
    run_in_new_netns(|| {
        let (_server, _) = start_echo("tuntcp", &[]);
        let mut command = tuntcp_command();
        command.args(["ss"]).uid(65534).gid(65534);
        let mut ss = ChildGuard::spawn("tuntcp ss as nobody", command);
        let status = ss.wait_timeout(SHORT).unwrap_or_else(|why| panic!("{why}"));
        let stderr = ss.final_stderr();
        assert!(!status.success(), "{stderr}");
        assert!(
            stderr.contains("only root may look at the stack (you are uid 65534)"),
            "{stderr}"
        );
    });
}

/// Without a stack on the interface, `ss` says so in a sentence.
#[test]
fn ss_without_a_stack_says_so() {
    run_in_new_netns(|| {
        let mut ss = ChildGuard::spawn("tuntcp ss", {
            let mut command = tuntcp_command();
            command.args(["ss", "--iface", "tun0"]);
            command
        });
        let status = ss.wait_timeout(SHORT).unwrap_or_else(|why| panic!("{why}"));
        let stderr = ss.final_stderr();
        assert!(!status.success());
        assert!(
            stderr.contains("no tuntcp stack runs on tun0 in this network namespace"),
            "{stderr}"
        );
    });
}

// The same tests over each family (`ipv6::tuntcp::ping_is_answered`).
live_tests! {
    families: [ipv4, ipv6],
    stacks: [smoltcp, tuntcp],
    tests: [
        nc_line_is_echoed,
        ten_megabytes_are_echoed_exactly,
        sixty_four_concurrent_clients_are_echoed_exactly,
        ping_is_answered,
        closed_port_is_refused,
        pcap_capture_decodes_cleanly,
    ]
}

live_tests! {
    stacks: [smoltcp, tuntcp],
    tests: [
        iterative_mode_serves_clients_one_after_another,
        threaded_mode_serves_concurrent_clients,
        start_line_says_the_mode_in_words,
        ss_shows_the_listener_and_a_live_connection,
        netem_loss_5_percent,
        netem_reordering,
        netem_duplication,
        netem_loss_duplication_reordering_and_corruption,
    ]
}

/// `--trace FILE` leaves one JSON object a line: the kernel's SYN, then
/// LISTEN => SYN-RECEIVED => ESTABLISHED with the 4-tuple, and the close.
#[test]
fn trace_file_records_segments_and_state_changes() {
    let path = unique_temp_path("live-trace", "jsonl");
    let path_arg = path.to_str().unwrap().to_string();
    run_in_new_netns(move || {
        let (mut server, _) = start_echo("tuntcp", &["--trace", &path_arg]);
        assert_eq!(nc_exchange(b"traced line\n"), "traced line\n");
        server
            .terminate(SHORT)
            .unwrap_or_else(|why| panic!("{why}"));
    });
    let text = std::fs::read_to_string(&path).unwrap();
    // Every line must be valid JSON to a real parser.
    let check = "import json,sys\nfor line in open(sys.argv[1]): json.loads(line)";
    run_ok("python3", &["-c", check, path.to_str().unwrap()], SHORT);
    std::fs::remove_file(&path).ok();
    let lines: Vec<&str> = text.lines().collect();
    let states: Vec<&str> = lines
        .iter()
        .filter(|line| line.contains(r#""event":"state""#))
        .copied()
        .collect();
    let expected = [
        r#""from":"LISTEN","to":"SYN-RECEIVED""#,
        r#""from":"SYN-RECEIVED","to":"ESTABLISHED""#,
        r#""from":"ESTABLISHED","to":"CLOSE-WAIT""#,
    ];
    for (state, change) in states.iter().zip(expected) {
        assert!(state.contains(change), "{change} expected:\n{text}");
        assert!(
            state.contains(r#""local":"192.0.2.2:7""#) && state.contains(r#""remote":"192.0.2.1:"#),
            "4-tuple missing:\n{text}"
        );
    }
    assert!(states.len() >= expected.len(), "{text}");
    assert!(states[0].contains(r#""cause":{"flags":"SYN","#), "{text}");
    assert!(
        lines[0].contains(r#""event":"segment","dir":"in""#)
            && lines[0].contains(r#""flags":"SYN""#),
        "{text}"
    );
    assert!(text.contains(r#""dir":"out""#), "{text}");
}
