//! [`Stack`]: our engine. It owns every connection and listener and does
//! the work that is not one connection's: checking IP headers, finding the
//! connection a segment belongs to (demultiplexing), creating connections
//! for SYNs to listening ports, resetting segments nobody owns, answering
//! pings, choosing ISNs and ephemeral ports, and scheduling output and
//! timers across connections.
//!
//! - `input.rs`: `handle_packet`, from IPv4 down to the right TCB.
//! - `input_v6.rs`: the same from IPv6 (RFC 8200), and ICMPv6 (RFC 4443).
//! - `ports.rs`: which listener a port's segments go to, per family.
//! - `transmit.rs`: `poll_transmit`, `poll_timeout`, `handle_timeout`.
//! - `calls.rs`: the [`Engine`](crate::engine::Engine) implementation.
//! - `readiness.rs`: which handles changed, for the socket layer's waiters.
//! - `fragments.rs`: IPv4 reassembly, bounded in memory and time.
//! - `icmp_errors.rs`: ICMP errors to the connection they are about.
//! - `icmp_generate.rs`: ICMP errors we send, rate-limited.
//! - `ip_stats.rs`: counters of ICMP, reassembly and refused datagrams.
//!
//! Bookkeeping is the point of this file: after anything touches a
//! connection, [`Stack::touch`] files it where it now belongs (output
//! queue, timer heap, accept queue, or gone).

mod calls;
mod cookies;
pub mod fragments;
mod icmp_errors;
mod icmp_generate;
mod id_map;
mod input;
mod input_v6;
mod ip_stats;
mod listen;
mod ooo_pressure;
mod ports;
mod readiness;
mod reopen;
mod time_wait;
mod transmit;
mod view;
mod zero_window;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};

use log::debug;

use super::api::{DropCounts, DropReason, EngineStats, Readiness, Watched};
use super::config::StackConfig;
use super::isn;
use super::memory::{MemoryBudget, MemoryStats};
use super::out_of_order::OutOfOrderTotal;
use super::shared::{ChallengeAckLimit, StackShared};
use super::tcp::ring::MIN_STORAGE;
use super::tcp::tcb::CONNECTION_COST;
use super::tcp::{RecoveryStats, State, Tcb};
use super::trace::{SegmentSummary, TraceEvent, TraceQueue};
use super::zero_window::ZeroWindowTotal;
use crate::time::Instant;
use crate::wire::{ErrorHead, SeqNum, TcpHeader};
use fragments::Reassembly;
use icmp_generate::IcmpErrorBucket;
use id_map::IdMap;
pub use ip_stats::IpStats;
use time_wait::TimeWaitSlot;

/// Ephemeral ports for active opens (RFC 6335 §6, the IANA dynamic range).
const EPHEMERAL_PORTS: std::ops::RangeInclusive<u16> = 49152..=65535;

/// A connection's identity on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct FourTuple {
    local: SocketAddr,
    remote: SocketAddr,
}

/// A connection and what the stack knows about it.
struct Entry {
    tcb: Tcb,
    /// The application holds a `ConnId` for it (accepted or connected, and
    /// not closed yet). Without a handle, a CLOSED entry is deleted.
    has_handle: bool,
    /// The listener that created it, until the application accepts it.
    listener: Option<u32>,
    /// Counted in that listener's SYN queue (half-open, SYN-RECEIVED).
    in_syn_queue: bool,
    /// Waiting in that listener's accept queue.
    in_accept_queue: bool,
    /// Waiting in the output queue.
    in_ready: bool,
    /// The timer-heap entry that is current for this connection.
    scheduled: Option<Instant>,
    /// Readiness and state when last touched, to notice changes.
    seen: (Readiness, State),
    /// Filed in the stack's `changed` list, not drained yet.
    change_queued: bool,
    /// Counted against the TIME-WAIT bound, or cut by it (`time_wait.rs`).
    time_wait: TimeWaitSlot,
}

