//! A listening port as a pool of smoltcp sockets.
//!
//! A smoltcp socket in LISTEN takes exactly one connection: the SYN turns
//! the listening socket itself into the connection. To serve many clients
//! at once, `listen` creates `backlog` sockets listening on the same port;
//! each connection completes its handshake and buffers data in its own
//! socket until `accept` hands it out (that *is* the backlog: an iterative
//! server's second client waits here). `accept` then puts a fresh
//! listening socket in its place.

use std::net::SocketAddr;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp::State;
use smoltcp::wire::IpListenEndpoint;

/// One socket of the pool.
#[derive(Debug)]
pub struct PoolSocket {
    pub handle: SocketHandle,
    /// When the handshake was seen to complete (a counter, not a time), so
    /// `accept` hands connections out oldest first. `None` while listening
    /// or in SYN-RECEIVED.
    pub ready_since: Option<u64>,
}

/// All sockets listening on one local address and port.
#[derive(Debug)]
pub struct ListenerPool {
    /// The address asked for; `0.0.0.0` or `[::]` means any of ours, of
    /// either family (a dual-stack listener).
    pub local: SocketAddr,
    pub sockets: Vec<PoolSocket>,
    /// Filed in the engine's `changed` list, not drained yet.
    pub change_queued: bool,
}

impl ListenerPool {
    pub fn new(local: SocketAddr) -> ListenerPool {
        ListenerPool {
            local,
            sockets: Vec::new(),
            change_queued: false,
        }
    }

    /// What each listening socket of the pool is told to listen on.
    pub fn endpoint(&self) -> IpListenEndpoint {
        let addr = if self.local.ip().is_unspecified() {
            None
        } else {
            Some(self.local.ip().into())
        };
        IpListenEndpoint {
            addr,
            port: self.local.port(),
        }
    }

    /// Index of the connection that completed its handshake first.
    pub fn oldest_ready(&self) -> Option<usize> {
        self.sockets
            .iter()
            .enumerate()
            .filter_map(|(index, socket)| socket.ready_since.map(|order| (order, index)))
            .min()
            .map(|(_, index)| index)
    }
}

/// A pool socket in this state holds a connection `accept` can hand out:
/// past SYN-RECEIVED (RFC 9293 §3.10.7.3, the ACK of our SYN arrived),
/// including CLOSE-WAIT and beyond when the client already sent FIN.
pub fn is_acceptable(state: State) -> bool {
    !matches!(state, State::Listen | State::SynReceived | State::Closed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::iface::SocketSet;
    use smoltcp::socket::tcp;

    fn handles(count: usize) -> Vec<SocketHandle> {
        let mut set = SocketSet::new(vec![]);
        (0..count)
            .map(|_| {
                set.add(tcp::Socket::new(
                    tcp::SocketBuffer::new(vec![0u8; 1]),
                    tcp::SocketBuffer::new(vec![0u8; 1]),
                ))
            })
            .collect()
    }

    #[test]
    fn oldest_ready_picks_the_earliest_completed_handshake_not_the_first_slot() {
        let mut pool = ListenerPool::new("0.0.0.0:80".parse().unwrap());
        for (handle, ready_since) in handles(3).into_iter().zip([None, Some(7), Some(3)]) {
            pool.sockets.push(PoolSocket {
                handle,
                ready_since,
            });
        }
        assert_eq!(pool.oldest_ready(), Some(2));
        pool.sockets[2].ready_since = None;
        assert_eq!(pool.oldest_ready(), Some(1));
    }

    #[test]
    fn any_address_listens_without_an_address() {
        let pool = ListenerPool::new("0.0.0.0:80".parse().unwrap());
        assert_eq!(pool.endpoint().addr, None);
        let pool = ListenerPool::new("192.0.2.2:80".parse().unwrap());
        assert!(pool.endpoint().addr.is_some());
    }

    #[test]
    fn established_and_half_closed_connections_are_acceptable() {
        assert!(is_acceptable(State::Established));
        assert!(is_acceptable(State::CloseWait));
        assert!(!is_acceptable(State::SynReceived));
        assert!(!is_acceptable(State::Listen));
    }
}
