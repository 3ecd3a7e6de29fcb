//! The live-test harness: every live test runs in a network namespace of its
//! own, never in the host's.
//!
//! # How the isolation works
//!
//! A Linux thread can leave its process's network namespace with
//! `unshare(CLONE_NEWNET)`: from then on that thread, and every thread or
//! process it creates, sees a brand-new, empty network stack (only a `lo`
//! that is down). [`run_in_new_netns`] does exactly that on a fresh thread,
//! brings `lo` up, runs the test body there and hands back its result. A
//! TUN device created inside belongs to the namespace, so every test can use
//! `tun0`, 192.0.2.1/24 and 2001:db8::1/64 without clashing with the
//! others running in parallel, and the host never sees any of it. IPv6 is
//! switched on in the namespace (`disable_ipv6=0`, no duplicate address
//! detection), so a test may speak either [`Family`]. Once the thread and its
//! children are gone, nothing refers to the namespace any more and the
//! kernel deletes it, with its devices: no cleanup can be forgotten.
//!
//! Child processes are wrapped in [`ChildGuard`], which kills and reaps them
//! on drop (also when the test panics), and they get `PR_SET_PDEATHSIG` so
//! they die with the thread that started them even if the test process is
//! killed outright.
//!
//! Nothing here sleeps to wait for the stack: waits are reads with
//! deadlines (a line on stdout, a process exiting).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Kernel side of the TUN link, as `tuntcp` configures it by default.
pub const HOST_ADDR: &str = "192.0.2.1";
/// Our stack's address.
pub const STACK_ADDR: &str = "192.0.2.2";
/// The same over IPv6 (RFC 3849 documentation prefix).
pub const HOST_ADDR_V6: &str = "2001:db8::1";
pub const STACK_ADDR_V6: &str = "2001:db8::2";

/// Which IP a live test speaks; `tuntcp` serves both by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    /// `ipv4` or `ipv6`, as `live_tests!` names its modules.
    pub fn named(name: &str) -> Family {
        match name {
            "ipv4" => Family::V4,
            "ipv6" => Family::V6,
            other => panic!("no address family named {other}"),
        }
    }

    /// The stack's address.
    pub fn stack_addr(self) -> &'static str {
        match self {
            Family::V4 => STACK_ADDR,
            Family::V6 => STACK_ADDR_V6,
        }
    }

    /// The kernel side's address.
    pub fn host_addr(self) -> &'static str {
        match self {
            Family::V4 => HOST_ADDR,
            Family::V6 => HOST_ADDR_V6,
        }
    }

    /// `-4` or `-6`, for nc, ping and the like.
    pub fn flag(self) -> &'static str {
        match self {
            Family::V4 => "-4",
            Family::V6 => "-6",
        }
    }

    /// The stack's `port` as a socket address.
    pub fn stack_socket(self, port: u16) -> SocketAddr {
        SocketAddr::new(self.stack_addr().parse().unwrap(), port)
    }

    /// The unspecified address of the family with `port`, for a kernel
    /// listener bound before tun0 has its address.
    pub fn any_socket(self, port: u16) -> SocketAddr {
        let any: std::net::IpAddr = match self {
            Family::V4 => std::net::Ipv4Addr::UNSPECIFIED.into(),
            Family::V6 => std::net::Ipv6Addr::UNSPECIFIED.into(),
        };
        SocketAddr::new(any, port)
    }

    /// The kernel side's `port` as `tuntcp connect` takes it
    /// (`192.0.2.1:9000`, `[2001:db8::1]:9000`).
    pub fn host_endpoint(self, port: u16) -> String {
        SocketAddr::new(self.host_addr().parse().unwrap(), port).to_string()
    }
}

/// How long a server may take to print its "listening" line.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs `body` on a new thread inside a new, private network namespace
/// whose `lo` is up, and returns what it returns. A panic in `body` is
/// re-raised here, so assertions inside work as usual.
pub fn run_in_new_netns<T, F>(body: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    match spawn_in_new_netns(body).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Like [`run_in_new_netns`] but returns at once; join the handle for the
/// result. Lets the calling thread (still in the host namespace) look at
/// the host while the namespace is alive.
pub fn spawn_in_new_netns<T, F>(body: F) -> JoinHandle<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    thread::Builder::new()
        .name("netns".into())
        .spawn(move || {
            enter_new_netns();
            body()
        })
        .expect("could not start the namespace thread")
}

