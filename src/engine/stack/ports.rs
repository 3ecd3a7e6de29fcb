//! Which listener a port's segments go to, per address family.
//!
//! A listener bound to the unspecified address (`0.0.0.0` or `[::]`)
//! takes segments of both families, as a dual-stack socket does on Linux
//! (an IPv6 socket without IPV6_V6ONLY, RFC 3493 §3.7); one bound to the
//! stack's IPv4 or IPv6 address takes only its own family. So a port may
//! have one listener for both, or one per family, never both kinds.

use std::net::{IpAddr, SocketAddr};

use super::Stack;

/// The families a listener takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Bound {
    /// Bound to the unspecified address: both families.
    Any,
    V4,
    V6,
}

impl Bound {
    /// What binding to `addr` takes.
    pub(super) fn of(addr: IpAddr) -> Bound {
        match addr {
            ip if ip.is_unspecified() => Bound::Any,
            IpAddr::V4(_) => Bound::V4,
            IpAddr::V6(_) => Bound::V6,
        }
    }

    /// The family of a segment's address.
    fn family(addr: IpAddr) -> Bound {
        match addr {
            IpAddr::V4(_) => Bound::V4,
            IpAddr::V6(_) => Bound::V6,
        }
    }

    /// The bindings on the same port that a new binding of `self` would
    /// clash with (EADDRINUSE).
    fn clashes(self) -> &'static [Bound] {
        match self {
            Bound::Any => &[Bound::Any, Bound::V4, Bound::V6],
            Bound::V4 => &[Bound::Any, Bound::V4],
            Bound::V6 => &[Bound::Any, Bound::V6],
        }
    }
}

impl Stack {
    /// The listener for a segment to `local`: the one bound to its family
    /// on that port, or else one bound to both.
    pub(super) fn listener_for(&self, local: SocketAddr) -> Option<u32> {
        let port = local.port();
        let by_port = &self.listener_by_port;
        by_port
            .get(&(port, Bound::family(local.ip())))
            .or_else(|| by_port.get(&(port, Bound::Any)))
            .copied()
    }

    /// Whether a listener bound as `bound` on `port` would clash.
    pub(super) fn port_taken(&self, port: u16, bound: Bound) -> bool {
        let by_port = &self.listener_by_port;
        bound
            .clashes()
            .iter()
            .any(|&other| by_port.contains_key(&(port, other)))
    }

    /// Whether any listener has `port` (not an ephemeral port to give).
    pub(super) fn port_listens(&self, port: u16) -> bool {
        self.port_taken(port, Bound::Any)
    }
}