/// A listening port and its two queues, as listen(2) has them on Linux:
/// the SYN queue of half-open connections (SYN-RECEIVED, limited by
/// `StackConfig::syn_backlog`, like `tcp_max_syn_backlog`) and the accept
/// queue of established ones the application has not taken yet (limited
/// by listen's `backlog`).
struct Listener {
    /// The address it was bound to, the unspecified one made the stack's
    /// own (IPv4's, for `0.0.0.0`): what `ss` shows.
    local: SocketAddr,
    /// The families it takes: both when bound to `0.0.0.0` or `[::]`.
    bound: ports::Bound,
    /// The accept queue's limit (listen's `backlog`).
    backlog: usize,
    /// Established connections not yet accepted, oldest first.
    accept_queue: VecDeque<u32>,
    /// Connections of this listener still in the handshake (SYN queue).
    syn_queue: usize,
    /// The last time a SYN found the SYN queue full: ACKs that may carry
    /// a SYN cookie are only checked for one within the cookies' lifetime
    /// after it (as Linux's `tcp_synq_no_recent_overflow`), so at other
    /// times a stray ACK is never taken for a cookie.
    last_overflow: Option<Instant>,
    /// Filed in the stack's `changed` list, not drained yet.
    change_queued: bool,
}

/// A packet that belongs to no connection's output: RSTs for segments we
/// cannot place, SYN-ACKs carrying a SYN cookie (`listen.rs`: no TCB has
/// them), ICMP echo replies and the ICMP errors we send.
// The echo data lives inline on purpose: the queue is allocated once at
// its bounded size, and a boxed variant would allocate per ping.
#[allow(clippy::large_enum_variant)]
enum ControlPacket {
    /// A RST, or a SYN-ACK with a cookie: counted by its flags.
    Segment {
        local: SocketAddr,
        remote: SocketAddr,
        header: TcpHeader,
    },
    /// To an ICMP echo request (IPv4) or ICMPv6 one (IPv6, RFC 4443 §4.2).
    EchoReply {
        to: IpAddr,
        ident: u16,
        seq_no: u16,
        /// The request's data, copied in place: the control queue's
        /// storage is allocated once, so a ping costs no allocation.
        data: [u8; MAX_ECHO_DATA],
        len: u16,
    },
    /// An ICMP (IPv4) or ICMPv6 error we send (`icmp_generate.rs`), with
    /// the start of the datagram it is about.
    IcmpError {
        to: IpAddr,
        head: ErrorHead,
        quote: [u8; MAX_ERROR_QUOTE],
        len: u16,
    },
}

/// Longest ping payload we echo: what fits in one 1500-byte reply.
const MAX_ECHO_DATA: usize = 1500 - 20 - 8;
/// Most an error quotes: what fits in IPv6's minimum MTU (RFC 4443 §2.4
/// (c)); IPv4's errors quote less (576 bytes in all, RFC 1812 §4.3.2.3).
const MAX_ERROR_QUOTE: usize = 1280 - 40 - 8;

/// Our RFC 9293 TCP engine, over IPv4 and IPv6. See [`crate::engine::Engine`] for the
/// calling order.
pub struct Stack {
    config: StackConfig,
    conns: IdMap<Entry>,
    by_tuple: HashMap<FourTuple, u32>,
    listeners: IdMap<Listener>,
    listener_by_port: HashMap<(u16, ports::Bound), u32>,
    next_conn_id: u32,
    next_listener_id: u32,
    next_ephemeral: u16,
    control: VecDeque<ControlPacket>,
    /// Connections that may have something to send, in turn.
    ready: VecDeque<u32>,
    /// (when, connection) with stale entries skipped on the way out.
    timers: BinaryHeap<Reverse<(Instant, u32)>>,
    /// Handles whose readiness changed since the last `take_readiness`.
    changed: Vec<Watched>,
    stats: EngineStats,
    /// Loss-recovery counters summed over connections (not in `EngineStats`).
    recovery: RecoveryStats,
    /// What all connections draw on: the memory budget (`memory.rs`) and
    /// the stack-wide challenge-ACK allowance (`shared.rs`).
    shared: StackShared,
    /// SYNs and connects refused because the budget was spent.
    refused_for_memory: u64,
    /// Connections in TIME-WAIT, counted against `config.max_time_wait`.
    time_wait: usize,
    /// The latest time the stack was given, for the calls that get none
    /// (`close`).
    clock: Instant,
    /// State changes for `take_trace` (only with `config.trace`).
    trace: TraceQueue,
    /// The segment being processed, named as the cause of state changes.
    cause: Option<SegmentSummary>,
    /// ICMP errors, reassembly, refused datagrams (`ip_stats.rs`).
    ip_stats: IpStats,
    /// Datagrams being put together from fragments.
    fragments: Reassembly,
    /// The rate limit of the ICMP errors we send (`icmp_generate.rs`).
    icmp_error_bucket: IcmpErrorBucket,
    /// TIME-WAIT connections a new SYN reopened, kept until the new
    /// incarnation is synchronized (`reopen.rs`, MAY-2 condition 2).
    reopened: HashMap<FourTuple, Tcb>,
}