/// Moves the calling thread into a new network namespace and brings `lo` up.
fn enter_new_netns() {
    // SAFETY: unshare(2) with a flag only; affects this thread alone.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        let err = io::Error::last_os_error();
        panic!(
            "could not create a network namespace for this live test ({err}). \
             Live tests need root: run scripts/test.sh as root"
        );
    }
    tuntcp::device::netconfig::bring_up("lo").expect("could not bring lo up in the test namespace");
    enable_ipv6();
}

/// IPv6 on, for `lo` and every interface created from here on, without
/// duplicate address detection (RFC 4862 §5.4) so an address is usable at
/// once. These sysctls belong to the namespace the writer is in.
fn enable_ipv6() {
    for (key, value) in [
        ("all/disable_ipv6", "0"),
        ("default/disable_ipv6", "0"),
        ("lo/disable_ipv6", "0"),
        ("default/accept_dad", "0"),
    ] {
        let path = format!("/proc/sys/net/ipv6/conf/{key}");
        std::fs::write(&path, value).unwrap_or_else(|err| {
            panic!("could not set {path} to {value} in the test namespace ({err}): is IPv6 off in this kernel?")
        });
    }
}

/// A child process that is killed and reaped when the guard is dropped.
/// Its stdout is read line by line by a helper thread (see
/// [`ChildGuard::next_line`]); its stderr is collected for failure messages.
pub struct ChildGuard {
    name: String,
    child: Child,
    stdout_lines: Receiver<String>,
    stderr: Arc<SharedText>,
    /// Disconnects when the child closes stderr (normally: exits).
    stderr_closed: Receiver<()>,
    exit: Option<ExitStatus>,
}

