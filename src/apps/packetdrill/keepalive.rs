//! Keep-alive socket options (SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL,
//! TCP_KEEPCNT, and FreeBSD's TCP_KEEPINIT) and the FreeBSD sysctls they
//! inherit from (`net.inet.tcp.keepidle`, `keepintvl`, `keepcnt`,
//! `keepinit`, in milliseconds), mapped to the engine's keep-alive (RFC
//! 1122 §4.2.3.6) and to R2 of the handshake (RFC 9293 §3.8.3).

use std::time::Duration;

use crate::engine::{ConnId, Engine, KeepAlive};

/// The options of one socket; a new socket takes the sysctls in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeepOptions {
    /// SO_KEEPALIVE.
    pub on: bool,
    pub idle: Duration,
    pub interval: Duration,
    pub count: u32,
    /// TCP_KEEPINIT: how long a connect may take.
    pub init: Duration,
    /// TCP_KEEPINIT was set on this socket (not inherited): it becomes
    /// the connection's own handshake limit.
    pub init_set: bool,
}

impl Default for KeepOptions {
    /// FreeBSD's defaults (tcp(4)): 2 hours idle, 75 s between probes,
    /// 8 probes, 75 s to connect.
    fn default() -> KeepOptions {
        KeepOptions {
            on: false,
            idle: Duration::from_secs(7200),
            interval: Duration::from_secs(75),
            count: 8,
            init: Duration::from_secs(75),
            init_set: false,
        }
    }
}

/// The options setsockopt takes here.
pub const KEEP_OPTIONS: &[&str] = &[
    "SO_KEEPALIVE",
    "TCP_KEEPIDLE",
    "TCP_KEEPINTVL",
    "TCP_KEEPCNT",
    "TCP_KEEPINIT",
];

impl KeepOptions {
    /// A `sysctl -w net.inet.tcp.keep*=MS` line, as it comes; false for
    /// any other.
    pub fn apply_sysctl(&mut self, command: &str) -> bool {
        let Some(assignment) = command.strip_prefix("sysctl -w net.inet.tcp.") else {
            return false;
        };
        let Some((name, value)) = assignment.split_once('=') else {
            return false;
        };
        let Ok(number) = value.trim().parse::<u64>() else {
            return false;
        };
        let millis = Duration::from_millis(number);
        match name.trim() {
            "keepidle" => self.idle = millis,
            "keepintvl" => self.interval = millis,
            "keepcnt" => self.count = number as u32,
            "keepinit" => self.init = millis,
            _ => return false,
        }
        true
    }

    /// setsockopt `option` to `value` (seconds, or a count, or a flag).
    pub fn set(&mut self, option: &str, value: i64) {
        let seconds = Duration::from_secs(value.max(0) as u64);
        match option {
            "SO_KEEPALIVE" => self.on = value != 0,
            "TCP_KEEPIDLE" => self.idle = seconds,
            "TCP_KEEPINTVL" => self.interval = seconds,
            "TCP_KEEPCNT" => self.count = value.max(1) as u32,
            "TCP_KEEPINIT" => {
                self.init = seconds;
                self.init_set = true;
            }
            _ => {}
        }
    }

    /// getsockopt `option`, as the script writes it.
    pub fn get(&self, option: &str) -> Option<i64> {
        Some(match option {
            "SO_KEEPALIVE" => i64::from(self.on),
            "TCP_KEEPIDLE" => self.idle.as_secs() as i64,
            "TCP_KEEPINTVL" => self.interval.as_secs() as i64,
            "TCP_KEEPCNT" => i64::from(self.count),
            "TCP_KEEPINIT" => self.init.as_secs() as i64,
            _ => return None,
        })
    }

    /// Gives the connection these options: keep-alive on or off (MUST-24),
    /// and a TCP_KEEPINIT of its own as its R2 (it only matters while
    /// the handshake lasts).
    pub fn apply(&self, engine: &mut dyn Engine, conn: ConnId) {
        let keepalive = self.on.then_some(KeepAlive {
            idle: self.idle,
            interval: self.interval,
            count: self.count,
            garbage_octet: false,
        });
        let _ = engine.set_keepalive(conn, keepalive);
        if self.init_set {
            let _ = engine.set_user_timeout(conn, Some(self.init));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctls_are_milliseconds_and_options_seconds() {
        let mut options = KeepOptions::default();
        assert!(options.apply_sysctl("sysctl -w net.inet.tcp.keepidle=30000"));
        assert!(!options.apply_sysctl("sysctl -w net.inet.tcp.sack.enable=1"));
        assert_eq!(options.get("TCP_KEEPIDLE"), Some(30));
        options.set("TCP_KEEPCNT", 3);
        options.set("SO_KEEPALIVE", 1);
        assert_eq!((options.get("TCP_KEEPCNT"), options.on), (Some(3), true));
    }
}
