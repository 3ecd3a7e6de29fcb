//! Async sockets for tokio programs (cargo feature `tokio`):
//! [`TcpListener`] and [`TcpStream`] in the shape of `tokio::net`'s, with
//! `TcpStream` implementing tokio's `AsyncRead` and `AsyncWrite`, so
//! `tokio::io::copy_bidirectional`, `split`, `BufReader`, codecs... work
//! on connections of our stack as on the kernel's. A tun2socks-style
//! relay is `copy_bidirectional(&mut ours, &mut kernel_stream)`.
//!
//! Built on the engines' readiness events: a call that would block
//! registers its task's waker for that connection (or listener), and the
//! driver wakes exactly the tasks whose handle had an event; there is no
//! polling and no thread per socket. Any runtime works, the driver being
//! its own thread; only tokio's I/O traits are used.
//!
//! ```no_run
//! # async fn serve(stack: tuntcp::socket::Stack) -> std::io::Result<()> {
//! use tuntcp::tokio::TcpListener;
//!
//! let listener = TcpListener::bind_on(&stack, "0.0.0.0:7", 128)?;
//! loop {
//!     let (stream, _peer) = listener.accept().await?;
//!     tokio::spawn(async move {
//!         let (mut reader, mut writer) = tokio::io::split(stream);
//!         tokio::io::copy(&mut reader, &mut writer).await
//!     });
//! }
//! # }
//! ```
//!
//! `examples/async_echo.rs` is a whole server on a TUN device.

mod listener;
mod stream;

pub use listener::TcpListener;
pub use stream::TcpStream;
