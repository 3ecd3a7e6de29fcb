//! Everything about the engine that a user may want to tune, with defaults
//! close to what Linux does.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::isn::IsnSecret;
pub use super::stack::fragments::ReassemblyLimits;
pub use super::tcp::keepalive::KeepAlive;

/// The congestion control algorithm of our engine's connections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CongestionControl {
    /// CUBIC (RFC 9438), the default of Linux, Windows and Apple's stacks.
    #[default]
    Cubic,
    /// NewReno (RFC 5681, RFC 6582): halve on loss, one segment more per
    /// round trip.
    NewReno,
    /// BBR v1 (draft-cardwell-iccrg-bbr-congestion-control-00, Linux's
    /// tcp_bbr.c): the window from a model of the path's bandwidth and
    /// round trip; random loss does not shrink it. Needs SACK (without
    /// it the connection runs CUBIC).
    Bbr,
}

impl std::fmt::Display for CongestionControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CongestionControl::Cubic => "cubic",
            CongestionControl::NewReno => "newreno",
            CongestionControl::Bbr => "bbr",
        })
    }
}

/// Explicit Congestion Notification (RFC 3168) for new connections, as
/// Linux's `net.ipv4.tcp_ecn` and FreeBSD's `net.inet.tcp.ecn.enable`
/// (0, 1, 2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EcnMode {
    /// Neither ask nor answer.
    #[default]
    Off,
    /// Ask in our SYNs and answer a peer's ECN-setup SYN.
    On,
    /// Answer a peer's ECN-setup SYN, never ask (Linux's default, 2).
    AnswerOnly,
}

/// An IPv4 header and a TCP header without options (RFC 9293 §3.7.1).
const IPV4_TCP_HEADERS: u16 = 20 + 20;
/// What an IPv6 header takes beyond an IPv4 one (40 bytes against 20,
/// RFC 8200 §3): the MSS over IPv6 is the MTU - 60.
const IPV6_EXTRA_HEADER: u16 = 20;

