//! The Transmission Control Block (RFC 9293 §3.3.1): everything one
//! connection remembers, and the calls the application makes on it.
//!
//! Send sequence space (§3.3.1, Figure 3):
//!
//! ```text
//!            1         2          3          4
//!       ----------|----------|----------|----------
//!              SND.UNA    SND.NXT    SND.UNA
//!                                   +SND.WND
//!  1 - old sequence numbers that have been acknowledged
//!  2 - sequence numbers of unacknowledged data
//!  3 - sequence numbers allowed for new data transmission
//!  4 - future sequence numbers that are not yet allowed
//! ```
//!
//! Receive sequence space (§3.3.1, Figure 4):
//!
//! ```text
//!                1          2          3
//!            ----------|----------|----------
//!                   RCV.NXT    RCV.NXT
//!                             +RCV.WND
//!  1 - old sequence numbers that have been acknowledged
//!  2 - sequence numbers allowed for new reception
//!  3 - future sequence numbers that are not yet allowed
//! ```
//!
//! The send buffer holds exactly the bytes from SND.UNA on (sent but not
//! acknowledged, then not yet sent); the receive buffer holds bytes the
//! application has not read yet, followed in its free space by out-of-order
//! bytes waiting for a hole to fill.
//!
//! Segment arrival is in `input.rs`, segment output in `output.rs`, timer
//! expiry in `timeouts.rs`; this file has the state, its one setter, and the
//! application calls.

use std::net::SocketAddr;
use std::time::Duration;

use log::debug;

use super::autotune::ReceiveAutotune;
use super::congestion::Congestion;
use super::ecn::EcnState;
use super::keepalive::KeepAliveState;
use super::rack::Rack;
use super::reassembly::Reassembly;
use super::recovery_stats::RecoveryStats;
use super::ring::RingBuffer;
use super::rtt::RttEstimator;
use super::sack::Scoreboard;
use super::sent::SentLog;
use super::state::State;
use super::timers::{TimerKind, Timers};
use super::timestamps::TimestampClock;
use crate::engine::api::ApiError;
use crate::engine::config::{CongestionControl, EcnMode, StackConfig};
use crate::engine::isn;
use crate::engine::memory::MemoryCharge;
use crate::engine::out_of_order::OutOfOrderCharge;
use crate::engine::shared::{ChallengeAckLimit, StackShared};
use crate::engine::zero_window::ZeroWindowCharge;
use crate::time::Instant;
use crate::wire::options::MAX_WINDOW_SHIFT;
use crate::wire::{IpSendFields, SackBlock, SeqNum, TcpFlags, TcpHeader, TcpSegment};

/// RFC 9293 §3.7.1 (MUST-15): without an MSS option, assume 536 for IPv4.
pub const DEFAULT_SEND_MSS: usize = 536;
/// The smallest send MSS we accept from a peer. An MSS of 0 (or 1) would
/// make us emit empty or one-byte segments forever; Linux floors it at 88
/// (TCP_MIN_MSS) and so do we. Peers that really need less are not viable
/// on IPv4 anyway: every IPv4 host accepts 576-byte datagrams (RFC 791).
pub const MIN_SEND_MSS: usize = 88;
/// The window field is 16 bits; with window scaling (RFC 7323 §2) it
/// counts units of 2^shift bytes.
pub const MAX_WINDOW_FIELD: usize = u16::MAX as usize;
/// The DSCP bits of the DiffServ field; the two ECN bits below them are
/// TCP's own (RFC 3168 §6.1.1), not the application's.
pub const DSCP_MASK: u8 = 0b1111_1100;
/// IPv4 and TCP headers without options: MSS = MTU - 40 (§3.7.1).
pub const IPV4_TCP_HEADERS: usize = 40;
/// IPv6 (RFC 8200 §3) and TCP headers without options: MSS = MTU - 60.
pub const IPV6_TCP_HEADERS: usize = 60;
/// §3.7.1 (MUST-15): without an MSS option, 1220 (1280 - 60) for IPv6.
pub const DEFAULT_SEND_MSS_V6: usize = 1220;

/// The IP and TCP headers (no options) of a connection to `remote`.
pub fn ip_tcp_headers(remote: SocketAddr) -> usize {
    if remote.is_ipv6() {
        IPV6_TCP_HEADERS
    } else {
        IPV4_TCP_HEADERS
    }
}

/// What one connection costs besides its buffers' storage: the TCB and
/// its entries in the stack's tables (4-tuple map, timer heap, queues).
/// Most state changes a TCB keeps for the trace between two takes.
const MAX_TRANSITIONS: usize = 16;

pub const CONNECTION_COST: usize = std::mem::size_of::<Tcb>() + 128;

