//! The contract between a TCP engine and everything above it.
//!
//! Two engines implement [`Engine`]: ours ([`crate::engine::Stack`]) and
//! smoltcp wrapped as a reference ([`crate::reference::SmolEngine`]). The
//! driver, the socket API and the simulation tests only ever see this trait,
//! which is what lets `--stack tuntcp|smoltcp` pick one at run time and lets
//! the tests run the same scenario through both.
//!
//! # Calling order (quinn-proto style, sans-IO)
//!
//! The engine does no I/O and reads no clock. A driver loop does, in order:
//!
//! 1. [`Engine::handle_packet`] for every IPv4 packet that arrived,
//! 2. [`Engine::handle_timeout`] with the current time,
//! 3. [`Engine::poll_transmit`] until it returns `None`, sending each packet,
//! 4. sleep until [`Engine::poll_timeout`] or until a packet or an
//!    application call arrives.
//!
//! Application calls (`listen`, `connect`, `send`, ...) may come between any
//! two of these steps; whatever they queue goes out at the next
//! `poll_transmit`. No call blocks: "not yet" is [`ApiError::WouldBlock`],
//! and the socket layer above decides whether to wait.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::time::Instant;

/// A connection inside an engine. Opaque, only meaningful to the engine that
/// returned it; stays valid until [`Engine::close`] or [`Engine::abort`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u32);

/// A listening port inside an engine, until [`Engine::close_listener`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenerId(pub u32);

/// Why an application call did not do what was asked. The socket layer maps
/// each to the `std::io::ErrorKind` a Rust programmer expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// Nothing can be done yet (no data, no room, no connection to accept,
    /// handshake still in progress). Retry after the engine next runs.
    WouldBlock,
    /// The peer answered our SYN with RST (RFC 9293 §3.10.7.3).
    ConnectionRefused,
    /// The peer reset a synchronized connection (RFC 9293 §3.10.7.4).
    ConnectionReset,
    /// Retransmissions gave up (RFC 9293 §3.8.3, R2) or connect timed out.
    TimedOut,
    /// The local address and port are already taken.
    AddrInUse,
    /// The local address is not the engine's own, or no ephemeral port is
    /// free for a connect.
    AddrNotAvailable,
    /// The connection is not (or no longer) able to do this.
    NotConnected,
    /// Write after our own `shutdown_write` (or after the connection ended).
    BrokenPipe,
    /// The handle is unknown to this engine (already closed?).
    InvalidHandle,
    /// A configured limit (connections, listeners) is reached.
    ResourceLimit,
    /// Arguments make no sense (port 0 to connect to, backlog 0, ...).
    InvalidInput,
    /// An ICMP Destination Unreachable for the host (code 1 and others),
    /// a Time Exceeded or a Parameter Problem (RFC 9293 §3.9.2.2): a soft
    /// error from [`Engine::take_error`], or why a connect failed.
    HostUnreachable,
    /// An ICMP Destination Unreachable for the network (code 0...).
    NetworkUnreachable,
    /// The engine does not offer this call (smoltcp: urgent data...).
    Unsupported,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            ApiError::WouldBlock => "operation would block",
            ApiError::ConnectionRefused => "connection refused",
            ApiError::ConnectionReset => "connection reset by peer",
            ApiError::TimedOut => "connection timed out",
            ApiError::AddrInUse => "address already in use",
            ApiError::AddrNotAvailable => "address not available",
            ApiError::NotConnected => "not connected",
            ApiError::BrokenPipe => "broken pipe",
            ApiError::InvalidHandle => "invalid socket handle",
            ApiError::ResourceLimit => "connection limit reached",
            ApiError::InvalidInput => "invalid argument",
            ApiError::HostUnreachable => "no route to host",
            ApiError::NetworkUnreachable => "network is unreachable",
            ApiError::Unsupported => "operation not supported by this engine",
        };
        f.write_str(text)
    }
}

impl std::error::Error for ApiError {}

