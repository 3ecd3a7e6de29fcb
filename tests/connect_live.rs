//! Live tests of `tuntcp connect`, the client: the real binary on a real
//! TUN device in a private network namespace, with the kernel's `nc` and
//! `socat` (and plain kernel sockets) as servers. Every close order of
//! `nc -N`, a reset, and `--trace`. They need root; each runs once per
//! stack and family (`live_tests!`, common/mod.rs: `ipv6::smoltcp::...`).

#[macro_use]
mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::mpsc;
use std::thread;

use common::netns::*;

/// `tuntcp connect` against a kernel listener: data both ways, then the
/// client's FIN at stdin EOF, the server's close, and exit code 0.
fn connect_exchanges_data_both_ways(stack: &'static str, family: Family) {
    run_in_new_netns(move || {
        // 0.0.0.0 or [::]: 192.0.2.1 (2001:db8::1) exists only once
        // tuntcp has configured tun0.
        let listener = TcpListener::bind(family.any_socket(9000)).unwrap();
        let mut command = tuntcp_command();
        let server = family.host_endpoint(9000);
        command.args(["connect", &server, "--stack", stack]);
        let mut client = ChildGuard::spawn("tuntcp connect", command);

        let (accepted_tx, accepted_rx) = mpsc::channel();
        thread::spawn(move || {
            accepted_tx
                .send(listener.accept().map(|(stream, _)| stream))
                .ok()
        });
        let mut server = accepted_rx
            .recv_timeout(STARTUP_TIMEOUT)
            .unwrap_or_else(|_| {
                panic!(
                    "tuntcp connect never connected; stderr:\n{}",
                    client.stderr_text()
                )
            })
            .unwrap();
        server.set_read_timeout(Some(SHORT)).unwrap();

        let mut stdin = client.stdin();
        stdin.write_all(b"from client\n").unwrap();
        let mut got = [0u8; 12];
        server.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"from client\n");

        drop(stdin); // EOF: the client sends FIN ...
        let mut rest = Vec::new();
        server
            .read_to_end(&mut rest)
            .expect("client's FIN never arrived");
        assert!(
            rest.is_empty(),
            "unexpected bytes after the client's data: {rest:?}"
        );

        server.write_all(b"from server\n").unwrap(); // ... but still receives.
        drop(server);
        let output = client
            .remaining_stdout(SHORT)
            .unwrap_or_else(|why| panic!("{why}"));
        assert_eq!(output, "from server\n");
        let status = client
            .wait_timeout(SHORT)
            .unwrap_or_else(|why| panic!("{why}"));
        assert!(
            status.success(),
            "tuntcp connect ended with {}",
            describe(status)
        );
    });
}

/// A listener on the kernel's side, port 9000, once it says it listens
/// (on stderr): `nc -N -l` (sends FIN when its stdin ends, as
/// `tuntcp connect` does; Debian's nc also ends as soon as the peer's FIN
/// arrives) or `socat`, which keeps its other direction open after the
/// peer's FIN (for `-t` seconds) and logs it ("socket 1 ... is at EOF").
fn peer_listener(program: &str, family: Family) -> ChildGuard {
    let mut command = Command::new(program);
    let ready = match program {
        "nc" => {
            command.args([family.flag(), "-v", "-n", "-N", "-l", "9000"]);
            "Listening on"
        }
        _ => {
            let listen = match family {
                Family::V4 => "TCP4-LISTEN:9000",
                Family::V6 => "TCP6-LISTEN:9000",
            };
            command.args(["-d", "-d", "-t", "30", listen, "STDIO"]);
            "listening on"
        }
    };
    let peer = ChildGuard::spawn(program, command);
    peer.wait_for_stderr(ready, SHORT)
        .unwrap_or_else(|why| panic!("{why}"));
    peer
}

/// `tuntcp -v connect 192.0.2.1:9000` (or `[2001:db8::1]:9000`): `-v`
/// logs when stdin ends and when the peer's FIN arrives, which the tests
/// wait for to order the closes.
fn connect_client(stack: &str, family: Family) -> ChildGuard {
    let mut command = tuntcp_command();
    let server = family.host_endpoint(9000);
    command.args(["-v", "connect", &server, "--stack", stack]);
    ChildGuard::spawn("tuntcp connect", command)
}