/// Bound on the duplicate ACKs owed at once: a full 64 KiB window of
/// 1460-byte segments behind one hole is 45 of them.
pub(super) const MAX_DUP_ACKS_OWED: u8 = 64;

/// RFC 7323 §2.3: the smallest shift that lets the whole receive buffer be
/// advertised, at most 14. Computed from the largest the buffer may grow
/// to: the shift is fixed by the SYN, the buffer grows later.
pub fn window_shift_for(buffer: usize) -> u8 {
    let mut shift = 0;
    while shift < MAX_WINDOW_SHIFT && buffer >> shift > MAX_WINDOW_FIELD {
        shift += 1;
    }
    shift
}

/// Per-connection copy of the settings the TCB needs.
#[derive(Clone, Copy, Debug)]
pub struct TcbConfig {
    pub our_mss: u16,
    pub offload_segment: Option<usize>,
    pub msl: Duration,
    pub min_rto: Duration,
    pub max_rto: Duration,
    pub give_up_after: Duration,
    pub handshake_timeout: Duration,
    pub syn_received_timeout: Duration,
    pub orphan_fin_wait_2_timeout: Duration,
    pub delayed_ack: Option<Duration>,
    pub challenge_acks_per_sec: u32,
    pub sack: bool,
    pub timestamps: bool,
    pub congestion_control: CongestionControl,
    pub ecn: EcnMode,
    pub ecn_syn_retries: u32,
    pub r1_retransmissions: u32,
    pub recv_buffer_max: usize,
    pub send_buffer_max: usize,
    pub idle_buffer_release: Option<Duration>,
    pub trace: bool,
    pub max_ooo_bytes: usize,
    pub orphan_zero_window_timeout: Duration,
}

impl TcbConfig {
    pub fn from_stack(config: &StackConfig) -> TcbConfig {
        TcbConfig {
            our_mss: config.mss,
            offload_segment: config.offload_segment,
            msl: config.msl,
            min_rto: config.min_rto,
            max_rto: config.max_rto,
            give_up_after: config.give_up_after,
            handshake_timeout: config.handshake_timeout,
            syn_received_timeout: config.syn_received_timeout,
            orphan_fin_wait_2_timeout: config.orphan_fin_wait_2_timeout,
            delayed_ack: config.delayed_ack,
            challenge_acks_per_sec: config.challenge_acks_per_sec,
            sack: config.sack,
            timestamps: config.timestamps,
            congestion_control: config.congestion_control,
            ecn: config.ecn,
            ecn_syn_retries: config.ecn_syn_retries,
            r1_retransmissions: config.r1_retransmissions,
            recv_buffer_max: config.recv_buffer_limit(),
            send_buffer_max: config.send_buffer_limit(),
            idle_buffer_release: config.idle_buffer_release,
            trace: config.trace,
            max_ooo_bytes: config.max_ooo_bytes,
            orphan_zero_window_timeout: config.orphan_zero_window_timeout,
        }
    }
}

/// One connection.
pub struct Tcb {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub(super) state: State,
    pub(super) cfg: TcbConfig,
    /// Came from a listener (passive open): a RST in SYN-RECEIVED just
    /// removes it, nobody is told (§3.10.7.4).
    pub(super) passive: bool,

    // Send sequence variables (§3.3.1).
    pub(super) iss: SeqNum,
    pub(super) snd_una: SeqNum,
    pub(super) snd_nxt: SeqNum,
    /// Highest sequence number sent so far, plus one. SND.NXT goes back to
    /// SND.UNA when the retransmission timer fires (we resend everything from
    /// there), but ACKs up to this point remain acceptable.
    pub(super) snd_max: SeqNum,
    pub(super) snd_wnd: usize,
    pub(super) snd_wl1: SeqNum,
    pub(super) snd_wl2: SeqNum,
    /// MAX.SND.WND of RFC 5961 §5 and §3.8.6.2.1 (largest window seen).
    pub(super) max_snd_wnd: usize,
    /// Effective send MSS (§3.7.1, MUST-16).
    pub(super) send_mss: usize,
    /// Sequence number our FIN occupies, once it has been sent.
    pub(super) fin_seq: Option<SeqNum>,

    // Receive sequence variables (§3.3.1).
    pub(super) irs: SeqNum,
    pub(super) rcv_nxt: SeqNum,
    /// Right edge of the window we last advertised (RCV.NXT + RCV.WND then).
    /// It never moves left: "The total of RCV.NXT and RCV.WND should not be
    /// reduced" (§3.10.7.4, seventh step).
    pub(super) rcv_adv: SeqNum,

