//! The [`Engine`] contract, implemented by [`Stack`].

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use super::ports::Bound;
use super::{FourTuple, Listener, Stack};
use crate::engine::api::{
    ApiError, ConnId, ConnInfo, Engine, EngineStats, ListenerId, Readiness, ReadinessEvent, Watched,
};
use crate::engine::config::KeepAlive;
use crate::engine::tcp::{State, Tcb};
use crate::engine::trace::TraceEvent;
use crate::engine::{out_of_order, zero_window};
use crate::time::Instant;

impl Stack {
    /// The TCB behind a handle the application holds.
    fn handle(&mut self, conn: ConnId) -> Result<&mut Tcb, ApiError> {
        match self.conns.get_mut(&conn.0) {
            Some(entry) if entry.has_handle => Ok(&mut entry.tcb),
            _ => Err(ApiError::InvalidHandle),
        }
    }

    /// Runs `call` on the connection, then refiles it (a send may queue
    /// output, a read may open the window).
    fn with_conn<T>(
        &mut self,
        conn: ConnId,
        call: impl FnOnce(&mut Tcb) -> T,
    ) -> Result<T, ApiError> {
        let result = call(self.handle(conn)?);
        self.touch(conn.0);
        Ok(result)
    }

    fn is_local(&self, addr: &SocketAddr) -> bool {
        addr.ip().is_unspecified() || self.config.is_own_address(addr.ip())
    }
}

