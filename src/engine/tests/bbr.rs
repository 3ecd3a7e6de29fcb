//! BBR against CUBIC on a lossy link: two of our stacks over the
//! in-memory link of `pair.rs`, 10% of packets lost at random both ways.
//! Random loss is no sign of congestion; CUBIC takes each one for it and
//! shrinks the window by 0.7, to the few segments where a lost
//! retransmission can only be repaired by the retransmission timeout.
//! BBR keeps its window at the path's BDP (draft-cardwell-iccrg-bbr-
//! congestion-control §4.2.3) and goes on sending. Compared by bytes
//! delivered in the same virtual time with the same seeds, never by
//! wall-clock time.

use std::time::Duration;

use super::pair::Pair;
use crate::engine::{ApiError, CongestionControl, Engine};
use crate::time::Instant;

/// Bytes the server's application read from a bulk transfer from the
/// client over `duration` of virtual time, and the client's cwnd then.
fn bulk_delivered(
    seed: u64,
    loss_percent: u64,
    cc: CongestionControl,
    duration: Duration,
) -> (usize, usize) {
    let mut pair = Pair::with_congestion_control(seed, loss_percent, cc);
    let (listener, client) = pair.listen_and_connect(9);
    let chunk = vec![7u8; 64 * 1024];
    let mut buf = vec![0u8; 64 * 1024];
    let (mut server, mut delivered) = (None, 0);
    let end = Instant::ZERO + duration;
    while pair.now < end {
        pair.step();
        server = server.or_else(|| pair.server.accept(listener).ok());
        let _ = pair.client.send(client, &chunk);
        while let Some(conn) = server {
            match pair.server.recv(conn, &mut buf) {
                Ok(n) if n > 0 => delivered += n,
                Ok(_) | Err(ApiError::WouldBlock) => break,
                Err(e) => panic!("seed {seed} {cc}: server recv: {e}"),
            }
        }
        pair.advance();
    }
    (delivered, pair.client.congestion_window(client).0)
}

/// The same seeded runs of 4 s at 10% loss both ways: BBR delivers more
/// than ten times what CUBIC does, with a window grown far past the
/// initial ten segments. (A window merely never reduced, stuck at the
/// initial one, would deliver about four times CUBIC's: the model must
/// work for this to pass.)
#[test]
fn bbr_delivers_several_times_cubic_at_ten_percent_random_loss() {
    super::transitions::install_test_logger();
    let duration = Duration::from_secs(4);
    let (mut bbr, mut cubic) = (0, 0);
    for seed in 1..=2 {
        let (b, bbr_cwnd) = bulk_delivered(seed, 10, CongestionControl::Bbr, duration);
        let (c, cubic_cwnd) = bulk_delivered(seed, 10, CongestionControl::Cubic, duration);
        eprintln!(
            "seed {seed}: bbr {b} bytes, cwnd {bbr_cwnd}; cubic {c} bytes, cwnd {cubic_cwnd}"
        );
        assert!(bbr_cwnd > 40 * 1460, "seed {seed}: BBR cwnd {bbr_cwnd}");
        bbr += b;
        cubic += c;
    }
    assert!(cubic > 0, "CUBIC delivered nothing");
    assert!(bbr > 10 * cubic, "bbr {bbr} bytes, cubic {cubic}");
}
