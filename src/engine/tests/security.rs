//! RST and SYN in every state, with the RFC 5961 mitigations that RFC 9293
//! §3.10.7.4 adopts: exact-match RST, challenge ACKs (rate-limited), and
//! the ACK-value check.

use super::harness::*;
use crate::engine::{ApiError, ConnId, Engine, Stack};
use crate::wire::{SeqNum, TcpHeader};

/// A connection driven into `name`, with the peer's next sequence number
/// (our RCV.NXT) and ours (SND.NXT).
struct InState {
    stack: Stack,
    conn: ConnId,
    peer_seq: u32,
    our_seq: u32,
}

fn in_state(name: &str) -> InState {
    let (mut stack, conn) = established();
    let (r, l) = (REMOTE_ISS, LOCAL_ISS);
    let peer_fin = TcpHeader {
        flags: flags("F"),
        ..from_peer()
    };
    let (peer_seq, our_seq) = match name {
        "ESTABLISHED" => (r + 1, l + 1),
        "FIN-WAIT-1" | "FIN-WAIT-2" | "TIME-WAIT" | "CLOSING" => {
            stack.shutdown_write(conn).unwrap();
            recv(&mut stack, ms(20));
            let fin_acked = TcpHeader {
                ack: Some(SeqNum(l + 2)),
                ..from_peer()
            };
            match name {
                "FIN-WAIT-2" => send(&mut stack, ms(30), fin_acked, b""),
                "TIME-WAIT" => send(
                    &mut stack,
                    ms(30),
                    TcpHeader {
                        flags: flags("F"),
                        ..fin_acked
                    },
                    b"",
                ),
                "CLOSING" => send(&mut stack, ms(30), peer_fin, b""),
                _ => {}
            }
            let peer_seq = if name == "TIME-WAIT" || name == "CLOSING" {
                r + 2
            } else {
                r + 1
            };
            (peer_seq, l + 2)
        }
        "CLOSE-WAIT" | "LAST-ACK" => {
            send(&mut stack, ms(20), peer_fin, b"");
            if name == "LAST-ACK" {
                stack.shutdown_write(conn).unwrap();
            }
            (r + 2, if name == "LAST-ACK" { l + 2 } else { l + 1 })
        }
        other => panic!("no fixture for {other}"),
    };
    // Flush whatever the transition sent.
    let mut buf = [0u8; 1500];
    while stack.poll_transmit(ms(40), &mut buf).is_some() {}
    assert_eq!(state(&stack, conn), name);
    InState {
        stack,
        conn,
        peer_seq,
        our_seq,
    }
}

const SYNCHRONIZED: [&str; 7] = [
    "ESTABLISHED",
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "CLOSE-WAIT",
    "CLOSING",
    "LAST-ACK",
    "TIME-WAIT",
];

fn challenge_ack(s: &InState) -> TcpHeader {
    TcpHeader {
        seq: SeqNum(s.our_seq),
        ack: Some(SeqNum(s.peer_seq)),
        ..to_peer()
    }
}

/// (TIME-WAIT reopens instead when a listener takes the port: close.rs.)
#[test]
fn syn_in_every_synchronized_state_gets_a_challenge_ack_s3_10_7_4() {
    for name in SYNCHRONIZED.into_iter().filter(|&s| s != "TIME-WAIT") {
        let mut s = in_state(name);
        let syn = TcpHeader {
            seq: SeqNum(s.peer_seq + 100),
            ..peer_syn()
        };
        send(&mut s.stack, ms(50), syn, b"");
        let want = challenge_ack(&s);
        expect(&mut s.stack, ms(50), want, b"");
        assert_eq!(
            state(&s.stack, s.conn),
            name,
            "a SYN must not change {name}"
        );
    }
}

#[test]
fn rst_at_rcv_nxt_closes_every_synchronized_state_s3_10_7_4() {
    for name in SYNCHRONIZED {
        let mut s = in_state(name);
        let rst = TcpHeader {
            seq: SeqNum(s.peer_seq),
            ack: None,
            flags: flags("R"),
            ..from_peer()
        };
        send(&mut s.stack, ms(50), rst, b"");
        recv_nothing(&mut s.stack, ms(50));
        assert_eq!(state(&s.stack, s.conn), "CLOSED", "RST in {name}");
        let reset_reported = matches!(
            name,
            "ESTABLISHED" | "FIN-WAIT-1" | "FIN-WAIT-2" | "CLOSE-WAIT"
        );
        let mut buf = [0u8; 4];
        assert_eq!(
            s.stack.recv(s.conn, &mut buf) == Err(ApiError::ConnectionReset),
            reset_reported,
            "{name}"
        );
    }
}

#[test]
fn rst_in_window_but_not_at_rcv_nxt_gets_a_challenge_ack_rfc5961_s3() {
    for name in SYNCHRONIZED {
        let mut s = in_state(name);
        let rst = TcpHeader {
            seq: SeqNum(s.peer_seq + 1),
            ack: None,
            flags: flags("R"),
            ..from_peer()
        };
        send(&mut s.stack, ms(50), rst, b"");
        let want = challenge_ack(&s);
        expect(&mut s.stack, ms(50), want, b"");
        assert_eq!(state(&s.stack, s.conn), name);
    }
}

