//! A std::net-like blocking socket API over either engine.
//!
//! The classic sequences, as in any sockets course:
//!
//! - server: [`TcpListener::bind`] (socket + bind + listen(backlog)) →
//!   [`TcpListener::accept`] → `read`/`write` → drop (close);
//! - client: [`TcpStream::connect`] (socket + connect) → `write`/`read` →
//!   [`TcpStream::shutdown`] / drop.
//!
//! Every call locks the engine for one non-blocking engine call; "would
//! block" becomes a wait for the driver's next turn, unless the socket is
//! non-blocking. Engine errors become the `io::ErrorKind` std would give.

mod error;
mod listener;
mod stack;
mod stream;

pub use error::to_io_error;
pub use listener::{Incoming, TcpListener, DEFAULT_BACKLOG};
pub use stack::Stack;
pub use stream::TcpStream;