    pub(super) send_buf: RingBuffer,
    pub(super) recv_buf: RingBuffer,
    /// Receive-buffer auto-tuning's measurements (`autotune.rs`).
    pub(super) autotune: ReceiveAutotune,
    pub(super) reassembly: Reassembly,
    /// The application asked for FIN (shutdown_write or close).
    pub(super) fin_requested: bool,
    /// The peer's FIN has been received in order.
    pub(super) fin_received: bool,
    /// Where the peer's FIN is, once one arrived with all the text before
    /// it held: processed when RCV.NXT reaches it (`process_fin`).
    pub(super) peer_fin_at: Option<SeqNum>,
    /// The application closed the connection and released its handle:
    /// nobody will read any more (see `release`).
    pub(super) orphaned: bool,

    pub(super) timers: Timers,
    pub(super) rtt: RttEstimator,
    /// One segment being timed for RTT: (its sequence number, when sent).
    pub(super) rtt_probe: Option<(SeqNum, Instant)>,
    pub(super) cc: Congestion,
    /// Both ends sent SACK-permitted (RFC 2018 §2): we send SACK blocks
    /// and recover from losses with the scoreboard (RFC 6675).
    pub(super) sack_ok: bool,
    /// What the peer has SACKed (sender side).
    pub(super) scoreboard: Scoreboard,
    /// RFC 6675 HighRxt: the end of the highest retransmission in this recovery.
    pub(super) high_rxt: SeqNum,
    /// RFC 6675 NextSeg rule 4: the rescue retransmission of this
    /// recovery went out (RescueRxt).
    pub(super) rescue_sent: bool,
    /// The segments between SND.UNA and SND.MAX, for RACK (with SACK only).
    pub(super) sent: SentLog,
    /// RACK-TLP's state (RFC 8985 §5.2).
    pub(super) rack: Rack,
    /// The loss probe timer fired: send a probe (RFC 8985 §7.3).
    pub(super) tail_probe_now: bool,
    /// The shift we offer in our SYN (RFC 7323 §2.2), from the buffer size.
    pub(super) offered_shift: u8,
    /// Both SYNs carried Window Scale: the shifts below apply.
    pub(super) window_scaling: bool,
    /// Rcv.Wind.Shift: our windows are sent as `window >> rcv_shift`
    /// (0 unless both SYNs carried Window Scale).
    pub(super) rcv_shift: u8,
    /// Snd.Wind.Shift: the peer's windows arrive as `window >> snd_shift`.
    pub(super) snd_shift: u8,
    /// TCP Timestamps (RFC 7323): TSval clock, TS.Recent, PAWS.
    pub(super) ts: TimestampClock,
    /// The `now` of the call in progress (segment in, poll, timeout), for
    /// the TSval of what it sends.
    pub(super) clock: Instant,
    /// A duplicate segment arrived: the next ACK reports it first in its
    /// SACK option (D-SACK, RFC 2883 §4).
    pub(super) dsack: Option<SackBlock>,

    /// An ACK must go out at the next poll.
    pub(super) ack_now: bool,
    /// In-order data segments received since we last sent an ACK.
    pub(super) segments_unacked: u32,
    /// Duplicate ACKs still owed for out-of-order segments: each is owed
    /// one of its own (RFC 5681 §4.2), even when a whole batch of them is
    /// handled before the next poll. At most [`MAX_DUP_ACKS_OWED`].
    pub(super) dup_acks_owed: u8,
    /// Fast retransmit or partial ACK asked to resend the segment at SND.UNA.
    pub(super) retransmit_first: bool,
    /// The persist timer fired: send one byte into the zero window.
    pub(super) probe_now: bool,
    /// A zero-window probe byte (at SND.NXT) is out: an ACK for it is valid.
    pub(super) probe_sent: bool,
    pub(super) persist_backoff: u32,
    pub(super) challenge_window_start: Instant,
    pub(super) challenge_count: u32,
    /// The stack-wide allowance each challenge ACK also draws on (RFC
    /// 5961 §7, `engine/shared.rs`).
    pub(super) challenge_acks: ChallengeAckLimit,

    pub(super) opened_at: Instant,
    /// Last time an acceptable segment arrived (zero-window give-up).
    pub(super) last_heard: Instant,
    /// First retransmission timeout since SND.UNA last moved (give-up).
    pub(super) stalled_since: Option<Instant>,
    /// Retransmission timeouts in a row without an ACK (R1, `r1.rs`).
    pub(super) r1_timeouts: u32,

    /// The retransmission timer expired awaiting the ACK of our SYN or
    /// SYN-ACK (RFC 6298 (5.7)).
    pub(super) handshake_timed_out: bool,

