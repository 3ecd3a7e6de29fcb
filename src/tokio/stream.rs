//! [`TcpStream`]: tokio's `AsyncRead` and `AsyncWrite` over a connection
//! of our stack.

use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::socket::{self, Stack};

/// A connection of our stack for async code. Dropping it closes the
/// connection gracefully (FIN after the queued data), as the blocking
/// stream does.
pub struct TcpStream {
    inner: socket::TcpStream,
}

impl TcpStream {
    /// Connects through the default stack (`Stack::set_default`).
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        TcpStream::connect_on(&Stack::default_stack()?, addr).await
    }

    /// Connects through `stack`: SYN now, ready when the handshake is
    /// done (or refused, or timed out). Dropping the future before that
    /// abandons the connection.
    pub async fn connect_on(stack: &Stack, addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let stream = socket::TcpStream::begin_connect(stack, addr)?;
        poll_fn(|cx| stream.poll_connected(cx)).await?;
        Ok(TcpStream::from_blocking(stream))
    }

    pub(super) fn from_blocking(inner: socket::TcpStream) -> TcpStream {
        TcpStream { inner }
    }

    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Turns Nagle's algorithm off (`true`): small writes go out at once.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_nodelay(nodelay)
    }

    /// The blocking stream underneath, e.g. for `tcp_state`.
    pub fn get_ref(&self) -> &socket::TcpStream {
        &self.inner
    }
}

impl AsyncRead for TcpStream {
    /// Ready with no bytes added at the end of the stream (the peer's FIN).
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let unfilled = buf.initialize_unfilled();
        match self.inner.poll_read(cx, unfilled) {
            Poll::Ready(Ok(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.inner.poll_write(cx, buf)
    }

    /// Written bytes are in the engine already: nothing to flush.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Half-close: FIN after the queued data; reading goes on.
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.inner.shutdown(Shutdown::Write))
    }
}

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}
