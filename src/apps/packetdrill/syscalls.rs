//! The system calls a script makes, played as an application plays them
//! on the engine's API: a table of script file descriptors, the calls, and
//! their results and errno as the script writes them.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::keepalive::{KeepOptions, KEEP_OPTIONS};
use super::loose::{Loosening, Strictness};
use super::script::{Expr, SyscallSpec};
use super::settings::{peer_ip, stack_ip};
use crate::engine::{ApiError, ConnId, Engine, ListenerId, Readiness, Watched};
use crate::time::Instant;

/// The port `bind(fd, ..., ...)` gives the socket, and the port
/// `connect(fd, ..., ...)` connects to on the peer (packetdrill's 8080).
pub const SCRIPT_PORT: u16 = 8080;

/// The first descriptor `socket()` returns, as on a fresh process.
const FIRST_FD: i64 = 3;

/// The calls [`Sockets::execute`] plays; a script with another is skipped.
pub const CALLS: &[&str] = &[
    "socket",
    "bind",
    "listen",
    "accept",
    "connect",
    "read",
    "recv",
    "write",
    "send",
    "shutdown",
    "close",
    "fcntl",
    "setsockopt",
    "getsockopt",
    "poll",
];
/// The options setsockopt sets.
/// The keep-alive options (`keepalive.rs`) are in both lists.
pub const SETTABLE_OPTIONS: &[&str] = &[
    "SO_REUSEADDR",
    "SO_REUSEPORT",
    "TCP_NODELAY",
    "SO_LINGER",
    "SO_KEEPALIVE",
    "TCP_KEEPIDLE",
    "TCP_KEEPINTVL",
    "TCP_KEEPCNT",
    "TCP_KEEPINIT",
];
/// The options getsockopt reads.
pub const READABLE_OPTIONS: &[&str] = &[
    "SO_ERROR",
    "TCP_NODELAY",
    "SO_RCVBUF",
    "SO_SNDBUF",
    "SO_KEEPALIVE",
    "TCP_KEEPIDLE",
    "TCP_KEEPINTVL",
    "TCP_KEEPCNT",
    "TCP_KEEPINIT",
];

/// fcntl(2) flags, Linux values (scripts compare `F_GETFL` with O_RDWR).
const O_RDWR: i64 = 0x2;
const O_NONBLOCK: i64 = 0x800;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Handle {
    Fresh,
    Listener(ListenerId),
    Conn(ConnId),
}

#[derive(Clone, Debug)]
struct Socket {
    handle: Handle,
    nonblocking: bool,
    bound: bool,
    /// SO_LINGER with a zero timeout: close sends RST (RFC 9293 §3.10.5 ABORT).
    linger_zero: bool,
    nodelay: bool,
    /// SO_ERROR already gave the connection's error once.
    error_reported: bool,
    keep: KeepOptions,
}

/// What a call did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallResult {
    /// It returned `value` (-1 with `errno` for an error).
    Returned {
        value: i64,
        errno: Option<&'static str>,
    },
    /// It would block (a blocking socket and nothing to do yet).
    Blocked,
}

/// Why a call could not be checked: the script is SKIPPED (`Skip`) or has
/// FAILED (`Fail`, with what differed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    Skip(String),
    Fail(String),
}

/// What running a call gives.
pub type CallOutcome = Result<CallResult, CallError>;

/// Buffer sizes getsockopt reports when compared strictly.
#[derive(Clone, Copy, Debug, Default)]
pub struct BufferSizes {
    pub recv: Option<usize>,
    pub send: Option<usize>,
}

/// The application's side: its sockets by script descriptor.
#[derive(Debug, Default)]
pub struct Sockets {
    table: BTreeMap<i64, Socket>,
    /// The descriptor of the latest call, which `tcpi_state` asks about.
    last_fd: Option<i64>,
    /// The keep-alive sysctls in force, which a new socket inherits.
    keep_defaults: KeepOptions,
    /// The script speaks IPv6 (`--ip_version=ipv6`): its sockets bind and
    /// connect to the IPv6 addresses.
    ipv6: bool,
}

