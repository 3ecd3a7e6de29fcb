//! [`Poll`]: readiness for event-driven servers, in mio's shape.
//!
//! One thread serves any number of sockets: it registers each with a
//! [`Token`] and the [`Interest`] it has, sleeps in [`Poll::poll`] until
//! some of them can make progress, and handles the [`Events`]. Sockets
//! registered are non-blocking, so a call that cannot make progress says
//! `WouldBlock` instead of waiting.
//!
//! Events are edge-triggered, as mio's: an event says a socket *became*
//! readable (or writable, ...); the next one comes after it changes again.
//! So on an event, read (or accept, or write) until `WouldBlock`, and keep
//! what you could not write for the next writable event.
//!
//! A whole echo server, run here between two stacks joined by a
//! socketpair (on a TUN device it is the same code):
//!
//! ```
//! # fn main() -> std::io::Result<()> {
//! use std::collections::HashMap;
//! use std::io::{ErrorKind, Read, Write};
//! use tuntcp::socket::{Events, Interest, Poll, Stack, TcpListener, TcpStream, Token};
//! # use tuntcp::device::socketpair::SocketPairDevice;
//! # use tuntcp::engine::{Stack as Engine, StackConfig};
//! # let (wire_a, wire_b) = SocketPairDevice::pair()?;
//! # let engine = |ip: &str| Box::new(Engine::new(StackConfig::new(ip.parse().unwrap())));
//! # let stack = Stack::start(engine("192.0.2.2"), Box::new(wire_a))?;
//! # let client_stack = Stack::start(engine("192.0.2.1"), Box::new(wire_b))?;
//! # let timeout = Some(std::time::Duration::from_secs(10));
//!
//! const LISTENER: Token = Token(0);
//! let mut listener = TcpListener::bind_on(&stack, "0.0.0.0:7", 128)?;
//! let mut poll = Poll::new(&stack)?;
//! let mut events = Events::with_capacity(256);
//! poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
//! let mut clients: HashMap<Token, TcpStream> = HashMap::new();
//! # let mut client = TcpStream::connect_on(&client_stack, "192.0.2.2:7", timeout)?;
//! # client.write_all(b"hello")?;
//! # client.shutdown(std::net::Shutdown::Write)?;
//! # let mut served = 0;
//!
//! # while served == 0 {
//! # /*
//! loop {
//! # */
//!     poll.poll(&mut events, None)?;
//!     for event in events.iter() {
//!         if event.token() == LISTENER {
//!             loop {
//!                 match listener.accept() {
//!                     Ok((mut stream, _peer)) => {
//!                         let token = Token(clients.len() + 1);
//!                         poll.registry().register(&mut stream, token, Interest::READABLE)?;
//!                         clients.insert(token, stream);
//!                     }
//!                     Err(err) if err.kind() == ErrorKind::WouldBlock => break,
//!                     Err(err) => return Err(err),
//!                 }
//!             }
//!         } else if let Some(stream) = clients.get_mut(&event.token()) {
//!             let mut buf = [0u8; 4096];
//!             loop {
//!                 match stream.read(&mut buf) {
//!                     Ok(0) => {
//!                         // The peer's FIN: done (a real server keeps what
//!                         // it could not write yet, see `tuntcp echo --mode event`).
//!                         clients.remove(&event.token());
//! #                       served += 1;
//!                         break;
//!                     }
//!                     Ok(n) => { let _ = stream.write(&buf[..n])?; }
//!                     Err(err) if err.kind() == ErrorKind::WouldBlock => break,
//!                     Err(err) => return Err(err),
//!                 }
//!             }
//!         }
//!     }
//! }
//! # let mut echoed = Vec::new();
//! # client.read_to_end(&mut echoed)?;
//! # assert_eq!(echoed, b"hello");
//! # Ok(())
//! # }
//! ```

use std::io;
use std::sync::Arc;
use std::time::Duration;

use super::error::stack_stopped;
use super::stack::Stack;
use super::{TcpListener, TcpStream};
use crate::driver::{PolledEvent, RegisterError};
use crate::engine::{Readiness, Watched};

/// Names a registered socket in the events, as the application chooses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(pub usize);

/// What a registration wants to hear of. Errors and the peer's FIN are
/// always reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interest(Readiness);

impl Interest {
    /// Data (or end of stream, or an error) to read; a connection to accept.
    pub const READABLE: Interest = Interest(Readiness::READABLE);
    /// Room to write (or an error to learn).
    pub const WRITABLE: Interest = Interest(Readiness::WRITABLE);

    /// Both interests.
    pub const fn add(self, other: Interest) -> Interest {
        Interest(Readiness::from_bits(self.0.bits() | other.0.bits()))
    }
}

impl std::ops::BitOr for Interest {
    type Output = Interest;
    fn bitor(self, other: Interest) -> Interest {
        self.add(other)
    }
}

/// One socket that can make progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    token: Token,
    readiness: Readiness,
}

impl Event {
    pub fn token(&self) -> Token {
        self.token
    }

    /// `read` has data, the end of the stream or an error; `accept` has a
    /// connection.
    pub fn is_readable(&self) -> bool {
        self.readiness.contains(Readiness::READABLE)
    }

    /// `write` has room (or an error to give).
    pub fn is_writable(&self) -> bool {
        self.readiness.contains(Readiness::WRITABLE)
    }

    /// The peer sent FIN: after the data before it, `read` returns 0.
    pub fn is_read_closed(&self) -> bool {
        self.readiness.contains(Readiness::READ_CLOSED)
    }

