//! `tuntcp ss`: a running stack's connections, listeners and counters as
//! text, laid out like `ss -tnoi` shows the kernel's sockets.

use std::fmt::Write;
use std::time::Duration;

use crate::engine::{ConnView, EngineStats, ListenerView, StackView, TcpView};

/// The whole view: a title line, one line per listener and connection
/// (with an indented line of TCP variables where the engine keeps them),
/// then the counters.
pub fn render(view: &StackView, engine: &str, iface: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{engine} on {iface}: {} connections, {} listeners",
        view.connections.len(),
        view.listeners.len()
    );
    let _ = writeln!(
        out,
        "{:<12} {:>7} {:>7} {:<21} {:<21}",
        "State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port"
    );
    for listener in &view.listeners {
        render_listener(&mut out, listener);
    }
    for conn in &view.connections {
        render_conn(&mut out, conn);
    }
    if let Some(ip) = &view.ip {
        let _ = writeln!(out, "ip: {ip}");
    }
    let _ = writeln!(out, "counters: {}", counters(&view.stats));
    // Columns pad with spaces; a line needs none at its end.
    out.lines()
        .map(|line| line.trim_end().to_string() + "\n")
        .collect()
}

/// As ss shows a listener: Recv-Q is the accept queue, Send-Q the backlog;
/// the SYN queue is spelled out after it.
fn render_listener(out: &mut String, l: &ListenerView) {
    let _ = writeln!(
        out,
        "{:<12} {:>7} {:>7} {:<21} {:<21} syn-queue:{}",
        "LISTEN",
        l.accept_queue,
        l.backlog,
        l.local.to_string(),
        "*:*",
        l.syn_queue
    );
}

fn render_conn(out: &mut String, c: &ConnView) {
    let _ = writeln!(
        out,
        "{:<12} {:>7} {:>7} {:<21} {:<21}",
        c.state,
        c.recv_queue,
        c.send_queue,
        c.local.to_string(),
        c.remote.to_string()
    );
    if let Some(tcp) = &c.tcp {
        let _ = writeln!(out, "\t {}", tcp_line(tcp));
    }
}

/// `ss -i`'s line: wscale:snd,rcv (the peer's shift, then ours), mss,
/// cwnd and ssthresh in bytes, rtt:srtt/rttvar and rto in ms, windows,
/// bytes, retransmitted segments, timeouts and fast recoveries, timers.
fn tcp_line(t: &TcpView) -> String {
    let srtt = match (t.srtt, t.rttvar) {
        (Some(srtt), Some(rttvar)) => format!("{}/{}", ms(srtt), ms(rttvar)),
        _ => "-".to_string(),
    };
    let ssthresh = match t.ssthresh {
        usize::MAX => "-".to_string(),
        n => n.to_string(),
    };
    let timers: Vec<String> = t
        .timers
        .iter()
        .map(|(name, left)| format!("({name},{})", ms(*left)))
        .collect();
    // Linux's `ss -i` says `ecn` when ECN was negotiated; the counters are ours.
    let ecn = match t.ecn {
        Some(e) => format!(
            " ecn ece_rcvd:{} ce_rcvd:{} cwr_sent:{} ecn_reductions:{}",
            e.ece_received, e.ce_received, e.cwr_sent, e.reductions
        ),
        None => String::new(),
    };
    format!(
        "wscale:{},{} mss:{} cwnd:{} ssthresh:{} rtt:{} rto:{} snd_wnd:{} rcv_wnd:{} bytes_acked:{} bytes_received:{} retrans:{} timeouts:{} recoveries:{}{ecn} timers:{}",
        t.snd_wscale,
        t.rcv_wscale,
        t.mss,
        t.cwnd,
        ssthresh,
        srtt,
        ms(t.rto),
        t.snd_wnd,
        t.rcv_wnd,
        t.bytes_acked,
        t.bytes_received,
        t.retransmits,
        t.timeouts,
        t.fast_recoveries,
        if timers.is_empty() { "-".to_string() } else { timers.join("") }
    )
}