/// Both the peer and `tuntcp connect` exit 0 by themselves.
fn assert_both_exit_cleanly(peer: &mut ChildGuard, client: &mut ChildGuard) {
    for child in [peer, client] {
        let status = child
            .wait_timeout(SHORT)
            .unwrap_or_else(|why| panic!("{why}"));
        assert!(
            status.success(),
            "it ended with {}; its stderr:\n{}",
            describe(status),
            child.final_stderr()
        );
    }
}

/// Writes `line` to a child's stdin, then closes it (EOF).
fn write_and_close(mut stdin: std::process::ChildStdin, line: &[u8]) {
    stdin.write_all(line).unwrap();
}

/// The peer closes first, as `nc -N` in the issue: its line and FIN
/// arrive, and `tuntcp connect` still sends its own stdin afterwards, then
/// FIN (CLOSE-WAIT => LAST-ACK only when stdin ends), and both exit 0.
fn connect_keeps_sending_after_the_peers_fin(stack: &'static str, family: Family) {
    run_in_new_netns(move || {
        let mut nc = peer_listener("nc", family);
        // nc sends its line, then FIN, once connected.
        write_and_close(nc.stdin(), b"from the kernel\n");
        let mut client = connect_client(stack, family);
        let line = client.next_line(STARTUP_TIMEOUT);
        assert_eq!(line, Ok("from the kernel".to_string()));
        client
            .wait_for_stderr("peer closed", SHORT)
            .unwrap_or_else(|why| panic!("{why}"));

        write_and_close(client.stdin(), b"from the stack\n");
        let received = nc.remaining_stdout(SHORT);
        assert_eq!(received, Ok("from the stack\n".to_string()));
        assert_both_exit_cleanly(&mut nc, &mut client);
        // A clean close is not worth a warning, however fast the peer ACKs.
        let stderr = client.final_stderr();
        assert!(!stderr.contains("WARN"), "{stderr}");
    });
}

/// Our stdin ends first: our line and FIN reach `nc`, which answers with
/// its own FIN (Debian's nc quits on the peer's FIN), and both exit 0.
fn connect_sends_fin_when_stdin_ends_and_nc_closes_too(stack: &'static str, family: Family) {
    run_in_new_netns(move || {
        let mut nc = peer_listener("nc", family);
        let mut client = connect_client(stack, family);
        write_and_close(client.stdin(), b"from the stack\n");
        let received = nc.remaining_stdout(STARTUP_TIMEOUT);
        assert_eq!(received, Ok("from the stack\n".to_string()));
        let printed = client.remaining_stdout(SHORT);
        assert_eq!(printed, Ok(String::new()));
        assert_both_exit_cleanly(&mut nc, &mut client);
    });
}

/// Our stdin ends first and the peer keeps talking: once our FIN has
/// arrived (socat logs it), what the peer sends is still printed until its
/// own FIN; both exit 0.
fn connect_keeps_printing_after_its_own_fin(stack: &'static str, family: Family) {
    run_in_new_netns(move || {
        let mut socat = peer_listener("socat", family);
        let mut client = connect_client(stack, family);
        let mut socat_stdin = socat.stdin();
        write_and_close(client.stdin(), b"from the stack\n");
        let line = socat.next_line(STARTUP_TIMEOUT);
        assert_eq!(line, Ok("from the stack".to_string()));
        socat
            // Its stdin is still open: the EOF is our FIN.
            .wait_for_stderr("is at EOF", SHORT)
            .unwrap_or_else(|why| panic!("{why}"));

        socat_stdin.write_all(b"from the kernel\n").unwrap();
        drop(socat_stdin);
        let printed = client.remaining_stdout(SHORT);
        assert_eq!(printed, Ok("from the kernel\n".to_string()));
        assert_both_exit_cleanly(&mut socat, &mut client);
    });
}

