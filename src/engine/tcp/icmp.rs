//! ICMP errors about one connection (RFC 9293 §3.9.2.2, RFC 1122
//! §4.2.3.9, RFC 5461, RFC 5927) and path MTU discovery (RFC 1191).
//!
//! The stack finds the connection from the quoted headers (MUST-54); here
//! the quoted sequence number is checked and the error acted on:
//!
//! - soft errors (unreachable net or host, time exceeded, parameter
//!   problem) never abort (MUST-56); the last one is kept for the
//!   application (`take_error`, SHLD-25) and is what a connection that
//!   later times out reports;
//! - hard errors (protocol or port unreachable) abort a connection still
//!   in the handshake (SHLD-26), and are soft errors once it is
//!   synchronized (RFC 5461 §4: aborting established connections on
//!   hard errors makes them easy to kill with forged ICMP, RFC 5927 §5.1);
//! - "fragmentation needed" lowers the path MTU and the MSS (RFC 1191),
//!   and so does ICMPv6 Packet Too Big (RFC 8201).

use log::debug;

use super::state::State;
use super::tcb::{Tcb, MIN_SEND_MSS};
use crate::engine::api::ApiError;
use crate::wire::icmpv6::IPV6_MIN_MTU;
use crate::wire::{IcmpError, QuotedTcp};

/// The smallest path MTU we accept from an ICMP message: 552, as Linux's
/// `min_pmtu` (512 bytes of TCP data). RFC 1191 §3 allows down to 68, but
/// a forged "fragmentation needed" would then cut our segments to a few
/// bytes each (RFC 5927 §7.3). Told less, we use this and clear DF, so a
/// router on a path that really is narrower fragments our datagrams.
pub const MIN_PATH_MTU: usize = 552;

/// RFC 1191 §7, Table 7-1: the plateaus to guess from when a router too
/// old to say the next-hop MTU answers with 0.
const MTU_PLATEAUS: [usize; 10] = [32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68];