impl Stack {
    pub fn new(config: StackConfig) -> Stack {
        Stack {
            conns: IdMap::default(),
            by_tuple: HashMap::new(),
            listeners: IdMap::default(),
            listener_by_port: HashMap::new(),
            next_conn_id: 1,
            next_listener_id: 1,
            next_ephemeral: *EPHEMERAL_PORTS.start(),
            control: VecDeque::with_capacity(config.max_control_queue),
            ready: VecDeque::new(),
            timers: BinaryHeap::new(),
            changed: Vec::new(),
            stats: EngineStats {
                drops: Some(DropCounts::default()),
                ..EngineStats::default()
            },
            recovery: RecoveryStats::default(),
            shared: StackShared {
                budget: MemoryBudget::new(config.memory_budget),
                challenge_acks: ChallengeAckLimit::new(
                    config.challenge_acks_per_sec_total,
                    config.isn_secret,
                ),
                out_of_order: OutOfOrderTotal::new(config.max_ooo_bytes_total),
                zero_window: ZeroWindowTotal::new(config.max_zero_window_bytes),
            },
            refused_for_memory: 0,
            time_wait: 0,
            clock: Instant::default(),
            trace: TraceQueue::default(),
            cause: None,
            ip_stats: IpStats::default(),
            fragments: Reassembly::new(config.reassembly),
            icmp_error_bucket: IcmpErrorBucket::new(
                config.icmp_errors_per_sec,
                config.icmp_errors_burst,
            ),
            reopened: HashMap::new(),
            config,
        }
    }

    /// How connections recovered from loss so far (RTOs, fast recoveries,
    /// loss probes...): for measurements, beside [`EngineStats`].
    pub fn recovery_stats(&self) -> RecoveryStats {
        self.recovery
    }

    /// A connection's congestion window and slow start threshold, for
    /// the engine's tests.
    #[cfg(test)]
    pub(crate) fn congestion_window(&self, conn: crate::engine::ConnId) -> (usize, usize) {
        let tcb = &self.conns[&conn.0].tcb;
        tcb.congestion_window()
    }

    /// Counters of ICMP errors, fragment reassembly and refused datagrams.
    pub fn ip_stats(&self) -> IpStats {
        self.ip_stats
    }

    /// The memory budget's state: bytes held, refusals.
    pub fn memory_stats(&self) -> MemoryStats {
        MemoryStats {
            limit: self.shared.budget.limit(),
            used: self.shared.budget.used(),
            growth_refused: self.shared.budget.growth_refused(),
            connections_refused: self.refused_for_memory,
        }
    }

    /// Bytes the connections hold on the heap beyond their TCBs (buffer
    /// storage, logs), summed: what idle connections should give back.
    pub fn connections_heap_bytes(&self) -> usize {
        self.conns.values().map(|e| e.tcb.heap_bytes()).sum()
    }

