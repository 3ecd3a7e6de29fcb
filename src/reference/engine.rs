//! [`SmolEngine`]: the struct, and the network side of the contract.
//!
//! Every packet and timer goes through smoltcp's `Interface`; after each
//! run the wrapper looks at every socket it owns (`after_poll`) to record
//! state changes, refill listener pools, set give-up timers and free
//! released sockets. The application calls are in `calls.rs`.

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::tcp::{self, State};
use smoltcp::socket::AnySocket;
use smoltcp::time::Instant as SmolInstant;
use smoltcp::wire::{
    HardwareAddress, IpAddress, IpCidr, IpListenEndpoint, Ipv4Address, Ipv6Address,
};
use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use super::config::SmolConfig;
use super::conn::{give_up_timer, to_socket_addr, ConnSlot};
use super::counters::{OutboundCounter, Tuple};
use super::echo::echo_reply;
use super::inspect::{classify_inbound, outbound_segment, Inbound, SegmentFacts};
use super::listener::{is_acceptable, ListenerPool};
use super::queue_device::QueueDevice;
use super::readiness::note_conn_change;
use crate::engine::{ApiError, ConnId, EngineStats, ListenerId, Watched};
use crate::time::Instant;

/// A socket the application released (`close`, `abort`, `close_listener`)
/// that smoltcp is still finishing: FIN handshake, TIME-WAIT, or an RST not
/// yet sent. Removed from the set once it reaches CLOSED.
#[derive(Debug)]
pub(super) struct Orphan {
    pub handle: SocketHandle,
    pub tuple: Option<Tuple>,
}

/// smoltcp 0.14 behind [`crate::engine::Engine`]; see the module docs of
/// [`crate::reference`].
pub struct SmolEngine {
    pub(super) config: SmolConfig,
    pub(super) iface: Interface,
    pub(super) device: QueueDevice,
    pub(super) sockets: SocketSet<'static>,
    /// The latest `now` we were given.
    pub(super) now: Instant,
    pub(super) conns: BTreeMap<ConnId, ConnSlot>,
    pub(super) listeners: BTreeMap<ListenerId, ListenerPool>,
    pub(super) orphans: Vec<Orphan>,
    pub(super) next_conn_id: u32,
    pub(super) next_listener_id: u32,
    /// Where the search for a free ephemeral port starts next.
    pub(super) next_ephemeral: u16,
    /// Orders completed handshakes for `accept`.
    pub(super) handshakes_seen: u64,
    pub(super) stats: EngineStats,
    pub(super) outbound: OutboundCounter,
    /// Handles whose readiness changed since the last `take_readiness`.
    pub(super) changed: Vec<Watched>,
    /// Reused for ICMP echo replies.
    scratch: Vec<u8>,
}

/// RFC 6335 §6: the dynamic (ephemeral) port range.
pub(super) const EPHEMERAL_PORTS: std::ops::RangeInclusive<u16> = 49152..=65535;

pub(super) fn to_smol(now: Instant) -> SmolInstant {
    SmolInstant::from_micros(i64::try_from(now.total_micros()).unwrap_or(i64::MAX))
}

fn from_smol(at: SmolInstant) -> Instant {
    Instant::from_micros(u64::try_from(at.total_micros()).unwrap_or(0))
}

impl SmolEngine {
    pub fn new(config: SmolConfig) -> SmolEngine {
        let mut device = QueueDevice::new();
        let mut iface_config = Config::new(HardwareAddress::Ip);
        iface_config.random_seed = config.random_seed;
        let mut iface = Interface::new(iface_config, &mut device, to_smol(Instant::ZERO));
        // An IPv6-only engine has the unspecified IPv4 address: none.
        let v4 = (!config.addr.is_unspecified())
            .then(|| IpCidr::new(IpAddress::Ipv4(config.addr), config.prefix_len));
        let v6 = config
            .addr_v6
            .map(|v6| IpCidr::new(IpAddress::Ipv6(v6), config.prefix_len_v6));
        iface.update_ip_addrs(|addrs| {
            for cidr in v4.into_iter().chain(v6) {
                // Cannot fail: the list holds at least two addresses.
                let _ = addrs.push(cidr);
            }
        });
        // Medium::Ip has no link layer, so a gateway is only a name: any
        // destination off the prefix goes out the same device.
        let _ = iface
            .routes_mut()
            .add_default_ipv4_route(gateway_for(config.addr));
        if let Some(v6) = config.addr_v6 {
            let _ = iface
                .routes_mut()
                .add_default_ipv6_route(gateway_for_v6(v6));
        }
        let first_port = *EPHEMERAL_PORTS.start() + (config.random_seed % 16384) as u16;
        SmolEngine {
            config,
            iface,
            device,
            sockets: SocketSet::new(vec![]),
            now: Instant::ZERO,
            conns: BTreeMap::new(),
            listeners: BTreeMap::new(),
            orphans: Vec::new(),
            next_conn_id: 1,
            next_listener_id: 1,
            next_ephemeral: first_port,
            handshakes_seen: 0,
            stats: EngineStats::default(),
            outbound: OutboundCounter::default(),
            changed: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// A fresh socket with our buffer sizes.
    pub(super) fn new_socket(&self) -> tcp::Socket<'static> {
        let rx = tcp::SocketBuffer::new(vec![0u8; self.config.rx_buffer]);
        let tx = tcp::SocketBuffer::new(vec![0u8; self.config.tx_buffer]);
        tcp::Socket::new(rx, tx)
    }

    pub(super) fn socket(&self, handle: SocketHandle) -> &tcp::Socket<'static> {
        self.sockets.get::<tcp::Socket>(handle)
    }