/// Settings for a [`crate::engine::Stack`]. Make one with
/// [`StackConfig::new`] and change the public fields you care about.
#[derive(Clone, Debug)]
pub struct StackConfig {
    /// The one IPv4 address the stack answers for; packets to others are ignored.
    pub local_addr: Ipv4Addr,
    /// The IPv6 address the stack also answers for (RFC 8200), if any
    /// ([`StackConfig::with_ipv6`]); `None`: IPv6 packets are not for us.
    pub local_addr_v6: Option<Ipv6Addr>,
    /// Send buffer per connection to start with, in bytes (Linux
    /// `tcp_wmem[1]` is 16 KiB). It grows to keep about twice the
    /// congestion window queued, up to `send_buffer_max`.
    pub send_buffer: usize,
    /// Most the send buffer grows to (Linux `tcp_wmem[2]`, 4 MiB). Below
    /// `send_buffer` it changes nothing: the buffer stays that size.
    pub send_buffer_max: usize,
    /// Receive buffer per connection to start with, in bytes (Linux
    /// `tcp_rmem[1]`, 128 KiB). It grows while the application keeps up
    /// (dynamic right-sizing, `tcp/autotune.rs`), up to `recv_buffer_max`.
    pub recv_buffer: usize,
    /// Most the receive buffer grows to (Linux `tcp_rmem[2]`, 6 MiB). The
    /// Window Scale we offer (RFC 7323 §2.2) is computed from it, since
    /// the shift cannot change after the SYN. Below `recv_buffer` it
    /// turns auto-tuning off: the buffer stays `recv_buffer`.
    pub recv_buffer_max: usize,
    /// Bytes all connections together may hold: buffer storage (allocated
    /// as data arrives, given back when idle) and TCBs. Past it buffers
    /// stop growing and new connections are refused (`memory.rs`).
    pub memory_budget: usize,
    /// The MSS we announce (§3.7.1): MTU 1500 - 20 (IPv4) - 20 (TCP).
    /// [`StackConfig::with_mtu`] sets it from the device's MTU. Over IPv6
    /// it is 20 bytes less ([`StackConfig::mss_for`]).
    pub mss: u16,
    /// Most payload per segment we send when the device cuts segments to
    /// its MTU for us (TCP segmentation offload, `OffloadTunDevice`): a
    /// whole number of MSS up to this, handed over as one segment.
    /// `None` (the default): every segment carries at most one MSS, as
    /// RFC 9293 §3.7.1 has it. Only for a device that segments, and only
    /// used towards peers whose MSS is at least our own `mss` (the device
    /// cuts at its MTU, which `mss` matches).
    pub offload_segment: Option<usize>,
    /// Maximum Segment Lifetime; TIME-WAIT lasts 2 * MSL (§3.10.7.4).
    /// Default 30 s so TIME-WAIT lasts 60 s, as on Linux.
    pub msl: Duration,
    /// Lower bound of the retransmission timeout. RFC 6298 (2.4) says 1 s
    /// SHOULD; Linux and most stacks use 200 ms, which we follow.
    pub min_rto: Duration,
    /// Upper bound of the retransmission timeout; RFC 6298 (2.5) allows a
    /// maximum "provided it is at least 60 seconds".
    pub max_rto: Duration,
    /// A connection whose sent data (or SYN, or FIN) goes unacknowledged this
    /// long is given up with `TimedOut` (§3.8.3, threshold R2).
    pub give_up_after: Duration,
    /// R1 of RFC 9293 §3.8.3: after this many retransmissions of the same
    /// segment without an answer the application is told (a log line
    /// and `Readiness::STALLED`, SHLD-9); "at least 3" (SHLD-10). 0: never.
    pub r1_retransmissions: u32,
    /// An active open (SYN-SENT) that has not finished after this long is
    /// given up: R2 for a SYN, which "MUST be set large enough to provide
    /// retransmission of the segment for at least 3 minutes" (§3.8.3,
    /// MUST-23). Default 3 minutes.
    pub handshake_timeout: Duration,
    /// A passive open (SYN-RECEIVED: our SYN-ACK unanswered) is given up
    /// after this long, freeing its place in the SYN queue. Default 75 s,
    /// as BSD (Linux: about 63 s, tcp_synack_retries 5).
    pub syn_received_timeout: Duration,
    /// How long a connection the application has closed may wait in
    /// FIN-WAIT-2 for the peer's FIN before it is deleted. Nobody reads
    /// from it any more and the peer may never close, so without a limit
    /// it would live forever. 60 s, as Linux's `tcp_fin_timeout`; a
    /// half-closed connection the application still holds has no limit.
    pub orphan_fin_wait_2_timeout: Duration,
    /// How long an ACK may be held back hoping to piggyback it (RFC 1122
    /// §4.2.3.2: less than 0.5 s). `None` acknowledges every segment at once.
    pub delayed_ack: Option<Duration>,
    /// Offer and use selective acknowledgments (RFC 2018, loss recovery by
    /// RFC 6675) when the peer offers them too.
    pub sack: bool,
    /// Offer and use TCP Timestamps (RFC 7323 §3-5) when the peer offers
    /// them too: RTT measured from every ACK, retransmissions included
    /// (§4), and PAWS (§5). Each segment then carries 12 bytes of option.
    pub timestamps: bool,
    /// How the congestion window grows and shrinks (RFC 5681's slow start
    /// and fast recovery are common to both).
    pub congestion_control: CongestionControl,
    /// Explicit Congestion Notification (RFC 3168; RFC 9293 SHLD-8):
    /// ask for it in our SYNs and answer a peer's ECN-setup SYN (`On`), or
    /// only answer (`AnswerOnly`); an ECN connection sends data
    /// ECN-capable, echoes CE marks and reduces its window on ECE
    /// (`tcp/ecn.rs`). Off by default.
    pub ecn: EcnMode,
    /// Retransmissions of the SYN that still ask for ECN; later ones do
    /// not (RFC 3168 §6.1.1.1: a middlebox may drop ECN-setup SYNs).
    /// 1, FreeBSD's `net.inet.tcp.ecn.maxretries`.
    pub ecn_syn_retries: u32,
    /// Keep-alive for every new connection (RFC 1122 §4.2.3.6); each can
    /// change its own ([`Engine::set_keepalive`]). `None`, the default:
    /// "they MUST default to off" (RFC 9293 MUST-25).
    ///
    /// [`Engine::set_keepalive`]: super::Engine::set_keepalive
    pub keepalive: Option<KeepAlive>,
    /// The DiffServ field (RFC 2474 DSCP << 2) of new connections' packets;
    /// each connection can change its own ([`Engine::set_tos`]). The two
    /// ECN bits are TCP's (RFC 3168 §6.1.1, `ecn`) and ignored here.
    ///
    /// [`Engine::set_tos`]: super::Engine::set_tos
    pub tos: u8,
    /// Time to live of what the stack sends (RFC 9293 MUST-49; Linux's 64).
    pub ttl: u8,
    /// IPv4 reassembly (RFC 791, RFC 1122 §3.3.2): most datagrams and
    /// bytes held at once, and how long a datagram may take to complete.
    pub reassembly: ReassemblyLimits,
    /// Most connections (of any state) alive at once; more are refused.
    /// `memory_budget` usually binds first for busy connections.
    pub max_connections: usize,
    /// A connection that has heard nothing for this long gives its empty
    /// buffers' storage back (it keeps their capacity, so its window).
    /// `None`: storage is kept for the connection's life.
    pub idle_buffer_release: Option<Duration>,
    /// Most out-of-order byte ranges kept per connection; segments that would
    /// need more are dropped (the sender retransmits them). Auto-tuned
    /// windows hold thousands of segments, so at a few percent loss a
    /// window has dozens of holes: 256, allocated only as holes appear.
    pub max_ooo_ranges: usize,
    /// Most out-of-order bytes one connection holds (Linux bounds them by
    /// the receive buffer): past it the highest-sequence ones are pruned
    /// to make room for lower ones, or the segment is refused.
    pub max_ooo_bytes: usize,
    /// Most out-of-order bytes all connections hold together: past it
    /// the connection holding the most is pruned, highest sequence first
    /// (Linux's `tcp_prune_ofo_queue` under memory pressure; see
    /// `engine/out_of_order.rs`).
    pub max_ooo_bytes_total: usize,
    /// Most send-buffer storage all connections together may hold while
    /// their peers' windows are zero: past it the stack gives such
    /// connections up, orphans first, then the longest blocked (RFC 9293
    /// §3.8.6.1 leaves this to "resource management"; see
    /// `engine/zero_window.rs`).
    pub max_zero_window_bytes: usize,
    /// How long a connection the application has closed (an orphan) may
    /// wait on a zero window with data still to send, however well the
    /// peer answers the probes; then it is given up. Like Linux's
    /// `tcp_orphan_retries`, which bounds the probes of orphans only.
    pub orphan_zero_window_timeout: Duration,
    /// Challenge ACKs (RFC 5961) a connection may send per second.
    pub challenge_acks_per_sec: u32,
    /// Challenge ACKs all connections together may send per second (RFC
    /// 5961 §7, Linux's `tcp_challenge_ack_limit`), so a flood of ACKs
    /// or RSTs spread over many connections cannot make us a reflector.
    /// Each second's allowance is drawn between half and one and a half
    /// times this (as Linux did after CVE-2016-5696), so the count of
    /// ACKs we send tells an off-path attacker nothing exact.
    pub challenge_acks_per_sec_total: u32,
    /// Half-open connections (SYN-RECEIVED) each listener keeps: its SYN
    /// queue (Linux's `tcp_max_syn_backlog`). Listen's `backlog` limits
    /// the other queue, of established connections not yet accepted.
    pub syn_backlog: usize,
    /// Answer SYNs with SYN cookies (RFC 4987 §3.6) while a listener's
    /// SYN queue is full, as Linux's `tcp_syncookies = 1`; off, such
    /// SYNs are dropped.
    pub syn_cookies: bool,
    /// Connections in TIME-WAIT at once (Linux's `tw_max_buckets`); past
    /// it a connection that would enter TIME-WAIT sends its last ACK and
    /// closes at once, as Linux does. A quarter of `max_connections`, so
    /// FIN churn cannot take the table from live connections.
    pub max_time_wait: usize,
    /// Most packets (RSTs for unknown connections, cookie SYN-ACKs, ICMP
    /// echo replies) queued for sending outside any connection; more are
    /// dropped and counted. 256, what the driver reads in one turn, so
    /// that under a SYN flood every SYN of a turn gets its cookie (a real
    /// client's among them) instead of one in four.
    pub max_control_queue: usize,
    /// ICMP and ICMPv6 errors the stack may send per second, on average
    /// (RFC 4443 §2.4 (f): "an IPv6 node MUST limit the rate of ICMPv6
    /// error messages it originates"; RFC 1812 §4.3.2.8 for IPv4). A
    /// token bucket on the engine's clock, as Linux's
    /// `net.ipv4.icmp_msgs_per_sec` (1000); errors past it are counted
    /// in `IpStats::icmp_errors_rate_limited` and not sent.
    pub icmp_errors_per_sec: u32,
    /// The bucket's depth: errors sent back to back after a quiet time
    /// (Linux's `icmp_msgs_burst`, 50).
    pub icmp_errors_burst: u32,
    /// Secret key of the ISN generator (RFC 6528): random by default;
    /// tests pin it ([`StackConfig::with_fixed_secret`]).
    pub isn_secret: IsnSecret,
    /// If set, every connection uses this ISN instead of the RFC 6528
    /// generator. Only for tests (sequence numbers near 2^32, exact packets).
    pub fixed_isn: Option<u32>,
    /// Record every connection's state changes as [`TraceEvent`]s for
    /// [`Engine::take_trace`] (`--trace FILE`). Off by default: it costs
    /// a queue entry per change.
    ///
    /// [`TraceEvent`]: super::trace::TraceEvent
    /// [`Engine::take_trace`]: super::Engine::take_trace
    pub trace: bool,
}