impl ChildGuard {
    /// Starts `command` with piped stdin, stdout and stderr. `name` appears
    /// in failure messages.
    pub fn spawn(name: &str, mut command: Command) -> ChildGuard {
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: the closure calls only prctl, which is async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                // Die with the thread that started us, however it ends.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|err| panic!("could not start {name} ({command:?}): {err}"));
        let stdout_lines = forward_lines(child.stdout.take().expect("stdout is piped"));
        let (stderr, stderr_closed) = collect_text(child.stderr.take().expect("stderr is piped"));
        ChildGuard {
            name: name.to_string(),
            child,
            stdout_lines,
            stderr,
            stderr_closed,
            exit: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The child's stdin; dropping it sends EOF.
    pub fn stdin(&mut self) -> ChildStdin {
        self.child.stdin.take().expect("stdin already taken")
    }

    /// Everything the child wrote to stderr so far.
    pub fn stderr_text(&self) -> String {
        self.stderr.text.lock().unwrap().clone()
    }

    /// Waits at most `timeout` until the child's stderr contains `needle`
    /// (e.g. `nc -v -l`'s "Listening on", or a log line), woken by each
    /// line it writes. `Err` carries its stderr so far.
    pub fn wait_for_stderr(&self, needle: &str, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut text = self.stderr.text.lock().unwrap();
        while !text.contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "{} did not write {needle:?} to stderr within {timeout:?}; its stderr:\n{text}",
                    self.name
                ));
            }
            text = self.stderr.grew.wait_timeout(text, left).unwrap().0;
        }
        Ok(())
    }

    /// Its stderr once it is closed (at most a second from now): for
    /// failure messages about a child that died, so its last words show.
    pub fn final_stderr(&self) -> String {
        let _ = self.stderr_closed.recv_timeout(Duration::from_secs(1));
        self.stderr_text()
    }

    /// The next line the child prints on stdout, waiting at most `timeout`.
    /// `Err` says why there is none (timeout or closed stdout) and includes
    /// the child's stderr.
    pub fn next_line(&self, timeout: Duration) -> Result<String, String> {
        match self.stdout_lines.recv_timeout(timeout) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => Err(format!(
                "{} printed no line within {timeout:?}; its stderr:\n{}",
                self.name,
                self.stderr_text()
            )),
            Err(RecvTimeoutError::Disconnected) => Err(format!(
                "{} closed stdout without printing a line; its stderr:\n{}",
                self.name,
                self.final_stderr()
            )),
        }
    }

    /// All further stdout lines until the child closes stdout (normally:
    /// exits), waiting at most `timeout` in total.
    pub fn remaining_stdout(&self, timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        let mut text = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout_lines.recv_timeout(left) {
                Ok(line) => {
                    text.push_str(&line);
                    text.push('\n');
                }
                Err(RecvTimeoutError::Disconnected) => return Ok(text),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "{} kept stdout open for {timeout:?}; got so far {text:?}; stderr:\n{}",
                        self.name,
                        self.stderr_text()
                    ))
                }
            }
        }
    }

    /// Waits at most `timeout` for the child to exit by itself.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        if let Some(status) = self.exit {
            return Ok(status);
        }
        if !wait_for_exit(self.child.id(), timeout) {
            return Err(format!(
                "{} did not exit within {timeout:?}; its stderr:\n{}",
                self.name,
                self.stderr_text()
            ));
        }
        let status = self.child.wait().map_err(|err| err.to_string())?;
        self.exit = Some(status);
        Ok(status)
    }

    /// Sends SIGTERM (the polite shutdown the CLI promises to honour) and
    /// waits at most `timeout` for the child to exit.
    pub fn terminate(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        if self.exit.is_none() {
            // SAFETY: kill(2) on our own, not yet reaped, child.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        }
        self.wait_timeout(timeout)
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if self.exit.is_none() {
            // Already-exited children make kill fail harmlessly; wait reaps.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Blocks until process `pid` (our child) has exited or `timeout` passed;
/// true if it exited. std has no wait-with-timeout, so this polls a pidfd,
/// which becomes readable when the process exits: no sleeping loop.
fn wait_for_exit(pid: u32, timeout: Duration) -> bool {
    // SAFETY: pidfd_open(2) with a pid and no flags; checked below.
    let pidfd =
        unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) } as libc::c_int;
    assert!(pidfd >= 0, "pidfd_open: {}", io::Error::last_os_error());
    let mut poll_fd = libc::pollfd {
        fd: pidfd,
        events: libc::POLLIN,
        revents: 0,
    };
    let deadline = Instant::now() + timeout;
    let exited = loop {
        let left_ms = deadline
            .saturating_duration_since(Instant::now())
            .as_millis();
        // SAFETY: one valid pollfd.
        let ready = unsafe {
            libc::poll(
                &mut poll_fd,
                1,
                left_ms.min(i32::MAX as u128) as libc::c_int,
            )
        };
        match ready {
            1 => break true,
            0 => break false,
            // EINTR: a signal arrived; poll again with the time that is left.
            _ if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => continue,
            _ => panic!("poll on pidfd: {}", io::Error::last_os_error()),
        }
    };
    // SAFETY: closing the pidfd we opened above.
    unsafe { libc::close(pidfd) };
    exited
}

/// A thread that sends each stdout line into a channel, so waiting for a
/// line can have a deadline. The channel closes when the child closes
/// stdout.
fn forward_lines(stdout: impl Read + Send + 'static) -> Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// A child's stderr as it grows: `grew` is notified after each line.
struct SharedText {
    text: Mutex<String>,
    grew: Condvar,
}

/// A thread that gathers a stream's text; the receiver disconnects when the
/// stream closes.
fn collect_text(stream: impl Read + Send + 'static) -> (Arc<SharedText>, Receiver<()>) {
    let text = Arc::new(SharedText {
        text: Mutex::new(String::new()),
        grew: Condvar::new(),
    });
    let sink = Arc::clone(&text);
    let (closed_tx, closed_rx) = mpsc::channel::<()>();
    thread::spawn(move || {
        let _closed_on_return = closed_tx;
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        while matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
            sink.text.lock().unwrap().push_str(&line);
            sink.grew.notify_all();
            line.clear();
        }
    });
    (text, closed_rx)
}

/// The `tuntcp` binary cargo built for these tests.
pub fn tuntcp_command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tuntcp"))
}

/// Starts `tuntcp echo --stack STACK EXTRA_ARGS...` and returns once it has
/// printed its first stdout line (it is listening then), with that line.
pub fn start_echo(stack: &str, extra_args: &[&str]) -> (ChildGuard, String) {
    let mut command = tuntcp_command();
    command.args(["echo", "--stack", stack]).args(extra_args);
    let server = ChildGuard::spawn(&format!("tuntcp echo ({stack})"), command);
    let line = server
        .next_line(STARTUP_TIMEOUT)
        .unwrap_or_else(|why| panic!("{why}"));
    (server, line)
}

/// Runs a command to completion with `input` on stdin, at most `timeout`;
/// returns its exit status and stdout. Panics (with stderr) on timeout.
pub fn run_with_input(
    name: &str,
    command: Command,
    input: &[u8],
    timeout: Duration,
) -> (ExitStatus, String) {
    let mut child = ChildGuard::spawn(name, command);
    let mut stdin = child.stdin();
    stdin
        .write_all(input)
        .unwrap_or_else(|err| panic!("writing to {name}: {err}"));
    drop(stdin);
    let stdout = child
        .remaining_stdout(timeout)
        .unwrap_or_else(|why| panic!("{why}"));
    let status = child
        .wait_timeout(timeout)
        .unwrap_or_else(|why| panic!("{why}"));
    (status, stdout)
}