    pub(super) fn socket_mut(&mut self, handle: SocketHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(handle)
    }

    // ----- network side -----

    pub(super) fn on_packet(&mut self, now: Instant, packet: &[u8]) {
        self.now = self.now.max(now);
        self.stats.packets_in += 1;
        match classify_inbound(packet) {
            Inbound::Invalid(reason) => self.drop_packet(reason),
            Inbound::Icmp => self.answer_icmp(packet),
            Inbound::Other => self.ingest(packet, None),
            Inbound::Tcp(segment) if !self.is_ours(segment.dst.ip()) => {
                self.drop_packet("TCP segment not addressed to us")
            }
            Inbound::Tcp(segment) if self.is_duplicate_ack_of_data_before_fin(&segment) => {
                log::debug!("smoltcp engine withheld a duplicate ACK below its FIN: {segment:?}");
            }
            Inbound::Tcp(segment) => {
                log::trace!("smoltcp in: {segment:?}");
                self.ingest(packet, Some(segment))
            }
        }
    }

    fn drop_packet(&mut self, reason: &str) {
        log::debug!("smoltcp engine dropped a packet: {reason}");
        self.stats.packets_dropped += 1;
    }

    fn answer_icmp(&mut self, packet: &[u8]) {
        let mut reply = std::mem::take(&mut self.scratch);
        match echo_reply(packet, self.config.addr, self.config.addr_v6, &mut reply) {
            Some(len) => self.device.push_outbound(&reply[..len]),
            // Other ICMP messages: smoltcp reads what it understands.
            None => self.ingest(packet, None),
        }
        self.scratch = reply;
    }

    /// Lets smoltcp process one packet, then records what changed.
    fn ingest(&mut self, packet: &[u8], segment: Option<SegmentFacts>) {
        let parked = match segment {
            Some(s) if s.syn && !s.ack && !s.rst => self.park_shadowing_listeners(&s),
            _ => Vec::new(),
        };
        self.device.push_inbound(packet);
        let now = to_smol(self.now);
        self.iface
            .poll_ingress_single(now, &mut self.device, &mut self.sockets);
        for (handle, endpoint) in parked {
            let _ = self.socket_mut(handle).listen(endpoint);
        }
        // Our tuples are (local, remote); the segment's are (src, dst).
        let reset_for = segment.filter(|s| s.rst).map(|s| (s.dst, s.src));
        self.after_poll(reset_for);
    }

    /// smoltcp hands a segment to the first socket (by slot) that accepts
    /// it, and a socket in LISTEN accepts any SYN for its port. A duplicate
    /// or retransmitted SYN of a connection already past LISTEN must reach
    /// that connection (RFC 9293 §3.10.7.4 answers it there), not a fresh
    /// listening socket in a lower slot, which would open a second
    /// connection with the same 4-tuple. So those listening sockets are
    /// closed for the one packet and listen again right after.
    fn park_shadowing_listeners(
        &mut self,
        syn: &SegmentFacts,
    ) -> Vec<(SocketHandle, IpListenEndpoint)> {
        let owner = self.sockets.iter().find_map(|(handle, socket)| {
            let socket = tcp::Socket::downcast(socket)?;
            let tuple = (socket.local_endpoint()?, socket.remote_endpoint()?);
            let matches = to_socket_addr(tuple.0) == Some(syn.dst)
                && to_socket_addr(tuple.1) == Some(syn.src);
            matches.then_some(handle)
        });
        let Some(owner) = owner else {
            return Vec::new();
        };
        let mut parked = Vec::new();
        for (handle, socket) in self.sockets.iter_mut() {
            let Some(socket) = tcp::Socket::downcast_mut(socket) else {
                continue;
            };
            if handle < owner
                && socket.state() == State::Listen
                && socket.listen_endpoint().port == syn.dst.port()
            {
                parked.push((handle, socket.listen_endpoint()));
                socket.abort(); // LISTEN has no peer: nothing is sent
            }
        }
        parked
    }

