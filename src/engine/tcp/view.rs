//! A connection's variables for `tuntcp ss` (read-only).

use super::timers::Timers;
use super::Tcb;
use crate::engine::view::{ConnView, TcpView};
use crate::time::Instant;

impl Tcb {
    /// What `ss` shows of this connection at `now`.
    pub fn view(&self, now: Instant) -> ConnView {
        let tcp = TcpView {
            snd_wnd: self.snd_wnd,
            snd_wscale: self.snd_shift,
            rcv_wnd: self.recv_buf.free(),
            rcv_wscale: self.rcv_shift,
            mss: self.send_mss,
            cwnd: self.cc.cwnd,
            ssthresh: self.cc.ssthresh,
            srtt: self.rtt.srtt(),
            rttvar: self.rtt.rttvar(),
            rto: self.rtt.rto(),
            retransmits: self.retransmissions,
            timeouts: self.recovery_stats.timeouts,
            fast_recoveries: self.recovery_stats.fast_recoveries,
            // ISS and IRS themselves are no data: one is subtracted.
            bytes_acked: self.snd_una.since(self.iss).saturating_sub(1) as u64,
            bytes_received: self.rcv_nxt.since(self.irs).saturating_sub(1) as u64,
            ecn: self.ecn_stats(),
            timers: running_timers(&self.timers, now),
        };
        ConnView {
            local: self.local,
            remote: self.remote,
            state: self.state.name(),
            recv_queue: self.recv_buf.len(),
            send_queue: self.send_buf.len(),
            tcp: Some(tcp),
        }
    }
}

fn running_timers(timers: &Timers, now: Instant) -> Vec<(&'static str, std::time::Duration)> {
    [
        ("retransmit", timers.retransmit),
        ("persist", timers.persist),
        ("delayed-ack", timers.delayed_ack),
        ("time-wait", timers.time_wait),
        ("reorder", timers.reorder),
        ("loss-probe", timers.loss_probe),
        ("keepalive", timers.keepalive),
    ]
    .into_iter()
    .filter_map(|(name, at)| Some((name, at?.saturating_duration_since(now))))
    .collect()
}
