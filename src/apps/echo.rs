//! The echo server (RFC 862's service, port 7): every byte read is written
//! back, until the client closes.
//!
//! Three classic server designs, as taught in socket courses:
//! - **threaded** (concurrent): one thread per accepted client (threads
//!   are reused once their client has gone, see [`super::workers`]);
//! - **iterative**: one client at a time; the next waits in the listener's
//!   backlog (its handshake done, its data buffered) until the current one
//!   closes;
//! - **event** (event-driven): one thread serves every client, woken by
//!   readiness events ([`super::event_echo`]).

use std::io::{self, Read, Write};
use std::net::SocketAddr;

use super::workers::Workers;
use crate::socket::{TcpListener, TcpStream};

/// How the server handles clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerMode {
    Threaded,
    Iterative,
    Event,
}

impl ServerMode {
    /// How it serves, in words, for the start line.
    pub fn in_words(self) -> &'static str {
        match self {
            ServerMode::Event => "one thread for every client (events)",
            ServerMode::Threaded => "a thread per client",
            ServerMode::Iterative => "one client at a time",
        }
    }
}

/// Accepts clients forever (until the stack stops), echoing each.
pub fn serve(listener: &mut TcpListener, mode: ServerMode) -> io::Result<()> {
    if mode == ServerMode::Event {
        return super::event_echo::serve(listener);
    }
    let workers = Workers::new("echo client", serve_client);
    loop {
        let (stream, peer) = listener.accept()?;
        match mode {
            ServerMode::Iterative => serve_client((stream, peer)),
            ServerMode::Threaded => workers.run((stream, peer))?,
            ServerMode::Event => unreachable!("served above"),
        }
    }
}

/// Echoes one client and logs how it ended.
fn serve_client((stream, peer): (TcpStream, SocketAddr)) {
    match echo_until_eof(&stream) {
        Ok(bytes) => log::info!("{peer} closed after {bytes} bytes echoed"),
        Err(err) => log::info!("{peer} ended with an error: {err}"),
    }
    // Dropping the stream closes our side: FIN, then LAST-ACK.
}

/// Copies what arrives back to the sender until `read` returns 0 (the
/// peer's FIN). TCP is a byte stream with no message boundaries: a read
/// returns whatever has arrived, which need not be one of the peer's writes.
///
/// Generic over the stream so the very same code serves on kernel sockets
/// (`&std::net::TcpStream`), which is how the benchmarks compare the stacks.
pub fn echo_until_eof(mut stream: impl Read + Write) -> io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        stream.write_all(&buf[..n])?;
        total += n as u64;
    }
}
