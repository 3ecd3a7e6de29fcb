//! Parser tests on lines as they appear in real scripts (the FreeBSD
//! tcp-testsuite and upstream packetdrill's own tests).

use super::*;

fn one_event(line: &str) -> Event {
    let script = parse_script(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    assert_eq!(script.events.len(), 1, "{line}");
    script.events[0].clone()
}

fn packet(line: &str) -> PacketSpec {
    match one_event(line).kind {
        EventKind::Packet(spec) => spec,
        other => panic!("not a packet: {other:?}"),
    }
}

fn syscall(line: &str) -> SyscallSpec {
    match one_event(line).kind {
        EventKind::Syscall(spec) => spec,
        other => panic!("not a syscall: {other:?}"),
    }
}

#[test]
fn header_flags_and_sysctl_lines_of_a_freebsd_script() {
    let text = "--ip_version=ipv4\n--tolerance_usecs=75000\n\n\
                // Ensure that all relevant sysctl variables have their default values.\n \
                0.00 `sysctl -w net.inet.tcp.rfc1323=1`\n";
    let script = parse_script(text).unwrap();
    assert_eq!(script.flags["ip_version"], "ipv4");
    assert_eq!(script.flags["tolerance_usecs"], "75000");
    assert_eq!(script.events[0].line, 5);
    assert_eq!(script.events[0].time, TimeSpec::Absolute(0));
    assert_eq!(
        script.events[0].kind,
        EventKind::Shell("sysctl -w net.inet.tcp.rfc1323=1".into())
    );
}

#[test]
fn outbound_syn_with_options_and_window() {
    let spec =
        packet("+0.00 > S  0:0(0)       win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>");
    assert_eq!(spec.direction, Direction::Outbound);
    assert!(spec.flags.syn && !spec.flags.ack);
    assert_eq!(
        (spec.start, spec.len, spec.ack, spec.window),
        (0, 0, None, Some(65535))
    );
    assert_eq!(
        spec.options.unwrap(),
        vec![
            TcpOptionSpec::Mss(1460),
            TcpOptionSpec::Nop,
            TcpOptionSpec::WindowScale(6),
            TcpOptionSpec::SackPermitted,
            TcpOptionSpec::Timestamp { val: 100, ecr: 0 },
        ]
    );
}

#[test]
fn inbound_data_with_sack_blocks_and_a_trailing_comment() {
    let spec =
        packet("+0.00 >  .   1:1(0)     ack 300 win 65401 <nop,nop,sack 50:100 600:700 400:500>");
    assert!(spec.flags.ack);
    assert_eq!(spec.ack, Some(300));
    assert_eq!(
        spec.options.unwrap()[2],
        TcpOptionSpec::Sack(vec![(50, 100), (600, 700), (400, 500)])
    );
    let data = packet("+0.00 <  .  2:4(2)   ack  1 win 65535 // Second segment");
    assert_eq!((data.start, data.len), (2, 2));
    assert_eq!(data.options, Some(vec![]));
}

#[test]
fn unchecked_options_none_flags_and_ecn_bits() {
    assert_eq!(packet("0.1 > P. 1:1001(1000) ack 1 <...>").options, None);
    assert_eq!(packet("+0 < - 0:0(0) win 0").flags, FlagSet::default());
    let ecn = packet("+0 > SEW 0:0(0) <...>");
    assert!(ecn.flags.syn && ecn.flags.ece && ecn.flags.cwr);
    assert!(
        parse_script("+0 < 0:0(0) win 10").is_err(),
        "a range is not a flag"
    );
}

#[test]
fn bad_range_is_an_error_with_its_line() {
    let error = parse_script("\n+0 < S 0:5(4) win 10\n").unwrap_err();
    assert_eq!(error.line, 2);
    assert!(error.message.contains("0:5(4)"), "{error}");
}

#[test]
fn syscalls_with_errno_hex_results_and_pointers() {
    let connect =
        syscall("+0.00 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)");
    assert_eq!(connect.name, "connect");
    assert_eq!(
        connect.args,
        vec![Expr::Int(3), Expr::Ellipsis, Expr::Ellipsis]
    );
    assert_eq!(connect.result, Expr::Int(-1));
    assert_eq!(connect.errno.as_deref(), Some("EINPROGRESS"));

    let getfl = syscall("+0.00 fcntl(3, F_GETFL) = 0x02 (flags O_RDWR)");
    assert_eq!(getfl.result, Expr::Int(2));
    assert_eq!(getfl.errno, None);

    let setfl = syscall("+0.00 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0");
    assert_eq!(setfl.args[2].symbols(), vec!["O_RDWR", "O_NONBLOCK"]);

    let error = syscall("+0.00 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNRESET], [4]) = 0");
    assert_eq!(
        error.args[3],
        Expr::List(vec![Expr::Symbol("ECONNRESET".into())])
    );
    assert_eq!(error.args[4].as_int(), Some(4));
}

#[test]
fn struct_arguments_over_two_lines_and_blocking_times() {
    let text =
        "0.1...0.2 setsockopt(3, SOL_SOCKET, SO_LINGER,\n  {l_onoff=1, l_linger=0}, 8) = 0\n";
    let event = one_event(text);
    assert_eq!(
        event.time,
        TimeSpec::Blocking {
            start: TimePoint::Absolute(100_000),
            end: TimePoint::Absolute(200_000)
        }
    );
    let EventKind::Syscall(spec) = event.kind else {
        panic!()
    };
    assert_eq!(
        spec.args[3],
        Expr::Struct(vec![
            (Some("l_onoff".into()), Expr::Int(1)),
            (Some("l_linger".into()), Expr::Int(0))
        ])
    );
}

#[test]
fn time_columns_of_both_dialects() {
    assert_eq!(parse_time("*"), Some(TimeSpec::Any));
    assert_eq!(parse_time("+.1"), Some(TimeSpec::Relative(100_000)));
    assert_eq!(parse_time("2"), Some(TimeSpec::Absolute(2_000_000)));
    assert_eq!(
        parse_time("+0.1~+0.3"),
        Some(TimeSpec::Range {
            low: TimePoint::Relative(100_000),
            high: TimePoint::Relative(300_000)
        })
    );
    assert_eq!(parse_time("abc"), None);
}

#[test]
fn state_assertions_are_read_and_other_python_is_not() {
    assert_eq!(
        one_event("+0.00 %{ assert tcpi_state == TCPI_SYN_RECEIVED }%").kind,
        EventKind::StateAssert("SYN_RECEIVED".into())
    );
    assert!(matches!(
        one_event("+0 %{ assert tcpi_options == (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK) }%").kind,
        EventKind::Unsupported(_)
    ));
}

#[test]
fn unsupported_lines_are_named_not_errors() {
    assert!(matches!(
        one_event("+0 < icmp unreachable port_unreachable [1:1(0)]").kind,
        EventKind::Icmp(_)
    ));
    assert!(matches!(
        one_event("+0 > icmp unreachable port_unreachable [1:1(0)]").kind,
        EventKind::Unsupported(_)
    ));
    let md5 = packet("+0 < S 0:0(0) win 1000 <md5 000102030405060708090a0b0c0d0e0f,nop,nop>");
    assert_eq!(md5.options.unwrap()[0], TcpOptionSpec::Other("md5".into()));
}
