//! What a script asks of the stack before it starts (header flags, FreeBSD
//! `sysctl -w` lines, upstream's `defaults.sh`) mapped to engine settings,
//! and the fresh engine built from them. A setting the engine has no
//! equivalent for makes the script SKIP with the reason.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::script::{EventKind, Script};
use crate::engine::{EcnMode, Engine, Stack, StackConfig};
use crate::reference::{SmolConfig, SmolEngine};

/// Which engine runs the scripts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackChoice {
    Tuntcp,
    Smoltcp,
}

/// The stack's own address and the address of the peer the script plays.
pub const STACK_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
pub const PEER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The same over IPv6 (`--ip_version=ipv6`; documentation prefix, RFC 3849).
pub const STACK_IP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
pub const PEER_IP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);

/// The stack's address in the script's family.
pub fn stack_ip(ipv6: bool) -> IpAddr {
    if ipv6 {
        STACK_IP6.into()
    } else {
        STACK_IP.into()
    }
}

/// The peer's address in the script's family.
pub fn peer_ip(ipv6: bool) -> IpAddr {
    if ipv6 {
        PEER_IP6.into()
    } else {
        PEER_IP.into()
    }
}

/// packetdrill's default `--tolerance_usecs`.
const DEFAULT_TOLERANCE_MICROS: i64 = 4_000;

/// FreeBSD's `net.inet.tcp.delacktime` default (100 ms), used for scripts
/// of the FreeBSD dialect that do not set it; Linux-dialect scripts get
/// our own 40 ms, which is Linux's minimum delayed-ACK timeout.
const FREEBSD_DELAYED_ACK: Duration = Duration::from_millis(100);

/// Settings gathered from one script.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// `--ip_version=ipv6`: packets are IPv6 (RFC 8200). `ipv4` and
    /// `ipv4-mapped-v6` (an IPv6 socket whose packets are IPv4) are IPv4.
    pub ipv6: bool,
    pub tolerance_micros: i64,
    pub mtu: Option<u16>,
    pub sack: bool,
    pub timestamps: bool,
    pub recv_buffer: Option<usize>,
    pub send_buffer: Option<usize>,
    pub delayed_ack: Option<Duration>,
    pub handshake_timeout: Option<Duration>,
    /// `net.inet.tcp.ecn.enable` (0, 1, 2) and `ecn.maxretries`.
    pub ecn: EcnMode,
    pub ecn_syn_retries: Option<u32>,
}

/// Reads the header flags and the `sysctl -w` lines before the first other
/// event: the FreeBSD suite sets defaults, then the values a script needs,
/// then opens its socket, and restores the defaults at the very end, after
/// what it tests. The last value before the socket is the one in force.
pub fn settings_of(script: &Script) -> Result<Settings, String> {
    let mut settings = Settings {
        ipv6: false,
        tolerance_micros: DEFAULT_TOLERANCE_MICROS,
        mtu: None,
        sack: true,
        timestamps: true,
        recv_buffer: None,
        send_buffer: None,
        delayed_ack: None,
        handshake_timeout: None,
        ecn: EcnMode::Off,
        ecn_syn_retries: None,
    };
    for (name, value) in &script.flags {
        apply_flag(&mut settings, name, value)?;
    }
    let mut in_force = std::collections::BTreeMap::new();
    for event in &script.events {
        let EventKind::Shell(command) = &event.kind else {
            break;
        };
        if let Some(assignment) = command.strip_prefix("sysctl -w ") {
            let (name, value) = assignment.split_once('=').unwrap_or((assignment, ""));
            in_force.insert(name.trim().to_string(), value.trim().to_string());
        }
    }
    for (name, value) in &in_force {
        apply_sysctl(&mut settings, name, value)?;
    }
    let freebsd = !in_force.is_empty();
    if freebsd && settings.delayed_ack.is_none() {
        settings.delayed_ack = Some(FREEBSD_DELAYED_ACK);
    }
    Ok(settings)
}

fn parse_number(name: &str, value: &str) -> Result<i64, String> {
    value
        .parse::<i64>()
        .map_err(|_| format!("{name}={value} is not a number"))
}