impl Tcb {
    /// Acts on an ICMP error that quotes one of this connection's
    /// segments. `Err` says why it was ignored (for the drop counter).
    pub fn handle_icmp_error(
        &mut self,
        error: IcmpError,
        quoted: &QuotedTcp,
    ) -> Result<(), &'static str> {
        // RFC 5927 §4.1 (and RFC 5461 §4): only a segment still in flight
        // can have drawn the error: SND.UNA <= SEG.SEQ < SND.NXT. SND.MAX
        // stands for SND.NXT, which goes back on a timeout.
        if !(self.snd_una <= quoted.seq && quoted.seq < self.snd_max) {
            return Err("ICMP error quotes a sequence number not in flight");
        }
        match error {
            // MUST-55 (RFC 6633): the stack drops these before us.
            IcmpError::SourceQuench => Err("ICMP source quench"),
            IcmpError::FragmentationNeeded { next_hop_mtu } => {
                self.on_fragmentation_needed(next_hop_mtu, quoted.ip_total_len)
            }
            IcmpError::PacketTooBig { mtu } => self.on_packet_too_big(mtu),
            _ => {
                self.on_unreachable(error);
                Ok(())
            }
        }
    }

    /// A soft error, or a hard one: the connection ends only if it is
    /// still in the handshake and the error is hard.
    fn on_unreachable(&mut self, error: IcmpError) {
        let reported = match error {
            IcmpError::PortUnreachable | IcmpError::ProtocolUnreachable => {
                ApiError::ConnectionRefused
            }
            IcmpError::NetUnreachable => ApiError::NetworkUnreachable,
            _ => ApiError::HostUnreachable,
        };
        let handshake = matches!(self.state, State::SynSent | State::SynReceived);
        debug!(
            "{} -> {}: ICMP {:?} in {}",
            self.local, self.remote, error, self.state
        );
        if error.is_hard() && handshake {
            // RFC 5461 §4: "TCP SHOULD abort ... in the SYN-SENT state";
            // a passive SYN-RECEIVED connection is dropped as Linux drops
            // the request (nobody holds it to be told).
            self.fail(reported);
        } else {
            self.soft_error = Some(reported);
        }
    }

    /// RFC 1191 §6.4: "fragmentation needed" for a segment in flight. The
    /// path MTU goes down to what the router says (never up: §6.3), the
    /// MSS follows, and what is in flight is sent again at once in
    /// smaller segments: the router dropped it (Linux's
    /// `tcp_simple_retransmit`; no congestion response, the loss was not
    /// congestion).
    fn on_fragmentation_needed(
        &mut self,
        next_hop_mtu: u16,
        quoted_len: u16,
    ) -> Result<(), &'static str> {
        let claimed = match next_hop_mtu {
            0 => plateau_below(usize::from(quoted_len)),
            mtu => usize::from(mtu),
        };
        if claimed >= self.path_mtu {
            return Err("ICMP fragmentation needed: MTU not below the path MTU");
        }
        if claimed < MIN_PATH_MTU {
            self.ip_fields.dont_fragment = false;
        }
        self.lower_path_mtu(claimed.max(MIN_PATH_MTU), claimed);
        Ok(())
    }

    /// RFC 8201 §4: Packet Too Big for a segment in flight. The path MTU
    /// goes down to the MTU it gives (never up); one below the IPv6
    /// minimum of 1280 is discarded: "If a node receives a Packet Too
    /// Big message reporting a next-hop MTU that is less than the IPv6
    /// minimum link MTU, it must discard it" (a forged one could
    /// otherwise shrink our segments, as RFC 5927 §7.3 warns).
    fn on_packet_too_big(&mut self, mtu: u32) -> Result<(), &'static str> {
        let mtu = usize::try_from(mtu).unwrap_or(usize::MAX);
        if mtu < IPV6_MIN_MTU {
            return Err("ICMPv6 packet too big: MTU below 1280, discarded (RFC 8201 §4)");
        }
        if mtu >= self.path_mtu {
            return Err("ICMPv6 packet too big: MTU not below the path MTU");
        }
        self.lower_path_mtu(mtu, mtu);
        Ok(())
    }

    /// The path MTU becomes `mtu` (told `claimed`): the MSS follows, and
    /// what is in flight goes again at once in smaller segments.
    fn lower_path_mtu(&mut self, mtu: usize, claimed: usize) {
        self.path_mtu = mtu;
        let mss = (self.path_mtu - self.ip_tcp_headers).max(MIN_SEND_MSS);
        debug!(
            "{} -> {}: path MTU {} (told {claimed}), MSS {} -> {mss}",
            self.local, self.remote, self.path_mtu, self.send_mss
        );
        if mss >= self.send_mss {
            return;
        }
        self.send_mss = mss;
        let per_segment_options = if self.ts.enabled { 12 } else { 0 };
        self.cc.on_mss_reduced(mss - per_segment_options);
        if self.state.is_synchronized() && self.snd_max > self.snd_una {
            self.snd_nxt = self.snd_una;
            self.rtt_probe = None;
        }
    }

    /// The last soft error, cleared by the call (SO_ERROR's way), or the
    /// error that ended the connection (kept).
    pub fn take_error(&mut self) -> Option<ApiError> {
        self.error.or_else(|| self.soft_error.take())
    }

    /// The path MTU in use (RFC 1191).
    pub fn path_mtu(&self) -> usize {
        self.path_mtu
    }
}

/// RFC 1191 §5: the largest plateau below the length of the datagram
/// that was too big.
fn plateau_below(len: usize) -> usize {
    MTU_PLATEAUS
        .iter()
        .copied()
        .find(|&plateau| plateau < len)
        .unwrap_or(68)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plateaus_step_below_the_datagram_rfc1191_s5() {
        assert_eq!(plateau_below(1500), 1492);
        assert_eq!(plateau_below(1492), 1006);
        assert_eq!(plateau_below(40), 68);
    }
}