impl StackConfig {
    /// Defaults, with a random ISN secret read from the OS: ISNs nobody
    /// outside can compute (MUST-9, RFC 6528). Tests and replays that need
    /// the same numbers every run opt into [`StackConfig::with_fixed_secret`].
    pub fn new(local_addr: Ipv4Addr) -> StackConfig {
        StackConfig {
            local_addr,
            local_addr_v6: None,
            send_buffer: 64 * 1024,
            send_buffer_max: 4 * 1024 * 1024,
            recv_buffer: 128 * 1024,
            recv_buffer_max: 6 * 1024 * 1024,
            memory_budget: 1024 * 1024 * 1024,
            mss: 1460,
            offload_segment: None,
            msl: Duration::from_secs(30),
            min_rto: Duration::from_millis(200),
            max_rto: Duration::from_secs(60),
            give_up_after: Duration::from_secs(100),
            r1_retransmissions: 3,
            handshake_timeout: Duration::from_secs(180),
            syn_received_timeout: Duration::from_secs(75),
            orphan_fin_wait_2_timeout: Duration::from_secs(60),
            delayed_ack: Some(Duration::from_millis(40)),
            sack: true,
            timestamps: true,
            congestion_control: CongestionControl::default(),
            ecn: EcnMode::Off,
            ecn_syn_retries: 1,
            keepalive: None,
            tos: 0,
            ttl: 64,
            reassembly: ReassemblyLimits::default(),
            max_connections: 65_536,
            idle_buffer_release: Some(Duration::from_secs(1)),
            max_ooo_ranges: 256,
            max_ooo_bytes: 6 * 1024 * 1024,
            max_ooo_bytes_total: 256 * 1024 * 1024,
            max_zero_window_bytes: 128 * 1024 * 1024,
            orphan_zero_window_timeout: Duration::from_secs(60),
            challenge_acks_per_sec: 10,
            challenge_acks_per_sec_total: 1000,
            syn_backlog: 256,
            syn_cookies: true,
            max_time_wait: 16_384,
            max_control_queue: 256,
            icmp_errors_per_sec: 1000,
            icmp_errors_burst: 50,
            isn_secret: IsnSecret::random(),
            fixed_isn: None,
            trace: false,
        }
    }

