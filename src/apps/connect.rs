//! The connect client (like `nc -N`): stdin to the connection, the
//! connection to stdout; FIN when stdin ends; done when the peer closes.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use crate::socket::TcpStream;

/// How long we wait at exit for our FIN to be acknowledged.
const LINGER: Duration = Duration::from_secs(3);

/// Copies both ways until the peer closes, then closes our side too.
/// Returns the bytes received.
pub fn run(stream: TcpStream) -> io::Result<u64> {
    let writer = stream.try_clone()?;
    // A detached thread: stdin may never end (a terminal), and the peer
    // closing must still end the program.
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            if let Err(err) = copy_stdin_then_fin(&writer) {
                log::warn!("sending stdin: {err}");
            }
        })?;
    let received = copy_to_stdout(&stream)?;
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
