//! [`TcpListener`]: socket → bind → listen(backlog) → accept.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use super::error::{stack_stopped, to_io_error};
use super::stack::Stack;
use super::stream::TcpStream;
use super::task::poll_call;
use crate::driver::TaskDirection;
use crate::engine::{ApiError, ListenerId, Watched};

/// The accept queue length `bind` asks for, as Linux's default somaxconn.
pub const DEFAULT_BACKLOG: usize = 128;

/// A listening TCP socket, like `std::net::TcpListener`.
///
/// Binding and listening are one step (as in std): the engine starts
/// answering SYNs at once, and completed connections wait in the accept
/// queue (the backlog) until [`TcpListener::accept`] takes them.
pub struct TcpListener {
    stack: Stack,
    id: ListenerId,
    /// What `local_addr` says: the bound address, the unspecified one
    /// shown as the stack's own.
    local: SocketAddr,
    nonblocking: AtomicBool,
}

impl TcpListener {
    /// Listens on `addr` of the default stack (see [`Stack::set_default`])
    /// with a backlog of [`DEFAULT_BACKLOG`].
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        TcpListener::bind_on(&Stack::default_stack()?, addr, DEFAULT_BACKLOG)
    }

    /// Listens on `addr` of `stack` with an accept queue of `backlog`.
    /// Port 0 is not supported (there is nothing to pick it for yet).
    pub fn bind_on(
        stack: &Stack,
        addr: impl ToSocketAddrs,
        backlog: usize,
    ) -> io::Result<TcpListener> {
        let (bind, local) = stack.local_endpoint(addr)?;
        let id = stack
            .cell()
            .lock()
            .listen(bind, backlog)
            .map_err(to_io_error)?;
        log::info!("listening on {bind} (backlog {backlog})");
        Ok(TcpListener {
            stack: stack.clone(),
            id,
            local,
            nonblocking: AtomicBool::new(false),
        })
    }

    /// Takes the next completed connection off the accept queue, waiting
    /// for one unless the listener is non-blocking.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let cell = self.stack.cell();
        let mut engine = cell.lock();
        loop {
            match engine.accept(self.id) {
                Ok(conn) => {
                    let info = engine.conn_info(conn).map_err(to_io_error)?;
                    drop(engine);
                    log::info!("accepted {} -> {}", info.remote, info.local);
                    let stream = TcpStream::from_accepted(&self.stack, conn, info);
                    return Ok((stream, info.remote));
                }
                Err(ApiError::WouldBlock) if !self.nonblocking.load(Ordering::Relaxed) => {
                    if cell.is_stopped() {
                        return Err(stack_stopped(cell));
                    }
                    engine = cell.wait_for(engine, self.watched(), None).0;
                }
                Err(err) => return Err(to_io_error(err)),
            }
        }
    }

    /// `accept` for an async task: ready with a connection, or the task
    /// is woken when the accept queue changes.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let id = self.id;
        let accepted = poll_call(
            &self.stack,
            self.watched(),
            TaskDirection::Read,
            cx,
            |engine| {
                let conn = engine.accept(id)?;
                Ok((conn, engine.conn_info(conn)?))
            },
        );
        accepted.map_ok(|(conn, info)| {
            log::info!("accepted {} -> {}", info.remote, info.local);
            let stream = TcpStream::from_accepted(&self.stack, conn, info);
            (stream, info.remote)
        })
    }

    /// An endless iterator of `accept()` results, as in std.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }

    /// In non-blocking mode `accept` returns `WouldBlock` instead of waiting.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
        Ok(())
    }

    /// The listener as readiness events name it.
    pub(crate) fn watched(&self) -> Watched {
        Watched::Listener(self.id)
    }

    /// The stack this listener lives on (to make a [`super::Poll`] for it).
    pub fn stack(&self) -> &Stack {
        &self.stack
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        // Connections nobody accepted are reset: send those RSTs now.
        let cell = self.stack.cell();
        let mut core = cell.lock();
        core.close_listener(self.id);
        core.waiters.forget(self.watched());
        cell.transmit(&mut core);
    }
}

/// Iterator returned by [`TcpListener::incoming`].
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;
    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().map(|(stream, _)| stream))
    }
}