    /// Why the connection ended, as the application will be told.
    pub(super) error: Option<ApiError>,
    /// The last soft error (an ICMP error that does not end the
    /// connection, RFC 9293 §3.9.2.2), until the application takes it.
    pub(super) soft_error: Option<ApiError>,
    /// Path MTU (RFC 1191): our own MTU at first, lowered by ICMP
    /// "fragmentation needed" (`icmp.rs`).
    pub(super) path_mtu: usize,
    /// IP and TCP headers without options: 40 over IPv4, 60 over IPv6
    /// (what the path MTU holds besides the MSS).
    pub(super) ip_tcp_headers: usize,
    /// DiffServ byte and DF bit of the IPv4 headers we send.
    pub(super) ip_fields: IpSendFields,
    /// RCV.UP: the peer's urgent pointer while urgent data is unread
    /// (`urgent.rs`), and whether it advanced since the stack last looked.
    pub(super) rcv_up: Option<SeqNum>,
    pub(super) urgent_advanced: bool,
    /// SND.UP: our urgent pointer, until the peer acknowledges it.
    pub(super) snd_up: Option<SeqNum>,
    /// Keep-alive setting and probes (`keepalive.rs`).
    pub(super) keepalive: KeepAliveState,
    /// ECN negotiation, echo and response (`ecn.rs`).
    pub(super) ecn: EcnState,
    pub(super) nodelay: bool,
    /// Segments sent again; the stack adds them to its statistics.
    pub(super) retransmissions: u64,
    /// How loss was recovered from; the stack sums them too.
    pub(super) recovery_stats: RecoveryStats,
    /// State changes (from, to) since the stack last took them, kept only
    /// with `cfg.trace` (see `engine/trace.rs`).
    pub(super) transitions: Vec<(State, State)>,
    /// When the current loss recovery began (for `time_in_recovery`).
    pub(super) recovery_since: Option<Instant>,
    /// Segments dropped by the checks of §3.10.7 (for the statistics too).
    pub(super) segments_dropped: u64,
    /// Its out-of-order bytes, counted in the stack-wide total.
    pub(super) ooo_charge: OutOfOrderCharge,
    /// Since when the peer's window has been zero with our data waiting,
    /// and the send storage that holds (`zero_window.rs`).
    pub(super) zero_window_since: Option<Instant>,
    pub(super) zero_window_charge: ZeroWindowCharge,
    /// This TCB's own size, charged to the stack's memory budget for as
    /// long as it lives (given back on drop).
    _footprint: MemoryCharge,
}

impl Tcb {
    fn new(
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        iss: SeqNum,
        config: &StackConfig,
        shared: &StackShared,
    ) -> Tcb {
        let stack_cfg = TcbConfig::from_stack(config);
        let cfg = TcbConfig {
            our_mss: config.mss_for(remote.ip()),
            // The offloading device cuts TCP over either family
            // (GSO_TCPV4, GSO_TCPV6: device/vnet.rs).
            offload_segment: stack_cfg.offload_segment,
            ..stack_cfg
        };
        let ip_tcp_headers = ip_tcp_headers(remote);
        let budget = &shared.budget;
        Tcb {
            local,
            remote,
            state: State::Closed,
            cfg,
            passive: false,
            iss,
            snd_una: iss,
            snd_nxt: iss,
            snd_max: iss,
            snd_wnd: 0,
            snd_wl1: SeqNum(0),
            snd_wl2: iss,
            max_snd_wnd: 0,
            send_mss: DEFAULT_SEND_MSS.min(usize::from(cfg.our_mss)),
            fin_seq: None,
            irs: SeqNum(0),
            rcv_nxt: SeqNum(0),
            rcv_adv: SeqNum(0),
            send_buf: RingBuffer::with_budget(config.send_buffer, budget.clone()),
            recv_buf: RingBuffer::with_budget(config.recv_buffer, budget.clone()),
            autotune: ReceiveAutotune::new(config.recv_buffer, usize::from(cfg.our_mss)),
            reassembly: Reassembly::new(config.max_ooo_ranges),
            fin_requested: false,
            fin_received: false,
            peer_fin_at: None,
            orphaned: false,
            timers: Timers::default(),
            rtt: RttEstimator::new(cfg.min_rto, cfg.max_rto),
            rtt_probe: None,
            cc: Congestion::new(DEFAULT_SEND_MSS, cfg.congestion_control),
            sack_ok: false,
            scoreboard: Scoreboard::default(),
            high_rxt: iss,
            rescue_sent: false,
            sent: SentLog::for_send_buffer(config.send_buffer_limit(), MIN_SEND_MSS),
            rack: Rack::default(),
            tail_probe_now: false,
            offered_shift: window_shift_for(config.recv_buffer_limit()),
            window_scaling: false,
            rcv_shift: 0,
            snd_shift: 0,
            ts: TimestampClock::new(
                now,
                isn::timestamp_offset(&config.isn_secret, local, remote),
            ),
            clock: now,
            dsack: None,
            ack_now: false,
            segments_unacked: 0,
            dup_acks_owed: 0,
            retransmit_first: false,
            probe_now: false,
            probe_sent: false,
            persist_backoff: 0,
            challenge_window_start: now,
            challenge_count: 0,
            challenge_acks: shared.challenge_acks.clone(),
            opened_at: now,
            last_heard: now,
            stalled_since: None,
            r1_timeouts: 0,
            handshake_timed_out: false,
            error: None,
            soft_error: None,
            path_mtu: usize::from(cfg.our_mss) + ip_tcp_headers,
            ip_tcp_headers,
            ip_fields: IpSendFields {
                tos: config.tos & DSCP_MASK,
                ttl: config.ttl,
                ..IpSendFields::default()
            },
            keepalive: KeepAliveState::new(config.keepalive, now),
            ecn: EcnState::default(),
            rcv_up: None,
            urgent_advanced: false,
            snd_up: None,
            nodelay: false,
            retransmissions: 0,
            recovery_stats: RecoveryStats::default(),
            transitions: Vec::new(),
            recovery_since: None,
            segments_dropped: 0,
            ooo_charge: OutOfOrderCharge::new(&shared.out_of_order),
            zero_window_since: None,
            zero_window_charge: ZeroWindowCharge::new(&shared.zero_window),
            _footprint: MemoryCharge::new(budget, CONNECTION_COST),
        }
    }

