//! What `tuntcp ss` shows: a snapshot of an engine's connections,
//! listeners and counters, as plain data (the `ss -tnoi` of our stack).
//! Engines fill in what they know; a field they do not keep is `None`.

use std::net::SocketAddr;
use std::time::Duration;

use super::api::EngineStats;

/// One connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnView {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// RFC 9293 state name ("ESTABLISHED", ...).
    pub state: &'static str,
    /// Bytes received and not yet read by the application (ss's Recv-Q).
    pub recv_queue: usize,
    /// Bytes written and not yet acknowledged (ss's Send-Q).
    pub send_queue: usize,
    /// The rest, from engines that keep it (ours).
    pub tcp: Option<TcpView>,
}

/// A connection's TCP variables, as `ss -i` shows the kernel's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpView {
    /// SND.WND, in bytes (already scaled), and the shift applied to the
    /// peer's window fields (RFC 7323 §2.3: Snd.Wind.Shift).
    pub snd_wnd: usize,
    pub snd_wscale: u8,
    /// The window we offer now, in bytes, and Rcv.Wind.Shift.
    pub rcv_wnd: usize,
    pub rcv_wscale: u8,
    /// The largest segment we send.
    pub mss: usize,
    pub cwnd: usize,
    pub ssthresh: usize,
    /// RFC 6298: `None` before the first RTT sample.
    pub srtt: Option<Duration>,
    pub rttvar: Option<Duration>,
    pub rto: Duration,
    /// Segments sent again, retransmission timeouts that fired, and fast
    /// recoveries entered, over the connection's life (ss's `retrans`).
    pub retransmits: u64,
    pub timeouts: u64,
    pub fast_recoveries: u64,
    /// Bytes of ours the peer acknowledged, and bytes of the peer's we
    /// took in order (modulo 2^32: they come from sequence numbers).
    pub bytes_acked: u64,
    pub bytes_received: u64,
    /// ECN counters (RFC 3168), if the connection negotiated ECN.
    pub ecn: Option<crate::engine::tcp::EcnStats>,
    /// Running timers and how long until each fires.
    pub timers: Vec<(&'static str, Duration)>,
}

/// One listening port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerView {
    pub local: SocketAddr,
    pub backlog: usize,
    /// Connections still in the handshake (the SYN queue).
    pub syn_queue: usize,
    /// Established, waiting for `accept`.
    pub accept_queue: usize,
}

/// The whole stack at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StackView {
    pub connections: Vec<ConnView>,
    pub listeners: Vec<ListenerView>,
    pub stats: EngineStats,
    /// ICMP errors, reassembly and refused datagrams (our engine only).
    pub ip: Option<crate::engine::IpStats>,
}