    /// The connection failed (reset, refused, timed out); the next call
    /// says which.
    pub fn is_error(&self) -> bool {
        self.readiness.contains(Readiness::ERROR)
    }
}

/// The events one [`Poll::poll`] returned, at most the capacity.
pub struct Events {
    events: Vec<Event>,
    capacity: usize,
    scratch: Vec<PolledEvent>,
}

impl Events {
    pub fn with_capacity(capacity: usize) -> Events {
        Events {
            events: Vec::with_capacity(capacity),
            capacity: capacity.max(1),
            scratch: Vec::with_capacity(capacity),
        }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Event> {
        self.events.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub fn clear(&mut self) {
        self.events.clear();
    }
}

impl<'a> IntoIterator for &'a Events {
    type Item = &'a Event;
    type IntoIter = std::slice::Iter<'a, Event>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// A socket that can be registered: [`TcpListener`] and [`TcpStream`].
pub trait Source {
    /// The stack the socket lives on and its handle there.
    fn stack_and_handle(&self) -> (&Stack, Watched);
    /// Registered sockets never block.
    fn make_nonblocking(&self) -> io::Result<()>;
}

impl Source for TcpListener {
    fn stack_and_handle(&self) -> (&Stack, Watched) {
        (self.stack(), self.watched())
    }
    fn make_nonblocking(&self) -> io::Result<()> {
        self.set_nonblocking(true)
    }
}

impl Source for TcpStream {
    fn stack_and_handle(&self) -> (&Stack, Watched) {
        (self.stack(), self.watched())
    }
    fn make_nonblocking(&self) -> io::Result<()> {
        self.set_nonblocking(true)
    }
}

/// Where sockets are registered with their poll.
pub struct Registry {
    stack: Stack,
    poll: u64,
}

impl Registry {
    /// Starts reporting `source`'s readiness as `token` events, and makes
    /// it non-blocking. If it is ready already, the next poll says so.
    pub fn register<S: Source + ?Sized>(
        &self,
        source: &mut S,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        self.set(source, token, interest, false)
    }

    /// Changes the token or interest of a registered socket.
    pub fn reregister<S: Source + ?Sized>(
        &self,
        source: &mut S,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        self.set(source, token, interest, true)
    }

    /// Stops reporting `source`. (Dropping a socket deregisters it too.)
    pub fn deregister<S: Source + ?Sized>(&self, source: &mut S) -> io::Result<()> {
        let handle = self.handle_of(source)?;
        let cell = self.stack.cell();
        let result = cell.lock().waiters.deregister(self.poll, handle);
        result.map_err(registration_error)
    }

    fn set<S: Source + ?Sized>(
        &self,
        source: &mut S,
        token: Token,
        interest: Interest,
        update: bool,
    ) -> io::Result<()> {
        let handle = self.handle_of(source)?;
        source.make_nonblocking()?;
        let cell = self.stack.cell();
        let mut core = cell.lock();
        // Events queued before now are about readiness `now` includes.
        cell.dispatch_readiness(&mut core);
        let now = core.readiness(handle).unwrap_or(Readiness::EMPTY);
        let registration = (token.0, interest.0);
        let result = core
            .waiters
            .register(self.poll, handle, registration, now, update);
        result.map_err(registration_error)
    }

    fn handle_of<S: Source + ?Sized>(&self, source: &S) -> io::Result<Watched> {
        let (stack, handle) = source.stack_and_handle();
        if !Arc::ptr_eq(stack.cell(), self.stack.cell()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the socket belongs to another stack than the poll",
            ));
        }
        Ok(handle)
    }
}

fn registration_error(err: RegisterError) -> io::Error {
    match err {
        RegisterError::AlreadyRegistered => io::Error::new(
            io::ErrorKind::AlreadyExists,
            "the socket is registered already: use reregister",
        ),
        RegisterError::NotRegistered => io::Error::new(
            io::ErrorKind::NotFound,
            "the socket is not registered with this poll",
        ),
    }
}

/// Waits for readiness events of the sockets registered with it.
pub struct Poll {
    registry: Registry,
}

impl Poll {
    /// A poll for sockets of `stack`.
    pub fn new(stack: &Stack) -> io::Result<Poll> {
        let poll = stack.cell().lock().waiters.new_poll();
        Ok(Poll {
            registry: Registry {
                stack: stack.clone(),
                poll,
            },
        })
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Replaces `events` with what happened since the last call, waiting
    /// up to `timeout` (`None`: for ever) for at least one event. An empty
    /// `events` means the timeout passed. Fails once the stack stopped.
    pub fn poll(&mut self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.clear();
        let cell = self.registry.stack.cell();
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        let mut core = cell.lock();
        loop {
            cell.dispatch_readiness(&mut core);
            core.waiters
                .take_events(self.registry.poll, events.capacity, &mut events.scratch);
            events
                .events
                .extend(events.scratch.drain(..).map(|e| Event {
                    token: Token(e.token),
                    readiness: e.readiness,
                }));
            if !events.is_empty() {
                return Ok(());
            }
            if cell.is_stopped() {
                return Err(stack_stopped(cell));
            }
            let Some(condvar) = core.waiters.poll_condvar(self.registry.poll) else {
                return Ok(());
            };
            let (guard, timed_out) = cell.sleep(core, &condvar, deadline);
            core = guard;
            if timed_out && !cell.is_stopped() {
                return Ok(());
            }
        }
    }
}

impl Drop for Poll {
    fn drop(&mut self) {
        let cell = self.registry.stack.cell();
        cell.lock().waiters.drop_poll(self.registry.poll);
    }
}
