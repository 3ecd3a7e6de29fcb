//! [`TcpStream`]: connect → write/read → shutdown → close.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use super::error::{stack_stopped, to_io_error};
use super::stack::{resolve, Stack};
use super::task::poll_call;
use crate::driver::TaskDirection;
use crate::engine::{ApiError, ConnId, ConnInfo, Engine, KeepAlive, Watched};

/// A TCP connection, like `std::net::TcpStream`.
///
/// `read` returns 0 once the peer has sent FIN and every byte before it has
/// been read. `shutdown(Write)` sends FIN and reading goes on (half-close).
/// Dropping the last clone closes the connection gracefully.
pub struct TcpStream {
    inner: Arc<StreamInner>,
}

/// What clones made by [`TcpStream::try_clone`] share, as dup'ed file
/// descriptors share one socket and its options.
struct StreamInner {
    stack: Stack,
    conn: ConnId,
    local: SocketAddr,
    peer: SocketAddr,
    nonblocking: AtomicBool,
    read_shut: AtomicBool,
    read_timeout: Mutex<Option<Duration>>,
    write_timeout: Mutex<Option<Duration>>,
}

impl TcpStream {
    /// Opens a connection through the default stack (see
    /// [`Stack::set_default`]), waiting for the 3-way handshake.
    pub fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        TcpStream::connect_on(&Stack::default_stack()?, addr, None)
    }

    /// Opens a connection through `stack`: sends SYN and waits until the
    /// handshake completes, is refused, or `timeout` passes.
    pub fn connect_on(
        stack: &Stack,
        addr: impl ToSocketAddrs,
        timeout: Option<Duration>,
    ) -> io::Result<TcpStream> {
        let remote = resolve(addr)?;
        let cell = stack.cell();
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        let mut engine = cell.lock();
        let conn = engine
            .connect(cell.now(), remote, None)
            .map_err(to_io_error)?;
        cell.transmit(&mut engine);
        loop {
            match engine.connect_status(conn) {
                Ok(()) => break,
                Err(ApiError::WouldBlock) => {
                    let (guard, timed_out) = cell.wait_for(engine, Watched::Conn(conn), deadline);
                    engine = guard;
                    if timed_out || cell.is_stopped() {
                        engine.abort(conn);
                        cell.transmit(&mut engine);
                        return Err(if cell.is_stopped() {
                            stack_stopped(cell)
                        } else {
                            to_io_error(ApiError::TimedOut)
                        });
                    }
                }
                Err(err) => {
                    engine.abort(conn);
                    return Err(to_io_error(err));
                }
            }
        }
        let info = engine.conn_info(conn).map_err(to_io_error)?;
        drop(engine);
        log::info!("connected {} -> {}", info.local, info.remote);
        Ok(TcpStream::from_accepted(stack, conn, info))
    }

    pub(crate) fn from_accepted(stack: &Stack, conn: ConnId, info: ConnInfo) -> TcpStream {
        TcpStream {
            inner: Arc::new(StreamInner {
                stack: stack.clone(),
                conn,
                local: info.local,
                peer: info.remote,
                nonblocking: AtomicBool::new(false),
                read_shut: AtomicBool::new(false),
                read_timeout: Mutex::new(None),
                write_timeout: Mutex::new(None),
            }),
        }
    }

    /// The connection as readiness events name it.
    pub(crate) fn watched(&self) -> Watched {
        self.inner.watched()
    }

    pub(crate) fn stack(&self) -> &Stack {
        &self.inner.stack
    }

    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.peer)
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.local)
    }

    /// The connection's RFC 9293 state, e.g. "ESTABLISHED" or "CLOSE-WAIT".
    pub fn tcp_state(&self) -> io::Result<&'static str> {
        let engine = self.inner.stack.cell().lock();
        Ok(engine
            .conn_info(self.inner.conn)
            .map_err(to_io_error)?
            .state)
    }

    /// `Write` sends a FIN after the queued data (the peer's `read` returns
    /// 0); `Read` makes our own reads return 0; `Both` does both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            // Under the engine lock: a reader checks the flag under it too,
            // so it either sees it or is already waiting to be woken.
            let cell = self.inner.stack.cell();
            let mut core = cell.lock();
            self.inner.read_shut.store(true, Ordering::Relaxed);
            discard_received(&mut **core, self.inner.conn);
            cell.transmit(&mut core);
            core.waiters.wake(self.inner.watched());
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            let cell = self.inner.stack.cell();
            let mut core = cell.lock();
            core.shutdown_write(self.inner.conn).map_err(to_io_error)?;
            cell.transmit(&mut core);
        }
        Ok(())
    }

    /// Turns Nagle's algorithm off (`true`): small writes go out at once.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        let cell = self.inner.stack.cell();
        cell.lock()
            .set_nodelay(self.inner.conn, nodelay)
            .map_err(to_io_error)
    }

    /// As `std::net::TcpStream::take_error` (SO_ERROR): the error that
    /// ended the connection, or else the last soft error, such as an ICMP
    /// "host unreachable" that did not end it (RFC 9293 §3.9.2.2); a soft
    /// error is given once.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        let cell = self.inner.stack.cell();
        let error = cell.lock().take_error(self.inner.conn);
        Ok(error.map_err(to_io_error)?.map(to_io_error))
    }

    /// Keep-alive probes for this connection (RFC 1122 §4.2.3.6): off by
    /// default; `Some` sets the idle time, interval and count, as
    /// socket2's `set_tcp_keepalive` does for a kernel socket.
    pub fn set_keepalive(&self, keepalive: Option<KeepAlive>) -> io::Result<()> {
        let cell = self.inner.stack.cell();
        let mut engine = cell.lock();
        let result = engine.set_keepalive(self.inner.conn, keepalive);
        cell.transmit(&mut engine);
        result.map_err(to_io_error)
    }

    /// R2 for this connection (RFC 9293 §3.8.3, MUST-21), as Linux's
    /// TCP_USER_TIMEOUT: how long sent data may go unacknowledged before
    /// the connection fails with `TimedOut`; `None` restores the default.
    pub fn set_user_timeout(&self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        let cell = self.inner.stack.cell();
        let mut engine = cell.lock();
        let result = engine.set_user_timeout(self.inner.conn, timeout);
        cell.transmit(&mut engine);
        result.map_err(to_io_error)
    }

    /// Sends `data` as urgent data (RFC 9293 §3.8.5; socket2 calls it
    /// `send_out_of_band`): it goes inline, and the urgent pointer marks
    /// its end. Returns how much was queued, as `write` does.
    pub fn send_urgent(&self, data: &[u8]) -> io::Result<usize> {
        let cell = self.inner.stack.cell();
        let mut engine = cell.lock();
        let result = engine.send_urgent(self.inner.conn, data);
        cell.transmit(&mut engine);
        result.map_err(to_io_error)
    }

    /// Bytes to read before the peer's urgent mark, 0 when no urgent data
    /// is ahead (SIOCATMARK's question). A `read` never crosses the mark.
    pub fn urgent_remaining(&self) -> io::Result<usize> {
        let cell = self.inner.stack.cell();
        let remaining = cell.lock().urgent_remaining(self.inner.conn);
        remaining.map_err(to_io_error)
    }

    /// The DiffServ field of this connection's packets, as IP_TOS
    /// (DSCP << 2; RFC 9293 §3.9.1.9). May change while it is open.
    pub fn set_tos(&self, tos: u8) -> io::Result<()> {
        let cell = self.inner.stack.cell();
        let result = cell.lock().set_tos(self.inner.conn, tos);
        result.map_err(to_io_error)
    }

    /// `None` waits forever; `Some(zero)` is refused, as in std.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        *lock(&self.inner.read_timeout) = check_timeout(timeout)?;
        Ok(())
    }

    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        *lock(&self.inner.write_timeout) = check_timeout(timeout)?;
        Ok(())
    }

    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(*lock(&self.inner.read_timeout))
    }

    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(*lock(&self.inner.write_timeout))
    }

    /// In non-blocking mode reads and writes return `WouldBlock` instead of
    /// waiting.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.nonblocking.store(nonblocking, Ordering::Relaxed);
        Ok(())
    }

    /// Another handle to the same connection (as `dup(2)`), e.g. to read in
    /// one thread and write in another.
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(TcpStream {
            inner: Arc::clone(&self.inner),
        })
    }

    /// Sends FIN and waits until the peer has acknowledged it (our side in
    /// FIN-WAIT-2, TIME-WAIT or CLOSED), at most `timeout`: what a program
    /// about to exit does so its last bytes and FIN are not lost with it.
    pub fn linger(&self, timeout: Duration) -> io::Result<()> {
        self.shutdown(Shutdown::Write)?;
        let finished = |state: &str| matches!(state, "FIN-WAIT-2" | "TIME-WAIT" | "CLOSED");
        self.inner
            .wait(Some(timeout), |engine, conn| match engine.conn_info(conn) {
                Ok(info) if finished(info.state) => Ok(()),
                Ok(_) => Err(ApiError::WouldBlock),
                Err(err) => Err(err),
            })
            .map_err(|err| match err.kind() {
                io::ErrorKind::WouldBlock => io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the peer did not acknowledge our FIN in time",
                ),
                _ => err,
            })
    }
}