/// errno of an engine error, as a script writes it.
pub fn errno_of(error: ApiError) -> &'static str {
    match error {
        ApiError::WouldBlock => "EAGAIN",
        ApiError::ConnectionRefused => "ECONNREFUSED",
        ApiError::ConnectionReset => "ECONNRESET",
        ApiError::TimedOut => "ETIMEDOUT",
        ApiError::AddrInUse => "EADDRINUSE",
        ApiError::AddrNotAvailable => "EADDRNOTAVAIL",
        ApiError::NotConnected => "ENOTCONN",
        ApiError::BrokenPipe => "EPIPE",
        ApiError::InvalidHandle => "EBADF",
        ApiError::ResourceLimit => "ENOBUFS",
        ApiError::InvalidInput => "EINVAL",
        ApiError::HostUnreachable => "EHOSTUNREACH",
        ApiError::NetworkUnreachable => "ENETUNREACH",
        ApiError::Unsupported => "EOPNOTSUPP",
    }
}

/// EWOULDBLOCK is EAGAIN on every system the scripts come from.
pub fn same_errno(a: &str, b: &str) -> bool {
    let canonical = |name: &str| {
        if name == "EWOULDBLOCK" {
            "EAGAIN".to_string()
        } else {
            name.to_string()
        }
    };
    canonical(a) == canonical(b)
}

fn returned(value: i64) -> CallOutcome {
    Ok(CallResult::Returned { value, errno: None })
}

fn failed(error: ApiError) -> CallOutcome {
    Ok(CallResult::Returned {
        value: -1,
        errno: Some(errno_of(error)),
    })
}

fn skip<T>(why: String) -> Result<T, CallError> {
    Err(CallError::Skip(why))
}

impl Sockets {
    pub fn new() -> Sockets {
        Sockets {
            table: BTreeMap::new(),
            last_fd: None,
            keep_defaults: KeepOptions::default(),
            ipv6: false,
        }
    }

    /// A `sysctl -w net.inet.tcp.keep*` line, for sockets made after it;
    /// false for other commands.
    pub fn apply_sysctl(&mut self, command: &str) -> bool {
        self.keep_defaults.apply_sysctl(command)
    }

    /// The script's sockets are IPv6 ones.
    pub fn with_ipv6(self, ipv6: bool) -> Sockets {
        Sockets { ipv6, ..self }
    }

    fn socket(&mut self, fd: i64) -> Result<&mut Socket, CallError> {
        self.table
            .get_mut(&fd)
            .ok_or_else(|| CallError::Fail(format!("fd {fd} is not an open socket")))
    }

    fn open(&mut self, handle: Handle, like: Option<&Socket>) -> i64 {
        // POSIX: the lowest descriptor not open (a closed one is reused).
        let fd = (FIRST_FD..)
            .find(|fd| !self.table.contains_key(fd))
            .expect("a free descriptor");
        let socket = Socket {
            handle,
            nonblocking: false,
            bound: false,
            linger_zero: false,
            nodelay: like.is_some_and(|s| s.nodelay),
            error_reported: false,
            keep: like.map_or(self.keep_defaults, |s| s.keep),
        };
        self.table.insert(fd, socket);
        fd
    }

