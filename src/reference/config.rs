//! Settings of a [`SmolEngine`](super::SmolEngine).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// How a [`SmolEngine`](super::SmolEngine) is built. Start from
/// [`SmolConfig::new`] and change fields as needed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmolConfig {
    /// The engine's own address (the kernel routes it to the TUN device).
    pub addr: Ipv4Addr,
    /// Length of the on-link prefix around `addr`.
    pub prefix_len: u8,
    /// The engine's IPv6 address, if it has one (then it answers both
    /// families, as a dual-stack host).
    pub addr_v6: Option<Ipv6Addr>,
    /// Length of the on-link prefix around `addr_v6`.
    pub prefix_len_v6: u8,
    /// Receive buffer per connection, in bytes; also bounds the window we
    /// advertise (RFC 9293 §3.8.6).
    pub rx_buffer: usize,
    /// Send buffer per connection, in bytes.
    pub tx_buffer: usize,
    /// Most listening sockets one `listen` creates, whatever backlog is asked.
    /// Each holds two buffers, so this bounds memory per listener.
    pub max_backlog: usize,
    /// How long an unanswered SYN (or SYN-ACK) is retransmitted before the
    /// handshake gives up with `TimedOut`. RFC 9293 §3.8.3: R2 for a SYN
    /// "MUST be set large enough to provide retransmission of the segment
    /// for at least 3 minutes".
    pub handshake_timeout: Duration,
    /// How long queued data goes unacknowledged (no segment at all from the
    /// peer) before the connection gives up with `TimedOut`. RFC 9293
    /// §3.8.3: R2 "SHOULD correspond to at least 100 seconds".
    pub user_timeout: Duration,
    /// Seed for smoltcp's generator (initial sequence numbers). A fixed seed
    /// makes runs repeatable, which the simulation tests rely on.
    pub random_seed: u64,
}

impl SmolConfig {
    /// Defaults: IPv4 only, a /24, 64 KiB buffers, up to 128 pending connections per
    /// listener, 180 s handshake and 100 s user timeouts, a seed derived from the address.
    pub fn new(addr: Ipv4Addr) -> SmolConfig {
        SmolConfig {
            addr,
            prefix_len: 24,
            addr_v6: None,
            prefix_len_v6: 64,
            rx_buffer: 64 * 1024,
            tx_buffer: 64 * 1024,
            max_backlog: 128,
            handshake_timeout: Duration::from_secs(180),
            user_timeout: Duration::from_secs(100),
            random_seed: u64::from(u32::from(addr)) ^ 0x5eed_5eed_5eed_5eed,
        }
    }
}
