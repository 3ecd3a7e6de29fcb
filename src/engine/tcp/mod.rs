//! One TCP connection, RFC 9293, as a plain data structure driven by the
//! stack: segments in ([`Tcb::handle_segment`]), segments out
//! ([`Tcb::poll_segment`]), timers ([`Tcb::handle_timeout`]) and the
//! application's calls.
//!
//! # Files
//!
//! - `state.rs`: the eleven states of §3.3.2.
//! - `tcb.rs`: the Transmission Control Block, its one state setter, and
//!   the application calls (§3.10.1 to §3.10.6).
//! - `input.rs`: SEGMENT ARRIVES (§3.10.7), one function per step.
//! - `output.rs`: what to send next (data, FIN, probes, ACKs).
//! - `timeouts.rs`: retransmission, persist, delayed ACK, TIME-WAIT (§3.10.8).
//! - `reply.rs`: RSTs in reply to segments (§3.10.7.1).
//! - `ip_fields.rs`: DiffServ, DF and TTL of what the connection sends.
//! - `urgent.rs`: urgent data, inline with its mark (§3.8.5).
//! - `ecn.rs`: Explicit Congestion Notification (RFC 3168 §6.1).
//! - `keepalive.rs`: keep-alive probes (§3.8.4, RFC 1122 §4.2.3.6).
//! - `icmp.rs`: ICMP errors (§3.9.2.2, RFC 5461, RFC 5927) and path MTU
//!   discovery (RFC 1191).
//! - `r1.rs`: the R1 notice of §3.8.3 (SHLD-9).
//! - `loss.rs`: loss detection with SACK, RACK-TLP (RFC 8985): which
//!   segments are lost (by time), tail loss probes, the RTO's marks.
//! - `recovery.rs`: SACK-based loss recovery (RFC 6675): pipe and what to
//!   resend next (NextSeg).
//! - `rack.rs`, `sent.rs`: RACK's state and the log of sent segments.
//! - `autotune.rs`: buffers sized to the path: receive-buffer dynamic
//!   right-sizing, a send buffer that follows cwnd.
//! - `footprint.rs`: memory that follows use: quiet connections give
//!   their buffers' storage back.
//! - `recovery_stats.rs`: counters of RTOs, fast recoveries, probes.
//! - `readiness.rs`: what the application could do now, for events.
//! - `timestamps.rs`: TCP Timestamps (RFC 7323): TSval clock, TS.Recent,
//!   PAWS, RTT from echoed timestamps.
//! - `congestion.rs`: the congestion window (RFC 5681, 6582), with
//!   `cubic.rs` (RFC 9438, the default) or NewReno for its growth and
//!   reduction, `prr.rs` (RFC 6937) for how much goes out in recovery,
//!   and the undo of a reduction that D-SACKs prove needless; or BBR
//!   (`bbr.rs`, a model of the path's bandwidth and round trip, fed by
//!   `rate.rs`, delivery rate samples).
//! - `timers.rs`, `rtt.rs` (RFC 6298),
//!   `ring.rs` (buffers), `reassembly.rs` (out-of-order ranges, the SACK
//!   blocks we send), `sack.rs` (the scoreboard of what the peer SACKed).

pub mod autotune;
pub mod bbr;
pub mod congestion;
pub mod cubic;
pub mod ecn;
pub mod footprint;
pub mod icmp;
pub mod input;
pub mod ip_fields;
pub mod keepalive;
pub mod loss;
pub mod ooo_limit;
pub mod output;
pub mod prr;
pub mod r1;
pub mod rack;
pub mod rate;
pub mod readiness;
pub mod reassembly;
pub mod recovery;
pub mod recovery_stats;
pub mod reply;
pub mod ring;
pub mod rtt;
pub mod sack;
pub mod sent;
pub mod state;
pub mod tcb;
pub mod timeouts;
pub mod timers;
pub mod timestamps;
pub mod urgent;
pub mod view;
pub mod zero_window;

pub use ecn::EcnStats;
pub use output::Outgoing;
pub use recovery_stats::RecoveryStats;
pub use reply::rst_for;
pub use state::State;
pub use tcb::Tcb;
