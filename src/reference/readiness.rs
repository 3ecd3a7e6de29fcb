//! Readiness events for smoltcp's sockets.
//!
//! smoltcp has no events of its own, so they are derived: after smoltcp
//! runs (`after_poll`) and after each application call, the readiness and
//! state of the connections touched are compared with what was last seen,
//! and a difference files the handle once until the next drain, as our
//! engine does (`engine/stack/readiness.rs`).

use smoltcp::socket::tcp::{self, State};

use super::conn::ConnSlot;
use super::engine::SmolEngine;
use super::listener::ListenerPool;
use crate::engine::api::ConnReadiness;
use crate::engine::{ConnId, ListenerId, Readiness, ReadinessEvent, Watched};

/// The flags of one connection: each is "the call would not say
/// `WouldBlock`", read off the same facts `send_on` and `recv_on` test.
pub fn conn_readiness(socket: &tcp::Socket, slot: &ConnSlot) -> Readiness {
    let failed = slot.failure.is_some();
    let state = socket.state();
    // recv_slice: Ok(0) (would block) while the receive side is open and
    // empty; an error or end-of-stream otherwise.
    let readable = failed
        || socket.recv_queue() > 0
        || !matches!(
            state,
            State::Established
                | State::FinWait1
                | State::FinWait2
                | State::SynSent
                | State::SynReceived
        );
    let writable = failed
        || slot.write_shut
        || match state {
            State::SynSent | State::SynReceived => false,
            State::Established | State::CloseWait => socket.can_send(),
            _ => true,
        };
    Readiness::from(ConnReadiness {
        readable,
        writable,
        read_closed: slot.peer_fin,
        failed,
    })
}

/// Files `conn` in `changed` if it gained a readiness flag or its state moved.
pub fn note_conn_change(
    changed: &mut Vec<Watched>,
    conn: ConnId,
    slot: &mut ConnSlot,
    socket: &tcp::Socket,
) {
    let seen = (conn_readiness(socket, slot), socket.state());
    let (before, state_before) = std::mem::replace(&mut slot.seen, seen);
    // Only gains are news: nobody waits for a call to start blocking.
    if seen.0.gained_since(before).is_empty() && seen.1 == state_before {
        return;
    }
    if !slot.change_queued {
        slot.change_queued = true;
        changed.push(Watched::Conn(conn));
    }
}

impl SmolEngine {
    /// After an application call on `conn`: note what it changed.
    pub(super) fn refresh_readiness(&mut self, conn: ConnId) {
        if let Some(slot) = self.conns.get_mut(&conn) {
            let socket = self.sockets.get::<tcp::Socket>(slot.handle);
            note_conn_change(&mut self.changed, conn, slot, socket);
        }
    }

    /// A connection completed its handshake in `listener`'s pool.
    pub(super) fn note_listener_change(
        changed: &mut Vec<Watched>,
        listener: ListenerId,
        pool: &mut ListenerPool,
    ) {
        if !pool.change_queued {
            pool.change_queued = true;
            changed.push(Watched::Listener(listener));
        }
    }

    /// The `Engine::take_readiness` call.
    pub(super) fn take_changes(&mut self, out: &mut Vec<ReadinessEvent>) {
        for handle in std::mem::take(&mut self.changed) {
            match handle {
                Watched::Conn(conn) => match self.conns.get_mut(&conn) {
                    Some(slot) => slot.change_queued = false,
                    None => continue,
                },
                Watched::Listener(listener) => match self.listeners.get_mut(&listener) {
                    Some(pool) => pool.change_queued = false,
                    None => continue,
                },
            }
            if let Some(readiness) = self.readiness_of(handle) {
                out.push(ReadinessEvent { handle, readiness });
            }
        }
    }

    /// The `Engine::readiness` call.
    pub(super) fn readiness_of(&self, handle: Watched) -> Option<Readiness> {
        match handle {
            Watched::Conn(conn) => {
                let slot = self.conns.get(&conn)?;
                Some(conn_readiness(self.socket(slot.handle), slot))
            }
            Watched::Listener(listener) => {
                let pool = self.listeners.get(&listener)?;
                let ready = pool.oldest_ready().is_some();
                Some(Readiness::EMPTY.with_if(Readiness::READABLE, ready))
            }
        }
    }
}
