//! Closing: §3.6 (closing a connection), §3.10.4 (CLOSE), §3.10.5
//! (ABORT), §3.10.7.4 eighth step (FIN), TIME-WAIT (2 MSL).

use std::time::Duration;

use super::harness::*;
use crate::engine::{ApiError, Engine, StackConfig};
use crate::wire::{SeqNum, TcpHeader};

/// Our FIN right after the handshake (no data sent).
fn our_fin() -> TcpHeader {
    TcpHeader {
        flags: flags("F"),
        ..to_peer()
    }
}

/// The peer's FIN right after the handshake, acking only our SYN.
fn peer_fin() -> TcpHeader {
    TcpHeader {
        flags: flags("F"),
        ..from_peer()
    }
}

/// The peer's ACK of our FIN.
fn peer_acks_our_fin() -> TcpHeader {
    TcpHeader {
        ack: Some(SeqNum(LOCAL_ISS + 2)),
        ..from_peer()
    }
}

/// Our ACK of the peer's FIN, after ours went out.
fn our_ack_of_fin_after_ours() -> TcpHeader {
    TcpHeader {
        seq: SeqNum(LOCAL_ISS + 2),
        ack: Some(SeqNum(REMOTE_ISS + 2)),
        ..to_peer()
    }
}

#[test]
fn must_13_active_close_walks_fin_wait_1_fin_wait_2_time_wait_closed_s3_6() {
    // Over IPv4 and IPv6 alike (RFC 8200 changes nothing above IP).
    on_both_families(|| {
        let (mut stack, conn) = established();
        stack.shutdown_write(conn).unwrap();
        assert_eq!(state(&stack, conn), "FIN-WAIT-1");
        expect(&mut stack, ms(20), our_fin(), b"");
        send(&mut stack, ms(30), peer_acks_our_fin(), b"");
        assert_eq!(state(&stack, conn), "FIN-WAIT-2");
        send(
            &mut stack,
            ms(40),
            TcpHeader {
                flags: flags("F"),
                ..peer_acks_our_fin()
            },
            b"",
        );
        assert_eq!(state(&stack, conn), "TIME-WAIT");
        expect(&mut stack, ms(40), our_ack_of_fin_after_ours(), b"");
        let mut buf = [0u8; 4];
        assert_eq!(stack.recv(conn, &mut buf), Ok(0));
        // TIME-WAIT lasts 2 * MSL = 60 s by default.
        assert_eq!(stack.poll_timeout(), Some(ms(40) + Duration::from_secs(60)));
        recv_nothing(&mut stack, ms(60_039));
        assert_eq!(state(&stack, conn), "TIME-WAIT");
        recv_nothing(&mut stack, ms(60_040));
        assert_eq!(state(&stack, conn), "CLOSED");
    });
}

#[test]
fn fin_and_ack_together_go_straight_to_time_wait_s3_10_7_4() {
    let (mut stack, conn) = established();
    stack.shutdown_write(conn).unwrap();
    expect(&mut stack, ms(20), our_fin(), b"");
    send(
        &mut stack,
        ms(30),
        TcpHeader {
            flags: flags("F"),
            ..peer_acks_our_fin()
        },
        b"",
    );
    assert_eq!(state(&stack, conn), "TIME-WAIT");
}

#[test]
fn passive_close_walks_close_wait_last_ack_closed_s3_6() {
    // Over IPv4 and IPv6 alike (RFC 8200 changes nothing above IP).
    on_both_families(|| {
        let (mut stack, conn) = established();
        send(
            &mut stack,
            ms(20),
            TcpHeader {
                flags: flags("F"),
                ..from_peer()
            },
            b"bye",
        );
        assert_eq!(state(&stack, conn), "CLOSE-WAIT");
        expect(
            &mut stack,
            ms(20),
            TcpHeader {
                ack: Some(SeqNum(REMOTE_ISS + 5)),
                window: LOCAL_WIN - 3,
                ..to_peer()
            },
            b"",
        );
        // Data before the FIN is read first, then end of stream.
        assert_eq!(read_all(&mut stack, conn), b"bye");
        let mut buf = [0u8; 4];
        assert_eq!(stack.recv(conn, &mut buf), Ok(0));
        stack.shutdown_write(conn).unwrap();
        assert_eq!(state(&stack, conn), "LAST-ACK");
        // Reading 3 bytes is too little to move the window (SWS avoidance).
        let fin = TcpHeader {
            flags: flags("F"),
            ack: Some(SeqNum(REMOTE_ISS + 5)),
            window: LOCAL_WIN - 3,
            ..to_peer()
        };
        expect(&mut stack, ms(30), fin, b"");
        send(
            &mut stack,
            ms(40),
            TcpHeader {
                seq: SeqNum(REMOTE_ISS + 5),
                ..peer_acks_our_fin()
            },
            b"",
        );
        assert_eq!(state(&stack, conn), "CLOSED");
        assert_eq!(stack.poll_timeout(), None);
        // Closing again after a clean close is fine, as in FIN-WAIT or
        // LAST-ACK (`linger` does so after the application's own shutdown).
        assert_eq!(stack.shutdown_write(conn), Ok(()));
    });
}