    /// Runs `call` at `now`.
    pub fn execute(
        &mut self,
        engine: &mut dyn Engine,
        now: Instant,
        call: &SyscallSpec,
        buffers: BufferSizes,
        strictness: Strictness,
    ) -> CallOutcome {
        let fd = fd_of(call);
        self.last_fd = Some(fd).filter(|fd| self.table.contains_key(fd));
        match call.name.as_str() {
            "socket" => self.socket_call(call),
            "bind" => {
                self.socket(fd)?.bound = true;
                returned(0)
            }
            "listen" => self.listen(engine, call),
            "accept" => self.accept(engine, fd),
            "connect" => self.connect(engine, now, fd),
            "read" | "recv" => self.read(engine, call),
            "write" | "send" => self.write(engine, call),
            "shutdown" => self.shutdown(engine, call),
            "close" => self.close(engine, fd),
            "fcntl" => self.fcntl(fd, call),
            "setsockopt" => self.setsockopt(engine, call),
            "getsockopt" => self.getsockopt(engine, fd, call, buffers, strictness),
            "poll" => self.poll(engine, call),
            other => skip(format!("system call {other}() is not supported")),
        }
    }

    /// The RFC 9293 state of the socket the latest call used, in
    /// TCP_INFO's spelling (`SYN_RECEIVED`); a socket closed since then, or
    /// never connected, is `CLOSED`.
    pub fn last_state(&self, engine: &dyn Engine) -> String {
        let handle = self
            .last_fd
            .and_then(|fd| self.table.get(&fd))
            .map(|s| s.handle);
        let state = match handle {
            Some(Handle::Listener(_)) => "LISTEN",
            Some(Handle::Conn(conn)) => engine.conn_info(conn).map_or("CLOSED", |info| info.state),
            Some(Handle::Fresh) | None => "CLOSED",
        };
        state.replace('-', "_")
    }

    /// poll(2) over `[{fd=N, events=POLLIN|POLLOUT, revents=...}]`: how
    /// many are ready, each `revents` checked; nothing ready with a
    /// timeout blocks (a timeout that expires is not played).
    fn poll(&mut self, engine: &mut dyn Engine, call: &SyscallSpec) -> CallOutcome {
        let Some(Expr::List(entries)) = call.args.first() else {
            return skip("poll without a list of descriptors".into());
        };
        let timeout = call.args.get(2).and_then(Expr::as_int).unwrap_or(0);
        let mut ready = 0;
        let mut differences = Vec::new();
        for entry in entries {
            let Expr::Struct(fields) = entry else {
                return skip("poll entry is not a struct".into());
            };
            let field = |name: &str| {
                fields
                    .iter()
                    .find(|f| f.0.as_deref() == Some(name))
                    .map(|f| &f.1)
            };
            let fd = field("fd").and_then(Expr::as_int).unwrap_or(-1);
            let asked = field("events").map(Expr::symbols).unwrap_or_default();
            let actual = self.revents(engine, fd, &asked);
            ready += usize::from(!actual.is_empty());
            if let Some(expected) = field("revents").map(Expr::symbols) {
                let mut expected = expected;
                expected.sort_unstable();
                if expected != actual {
                    differences.push(format!("fd {fd} revents {expected:?} against {actual:?}"));
                }
            }
        }
        match (ready, timeout) {
            (0, timeout) if timeout != 0 => Ok(CallResult::Blocked),
            _ if !differences.is_empty() => {
                Err(CallError::Fail(format!("poll: {}", differences.join(", "))))
            }
            _ => returned(ready as i64),
        }
    }