/// What the application can learn about a connection at any time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnInfo {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// RFC 9293 state name, e.g. "ESTABLISHED", for logs and tests.
    pub state: &'static str,
}

/// What an application call on a handle could do now without `WouldBlock`.
///
/// A small set of flags. For a connection: `READABLE` (`recv` has bytes, the
/// end of the stream, or an error to give), `WRITABLE` (`send` has room or
/// an error to give; never during the handshake), `READ_CLOSED` (the peer's
/// FIN arrived), `ERROR` (the connection failed: refused, reset, timed out).
/// For a listener, `READABLE` means `accept` has a connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Readiness(u8);

impl Readiness {
    pub const EMPTY: Readiness = Readiness(0);
    pub const READABLE: Readiness = Readiness(1);
    pub const WRITABLE: Readiness = Readiness(2);
    pub const READ_CLOSED: Readiness = Readiness(4);
    pub const ERROR: Readiness = Readiness(8);
    /// Urgent data (RFC 9293 §3.8.5) is ahead in the stream: an event
    /// comes when it arrives and each time the urgent pointer advances.
    pub const URGENT: Readiness = Readiness(16);
    /// R1 retransmissions of the same segment went unanswered (RFC 9293
    /// §3.8.3, SHLD-9): the path may be broken; the connection goes on
    /// until R2. Cleared when an ACK moves SND.UNA; an event each way.
    pub const STALLED: Readiness = Readiness(32);

    pub const fn bits(self) -> u8 {
        self.0
    }

    pub const fn from_bits(bits: u8) -> Readiness {
        Readiness(bits)
    }

    /// Every flag of `other` is set here.
    pub fn contains(self, other: Readiness) -> bool {
        self.0 & other.0 == other.0
    }

    /// Some flag of `other` is set here.
    pub fn intersects(self, other: Readiness) -> bool {
        self.0 & other.0 != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The flags set here and not in `before`: what became possible.
    pub fn gained_since(self, before: Readiness) -> Readiness {
        Readiness(self.0 & !before.0)
    }

    /// `flag` added when `condition` holds.
    pub fn with_if(self, flag: Readiness, condition: bool) -> Readiness {
        if condition {
            self | flag
        } else {
            self
        }
    }
}

impl std::ops::BitOr for Readiness {
    type Output = Readiness;
    fn bitor(self, other: Readiness) -> Readiness {
        Readiness(self.0 | other.0)
    }
}

impl std::ops::BitAnd for Readiness {
    type Output = Readiness;
    fn bitand(self, other: Readiness) -> Readiness {
        Readiness(self.0 & other.0)
    }
}

/// A connection's four facts, named, from which both engines build its
/// [`Readiness`].
#[derive(Clone, Copy, Debug)]
pub struct ConnReadiness {
    pub readable: bool,
    pub writable: bool,
    pub read_closed: bool,
    pub failed: bool,
}

impl From<ConnReadiness> for Readiness {
    fn from(facts: ConnReadiness) -> Readiness {
        Readiness::EMPTY
            .with_if(Readiness::READABLE, facts.readable)
            .with_if(Readiness::WRITABLE, facts.writable)
            .with_if(Readiness::READ_CLOSED, facts.read_closed)
            .with_if(Readiness::ERROR, facts.failed)
    }
}

/// A handle the application holds, for readiness: a connection or a listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Watched {
    Conn(ConnId),
    Listener(ListenerId),
}

/// "Something changed for `handle`; it is now `readiness`." Edge-triggered:
/// one is queued whenever a handle gains a readiness flag or its RFC 9293
/// state changes (a connection to accept, for a listener), so a waiter
/// that re-checks its call after each event never misses the moment it can
/// proceed. Losing a flag (the application read everything) is no event:
/// nobody waits for a call to start blocking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadinessEvent {
    pub handle: Watched,
    pub readiness: Readiness,
}