#[test]
fn simultaneous_close_goes_through_closing_s3_6() {
    // Over IPv4 and IPv6 alike (RFC 8200 changes nothing above IP).
    on_both_families(|| {
        let (mut stack, conn) = established();
        stack.shutdown_write(conn).unwrap();
        expect(&mut stack, ms(20), our_fin(), b"");
        // The peer's FIN crosses ours: it does not ack our FIN yet.
        send(&mut stack, ms(21), peer_fin(), b"");
        assert_eq!(state(&stack, conn), "CLOSING");
        expect(&mut stack, ms(21), our_ack_of_fin_after_ours(), b"");
        send(
            &mut stack,
            ms(22),
            TcpHeader {
                seq: SeqNum(REMOTE_ISS + 2),
                ..peer_acks_our_fin()
            },
            b"",
        );
        assert_eq!(state(&stack, conn), "TIME-WAIT");
    });
}

#[test]
fn half_close_lets_data_flow_the_other_way_s3_6() {
    // Over IPv4 and IPv6 alike (RFC 8200 changes nothing above IP).
    on_both_families(|| {
        let (mut stack, conn) = established();
        stack.shutdown_write(conn).unwrap();
        expect(&mut stack, ms(20), our_fin(), b"");
        send(&mut stack, ms(30), peer_acks_our_fin(), b"");
        assert_eq!(stack.send(conn, b"no"), Err(ApiError::BrokenPipe));
        // FIN-WAIT-2: the peer keeps talking and we keep acknowledging.
        send(&mut stack, ms(40), peer_acks_our_fin(), b"still here");
        let ack = TcpHeader {
            seq: SeqNum(LOCAL_ISS + 2),
            ack: Some(SeqNum(REMOTE_ISS + 11)),
            window: LOCAL_WIN - 10,
            ..to_peer()
        };
        expect(&mut stack, ms(40), ack, b"");
        assert_eq!(read_all(&mut stack, conn), b"still here");
    });
}

#[test]
fn peer_half_close_lets_us_keep_sending_in_close_wait_s3_6() {
    let (mut stack, conn) = established();
    send(&mut stack, ms(20), peer_fin(), b"");
    recv(&mut stack, ms(20));
    let mut buf = [0u8; 4];
    assert_eq!(stack.recv(conn, &mut buf), Ok(0));
    assert_eq!(stack.send(conn, b"reply"), Ok(5));
    let data = TcpHeader {
        flags: flags("P"),
        ack: Some(SeqNum(REMOTE_ISS + 2)),
        ..to_peer()
    };
    expect(&mut stack, ms(21), data, b"reply");
    assert_eq!(state(&stack, conn), "CLOSE-WAIT");
}

#[test]
fn retransmitted_fin_in_time_wait_is_reacked_and_restarts_the_timer_s3_10_7_4() {
    let (mut stack, conn) = established();
    stack.shutdown_write(conn).unwrap();
    expect(&mut stack, ms(20), our_fin(), b"");
    let fin_ack = TcpHeader {
        flags: flags("F"),
        ..peer_acks_our_fin()
    };
    send(&mut stack, ms(30), fin_ack, b"");
    expect(&mut stack, ms(30), our_ack_of_fin_after_ours(), b"");
    // Our ACK was lost; the peer's FIN comes again 30 s later.
    send(&mut stack, ms(30_030), fin_ack, b"");
    expect(&mut stack, ms(30_030), our_ack_of_fin_after_ours(), b"");
    assert_eq!(stack.poll_timeout(), Some(ms(90_030)));
    recv_nothing(&mut stack, ms(60_030));
    assert_eq!(state(&stack, conn), "TIME-WAIT");
    recv_nothing(&mut stack, ms(90_030));
    assert_eq!(state(&stack, conn), "CLOSED");
}

