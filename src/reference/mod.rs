//! smoltcp 0.14 behind our [`Engine`](crate::engine::Engine) contract: the
//! reference our own engine is compared against, and a fallback stack
//! (`--stack smoltcp`).
//!
//! # How smoltcp is fitted to the contract
//!
//! - smoltcp's `Interface` runs over an in-memory [`QueueDevice`]:
//!   `handle_packet` queues the packet and lets smoltcp process it at once,
//!   `poll_transmit` hands out what smoltcp queued, one packet per call.
//! - A listener is a pool of listening sockets (`listener.rs`): smoltcp
//!   turns the listening socket itself into the connection, so one socket
//!   per pending connection is kept, and refilled on `accept`.
//! - smoltcp does not say why a connection closed; the wrapper watches
//!   inbound RSTs and state changes (`conn.rs`) to report refused, reset or
//!   timed out, and keeps a connection's addresses for `conn_info`.
//! - Bad packets are dropped and counted before smoltcp sees them; ICMP
//!   echo is answered here (`echo.rs`); RSTs and retransmissions are
//!   counted on the way out (`counters.rs`).
//!
//! Files: `engine.rs` (struct, network side), `calls.rs` (application
//! side, `Engine` impl), `config.rs`, `conn.rs`, `listener.rs`,
//! `inspect.rs`, `counters.rs`, `echo.rs`, `queue_device.rs`, `readiness.rs`
//! (events derived from socket state changes), `tests.rs`.

mod calls;
mod config;
mod conn;
mod counters;
mod echo;
mod engine;
mod inspect;
mod listener;
mod queue_device;
mod readiness;
#[cfg(test)]
mod tests;
mod view;

pub use config::SmolConfig;
pub use engine::SmolEngine;
pub use queue_device::QueueDevice;