/// Runs a command without input (e.g. `ip`, `tc`, `ping`); panics with its
/// stderr unless it exits 0 within `timeout`. Returns its stdout.
pub fn run_ok(program: &str, args: &[&str], timeout: Duration) -> String {
    let mut command = Command::new(program);
    command.args(args);
    let name = format!("{program} {}", args.join(" "));
    let mut child = ChildGuard::spawn(&name, command);
    drop(child.stdin());
    let stdout = child
        .remaining_stdout(timeout)
        .unwrap_or_else(|why| panic!("{why}"));
    let status = child
        .wait_timeout(timeout)
        .unwrap_or_else(|why| panic!("{why}"));
    assert!(
        status.success(),
        "{name} failed ({status}); stderr:\n{}",
        child.final_stderr()
    );
    stdout
}

/// Describes how a process ended, for assertion messages.
pub fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    }
}

/// Connects to our stack's `port`, with bounded connect and read timeouts.
pub fn connect_to_stack(port: u16, read_timeout: Duration) -> TcpStream {
    connect_to_stack_over(Family::V4, port, read_timeout)
}

/// [`connect_to_stack`] over `family`.
pub fn connect_to_stack_over(family: Family, port: u16, read_timeout: Duration) -> TcpStream {
    let addr = family.stack_socket(port);
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .unwrap_or_else(|err| panic!("connecting to {addr}: {err}"));
    stream.set_read_timeout(Some(read_timeout)).unwrap();
    stream.set_write_timeout(Some(read_timeout)).unwrap();
    stream
}

/// A path for a scratch file that no other test (or test run) uses.
pub fn unique_temp_path(stem: &str, extension: &str) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!(
        "tuntcp-{stem}-{}-{n}.{extension}",
        std::process::id()
    ))
}

/// An interface name no other test or process uses, at most 15 bytes.
pub fn unique_ifname() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("tt{}x{n}", std::process::id() % 10_000_000)
}

/// Deterministic bytes for transfer tests (splitmix64): each seed gives its
/// own stream, so a byte delivered to the wrong connection shows up.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        bytes.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// The echo port of `tuntcp echo`.
pub const ECHO_PORT: u16 = 7;
pub const MEGABYTE: usize = 1 << 20;
/// Read timeout for bulk transfers: generous, since a lossy link (netem or
/// --impair) and a loaded 2-core CI machine are slow, but bounded so a
/// stall fails.
pub const TRANSFER_TIMEOUT: Duration = Duration::from_secs(120);
/// Bound for quick steps (a command, a process exiting).
pub const SHORT: Duration = Duration::from_secs(10);

/// Sends `data` to the echo port from one thread while reading it back on
/// this one, then checks every byte.
pub fn echo_exactly(data: Vec<u8>) {
    echo_exactly_over(Family::V4, data);
}

/// [`echo_exactly`] over `family`.
pub fn echo_exactly_over(family: Family, data: Vec<u8>) {
    let data = Arc::new(data);
    let stream = connect_to_stack_over(family, ECHO_PORT, TRANSFER_TIMEOUT);
    let mut writer = stream.try_clone().unwrap();
    let to_send = Arc::clone(&data);
    let sender = thread::spawn(move || {
        writer
            .write_all(&to_send)
            .expect("sending to the echo server");
        // FIN: the server echoes the rest, then closes.
        writer.shutdown(std::net::Shutdown::Write).unwrap();
    });
    let mut received = Vec::with_capacity(data.len());
    let mut reader = stream;
    reader
        .read_to_end(&mut received)
        .unwrap_or_else(|err| panic!("reading the echo after {} bytes: {err}", received.len()));
    sender
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    assert_same_bytes(&received, &data);
}

#[track_caller]
pub fn assert_same_bytes(got: &[u8], want: &[u8]) {
    if let Some(offset) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!("echo differs at byte {offset} of {}", want.len());
    }
    assert_eq!(got.len(), want.len(), "echo length differs");
}

/// `clients` connections at once, each echoing its own megabyte exactly
/// (seeds `first_seed`, `first_seed + 1`, ...). The client threads are
/// started here, so they share the caller's network namespace.
pub fn echo_concurrently(clients: u64, first_seed: u64) {
    echo_concurrently_over(Family::V4, clients, first_seed);
}

/// [`echo_concurrently`] over `family`.
pub fn echo_concurrently_over(family: Family, clients: u64, first_seed: u64) {
    let handles: Vec<_> = (0..clients)
        .map(|client| {
            let data = pattern(first_seed + client, MEGABYTE);
            thread::spawn(move || echo_exactly_over(family, data))
        })
        .collect();
    for handle in handles {
        handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    }
}
