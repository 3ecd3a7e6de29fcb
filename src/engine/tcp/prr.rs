//! Proportional Rate Reduction (RFC 6937): how much may be sent on each
//! ACK of a fast recovery, so the window comes down to ssthresh smoothly
//! and exactly, whatever the losses.
//!
//! RFC 6675 alone sends nothing until `pipe` falls below cwnd (half the
//! ACKs of the window), then one segment per ACK; with many losses pipe
//! falls far below ssthresh and it sends bursts. PRR spreads the
//! reduction over the whole round trip: while pipe is above ssthresh,
//! data goes out in proportion to what was delivered (ssthresh /
//! RecoverFS of it); once pipe is below, slow start back up to ssthresh,
//! at most one segment more than delivered per ACK (PRR-SSRB).
//!
//! The engine keeps pacing its output by cwnd - pipe: on each ACK cwnd
//! becomes pipe + sndcnt (as Linux's `tcp_cwnd_reduction` does).

/// RFC 6937 §3's per-recovery state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prr {
    /// RecoverFS: the flight when recovery began (snd.nxt - snd.una).
    recover_fs: usize,
    /// prr_delivered: bytes delivered to the receiver since then.
    delivered: usize,
    /// prr_out: bytes sent since then.
    out: usize,
}

impl Prr {
    /// "At the beginning of recovery": RecoverFS = snd.nxt - snd.una.
    pub fn start(flight: usize) -> Prr {
        Prr {
            recover_fs: flight.max(1),
            delivered: 0,
            out: 0,
        }
    }

    /// "On any data transmission or retransmission": prr_out += data sent.
    pub fn on_sent(&mut self, bytes: usize) {
        self.out += bytes;
    }

    /// "On every ACK during recovery": `delivered` bytes (DeliveredData:
    /// the change in SND.UNA plus the change in SACKed bytes) and `pipe`
    /// after the ACK. Returns sndcnt, the bytes that may go now.
    pub fn on_ack(&mut self, delivered: usize, pipe: usize, ssthresh: usize, mss: usize) -> usize {
        self.delivered += delivered;
        if pipe > ssthresh {
            // Proportional Rate Reduction:
            // sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out
            // Rounded up to whole segments, as the RFC's examples and
            // Linux count (in packets): output sends whole segments, and
            // a part of one would be lost to rounding down.
            let allowed = (self.delivered as u128 * ssthresh as u128)
                .div_ceil(self.recover_fs as u128) as usize;
            allowed
                .next_multiple_of(mss.max(1))
                .saturating_sub(self.out)
        } else {
            // PRR-SSRB (slow start reduction bound):
            // limit = MAX(prr_delivered - prr_out, DeliveredData) + MSS
            let limit = self.delivered.saturating_sub(self.out).max(delivered) + mss;
            (ssthresh - pipe).min(limit)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: usize = 1000;

    /// RFC 6937 §4's example: a window of 20 segments, one lost, ssthresh
    /// 10 segments (Reno's half); every ACK after the loss delivers one
    /// segment. RFC 6675 would send nothing for 10 ACKs, then one per
    /// ACK; PRR sends one segment on every other ACK from the start (the
    /// fast retransmission counts as the first) until pipe reaches
    /// ssthresh, then (PRR-SSRB) one per ACK that keeps it there: when
    /// the window's 19 ACKs are in, it has sent ssthresh's worth.
    #[test]
    fn one_loss_sends_on_every_other_ack_rfc_6937_s4() {
        let ssthresh = 10 * MSS;
        let mut prr = Prr::start(20 * MSS);
        // The fast retransmission, sent as recovery starts: 19 segments
        // of the window and it are in the network.
        prr.on_sent(MSS);
        let mut pipe = 20 * MSS;
        let mut sent_per_ack = Vec::new();
        for _ in 0..19 {
            pipe -= MSS; // one segment left the network
            let sndcnt = prr.on_ack(MSS, pipe, ssthresh, MSS);
            let segments = sndcnt / MSS;
            prr.on_sent(segments * MSS);
            pipe += segments * MSS;
            sent_per_ack.push(segments);
        }
        assert_eq!(
            sent_per_ack,
            [0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1]
        );
        assert_eq!(pipe, ssthresh, "down to ssthresh, spread, not bursty");
        assert_eq!(prr.out, ssthresh);
    }

    /// Heavy losses: pipe falls below ssthresh. PRR-SSRB grows it back
    /// like slow start, at most one MSS more than each ACK delivered,
    /// never past ssthresh.
    #[test]
    fn below_ssthresh_slow_start_bound_rfc_6937_ssrb() {
        let ssthresh = 10 * MSS;
        let mut prr = Prr::start(20 * MSS);
        prr.on_sent(MSS);
        // Half the window was lost: pipe is 4 segments after this ACK,
        // and each ACK of one segment allows two (delivered + 1 MSS).
        assert_eq!(prr.on_ack(MSS, 4 * MSS, ssthresh, MSS), 2 * MSS);
        prr.on_sent(2 * MSS);
        assert_eq!(prr.on_ack(MSS, 4 * MSS, ssthresh, MSS), 2 * MSS);
        prr.on_sent(2 * MSS);
        // Near ssthresh, only what fills up to it.
        assert_eq!(prr.on_ack(MSS, 9 * MSS, ssthresh, MSS), MSS);
        assert_eq!(prr.on_ack(3 * MSS, 9 * MSS, ssthresh, MSS), MSS);
    }
}