/// §3.10.7.4 eighth step: a FIN inside the window in TIME-WAIT (not the
/// old one again, which the first step answers) is acknowledged too, and
/// restarts the 2 MSL timeout. Found by the FreeBSD suite's
/// rcv-fin-ack-time-wait scripts.
#[test]
fn a_fin_inside_the_window_in_time_wait_is_acked_and_restarts_the_timer_s3_10_7_4() {
    let (mut stack, conn) = in_time_wait();
    let fin_inside = TcpHeader {
        seq: SeqNum(REMOTE_ISS + 2 + 1000),
        flags: flags("F"),
        ..peer_acks_our_fin()
    };
    send(&mut stack, ms(10_030), fin_inside, b"");
    expect(&mut stack, ms(10_030), our_ack_of_fin_after_ours(), b"");
    assert_eq!(stack.poll_timeout(), Some(ms(70_030)));
    assert_eq!(state(&stack, conn), "TIME-WAIT");
}

/// §3.10.7.4 fifth step, TIME-WAIT: what arrives inside the window is
/// answered with an ACK and restarts the 2 MSL timeout, as Linux and
/// FreeBSD do (the FreeBSD rcv-ack-time-wait scripts); a bare ACK at
/// RCV.NXT has nothing to answer.
#[test]
fn an_ack_inside_the_window_in_time_wait_is_answered_s3_10_7_4() {
    let (mut stack, conn) = in_time_wait();
    let bare_at_rcv_nxt = TcpHeader {
        seq: SeqNum(REMOTE_ISS + 2),
        ..peer_acks_our_fin()
    };
    send(&mut stack, ms(10_030), bare_at_rcv_nxt, b"");
    recv_nothing(&mut stack, ms(10_030));
    let inside = TcpHeader {
        seq: SeqNum(REMOTE_ISS + 3),
        ..bare_at_rcv_nxt
    };
    send(&mut stack, ms(20_030), inside, b"");
    expect(&mut stack, ms(20_030), our_ack_of_fin_after_ours(), b"");
    assert_eq!(stack.poll_timeout(), Some(ms(80_030)));
    assert_eq!(state(&stack, conn), "TIME-WAIT");
}

#[test]
fn msl_is_configurable() {
    let cfg = StackConfig {
        msl: Duration::from_secs(1),
        ..config()
    };
    let (mut stack, conn) = established_with(cfg);
    stack.shutdown_write(conn).unwrap();
    recv(&mut stack, ms(20));
    send(
        &mut stack,
        ms(30),
        TcpHeader {
            flags: flags("F"),
            ..peer_acks_our_fin()
        },
        b"",
    );
    recv(&mut stack, ms(30));
    assert_eq!(stack.poll_timeout(), Some(ms(2030)));
}

#[test]
fn lost_fin_is_retransmitted_in_fin_wait_1_s3_8_1() {
    let (mut stack, conn) = established();
    stack.shutdown_write(conn).unwrap();
    expect(&mut stack, ms(20), our_fin(), b"");
    recv_nothing(&mut stack, ms(219));
    expect(&mut stack, ms(220), our_fin(), b""); // RTO 200 ms (10 ms RTT, min RTO)
    expect(&mut stack, ms(620), our_fin(), b""); // backed off to 400 ms
    send(&mut stack, ms(630), peer_acks_our_fin(), b"");
    assert_eq!(state(&stack, conn), "FIN-WAIT-2");
}