    /// The poll(2) events of `fd` among `asked` (POLLERR always), sorted.
    fn revents(&self, engine: &dyn Engine, fd: i64, asked: &[&str]) -> Vec<&'static str> {
        let watched = match self.table.get(&fd).map(|s| s.handle) {
            Some(Handle::Conn(conn)) => Watched::Conn(conn),
            Some(Handle::Listener(listener)) => Watched::Listener(listener),
            _ => return Vec::new(),
        };
        let readiness = engine.readiness(watched).unwrap_or_default();
        let readable = readiness.intersects(Readiness::READABLE | Readiness::READ_CLOSED);
        let mut revents = Vec::new();
        for (name, set) in [
            ("POLLERR", readiness.contains(Readiness::ERROR)),
            ("POLLIN", readable && asked.contains(&"POLLIN")),
            (
                "POLLOUT",
                readiness.contains(Readiness::WRITABLE) && asked.contains(&"POLLOUT"),
            ),
        ] {
            if set {
                revents.push(name);
            }
        }
        revents
    }

    fn socket_call(&mut self, call: &SyscallSpec) -> CallOutcome {
        let kind = call.args.get(1).map(Expr::symbols).unwrap_or_default();
        if kind != ["SOCK_STREAM"] {
            return skip(format!("socket type {kind:?} is not supported"));
        }
        let fd = self.open(Handle::Fresh, None);
        self.last_fd = Some(fd);
        returned(fd)
    }

    fn listen(&mut self, engine: &mut dyn Engine, call: &SyscallSpec) -> CallOutcome {
        let fd = fd_of(call);
        let backlog = call.args.get(1).and_then(Expr::as_int).unwrap_or(1).max(1) as usize;
        let local = SocketAddr::new(stack_ip(self.ipv6), SCRIPT_PORT);
        let socket = self.socket(fd)?;
        match engine.listen(local, backlog) {
            Ok(listener) => {
                socket.handle = Handle::Listener(listener);
                returned(0)
            }
            Err(error) => failed(error),
        }
    }

    fn accept(&mut self, engine: &mut dyn Engine, fd: i64) -> CallOutcome {
        let socket = self.socket(fd)?.clone();
        let Handle::Listener(listener) = socket.handle else {
            return failed(ApiError::InvalidInput);
        };
        match engine.accept(listener) {
            Ok(conn) => {
                if socket.nodelay {
                    let _ = engine.set_nodelay(conn, true);
                }
                socket.keep.apply(engine, conn);
                returned(self.open(Handle::Conn(conn), Some(&socket)))
            }
            Err(ApiError::WouldBlock) if !socket.nonblocking => Ok(CallResult::Blocked),
            Err(error) => failed(error),
        }
    }

    /// connect(2): starts the handshake; later calls report its progress.
    fn connect(&mut self, engine: &mut dyn Engine, now: Instant, fd: i64) -> CallOutcome {
        let remote = SocketAddr::new(peer_ip(self.ipv6), SCRIPT_PORT);
        let socket = self.socket(fd)?;
        let conn = match socket.handle {
            Handle::Fresh => {
                let local_port = socket.bound.then_some(SCRIPT_PORT);
                match engine.connect(now, remote, local_port) {
                    Ok(conn) => {
                        socket.handle = Handle::Conn(conn);
                        socket.keep.apply(engine, conn);
                        if socket.nonblocking {
                            return Ok(CallResult::Returned {
                                value: -1,
                                errno: Some("EINPROGRESS"),
                            });
                        }
                        conn
                    }
                    Err(error) => return failed(error),
                }
            }
            Handle::Conn(conn) => conn,
            Handle::Listener(_) => return failed(ApiError::InvalidInput),
        };
        match engine.connect_status(conn) {
            Ok(()) => returned(0),
            Err(ApiError::WouldBlock) if socket.nonblocking => Ok(CallResult::Returned {
                value: -1,
                errno: Some("EALREADY"),
            }),
            Err(ApiError::WouldBlock) => Ok(CallResult::Blocked),
            Err(error) => {
                socket.error_reported = true;
                failed(error)
            }
        }
    }

    fn conn_of(&mut self, fd: i64) -> Result<(ConnId, bool), CallError> {
        let socket = self.socket(fd)?;
        match socket.handle {
            Handle::Conn(conn) => Ok((conn, socket.nonblocking)),
            _ => Err(CallError::Fail(format!("fd {fd} is not a connection"))),
        }
    }

    fn read(&mut self, engine: &mut dyn Engine, call: &SyscallSpec) -> CallOutcome {
        let (conn, nonblocking) = self.conn_of(fd_of(call))?;
        let flags = call.args.get(3).map(Expr::symbols).unwrap_or_default();
        let mut buf = vec![0u8; byte_count(call)];
        let result = match flags.as_slice() {
            [] => engine.recv(conn, &mut buf),
            ["MSG_PEEK"] => engine.peek(conn, &mut buf),
            other => return skip(format!("recv flags {other:?} are not supported")),
        };
        transferred(result, nonblocking)
    }

    fn write(&mut self, engine: &mut dyn Engine, call: &SyscallSpec) -> CallOutcome {
        let (conn, nonblocking) = self.conn_of(fd_of(call))?;
        let result = engine.send(conn, &vec![0u8; byte_count(call)]);
        transferred(result, nonblocking)
    }

    fn shutdown(&mut self, engine: &mut dyn Engine, call: &SyscallSpec) -> CallOutcome {
        let (conn, _) = self.conn_of(fd_of(call))?;
        let how = call.args.get(1).map(Expr::symbols).unwrap_or_default();
        match how.as_slice() {
            ["SHUT_WR"] | ["SHUT_RDWR"] => match engine.shutdown_write(conn) {
                Ok(()) => returned(0),
                Err(error) => failed(error),
            },
            other => skip(format!("shutdown {other:?} is not supported")),
        }
    }

    fn close(&mut self, engine: &mut dyn Engine, fd: i64) -> CallOutcome {
        let socket = self.socket(fd)?.clone();
        match socket.handle {
            Handle::Fresh => {}
            Handle::Listener(listener) => engine.close_listener(listener),
            Handle::Conn(conn) if socket.linger_zero => engine.abort(conn),
            Handle::Conn(conn) => engine.close(conn),
        }
        self.table.remove(&fd);
        returned(0)
    }

    fn fcntl(&mut self, fd: i64, call: &SyscallSpec) -> CallOutcome {
        let socket = self.socket(fd)?;
        let command = call.args.get(1).map(Expr::symbols).unwrap_or_default();
        match command.as_slice() {
            ["F_GETFL"] => returned(O_RDWR | if socket.nonblocking { O_NONBLOCK } else { 0 }),
            ["F_SETFL"] => {
                let flags = call.args.get(2).map(Expr::symbols).unwrap_or_default();
                socket.nonblocking = flags.contains(&"O_NONBLOCK");
                returned(0)
            }
            other => skip(format!("fcntl {other:?} is not supported")),
        }
    }

    fn setsockopt(&mut self, engine: &mut dyn Engine, call: &SyscallSpec) -> CallOutcome {
        let fd = fd_of(call);
        let name = option_name(call);
        let value = call.args.get(3);
        let socket = self.socket(fd)?;
        match name.as_str() {
            "SO_REUSEADDR" | "SO_REUSEPORT" => {}
            "TCP_NODELAY" => {
                socket.nodelay = value.and_then(Expr::as_int).unwrap_or(0) != 0;
                if let Handle::Conn(conn) = socket.handle {
                    let _ = engine.set_nodelay(conn, socket.nodelay);
                }
            }
            "SO_LINGER" => match linger(value) {
                Some((true, 0)) => socket.linger_zero = true,
                Some((false, _)) => socket.linger_zero = false,
                _ => return skip("SO_LINGER with a timeout is not supported".into()),
            },
            option if KEEP_OPTIONS.contains(&option) => {
                socket
                    .keep
                    .set(option, value.and_then(Expr::as_int).unwrap_or(0));
                if let Handle::Conn(conn) = socket.handle {
                    socket.keep.apply(engine, conn);
                }
            }
            other => return skip(format!("setsockopt {other} is not supported")),
        }
        returned(0)
    }

    fn getsockopt(
        &mut self,
        engine: &mut dyn Engine,
        fd: i64,
        call: &SyscallSpec,
        buffers: BufferSizes,
        strictness: Strictness,
    ) -> CallOutcome {
        let name = option_name(call);
        let expected = call.args.get(3).cloned().unwrap_or(Expr::Ellipsis);
        let socket = self.socket(fd)?;
        let actual = match name.as_str() {
            "SO_ERROR" => Expr::Symbol(pending_error(engine, socket).to_string()),
            "TCP_NODELAY" => Expr::Int(i64::from(socket.nodelay)),
            "SO_RCVBUF" | "SO_SNDBUF" if strictness.loosens(Loosening::BufferSizes) => {
                expected.clone()
            }
            "SO_RCVBUF" | "SO_SNDBUF" => {
                let size = if name == "SO_RCVBUF" {
                    buffers.recv
                } else {
                    buffers.send
                };
                match size {
                    Some(bytes) => Expr::Int(bytes as i64),
                    None => {
                        return skip(format!(
                            "{name}: the engine's default size is not known here"
                        ))
                    }
                }
            }
            option if KEEP_OPTIONS.contains(&option) => {
                Expr::Int(socket.keep.get(option).unwrap_or(0))
            }
            other => return skip(format!("getsockopt {other} is not supported")),
        };
        let same = match (&expected, &actual) {
            (Expr::Ellipsis, _) => true,
            (Expr::List(items), Expr::Symbol(error)) if items.len() == 1 => match &items[0] {
                Expr::Int(0) => error == "0",
                Expr::Symbol(name) => same_errno(name, error),
                _ => false,
            },
            (expected, actual) => expected.as_int() == actual.as_int() || expected == actual,
        };
        match same {
            true => returned(0),
            false => Err(CallError::Fail(format!(
                "getsockopt {name}: expected {}, actual {}",
                show(&expected),
                show(&actual)
            ))),
        }
    }
}