#[test]
fn rst_outside_the_window_is_dropped_silently_rfc5961_s3() {
    for name in SYNCHRONIZED {
        let mut s = in_state(name);
        for seq in [s.peer_seq - 1, s.peer_seq + u32::from(LOCAL_WIN)] {
            let rst = TcpHeader {
                seq: SeqNum(seq),
                ack: None,
                flags: flags("R"),
                ..from_peer()
            };
            send(&mut s.stack, ms(50), rst, b"");
            recv_nothing(&mut s.stack, ms(50));
        }
        assert_eq!(state(&s.stack, s.conn), name);
    }
}

#[test]
fn challenge_acks_are_rate_limited_rfc5961_s7() {
    let mut s = in_state("ESTABLISHED");
    let syn = TcpHeader {
        seq: SeqNum(s.peer_seq),
        ..peer_syn()
    };
    let mut answered = 0;
    for i in 0..15 {
        send(&mut s.stack, ms(100 + i), syn, b"");
        let mut buf = [0u8; 1500];
        answered += usize::from(s.stack.poll_transmit(ms(100 + i), &mut buf).is_some());
    }
    assert_eq!(answered, 10, "default limit: 10 per second");
    assert_eq!(s.stack.stats().defence.challenge_acks_limited, 5);
    send(&mut s.stack, ms(1200), syn, b"");
    let want = challenge_ack(&s);
    expect(&mut s.stack, ms(1200), want, b"");
}

#[test]
fn ack_of_unsent_data_is_dropped_and_answered_s3_10_7_4() {
    let (mut stack, conn) = established();
    let bogus = TcpHeader {
        ack: Some(SeqNum(LOCAL_ISS + 1000)),
        ..from_peer()
    };
    send(&mut stack, ms(20), bogus, b"data");
    expect(&mut stack, ms(20), to_peer(), b"");
    let mut buf = [0u8; 8];
    assert_eq!(
        stack.recv(conn, &mut buf),
        Err(ApiError::WouldBlock),
        "the segment was dropped"
    );
}

#[test]
fn may_12_ack_older_than_the_max_window_is_dropped_rfc5961_s5() {
    let (mut stack, conn) = established();
    let ancient = TcpHeader {
        ack: Some(SeqNum(LOCAL_ISS + 1) - (usize::from(REMOTE_WIN) + 1)),
        ..from_peer()
    };
    send(&mut stack, ms(20), ancient, b"data");
    expect(&mut stack, ms(20), to_peer(), b"");
    let mut buf = [0u8; 8];
    assert_eq!(stack.recv(conn, &mut buf), Err(ApiError::WouldBlock));
    // An old but plausible ACK (inside MAX.SND.WND) is fine.
    let old = TcpHeader {
        ack: Some(SeqNum(LOCAL_ISS)),
        ..from_peer()
    };
    send(&mut stack, ms(21), old, b"data");
    assert_eq!(read_all(&mut stack, conn), b"data");
}

#[test]
fn segment_without_ack_bit_is_dropped_s3_10_7_4() {
    let (mut stack, conn) = established();
    send(
        &mut stack,
        ms(20),
        TcpHeader {
            ack: None,
            ..from_peer()
        },
        b"data",
    );
    recv_nothing(&mut stack, ms(20));
    let mut buf = [0u8; 8];
    assert_eq!(stack.recv(conn, &mut buf), Err(ApiError::WouldBlock));
}

#[test]
fn rst_in_syn_sent_needs_an_acceptable_ack_s3_10_7_3() {
    let mut stack = Stack::new(config());
    let conn = stack.connect(ms(0), REMOTE, Some(LOCAL_PORT)).unwrap();
    recv(&mut stack, ms(0));
    let blind = TcpHeader {
        ack: Some(SeqNum(LOCAL_ISS + 7)),
        flags: flags("R"),
        ..from_peer()
    };
    send(&mut stack, ms(5), blind, b"");
    recv_nothing(&mut stack, ms(5));
    assert_eq!(state(&stack, conn), "SYN-SENT");
}

/// SHLD-2 (§3.5.3): a RST may carry data (a diagnostic text); an
/// acceptable one resets the connection all the same.
#[test]
fn shld_2_a_rst_carrying_data_still_resets_the_connection() {
    let (mut stack, conn) = established();
    let rst = TcpHeader {
        flags: flags("R"),
        ..from_peer()
    };
    send(&mut stack, ms(20), rst, b"no such service");
    assert_eq!(state(&stack, conn), "CLOSED");
    let mut buf = [0u8; 16];
    assert_eq!(stack.recv(conn, &mut buf), Err(ApiError::ConnectionReset));
    recv_nothing(&mut stack, ms(21));
}