/// Counters every engine keeps; the names say what was counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub packets_in: u64,
    pub packets_out: u64,
    /// Inbound packets dropped for any reason (bad checksum, fragment, no room...).
    pub packets_dropped: u64,
    /// The same, by reason; `None` from engines that do not say (smoltcp).
    pub drops: Option<DropCounts>,
    pub connections_opened: u64,
    pub retransmissions: u64,
    /// Bytes sent again (0 from engines that do not count them: smoltcp).
    pub retransmitted_bytes: u64,
    pub resets_sent: u64,
    /// Retransmission timeouts that fired (RFC 6298 (5.4)); `None` where
    /// the engine does not count them (smoltcp keeps no such counter).
    pub retransmission_timeouts: Option<u64>,
    /// Defences under attack (0 from engines that have none: smoltcp).
    pub defence: DefenceStats,
}

/// Why inbound packets were dropped: `packets_dropped` split by reason,
/// for `tuntcp ss` and the stop line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropCounts {
    /// Headers that do not parse or check out: IPv4, TCP (checksum
    /// included), ICMP.
    pub malformed: u64,
    /// Not ours to take: another destination, a source that cannot be a
    /// host (RFC 1122 §3.2.1.3), a protocol or IP option we do not handle.
    pub not_for_us: u64,
    /// Fragments that cannot be kept: duplicates, overlaps, malformed.
    pub fragments: u64,
    /// Segments for no connection (answered with a RST, §3.10.7.1) or that
    /// a listener refuses (RST, neither SYN nor ACK, full queues, a bad
    /// cookie).
    pub no_connection: u64,
    /// Segments a connection did not take (§3.10.7.4: not acceptable,
    /// a bad ACK, no room), each answered as the RFC says.
    pub by_connections: u64,
    /// Answers we could not queue (RSTs, echo replies) or ICMP errors we
    /// had no use for.
    pub other: u64,
}

impl DropCounts {
    fn named(&self) -> [(&'static str, u64); 6] {
        [
            ("malformed", self.malformed),
            ("not for us", self.not_for_us),
            ("fragments", self.fragments),
            ("no connection", self.no_connection),
            ("by connections", self.by_connections),
            ("other", self.other),
        ]
    }

    /// Only the reasons that counted something: "by connections 12, not
    /// for us 3"; empty when nothing was dropped.
    pub fn nonzero(&self) -> String {
        let parts: Vec<String> = self
            .named()
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        parts.join(", ")
    }
}

/// Every reason with its count.
impl fmt::Display for DropCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .named()
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        write!(f, "{}", parts.join(", "))
    }
}

/// One reason for a drop, to count it (`DropCounts`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    Malformed,
    NotForUs,
    Fragment,
    NoConnection,
    ByConnection,
    Other,
}

impl EngineStats {
    /// `n` inbound packets dropped for `why`.
    pub fn count_drops(&mut self, why: DropReason, n: u64) {
        self.packets_dropped += n;
        if let Some(drops) = &mut self.drops {
            drops.count(why, n);
        }
    }
}

impl DropCounts {
    pub fn count(&mut self, reason: DropReason, n: u64) {
        let counter = match reason {
            DropReason::Malformed => &mut self.malformed,
            DropReason::NotForUs => &mut self.not_for_us,
            DropReason::Fragment => &mut self.fragments,
            DropReason::NoConnection => &mut self.no_connection,
            DropReason::ByConnection => &mut self.by_connections,
            DropReason::Other => &mut self.other,
        };
        *counter += n;
    }
}