fn apply_flag(settings: &mut Settings, name: &str, value: &str) -> Result<(), String> {
    let number = || parse_number(&format!("--{name}"), value);
    match name {
        "ip_version" if value == "ipv4" || value == "ipv4-mapped-v6" => settings.ipv6 = false,
        "ip_version" if value == "ipv6" => settings.ipv6 = true,
        "ip_version" => return Err(format!("--ip_version={value} is not supported")),
        "tolerance_usecs" => settings.tolerance_micros = number()?,
        "mtu" => settings.mtu = Some(number()?.clamp(68, 65535) as u16),
        // Flags of packetdrill's own plumbing, meaningless on virtual time.
        "local_ip" | "remote_ip" | "gateway_ip" | "netmask_ip" | "bind_port" | "connect_port"
        | "speed" | "wire_client" | "wire_server" | "verbose" => {}
        other => return Err(format!("--{other} is not supported")),
    }
    Ok(())
}

/// FreeBSD sysctls (tcp(4)) that change nothing observable here.
const IGNORED_SYSCTLS: &[&str] = &["net.inet.tcp.hostcache.purgenow", "kern.ipc.maxsockbuf"];

/// FreeBSD sysctls accepted at the value that matches what the engine
/// does, with that value: 1 s initial RTO (RFC 6298 (2.1)), 200 ms of
/// slop (our `min_rto`), options kept on SYN retransmissions, SYN+FIN
/// processed, blackholing off.
const MATCHING_SYSCTLS: &[(&str, &str)] = &[
    ("net.inet.tcp.rexmit_initial", "1000"),
    ("net.inet.tcp.rexmit_slop", "200"),
    ("net.inet.tcp.rexmit_drop_options", "0"),
    ("net.inet.tcp.drop_synfin", "0"),
    ("net.inet.tcp.blackhole", "0"),
    ("net.inet.tcp.insecure_rst", "0"),
    ("net.inet.tcp.insecure_syn", "0"),
    ("net.inet.tcp.rfc1323", "1"),
    // Hard ICMP errors end a connection in SYN-SENT (RFC 9293 §3.9.2.2, SHLD-26).
    ("net.inet.tcp.icmp_may_rst", "1"),
];

fn apply_sysctl(settings: &mut Settings, name: &str, value: &str) -> Result<(), String> {
    let number = || parse_number(name, value).map(|n| n.max(0) as u64);
    match name {
        "net.inet.tcp.sack.enable" => settings.sack = value != "0",
        "net.inet.tcp.recvspace" => settings.recv_buffer = Some(number()? as usize),
        "net.inet.tcp.sendspace" => settings.send_buffer = Some(number()? as usize),
        "net.inet.tcp.delacktime" => settings.delayed_ack = Some(Duration::from_millis(number()?)),
        // The time a handshake may take (RFC 9293 §3.8.3, R2 for a SYN).
        "net.inet.tcp.keepinit" => {
            settings.handshake_timeout = Some(Duration::from_millis(number()?))
        }
        _ if MATCHING_SYSCTLS.contains(&(name, value)) => {}
        _ if IGNORED_SYSCTLS.contains(&name) => {}
        "net.inet.tcp.insecure_rst" | "net.inet.tcp.insecure_syn" => {
            return Err(format!(
                "{name}={value} asks for RFC 793 processing; the engine does RFC 5961 only"
            ))
        }
        // Read by the runner as they come (`keepalive.rs`): new sockets
        // inherit them.
        "net.inet.tcp.keepidle" | "net.inet.tcp.keepintvl" | "net.inet.tcp.keepcnt" => {}
        "net.inet.tcp.icmp_may_rst" => {
            return Err(format!(
                "{name}={value} ignores hard ICMP errors in SYN-SENT; the engine acts on them (RFC 9293 §3.9.2.2, SHLD-26)"
            ))
        }
        "net.inet.tcp.rfc1323" => {
            return Err(format!(
                "{name}={value}: window scaling cannot be turned off"
            ))
        }
        // ECN (RFC 3168): 1 asks and answers, 2 only answers.
        "net.inet.tcp.ecn.enable" => {
            settings.ecn = match value {
                "0" => EcnMode::Off,
                "1" => EcnMode::On,
                _ => EcnMode::AnswerOnly,
            }
        }
        "net.inet.tcp.ecn.maxretries" => settings.ecn_syn_retries = Some(number()? as u32),
        _ => return Err(format!("sysctl {name}={value} has no engine setting")),
    }
    Ok(())
}

