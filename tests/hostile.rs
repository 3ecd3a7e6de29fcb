//! Hostile input on virtual time, for both engines (ours and smoltcp)
//! through the `Engine` trait. ARCHITECTURE.md promises that bad input is
//! dropped and counted: it never panics, never loops, never kills other
//! connections, and every queue is bounded. These tests try hard to break
//! that promise:
//!
//! - `fuzz_*`: thousands of random and mutated packets (bit flips,
//!   truncations, lying lengths, illegal options, every flag combination,
//!   sequence numbers at the 2^32 edges, fragments, ...), checksums fixed
//!   up so most reach the TCP logic, aimed at a live echo connection while
//!   a second, bystander connection must keep echoing exactly.
//! - `syn_flood_*`: 10,000 SYNs from random ports; the tables stay within
//!   their limits and a real client is served once the flood stops.
//! - `segment_storm_*`: 200,000 segments at one instant; memory plateaus.
//!
//! Failures print the seed; replay one with
//! `HOSTILE_SEED=<seed> cargo test --release --test hostile <test> -- --nocapture`
//! (`RUST_LOG=debug` shows every drop and its reason).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::Duration;

use common::bench::{Bench, Echo, Maker, CLIENT_IP, ENGINES, LISTEN_BACKLOG, SERVER, SERVER_IP};
use common::craft::*;

// ---------------------------------------------------------------------------
// Memory accounting: bytes allocated and not yet freed, per thread (each
// test runs on its own thread and drives its engine there).
// ---------------------------------------------------------------------------

struct CountingAllocator;

thread_local! {
    static LIVE_BYTES: Cell<i64> = const { Cell::new(0) };
}

fn account(delta: i64) {
    // try_with: allocations during thread teardown must not panic.
    let _ = LIVE_BYTES.try_with(|live| live.set(live.get() + delta));
}

// SAFETY: every call is passed to `System` unchanged; we only count.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc(layout);
        if !ptr.is_null() {
            account(layout.size() as i64);
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        account(-(layout.size() as i64));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = System.realloc(ptr, layout, new_size);
        if !new.is_null() {
            account(new_size as i64 - layout.size() as i64);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn live_bytes() -> i64 {
    LIVE_BYTES.with(|live| live.get())
}

// ---------------------------------------------------------------------------
// Seeds and failure reports.
// ---------------------------------------------------------------------------

/// `HOSTILE_SEED=n` runs only seed n; `HOSTILE_SEEDS=n` runs n seeds.
fn seeds(count: u64) -> Vec<u64> {
    let number = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|v| v.trim().parse::<u64>().unwrap())
    };
    match number("HOSTILE_SEED") {
        Some(seed) => vec![seed],
        None => (1..=number("HOSTILE_SEEDS").unwrap_or(count)).collect(),
    }
}