/// What the stack did to stay up under floods: SYN cookies (RFC 4987
/// §3.6), full listen queues, the stack-wide challenge-ACK limit (RFC
/// 5961 §7), the TIME-WAIT bound. Linux counts the same in `nstat`
/// (SyncookiesSent/Recv/Failed, ListenDrops, TCPChallengeACK,
/// TCPTimeWaitOverflow).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefenceStats {
    /// SYN-ACKs sent with a cookie as ISN, keeping no state.
    pub syn_cookies_sent: u64,
    /// ACKs whose cookie was valid: a connection was made from it.
    pub syn_cookies_accepted: u64,
    /// ACKs checked for a cookie and found expired or forged.
    pub syn_cookies_rejected: u64,
    /// SYNs and handshake-completing ACKs dropped because a listener's
    /// SYN queue (cookies off) or accept queue was full.
    pub listen_drops: u64,
    /// Challenge ACKs (RFC 5961 §7) not sent because a connection's own
    /// limit or the stack-wide one was reached.
    pub challenge_acks_limited: u64,
    /// Connections that closed without TIME-WAIT because the TIME-WAIT
    /// bound was reached.
    pub time_wait_overflows: u64,
    /// Out-of-order bytes forgotten to stay within a connection's or the
    /// stack's bound (Linux's OfoPruned counts the same events).
    pub ooo_pruned_bytes: u64,
    /// Out-of-order segments refused: no room even after pruning.
    pub ooo_segments_refused: u64,
    /// Connections given up while their peer's window stayed zero: orphans
    /// past `orphan_zero_window_timeout`, or any past the stack's bound
    /// on send buffers so held.
    pub zero_window_aborts: u64,
}

impl DefenceStats {
    pub fn is_zero(&self) -> bool {
        *self == DefenceStats::default()
    }
}

impl fmt::Display for DefenceStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "syn cookies {} sent, {} accepted, {} rejected; {} listen drops; \
             {} challenge ACKs limited; {} TIME-WAIT overflows; \
             {} out-of-order bytes pruned, {} segments refused; \
             {} zero-window connections given up",
            self.syn_cookies_sent,
            self.syn_cookies_accepted,
            self.syn_cookies_rejected,
            self.listen_drops,
            self.challenge_acks_limited,
            self.time_wait_overflows,
            self.ooo_pruned_bytes,
            self.ooo_segments_refused,
            self.zero_window_aborts
        )
    }
}

impl fmt::Display for EngineStats {
    /// One line for people: what `tuntcp echo` prints when it stops.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = self
            .drops
            .map(|drops| drops.nonzero())
            .filter(|reasons| !reasons.is_empty())
            .map_or(String::new(), |reasons| format!(" ({reasons})"));
        write!(
            f,
            "{} packets in, {} out, {} dropped{why}, {} connections, {} retransmissions",
            self.packets_in,
            self.packets_out,
            self.packets_dropped,
            self.connections_opened,
            self.retransmissions
        )?;
        if let Some(timeouts) = self.retransmission_timeouts {
            write!(f, ", retransmission timeouts {timeouts}")?;
        }
        write!(f, ", {} resets sent", self.resets_sent)?;
        if !self.defence.is_zero() {
            write!(f, "; {}", self.defence)?;
        }
        Ok(())
    }
}

/// A TCP engine with one IPv4 address and, optionally, one IPv6 address. See the module docs for the
/// calling order. Implementations are deterministic given the same inputs
/// and the same `now` values.
pub trait Engine: Send {
    /// "tuntcp" or "smoltcp".
    fn name(&self) -> &'static str;

    /// The engine's own IPv4 address; listening on 0.0.0.0 means this one.
    fn local_ip(&self) -> Ipv4Addr;

    /// The engine's own IPv6 address, if it speaks IPv6 (RFC 8200).
    fn local_ip_v6(&self) -> Option<Ipv6Addr> {
        None
    }

    // ----- network side -----

    /// Takes one inbound IPv4 or IPv6 packet. Bad packets are dropped and
    /// counted, never a panic.
    fn handle_packet(&mut self, now: Instant, packet: &[u8]);

    /// Writes the next outbound IP packet into `buf` and returns its
    /// length, or `None` when nothing is due. `buf` is at least the MTU
    /// (1500 bytes).
    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize>;

    /// When [`Engine::handle_timeout`] should next be called; `None` if no
    /// timer is running.
    fn poll_timeout(&mut self) -> Option<Instant>;

    /// Runs every timer due at or before `now`.
    fn handle_timeout(&mut self, now: Instant);

    // ----- application side -----

