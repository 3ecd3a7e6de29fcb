//! Fuzz target: a sequence of segments into one established connection.
//! The first byte picks the stack's configuration and the family (bit 6:
//! IPv6, [`super::driver::IPV6_BIT`]), the second the peer's SYN options; the rest is cut into segments ([`super::chunks`]), each
//! aimed relative to the connection's live numbers, checksums right,
//! with the clock moved and the application acting between them. At the
//! end the clock runs on for ten minutes so every timer has its say.

use std::time::Duration;

use tuntcp::engine::{ConnId, Engine};

use super::chunks::{decode, AppAction, Chunk};
use super::driver::Driver;
use super::peer::Peer;

/// What [`AppAction::WriteMany`] writes: more than a send buffer holds.
/// Static, so an execution does not allocate and fill it each time.
static MANY: [u8; 100_000] = [b'W'; 100_000];

pub fn run(data: &[u8]) {
    let [variant, syn_variant, rest @ ..] = data else {
        return;
    };
    let mut driver = Driver::new(*variant);
    let mut peer = Peer::open(&mut driver, *syn_variant);
    for chunk in decode(rest) {
        send_chunk(&mut driver, &mut peer, &chunk);
        if let Some(conn) = peer.conn {
            act(&mut driver, conn, chunk.action);
        }
        peer.wait(&mut driver, chunk.step);
    }
    peer.wait(&mut driver, Duration::from_secs(600));
}

fn send_chunk(driver: &mut Driver, peer: &mut Peer, chunk: &Chunk) {
    let base = if chunk.seq_from_isn {
        peer.isn
    } else {
        peer.snd_nxt
    };
    let seq = base.wrapping_add(chunk.seq_offset as i32 as u32);
    let ack = peer.stack_high.wrapping_add(chunk.ack_offset as i32 as u32);
    let mut options = Vec::with_capacity(52);
    if chunk.with_timestamps {
        let tsval = driver.now.total_millis() as u32;
        options.extend_from_slice(&[1, 1, 8, 10]);
        options.extend_from_slice(&tsval.to_be_bytes());
        options.extend_from_slice(&peer.ts_recent.to_be_bytes());
    }
    options.extend_from_slice(chunk.options);
    options.truncate(40);
    let in_order = seq == peer.snd_nxt;
    peer.send(
        driver,
        chunk.flags,
        seq,
        ack,
        chunk.window,
        &options,
        chunk.payload,
    );
    if in_order {
        let syn_fin = u32::from(chunk.flags & 0x03 != 0);
        peer.snd_nxt = seq
            .wrapping_add(chunk.payload.len() as u32)
            .wrapping_add(syn_fin);
    }
}

/// The application's move on its connection (errors are fine: the
/// connection may be gone).
fn act(driver: &mut Driver, conn: ConnId, action: AppAction) {
    let stack = &mut driver.stack;
    match action {
        AppAction::Echo => {}
        AppAction::Nothing => return,
        AppAction::WriteSome => {
            let _ = stack.send(conn, &[b'w'; 1_000]);
        }
        AppAction::WriteMany => {
            let _ = stack.send(conn, &MANY);
        }
        AppAction::Shutdown => {
            let _ = stack.shutdown_write(conn);
        }
        AppAction::Close => stack.close(conn),
        AppAction::Abort => stack.abort(conn),
        AppAction::Urgent => {
            let _ = stack.send_urgent(conn, b"!");
        }
    }
    driver.echo(conn);
}
