//! [`TcpListener`]: accept as a future.

use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::task::{Context, Poll};

use super::TcpStream;
use crate::socket::{self, Stack};

/// A listening socket of our stack whose `accept` is async.
pub struct TcpListener {
    inner: socket::TcpListener,
}

impl TcpListener {
    /// Listens on `addr` of the default stack (`Stack::set_default`) with
    /// a backlog of 128. Binding never waits; it is `async` to match
    /// `tokio::net::TcpListener::bind`.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        Ok(TcpListener {
            inner: socket::TcpListener::bind(addr)?,
        })
    }

    /// Listens on `addr` of `stack` with an accept queue of `backlog`.
    pub fn bind_on(
        stack: &Stack,
        addr: impl ToSocketAddrs,
        backlog: usize,
    ) -> io::Result<TcpListener> {
        Ok(TcpListener {
            inner: socket::TcpListener::bind_on(stack, addr, backlog)?,
        })
    }

    /// The next connection from the accept queue.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// `accept` as a poll, for hand-written futures.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        self.inner
            .poll_accept(cx)
            .map_ok(|(stream, peer)| (TcpStream::from_blocking(stream), peer))
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}