/// Runs `scenario` for every engine and seed; a failure or panic names the
/// engine and seed and says how to replay it.
fn for_each_engine_and_seed(
    test: &str,
    count: u64,
    scenario: fn(&'static str, Maker, u64) -> Result<(), String>,
) {
    for (name, maker) in ENGINES {
        for seed in seeds(count) {
            let replay = format!(
                "engine {name}, seed {seed}; replay: HOSTILE_SEED={seed} RUST_LOG=debug \
                 cargo test --release --test hostile {test} -- --nocapture"
            );
            match catch_unwind(AssertUnwindSafe(|| scenario(name, maker, seed))) {
                Ok(Ok(())) => {}
                Ok(Err(why)) => panic!("{why}\n{replay}"),
                Err(panic) => {
                    eprintln!("PANIC in {replay}");
                    resume_unwind(panic);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The mutator.
// ---------------------------------------------------------------------------

/// The most packets one hostile input may make an engine send at once
/// (an ACK that opens a window may release a send buffer's worth).
const MAX_OUT_PER_INPUT: usize = 64;

/// Sequence numbers worth trying around `near`.
fn edge_number(rng: &SplitMix, near: u32) -> u32 {
    let picks = [
        0,
        1,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        near.wrapping_add(0x8000_0000),
        near.wrapping_add(0x7fff_ffff),
        near.wrapping_sub(1),
        near.wrapping_add(1),
        near.wrapping_add(65535),
        near.wrapping_add(65536),
        near.wrapping_sub(65536),
        near.wrapping_add(rng.next_u32() % 70_000),
        rng.next_u32(),
    ];
    rng.pick(&picks)
}

/// Option lists that are illegal or extreme.
fn hostile_options(rng: &SplitMix) -> Vec<u8> {
    let choices: [&[u8]; 14] = [
        &[2, 4, 0, 0],                                // MSS 0
        &[2, 4, 0, 1],                                // MSS 1
        &[2, 4, 0xff, 0xff],                          // MSS 65535
        &[2, 0],                                      // length 0
        &[2, 1],                                      // length 1
        &[2, 255, 0, 0],                              // length past the header
        &[3, 3, 255],                                 // window scale 255
        &[3, 2],                                      // window scale without its byte
        &[4, 2, 5, 10, 1, 2, 3, 4, 5, 6, 7, 8],       // SACK-permitted, then SACK
        &[5, 10, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff], // one SACK block
        &[8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0], // timestamps
        &[254, 255],
        &[
            1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
            1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        ],
        &[],
    ];
    if rng.chance(20) {
        return rng.bytes(rng.below(41));
    }
    rng.pick(&choices).to_vec()
}

/// A valid segment on the victim's connection to start mutating from.
fn template(rng: &SplitMix, victim: &common::bench::Peer) -> Segment {
    let mut seg = victim.segment(ACK);
    match rng.below(7) {
        0 => {}
        1 | 2 => {
            seg.flags |= PSH;
            seg.payload = rng.bytes(1 + rng.below(300));
        }
        3 => {
            seg.flags = SYN;
            seg.seq = rng.next_u32();
            seg.options = vec![2, 4, 0x05, 0xb4];
        }
        4 => seg.flags = RST,
        5 => seg.flags |= FIN,
        _ => seg.flags = rng.next_u64() as u8,
    }
    seg
}

/// Changes fields of a segment before it is built.
fn mutate_fields(rng: &SplitMix, seg: &mut Segment) {
    match rng.below(8) {
        0 => {
            let all = [
                SYN | FIN,
                SYN | RST,
                FIN | RST,
                SYN | FIN | RST,
                SYN | FIN | RST | ACK | PSH | URG,
                FIN | PSH | URG, // Christmas tree
                0xff,
                0,
                RST | ACK,
                SYN | ACK,
            ];
            seg.flags = if rng.chance(50) {
                rng.pick(&all)
            } else {
                rng.next_u64() as u8
            };
        }
        1 => seg.seq = edge_number(rng, seg.seq),
        2 => seg.ack = edge_number(rng, seg.ack),
        3 => seg.window = rng.pick(&[0, 1, 0x7fff, 0x8000, 0xffff, rng.next_u32() as u16]),
        4 => seg.options = hostile_options(rng),
        5 => {
            seg.flags |= URG;
            seg.payload.extend(rng.bytes(rng.below(4)));
        }
        6 => seg.payload = rng.bytes(rng.pick(&[0, 1, 536, 1460, 1480])),
        _ => {
            seg.flags |= SYN;
            seg.options = hostile_options(rng);
        }
    }
}

/// Byte-level damage to a built packet.
fn mutate_bytes(rng: &SplitMix, p: &mut Vec<u8>) {
    match rng.below(10) {
        0 | 1 => {
            for _ in 0..1 + rng.below(4) {
                let bit = rng.below(p.len() * 8);
                p[bit / 8] ^= 1 << (bit % 8);
            }
        }
        2 => p.truncate(rng.below(p.len() + 1)),
        3 => p.extend(rng.bytes(1 + rng.below(64))),
        4 => {
            // Total length lies.
            let total = rng.pick(&[
                0,
                1,
                19,
                20,
                39,
                40,
                p.len() as u16 + 1,
                0xffff,
                rng.next_u32() as u16,
            ]);
            p[2..4].copy_from_slice(&total.to_be_bytes());
        }
        5 => p[0] = 0x40 | rng.below(16) as u8, // IHL lies
        6 => {
            // TCP data offset lies.
            if p.len() > 32 {
                p[32] = (rng.below(16) as u8) << 4 | (p[32] & 0x0f);
            }
        }
        7 => {
            // A fragment: more-fragments and/or an offset.
            let frag: u16 = rng.pick(&[
                0x2000,
                0x2001,
                0x0001,
                0x1fff,
                0x20b9,
                rng.next_u32() as u16,
            ]);
            p[6..8].copy_from_slice(&frag.to_be_bytes());
        }
        8 => p[9] = rng.pick(&[PROTO_ICMP, 17, 0, 255]),
        _ => {
            // Source address: not unicast, or not the peer.
            let src: Ipv4Addr = rng.pick(&[
                Ipv4Addr::new(0, 0, 0, 0),
                Ipv4Addr::new(255, 255, 255, 255),
                Ipv4Addr::new(224, 0, 0, 1),
                Ipv4Addr::new(240, 0, 0, 1),
                SERVER_IP,
                Ipv4Addr::new(127, 0, 0, 1),
            ]);
            p[12..16].copy_from_slice(&src.octets());
        }
    }
}

/// An ICMP message to us: echo requests of every size, and errors quoting
/// the victim's connection (which must not kill it: RFC 5927 soft errors).
fn icmp_packet(rng: &SplitMix, victim: &common::bench::Peer) -> Vec<u8> {
    let mut body = vec![
        rng.pick(&[8, 3, 11, 4, 5, 0, 255]),
        rng.below(16) as u8,
        0,
        0,
    ];
    body.extend(rng.bytes(4));
    if body[0] == 8 {
        body.extend(rng.bytes(rng.pick(&[0, 1, 56, 1472, 1473, 1480])));
    } else {
        let quoted = victim.segment(ACK).build();
        body.extend(&quoted[..28.min(quoted.len())]);
    }
    ipv4_packet(CLIENT_IP, SERVER_IP, PROTO_ICMP, &body)
}

/// One hostile packet aimed at the victim connection.
fn hostile_packet(rng: &SplitMix, victim: &common::bench::Peer) -> Vec<u8> {
    let mut packet = match rng.below(12) {
        0 => rng.bytes(rng.below(80)),
        1 => {
            // A plausible IPv4 header to us, then garbage.
            let mut p = Segment::new(victim.addr, SERVER, 0, 0, 0).build();
            p.truncate(20);
            p.extend(rng.bytes(rng.below(60)));
            let total = p.len() as u16;
            p[2..4].copy_from_slice(&total.to_be_bytes());
            p
        }
        2 => icmp_packet(rng, victim),
        _ => {
            let mut seg = template(rng, victim);
            for _ in 0..1 + rng.below(2) {
                mutate_fields(rng, &mut seg);
            }
            let mut p = seg.build();
            if rng.chance(50) {
                mutate_bytes(rng, &mut p);
            }
            p
        }
    };
    if !packet.is_empty() && rng.chance(85) {
        fix_checksums(&mut packet);
    }
    packet
}

/// Whether an engine could take `packet` as a valid segment of the victim's
/// connection that changes it (data, FIN, RST, SYN, a window): if none of a
/// round's packets could, the victim must echo exactly as before.
fn could_disturb(packet: &[u8], victim: &common::bench::Peer) -> bool {
    // Engines may ignore bytes past the IPv4 total length (link padding).
    let mut packet = packet.to_vec();
    if packet.len() >= 4 {
        let total = usize::from(u16::from_be_bytes([packet[2], packet[3]]));
        if total >= 20 && total < packet.len() {
            packet.truncate(total);
        }
    }
    match parse_strict(&packet) {
        Ok(Parsed::Tcp(seg)) if seg.dst == SERVER && seg.src == victim.addr => {
            let distance = seg.seq.wrapping_sub(victim.snd_nxt);
            seg.has(SYN) || distance < 0x3_0000 || distance > 0u32.wrapping_sub(0x3_0000)
        }
        _ => false,
    }
}

/// One line about a packet for failure messages.
fn describe_packet(packet: &[u8]) -> String {
    match parse_strict(packet) {
        Ok(Parsed::Tcp(seg)) => format!(
            "TCP {} -> {} seq {} ack {} flags {:#04x} win {} options {:02x?} {} data bytes",
            seg.src,
            seg.dst,
            seg.seq,
            seg.ack,
            seg.flags,
            seg.window,
            seg.options,
            seg.payload.len()
        ),
        Ok(other) => format!("{other:?}"),
        Err(why) => format!("invalid ({why}): {packet:02x?}"),
    }
}

// ---------------------------------------------------------------------------
// The fuzz scenario.
// ---------------------------------------------------------------------------

/// Bystander's port: every bit differs from the victim ports' high bits, so
/// a few flipped bits cannot turn a victim packet into a bystander one.
const BYSTANDER_PORT: u16 = 0x63bf;
/// Victim ports are 0x9c40 + 0..16.
const VICTIM_PORT_BASE: u16 = 0x9c40;
const ROUNDS: usize = 400;
const ECHO_HORIZON: Duration = Duration::from_secs(30);
/// A replacement victim may have to wait for embryonic connections made by
/// spoofed SYNs to time out (smoltcp: 180 s).
const REOPEN_PATIENCE: Duration = Duration::from_secs(400);

#[derive(Default, Debug)]
struct FuzzTally {
    packets: u64,
    victims_killed: u64,
    victims_stalled: u64,
    foreign_echoes: u64,
}

fn fuzz_scenario(name: &'static str, maker: Maker, seed: u64) -> Result<(), String> {
    let rng = SplitMix::new(seed);
    let mut bench = Bench::new(name, maker, seed);
    let client = |port| SocketAddrV4::new(CLIENT_IP, port);
    bench.open_peer(client(BYSTANDER_PORT), rng.next_u32(), REOPEN_PATIENCE)?;
    let mut victim_port = VICTIM_PORT_BASE;
    bench.open_peer(client(victim_port), rng.next_u32(), REOPEN_PATIENCE)?;
    let baseline = live_bytes();
    let mut peak = baseline;
    let mut tally = FuzzTally::default();

    for round in 0..ROUNDS {
        let mut disturbing = false;
        let mut sent = Vec::new();
        for _ in 0..1 + rng.below(5) {
            let packet = hostile_packet(&rng, &bench.peers[1]);
            sent.push(describe_packet(&packet));
            disturbing |= could_disturb(&packet, &bench.peers[1]);
            tally.packets += 1;
            bench
                .inject(&packet, MAX_OUT_PER_INPUT)
                .map_err(|why| format!("{why}\nafter packet {packet:02x?}"))?;
            bench.fire_timers(MAX_OUT_PER_INPUT)?;
            bench.now += Duration::from_micros(rng.next_u64() % 20_000);
            peak = peak.max(live_bytes());
        }

        let marker = format!("bystander round {round}");
        let echo = bench.echo(0, marker.as_bytes(), ECHO_HORIZON)?;
        if echo != Echo::Exact {
            return Err(format!(
                "{name}: round {round}: bystander connection {echo:?}; peer {:?}",
                bench.peers[0]
            ));
        }
        let marker = format!("victim round {round}");
        let echo = bench.echo(1, marker.as_bytes(), ECHO_HORIZON)?;
        match echo {
            Echo::Exact => continue,
            _ if !disturbing => {
                return Err(format!(
                    "{name}: round {round}: victim {echo:?} although no packet could have been \
                     valid for it; peer {:?}; this round's packets:\n{}",
                    bench.peers[1],
                    sent.join("\n")
                ))
            }
            Echo::AfterForeignBytes => {
                tally.foreign_echoes += 1;
                continue;
            }
            Echo::Dead => {
                tally.victims_killed += 1;
                if std::env::var_os("HOSTILE_VERBOSE").is_some() {
                    eprintln!(
                        "{name} round {round}: victim killed; peer {:?}\n{}",
                        bench.peers[1],
                        sent.join("\n")
                    );
                }
            }
            Echo::Stalled => {
                tally.victims_stalled += 1;
                if std::env::var_os("HOSTILE_VERBOSE").is_some() {
                    eprintln!(
                        "{name} round {round}: victim stalled; peer {:?}\n{}",
                        bench.peers[1],
                        sent.join("\n")
                    );
                }
            }
        }
        // A disturbed victim is replaced, as an application would reconnect.
        bench.drop_peer(1)?;
        victim_port = VICTIM_PORT_BASE + (victim_port + 1 - VICTIM_PORT_BASE) % 16;
        bench.open_peer(client(victim_port), rng.next_u32(), REOPEN_PATIENCE)?;
    }
    let growth = peak - baseline;
    // Two connections, up to a backlog of embryonic ones (spoofed SYNs),
    // each with 64 KiB buffers both ways, and slack.
    let budget = (LISTEN_BACKLOG as i64 + 8) * 256 * 1024;
    if growth > budget {
        return Err(format!(
            "{name}: memory grew by {growth} bytes during the fuzz (budget {budget})"
        ));
    }
    eprintln!("{name} seed {seed}: {tally:?}, memory growth {growth} B");
    Ok(())
}

#[test]
fn fuzz_hostile_packets_never_break_the_engine_or_other_connections() {
    for_each_engine_and_seed(
        "fuzz_hostile_packets_never_break_the_engine_or_other_connections",
        3,
        fuzz_scenario,
    );
}

// ---------------------------------------------------------------------------
// SYN flood.
// ---------------------------------------------------------------------------

const FLOOD_SYNS: usize = 10_000;

fn syn_flood_scenario(name: &'static str, maker: Maker, seed: u64) -> Result<(), String> {
    let rng = SplitMix::new(seed);
    let mut bench = Bench::new(name, maker, seed);
    let client = |port| SocketAddrV4::new(CLIENT_IP, port);
    bench.open_peer(client(BYSTANDER_PORT), rng.next_u32(), REOPEN_PATIENCE)?;
    let dropped_before = bench.engine.stats().packets_dropped;
    let resets_before = bench.engine.stats().resets_sent;
    let mut after_first_thousand = 0;
    let mut flood_ports = std::collections::HashSet::with_capacity(FLOOD_SYNS);
    // Where SYN-ACKs went, gathered as they come (room made before the
    // memory baseline, so only the engine's own growth is measured).
    let mut half_open = std::collections::HashSet::with_capacity(FLOOD_SYNS);
    for n in 0..FLOOD_SYNS {
        let port = loop {
            let port = 1024 + rng.below(60_000) as u16;
            if port != BYSTANDER_PORT {
                flood_ports.insert(port);
                break port;
            }
        };
        let mut syn = Segment::new(client(port), SERVER, rng.next_u32(), 0, SYN);
        syn.options = vec![2, 4, 0x05, 0xb4];
        bench.inject(&syn.build(), 4)?;
        bench.fire_timers(MAX_OUT_PER_INPUT)?;
        half_open.extend(bench.stray.drain(..).filter(|s| s.has(ACK)).map(|s| s.dst));
        bench.now += Duration::from_micros(100);
        if n == 1000 {
            after_first_thousand = live_bytes();
        }
        if n % 2000 == 1999 {
            // The established connection is served during the flood.
            let echo = bench.echo(0, format!("during flood {n}").as_bytes(), ECHO_HORIZON)?;
            if echo != Echo::Exact {
                return Err(format!("{name}: bystander {echo:?} during the SYN flood"));
            }
        }
    }
    let growth = live_bytes() - after_first_thousand;
    if growth > 256 * 1024 {
        return Err(format!(
            "{name}: memory grew by {growth} bytes from SYN 1000 to SYN {FLOOD_SYNS}"
        ));
    }
    // Half-open connections stay within the SYN queue; every SYN-ACK
    // beyond it carries a SYN cookie (RFC 4987 §3.6; our engine), which
    // keeps no state.
    let stats = bench.engine.stats();
    let cookies = stats.defence.syn_cookies_sent as usize;
    if half_open.len() > LISTEN_BACKLOG + cookies {
        return Err(format!(
            "{name}: answered {} flooding SYNs with SYN-ACK; the backlog is {LISTEN_BACKLOG}, \
             {cookies} of them SYN cookies",
            half_open.len()
        ));
    }
    // Every SYN beyond the backlog is dropped (and counted), refused with
    // a RST, or answered with a cookie.
    let refused =
        stats.packets_dropped - dropped_before + stats.resets_sent - resets_before + cookies as u64;
    if refused < (flood_ports.len() - LISTEN_BACKLOG) as u64 {
        return Err(format!(
            "{name}: only {refused} SYNs counted as dropped, refused or cookies during the flood"
        ));
    }
    // The flood stops; a real client keeps resending its SYN (1 s, 2 s, 4 s,
    // ...) and is served once the half-open connections have timed out.
    let started = bench.now;
    let real = bench.open_peer(client(VICTIM_PORT_BASE), rng.next_u32(), REOPEN_PATIENCE)?;
    let waited = bench.now - started;
    let echo = bench.echo(real, b"after the flood", ECHO_HORIZON)?;
    if echo != Echo::Exact {
        return Err(format!("{name}: new client {echo:?} after the flood"));
    }
    let echo = bench.echo(0, b"bystander after the flood", ECHO_HORIZON)?;
    if echo != Echo::Exact {
        return Err(format!("{name}: bystander {echo:?} after the flood"));
    }
    eprintln!(
        "{name}: {} SYN-ACKs during the flood ({cookies} with SYN cookies), memory growth \
         {growth} B, real client served after {waited:?}",
        half_open.len()
    );
    Ok(())
}

#[test]
fn syn_flood_stays_within_the_backlog_and_a_real_client_is_served_afterwards() {
    for_each_engine_and_seed(
        "syn_flood_stays_within_the_backlog_and_a_real_client_is_served_afterwards",
        1,
        syn_flood_scenario,
    );
}

// ---------------------------------------------------------------------------
// Segment storm at one instant.
// ---------------------------------------------------------------------------

/// Segments in a storm; `STORM_N=n` changes it (to bisect a failure).
fn storm_len() -> usize {
    std::env::var("STORM_N").map_or(200_000, |n| n.parse().unwrap())
}

/// One of many segments that an established connection (or the stack) must
/// answer or drop without keeping anything: duplicates, out-of-window data,
/// RSTs and SYNs out of window, out-of-order data (bounded reassembly),
/// segments for connections that do not exist, pings.
fn storm_packet(rng: &SplitMix, victim: &common::bench::Peer) -> Vec<u8> {
    let mut seg = victim.segment(ACK);
    match rng.below(8) {
        0 => {} // duplicate ACK
        1 => {
            seg.seq = victim
                .snd_nxt
                .wrapping_add(100_000 + rng.next_u32() % 1_000_000);
            seg.payload = rng.bytes(1 + rng.below(100));
        }
        2 => {
            // Old data: ends well before RCV.NXT.
            seg.seq = victim
                .snd_nxt
                .wrapping_sub(200 + rng.next_u32() % 1_000_000);
            seg.payload = rng.bytes(1 + rng.below(100));
        }
        3 => {
            // Out of the window (an in-window one may reset, RFC 9293
            // §3.10.7.4; `in_window_rst_*` tests that separately).
            seg.flags = RST;
            seg.seq = victim
                .snd_nxt
                .wrapping_add(70_000 + rng.next_u32() % 1_000_000);
        }
        4 => {
            seg.flags = SYN;
            seg.seq = rng.next_u32();
        }
        5 => {
            seg.seq = victim.snd_nxt.wrapping_add(1000 + rng.next_u32() % 50_000);
            seg.payload = rng.bytes(1 + rng.below(100));
        }
        6 => {
            seg.src = SocketAddrV4::new(CLIENT_IP, 1024 + rng.below(60_000) as u16);
            seg.dst = SocketAddrV4::new(SERVER_IP, 1 + rng.below(6) as u16);
        }
        _ => {
            let ping = [8, 0, 0, 0, 0, 1, 0, 1];
            return ipv4_packet(CLIENT_IP, SERVER_IP, PROTO_ICMP, &ping);
        }
    }
    seg.build()
}

fn storm_scenario(name: &'static str, maker: Maker, seed: u64, drain: bool) -> Result<(), String> {
    let rng = SplitMix::new(seed);
    let mut bench = Bench::new(name, maker, seed);
    let victim = bench.open_peer(
        SocketAddrV4::new(CLIENT_IP, VICTIM_PORT_BASE),
        rng.next_u32(),
        REOPEN_PATIENCE,
    )?;
    let mut at_tenth = 0;
    let storm = storm_len();
    for n in 0..storm {
        let packet = storm_packet(&rng, &bench.peers[victim]);
        if drain {
            bench.inject(&packet, MAX_OUT_PER_INPUT)?;
        } else {
            bench.engine.handle_packet(bench.now, &packet);
        }
        if n == storm / 10 {
            at_tenth = live_bytes();
        }
    }
    let growth = live_bytes() - at_tenth;
    if growth > 64 * 1024 {
        return Err(format!(
            "{name}: memory grew by {growth} bytes over the last {} of {storm} segments at one \
             instant (output {})",
            storm - storm / 10,
            if drain {
                "drained after each"
            } else {
                "never drained"
            }
        ));
    }
    let sent = bench.exchange(usize::MAX)?;
    bench.fire_timers(usize::MAX)?;
    let echo = bench.echo(victim, b"after the storm", ECHO_HORIZON)?;
    if echo != Echo::Exact {
        return Err(format!(
            "{name}: victim {echo:?} after the storm: {:?} {:?}",
            bench.peers[victim],
            bench.engine.conn_info(bench.peers[victim].conn.unwrap())
        ));
    }
    eprintln!(
        "{name}: storm (drain {drain}) memory growth {growth} B, {sent} packets queued at the end"
    );
    Ok(())
}

#[test]
fn segment_storm_with_output_drained_uses_bounded_memory() {
    for_each_engine_and_seed(
        "segment_storm_with_output_drained_uses_bounded_memory",
        1,
        |name, maker, seed| storm_scenario(name, maker, seed, true),
    );
}

#[test]
fn segment_storm_with_output_never_drained_uses_bounded_memory() {
    for_each_engine_and_seed(
        "segment_storm_with_output_never_drained_uses_bounded_memory",
        1,
        |name, maker, seed| storm_scenario(name, maker, seed, false),
    );
}

/// Many holes in the receive window (here 20 out-of-order segments, more
/// than the reassembly keeps) must not stop in-order data: the next byte
/// expected is always taken. Found by the storm: our engine refused it
/// ("out-of-order queue full") and the connection stalled for good.
fn in_order_data_after_many_holes(
    name: &'static str,
    maker: Maker,
    seed: u64,
) -> Result<(), String> {
    let mut bench = Bench::new(name, maker, seed);
    let victim = bench.open_peer(
        SocketAddrV4::new(CLIENT_IP, VICTIM_PORT_BASE),
        1000,
        REOPEN_PATIENCE,
    )?;
    for hole in 0..20u32 {
        let mut seg = bench.peers[victim].segment(ACK);
        seg.seq = seg.seq.wrapping_add(1000 + hole * 100);
        seg.payload = vec![b'x'; 10];
        bench.inject(&seg.build(), MAX_OUT_PER_INPUT)?;
    }
    match bench.echo(victim, b"in order", ECHO_HORIZON)? {
        Echo::Exact => Ok(()),
        other => Err(format!("{name}: in-order data after 20 holes: {other:?}")),
    }
}

#[test]
fn in_order_data_is_taken_when_the_out_of_order_queue_is_full() {
    for_each_engine_and_seed(
        "in_order_data_is_taken_when_the_out_of_order_queue_is_full",
        1,
        in_order_data_after_many_holes,
    );
}
