//! The runner on small scripts: each must PASS, FAIL at a given line with
//! what differed, or SKIP with its reason.

use crate::apps::packetdrill::{run_text, Outcome, RunOptions, StackChoice, Strictness};

const OPTIONS: RunOptions = RunOptions {
    stack: StackChoice::Tuntcp,
    strictness: Strictness { strict: false },
};

/// A listener that has completed one handshake at 0.1 s and accepted fd 4.
const ESTABLISHED: &str = "\
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 65535 <mss 1460>
+0 > S. 0:0(0) ack 1 <mss 1460>
+.1 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
";

fn run(body: &str) -> Outcome {
    run_text(&format!("{ESTABLISHED}{body}"), OPTIONS)
}

#[track_caller]
fn fails_at(outcome: Outcome, want_line: usize, want_text: &str) {
    match outcome {
        Outcome::Fail { line, message } => {
            assert_eq!(line, want_line, "{message}");
            assert!(message.contains(want_text), "{message}");
        }
        other => panic!("expected FAIL at line {want_line}, got {other:?}"),
    }
}

#[test]
fn a_handshake_and_an_echo_pass() {
    let body = "+0 < P. 1:4(3) ack 1 win 65535\n+0 read(4, ..., 10) = 3\n\
                +0 write(4, ..., 3) = 3\n+0 > P. 1:4(3) ack 4\n";
    assert_eq!(run(body), Outcome::Pass);
}

#[test]
fn wrong_flags_fail_at_their_line_with_expected_and_actual() {
    let body = "+0 < P. 1:4(3) ack 1 win 65535\n+0 read(4, ..., 10) = 3\n\
                +0 write(4, ..., 3) = 3\n+0 > F. 1:4(3) ack 4\n";
    fails_at(run(body), 11, "flags F. against P.");
}

#[test]
fn a_packet_earlier_than_the_script_says_fails_on_timing() {
    // The delayed ACK comes at 40 ms, not 200 ms.
    let body = "+0 < P. 1:4(3) ack 1 win 65535\n+.2 > . 1:1(0) ack 4\n";
    fails_at(run(body), 9, "expected at 0.300");
}

#[test]
fn a_packet_that_never_comes_fails() {
    fails_at(run("+0 > P. 1:4(3) ack 1\n"), 8, "the stack sent nothing");
}

#[test]
fn a_packet_no_line_expects_fails_at_the_end() {
    let body = "+0 write(4, ..., 3) = 3\n+.5 close(4) = 0\n";
    fails_at(run(body), 9, "unexpected packet");
}

#[test]
fn wrong_results_and_errno_fail() {
    fails_at(run("+0 read(4, ..., 10) = 3\n"), 8, "blocked");
    let nonblocking = "+0 fcntl(4, F_SETFL, O_RDWR | O_NONBLOCK) = 0\n+0 read(4, ..., 10) = 3\n";
    fails_at(run(nonblocking), 9, "read() expected 3, actual -1 EAGAIN");
    let errno = "+0 fcntl(4, F_SETFL, O_RDWR | O_NONBLOCK) = 0\n\
                 +0 read(4, ..., 10) = -1 EWOULDBLOCK (Operation would block)\n";
    assert_eq!(run(errno), Outcome::Pass, "EWOULDBLOCK is EAGAIN");
}

#[test]
fn poll_reports_what_each_descriptor_can_do_and_blocks_until_then() {
    let body = "+0 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLOUT}], 1, 0) = 1\n\
                +0...0.3 poll([{fd=4, events=POLLIN, revents=POLLIN}], 1, 1000) = 1\n\
                +.2 < P. 1:4(3) ack 1 win 65535\n";
    assert_eq!(run(body), Outcome::Pass);
    let wrong = "+0 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLIN}], 1, 0) = 1\n";
    fails_at(run(wrong), 8, "revents");
}

