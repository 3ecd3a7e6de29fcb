//! The connect client, like `nc -N`: stdin to the connection, the
//! connection to stdout, in either close order.
//!
//! - Stdin ends first: FIN goes out (half-close, RFC 9293 §3.6: our side
//!   FIN-WAIT-1/2) and what the peer sends is printed until its FIN.
//! - The peer's FIN comes first (our side CLOSE-WAIT): stdin is still sent
//!   until it ends, then our FIN (LAST-ACK).
//!
//! Done when both directions have ended; a reset or a timeout in either
//! direction is an error.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::mpsc;
use std::time::Duration;

use crate::socket::TcpStream;

/// How long we wait at exit for our FIN to be acknowledged.
const LINGER: Duration = Duration::from_secs(3);

/// Copies both ways until both directions have ended, then waits (a
/// little) for our FIN to be acknowledged. Returns the bytes received.
pub fn run(stream: TcpStream) -> io::Result<u64> {
    let writer = stream.try_clone()?;
    let (sent_tx, sent_rx) = mpsc::channel();
    // A detached thread: stdin may never end (a terminal), and a reset
    // seen by the reader must still end the program.
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let sent = copy_stdin_then_fin(&writer);
            let _ = sent_tx.send(sent);
        })?;
    let received = copy_to_stdout(&stream)?;
    // The peer's FIN: its direction is done, ours goes on until stdin ends
    // (nc -N does the same).
    match sent_rx.recv() {
        Ok(sent) => sent?,
        Err(_) => return Err(io::Error::other("the stdin thread ended without a word")),
    }
    // Both directions are done; a peer slow to ACK our FIN loses nothing,
    // so it is worth a warning, not a failure.
    if let Err(err) = stream.linger(LINGER) {
        log::warn!("closing: {err}");
    }
    Ok(received)
}

fn copy_stdin_then_fin(mut stream: &TcpStream) -> io::Result<()> {
    let mut stdin = io::stdin().lock();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = stdin.read(&mut buf)?;
        if n == 0 {
            log::info!("stdin ended: sending FIN");
            return stream.shutdown(Shutdown::Write);
        }
        stream.write_all(&buf[..n])?;
    }
}

fn copy_to_stdout(mut stream: &TcpStream) -> io::Result<u64> {
    let mut stdout = io::stdout().lock();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            log::info!("peer closed after {total} bytes");
            return Ok(total);
        }
        stdout.write_all(&buf[..n])?;
        stdout.flush()?;
        total += n as u64;
    }
}