#[test]
fn lost_fin_is_retransmitted_in_last_ack_s3_8_1() {
    let (mut stack, conn) = established();
    send(&mut stack, ms(20), peer_fin(), b"");
    recv(&mut stack, ms(20));
    stack.close(conn);
    let fin = TcpHeader {
        flags: flags("F"),
        ack: Some(SeqNum(REMOTE_ISS + 2)),
        ..to_peer()
    };
    expect(&mut stack, ms(21), fin, b"");
    expect(&mut stack, ms(221), fin, b"");
    send(
        &mut stack,
        ms(230),
        TcpHeader {
            seq: SeqNum(REMOTE_ISS + 2),
            ..peer_acks_our_fin()
        },
        b"",
    );
    assert_eq!(stack.poll_timeout(), None, "TCB deleted after LAST-ACK");
    // The tuple is free again: a new segment gets a RST.
    send(&mut stack, ms(240), from_peer(), b"x");
    let (rst, _) = recv(&mut stack, ms(240));
    assert!(rst.flags.rst);
}

#[test]
fn fin_is_sent_after_queued_data_s3_10_4() {
    let (mut stack, conn) = established();
    stack.send(conn, b"last words").unwrap();
    stack.shutdown_write(conn).unwrap();
    let header = TcpHeader {
        flags: flags("PF"),
        ..to_peer()
    };
    expect(&mut stack, ms(20), header, b"last words");
}

#[test]
fn close_releases_the_handle_and_the_engine_finishes_alone_s3_10_4() {
    let (mut stack, conn) = established();
    stack.close(conn);
    assert_eq!(stack.conn_info(conn), Err(ApiError::InvalidHandle));
    assert_eq!(stack.send(conn, b"x"), Err(ApiError::InvalidHandle));
    expect(&mut stack, ms(20), our_fin(), b"");
    send(
        &mut stack,
        ms(30),
        TcpHeader {
            flags: flags("F"),
            ..peer_acks_our_fin()
        },
        b"",
    );
    expect(&mut stack, ms(30), our_ack_of_fin_after_ours(), b"");
    // TIME-WAIT runs without a handle, then the TCB is freed.
    assert_eq!(stack.poll_timeout(), Some(ms(60_030)));
    recv_nothing(&mut stack, ms(60_030));
    assert_eq!(stack.poll_timeout(), None);
}

#[test]
fn may_1_shld_3_close_with_unread_data_sends_rst_s3_10_4() {
    let (mut stack, conn) = established();
    send(&mut stack, ms(20), from_peer(), b"unread");
    recv(&mut stack, ms(20));
    stack.close(conn);
    let rst = TcpHeader {
        ack: Some(SeqNum(REMOTE_ISS + 7)),
        ..our_rst()
    };
    expect(&mut stack, ms(21), rst, b"");
    recv_nothing(&mut stack, ms(5000));
}

#[test]
fn abort_sends_rst_and_forgets_s3_10_5() {
    // Over IPv4 and IPv6 alike (RFC 8200 changes nothing above IP).
    on_both_families(|| {
        let (mut stack, conn) = established();
        stack.abort(conn);
        let rst = our_rst();
        expect(&mut stack, ms(20), rst, b"");
        assert_eq!(stack.conn_info(conn), Err(ApiError::InvalidHandle));
        assert_eq!(stack.poll_timeout(), None);
    });
}

#[test]
fn close_in_syn_sent_just_deletes_s3_10_4() {
    let mut stack = crate::engine::Stack::new(config());
    let conn = stack.connect(ms(0), REMOTE, Some(LOCAL_PORT)).unwrap();
    recv(&mut stack, ms(0));
    stack.close(conn);
    recv_nothing(&mut stack, ms(5000));
    assert_eq!(stack.poll_timeout(), None);
}

#[test]
fn close_listener_resets_connections_not_yet_accepted() {
    let (mut stack, listener) = listening_with(config());
    send(&mut stack, ms(0), peer_syn(), b"");
    expect(&mut stack, ms(0), our_syn_ack(), b"");
    send(&mut stack, ms(10), from_peer(), b"");
    stack.close_listener(listener);
    let rst = our_rst();
    expect(&mut stack, ms(11), rst, b"");
    // The port is closed now: a new SYN gets RST,ACK.
    send(&mut stack, ms(12), peer_syn(), b"");
    let (reply, _) = recv(&mut stack, ms(12));
    assert!(reply.flags.rst && reply.ack.is_some());
}