    /// Works around a smoltcp 0.14 bug that stalls a close for good.
    ///
    /// When only our FIN is unacknowledged and three duplicate ACKs arrive
    /// (the peer answering old retransmissions, say), smoltcp starts a fast
    /// retransmit, finds no data to resend, sends nothing, and has already
    /// turned its retransmission timer off: the FIN is never sent again
    /// and the connection hangs in FIN-WAIT-1 / CLOSING / LAST-ACK. Found by
    /// the simulation tests (faulty link). Such duplicates carry nothing
    /// smoltcp needs (all data is acknowledged, nothing is left to send, so
    /// no window matters), so they are withheld; the retransmission timer
    /// then resends the FIN (RFC 9293 §3.8.1).
    fn is_duplicate_ack_of_data_before_fin(&self, segment: &SegmentFacts) -> bool {
        let pure_ack = segment.ack && segment.seq_len == 0 && !segment.rst;
        if !pure_ack {
            return false;
        }
        let tuple = (segment.dst, segment.src);
        // ACK of our FIN itself (one past the highest sequence sent) passes.
        if self.outbound.sent_high(&tuple) != Some(segment.ack_number.wrapping_add(1)) {
            return false;
        }
        self.sockets.iter().any(|(_, socket)| {
            let Some(socket) = tcp::Socket::downcast(socket) else {
                return false;
            };
            let fin_unacked = matches!(
                socket.state(),
                State::FinWait1 | State::Closing | State::LastAck
            );
            let ours = socket.local_endpoint().and_then(to_socket_addr) == Some(tuple.0)
                && socket.remote_endpoint().and_then(to_socket_addr) == Some(tuple.1);
            // Empty send queue: smoltcp already saw this ACK once.
            ours && fin_unacked && socket.send_queue() == 0
        })
    }