    /// Whether one more connection fits: the connection limit, and the
    /// memory budget with room for the TCB and a first piece of storage
    /// for each buffer. Counted when the budget refuses.
    fn admits_connection(&mut self) -> Result<(), &'static str> {
        if self.conns.len() >= self.config.max_connections {
            return Err("connection limit reached");
        }
        if !self
            .shared
            .budget
            .has_room(CONNECTION_COST + 2 * MIN_STORAGE)
        {
            self.refused_for_memory += 1;
            return Err("memory budget spent");
        }
        Ok(())
    }

    /// Time only moves forward, whatever order the calls come in.
    /// Every call into the engine starts here: the clock, and the
    /// stack-wide bounds that the last call may have passed (out-of-order
    /// data, send buffers held against zero windows).
    fn tick(&mut self, now: Instant) {
        self.clock = self.clock.max(now);
        if self.shared.out_of_order.is_over_limit() {
            self.relieve_out_of_order_pressure();
        }
        if self.shared.zero_window.is_over_limit() {
            self.relieve_zero_window_pressure();
        }
    }

    pub fn config(&self) -> &StackConfig {
        &self.config
    }

    /// RFC 6528 ISN for a new connection (or the fixed one tests ask for).
    fn choose_isn(&self, now: Instant, local: SocketAddr, remote: SocketAddr) -> SeqNum {
        match self.config.fixed_isn {
            Some(isn) => SeqNum(isn),
            None => isn::generate(&self.config.isn_secret, now, local, remote),
        }
    }

    /// Adds a connection; returns its id.
    fn insert(&mut self, tcb: Tcb, has_handle: bool, listener: Option<u32>) -> u32 {
        let mut id = self.next_conn_id;
        while id == 0 || self.conns.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        self.next_conn_id = id.wrapping_add(1);
        let tuple = FourTuple {
            local: tcb.local,
            remote: tcb.remote,
        };
        self.by_tuple.insert(tuple, id);
        let in_syn_queue = listener.is_some() && !tcb.state().is_synchronized();
        if let Some(listener) = listener.and_then(|l| self.listeners.get_mut(&l)) {
            listener.syn_queue += usize::from(in_syn_queue);
        }
        let entry = Entry {
            tcb,
            has_handle,
            listener,
            in_syn_queue,
            in_accept_queue: false,
            in_ready: false,
            scheduled: None,
            seen: (Readiness::EMPTY, State::Closed),
            change_queued: false,
            time_wait: TimeWaitSlot::None,
        };
        self.conns.insert(id, entry);
        self.touch(id);
        id
    }

    /// Files connection `id` where it belongs after anything happened to it.
    fn touch(&mut self, id: u32) {
        self.bound_time_wait(id);
        self.settle_reopened(id);
        let Some(entry) = self.conns.get_mut(&id) else {
            return;
        };
        self.stats.retransmissions += entry.tcb.take_retransmissions();
        let dropped = entry.tcb.take_dropped();
        self.stats.count_drops(DropReason::ByConnection, dropped);
        let recovery = entry.tcb.take_recovery_stats();
        self.stats.retransmitted_bytes += recovery.retransmitted_bytes;
        self.recovery += recovery;
        if self.config.trace {
            let (local, remote) = (entry.tcb.local, entry.tcb.remote);
            for (from, to) in entry.tcb.take_transitions() {
                self.trace.push(TraceEvent {
                    at: self.clock,
                    local,
                    remote,
                    from,
                    to,
                    cause: self.cause,
                });
            }
        }
        Self::note_conn_change(&mut self.changed, id, entry);
        if entry.tcb.state() == State::Closed {
            self.retire(id);
            return;
        }
        entry.tcb.arm_buffer_release(self.clock);
        entry.tcb.arm_keepalive();
        if let Some(listener_id) = entry.listener {
            if entry.tcb.state().is_synchronized() && !entry.in_accept_queue {
                entry.in_accept_queue = true;
                self.stats.connections_opened += 1;
                if let Some(listener) = self.listeners.get_mut(&listener_id) {
                    if std::mem::take(&mut entry.in_syn_queue) {
                        listener.syn_queue = listener.syn_queue.saturating_sub(1);
                    }
                    listener.accept_queue.push_back(id);
                    Self::note_listener_change(&mut self.changed, listener_id, listener);
                }
            }
        }
        if !entry.in_ready && entry.tcb.wants_to_send() {
            entry.in_ready = true;
            self.ready.push_back(id);
        }
        Self::schedule(&mut self.timers, id, entry);
        self.compact_timers();
    }

    /// Stale heap entries (left behind when a connection's timer moves)
    /// are normally skipped when they reach the top; but a timer pushed
    /// later on every ACK leaves them faster than they expire. Past a bound
    /// proportional to the connections, the heap drops them in place, so it
    /// stops growing (and allocating) in steady state.
    fn compact_timers(&mut self) {
        if self.timers.len() <= 2 * self.conns.len() + 64 {
            return;
        }
        let conns = &self.conns;
        self.timers.retain(|Reverse((at, id))| {
            conns
                .get(id)
                .is_some_and(|entry| entry.scheduled == Some(*at))
        });
    }

    fn schedule(timers: &mut BinaryHeap<Reverse<(Instant, u32)>>, id: u32, entry: &mut Entry) {
        let at = entry.tcb.poll_at();
        if at != entry.scheduled {
            entry.scheduled = at;
            if let Some(at) = at {
                timers.push(Reverse((at, id)));
            }
        }
    }

    /// A connection reached CLOSED: its 4-tuple is free again, and unless
    /// the application still holds it (to read the error), it is deleted.
    fn retire(&mut self, id: u32) {
        let Some(entry) = self.conns.get_mut(&id) else {
            return;
        };
        unmap_tuple(&mut self.by_tuple, &entry.tcb, id);
        let tuple = FourTuple {
            local: entry.tcb.local,
            remote: entry.tcb.remote,
        };
        entry.scheduled = None;
        // For measurements (scripts/bench.sh --loss): how loss was recovered
        // from so far, summed over this stack's connections.
        log::debug!(
            "{} -> {}: closed; recovery: {}",
            entry.tcb.local,
            entry.tcb.remote,
            self.recovery
        );
        if !entry.has_handle {
            self.remove(id);
        }
        self.restore_time_wait(tuple);
    }

    /// Deletes a connection and every reference to it.
    fn remove(&mut self, id: u32) {
        let Some(entry) = self.conns.remove(&id) else {
            return;
        };
        self.forget_time_wait(entry.time_wait);
        unmap_tuple(&mut self.by_tuple, &entry.tcb, id);
        if let Some(listener) = entry.listener.and_then(|l| self.listeners.get_mut(&l)) {
            if entry.in_accept_queue {
                listener.accept_queue.retain(|&queued| queued != id);
            } else if entry.in_syn_queue {
                listener.syn_queue = listener.syn_queue.saturating_sub(1);
            }
        }
        // Stale ids in `ready` and `timers` are skipped when they come up.
    }

    /// Queues a packet outside any connection; a full queue drops it.
    fn queue_control(&mut self, packet: ControlPacket) {
        if self.control.len() >= self.config.max_control_queue {
            debug!("control queue full, dropping a RST, echo reply or ICMP error");
            self.stats.count_drops(DropReason::Other, 1);
            return;
        }
        self.control.push_back(packet);
    }

    fn queue_rst(&mut self, local: SocketAddr, remote: SocketAddr, header: TcpHeader) {
        self.queue_control(ControlPacket::Segment {
            local,
            remote,
            header,
        });
    }

    /// A free local port for a connection to `remote`, from the ephemeral
    /// range, starting after the last one handed out.
    fn ephemeral_port(&mut self, local_ip: IpAddr, remote: SocketAddr) -> Option<u16> {
        let span = usize::from(EPHEMERAL_PORTS.end() - EPHEMERAL_PORTS.start()) + 1;
        for _ in 0..span {
            let port = self.next_ephemeral;
            self.next_ephemeral = if port == *EPHEMERAL_PORTS.end() {
                *EPHEMERAL_PORTS.start()
            } else {
                port + 1
            };
            let local = SocketAddr::new(local_ip, port);
            if !self.port_listens(port) && !self.by_tuple.contains_key(&FourTuple { local, remote })
            {
                return Some(port);
            }
        }
        None
    }
}

/// Frees the 4-tuple of connection `id`, unless a newer connection has
/// taken it over already (a SYN that reopened TIME-WAIT, say).
fn unmap_tuple(by_tuple: &mut HashMap<FourTuple, u32>, tcb: &Tcb, id: u32) {
    let tuple = FourTuple {
        local: tcb.local,
        remote: tcb.remote,
    };
    if by_tuple.get(&tuple) == Some(&id) {
        by_tuple.remove(&tuple);
    }
}
