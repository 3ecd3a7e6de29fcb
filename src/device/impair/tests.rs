use std::io;
use std::os::fd::RawFd;

use etherparse::PacketBuilder;

use super::*;
use crate::device::memory::MemoryDevice;

fn spec(text: &str) -> Impairment {
    text.parse()
        .unwrap_or_else(|err| panic!("{text:?} should parse: {err}"))
}

fn spec_error(text: &str) -> String {
    match text.parse::<Impairment>() {
        Ok(impairment) => panic!("{text:?} should be refused, parsed as {impairment:?}"),
        Err(err) => err.to_string(),
    }
}

/// A packet that says which one it is: its number, as 8 bytes, padded.
fn numbered(n: u64) -> Vec<u8> {
    let mut packet = n.to_be_bytes().to_vec();
    packet.resize(100, 0xAB);
    packet
}

fn number_of(packet: &[u8]) -> u64 {
    u64::from_be_bytes(packet[..8].try_into().unwrap())
}

/// Sends packets 0..count through the impairment; returns the numbers the
/// inner device got, in order, and the device.
fn send_through(impairment: Impairment, count: u64) -> (Vec<u64>, ImpairedDevice<MemoryDevice>) {
    let mut device = ImpairedDevice::new(MemoryDevice::default(), impairment);
    for n in 0..count {
        device.send(&numbered(n)).unwrap();
    }
    let numbers = device.inner().sent.iter().map(|p| number_of(p)).collect();
    (numbers, device)
}

/// Receives packets 0..count through the impairment, until it says idle.
fn receive_through(impairment: Impairment, count: u64) -> (Vec<u64>, ImpairedDevice<MemoryDevice>) {
    let mut inner = MemoryDevice::default();
    inner.incoming.extend((0..count).map(numbered));
    let mut device = ImpairedDevice::new(inner, impairment);
    let mut buf = [0u8; 1500];
    let mut numbers = Vec::new();
    while let Some(len) = device.recv(&mut buf).unwrap() {
        assert_eq!(len, 100);
        numbers.push(number_of(&buf[..len]));
    }
    (numbers, device)
}

// ---------------------------------------------------------------------------
// The spec.
// ---------------------------------------------------------------------------

#[test]
fn full_spec_parses_and_prints_back_the_same() {
    let impairment = spec("loss=5%,dup=1%,reorder=5%,corrupt=0.1%,seed=42");
    assert_eq!(impairment.loss.percent(), 5.0);
    assert_eq!(impairment.duplicate.percent(), 1.0);
    assert_eq!(impairment.reorder.percent(), 5.0);
    assert_eq!(impairment.corrupt.percent(), 0.1);
    assert_eq!(impairment.seed, 42);
    assert_eq!(
        impairment.to_string(),
        "loss=5%,dup=1%,reorder=5%,corrupt=0.1%,seed=42"
    );
    assert_eq!(spec(&impairment.to_string()), impairment);
}

#[test]
fn keys_in_any_order_with_spaces_and_defaults_for_the_rest() {
    let impairment = spec(" reorder = 25% , loss=0.5% ");
    assert_eq!(impairment.reorder.percent(), 25.0);
    assert_eq!(impairment.loss.percent(), 0.5);
    assert!(impairment.duplicate.is_zero() && impairment.corrupt.is_zero());
    assert_eq!(impairment.seed, DEFAULT_SEED);
    // The seed is always printed, so a logged spec repeats the run.
    assert_eq!(impairment.to_string(), "loss=0.5%,reorder=25%,seed=1");
    assert_eq!(
        spec("seed=7"),
        Impairment {
            seed: 7,
            ..Impairment::none()
        }
    );
    assert_eq!(spec("loss=100%").loss.percent(), 100.0);
}

#[test]
fn bad_specs_are_refused_with_the_reason() {
    let cases = [
        ("", "it is empty; write e.g. loss=5%"),
        ("loss", "'loss' is not KEY=VALUE"),
        (
            "loss=5",
            "loss=5: write the rate as a percentage with its % sign, e.g. loss=5%",
        ),
        ("loss=0.05", "with its % sign"),
        ("dup=lots%", "dup=lots%: 'lots' is not a number"),
        (
            "reorder=101%",
            "reorder=101%: a rate must be from 0% to 100%",
        ),
        ("corrupt=-1%", "from 0% to 100%"),
        ("loss=NaN%", "from 0% to 100%"),
        (
            "drop=5%",
            "unknown key 'drop'; the keys are loss, dup, reorder, corrupt, seed or dir",
        ),
        (
            "dir=in",
            "dir=in: the direction must be inbound, outbound or both",
        ),
        ("loss=1%,loss=2%", "'loss' is given twice"),
        ("loss=1%,", "'' is not KEY=VALUE"),
        (
            "seed=-3",
            "seed=-3: the seed must be a whole number from 0 to",
        ),
        ("seed=1.5", "whole number"),
    ];
    for (text, expected) in cases {
        let message = spec_error(text);
        assert!(
            message.starts_with(&format!("bad impairment '{text}': ")),
            "{message}"
        );
        assert!(message.contains(expected), "{text:?} gave {message:?}");
    }
}