    /// Passive open (RFC 9293 §3.10.1): listens on `local` with an accept
    /// queue of `backlog` connections. The unspecified address (`0.0.0.0`
    /// or `[::]`) takes both families, as a dual-stack socket; the
    /// engine's own address of one family takes only that family.
    fn listen(&mut self, local: SocketAddr, backlog: usize) -> Result<ListenerId, ApiError>;

    /// Takes the oldest established connection off the accept queue, or
    /// `WouldBlock` when there is none yet.
    fn accept(&mut self, listener: ListenerId) -> Result<ConnId, ApiError>;

    /// Stops listening. Connections not yet accepted are reset.
    fn close_listener(&mut self, listener: ListenerId);

    /// Active open (RFC 9293 §3.10.1): sends SYN to `remote`. `local_port`
    /// `None` picks an ephemeral port. Poll [`Engine::connect_status`].
    fn connect(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        local_port: Option<u16>,
    ) -> Result<ConnId, ApiError>;

    /// `Ok(())` once the handshake is complete, `WouldBlock` while it is in
    /// progress, `ConnectionRefused` / `TimedOut` / `ConnectionReset` if it
    /// failed.
    fn connect_status(&self, conn: ConnId) -> Result<(), ApiError>;

    /// Queues bytes for sending; returns how many fit in the send buffer
    /// (at least 1), or `WouldBlock` when it is full.
    fn send(&mut self, conn: ConnId, data: &[u8]) -> Result<usize, ApiError>;

    /// Takes received bytes in order. `Ok(0)` means the peer sent FIN and
    /// everything before it has been read; `WouldBlock` means no data yet.
    fn recv(&mut self, conn: ConnId, buf: &mut [u8]) -> Result<usize, ApiError>;

    /// As [`Engine::recv`], but the bytes stay queued (recv(2)'s
    /// MSG_PEEK): the next `recv` or `peek` gives them again.
    fn peek(&mut self, conn: ConnId, buf: &mut [u8]) -> Result<usize, ApiError>;

    /// Half-close: sends FIN after the queued data; receiving goes on.
    fn shutdown_write(&mut self, conn: ConnId) -> Result<(), ApiError>;

    /// Graceful close as in close(2): FIN after queued data, the handle is
    /// released now and the engine finishes the close on its own (through
    /// TIME-WAIT where that applies).
    fn close(&mut self, conn: ConnId);

    /// Sends RST and forgets the connection (RFC 9293 §3.10.5).
    fn abort(&mut self, conn: ConnId);

    /// Turns Nagle's algorithm off (`true`) or on (RFC 9293 §3.7.4).
    fn set_nodelay(&mut self, conn: ConnId, nodelay: bool) -> Result<(), ApiError>;

    /// Addresses and state of a connection.
    fn conn_info(&self, conn: ConnId) -> Result<ConnInfo, ApiError>;

    /// Counters since the engine was made.
    fn stats(&self) -> EngineStats;

    /// Everything `tuntcp ss` shows, at `now`. The default knows only the
    /// counters; engines override it with their connections and listeners.
    fn view(&self, now: Instant) -> super::view::StackView {
        let _ = now;
        super::view::StackView {
            stats: self.stats(),
            ..Default::default()
        }
    }

    // ----- readiness -----

    /// Moves the readiness events queued since the last call into `out`
    /// (appending). Any call above may queue some: packets, timers and the
    /// application's own calls. Handles the application does not hold
    /// (connections not yet accepted) have none; their listener has.
    fn take_readiness(&mut self, out: &mut Vec<ReadinessEvent>);

    /// What `handle` could do now; `None` for an unknown handle.
    fn readiness(&self, handle: Watched) -> Option<Readiness>;

    // ----- errors and per-connection settings (RFC 9293 §3.9.1.8, §3.9.1.9) -----

