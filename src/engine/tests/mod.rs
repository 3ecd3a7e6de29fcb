//! Packet-exact tests of the whole engine, on virtual time. Each test
//! names the RFC section whose behaviour it pins down.

mod harness;

mod alloc;
mod bbr;
mod buffers;
mod close;
mod congestion;
mod data;
mod handshake;
mod ip;
mod offload;
mod pair;
mod rack;
mod readiness;
mod retransmit;
mod sack;
mod scaling;
mod security;
mod timestamps;
mod trace;
mod transitions;
mod view;
mod window;