#[test]
fn direction_limits_the_faults_to_one_way() {
    let inbound_only = spec("loss=50%,dir=inbound");
    assert_eq!(inbound_only.direction, Direction::Inbound);
    assert_eq!(inbound_only.to_string(), "loss=50%,seed=1,dir=inbound");
    assert_eq!(spec(&inbound_only.to_string()), inbound_only);
    assert_eq!(spec("loss=1%,dir=both").to_string(), "loss=1%,seed=1");

    let (sent, device) = send_through(inbound_only, 1_000);
    assert_eq!(sent.len(), 1_000, "outbound untouched");
    assert_eq!(device.stats().outbound.lost, 0);
    let (received, device) = receive_through(inbound_only, 1_000);
    assert_eq!(received.len() as u64, 1_000 - device.stats().inbound.lost);
    assert!(device.stats().inbound.lost > 400);

    let (sent, _) = send_through(spec("loss=50%,dir=outbound"), 1_000);
    assert!(sent.len() < 600);
    let (received, _) = receive_through(spec("loss=50%,dir=outbound"), 1_000);
    assert_eq!(received.len(), 1_000, "inbound untouched");
}

// ---------------------------------------------------------------------------
// Rates, both directions.
// ---------------------------------------------------------------------------

const MANY: u64 = 20_000;

/// `actual` is within 15% of `rate` percent of MANY.
#[track_caller]
fn assert_about(actual: u64, percent: f64, what: &str) {
    let expected = MANY as f64 * percent / 100.0;
    let error = (actual as f64 - expected).abs() / expected;
    assert!(
        error < 0.15,
        "{what}: {actual} of {MANY}, expected about {expected}"
    );
}

#[test]
fn loss_drops_about_the_configured_share_both_ways() {
    let (sent, device) = send_through(spec("loss=5%,seed=3"), MANY);
    let lost = device.stats().outbound.lost;
    assert_about(lost, 5.0, "outbound lost");
    assert_eq!(sent.len() as u64, MANY - lost);
    assert!(
        sent.windows(2).all(|w| w[0] < w[1]),
        "loss alone keeps order"
    );

    let (received, device) = receive_through(spec("loss=5%,seed=3"), MANY);
    let lost = device.stats().inbound.lost;
    assert_about(lost, 5.0, "inbound lost");
    assert_eq!(received.len() as u64, MANY - lost);
}

#[test]
fn duplication_delivers_copies_back_to_back_both_ways() {
    for (numbers, stats) in [
        {
            let (n, d) = send_through(spec("dup=2%"), MANY);
            (n, d.stats().outbound)
        },
        {
            let (n, d) = receive_through(spec("dup=2%"), MANY);
            (n, d.stats().inbound)
        },
    ] {
        assert_about(stats.duplicated, 2.0, "duplicated");
        assert_eq!(numbers.len() as u64, MANY + stats.duplicated);
        let twins = numbers.windows(2).filter(|w| w[0] == w[1]).count() as u64;
        assert_eq!(twins, stats.duplicated);
        let mut unique = numbers.clone();
        unique.dedup();
        assert_eq!(unique, (0..MANY).collect::<Vec<_>>());
    }
}

#[test]
fn reordering_swaps_neighbours_and_loses_nothing_both_ways() {
    for (numbers, stats) in [
        {
            let (n, d) = send_through(spec("reorder=5%"), MANY);
            (n, d.stats().outbound)
        },
        {
            let (n, d) = receive_through(spec("reorder=5%"), MANY);
            (n, d.stats().inbound)
        },
    ] {
        assert_about(stats.reordered, 5.0, "reordered");
        let swaps = numbers.windows(2).filter(|w| w[0] > w[1]).count() as u64;
        assert_eq!(swaps, stats.reordered);
        // Each swap moves one packet by exactly one place.
        assert!(numbers.windows(2).all(|w| w[0] <= w[1] + 1));
        let mut sorted = numbers.clone();
        sorted.sort_unstable();
        let held_at_end = MANY - sorted.len() as u64;
        assert!(held_at_end <= 1, "only a last held packet may be pending");
    }
}

/// A valid IPv4/TCP packet from 192.0.2.1:40000 to 192.0.2.2:7.
fn tcp_packet(seq: u32) -> Vec<u8> {
    let mut packet = Vec::new();
    PacketBuilder::ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
        .tcp(40000, 7, seq, 64240)
        .ack(1)
        .write(&mut packet, b"some payload to corrupt")
        .unwrap();
    packet
}

/// The Internet checksum sum (RFC 1071) of `chunks`, folded: 0xFFFF when
/// the checksum field inside is right.
fn ones_complement_sum(chunks: &[&[u8]]) -> u16 {
    let bytes: Vec<u8> = chunks.concat();
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    sum as u16
}