    /// (cwnd, ssthresh), for tests.
    #[cfg(test)]
    pub(crate) fn congestion_window(&self) -> (usize, usize) {
        (self.cc.cwnd, self.cc.ssthresh)
    }

    /// Active open (§3.10.1): a TCB in SYN-SENT; the SYN goes out at the next poll.
    pub fn connect(
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        iss: SeqNum,
        config: &StackConfig,
        shared: &StackShared,
    ) -> Tcb {
        let mut tcb = Tcb::new(now, local, remote, iss, config, shared);
        tcb.set_state(State::SynSent);
        tcb
    }

    /// Passive open, third step of §3.10.7.2: a SYN reached a listener.
    /// The TCB starts in SYN-RECEIVED; the SYN-ACK goes out at the next poll.
    pub fn accept_syn(
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        iss: SeqNum,
        syn: &TcpSegment,
        config: &StackConfig,
        shared: &StackShared,
    ) -> Tcb {
        let mut tcb = Tcb::new(now, local, remote, iss, config, shared);
        tcb.passive = true;
        // This TCB stands for the listener's, which was in LISTEN when the
        // SYN came (§3.10.7.2 "LISTEN STATE"), so the change is logged as
        // the state diagram draws it: LISTEN => SYN-RECEIVED.
        tcb.state = State::Listen;
        tcb.set_state(State::SynReceived);
        tcb.synchronize_receive(now, &syn.header);
        tcb.queue_syn_text(syn.payload);
        tcb
    }

    /// The SYN-ACK went out before this TCB existed, from the listener,
    /// with our ISS as a SYN cookie (RFC 4987 §3.6): the TCB is where
    /// sending it would have left it, ready for the ACK that brought the
    /// cookie back (made with [`Tcb::accept_syn`] from the SYN it stands for).
    pub fn syn_ack_sent_as_cookie(&mut self) {
        self.snd_nxt = self.iss + 1;
        self.snd_max = self.snd_nxt;
        self.ts.on_ack_sent(self.rcv_nxt);
    }

    /// Text on a SYN: "queued for processing after the ESTABLISHED state
    /// has been reached" (§3.10.7.2). It waits in the receive buffer, held
    /// like out-of-order data at RCV.NXT, and is neither acknowledged nor
    /// readable until the handshake completes (`on_established`); what
    /// does not fit is dropped and will be sent again by the peer.
    pub(super) fn queue_syn_text(&mut self, payload: &[u8]) {
        let queued = self.recv_buf.write_unallocated(0, payload);
        if queued > 0 && self.reassembly.insert(0..queued).is_err() {
            self.segments_dropped += 1;
        }
        self.sync_out_of_order_charge();
    }

