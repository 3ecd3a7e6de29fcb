//! Counters of the IP-level work the stack does besides TCP: ICMP errors
//! (RFC 9293 §3.9.2.2) taken and sent (RFC 1122 §3.2.2, RFC 4443), fragment reassembly (RFC 791, RFC 815), the
//! datagrams refused for a source route, and IPv6's refusals (RFC 8200). Every drop counted here is also
//! in `EngineStats::packets_dropped`.

use std::fmt;

/// See the module docs. `Stack::ip_stats` returns them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IpStats {
    /// ICMP errors that reached a connection and were acted on.
    pub icmp_errors_applied: u64,
    /// ICMP errors ignored: no such connection, a sequence number not in
    /// flight (RFC 5927 §4.1), an MTU not below the path's, source quench.
    pub icmp_errors_ignored: u64,
    /// Path MTU reductions (RFC 1191) among the applied errors.
    pub path_mtu_reductions: u64,
    /// ICMP and ICMPv6 errors we sent (`icmp_generate.rs`): protocol
    /// unreachable (RFC 1122 §3.2.2.1), IPv6 Parameter Problem (RFC 4443
    /// §3.4).
    pub icmp_errors_sent: u64,
    /// Errors we would have sent but for the rate limit (RFC 4443 §2.4
    /// (f), `StackConfig::icmp_errors_per_sec`).
    pub icmp_errors_rate_limited: u64,
    /// Datagrams put back together from fragments.
    pub datagrams_reassembled: u64,
    /// Fragments taken into reassembly.
    pub fragments_received: u64,
    /// Datagrams given up: their fragments overlapped (RFC 5722 style).
    pub reassembly_overlaps: u64,
    /// Datagrams given up: not complete in time (RFC 791's timer).
    pub reassembly_timeouts: u64,
    /// Fragments dropped because reassembly was full (datagrams or bytes).
    pub reassembly_full: u64,
    /// Datagrams refused for a source route option (RFC 9293 §3.9.2.1),
    /// or an IPv6 Routing header with segments left (RFC 8200 §4.4).
    pub source_routed_dropped: u64,
    /// IPv6 fragments dropped (RFC 8200 §4.5): no IPv6 reassembly.
    pub ipv6_fragments_dropped: u64,
    /// IPv6 packets refused for their extension headers: a chain too
    /// long or out of order, a jumbogram (RFC 2675), an option we do not
    /// know whose type says to discard the packet (RFC 8200 §4.2).
    pub ipv6_extensions_refused: u64,
    /// ICMPv6 messages a TUN host has no use for, dropped quietly:
    /// Neighbour Discovery (RFC 4861), MLD, echo replies.
    pub icmpv6_ignored: u64,
}

impl fmt::Display for IpStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ICMP errors {} applied, {} ignored, {} path MTU reductions, {} sent, {} rate-limited; \
             fragments {} in, {} datagrams reassembled, {} overlapping, {} timed out, {} over the limit; \
             IPv6 {} fragments dropped, {} refused for extension headers, {} ICMPv6 ignored; \
             {} source-routed dropped",
            self.icmp_errors_applied,
            self.icmp_errors_ignored,
            self.path_mtu_reductions,
            self.icmp_errors_sent,
            self.icmp_errors_rate_limited,
            self.fragments_received,
            self.datagrams_reassembled,
            self.reassembly_overlaps,
            self.reassembly_timeouts,
            self.reassembly_full,
            self.ipv6_fragments_dropped,
            self.ipv6_extensions_refused,
            self.icmpv6_ignored,
            self.source_routed_dropped
        )
    }
}