    /// The MSS for a device of this MTU (IPv4: MTU - 20 - 20, §3.7.1).
    pub fn with_mtu(mut self, mtu: u16) -> StackConfig {
        self.mss = mtu.saturating_sub(IPV4_TCP_HEADERS);
        self
    }

    /// The stack answers for `addr` too, over IPv6 (RFC 8200): listeners
    /// on the unspecified address (either family's) take its connections,
    /// and `connect` reaches IPv6 peers from it.
    pub fn with_ipv6(mut self, addr: Ipv6Addr) -> StackConfig {
        self.local_addr_v6 = Some(addr);
        self
    }

    /// The MSS to announce to a peer at `remote` (§3.7.1): the MTU less
    /// the IP and TCP headers, 40 bytes over IPv4 and 60 over IPv6.
    pub fn mss_for(&self, remote: IpAddr) -> u16 {
        match remote {
            IpAddr::V4(_) => self.mss,
            IpAddr::V6(_) => self.mss.saturating_sub(IPV6_EXTRA_HEADER),
        }
    }

    /// Whether `addr` is one of the stack's own addresses.
    pub fn is_own_address(&self, addr: IpAddr) -> bool {
        match addr {
            IpAddr::V4(v4) => v4 == self.local_addr,
            IpAddr::V6(v6) => Some(v6) == self.local_addr_v6,
        }
    }

    /// The stack's own address in `remote`'s family, to talk to it from.
    pub fn own_address_for(&self, remote: IpAddr) -> Option<IpAddr> {
        match remote {
            IpAddr::V4(_) => Some(self.local_addr.into()),
            IpAddr::V6(_) => self.local_addr_v6.map(IpAddr::V6),
        }
    }

    /// The largest the receive buffer may become.
    pub fn recv_buffer_limit(&self) -> usize {
        self.recv_buffer.max(self.recv_buffer_max)
    }

    /// The largest the send buffer may become.
    pub fn send_buffer_limit(&self) -> usize {
        self.send_buffer.max(self.send_buffer_max)
    }

    /// The fixed, all-zero ISN secret: the same ISNs (and timestamp
    /// offsets, cookies) every run, for tests and replays. Predictable to
    /// an attacker: never for a stack on a network (MUST-9).
    pub fn with_fixed_secret(mut self) -> StackConfig {
        self.isn_secret = IsnSecret::default();
        self
    }

    /// Replaces the ISN secret with 16 fresh random bytes from the OS (what
    /// [`StackConfig::new`] already does). This is the only I/O connected
    /// to the engine, and it happens here, at construction.
    pub fn with_random_secret(mut self) -> StackConfig {
        self.isn_secret = IsnSecret::random();
        self
    }
}