/// The calls async streams are made of (`tuntcp::tokio` wraps them for
/// tokio; they need no runtime): each runs once and, when it would block,
/// returns `Pending` with the task woken at the connection's next
/// readiness event.
impl TcpStream {
    /// Sends SYN through `stack` and returns at once; the stream is
    /// connected when [`TcpStream::poll_connected`] says so.
    pub fn begin_connect(stack: &Stack, addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let remote = resolve(addr)?;
        let cell = stack.cell();
        let mut engine = cell.lock();
        let conn = engine
            .connect(cell.now(), remote, None)
            .map_err(to_io_error)?;
        cell.transmit(&mut engine);
        let info = engine.conn_info(conn).map_err(to_io_error)?;
        drop(engine);
        Ok(TcpStream::from_accepted(stack, conn, info))
    }

    /// Ready once the handshake completed (or failed: refused, timed out).
    pub fn poll_connected(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let conn = self.inner.conn;
        self.poll_call(cx, TaskDirection::Read, |engine| {
            engine.connect_status(conn)
        })
    }

    /// `read` for an async task.
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let (conn, read_shut) = (self.inner.conn, &self.inner.read_shut);
        self.poll_call(cx, TaskDirection::Read, |engine| {
            recv_unless_shut(read_shut, engine, conn, buf)
        })
    }

    /// `write` for an async task.
    pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let conn = self.inner.conn;
        self.poll_call(cx, TaskDirection::Write, |engine| engine.send(conn, buf))
    }

    fn poll_call<T>(
        &self,
        cx: &mut Context<'_>,
        direction: TaskDirection,
        call: impl FnOnce(&mut dyn Engine) -> Result<T, ApiError>,
    ) -> Poll<io::Result<T>> {
        poll_call(&self.inner.stack, self.watched(), direction, cx, call)
    }
}