    /// "Set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ" (§3.10.7.2 and
    /// §3.10.7.3), the peer's window and MSS (§3.7.1) from its SYN.
    pub(super) fn synchronize_receive(&mut self, now: Instant, syn: &TcpHeader) {
        self.irs = syn.seq;
        self.rcv_nxt = syn.seq + 1;
        // RFC 7323 §2.2: "The window field in a segment where the SYN bit
        // is set MUST NOT be scaled", ours (SYN-ACK) nor theirs.
        self.rcv_adv = self.rcv_nxt + self.recv_buf.free().min(MAX_WINDOW_FIELD);
        self.snd_wnd = usize::from(syn.window);
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = syn.seq;
        // RFC 7323 §3.2: timestamps only if both SYNs carry them (ours
        // does when configured; a SYN-ACK only if the SYN did).
        self.ts
            .on_syn(now, syn.options.timestamps, self.cfg.timestamps);
        self.apply_peer_mss(syn.options.mss);
        // RFC 2018 §2: SACK only if both SYNs carried SACK-permitted (ours
        // does when configured; a SYN-ACK carries it only if the SYN did).
        self.sack_ok = self.cfg.sack && syn.options.sack_permitted;
        self.cc.set_sack(self.sack_ok);
        // RFC 7323 §2.2: scaling is on only if both SYNs carry Window Scale
        // (ours always does; our SYN-ACK only answers one).
        if let Some(shift) = syn.options.window_scale {
            self.window_scaling = true;
            self.snd_shift = shift.min(MAX_WINDOW_SHIFT);
            self.rcv_shift = self.offered_shift;
        }
        self.negotiate_ecn(syn);
    }

    /// The peer's window in bytes: scaled, except on a SYN (RFC 7323 §2.2).
    pub(super) fn peer_window(&self, header: &TcpHeader) -> usize {
        let shift = if header.flags.syn { 0 } else { self.snd_shift };
        usize::from(header.window) << shift
    }

    /// §3.7.1: effective send MSS = min(peer's MSS, what our MTU allows)
    /// (MUST-16), 536 (IPv6: 1220) if no option came (MUST-15), never below
    /// [`MIN_SEND_MSS`] so a bogus MSS cannot stall the connection.
    /// Options displace data (§3.7.1, RFC 6691): every segment's payload
    /// is the MSS less its options (`max_payload`), and with timestamps on
    /// every segment carries 12 bytes of them, so a full segment, as
    /// congestion control counts it, is 12 bytes smaller.
    fn apply_peer_mss(&mut self, mss: Option<u16>) {
        let default = if self.remote.is_ipv6() {
            DEFAULT_SEND_MSS_V6
        } else {
            DEFAULT_SEND_MSS
        };
        let announced = mss.map_or(default, usize::from);
        self.send_mss = announced
            .min(usize::from(self.cfg.our_mss))
            .min(self.path_mtu - self.ip_tcp_headers)
            .max(MIN_SEND_MSS);
        let per_segment_options = if self.ts.enabled { 12 } else { 0 };
        self.cc.set_smss(self.send_mss - per_segment_options);
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn is_passive(&self) -> bool {
        self.passive
    }

    /// The one place a connection changes state (§3.3.2); logged with the
    /// 4-tuple so a trace reads like the RFC's state diagram.
    pub(super) fn set_state(&mut self, next: State) {
        if self.state == next {
            return;
        }
        debug!(
            "{} -> {}: {} => {}",
            self.local, self.remote, self.state, next
        );
        // One segment or call changes the state a few times at most; the
        // bound only guards against a stack that never takes them.
        if self.cfg.trace && self.transitions.len() < MAX_TRANSITIONS {
            self.transitions.push((self.state, next));
        }
        self.state = next;
        if next == State::Closed {
            self.timers.stop_all();
        }
    }

    /// The state changes since the last call, oldest first (tracing only).
    pub fn take_transitions(&mut self) -> std::vec::Drain<'_, (State, State)> {
        self.transitions.drain(..)
    }

    /// Enters TIME-WAIT (or restarts its timer): "start the time-wait
    /// timer, turn off the other timers" (§3.10.7.4, eighth step).
    pub(super) fn enter_time_wait(&mut self, now: Instant) {
        self.set_state(State::TimeWait);
        self.timers.stop_all();
        self.timers
            .start(TimerKind::TimeWait, now + self.cfg.msl * 2);
    }

    /// For a SYN arriving in TIME-WAIT: the ISS a new incarnation would use,
    /// if the SYN may reopen the connection. It must be a plain SYN past
    /// RCV.NXT (so not an old duplicate of this incarnation's segments),
    /// and the new ISS lies beyond any sequence number we used, by a
    /// window's worth as Linux chooses (SND.NXT + 65535 + 2), so no old
    /// segment of ours can be taken for a new one (RFC 9293 §3.6 (1)).
    pub fn reopen_iss(&self, seg: &TcpSegment) -> Option<SeqNum> {
        let h = &seg.header;
        let fresh_syn = h.flags.syn && !h.flags.rst && h.ack.is_none();
        (self.state == State::TimeWait && fresh_syn && h.seq > self.rcv_nxt)
            .then(|| self.snd_max + (MAX_WINDOW_FIELD + 2))
    }

