//! The stack's side of `tuntcp ss`: every connection and listener.

use super::Stack;
use crate::engine::view::{ListenerView, StackView};
use crate::engine::Engine;
use crate::time::Instant;

impl Stack {
    /// A snapshot for `Engine::view`, connections and listeners in a
    /// stable order (by address) so that a refreshed view does not jump.
    pub(super) fn snapshot(&self, now: Instant) -> StackView {
        let mut connections: Vec<_> = self.conns.values().map(|e| e.tcb.view(now)).collect();
        connections.sort_by_key(|c| (c.local, c.remote));
        let mut listeners: Vec<_> = self
            .listeners
            .values()
            .map(|l| ListenerView {
                local: l.local,
                backlog: l.backlog,
                syn_queue: l.syn_queue,
                accept_queue: l.accept_queue.len(),
            })
            .collect();
        listeners.sort_by_key(|l| l.local);
        StackView {
            connections,
            listeners,
            stats: self.stats(),
            ip: Some(self.ip_stats),
        }
    }
}
