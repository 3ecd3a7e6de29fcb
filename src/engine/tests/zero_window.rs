//! Send buffers held against zero windows (`engine/zero_window.rs`):
//! an orphan is given up after its limit however well the peer answers
//! the probes, and past the stack-wide bound blocked connections are
//! aborted, orphans first, then the longest blocked (RFC 9293 §3.8.6.1:
//! MUST-37 keeps answered connections open, "subject to the
//! implementation's resource management concerns").

use std::time::Duration;

use super::harness::*;
use super::limits::{drain, established_clients};
use crate::engine::{ApiError, Engine, Stack};
use crate::wire::TcpHeader;

fn closed_window(n: u16) -> TcpHeader {
    TcpHeader {
        src_port: REMOTE_PORT + n,
        window: 0,
        ..from_peer()
    }
}

/// Runs the clock to `until`, answering every probe with a closed
/// window; returns the RSTs seen.
fn answer_probes_until(stack: &mut Stack, until: u64) -> usize {
    let mut resets = 0;
    let mut buf = [0u8; 1500];
    while let Some(at) = stack.poll_timeout().filter(|at| at.total_millis() <= until) {
        stack.handle_timeout(at);
        while stack.poll_transmit(at, &mut buf).is_some() {
            resets += usize::from(buf[20 + 13] & 0x04 != 0);
            send(stack, at, closed_window(0), b"");
        }
    }
    resets
}

#[test]
fn an_answered_orphan_on_a_zero_window_is_given_up_after_its_limit_must_37() {
    let mut config = config();
    config.orphan_zero_window_timeout = Duration::from_secs(30);
    let (mut stack, conn) = established_with(config);
    send(&mut stack, ms(20), closed_window(0), b"");
    assert_eq!(stack.send(conn, b"abc"), Ok(3));
    recv_nothing(&mut stack, ms(20));
    // Held by the application: probed as long as the peer answers.
    answer_probes_until(&mut stack, 120_000);
    assert_eq!(state(&stack, conn), "ESTABLISHED");
    assert_eq!(stack.stats().defence.zero_window_aborts, 0);
    // Closed by it (an orphan with data queued): 30 s more at most, plus
    // one probe interval (backed off to at most max_rto, 60 s).
    stack.close(conn);
    answer_probes_until(&mut stack, 120_000 + 90_000);
    assert!(
        stack.view(ms(210_000)).connections.is_empty(),
        "the orphan is gone"
    );
    assert_eq!(stack.stats().defence.zero_window_aborts, 1);
}

#[test]
fn past_the_zero_window_bound_orphans_go_first_then_the_longest_blocked() {
    // Each blocked connection holds 4 KiB of send storage: two fit.
    let (mut stack, conns) = established_clients(3, |c| c.max_zero_window_bytes = 9000);
    for n in 0..3 {
        send(&mut stack, ms(10), closed_window(n), b"");
    }
    for (n, &conn) in conns.iter().enumerate() {
        let at = ms(20 + 10 * n as u64);
        assert_eq!(stack.send(conn, b"data"), Ok(4));
        drain(&mut stack, at);
        if n == 1 {
            stack.close(conn); // an orphan now
            drain(&mut stack, at);
        }
    }
    // The third made it 12 KiB: the orphan (client 1) is aborted with a
    // RST, though it was blocked later than client 0.
    stack.handle_timeout(ms(50));
    let (rst, _) = recv(&mut stack, ms(50));
    assert!(rst.flags.rst && rst.dst_port == REMOTE_PORT + 1, "{rst}");
    assert_eq!(stack.stats().defence.zero_window_aborts, 1);
    // The application's connections stay until the next overflow; then
    // the longest blocked (client 0) goes, and its owner hears of it.
    assert_eq!(stack.send(conns[2], &[b'x'; 5000]), Ok(5000));
    drain(&mut stack, ms(60));
    stack.handle_timeout(ms(60));
    let (rst, _) = recv(&mut stack, ms(60));
    assert!(rst.flags.rst && rst.dst_port == REMOTE_PORT, "{rst}");
    assert_eq!(stack.send(conns[0], b"x"), Err(ApiError::ConnectionReset));
    assert_eq!(state(&stack, conns[2]), "ESTABLISHED");
    assert_eq!(stack.stats().defence.zero_window_aborts, 2);
}