#[test]
fn a_blocking_call_must_return_at_its_end_time() {
    let on_time = "+0...0.3 read(4, ..., 10) = 3\n+.2 < P. 1:4(3) ack 1 win 65535\n";
    assert_eq!(run(on_time), Outcome::Pass);
    let late = "+0...0.2 read(4, ..., 10) = 3\n+.2 < P. 1:4(3) ack 1 win 65535\n";
    fails_at(run(late), 8, "read() expected to return at 0.200");
    // Relative ends count from the start: +0.1...+0.2 is 0.2 to 0.4 here.
    let relative = "+.1...+.2 read(4, ..., 10) = 3\n+.2 < P. 1:4(3) ack 1 win 65535\n";
    assert_eq!(run(relative), Outcome::Pass);
}

#[test]
fn a_write_larger_than_the_mss_matches_several_segments() {
    // Two full segments (a third, smaller one would wait for Nagle).
    let body = "+0 write(4, ..., 2920) = 2920\n+0 > P. 1:2921(2920) ack 1\n\
                +.1 < . 1:1(0) ack 2921 win 65535\n";
    assert_eq!(run(body), Outcome::Pass);
}

#[test]
fn what_the_engine_cannot_do_is_skipped_with_the_reason() {
    let skipped = |outcome: Outcome, reason: &str| match outcome {
        Outcome::Skip { reason: why } => assert!(why.contains(reason), "{why}"),
        other => panic!("expected SKIP ({reason}), got {other:?}"),
    };
    skipped(
        run_text("--ip_version=ipv5\n0 close(3) = 0\n", OPTIONS),
        "ipv5",
    );
    skipped(
        run("+0 setsockopt(4, IPPROTO_IP, IP_TTL, [1], 4) = 0\n"),
        "IP_TTL",
    );
    skipped(run("+0 select(5, [4], 0, 0, 0) = 0\n"), "select");
    skipped(
        run_text("0 `sysctl -w net.inet.tcp.insecure_syn=1`\n", OPTIONS),
        "RFC 5961",
    );
}

#[test]
fn strict_compares_what_loose_lets_pass() {
    // Our SYN-ACK window is our buffer, not the 1000 the script shows.
    let script = ESTABLISHED.replace(
        "+0 > S. 0:0(0) ack 1 <mss 1460>",
        "+0 > S. 0:0(0) ack 1 win 1000 <mss 1460>",
    );
    assert_eq!(run_text(&script, OPTIONS), Outcome::Pass);
    let strict = RunOptions {
        strictness: Strictness { strict: true },
        ..OPTIONS
    };
    fails_at(run_text(&script, strict), 5, "win 1000 against");
}

#[test]
fn the_reference_engine_runs_the_same_script() {
    let smoltcp = RunOptions {
        stack: StackChoice::Smoltcp,
        ..OPTIONS
    };
    // smoltcp's SYN-ACK has no options beyond MSS either for this SYN.
    let text = format!("{ESTABLISHED}+0 < P. 1:4(3) ack 1 win 65535\n+0 read(4, ..., 10) = 3\n");
    assert_eq!(run_text(&text, smoltcp), Outcome::Pass);
}

#[test]
fn an_ipv6_script_runs_over_ipv6_with_the_mss_from_the_mtu_less_60() {
    // The handshake of ESTABLISHED, with IPv6's MSS (MTU 1500 - 60).
    let established = ESTABLISHED.replace("<mss 1460>", "<mss 1440>");
    let script = format!(
        "--ip_version=ipv6\n{established}+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 1\n"
    );
    assert_eq!(run_text(&script, OPTIONS), Outcome::Pass);
    // The IPv4 MSS is wrong over IPv6.
    let wrong = script.replace(
        "> S. 0:0(0) ack 1 <mss 1440>",
        "> S. 0:0(0) ack 1 <mss 1460>",
    );
    assert!(matches!(run_text(&wrong, OPTIONS), Outcome::Fail { .. }));
}