/// Whether both the IPv4 header and the TCP checksum of a 20-byte-header
/// packet check out, as the receiver would see them.
fn checksums_ok(packet: &[u8]) -> bool {
    let (header, segment) = packet.split_at(20);
    let tcp_len = (segment.len() as u16).to_be_bytes();
    let pseudo = [&header[12..20], &[0, 6], &tcp_len[..]].concat();
    ones_complement_sum(&[header]) == 0xFFFF && ones_complement_sum(&[&pseudo, segment]) == 0xFFFF
}

#[test]
fn corruption_flips_one_byte_that_a_checksum_catches() {
    let mut device = ImpairedDevice::new(MemoryDevice::default(), spec("corrupt=100%"));
    let originals: Vec<Vec<u8>> = (0..500).map(|n| tcp_packet(n * 1000)).collect();
    for packet in &originals {
        assert!(checksums_ok(packet));
        device.send(packet).unwrap();
    }
    assert_eq!(device.stats().outbound.corrupted, 500);
    for (sent, original) in device.inner().sent.iter().zip(&originals) {
        let differing = sent.iter().zip(original).filter(|(a, b)| a != b).count();
        assert_eq!(differing, 1);
        assert!(!checksums_ok(sent), "corruption went unnoticed: {sent:?}");
    }
}

#[test]
fn corruption_rate_is_about_the_configured_share() {
    let (_, device) = receive_through(spec("corrupt=1%,seed=9"), MANY);
    assert_about(device.stats().inbound.corrupted, 1.0, "corrupted");
}

// ---------------------------------------------------------------------------
// Determinism and liveness.
// ---------------------------------------------------------------------------

#[test]
fn same_seed_same_fates_other_seed_other_fates() {
    let all = "loss=5%,dup=5%,reorder=5%,corrupt=5%";
    let run = |seed: u64| {
        let impairment = Impairment { seed, ..spec(all) };
        let (_, device) = send_through(impairment, 2_000);
        let (numbers, _) = receive_through(impairment, 2_000);
        (device.inner().sent.clone(), numbers)
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43));
}

#[test]
fn directions_have_independent_fates() {
    // Same seed, same traffic: the two directions still differ.
    let (out, _) = send_through(spec("loss=50%"), 200);
    let (inn, _) = receive_through(spec("loss=50%"), 200);
    assert_ne!(out, inn);
}

#[test]
fn held_inbound_packet_is_released_when_the_device_is_idle() {
    // With every packet reordered, pairs swap; an odd last one comes out
    // as soon as the inner device has nothing more, never stuck.
    let (numbers, device) = receive_through(spec("reorder=100%"), 5);
    assert_eq!(numbers, vec![1, 0, 3, 2, 4]);
    assert_eq!(device.stats().inbound.reordered, 2);
}

#[test]
fn held_outbound_packet_goes_after_the_next_or_at_the_next_recv() {
    let mut device = ImpairedDevice::new(MemoryDevice::default(), spec("reorder=100%"));
    device.send(&numbered(0)).unwrap();
    assert!(device.inner().sent.is_empty(), "held back");
    device.send(&numbered(1)).unwrap();
    device.send(&numbered(2)).unwrap();
    let sent: Vec<u64> = device.inner().sent.iter().map(|p| number_of(p)).collect();
    assert_eq!(sent, vec![1, 0]);
    // Nothing more to send: the driver's next turn starts with a recv.
    let mut buf = [0u8; 1500];
    assert_eq!(device.recv(&mut buf).unwrap(), None);
    assert_eq!(device.inner().sent.len(), 3);
    assert_eq!(number_of(&device.inner().sent[2]), 2);
}

/// A device whose sent packets outlive it.
struct SharedSink(std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>);

impl Device for SharedSink {
    fn recv(&mut self, _buf: &mut [u8]) -> io::Result<Option<usize>> {
        Ok(None)
    }
    fn send(&mut self, packet: &[u8]) -> io::Result<()> {
        self.0.lock().unwrap().push(packet.to_vec());
        Ok(())
    }
    fn raw_fd(&self) -> Option<RawFd> {
        None
    }
}

#[test]
fn held_outbound_packet_is_sent_when_the_device_is_dropped() {
    let sent = std::sync::Arc::default();
    let mut device = ImpairedDevice::new(
        SharedSink(std::sync::Arc::clone(&sent)),
        spec("reorder=100%"),
    );
    device.send(&numbered(0)).unwrap();
    assert!(sent.lock().unwrap().is_empty(), "held back");
    drop(device);
    assert_eq!(sent.lock().unwrap().len(), 1, "sent on drop");
}

#[test]
fn no_impairment_passes_everything_unchanged() {
    let (sent, device) = send_through(Impairment::none(), 1_000);
    assert_eq!(sent, (0..1_000).collect::<Vec<_>>());
    let (received, _) = receive_through(Impairment::none(), 1_000);
    assert_eq!(received, (0..1_000).collect::<Vec<_>>());
    assert_eq!(device.stats().outbound.packets, 1_000);
    assert_eq!(device.mtu(), 1500);
    assert_eq!(device.raw_fd(), None);
}
