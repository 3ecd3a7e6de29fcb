//! Readiness events: which handles the application holds changed, so the
//! socket layer wakes only the threads (or `Poll`s) waiting on them.
//!
//! After anything touches a connection, [`Stack::touch`] compares its
//! readiness and RFC 9293 state with what it last saw; a flag gained or a
//! state changed files the handle in `changed`, once until the next
//! [`Stack::take_changes`] (so the queue holds at most one entry per handle
//! and stays bounded even if nobody drains it). Events carry the readiness
//! at drain time.

use super::{Entry, Listener, Stack};
use crate::engine::api::{ConnId, ListenerId, Readiness, ReadinessEvent, Watched};

impl Stack {
    /// Queues an event for connection `id` if it can now do more (or its
    /// state, which `linger` and `connect` wait on, changed).
    pub(super) fn note_conn_change(changed: &mut Vec<Watched>, id: u32, entry: &mut Entry) {
        let seen = (entry.tcb.readiness(), entry.tcb.state());
        let (before, state_before) = std::mem::replace(&mut entry.seen, seen);
        // Only gains are news: nobody waits for a call to start blocking.
        // An urgent pointer that advanced is news too (MUST-32).
        let urgent_news = entry.tcb.take_urgent_news();
        if seen.0.gained_since(before).is_empty() && seen.1 == state_before && !urgent_news {
            return;
        }
        if entry.has_handle && !entry.change_queued {
            entry.change_queued = true;
            changed.push(Watched::Conn(ConnId(id)));
        }
    }

    /// Queues an event for listener `id`: a connection joined its queue.
    pub(super) fn note_listener_change(
        changed: &mut Vec<Watched>,
        id: u32,
        listener: &mut Listener,
    ) {
        if !listener.change_queued {
            listener.change_queued = true;
            changed.push(Watched::Listener(ListenerId(id)));
        }
    }

    /// Drains the queued changes into events (the `Engine` call).
    pub(super) fn take_changes(&mut self, out: &mut Vec<ReadinessEvent>) {
        for handle in std::mem::take(&mut self.changed) {
            match handle {
                Watched::Conn(conn) => match self.conns.get_mut(&conn.0) {
                    Some(entry) => entry.change_queued = false,
                    None => continue,
                },
                Watched::Listener(listener) => match self.listeners.get_mut(&listener.0) {
                    Some(entry) => entry.change_queued = false,
                    None => continue,
                },
            }
            if let Some(readiness) = self.readiness_of(handle) {
                out.push(ReadinessEvent { handle, readiness });
            }
        }
    }

    /// What `handle` could do now (the `Engine` call).
    pub(super) fn readiness_of(&self, handle: Watched) -> Option<Readiness> {
        match handle {
            Watched::Conn(conn) => self
                .conns
                .get(&conn.0)
                .filter(|entry| entry.has_handle)
                .map(|entry| entry.tcb.readiness()),
            Watched::Listener(listener) => self.listeners.get(&listener.0).map(|l| {
                let queued = l.accept_queue.iter().any(|id| self.conns.contains_key(id));
                Readiness::EMPTY.with_if(Readiness::READABLE, queued)
            }),
        }
    }
}
