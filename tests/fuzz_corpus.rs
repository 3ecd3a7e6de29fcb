//! The fuzz targets (`fuzz/`, run by `scripts/fuzz.sh` under libFuzzer)
//! as ordinary tests: every seed (`fuzz/seeds/`, made from
//! `captures/*.pcap`) and every input that once crashed the stack
//! (`fuzz/regressions/`) is replayed through its target, so CI checks
//! them without building libFuzzer or the instrumented stack.
//!
//! `cargo test --release --test fuzz_corpus -- --ignored write_fuzz_seeds`
//! writes the seeds again after the captures or the input formats change.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod tuntcp_fuzz;

use std::fs;
use std::panic::{catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};

use pcap_file::pcap::PcapReader;

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 3] = [
    ("wire", tuntcp_fuzz::wire::run),
    ("packet", tuntcp_fuzz::packet::run),
    ("connection", tuntcp_fuzz::connection::run),
];

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Runs every file under `dir` through `target`; a panic names the file.
fn replay_dir(target: Target, dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    files.sort();
    for file in &files {
        replay_file(target, file);
    }
    files.len()
}

fn replay_file(target: Target, file: &Path) {
    let input = fs::read(file).unwrap_or_else(|err| panic!("{}: {err}", file.display()));
    if let Err(panic) = catch_unwind(|| target(&input)) {
        eprintln!("PANIC replaying {}", file.display());
        resume_unwind(panic);
    }
}

#[test]
fn fuzz_seeds_replay_without_a_panic() {
    for (name, target) in TARGETS {
        let replayed = replay_dir(target, &fuzz_dir().join("seeds").join(name));
        assert!(replayed > 0, "no seeds for {name}: run write_fuzz_seeds");
    }
}

#[test]
fn fuzz_regressions_replay_without_a_panic() {
    for (name, target) in TARGETS {
        replay_dir(target, &fuzz_dir().join("regressions").join(name));
    }
}

/// The IPv4 or IPv6 packets of a capture (link type RAW: one bare packet a record).
fn capture_packets(path: &Path) -> Vec<Vec<u8>> {
    let file = fs::File::open(path).unwrap();
    let mut reader = PcapReader::new(file).unwrap();
    let mut packets = Vec::new();
    while let Some(record) = reader.next_packet() {
        packets.push(record.unwrap().data.into_owned());
    }
    packets
}

#[test]
#[ignore = "writes fuzz/seeds from captures/*.pcap; run when they change"]
fn write_fuzz_seeds() {
    let captures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut paths: Vec<PathBuf> = fs::read_dir(&captures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    paths.sort();
    for (name, _) in TARGETS {
        let dir = fuzz_dir().join("seeds").join(name);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
    }
    for path in paths {
        let packets = capture_packets(&path);
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let write = |target: &str, seeds: Vec<Vec<u8>>| {
            for (n, seed) in seeds.iter().enumerate() {
                let file = fuzz_dir()
                    .join("seeds")
                    .join(target)
                    .join(format!("{stem}-{n:03}"));
                fs::write(file, seed).unwrap();
            }
        };
        write("wire", tuntcp_fuzz::seeds::wire(&packets));
        write("packet", tuntcp_fuzz::seeds::packet(&packets));
        write(
            "connection",
            tuntcp_fuzz::seeds::connection(&packets)
                .into_iter()
                .collect(),
        );
    }
}

/// The engine targets aim at a live connection: the scripted peer must
/// really open one, with every SYN option variant and stack configuration,
/// over IPv4 and over IPv6 (variants 0x40 and 0xff).
#[test]
fn the_fuzz_peer_opens_a_connection_in_every_variant() {
    use tuntcp_fuzz::driver::Driver;
    use tuntcp_fuzz::peer::Peer;
    for variant in [0u8, 0x3f, 0x40, 0x80, 0xff] {
        for syn_variant in 0..8 {
            let mut driver = Driver::new(variant);
            let peer = Peer::open(&mut driver, syn_variant);
            assert!(
                peer.conn.is_some(),
                "variant {variant:#x}/{syn_variant}: not accepted"
            );
            assert_ne!(
                peer.stack_high, 0,
                "variant {variant:#x}/{syn_variant}: no SYN-ACK seen"
            );
        }
    }
}

/// The configuration byte's family bit puts the live connection on IPv6:
/// data the peer sends over IPv6 reaches the accepted connection, and the
/// IPv6 captures gave every target seeds.
#[test]
fn the_fuzz_peer_speaks_ipv6_when_the_config_bit_says_so() {
    use tuntcp::engine::Engine;
    use tuntcp_fuzz::driver::{Driver, IPV6_BIT};
    use tuntcp_fuzz::peer::{Peer, ACK};
    let mut driver = Driver::new(IPV6_BIT);
    assert!(driver.addresses().0.is_ipv6());
    let mut peer = Peer::open(&mut driver, 0);
    let conn = peer.conn.expect("accepted over IPv6");
    let (seq, ack) = (peer.snd_nxt, peer.stack_high);
    peer.send(&mut driver, ACK | 0x08, seq, ack, 65_535, &[], b"over v6");
    let mut buf = [0u8; 16];
    assert_eq!(driver.stack.recv(conn, &mut buf), Ok(7));
    for (name, _) in TARGETS {
        let dir = fuzz_dir().join("seeds").join(name);
        let has_v6 = fs::read_dir(dir)
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().contains("-ipv6-"));
        assert!(has_v6, "no IPv6 seeds for {name}: run write_fuzz_seeds");
    }
}
