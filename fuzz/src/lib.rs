//! Coverage-guided fuzz targets for tuntcp, three of them:
//!
//! - [`wire`]: any bytes into the wire parsers (IPv4 header, fragments,
//!   IPv6 header and extension headers, TCP header and options, ICMP and
//!   ICMPv6 echo and errors).
//! - [`packet`]: any bytes as one packet into a stack that has a
//!   dual-stack listener and one established connection (IPv4 or IPv6, as
//!   the input's first byte says), on virtual time.
//! - [`connection`]: the bytes cut into TCP segments (checksums made right
//!   so they get past parsing) for one established connection, with the
//!   clock moved and the application reading, writing and closing between
//!   them.
//!
//! Each target panics on what must never happen: a panic inside the
//! engine, a packet it sends that does not parse, a timer that fires
//! without moving on, `poll_transmit` that never runs dry.
//!
//! The targets are plain functions: libFuzzer drives them through
//! `fuzz_targets/*.rs` (`scripts/fuzz.sh`), and the main crate's
//! `tests/fuzz_corpus.rs` replays the seeds and every input that once
//! crashed (`fuzz/regressions/`) as an ordinary test. Seeds come from
//! `captures/*.pcap` ([`seeds`]).

pub mod chunks;
pub mod connection;
pub mod craft;
pub mod driver;
pub mod packet;
pub mod peer;
pub mod seeds;
pub mod wire;