/// A fresh engine with the settings. Ours keeps its buffers fixed (no
/// auto-tuning) when the script sets them, as FreeBSD's `recvspace` does.
pub fn build_engine(choice: StackChoice, settings: &Settings) -> Box<dyn Engine> {
    match choice {
        StackChoice::Tuntcp => {
            let mut config = StackConfig::new(STACK_IP)
                .with_ipv6(STACK_IP6)
                .with_fixed_secret();
            if let Some(mtu) = settings.mtu {
                config = config.with_mtu(mtu);
            }
            config.sack = settings.sack;
            config.timestamps = settings.timestamps;
            if let Some(bytes) = settings.recv_buffer {
                config.recv_buffer = bytes;
                config.recv_buffer_max = 0;
            }
            if let Some(bytes) = settings.send_buffer {
                config.send_buffer = bytes;
                config.send_buffer_max = 0;
            }
            if let Some(delay) = settings.delayed_ack {
                config.delayed_ack = (!delay.is_zero()).then_some(delay);
            }
            if let Some(limit) = settings.handshake_timeout {
                config.handshake_timeout = limit;
            }
            config.ecn = settings.ecn;
            if let Some(retries) = settings.ecn_syn_retries {
                config.ecn_syn_retries = retries;
            }
            // Nothing the script can see: no timer of its own to step through.
            config.idle_buffer_release = None;
            Box::new(Stack::new(config))
        }
        StackChoice::Smoltcp => {
            // Dual-stack as ours, so the `-ipv6` twins run on both.
            let mut config = SmolConfig::new(STACK_IP);
            config.addr_v6 = Some(STACK_IP6);
            config.rx_buffer = settings.recv_buffer.unwrap_or(config.rx_buffer);
            config.tx_buffer = settings.send_buffer.unwrap_or(config.tx_buffer);
            config.handshake_timeout = settings
                .handshake_timeout
                .unwrap_or(config.handshake_timeout);
            Box::new(SmolEngine::new(config))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apps::packetdrill::parser::parse_script;

    #[test]
    fn freebsd_sysctls_map_to_engine_settings() {
        let script = parse_script(
            "--tolerance_usecs=75000\n 0.00 `sysctl -w net.inet.tcp.sack.enable=0`\n\
             +0 `sysctl -w net.inet.tcp.recvspace=65536`\n\
             +0 `sysctl -w net.inet.tcp.sack.enable=1`\n\
             +0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
             +0 `sysctl -w net.inet.tcp.sack.enable=0`\n",
        )
        .unwrap();
        let settings = settings_of(&script).unwrap();
        assert_eq!(settings.tolerance_micros, 75_000);
        assert!(
            settings.sack,
            "the last value before the socket is in force"
        );
        assert_eq!(settings.recv_buffer, Some(65536));
        assert_eq!(settings.delayed_ack, Some(FREEBSD_DELAYED_ACK));
    }

    #[test]
    fn settings_without_an_engine_equivalent_are_reasons_to_skip() {
        let insecure = parse_script("0 `sysctl -w net.inet.tcp.insecure_rst=1`\n").unwrap();
        assert!(settings_of(&insecure).unwrap_err().contains("RFC 5961"));
        let ipv6 = parse_script("--ip_version=ipv6\n").unwrap();
        assert!(settings_of(&ipv6).unwrap().ipv6);
        let mapped = parse_script("--ip_version=ipv4-mapped-v6\n").unwrap();
        assert!(!settings_of(&mapped).unwrap().ipv6);
        let other = parse_script("--ip_version=ipv5\n").unwrap();
        assert!(settings_of(&other).unwrap_err().contains("ipv5"));
        let upstream = parse_script("0 `../common/defaults.sh`\n").unwrap();
        assert_eq!(settings_of(&upstream).unwrap().delayed_ack, None);
    }
}
