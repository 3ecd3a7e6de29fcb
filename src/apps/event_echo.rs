//! The event-driven echo server: one thread serves every client, woken by
//! [`Poll`] only for the sockets that can make progress.
//!
//! This is how servers that hold thousands of connections are written
//! (nginx, anything on mio or tokio): no thread per client, so no memory
//! for a stack per client and no thread switch per request. The price is
//! that nothing may block: reads and writes return `WouldBlock`, so each
//! client keeps what it could not write yet (`pending`) until the socket
//! is writable again.

use std::collections::HashMap;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};

use crate::socket::{Events, Interest, Poll, TcpListener, TcpStream, Token};

const LISTENER: Token = Token(0);
/// Room to read into, shared by all clients (a read is written back at once).
const READ_BUFFER: usize = 64 * 1024;

/// One client and what it is owed.
struct Client {
    stream: TcpStream,
    peer: SocketAddr,
    /// Bytes read but not yet written back (the send buffer was full).
    pending: Vec<u8>,
    /// The peer sent FIN: once `pending` is written, so do we.
    peer_done: bool,
    echoed: u64,
}

/// Serves every client of `listener` from this one thread, until the
/// stack stops.
pub fn serve(listener: &mut TcpListener) -> io::Result<()> {
    let mut poll = Poll::new(listener.stack())?;
    poll.registry()
        .register(listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(1024);
    let mut clients: HashMap<Token, Client> = HashMap::new();
    let mut next_token = 1;
    let mut buf = vec![0u8; READ_BUFFER];
    loop {
        poll.poll(&mut events, None)?;
        for event in &events {
            if event.token() == LISTENER {
                accept_all(listener, &poll, &mut clients, &mut next_token)?;
                continue;
            }
            let Some(client) = clients.get_mut(&event.token()) else {
                continue;
            };
            match make_progress(client, &mut buf) {
                Ok(false) => {}
                Ok(true) => {
                    log::info!(
                        "{} closed after {} bytes echoed",
                        client.peer,
                        client.echoed
                    );
                    // Dropping the stream deregisters it and closes our side.
                    clients.remove(&event.token());
                }
                Err(err) => {
                    log::info!("{} ended with an error: {err}", client.peer);
                    clients.remove(&event.token());
                }
            }
        }
    }
}

/// Takes every connection waiting in the backlog (the event says only
/// "some"), registering each for both directions.
fn accept_all(
    listener: &TcpListener,
    poll: &Poll,
    clients: &mut HashMap<Token, Client>,
    next_token: &mut usize,
) -> io::Result<()> {
    loop {
        let (mut stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(err) if err.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(err) => return Err(err),
        };
        let token = Token(*next_token);
        *next_token = next_token.wrapping_add(1).max(1);
        // Data that came before registering is reported by the first poll.
        poll.registry()
            .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)?;
        let client = Client {
            stream,
            peer,
            pending: Vec::new(),
            peer_done: false,
            echoed: 0,
        };
        clients.insert(token, client);
    }
}

/// Echoes as much as the socket allows now: first what is pending, then
/// what can be read. Events are edge-triggered, so this goes on until a
/// call says `WouldBlock`. Returns true when the client is done: the peer
/// sent FIN and everything before it went back, followed by our FIN.
fn make_progress(client: &mut Client, buf: &mut [u8]) -> io::Result<bool> {
    loop {
        if !write_pending(client)? {
            return Ok(false);
        }
        if client.peer_done {
            client.stream.shutdown(Shutdown::Write)?;
            return Ok(true);
        }
        let n = match client.stream.read(buf) {
            Ok(0) => {
                client.peer_done = true;
                continue;
            }
            Ok(n) => n,
            Err(err) if err.kind() == ErrorKind::WouldBlock => return Ok(false),
            Err(err) => return Err(err),
        };
        client.echoed += n as u64;
        // Straight back from the read buffer; only the rest is copied.
        let written = match client.stream.write(&buf[..n]) {
            Ok(written) => written,
            Err(err) if err.kind() == ErrorKind::WouldBlock => 0,
            Err(err) => return Err(err),
        };
        client.pending.extend_from_slice(&buf[written..n]);
    }
}

/// Writes what is pending; false if the send buffer filled first.
fn write_pending(client: &mut Client) -> io::Result<bool> {
    while !client.pending.is_empty() {
        match client.stream.write(&client.pending) {
            Ok(n) => {
                client.pending.drain(..n);
            }
            Err(err) if err.kind() == ErrorKind::WouldBlock => return Ok(false),
            Err(err) => return Err(err),
        }
    }
    Ok(true)
}
