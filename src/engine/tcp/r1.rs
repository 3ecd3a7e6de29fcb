//! The R1 threshold of RFC 9293 §3.8.3 (RFC 1122 §4.2.3.5): after R1
//! retransmissions of the same segment without an answer, TCP "SHOULD
//! notify the application" (SHLD-9) and pass negative advice to IP; the
//! connection goes on until R2 (`give_up_after`). R1 "SHOULD correspond
//! to at least 3 retransmissions" (SHLD-10): `StackConfig::r1_retransmissions`,
//! 3 by default.
//!
//! The notice is a log line and the readiness flag `STALLED`, set from
//! the R1st timeout until an ACK moves SND.UNA (an event each way). IP's
//! negative advice has no taker here: the kernel routes what a TUN
//! device sends, and a path that heals shows in the next ACK anyway.

use log::info;

use super::tcb::Tcb;

impl Tcb {
    /// A retransmission timeout; `repeated` when nothing was acknowledged
    /// since the previous one (the same segment goes again).
    pub(super) fn note_timeout_for_r1(&mut self, repeated: bool) {
        self.r1_timeouts = if repeated { self.r1_timeouts + 1 } else { 1 };
        if self.r1_timeouts == self.cfg.r1_retransmissions {
            info!(
                "{} -> {}: {} retransmissions without an answer in {} (R1, RFC 9293 §3.8.3); still trying",
                self.local, self.remote, self.r1_timeouts, self.state
            );
        }
    }

    /// R1 is reached and nothing was acknowledged since (SHLD-9).
    pub fn stalled(&self) -> bool {
        self.stalled_since.is_some()
            && self.cfg.r1_retransmissions > 0
            && self.r1_timeouts >= self.cfg.r1_retransmissions
    }
}