impl StreamInner {
    /// The connection as readiness events name it.
    fn watched(&self) -> Watched {
        Watched::Conn(self.conn)
    }

    /// Runs `op` until it stops saying `WouldBlock`, waiting for driver
    /// turns in between unless non-blocking, at most `timeout`.
    fn wait<T>(
        &self,
        timeout: Option<Duration>,
        mut op: impl FnMut(&mut dyn Engine, ConnId) -> Result<T, ApiError>,
    ) -> io::Result<T> {
        let cell = self.stack.cell();
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        let mut engine = cell.lock();
        loop {
            match op(&mut **engine, self.conn) {
                Ok(value) => {
                    // Reading may open the window, writing queues data:
                    // send what became due.
                    cell.transmit(&mut engine);
                    return Ok(value);
                }
                Err(ApiError::WouldBlock) => {
                    if self.nonblocking.load(Ordering::Relaxed) {
                        return Err(to_io_error(ApiError::WouldBlock));
                    }
                    if cell.is_stopped() {
                        return Err(stack_stopped(cell));
                    }
                    let (guard, timed_out) = cell.wait_for(engine, self.watched(), deadline);
                    engine = guard;
                    if timed_out && !cell.is_stopped() {
                        // std reports an expired socket timeout as WouldBlock on Unix.
                        return Err(io::Error::new(
                            io::ErrorKind::WouldBlock,
                            "timed out waiting for the peer",
                        ));
                    }
                }
                Err(err) => return Err(to_io_error(err)),
            }
        }
    }
}

impl Read for &TcpStream {
    /// After `shutdown(Read)` every read is end-of-stream, and what arrives
    /// is discarded so the peer's window does not stay shut.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let timeout = *lock(&self.inner.read_timeout);
        let read_shut = &self.inner.read_shut;
        self.inner.wait(timeout, |engine, conn| {
            recv_unless_shut(read_shut, engine, conn, buf)
        })
    }
}

/// `recv`, or end-of-stream after `shutdown(Read)` (dropping what arrives,
/// so the peer's window does not stay shut).
fn recv_unless_shut(
    read_shut: &AtomicBool,
    engine: &mut dyn Engine,
    conn: ConnId,
    buf: &mut [u8],
) -> Result<usize, ApiError> {
    if read_shut.load(Ordering::Relaxed) {
        discard_received(engine, conn);
        return Ok(0);
    }
    engine.recv(conn, buf)
}

/// Reads and drops whatever the engine holds for `conn`.
fn discard_received(engine: &mut dyn Engine, conn: ConnId) {
    let mut scratch = [0u8; 4096];
    while matches!(engine.recv(conn, &mut scratch), Ok(n) if n > 0) {}
}

impl Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let timeout = *lock(&self.inner.write_timeout);
        self.inner
            .wait(timeout, |engine, conn| engine.send(conn, buf))
    }

    /// Data is handed to the engine by `write`; there is no user-space
    /// buffer to flush.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        (&*self).flush()
    }
}

impl Drop for StreamInner {
    /// close(2): FIN after the queued data; the engine finishes the close.
    fn drop(&mut self) {
        let cell = self.stack.cell();
        let mut core = cell.lock();
        core.close(self.conn);
        core.waiters.forget(self.watched());
        cell.transmit(&mut core);
        log::debug!("closed {} -> {}", self.local, self.peer);
    }
}

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.inner.local)
            .field("peer", &self.inner.peer)
            .finish()
    }
}

fn check_timeout(timeout: Option<Duration>) -> io::Result<Option<Duration>> {
    if timeout == Some(Duration::ZERO) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot set a 0 duration timeout",
        ));
    }
    Ok(timeout)
}

fn lock<T: Copy>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