#[test]
fn ended_connection_keeps_its_handle_and_reports_closed() {
    let (mut stack, conn) = established();
    send(
        &mut stack,
        ms(20),
        TcpHeader {
            flags: flags("R"),
            ..from_peer()
        },
        b"",
    );
    let info = stack.conn_info(conn).unwrap();
    assert_eq!(info.state, "CLOSED");
    let mut buf = [0u8; 4];
    assert_eq!(stack.recv(conn, &mut buf), Err(ApiError::ConnectionReset));
    assert_eq!(stack.send(conn, b"x"), Err(ApiError::ConnectionReset));
    stack.close(conn);
    assert_eq!(stack.conn_info(conn), Err(ApiError::InvalidHandle));
}

/// The connection after an active close, in TIME-WAIT (peer at REMOTE_ISS + 2).
fn in_time_wait() -> (crate::engine::Stack, crate::engine::ConnId) {
    let (mut stack, conn) = established();
    stack.shutdown_write(conn).unwrap();
    expect(&mut stack, ms(20), our_fin(), b"");
    let fin_ack = TcpHeader {
        flags: flags("F"),
        ..peer_acks_our_fin()
    };
    send(&mut stack, ms(30), fin_ack, b"");
    expect(&mut stack, ms(30), our_ack_of_fin_after_ours(), b"");
    assert_eq!(state(&stack, conn), "TIME-WAIT");
    (stack, conn)
}

#[test]
fn new_syn_in_time_wait_reopens_the_connection_s3_6_may_2() {
    // Over IPv4 and IPv6 alike (RFC 8200 changes nothing above IP).
    on_both_families(|| {
        let (mut stack, old) = in_time_wait();
        let new_isn = REMOTE_ISS + 100_000;
        let syn = TcpHeader {
            seq: SeqNum(new_isn),
            ..peer_syn()
        };
        send(&mut stack, ms(1000), syn, b"");
        assert_eq!(state(&stack, old), "CLOSED");
        // §3.6 (1): our new ISS lies past everything the old incarnation used
        // (its SND.NXT was LOCAL_ISS + 2), by 65535 + 2 as Linux does.
        let new_iss = LOCAL_ISS + 2 + 65_537;
        let syn_ack = TcpHeader {
            seq: SeqNum(new_iss),
            ack: Some(SeqNum(new_isn + 1)),
            ..our_syn_ack()
        };
        expect(&mut stack, ms(1000), syn_ack, b"");
        let ack = TcpHeader {
            seq: SeqNum(new_isn + 1),
            ack: Some(SeqNum(new_iss + 1)),
            ..from_peer()
        };
        send(&mut stack, ms(1010), ack, b"hi");
        let listener = crate::engine::ListenerId(1);
        let conn = stack
            .accept(listener)
            .expect("the new connection is accepted");
        assert_eq!(state(&stack, conn), "ESTABLISHED");
        assert_eq!(read_all(&mut stack, conn), b"hi");
    });
}

#[test]
fn old_syn_in_time_wait_gets_an_ack_and_changes_nothing_s3_10_7_4() {
    let (mut stack, conn) = in_time_wait();
    // A SYN at or before RCV.NXT is an old duplicate: no reopening.
    let syn = TcpHeader {
        seq: SeqNum(REMOTE_ISS + 1),
        ..peer_syn()
    };
    send(&mut stack, ms(1000), syn, b"");
    expect(&mut stack, ms(1000), our_ack_of_fin_after_ours(), b"");
    assert_eq!(state(&stack, conn), "TIME-WAIT");
}

/// The application closed (handle released), our FIN went out at 20 ms
/// and the peer acknowledged it at 30 ms: an orphan in FIN-WAIT-2.
fn orphan_in_fin_wait_2() -> crate::engine::Stack {
    let (mut stack, conn) = established();
    stack.close(conn);
    expect(&mut stack, ms(20), our_fin(), b"");
    send(&mut stack, ms(30), peer_acks_our_fin(), b"");
    recv_nothing(&mut stack, ms(30));
    stack
}

/// The RST the stack sends for a segment from the peer that acknowledges
/// our FIN, when nothing may take it: <SEQ=SEG.ACK><CTL=RST> (§3.10.7.1).
fn rst_for_segment_acking_our_fin() -> TcpHeader {
    TcpHeader {
        seq: SeqNum(LOCAL_ISS + 2),
        ack: None,
        ..our_rst()
    }
}

