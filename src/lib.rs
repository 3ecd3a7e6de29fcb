//! tuntcp: a userspace TCP/IPv4 stack over a Linux TUN device.
//!
//! # Layout
//!
//! - [`device`]: where packets come from and go to (TUN, pcap tap).
//! - [`wire`]: parsing and emitting IPv4, TCP and ICMP; sequence numbers.
//! - [`engine`]: the sans-IO TCP engine contract and our RFC 9293 engine.
//! - [`reference`](mod@reference): smoltcp behind the same contract, as reference and fallback.
//! - [`driver`]: the one thread with I/O and a real clock.
//! - [`socket`]: a std::net-like blocking API over either engine.
//! - `tokio` (cargo feature `tokio`): async `TcpListener` / `TcpStream`
//!   implementing tokio's `AsyncRead` / `AsyncWrite`.
//! - [`apps`]: echo server and connect client.
//! - [`time`]: the engines' notion of time.
//! - [`rng`]: seeded randomness for tests and impairments.

pub mod apps;
pub mod device;
pub mod driver;
pub mod engine;
pub mod reference;
pub mod rng;
pub mod socket;
pub mod time;
#[cfg(feature = "tokio")]
pub mod tokio;
pub mod wire;
