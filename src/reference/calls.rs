//! The application side of the contract, and the [`Engine`] impl that joins
//! it to the network side in `engine.rs`.
//!
//! Each call maps onto a smoltcp socket call; the mapping of smoltcp's
//! results onto [`ApiError`] is the part worth reading.

use std::net::SocketAddr;

use smoltcp::socket::tcp::{RecvError, State};
use smoltcp::wire::{IpAddress, IpListenEndpoint};

use super::conn::{state_name, to_smol_duration, to_socket_addr, ConnSlot};
use super::engine::{SmolEngine, EPHEMERAL_PORTS};
use super::listener::{ListenerPool, PoolSocket};
use super::readiness::conn_readiness;
use crate::engine::{
    ApiError, ConnId, ConnInfo, Engine, EngineStats, ListenerId, Readiness, ReadinessEvent, Watched,
};
use crate::time::Instant;

impl SmolEngine {
    fn slot(&self, conn: ConnId) -> Result<&ConnSlot, ApiError> {
        self.conns.get(&conn).ok_or(ApiError::InvalidHandle)
    }

    fn new_conn_id(&mut self) -> ConnId {
        let id = ConnId(self.next_conn_id);
        self.next_conn_id = self.next_conn_id.wrapping_add(1);
        id
    }

    /// The next free port of the dynamic range, round robin so a port just
    /// released (maybe still in TIME-WAIT at the peer) is not reused at once.
    fn ephemeral_port(&mut self) -> Result<u16, ApiError> {
        for _ in EPHEMERAL_PORTS {
            let port = self.next_ephemeral;
            self.next_ephemeral = if port == *EPHEMERAL_PORTS.end() {
                *EPHEMERAL_PORTS.start()
            } else {
                port + 1
            };
            if !self.port_in_use(port) {
                return Ok(port);
            }
        }
        // As Linux's connect(2): EADDRNOTAVAIL when no ephemeral port is free.
        Err(ApiError::AddrNotAvailable)
    }

    fn listen_on(&mut self, local: SocketAddr, backlog: usize) -> Result<ListenerId, ApiError> {
        if backlog == 0 || local.port() == 0 {
            return Err(ApiError::InvalidInput);
        }
        if !local.ip().is_unspecified() && !self.is_ours(local.ip()) {
            return Err(ApiError::AddrNotAvailable);
        }
        if self
            .listeners
            .values()
            .any(|pool| pool.local.port() == local.port())
        {
            return Err(ApiError::AddrInUse);
        }
        let mut pool = ListenerPool::new(local);
        for _ in 0..backlog.min(self.config.max_backlog) {
            let handle = self.add_listening_socket(pool.endpoint());
            pool.sockets.push(PoolSocket {
                handle,
                ready_since: None,
            });
        }
        let id = ListenerId(self.next_listener_id);
        self.next_listener_id = self.next_listener_id.wrapping_add(1);
        self.listeners.insert(id, pool);
        log::debug!(
            "smoltcp: listening on {local} with a pool of {} sockets",
            backlog.min(self.config.max_backlog)
        );
        Ok(id)
    }

    fn add_listening_socket(&mut self, endpoint: IpListenEndpoint) -> smoltcp::iface::SocketHandle {
        let mut socket = self.new_socket();
        // Cannot fail: the socket is fresh and the port is not zero.
        let _ = socket.listen(endpoint);
        self.sockets.add(socket)
    }

    fn accept_from(&mut self, listener: ListenerId) -> Result<ConnId, ApiError> {
        let pool = self
            .listeners
            .get(&listener)
            .ok_or(ApiError::InvalidHandle)?;
        let index = pool.oldest_ready().ok_or(ApiError::WouldBlock)?;
        let endpoint = pool.endpoint();
        let handle = pool.sockets[index].handle;
        let fresh = self.add_listening_socket(endpoint);
        if let Some(pool) = self.listeners.get_mut(&listener) {
            pool.sockets[index] = PoolSocket {
                handle: fresh,
                ready_since: None,
            };
        }
        let socket = self.socket(handle);
        let local = socket.local_endpoint().and_then(to_socket_addr);
        let remote = socket.remote_endpoint().and_then(to_socket_addr);
        let (Some(local), Some(remote)) = (local, remote) else {
            // observe_listeners only marks sockets with a peer as ready.
            unreachable!("an acceptable socket has both endpoints");
        };
        let mut slot = ConnSlot::new(handle, local, remote, socket.state());
        // What the application can learn by trying; changes from here on
        // are news (as our engine, which watches from accept on).
        slot.seen = (conn_readiness(socket, &slot), socket.state());
        let id = self.new_conn_id();
        self.conns.insert(id, slot);
        self.stats.connections_opened += 1;
        log::debug!("smoltcp: accepted {remote} on {local}");
        Ok(id)
    }