/// The descriptor a call works on (its first argument).
fn fd_of(call: &SyscallSpec) -> i64 {
    call.args.first().and_then(Expr::as_int).unwrap_or(-1)
}

/// The byte count of read/recv/write/send (their third argument).
fn byte_count(call: &SyscallSpec) -> usize {
    call.args.get(2).and_then(Expr::as_int).unwrap_or(0).max(0) as usize
}

/// What a read or write returns: the bytes moved, or it blocks on a
/// blocking socket, or -1 with the errno.
fn transferred(result: Result<usize, ApiError>, nonblocking: bool) -> CallOutcome {
    match result {
        Ok(n) => returned(n as i64),
        Err(ApiError::WouldBlock) if !nonblocking => Ok(CallResult::Blocked),
        Err(error) => failed(error),
    }
}

/// SO_ERROR: the connection's error (refused, reset, timed out) once, then 0.
fn pending_error(engine: &mut dyn Engine, socket: &mut Socket) -> &'static str {
    let Handle::Conn(conn) = socket.handle else {
        return "0";
    };
    if socket.error_reported {
        return "0";
    }
    match engine.connect_status(conn) {
        Err(
            error @ (ApiError::ConnectionRefused | ApiError::ConnectionReset | ApiError::TimedOut),
        ) => {
            socket.error_reported = true;
            errno_of(error)
        }
        _ => "0",
    }
}

/// The option a get/setsockopt call names (its third argument).
pub fn option_name(call: &SyscallSpec) -> String {
    call.args
        .get(2)
        .and_then(|e| e.symbols().first().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// `{l_onoff=1, l_linger=0}` as (on, seconds).
fn linger(value: Option<&Expr>) -> Option<(bool, i64)> {
    let Some(Expr::Struct(fields)) = value else {
        return None;
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|f| f.0.as_deref() == Some(name))
            .and_then(|f| f.1.as_int())
    };
    Some((field("l_onoff")? != 0, field("l_linger")?))
}

fn show(expr: &Expr) -> String {
    match expr {
        Expr::Int(n) => n.to_string(),
        Expr::Symbol(s) => s.clone(),
        Expr::List(items) if items.len() == 1 => format!("[{}]", show(&items[0])),
        other => format!("{other:?}"),
    }
}