#[test]
fn orphan_in_fin_wait_2_is_deleted_after_the_fin_timeout_linux_tcp_fin_timeout() {
    let mut stack = orphan_in_fin_wait_2();
    // Nobody will read from it and the peer may never send its FIN: after
    // 60 s (Linux's tcp_fin_timeout) the TCB goes, silently.
    assert_eq!(stack.poll_timeout(), Some(ms(60_030)));
    recv_nothing(&mut stack, ms(60_030));
    assert_eq!(stack.poll_timeout(), None);
    // Gone: the peer's late FIN finds only the listener, which resets it.
    let late_fin = TcpHeader {
        flags: flags("F"),
        ..peer_acks_our_fin()
    };
    send(&mut stack, ms(60_031), late_fin, b"");
    expect(
        &mut stack,
        ms(60_031),
        rst_for_segment_acking_our_fin(),
        b"",
    );
}

#[test]
fn orphan_fin_wait_2_timeout_is_configurable() {
    let cfg = StackConfig {
        orphan_fin_wait_2_timeout: Duration::from_secs(5),
        ..config()
    };
    let (mut stack, conn) = established_with(cfg);
    stack.close(conn);
    expect(&mut stack, ms(20), our_fin(), b"");
    send(&mut stack, ms(30), peer_acks_our_fin(), b"");
    assert_eq!(stack.poll_timeout(), Some(ms(5_030)));
}

#[test]
fn orphan_in_fin_wait_2_still_finishes_normally_on_the_peer_fin_s3_10_7_4() {
    let mut stack = orphan_in_fin_wait_2();
    let fin = TcpHeader {
        flags: flags("F"),
        ..peer_acks_our_fin()
    };
    send(&mut stack, ms(1000), fin, b"");
    expect(&mut stack, ms(1000), our_ack_of_fin_after_ours(), b"");
    // TIME-WAIT's 2 MSL replace the FIN-WAIT-2 timeout.
    assert_eq!(stack.poll_timeout(), Some(ms(61_000)));
}

#[test]
fn data_for_an_orphan_in_fin_wait_2_is_answered_with_rst_rfc1122_4_2_2_13() {
    let mut stack = orphan_in_fin_wait_2();
    // RFC 1122 §4.2.2.13: "if new data is received after CLOSE is called,
    // its TCP SHOULD send a RST to show that data was lost" (RFC 2525
    // §2.17; Linux and BSD do): nobody will ever read it.
    send(&mut stack, ms(40), peer_acks_our_fin(), b"late data");
    expect(&mut stack, ms(40), rst_for_segment_acking_our_fin(), b"");
    // The connection is aborted: nothing left, no timer.
    recv_nothing(&mut stack, ms(100_000));
    assert_eq!(stack.poll_timeout(), None);
    assert_eq!(stack.stats().resets_sent, 1);
}

#[test]
fn data_for_an_orphan_in_fin_wait_1_is_answered_with_rst_rfc1122_4_2_2_13() {
    let (mut stack, conn) = established();
    stack.close(conn);
    expect(&mut stack, ms(20), our_fin(), b"");
    // Data that does not acknowledge our FIN yet: still FIN-WAIT-1.
    send(&mut stack, ms(30), from_peer(), b"late data");
    let rst = TcpHeader {
        seq: SeqNum(LOCAL_ISS + 1),
        ack: None,
        ..our_rst()
    };
    expect(&mut stack, ms(30), rst, b"");
    recv_nothing(&mut stack, ms(100_000));
    assert_eq!(stack.poll_timeout(), None);
}

#[test]
fn half_closed_fin_wait_2_with_a_live_handle_has_no_timeout_and_keeps_receiving_s3_6() {
    let (mut stack, conn) = established();
    stack.shutdown_write(conn).unwrap();
    expect(&mut stack, ms(20), our_fin(), b"");
    send(&mut stack, ms(30), peer_acks_our_fin(), b"");
    assert_eq!(state(&stack, conn), "FIN-WAIT-2");
    // The application still reads: a perfectly valid receive-only state.
    assert_eq!(stack.poll_timeout(), None);
    recv_nothing(&mut stack, ms(10_000_000));
    send(
        &mut stack,
        ms(10_000_001),
        peer_acks_our_fin(),
        b"hours later",
    );
    let ack = TcpHeader {
        seq: SeqNum(LOCAL_ISS + 2),
        ack: Some(SeqNum(REMOTE_ISS + 12)),
        window: LOCAL_WIN - 11,
        ..to_peer()
    };
    expect(&mut stack, ms(10_000_001), ack, b"");
    assert_eq!(read_all(&mut stack, conn), b"hours later");
    assert_eq!(state(&stack, conn), "FIN-WAIT-2");
}