    /// SO_ERROR's answer: the error that ended the connection (kept), or
    /// else the last soft error (an ICMP error that did not end it, RFC
    /// 9293 §3.9.2.2, MUST-47, SHLD-25), which the call clears. The
    /// default (smoltcp) knows no soft errors.
    fn take_error(&mut self, conn: ConnId) -> Result<Option<ApiError>, ApiError> {
        self.connect_status(conn)
            .err()
            .map_or(Ok(None), |err| match err {
                ApiError::WouldBlock => Ok(None),
                other => Ok(Some(other)),
            })
    }

    /// Keep-alive probes for this connection (RFC 1122 §4.2.3.6,
    /// MUST-24): `None` turns them off. The default: not offered.
    fn set_keepalive(
        &mut self,
        conn: ConnId,
        keepalive: Option<super::config::KeepAlive>,
    ) -> Result<(), ApiError> {
        let _ = (conn, keepalive);
        Err(ApiError::Unsupported)
    }

    /// R2 for this connection (§3.8.3, MUST-21; Linux's TCP_USER_TIMEOUT):
    /// how long sent data (or a SYN) may go unacknowledged before the
    /// connection is given up with `TimedOut`. `None` restores the
    /// stack's (`StackConfig::give_up_after`, `handshake_timeout`).
    fn set_user_timeout(
        &mut self,
        conn: ConnId,
        timeout: Option<std::time::Duration>,
    ) -> Result<(), ApiError> {
        let _ = (conn, timeout);
        Err(ApiError::Unsupported)
    }

    /// SEND with the URGENT flag (RFC 9293 §3.8.5, MUST-30): as
    /// [`Engine::send`], and the urgent pointer moves past these bytes.
    fn send_urgent(&mut self, conn: ConnId, data: &[u8]) -> Result<usize, ApiError> {
        let _ = (conn, data);
        Err(ApiError::Unsupported)
    }

    /// Bytes to read before the urgent mark, 0 with no urgent data ahead
    /// (MUST-33). Urgent data is read inline by [`Engine::recv`], which
    /// stops at the mark.
    fn urgent_remaining(&self, conn: ConnId) -> Result<usize, ApiError> {
        let _ = conn;
        Err(ApiError::Unsupported)
    }

    /// The DiffServ field of this connection's packets (RFC 9293
    /// §3.9.1.9, MUST-48, SHLD-21), as IP_TOS: DSCP << 2.
    fn set_tos(&mut self, conn: ConnId, tos: u8) -> Result<(), ApiError> {
        let _ = (conn, tos);
        Err(ApiError::Unsupported)
    }

    // ----- trace -----

    /// Moves the state changes recorded since the last call into `out`
    /// (appending), when the engine was built with tracing on. Engines
    /// that do not record them (smoltcp) add nothing.
    fn take_trace(&mut self, out: &mut Vec<super::trace::TraceEvent>) {
        let _ = out;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_line_names_timeouts_only_where_counted() {
        let mut stats = EngineStats {
            packets_in: 3,
            retransmissions: 2,
            ..EngineStats::default()
        };
        let line = stats.to_string();
        assert!(line.starts_with("3 packets in,"), "{line}");
        assert!(!line.contains("timeouts"), "{line}");
        stats.retransmission_timeouts = Some(7);
        assert!(stats.to_string().contains("retransmission timeouts 7"));
    }

    #[test]
    fn stats_line_gives_the_reasons_of_drops_that_happened() {
        let mut stats = EngineStats {
            drops: Some(DropCounts::default()),
            ..EngineStats::default()
        };
        assert!(stats.to_string().contains(" 0 dropped, "), "{stats}");
        stats.count_drops(DropReason::ByConnection, 5);
        stats.count_drops(DropReason::NotForUs, 2);
        let line = stats.to_string();
        assert!(
            line.contains(" 7 dropped (not for us 2, by connections 5), "),
            "{line}"
        );
    }

    #[test]
    fn stats_line_names_defences_only_once_one_acted() {
        let mut stats = EngineStats::default();
        assert!(!stats.to_string().contains("cookies"));
        stats.defence.syn_cookies_sent = 4;
        let line = stats.to_string();
        assert!(line.contains("syn cookies 4 sent, 0 accepted"), "{line}");
    }
}