    /// TIME-WAIT ends early because a new incarnation takes over.
    pub fn end_time_wait(&mut self) {
        if self.state == State::TimeWait {
            self.set_state(State::Closed);
        }
    }

    /// The connection ends with `error` for the application: buffers are
    /// flushed and every later call reports it (§3.10.7.4 "any outstanding
    /// RECEIVEs and SEND should receive reset responses").
    pub(super) fn fail(&mut self, error: ApiError) {
        // RFC 1122 §4.2.3.9 (SHLD-25): a connection that times out after
        // soft ICMP errors reports the last of them, which says why
        // (Linux's tcp_write_err does the same).
        let error = match (error, self.soft_error) {
            (ApiError::TimedOut, Some(soft)) => soft,
            _ => error,
        };
        self.error = Some(error);
        self.send_buf.discard(self.send_buf.len());
        self.recv_buf.discard(self.recv_buf.len());
        self.recv_buf.forget_unallocated();
        self.set_state(State::Closed);
    }

    /// When the stack should call [`Tcb::handle_timeout`] next.
    pub fn poll_at(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Retransmissions since the last call (for the stack's counters).
    pub fn take_retransmissions(&mut self) -> u64 {
        std::mem::take(&mut self.retransmissions)
    }

    /// Loss-recovery counters since the last call (for the stack's sums).
    pub fn take_recovery_stats(&mut self) -> RecoveryStats {
        std::mem::take(&mut self.recovery_stats)
    }

    /// Segments dropped since the last call (for the stack's counters).
    pub fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.segments_dropped)
    }

    /// True when the TCB has something to send at the next poll (a cheap
    /// over-approximation: the poll itself decides what exactly).
    pub fn wants_to_send(&self) -> bool {
        match self.state {
            State::Closed | State::Listen => false,
            State::SynSent | State::SynReceived => self.snd_nxt == self.iss || self.ack_now,
            _ => {
                self.ack_now
                    || self.retransmit_first
                    || self.tail_probe_now
                    || self.probe_now
                    || self.keepalive.probe_now
                    || self.in_sack_recovery()
                    || self.snd_nxt.since(self.snd_una) < self.send_buf.len()
                    || (self.fin_requested && self.fin_seq.is_none_or(|fin| self.snd_nxt <= fin))
            }
        }
    }

    // ----- application calls -----