#[test]
fn close_after_half_close_in_fin_wait_2_starts_the_orphan_timeout() {
    let (mut stack, conn) = established();
    stack.shutdown_write(conn).unwrap();
    expect(&mut stack, ms(20), our_fin(), b"");
    send(&mut stack, ms(30), peer_acks_our_fin(), b"");
    recv_nothing(&mut stack, ms(500));
    // Closed at 500 ms, the last time the stack was called.
    stack.close(conn);
    assert_eq!(stack.poll_timeout(), Some(ms(60_500)));
    recv_nothing(&mut stack, ms(60_500));
    assert_eq!(stack.poll_timeout(), None);
}

/// TIME-WAIT with the handle closed; at 1000 ms a new SYN (its ISN is
/// returned) reopens it, and our SYN-ACK goes out.
fn time_wait_reopened_by_a_syn() -> (crate::engine::Stack, u32, TcpHeader) {
    let (mut stack, old) = in_time_wait();
    stack.close(old);
    let new_isn = REMOTE_ISS + 100_000;
    let syn = TcpHeader {
        seq: SeqNum(new_isn),
        ..peer_syn()
    };
    send(&mut stack, ms(1000), syn, b"");
    let (syn_ack, _) = recv(&mut stack, ms(1000));
    (stack, new_isn, syn_ack)
}

/// The state of the one connection on the 4-tuple, as `ss` shows it.
fn tuple_state(stack: &crate::engine::Stack) -> Vec<&'static str> {
    stack
        .view(ms(0))
        .connections
        .iter()
        .map(|c| c.state)
        .collect()
}

/// MAY-2 condition 2 (RFC 1122 §4.2.2.13): a SYN reopens TIME-WAIT, but
/// the peer answers our SYN-ACK with a RST: the SYN was an old duplicate.
/// The connection returns to TIME-WAIT, and old segments meet it there.
#[test]
fn may_2_a_reopening_syn_that_turns_out_old_restores_time_wait() {
    let (mut stack, new_isn, syn_ack) = time_wait_reopened_by_a_syn();
    assert!(syn_ack.flags.syn);
    assert_eq!(tuple_state(&stack), ["SYN-RECEIVED"]);
    let rst = TcpHeader {
        seq: SeqNum(new_isn + 1),
        ack: None,
        flags: flags("R"),
        ..from_peer()
    };
    send(&mut stack, ms(1010), rst, b"");
    assert_eq!(tuple_state(&stack), ["TIME-WAIT"]);
    // An old duplicate SYN meets TIME-WAIT: the ACK of the FIN again.
    let old_syn = TcpHeader {
        seq: SeqNum(REMOTE_ISS + 1),
        ..peer_syn()
    };
    send(&mut stack, ms(1020), old_syn, b"");
    expect(&mut stack, ms(1020), our_ack_of_fin_after_ours(), b"");
    // And TIME-WAIT still ends 2 MSL after it began (at 30 ms).
    recv_nothing(&mut stack, ms(60_029));
    assert_eq!(tuple_state(&stack), ["TIME-WAIT"]);
    recv_nothing(&mut stack, ms(60_030));
    assert!(tuple_state(&stack).is_empty());
}

/// The reopening SYN was new: once the new incarnation is established,
/// the old TIME-WAIT is gone for good.
#[test]
fn may_2_an_established_reincarnation_forgets_the_old_time_wait() {
    let (mut stack, new_isn, syn_ack) = time_wait_reopened_by_a_syn();
    let ack = TcpHeader {
        seq: SeqNum(new_isn + 1),
        ack: Some(syn_ack.seq + 1),
        ..from_peer()
    };
    send(&mut stack, ms(1010), ack, b"");
    let conn = stack.accept(crate::engine::ListenerId(1)).unwrap();
    stack.abort(conn);
    recv(&mut stack, ms(1010));
    assert!(tuple_state(&stack).is_empty(), "{:?}", tuple_state(&stack));
}