    fn connect_to(
        &mut self,
        remote: SocketAddr,
        local_port: Option<u16>,
    ) -> Result<ConnId, ApiError> {
        if remote.port() == 0 || remote.ip().is_unspecified() {
            return Err(ApiError::InvalidInput);
        }
        // Our address of the remote's family: none, no way to reach it.
        let local_ip = self.own_address_for(remote.ip())?;
        let port = match local_port {
            Some(0) | None => self.ephemeral_port()?,
            Some(port) if self.port_in_use(port) => return Err(ApiError::AddrInUse),
            Some(port) => port,
        };
        let local = SocketAddr::new(local_ip, port);
        let mut socket = self.new_socket();
        let remote_endpoint = (IpAddress::from(remote.ip()), remote.port());
        let local_endpoint = IpListenEndpoint {
            addr: Some(local_ip.into()),
            port,
        };
        socket
            .connect(self.iface.context(), remote_endpoint, local_endpoint)
            .map_err(|_| ApiError::InvalidInput)?;
        // The SYN goes out at the next poll; give up after the handshake timeout.
        socket.set_timeout(Some(to_smol_duration(self.config.handshake_timeout)));
        let handle = self.sockets.add(socket);
        let id = self.new_conn_id();
        self.conns
            .insert(id, ConnSlot::new(handle, local, remote, State::SynSent));
        self.stats.connections_opened += 1;
        log::debug!("smoltcp: connecting {local} -> {remote}");
        Ok(id)
    }

    fn send_on(&mut self, conn: ConnId, data: &[u8]) -> Result<usize, ApiError> {
        let slot = self.slot(conn)?;
        if let Some(failure) = slot.failure {
            return Err(failure);
        }
        if slot.write_shut {
            return Err(ApiError::BrokenPipe);
        }
        let handle = slot.handle;
        let socket = self.socket_mut(handle);
        if matches!(socket.state(), State::SynSent | State::SynReceived) {
            return Err(ApiError::WouldBlock);
        }
        if data.is_empty() {
            return Ok(0);
        }
        match socket.send_slice(data) {
            Ok(0) => Err(ApiError::WouldBlock),
            Ok(queued) => Ok(queued),
            // Not ESTABLISHED or CLOSE-WAIT: our side of the stream is over.
            Err(_) => Err(ApiError::BrokenPipe),
        }
    }

    /// `recv` when `take`, `peek` when not.
    fn recv_on(&mut self, conn: ConnId, buf: &mut [u8], take: bool) -> Result<usize, ApiError> {
        let slot = self.slot(conn)?;
        // RFC 9293 §3.10.7.4: after a reset, "any outstanding RECEIVEs and
        // SEND should receive 'reset' responses"; buffered data is dropped.
        if let Some(failure) = slot.failure {
            return Err(failure);
        }
        let (handle, peer_fin) = (slot.handle, slot.peer_fin);
        let socket = self.socket_mut(handle);
        let state = socket.state();
        let received = match take {
            true => socket.recv_slice(buf),
            false => socket.peek_slice(buf),
        };
        match received {
            Ok(0) if buf.is_empty() => Ok(0),
            Ok(0) => Err(ApiError::WouldBlock),
            Ok(read) => Ok(read),
            // The FIN arrived and everything before it has been read.
            Err(RecvError::Finished) => Ok(0),
            // smoltcp forgets the FIN when TIME-WAIT ends; we do not.
            Err(RecvError::InvalidState) if peer_fin => Ok(0),
            Err(RecvError::InvalidState) => match state {
                State::SynSent | State::SynReceived => Err(ApiError::WouldBlock),
                _ => Err(ApiError::NotConnected),
            },
        }
    }

    fn shutdown_write_on(&mut self, conn: ConnId) -> Result<(), ApiError> {
        let slot = self.slot(conn)?;
        if let Some(failure) = slot.failure {
            return Err(failure);
        }
        if slot.write_shut {
            return Ok(());
        }
        let handle = slot.handle;
        let socket = self.socket_mut(handle);
        if matches!(
            socket.state(),
            State::SynSent | State::Listen | State::Closed
        ) {
            return Err(ApiError::NotConnected);
        }
        // RFC 9293 §3.10.4: CLOSE means "I have no more to send"; smoltcp's
        // close() is exactly that (FIN after the queued data), not a release.
        socket.close();
        if let Some(slot) = self.conns.get_mut(&conn) {
            slot.write_shut = true;
        }
        Ok(())
    }

