//! smoltcp's side of `tuntcp ss`: what its sockets tell (state, queues);
//! its TCP variables are private, so `tcp` stays `None`.

use std::net::SocketAddr;

use smoltcp::socket::tcp::State;

use super::conn::state_name;
use super::engine::SmolEngine;
use crate::engine::api::Engine;
use crate::engine::view::{ConnView, ListenerView, StackView};

impl SmolEngine {
    pub(super) fn snapshot(&self) -> StackView {
        let connections = self
            .conns
            .values()
            .map(|slot| {
                let socket = self.socket(slot.handle);
                ConnView {
                    local: slot.local,
                    remote: slot.remote,
                    state: state_name(socket.state()),
                    recv_queue: socket.recv_queue(),
                    send_queue: socket.send_queue(),
                    tcp: None,
                }
            })
            .collect();
        let listeners = self
            .listeners
            .values()
            .map(|pool| {
                let states = pool
                    .sockets
                    .iter()
                    .map(|s| (s, self.socket(s.handle).state()));
                let (mut syn_queue, mut accept_queue) = (0, 0);
                for (pooled, state) in states {
                    if pooled.ready_since.is_some() {
                        accept_queue += 1;
                    } else if state == State::SynReceived {
                        syn_queue += 1;
                    }
                }
                ListenerView {
                    local: self.shown_listener_addr(pool.local),
                    backlog: pool.sockets.len(),
                    syn_queue,
                    accept_queue,
                }
            })
            .collect();
        StackView {
            connections,
            listeners,
            stats: self.stats(),
            ip: None,
        }
    }

    /// A listener on the unspecified address (both families) shows as our
    /// own address of its family, as our engine's view does.
    fn shown_listener_addr(&self, local: SocketAddr) -> SocketAddr {
        if !local.ip().is_unspecified() {
            return local;
        }
        let own = self
            .own_address_for(local.ip())
            .unwrap_or(self.config.addr.into());
        SocketAddr::new(own, local.port())
    }
}
