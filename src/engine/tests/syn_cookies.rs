//! SYN cookies (RFC 4987 §3.6) at the listener: used only past a full SYN
//! queue, no state per cookie SYN, the connection made from a valid
//! cookie ACK with the MSS, window scale and SACK-permitted the cookie
//! kept, expired and forged cookies answered with a RST (as Linux, see
//! `stack/listen.rs`).

use super::harness::*;
use crate::engine::{ConnId, Engine, Stack, StackConfig, TcpView};
use crate::time::Instant;
use crate::wire::{SeqNum, TcpHeader, TcpOptions, Timestamps};

/// A client other than the test's peer, whose SYN fills the SYN queue.
const FILLER_PORT: u16 = REMOTE_PORT + 1;

/// A stack whose SYN queue holds one connection, listening, with that
/// one taken at `at` by another client: the next SYN overflows.
fn overflowing(config: StackConfig, at: Instant) -> Stack {
    let mut stack = Stack::new(StackConfig {
        syn_backlog: 1,
        ..config
    });
    stack.listen(local(), 8).unwrap();
    let filler = TcpHeader {
        src_port: FILLER_PORT,
        ..peer_syn()
    };
    send(&mut stack, at, filler, b"");
    let (syn_ack, _) = recv(&mut stack, at);
    assert_eq!(
        (syn_ack.dst_port, syn_ack.seq),
        (FILLER_PORT, SeqNum(LOCAL_ISS))
    );
    stack
}

/// The peer's SYN at `at`, answered with a cookie SYN-ACK, returned.
#[track_caller]
fn cookie_for(stack: &mut Stack, at: Instant, syn: TcpHeader) -> TcpHeader {
    let sent_before = stack.stats().defence.syn_cookies_sent;
    send(stack, at, syn, b"");
    let (syn_ack, _) = recv(stack, at);
    assert!(syn_ack.flags.syn && syn_ack.ack == Some(syn.seq + 1));
    assert_ne!(
        syn_ack.seq,
        SeqNum(LOCAL_ISS),
        "not the fixed ISN: a cookie"
    );
    assert_eq!(stack.stats().defence.syn_cookies_sent, sent_before + 1);
    syn_ack
}

/// The peer's SYN with MSS `mss`, window scale 5, SACK-permitted and
/// `timestamps`.
fn syn_offering(mss: u16, timestamps: Option<Timestamps>) -> TcpHeader {
    TcpHeader {
        options: TcpOptions {
            window_scale: Some(5),
            sack_permitted: true,
            timestamps,
            ..TcpOptions::with_mss(mss)
        },
        ..peer_syn()
    }
}

/// The peer's ACK of `syn_ack`, echoing its TSval when it has one.
fn ack_of(syn_ack: &TcpHeader) -> TcpHeader {
    TcpHeader {
        ack: Some(syn_ack.seq + 1),
        options: TcpOptions {
            timestamps: syn_ack.options.timestamps.map(|ts| Timestamps {
                tsval: 778,
                tsecr: ts.tsval,
            }),
            ..TcpOptions::default()
        },
        ..from_peer()
    }
}

fn accepted_tcp_view(stack: &mut Stack, at: Instant) -> (ConnId, TcpView) {
    let listener = crate::engine::ListenerId(1);
    let conn = stack
        .accept(listener)
        .expect("a connection from the cookie");
    assert_eq!(state(stack, conn), "ESTABLISHED");
    let view = stack.view(at);
    let ours = view
        .connections
        .iter()
        .find(|c| c.remote == remote())
        .unwrap();
    (conn, ours.tcp.clone().unwrap())
}

#[test]
fn a_full_syn_queue_switches_to_cookies_that_keep_no_state() {
    // Over IPv4 and IPv6 alike (RFC 8200 changes nothing above IP).
    on_both_families(|| {
        let mut stack = overflowing(config(), ms(0));
        let syn_ack = cookie_for(&mut stack, ms(1), peer_syn());
        // Without timestamps, only the MSS is offered (RFC 4987 §3.6: the
        // other options would be lost).
        assert_eq!(syn_ack.options, TcpOptions::with_mss(our_mss()));
        let memory = stack.memory_stats().used;
        for n in 0..1000u16 {
            let syn = TcpHeader {
                src_port: 2000 + n,
                ..peer_syn()
            };
            send(&mut stack, ms(2), syn, b"");
            recv(&mut stack, ms(2));
        }
        assert_eq!(stack.stats().defence.syn_cookies_sent, 1001);
        let view = stack.view(ms(2));
        assert_eq!(view.connections.len(), 1, "only the filler's half-open TCB");
        assert_eq!(view.listeners[0].syn_queue, 1);
        assert_eq!(stack.memory_stats().used, memory, "no memory per cookie");
    });
}

