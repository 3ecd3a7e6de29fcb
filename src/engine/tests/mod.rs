//! Packet-exact tests of the whole engine, on virtual time. Each test
//! names the RFC section whose behaviour it pins down.

mod harness;

mod alloc;
mod bbr;
mod buffers;
mod close;
mod congestion;
mod data;
mod diffserv;
mod ecn;
mod fragments;
mod handshake;
mod icmp;
mod icmp_generate;
pub(super) mod ip;
mod ipv6;
mod keepalive;
mod limits;
mod listen_queues;
mod mss;
mod offload;
mod out_of_order;
mod pair;
mod rack;
mod readiness;
mod retransmit;
mod sack;
mod scaling;
mod security;
mod syn_cookies;
mod timestamps;
mod trace;
mod transitions;
mod urgent;
mod view;
mod window;
mod zero_window;