    pub fn connect_status(&self) -> Result<(), ApiError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        match self.state {
            State::SynSent | State::SynReceived => Err(ApiError::WouldBlock),
            State::Closed | State::Listen => Err(ApiError::NotConnected),
            _ => Ok(()),
        }
    }

    /// SEND (§3.10.2): queues as much of `data` as fits.
    pub fn send(&mut self, data: &[u8]) -> Result<usize, ApiError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        match self.state {
            State::SynSent | State::SynReceived => return Err(ApiError::WouldBlock),
            State::Established | State::CloseWait if !self.fin_requested => {}
            // "error: connection closing" once our FIN is queued.
            _ => return Err(ApiError::BrokenPipe),
        }
        if data.is_empty() {
            return Ok(0);
        }
        self.autotune_send();
        match self.send_buf.enqueue(data) {
            0 => Err(ApiError::WouldBlock),
            n => Ok(n),
        }
    }

    /// RECEIVE (§3.10.3): takes bytes in order; `Ok(0)` after the peer's FIN.
    pub fn recv(&mut self, buf: &mut [u8]) -> Result<usize, ApiError> {
        if !self.recv_buf.is_empty() {
            let limit = self.read_limit(buf.len());
            let n = self.recv_buf.dequeue(&mut buf[..limit]);
            self.autotune.on_read(n);
            self.on_application_read();
            return Ok(n);
        }
        self.nothing_to_read()
    }

    /// RECEIVE without taking (recv(2)'s MSG_PEEK): the bytes stay queued,
    /// so the window does not open.
    pub fn peek(&self, buf: &mut [u8]) -> Result<usize, ApiError> {
        if !self.recv_buf.is_empty() {
            return Ok(self.recv_buf.read_at(0, buf));
        }
        self.nothing_to_read()
    }

    /// What RECEIVE gives with no bytes queued: the error, the end of the
    /// stream, or "not yet".
    fn nothing_to_read(&self) -> Result<usize, ApiError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        if self.fin_received {
            return Ok(0);
        }
        match self.state {
            State::Closed | State::Listen => Err(ApiError::NotConnected),
            _ => Err(ApiError::WouldBlock),
        }
    }

    /// Reading made room: if the window can now open by a worthwhile amount
    /// (receiver-side SWS avoidance, §3.8.6.2.2), tell the peer right away
    /// rather than waiting for its next segment or probe.
    fn on_application_read(&mut self) {
        if self.state.can_receive_data() && self.window_increase_worth_sending() {
            self.ack_now = true;
        }
    }

    /// CLOSE for the sending direction (§3.10.4): FIN after queued data.
    pub fn shutdown_write(&mut self) -> Result<(), ApiError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let fin_already_requested = std::mem::replace(&mut self.fin_requested, true);
        match self.state {
            // SYN-SENT/SYN-RECEIVED: "queue for processing after entering
            // ESTABLISHED"; the flag does it (see `on_established`).
            State::SynSent | State::SynReceived => {}
            State::Established => self.set_state(State::FinWait1),
            State::CloseWait => self.set_state(State::LastAck),
            // Our FIN went and the close finished cleanly (a reset would
            // have set `error`): closing twice is fine here too.
            State::Closed if fin_already_requested => {}
            State::Closed | State::Listen => return Err(ApiError::NotConnected),
            // FIN already queued: closing twice is fine.
            _ => {}
        }
        Ok(())
    }

    /// Called on every way into ESTABLISHED: a FIN the application asked for
    /// during the handshake goes out now.
    pub(super) fn on_established(&mut self) {
        self.set_state(State::Established);
        if self.handshake_timed_out {
            // RFC 6298 (5.7): "If the timer expires awaiting the ACK of a
            // SYN segment and the TCP implementation is using an RTO less
            // than 3 seconds, the RTO MUST be re-initialized to 3 seconds
            // when data transmission begins". Only without an RTT sample:
            // the handshake gave none (Karn), and a real measurement would
            // be better than any default (Linux, `tcp_init_metrics`, does
            // the same).
            self.rtt.fall_back_after_handshake_timeout();
        }
        // Text that came on the SYN (see `queue_syn_text`) is in order now.
        let queued = self.reassembly.pop_front();
        self.sync_out_of_order_charge();
        if queued > 0 {
            self.recv_buf.commit(queued);
            self.rcv_nxt += queued;
            self.ack_now = true;
        }
        if self.fin_requested {
            self.set_state(State::FinWait1);
        }
    }

    /// CLOSE (§3.10.4) released the handle at `now`: the FIN is queued (see
    /// `shutdown_write`) and nobody will read again. From now on new data
    /// from the peer is answered with a RST (`input.rs`), and FIN-WAIT-2
    /// lasts at most `orphan_fin_wait_2_timeout`.
    pub fn release(&mut self, now: Instant) {
        self.orphaned = true;
        self.start_orphan_timeout(now);
    }

    /// An orphan in FIN-WAIT-2 (just entered, or just orphaned) waits for
    /// the peer's FIN only so long. RFC 9293 sets no limit; Linux's
    /// `tcp_fin_timeout` does ("an orphaned connection in FIN_WAIT_2 state
    /// could otherwise wait forever for the remote to close its end").
    pub(super) fn start_orphan_timeout(&mut self, now: Instant) {
        if self.orphaned && self.state == State::FinWait2 {
            self.timers.start(
                TimerKind::OrphanFinWait2,
                now + self.cfg.orphan_fin_wait_2_timeout,
            );
        }
    }

    /// Whether closing the handle must reset instead of FIN: data the
    /// application never read would be lost silently otherwise (RFC 2525
    /// §2.17, what Linux does; RFC 9293 §3.10.4 leaves the choice open).
    pub fn close_should_reset(&self) -> bool {
        !self.recv_buf.is_empty() && self.error.is_none()
    }

    /// ABORT (§3.10.5): the RST to send, if the state calls for one, and
    /// the TCB becomes CLOSED. SYN-SENT and the closing states send nothing.
    pub fn abort(&mut self) -> Option<TcpHeader> {
        let rst = match self.state {
            State::SynReceived
            | State::Established
            | State::FinWait1
            | State::FinWait2
            | State::CloseWait => {
                // SEQ = the highest we sent, so it matches the peer's RCV.NXT
                // in the usual case and passes its RFC 5961 exact-match check.
                Some(TcpHeader {
                    src_port: self.local.port(),
                    dst_port: self.remote.port(),
                    seq: self.snd_max,
                    ack: Some(self.rcv_nxt),
                    flags: TcpFlags {
                        rst: true,
                        ..TcpFlags::default()
                    },
                    ..TcpHeader::default()
                })
            }
            _ => None,
        };
        self.fail(ApiError::ConnectionReset);
        rst
    }

    pub fn set_nodelay(&mut self, nodelay: bool) {
        self.nodelay = nodelay;
    }

    pub fn error(&self) -> Option<ApiError> {
        self.error
    }
}