fn counters(s: &EngineStats) -> String {
    let mut line = format!(
        "{} packets in, {} out, {} dropped; {} connections opened; {} retransmissions ({} bytes); {} RSTs sent",
        s.packets_in,
        s.packets_out,
        s.packets_dropped,
        s.connections_opened,
        s.retransmissions,
        s.retransmitted_bytes,
        s.resets_sent
    );
    if let Some(rtos) = s.retransmission_timeouts {
        let _ = write!(line, "; {rtos} retransmission timeouts");
    }
    if !s.defence.is_zero() {
        let _ = write!(line, "; {}", s.defence);
    }
    if let Some(drops) = s.drops {
        let _ = write!(line, "\ndrops: {drops}");
    }
    line
}

/// Milliseconds with three decimals, as ss prints its times.
fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    format!("{ms:.3}ms")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::IpStats;
    use std::net::SocketAddr;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_view_reads_like_ss() {
        let view = StackView {
            listeners: vec![ListenerView {
                local: addr("192.0.2.2:7"),
                backlog: 128,
                syn_queue: 1,
                accept_queue: 2,
            }],
            connections: vec![ConnView {
                local: addr("192.0.2.2:7"),
                remote: addr("192.0.2.1:51588"),
                state: "ESTABLISHED",
                recv_queue: 0,
                send_queue: 12,
                tcp: Some(TcpView {
                    snd_wnd: 64_256,
                    snd_wscale: 7,
                    rcv_wnd: 65_535,
                    rcv_wscale: 0,
                    mss: 1460,
                    cwnd: 14_600,
                    ssthresh: usize::MAX,
                    srtt: Some(Duration::from_micros(312)),
                    rttvar: Some(Duration::from_micros(156)),
                    rto: Duration::from_millis(200),
                    retransmits: 3,
                    timeouts: 1,
                    fast_recoveries: 2,
                    bytes_acked: 100,
                    bytes_received: 112,
                    ecn: None,
                    timers: vec![("retransmit", Duration::from_millis(150))],
                }),
            }],
            stats: EngineStats {
                packets_in: 10,
                packets_out: 9,
                retransmission_timeouts: Some(0),
                packets_dropped: 4,
                drops: Some(crate::engine::DropCounts {
                    malformed: 1,
                    by_connections: 3,
                    ..Default::default()
                }),
                ..EngineStats::default()
            },
            ip: Some(IpStats {
                source_routed_dropped: 1,
                icmp_errors_sent: 2,
                icmp_errors_rate_limited: 3,
                ..IpStats::default()
            }),
        };
        let text = render(&view, "our engine", "tun0");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "our engine on tun0: 1 connections, 1 listeners");
        assert!(lines[1].starts_with("State         Recv-Q  Send-Q Local Address:Port"));
        assert_eq!(
            lines[2],
            "LISTEN             2     128 192.0.2.2:7           *:*                   syn-queue:1"
        );
        assert_eq!(
            lines[3],
            "ESTABLISHED        0      12 192.0.2.2:7           192.0.2.1:51588"
        );
        assert_eq!(
            lines[4],
            "\t wscale:7,0 mss:1460 cwnd:14600 ssthresh:- rtt:0.312ms/0.156ms rto:200.000ms snd_wnd:64256 rcv_wnd:65535 bytes_acked:100 bytes_received:112 retrans:3 timeouts:1 recoveries:2 timers:(retransmit,150.000ms)"
        );
        assert!(
            lines[5].starts_with(
                "ip: ICMP errors 0 applied, 0 ignored, 0 path MTU reductions, 2 sent, 3 rate-limited;"
            ) && lines[5].ends_with("1 source-routed dropped"),
            "{}",
            lines[5]
        );
        assert!(
            lines[6].starts_with("counters: 10 packets in, 9 out, 4 dropped"),
            "{}",
            lines[6]
        );
        assert_eq!(
            lines[7],
            "drops: malformed 1, not for us 0, fragments 0, no connection 0, by connections 3, other 0"
        );
    }
}