    pub(super) fn on_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        self.run_egress();
    }

    /// Lets every socket send what it has due (at most one packet each).
    fn run_egress(&mut self) {
        let now = to_smol(self.now);
        self.iface
            .poll_egress(now, &mut self.device, &mut self.sockets);
        self.after_poll(None);
    }

    pub(super) fn next_packet(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        self.now = self.now.max(now);
        if !self.device.has_outbound() {
            self.run_egress();
        }
        let len = self.device.pop_outbound(buf)?;
        self.stats.packets_out += 1;
        if let Some(segment) = outbound_segment(&buf[..len]) {
            log::trace!("smoltcp out: {segment:?}");
            self.outbound.count(&segment);
            self.stats.retransmissions = self.outbound.retransmissions;
            self.stats.resets_sent = self.outbound.resets_sent;
            if self.outbound.needs_prune() {
                self.prune_outbound_records();
            }
        }
        Some(len)
    }

    pub(super) fn next_timeout(&mut self) -> Option<Instant> {
        if self.device.has_outbound() {
            return Some(self.now);
        }
        let at = self.iface.poll_at(to_smol(self.now), &self.sockets)?;
        Some(from_smol(at))
    }

    fn prune_outbound_records(&mut self) {
        let live: HashSet<Tuple> = self
            .sockets
            .iter()
            .filter_map(|(_, socket)| {
                let socket = tcp::Socket::downcast(socket)?;
                let local = to_socket_addr(socket.local_endpoint()?)?;
                Some((local, to_socket_addr(socket.remote_endpoint()?)?))
            })
            .collect();
        self.outbound.prune(|tuple| live.contains(tuple));
    }

    // ----- bookkeeping after smoltcp ran -----

    /// Records state changes of every socket we own. `reset_for`: the
    /// (local, remote) tuple of the RST just processed, if it was one.
    fn after_poll(&mut self, reset_for: Option<Tuple>) {
        self.observe_connections(reset_for);
        self.observe_listeners();
        self.sweep_orphans();
    }

    fn observe_connections(&mut self, reset_for: Option<Tuple>) {
        let (handshake, user) = (self.config.handshake_timeout, self.config.user_timeout);
        for (&conn, slot) in self.conns.iter_mut() {
            let socket = self.sockets.get_mut::<tcp::Socket>(slot.handle);
            let reset_seen = reset_for == Some((slot.local, slot.remote));
            slot.observe(socket.state(), reset_seen);
            note_conn_change(&mut self.changed, conn, slot, socket);
            socket.set_timeout(give_up_timer(socket, false, handshake, user));
        }
    }

    fn observe_listeners(&mut self) {
        let (handshake, user) = (self.config.handshake_timeout, self.config.user_timeout);
        for (&listener, pool) in self.listeners.iter_mut() {
            let endpoint = pool.endpoint();
            let mut handshake_completed = false;
            for member in pool.sockets.iter_mut() {
                let socket = self.sockets.get_mut::<tcp::Socket>(member.handle);
                let state = socket.state();
                if is_acceptable(state) {
                    if member.ready_since.is_none() {
                        member.ready_since = Some(self.handshakes_seen);
                        self.handshakes_seen += 1;
                        handshake_completed = true;
                    }
                } else {
                    member.ready_since = None;
                }
                // A connection that died before accept (RST, or the
                // handshake timed out) leaves its socket CLOSED; once any
                // RST it owes is sent (its tuple is gone), it listens again.
                if state == State::Closed && socket.remote_endpoint().is_none() {
                    log::debug!("smoltcp: connection on {} ended before accept", pool.local);
                    let _ = socket.listen(endpoint);
                }
                socket.set_timeout(give_up_timer(socket, false, handshake, user));
            }
            if handshake_completed {
                Self::note_listener_change(&mut self.changed, listener, pool);
            }
        }
    }

    fn sweep_orphans(&mut self) {
        let (handshake, user) = (self.config.handshake_timeout, self.config.user_timeout);
        let sockets = &mut self.sockets;
        let outbound = &mut self.outbound;
        self.orphans.retain(|orphan| {
            let socket = sockets.get_mut::<tcp::Socket>(orphan.handle);
            // CLOSED with no peer left: any final RST has been sent.
            let finished = socket.state() == State::Closed && socket.remote_endpoint().is_none();
            if finished {
                sockets.remove(orphan.handle);
                if let Some(tuple) = &orphan.tuple {
                    outbound.forget(tuple);
                }
            } else {
                socket.set_timeout(give_up_timer(socket, true, handshake, user));
            }
            !finished
        });
    }

    /// Hands a socket to the sweep; it leaves the set once CLOSED.
    pub(super) fn release(&mut self, handle: SocketHandle, tuple: Option<Tuple>) {
        self.orphans.push(Orphan { handle, tuple });
        self.after_poll(None);
    }

    /// Whether `ip` is one of the engine's own addresses.
    pub(super) fn is_ours(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(v4) => v4 == self.config.addr && !v4.is_unspecified(),
            IpAddr::V6(v6) => Some(v6) == self.config.addr_v6,
        }
    }

    /// Our address of `remote`'s family, the source of a connection to
    /// it; without one, as Linux, the network is unreachable.
    pub(super) fn own_address_for(&self, remote: IpAddr) -> Result<IpAddr, ApiError> {
        let ours = match remote {
            IpAddr::V4(_) => Some(IpAddr::V4(self.config.addr)).filter(|ip| !ip.is_unspecified()),
            IpAddr::V6(_) => self.config.addr_v6.map(IpAddr::V6),
        };
        ours.ok_or(ApiError::NetworkUnreachable)
    }

    /// Is `port` taken by a listener or by any socket still using it?
    pub(super) fn port_in_use(&self, port: u16) -> bool {
        self.listeners
            .values()
            .any(|pool| pool.local.port() == port)
            || self.sockets.iter().any(|(_, socket)| {
                tcp::Socket::downcast(socket)
                    .and_then(|s| s.local_endpoint())
                    .is_some_and(|local| local.port == port)
            })
    }
}

/// A gateway address on our prefix that is not our own.
fn gateway_for(addr: Ipv4Address) -> Ipv4Address {
    let octets = addr.octets();
    let last = if octets[3] == 1 { 2 } else { 1 };
    Ipv4Address::new(octets[0], octets[1], octets[2], last)
}

/// The same for IPv6: the last bit flipped.
fn gateway_for_v6(addr: Ipv6Address) -> Ipv6Address {
    Ipv6Address::from(u128::from(addr) ^ 1)
}
