//! What the wrapper remembers about each connection smoltcp runs.
//!
//! smoltcp forgets a connection's addresses when it reaches CLOSED and never
//! says *why* it got there. Our contract needs both: a `ConnId` keeps
//! answering `conn_info` until the application releases it, and `recv`,
//! `send` and `connect_status` must tell refused, reset and timed out apart.
//! So every state change is observed here right after smoltcp runs.

use std::net::SocketAddr;
use std::time::Duration;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp::{self, State};
use smoltcp::time::Duration as SmolDuration;
use smoltcp::wire::IpEndpoint;

use crate::engine::tcp::State as RfcState;
use crate::engine::{ApiError, Readiness};

/// RFC 9293 §3.3.2 name of a state, for `ConnInfo::state` and logs: the
/// same names our engine uses, from the same table.
pub fn state_name(state: State) -> &'static str {
    as_rfc_state(state).name()
}

/// smoltcp's state as our engine's: both follow RFC 9293 §3.3.2 one to one.
fn as_rfc_state(state: State) -> RfcState {
    match state {
        State::Closed => RfcState::Closed,
        State::Listen => RfcState::Listen,
        State::SynSent => RfcState::SynSent,
        State::SynReceived => RfcState::SynReceived,
        State::Established => RfcState::Established,
        State::FinWait1 => RfcState::FinWait1,
        State::FinWait2 => RfcState::FinWait2,
        State::CloseWait => RfcState::CloseWait,
        State::Closing => RfcState::Closing,
        State::LastAck => RfcState::LastAck,
        State::TimeWait => RfcState::TimeWait,
    }
}

/// States only reachable by receiving the peer's FIN (RFC 9293 §3.10.7.4,
/// "eighth, check the FIN bit").
pub fn has_received_fin(state: State) -> bool {
    matches!(
        state,
        State::CloseWait | State::LastAck | State::Closing | State::TimeWait
    )
}

/// Why a connection that went from `from` to CLOSED ended, or `None` when
/// that was its normal end.
fn closing_failure(from: State, reset_seen: bool) -> Option<ApiError> {
    match from {
        // RFC 9293 §3.10.7.4: in CLOSING, LAST-ACK and TIME-WAIT an RST just
        // closes, as the last ACK or the TIME-WAIT timer would have.
        State::Closing | State::LastAck | State::TimeWait | State::Closed | State::Listen => None,
        // RFC 9293 §3.10.7.3: an acceptable RST in SYN-SENT means "error:
        // connection reset", which sockets call "connection refused".
        State::SynSent if reset_seen => Some(ApiError::ConnectionRefused),
        // RFC 9293 §3.10.7.4: RST in a synchronized state: "connection reset".
        _ if reset_seen => Some(ApiError::ConnectionReset),
        // No RST arrived, so smoltcp gave up retransmitting (RFC 9293 §3.8.3).
        _ => Some(ApiError::TimedOut),
    }
}

/// The give-up timer a socket should run now, if any.
///
/// smoltcp's `set_timeout` measures from the last segment received and
/// would also kill a connection that is merely idle, so it is switched on
/// only while we are actually waiting for the peer: during the handshake,
/// while data is queued, and for a released socket in FIN-WAIT-2 (Linux's
/// `tcp_fin_timeout` for orphans, so a silent peer cannot pin it forever).
pub fn give_up_timer(
    socket: &tcp::Socket,
    released: bool,
    handshake: Duration,
    user: Duration,
) -> Option<SmolDuration> {
    let timer = match socket.state() {
        State::SynSent | State::SynReceived => handshake,
        State::FinWait2 if released => user,
        _ if socket.send_queue() > 0 => user,
        _ => return None,
    };
    Some(to_smol_duration(timer))
}

pub fn to_smol_duration(duration: Duration) -> SmolDuration {
    SmolDuration::from_micros(u64::try_from(duration.as_micros()).unwrap_or(u64::MAX))
}

/// Converts a smoltcp endpoint, of either family.
pub fn to_socket_addr(endpoint: IpEndpoint) -> Option<SocketAddr> {
    Some(endpoint.into())
}

/// One connection the application holds a `ConnId` for.
#[derive(Debug)]
pub struct ConnSlot {
    pub handle: SocketHandle,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// The state seen after smoltcp last ran.
    pub last_state: State,
    /// Set once, when the connection ended abnormally.
    pub failure: Option<ApiError>,
    /// The application called `shutdown_write`.
    pub write_shut: bool,
    /// The peer's FIN has arrived (so an empty, closed socket reads EOF).
    pub peer_fin: bool,
    /// Readiness and state last seen, to notice changes (`readiness.rs`).
    pub seen: (Readiness, State),
    /// Filed in the engine's `changed` list, not drained yet.
    pub change_queued: bool,
}

impl ConnSlot {
    pub fn new(handle: SocketHandle, local: SocketAddr, remote: SocketAddr, state: State) -> Self {
        ConnSlot {
            handle,
            local,
            remote,
            last_state: state,
            failure: None,
            write_shut: false,
            peer_fin: has_received_fin(state),
            seen: (Readiness::EMPTY, state),
            change_queued: false,
        }
    }

    /// Records the state smoltcp left the socket in. `reset_seen`: an RST
    /// for this connection's 4-tuple was the packet just processed.
    pub fn observe(&mut self, state: State, reset_seen: bool) {
        if state == self.last_state {
            return;
        }
        log::debug!(
            "smoltcp {} -> {}: {} => {}",
            self.local,
            self.remote,
            state_name(self.last_state),
            state_name(state)
        );
        if has_received_fin(state) {
            self.peer_fin = true;
        }
        if state == State::Closed && self.failure.is_none() {
            self.failure = closing_failure(self.last_state, reset_seen);
        }
        self.last_state = state;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_answering_our_syn_is_refused_and_later_ones_are_resets() {
        assert_eq!(
            closing_failure(State::SynSent, true),
            Some(ApiError::ConnectionRefused)
        );
        assert_eq!(
            closing_failure(State::Established, true),
            Some(ApiError::ConnectionReset)
        );
        assert_eq!(
            closing_failure(State::CloseWait, true),
            Some(ApiError::ConnectionReset)
        );
    }

    #[test]
    fn closing_without_a_reset_from_an_open_state_is_a_timeout() {
        assert_eq!(
            closing_failure(State::SynSent, false),
            Some(ApiError::TimedOut)
        );
        assert_eq!(
            closing_failure(State::Established, false),
            Some(ApiError::TimedOut)
        );
    }

    #[test]
    fn the_normal_ends_of_a_connection_are_not_failures() {
        for from in [State::LastAck, State::TimeWait, State::Closing] {
            assert_eq!(closing_failure(from, false), None);
            assert_eq!(closing_failure(from, true), None);
        }
    }
}