impl Engine for Stack {
    fn name(&self) -> &'static str {
        "tuntcp"
    }

    fn local_ip(&self) -> Ipv4Addr {
        self.config.local_addr
    }

    fn local_ip_v6(&self) -> Option<Ipv6Addr> {
        self.config.local_addr_v6
    }

    fn handle_packet(&mut self, now: Instant, packet: &[u8]) {
        self.tick(now);
        self.on_packet(now, packet);
    }

    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        self.tick(now);
        self.transmit(now, buf)
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        let fragments = self.fragments.next_deadline();
        match (self.next_timeout(), fragments) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.tick(now);
        self.run_timers(now);
        self.expire_fragments(now);
    }

    fn listen(&mut self, local: SocketAddr, backlog: usize) -> Result<ListenerId, ApiError> {
        if !self.is_local(&local) {
            return Err(ApiError::AddrNotAvailable);
        }
        if local.port() == 0 || backlog == 0 {
            return Err(ApiError::InvalidInput);
        }
        let bound = Bound::of(local.ip());
        if self.port_taken(local.port(), bound) {
            return Err(ApiError::AddrInUse);
        }
        let id = self.next_listener_id;
        self.next_listener_id = self.next_listener_id.wrapping_add(1).max(1);
        // The unspecified address of a family shows as the stack's own
        // address of it (IPv4's if it has no IPv6 one).
        let shown = self
            .config
            .own_address_for(local.ip())
            .unwrap_or(self.config.local_addr.into());
        let local = SocketAddr::new(
            if local.ip().is_unspecified() {
                shown
            } else {
                local.ip()
            },
            local.port(),
        );
        let listener = Listener {
            local,
            bound,
            backlog,
            accept_queue: Default::default(),
            syn_queue: 0,
            last_overflow: None,
            change_queued: false,
        };
        self.listeners.insert(id, listener);
        self.listener_by_port.insert((local.port(), bound), id);
        Ok(ListenerId(id))
    }

    fn accept(&mut self, listener: ListenerId) -> Result<ConnId, ApiError> {
        let queue = &mut self
            .listeners
            .get_mut(&listener.0)
            .ok_or(ApiError::InvalidHandle)?
            .accept_queue;
        while let Some(id) = queue.pop_front() {
            if let Some(entry) = self.conns.get_mut(&id) {
                entry.has_handle = true;
                entry.listener = None;
                entry.in_accept_queue = false;
                return Ok(ConnId(id));
            }
        }
        Err(ApiError::WouldBlock)
    }

    fn close_listener(&mut self, listener: ListenerId) {
        let Some(removed) = self.listeners.remove(&listener.0) else {
            return;
        };
        let key = (removed.local.port(), removed.bound);
        if self.listener_by_port.get(&key) == Some(&listener.0) {
            self.listener_by_port.remove(&key);
        }
        // Not-yet-accepted connections, established or still in the
        // handshake, are reset: nobody will ever accept them.
        let orphans: Vec<u32> = self
            .conns
            .iter()
            .filter(|(_, e)| e.listener == Some(listener.0))
            .map(|(&id, _)| id)
            .collect();
        for id in orphans {
            if let Some(mut entry) = self.conns.remove(&id) {
                self.forget_time_wait(entry.time_wait);
                if let Some(rst) = entry.tcb.abort() {
                    self.queue_rst(entry.tcb.local, entry.tcb.remote, rst);
                }
                let tuple = FourTuple {
                    local: entry.tcb.local,
                    remote: entry.tcb.remote,
                };
                self.by_tuple.remove(&tuple);
            }
        }
    }

    fn connect(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        local_port: Option<u16>,
    ) -> Result<ConnId, ApiError> {
        self.tick(now);
        // MUST-46: no OPEN to a broadcast or multicast address (nor to
        // 0/8, 127/8 or 240/4, or IPv6's unspecified or loopback: no peer
        // is there).
        if remote.port() == 0 || !super::input::is_peer_address(remote.ip()) {
            return Err(ApiError::InvalidInput);
        }
        // No address of the peer's family (IPv6 not configured): Linux's
        // connect(2) says ENETUNREACH; ours is "address not available".
        let local_ip = self
            .config
            .own_address_for(remote.ip())
            .ok_or(ApiError::AddrNotAvailable)?;
        if self.admits_connection().is_err() {
            return Err(ApiError::ResourceLimit);
        }
        let port = match local_port {
            Some(0) => return Err(ApiError::InvalidInput),
            Some(port) => port,
            // Every ephemeral port is taken: Linux's connect(2) says
            // EADDRNOTAVAIL here.
            None => self
                .ephemeral_port(local_ip, remote)
                .ok_or(ApiError::AddrNotAvailable)?,
        };
        let local = SocketAddr::new(local_ip, port);
        if self.by_tuple.contains_key(&FourTuple { local, remote }) {
            return Err(ApiError::AddrInUse);
        }
        let iss = self.choose_isn(now, local, remote);
        let tcb = Tcb::connect(now, local, remote, iss, &self.config, &self.shared);
        self.stats.connections_opened += 1;
        Ok(ConnId(self.insert(tcb, true, None)))
    }

    fn connect_status(&self, conn: ConnId) -> Result<(), ApiError> {
        match self.conns.get(&conn.0) {
            Some(entry) if entry.has_handle => entry.tcb.connect_status(),
            _ => Err(ApiError::InvalidHandle),
        }
    }

    fn send(&mut self, conn: ConnId, data: &[u8]) -> Result<usize, ApiError> {
        self.with_conn(conn, |tcb| tcb.send(data))?
    }

    fn recv(&mut self, conn: ConnId, buf: &mut [u8]) -> Result<usize, ApiError> {
        self.with_conn(conn, |tcb| tcb.recv(buf))?
    }

    fn peek(&mut self, conn: ConnId, buf: &mut [u8]) -> Result<usize, ApiError> {
        self.with_conn(conn, |tcb| tcb.peek(buf))?
    }

    fn shutdown_write(&mut self, conn: ConnId) -> Result<(), ApiError> {
        self.with_conn(conn, |tcb| tcb.shutdown_write())?
    }

    /// §3.10.4 CLOSE. The handle goes now; the TCB finishes on its own.
    fn close(&mut self, conn: ConnId) {
        // The trait gives no time here; the last one the stack was given
        // is close enough for the orphan's FIN-WAIT-2 timeout.
        let now = self.clock;
        let Ok(tcb) = self.handle(conn) else { return };
        let rst = if tcb.close_should_reset() || tcb.state() == State::SynSent {
            // Unread data: RST (RFC 2525 §2.17). SYN-SENT: "delete the TCB"
            // (no RST is sent for it: abort() knows).
            tcb.abort()
        } else {
            let _ = tcb.shutdown_write();
            tcb.release(now);
            None
        };
        let (local, remote) = (tcb.local, tcb.remote);
        if let Some(rst) = rst {
            self.queue_rst(local, remote, rst);
        }
        if let Some(entry) = self.conns.get_mut(&conn.0) {
            entry.has_handle = false;
        }
        self.touch(conn.0);
    }

    /// §3.10.5 ABORT: RST if the state calls for one, and forget it.
    fn abort(&mut self, conn: ConnId) {
        let Ok(tcb) = self.handle(conn) else { return };
        let rst = tcb.abort();
        let (local, remote) = (tcb.local, tcb.remote);
        if let Some(rst) = rst {
            self.queue_rst(local, remote, rst);
        }
        self.remove(conn.0);
    }

    fn set_nodelay(&mut self, conn: ConnId, nodelay: bool) -> Result<(), ApiError> {
        self.with_conn(conn, |tcb| tcb.set_nodelay(nodelay))
    }

    fn conn_info(&self, conn: ConnId) -> Result<ConnInfo, ApiError> {
        match self.conns.get(&conn.0) {
            Some(entry) if entry.has_handle => Ok(ConnInfo {
                local: entry.tcb.local,
                remote: entry.tcb.remote,
                state: entry.tcb.state().name(),
            }),
            _ => Err(ApiError::InvalidHandle),
        }
    }

    fn view(&self, now: Instant) -> crate::engine::view::StackView {
        self.snapshot(now)
    }

    fn stats(&self) -> EngineStats {
        let mut stats = EngineStats {
            retransmission_timeouts: Some(self.recovery.timeouts),
            ..self.stats
        };
        stats.defence.challenge_acks_limited = self.shared.challenge_acks.limited();
        let out_of_order = &self.shared.out_of_order;
        stats.defence.ooo_pruned_bytes = out_of_order.events(out_of_order::PRUNED_BYTES);
        stats.defence.ooo_segments_refused = out_of_order.events(out_of_order::SEGMENTS_REFUSED);
        stats.defence.zero_window_aborts = self.shared.zero_window.events(zero_window::ABORTS);
        stats
    }

    fn take_error(&mut self, conn: ConnId) -> Result<Option<ApiError>, ApiError> {
        self.handle(conn).map(|tcb| tcb.take_error())
    }

    fn set_keepalive(
        &mut self,
        conn: ConnId,
        keepalive: Option<KeepAlive>,
    ) -> Result<(), ApiError> {
        let now = self.clock;
        self.with_conn(conn, |tcb| tcb.set_keepalive(now, keepalive))?
    }

    fn set_user_timeout(
        &mut self,
        conn: ConnId,
        timeout: Option<std::time::Duration>,
    ) -> Result<(), ApiError> {
        let (give_up, handshake) = (self.config.give_up_after, self.config.handshake_timeout);
        self.with_conn(conn, |tcb| {
            tcb.set_user_timeout(timeout.unwrap_or(give_up), timeout.unwrap_or(handshake))
        })
    }

    fn send_urgent(&mut self, conn: ConnId, data: &[u8]) -> Result<usize, ApiError> {
        self.with_conn(conn, |tcb| tcb.send_urgent(data))?
    }

    fn urgent_remaining(&self, conn: ConnId) -> Result<usize, ApiError> {
        match self.conns.get(&conn.0) {
            Some(entry) if entry.has_handle => Ok(entry.tcb.urgent_remaining()),
            _ => Err(ApiError::InvalidHandle),
        }
    }

    fn set_tos(&mut self, conn: ConnId, tos: u8) -> Result<(), ApiError> {
        self.with_conn(conn, |tcb| tcb.set_tos(tos))
    }

    fn take_readiness(&mut self, out: &mut Vec<ReadinessEvent>) {
        self.take_changes(out);
    }

    fn take_trace(&mut self, out: &mut Vec<TraceEvent>) {
        self.trace.drain_into(out);
    }

    fn readiness(&self, handle: Watched) -> Option<Readiness> {
        self.readiness_of(handle)
    }
}
