//! A std::net-like blocking socket API over either engine.
//!
//! The classic sequences, as in any sockets course:
//!
//! - server: [`TcpListener::bind`] (socket + bind + listen(backlog)) →
//!   [`TcpListener::accept`] → `read`/`write` → drop (close);
//! - client: [`TcpStream::connect`] (socket + connect) → `write`/`read` →
//!   [`TcpStream::shutdown`] / drop.
//!
//! A whole echo server, on a TUN device, with our engine:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::io::{Read, Write};
//! use tuntcp::device::{netconfig, TunDevice};
//! use tuntcp::engine::StackConfig;
//! use tuntcp::socket::{Stack, TcpListener};
//!
//! // Once per program: a TUN device, our engine, its driver thread.
//! let tun = TunDevice::open("tun0")?;
//! netconfig::configure_host_side("tun0", "192.0.2.1".parse()?, 24)?;
//! let config = StackConfig::new("192.0.2.2".parse()?).with_random_secret();
//! let engine = tuntcp::engine::Stack::new(config);
//! Stack::start(Box::new(engine), Box::new(tun))?.set_default();
//!
//! // From here on it is std::net code with the imports changed.
//! let listener = TcpListener::bind("0.0.0.0:7")?;        // socket + bind + listen(128)
//! for stream in listener.incoming() {                     // accept
//!     let mut stream = stream?;
//!     let mut buf = [0u8; 4096];
//!     loop {
//!         let n = stream.read(&mut buf)?;                 // 0: the peer sent FIN
//!         if n == 0 { break; }
//!         stream.write_all(&buf[..n])?;
//!     }
//! }                                                       // drop: close, FIN
//! # Ok(())
//! # }
//! ```
//!
//! Every call locks the engine for one non-blocking engine call; "would
//! block" becomes a sleep until the engine reports that this socket's
//! readiness changed, unless the socket is non-blocking. Engine errors
//! become the `io::ErrorKind` std would give.
//!
//! Event-driven servers (one thread, many sockets) use [`Poll`], shaped
//! like mio's: see the [`poll`] module for a whole example.

mod error;
mod listener;
pub mod poll;
mod stack;
mod stream;
mod task;

pub use error::to_io_error;
pub use listener::{Incoming, TcpListener, DEFAULT_BACKLOG};
pub use poll::{Event, Events, Interest, Poll, Registry, Source, Token};
pub use stack::Stack;
pub use stream::TcpStream;