/// A peer that resets the connection (close with SO_LINGER 0) makes
/// `tuntcp connect` exit non-zero with a sentence saying so.
fn connect_reports_a_reset(stack: &'static str, family: Family) {
    run_in_new_netns(move || {
        let listener = TcpListener::bind(family.any_socket(9000)).unwrap();
        let mut client = connect_client(stack, family);
        let (accepted_tx, accepted_rx) = mpsc::channel();
        thread::spawn(move || accepted_tx.send(listener.accept().map(|(s, _)| s)).ok());
        let mut server = accepted_rx
            .recv_timeout(STARTUP_TIMEOUT)
            .expect("tuntcp connect never connected")
            .unwrap();
        // Reset once the client is surely past connect(): it has sent data.
        let mut client_stdin = client.stdin();
        client_stdin.write_all(b"x").unwrap();
        server.set_read_timeout(Some(SHORT)).unwrap();
        server.read_exact(&mut [0u8; 1]).unwrap();
        reset_on_close(&server);
        drop(server);
        let status = client
            .wait_timeout(SHORT)
            .unwrap_or_else(|why| panic!("{why}"));
        let stderr = client.final_stderr();
        assert!(
            !status.success(),
            "a reset ended it with {}",
            describe(status)
        );
        let server = family.host_endpoint(9000);
        let sentence = format!("tuntcp: connection to {server} failed: connection reset by peer");
        assert!(stderr.contains(&sentence), "{stderr}");
    });
}

/// SO_LINGER with a zero timeout: close(2) sends RST instead of FIN.
fn reset_on_close(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a socket we own, with a correctly sized linger.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_LINGER: {}", std::io::Error::last_os_error());
}

live_tests! {
    families: [ipv4, ipv6],
    stacks: [smoltcp, tuntcp],
    tests: [
        connect_exchanges_data_both_ways,
        connect_keeps_sending_after_the_peers_fin,
        connect_keeps_printing_after_its_own_fin,
        connect_sends_fin_when_stdin_ends_and_nc_closes_too,
        connect_reports_a_reset,
    ]
}

/// `connect --trace FILE`: the active open is traced from connect()
/// (CLOSED => SYN-SENT) and our SYN, SYN-SENT => ESTABLISHED on the
/// kernel's SYN-ACK, to the close; every line JSON.
#[test]
fn connect_trace_records_the_active_open_and_close() {
    let path = unique_temp_path("live-connect-trace", "jsonl");
    let path_arg = path.to_str().unwrap().to_string();
    run_in_new_netns(move || {
        let mut nc = peer_listener("nc", Family::V4);
        write_and_close(nc.stdin(), b"from the kernel\n");
        let mut command = tuntcp_command();
        command.args(["-v", "connect", "192.0.2.1:9000", "--trace", &path_arg]);
        let mut client = ChildGuard::spawn("tuntcp connect", command);
        assert_eq!(
            client.next_line(STARTUP_TIMEOUT),
            Ok("from the kernel".to_string())
        );
        write_and_close(client.stdin(), b"from the stack\n");
        assert_eq!(
            nc.remaining_stdout(SHORT),
            Ok("from the stack\n".to_string())
        );
        assert_both_exit_cleanly(&mut nc, &mut client);
    });
    let text = std::fs::read_to_string(&path).unwrap();
    let check = "import json,sys\nfor line in open(sys.argv[1]): json.loads(line)";
    run_ok("python3", &["-c", check, path.to_str().unwrap()], SHORT);
    std::fs::remove_file(&path).ok();
    // connect() itself opens: CLOSED => SYN-SENT with no segment as the
    // cause, then our SYN goes out.
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].contains(r#""from":"CLOSED","to":"SYN-SENT","cause":null"#),
        "{text}"
    );
    assert!(
        lines[1].contains(r#""dir":"out""#) && lines[1].contains(r#""flags":"SYN""#),
        "the second line is not our SYN:\n{text}"
    );
    let established = r#""from":"SYN-SENT","to":"ESTABLISHED","cause":{"flags":"SYN,ACK""#;
    assert!(text.contains(established), "{text}");
    assert!(text.contains(r#""remote":"192.0.2.1:9000""#), "{text}");
    assert!(
        text.contains(r#""to":"CLOSED""#) || text.contains(r#""to":"TIME-WAIT""#),
        "{text}"
    );
}