#[test]
fn a_cookie_ack_opens_with_the_mss_window_scale_and_sack_it_kept() {
    // Over IPv4 and IPv6 alike (RFC 8200 changes nothing above IP).
    on_both_families(|| {
        let mut stack = overflowing(ts_config(), ms(0));
        let timestamps = Some(Timestamps {
            tsval: 777,
            tsecr: 0,
        });
        let syn_ack = cookie_for(&mut stack, ms(1), syn_offering(1400, timestamps));
        let ts = syn_ack.options.timestamps.expect("timestamps answered");
        assert_eq!(ts.tsecr, 777);
        assert_eq!(ts.tsval & 0x3f, 5 | 0x10, "TSval low bits: shift 5, SACK");
        assert!(syn_ack.options.sack_permitted);
        assert_eq!(syn_ack.options.window_scale, Some(0), "our shift answers");
        // The ACK comes 30 s later (same minute or the next), with data.
        let ack = TcpHeader {
            window: 1000,
            ..ack_of(&syn_ack)
        };
        send(&mut stack, ms(30_000), ack, b"hello");
        assert_eq!(stack.stats().defence.syn_cookies_accepted, 1);
        let (conn, tcp) = accepted_tcp_view(&mut stack, ms(30_000));
        assert_eq!(tcp.mss, 1300, "1400 rounds down to the table's 1300");
        assert_eq!((tcp.snd_wscale, tcp.snd_wnd), (5, 1000 << 5));
        assert_eq!(read_all(&mut stack, conn), b"hello");
        // SACK is on: data past a hole is reported in a SACK block.
        let past_hole = TcpHeader {
            seq: SeqNum(REMOTE_ISS + 1 + 5 + 100),
            ..ack
        };
        send(&mut stack, ms(30_001), past_hole, b"later");
        let (ack_with_sack, _) = recv(&mut stack, ms(30_001));
        assert_eq!(ack_with_sack.ack, Some(SeqNum(REMOTE_ISS + 1 + 5)));
        assert_eq!(ack_with_sack.options.sack.as_slice().len(), 1);
    });
}

#[test]
fn without_timestamps_a_cookie_keeps_the_mss_only() {
    let mut stack = overflowing(ts_config(), ms(0));
    let syn_ack = cookie_for(&mut stack, ms(1), syn_offering(1460, None));
    assert_eq!(syn_ack.options, TcpOptions::with_mss(our_mss()));
    send(&mut stack, ms(2), ack_of(&syn_ack), b"");
    let (_, tcp) = accepted_tcp_view(&mut stack, ms(2));
    assert_eq!((tcp.mss, tcp.snd_wscale, tcp.rcv_wscale), (1460, 0, 0));
}

#[test]
fn an_expired_cookie_is_rejected_with_a_rst() {
    let mut stack = overflowing(config(), ms(0));
    let syn_ack = cookie_for(&mut stack, ms(1), peer_syn());
    // The flood goes on (the SYN queue overflows again at 170 s), so ACKs
    // are still checked for cookies; this one is three minutes old.
    let other = TcpHeader {
        src_port: REMOTE_PORT + 2,
        ..peer_syn()
    };
    cookie_for(&mut stack, ms(170_000), other);
    send(&mut stack, ms(180_000), ack_of(&syn_ack), b"");
    let (rst, _) = recv(&mut stack, ms(180_000));
    assert!(rst.flags.rst && rst.seq == syn_ack.seq + 1);
    assert_eq!(stack.stats().defence.syn_cookies_rejected, 1);
    assert_eq!(stack.stats().defence.syn_cookies_accepted, 0);
    let view = stack.view(ms(180_000));
    assert!(view.connections.iter().all(|c| c.remote != REMOTE));
}

#[test]
fn a_forged_cookie_is_rejected_with_a_rst_and_checked_only_after_an_overflow() {
    // No overflow yet: an ACK is not taken for a cookie at all (RST, as
    // any ACK to a listener, §3.10.7.2) and not counted.
    let mut stack = Stack::new(config());
    stack.listen(local(), 8).unwrap();
    send(&mut stack, ms(0), from_peer(), b"");
    assert!(recv(&mut stack, ms(0)).0.flags.rst);
    assert_eq!(stack.stats().defence.syn_cookies_rejected, 0);
    // After an overflow, a guessed cookie is checked and rejected.
    let mut stack = overflowing(config(), ms(0));
    let syn_ack = cookie_for(&mut stack, ms(1), peer_syn());
    let forged = TcpHeader {
        ack: Some(syn_ack.seq + 2),
        ..ack_of(&syn_ack)
    };
    send(&mut stack, ms(2), forged, b"");
    let (rst, _) = recv(&mut stack, ms(2));
    assert!(rst.flags.rst);
    assert_eq!(stack.stats().defence.syn_cookies_rejected, 1);
    assert_eq!(stack.view(ms(2)).connections.len(), 1);
    // The real cookie still works.
    send(&mut stack, ms(3), ack_of(&syn_ack), b"");
    assert_eq!(stack.stats().defence.syn_cookies_accepted, 1);
}

#[test]
fn a_valid_cookie_ack_into_a_full_accept_queue_is_dropped_until_there_is_room() {
    let mut stack = overflowing(config(), ms(0));
    let listener = crate::engine::ListenerId(1);
    let syn_ack = cookie_for(&mut stack, ms(1), peer_syn());
    // Eight other clients complete their handshakes with cookies too: the
    // accept queue (8) is full.
    for n in 2..10 {
        let port = REMOTE_PORT + n;
        let other = cookie_for(
            &mut stack,
            ms(2),
            TcpHeader {
                src_port: port,
                ..peer_syn()
            },
        );
        send(
            &mut stack,
            ms(3),
            TcpHeader {
                src_port: port,
                ..ack_of(&other)
            },
            b"",
        );
    }
    assert_eq!(stack.view(ms(3)).listeners[0].accept_queue, 8);
    // The peer's ACK is dropped without a RST (as Linux); the peer will
    // send it again (or its data, which carries the same cookie).
    let drops = stack.stats().defence.listen_drops;
    send(&mut stack, ms(4), ack_of(&syn_ack), b"");
    recv_nothing(&mut stack, ms(4));
    assert_eq!(stack.stats().defence.listen_drops, drops + 1);
    assert_eq!(stack.stats().defence.syn_cookies_accepted, 8);
    // Once one is accepted there is room, and the cookie opens it.
    stack.accept(listener).unwrap();
    send(&mut stack, ms(5), ack_of(&syn_ack), b"hi");
    assert_eq!(stack.stats().defence.syn_cookies_accepted, 9);
}
