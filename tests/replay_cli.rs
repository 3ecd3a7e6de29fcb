//! `tuntcp replay FILE`: the program itself, run on the captures in
//! `captures/` with both engines. No root and no TUN device: the replay is
//! pure virtual time, so each run takes milliseconds.

use std::path::PathBuf;
use std::process::{Command, Output};

fn capture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
}

fn tuntcp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tuntcp"))
        .args(args)
        .output()
        .expect("run tuntcp")
}

/// The transcript of a successful replay of `name` into `stack`.
fn transcript(name: &str, stack: &str) -> String {
    let path = capture_path(name);
    let output = tuntcp(&["replay", path.to_str().unwrap(), "--stack", stack]);
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 transcript");
    assert!(
        output.status.success(),
        "{name} on {stack}: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Fails with the whole transcript when a line is missing.
fn assert_shows(text: &str, expected: &[&str]) {
    for line in expected {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

/// `needles` appear in this order.
fn assert_in_order(text: &str, needles: &[&str]) {
    let mut from = 0;
    for needle in needles {
        match text[from..].find(needle) {
            Some(at) => from += at + needle.len(),
            None => panic!("{needle:?} missing or out of order in:\n{text}"),
        }
    }
}

#[test]
fn echo_line_shows_handshake_data_close_and_summary_on_both_stacks() {
    for stack in ["tuntcp", "smoltcp"] {
        let text = transcript("echo-line.pcap", stack);
        assert_shows(
            &text,
            &[
                &format!("into {stack} as the echo server on 192.0.2.2:7"),
                "stack: LISTEN on 192.0.2.2:7",
                r#"kernel -> stack  [PSH,ACK] seq=1 ack=1 win=64240 len=14 "hello, tuntcp\n""#,
                r#"stack -> kernel  [PSH,ACK] seq=1 ack=15"#,
                "app: read 14 bytes",
                &format!("Summary ({stack}):"),
                "kernel -> stack: 14 bytes; the application read 14",
                "stack -> kernel: 14 bytes",
                "the kernel closed first (FIN)",
                "final state: stack CLOSED, kernel TIME-WAIT",
                &format!("compared with the capture: {stack} did what the recorded stack did"),
            ],
        );
        assert_in_order(
            &text,
            &[
                "   0.000000  kernel -> stack  [SYN] seq=0 win=64240 <mss 1460,sackOK,",
                "stack: LISTEN => SYN-RECEIVED",
                "stack -> kernel  [SYN,ACK] seq=0 ack=1 ",
                "kernel -> stack  [ACK] seq=1 ack=1 ",
                "stack: SYN-RECEIVED => ESTABLISHED",
                "kernel -> stack  [FIN,ACK] seq=15 ack=15",
                "stack: ESTABLISHED => CLOSE-WAIT",
                "stack: CLOSE-WAIT => LAST-ACK",
                "stack -> kernel  [FIN,ACK] seq=15 ack=16",
                "kernel -> stack  [ACK] seq=16 ack=16",
                "stack: LAST-ACK => CLOSED",
                "Summary",
            ],
        );
    }
}

#[test]
fn refused_shows_the_rst_on_both_stacks() {
    for stack in ["tuntcp", "smoltcp"] {
        let text = transcript("refused.pcap", stack);
        assert_in_order(
            &text,
            &[
                "stack: CLOSED, nothing listens on 192.0.2.2:9",
                "kernel -> stack  [SYN] seq=0 ",
                "stack -> kernel  [RST,ACK] seq=1 ack=1 win=0",
                "kernel -> stack: 0 bytes",
                "the stack reset it (RST)",
                "final state: stack CLOSED, kernel CLOSED",
                &format!("{stack} did what the recorded stack did"),
            ],
        );
    }
}

#[test]
fn a_client_capture_is_replayed_with_the_stack_as_client() {
    let text = transcript("client-closes-first.pcap", "tuntcp");
    assert_in_order(
        &text,
        &[
            "as the client, connecting to 192.0.2.1:9000",
            "app: connect(192.0.2.1:9000)",
            "stack: CLOSED => SYN-SENT",
            "stack -> kernel  [SYN] seq=0 ",
            "kernel -> stack  [SYN,ACK] seq=0 ack=1 ",
            "stack: SYN-SENT => ESTABLISHED",
            r#"len=21 "hello from the stack\n""#,
            "stack: FIN-WAIT-2 => TIME-WAIT",
            "the stack closed first (FIN)",
            "final state: stack TIME-WAIT, kernel CLOSED",
            "tuntcp did what the recorded stack did",
        ],
    );
}

/// A bad input ends with one plain sentence on stderr and exit status 1.
fn assert_plain_error(args: &[&str], expected: &str) {
    let output = tuntcp(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(output.stdout.is_empty(), "{args:?}: no transcript expected");
    assert!(stderr.starts_with("tuntcp: "), "{stderr}");
    assert!(stderr.contains(expected), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one sentence: {stderr}");
}

/// A scratch file, removed when dropped.
struct ScratchFile(PathBuf);

impl ScratchFile {
    fn new(name: &str, bytes: &[u8]) -> ScratchFile {
        let path = std::env::temp_dir().join(format!("tuntcp-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).expect("write a scratch file");
        ScratchFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn bad_files_are_refused_with_a_plain_sentence() {
    assert_plain_error(
        &["replay", "/nonexistent/capture.pcap"],
        "/nonexistent/capture.pcap: no such file",
    );
    let text = ScratchFile::new("text.pcap", b"this is not a capture, just some text\n");
    assert_plain_error(&["replay", text.path()], "is not a pcap file");
    let short = ScratchFile::new("short.pcap", b"abc");
    assert_plain_error(&["replay", short.path()], "is not a pcap file");

    // A valid pcap header (little endian, version 2.4) with link type 1:
    // Ethernet frames, not the bare IP packets a replay needs.
    let mut ethernet = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    ethernet.extend_from_slice(&[0; 8]);
    ethernet.extend_from_slice(&65535u32.to_le_bytes());
    ethernet.extend_from_slice(&1u32.to_le_bytes());
    let ethernet = ScratchFile::new("ethernet.pcap", &ethernet);
    assert_plain_error(&["replay", ethernet.path()], "link type");
}

#[test]
fn an_address_not_in_the_capture_is_refused_with_a_plain_sentence() {
    let path = capture_path("echo-line.pcap");
    assert_plain_error(
        &["replay", path.to_str().unwrap(), "--addr", "192.0.2.9"],
        "is neither from nor to 192.0.2.9: is --addr the recorded stack's address?",
    );
}

#[test]
fn ladder_draws_the_four_way_close_as_arrows_on_both_stacks() {
    for stack in ["tuntcp", "smoltcp"] {
        let path = capture_path("echo-line.pcap");
        let output = tuntcp(&[
            "replay",
            "--ladder",
            path.to_str().unwrap(),
            "--stack",
            stack,
        ]);
        let text = String::from_utf8(output.stdout).expect("UTF-8 ladder");
        assert!(output.status.success(), "{stack}: {text}");
        assert_in_order(
            &text,
            &[
                "kernel 192.0.2.1:",
                "stack 192.0.2.2:7",
                "|--- [SYN] seq=0",
                "|<-- [SYN,ACK] seq=0 ack=1",
                "|--- [FIN,ACK] seq=15 ack=15",
                "CLOSE-WAIT",
                "|<-- [FIN,ACK] seq=15 ack=16",
                "|--- [ACK] seq=16 ack=16",
                "compared with the capture",
            ],
        );
    }
}

/// A session recorded over IPv6 replays with the default --addr (both
/// families), as server and as client, into both engines.
#[test]
fn ipv6_captures_replay_on_both_stacks() {
    for stack in ["tuntcp", "smoltcp"] {
        let server = transcript("echo-line-ipv6.pcap", stack);
        let serving = format!("into {stack} as the echo server on [2001:db8::2]:7");
        let line = r#"kernel -> stack  [PSH,ACK] seq=1 ack=1 win=64 len=14"#;
        assert_in_order(&server, &[&serving, "LISTEN on [2001:db8::2]:7", line]);
        let client = transcript("client-closes-first-ipv6.pcap", stack);
        let connecting = "as the client, connecting to [2001:db8::1]:9000";
        assert_shows(&client, &[connecting, "did what the recorded stack did"]);
    }
}