    fn release_conn(&mut self, conn: ConnId, abort: bool) {
        let Some(slot) = self.conns.remove(&conn) else {
            return;
        };
        let socket = self.socket_mut(slot.handle);
        if abort {
            socket.abort(); // RST at the next poll (RFC 9293 §3.10.5)
        } else {
            socket.close();
        }
        self.release(slot.handle, Some((slot.local, slot.remote)));
    }

    fn close_listener_pool(&mut self, listener: ListenerId) {
        let Some(pool) = self.listeners.remove(&listener) else {
            return;
        };
        for member in pool.sockets {
            let socket = self.socket_mut(member.handle);
            let tuple = socket
                .local_endpoint()
                .and_then(to_socket_addr)
                .zip(socket.remote_endpoint().and_then(to_socket_addr));
            // A listening socket just goes; a connection nobody accepted
            // is reset, as the contract (and Linux) says.
            socket.abort();
            self.release(member.handle, tuple);
        }
    }

    fn info(&self, conn: ConnId) -> Result<ConnInfo, ApiError> {
        let slot = self.slot(conn)?;
        Ok(ConnInfo {
            local: slot.local,
            remote: slot.remote,
            state: state_name(self.socket(slot.handle).state()),
        })
    }
}

impl Engine for SmolEngine {
    fn name(&self) -> &'static str {
        "smoltcp"
    }

    fn local_ip(&self) -> std::net::Ipv4Addr {
        self.config.addr
    }

    fn local_ip_v6(&self) -> Option<std::net::Ipv6Addr> {
        self.config.addr_v6
    }

    fn handle_packet(&mut self, now: Instant, packet: &[u8]) {
        self.on_packet(now, packet);
    }

    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        self.next_packet(now, buf)
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.next_timeout()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.on_timeout(now);
    }

    fn listen(&mut self, local: SocketAddr, backlog: usize) -> Result<ListenerId, ApiError> {
        self.listen_on(local, backlog)
    }

    fn accept(&mut self, listener: ListenerId) -> Result<ConnId, ApiError> {
        self.accept_from(listener)
    }

    fn close_listener(&mut self, listener: ListenerId) {
        self.close_listener_pool(listener);
    }

    fn connect(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        local_port: Option<u16>,
    ) -> Result<ConnId, ApiError> {
        self.now = self.now.max(now);
        self.connect_to(remote, local_port)
    }

    fn connect_status(&self, conn: ConnId) -> Result<(), ApiError> {
        let slot = self.slot(conn)?;
        if let Some(failure) = slot.failure {
            return Err(failure);
        }
        match self.socket(slot.handle).state() {
            State::SynSent | State::SynReceived => Err(ApiError::WouldBlock),
            _ => Ok(()),
        }
    }

    fn send(&mut self, conn: ConnId, data: &[u8]) -> Result<usize, ApiError> {
        let result = self.send_on(conn, data);
        self.refresh_readiness(conn);
        result
    }

    fn recv(&mut self, conn: ConnId, buf: &mut [u8]) -> Result<usize, ApiError> {
        let result = self.recv_on(conn, buf, true);
        self.refresh_readiness(conn);
        result
    }

    fn peek(&mut self, conn: ConnId, buf: &mut [u8]) -> Result<usize, ApiError> {
        self.recv_on(conn, buf, false)
    }

    fn shutdown_write(&mut self, conn: ConnId) -> Result<(), ApiError> {
        let result = self.shutdown_write_on(conn);
        self.refresh_readiness(conn);
        result
    }

    fn close(&mut self, conn: ConnId) {
        self.release_conn(conn, false);
    }

    fn abort(&mut self, conn: ConnId) {
        self.release_conn(conn, true);
    }

    fn set_nodelay(&mut self, conn: ConnId, nodelay: bool) -> Result<(), ApiError> {
        let handle = self.slot(conn)?.handle;
        self.socket_mut(handle).set_nagle_enabled(!nodelay);
        Ok(())
    }

    fn conn_info(&self, conn: ConnId) -> Result<ConnInfo, ApiError> {
        self.info(conn)
    }

    fn stats(&self) -> EngineStats {
        self.stats
    }

    fn view(&self, _now: Instant) -> crate::engine::view::StackView {
        self.snapshot()
    }

    fn take_readiness(&mut self, out: &mut Vec<ReadinessEvent>) {
        self.take_changes(out);
    }

    fn readiness(&self, handle: Watched) -> Option<Readiness> {
        self.readiness_of(handle)
    }
}
