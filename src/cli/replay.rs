//! `tuntcp replay FILE`: a capture played into a fresh engine on virtual
//! time, printed as a transcript (see `tuntcp::apps::replay`).

use std::io::{ErrorKind, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use tuntcp::apps::replay::{self, AppKind};
use tuntcp::device::replay::{Capture, ReplayError};
use tuntcp::engine::{Engine, Stack, StackConfig};
use tuntcp::reference::{SmolConfig, SmolEngine};

use super::args::{ReplayApp, ReplayArgs, StackKind};

/// Replays and prints; the error is a sentence for the user.
pub fn run(args: &ReplayArgs) -> Result<(), String> {
    let capture = read_capture(&args.file, args)?;
    let (v4, v6) = engine_addresses(&args.addr);
    let engine: Box<dyn Engine> = match args.stack {
        // A replay is the same every run: the fixed ISN secret.
        StackKind::Tuntcp => {
            let mut config = StackConfig::new(v4).with_fixed_secret();
            if let Some(v6) = v6 {
                config = config.with_ipv6(v6);
            }
            Box::new(Stack::new(config))
        }
        StackKind::Smoltcp => {
            let mut config = SmolConfig::new(v4);
            config.addr_v6 = v6;
            Box::new(SmolEngine::new(config))
        }
    };
    let app = args.app.map(|app| match app {
        ReplayApp::Echo => AppKind::EchoServer,
        ReplayApp::Connect => AppKind::Client,
    });
    let file = args.file.display();
    let (recorded, replay) = replay::replay(&capture, engine, app)
        .map_err(|err| format!("cannot replay {file}: {err}"))?;
    let mut role = match replay.app_kind() {
        AppKind::Client => format!("the client, connecting to {}", recorded.peer_end),
        AppKind::EchoServer => format!("the echo server on {}", recorded.stack_end),
    };
    if replay.app_kind() != AppKind::of(&recorded) {
        let recorded_role = match recorded.active_open {
            true => "the client",
            false => "the server",
        };
        role += &format!(" (as --app asks; the recorded stack was {recorded_role})");
    }
    let body = if args.ladder {
        replay::ladder(&recorded, &replay)
    } else {
        replay::transcript(&recorded, &replay)
    };
    let text = format!(
        "Replaying {file} ({} packets) into {} as {role}.\n\
         Times are seconds since the first packet; seq and ack count from each side's\n\
         initial sequence number, as Wireshark shows them.\n\n{body}",
        capture.packets.len(),
        replay.engine_name(),
    );
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        // `tuntcp replay FILE | head` is not an error.
        Err(err) if err.kind() != ErrorKind::BrokenPipe => {
            Err(format!("cannot write the transcript: {err}"))
        }
        _ => Ok(()),
    }
}

/// The replaying engine's addresses: the recorded stack's, of each family
/// (the first given of each); the default IPv4 one when only IPv6 is given.
fn engine_addresses(addrs: &[IpAddr]) -> (Ipv4Addr, Option<Ipv6Addr>) {
    let v4 = addrs.iter().find_map(|ip| match ip {
        IpAddr::V4(v4) => Some(*v4),
        IpAddr::V6(_) => None,
    });
    let v6 = addrs.iter().find_map(|ip| match ip {
        IpAddr::V6(v6) => Some(*v6),
        IpAddr::V4(_) => None,
    });
    (v4.unwrap_or(Ipv4Addr::new(192, 0, 2, 2)), v6)
}

/// "192.0.2.2 or 2001:db8::2".
fn addresses_in_words(addrs: &[IpAddr]) -> String {
    let words: Vec<String> = addrs.iter().map(IpAddr::to_string).collect();
    words.join(" or ")
}

/// The capture, or why not in words a user acts on.
fn read_capture(path: &Path, args: &ReplayArgs) -> Result<Capture, String> {
    let file = path.display();
    let capture = Capture::read(path, &args.addr).map_err(|err| match err {
        ReplayError::Io(err) if err.kind() == ErrorKind::NotFound => {
            format!("{file}: no such file")
        }
        ReplayError::Io(err) if err.kind() == ErrorKind::UnexpectedEof => {
            format!("{file} is not a pcap file (too short)")
        }
        ReplayError::Pcap(detail) if detail.contains("magic number") => {
            format!("{file} is not a pcap file (it does not start with a pcap header)")
        }
        ReplayError::Pcap(detail) => format!("{file} is not a pcap file ({detail})"),
        ReplayError::Foreign { index, src, dst } => format!(
            "{file}: packet #{index} ({src} -> {dst}) is neither from nor to {}: \
             is --addr the recorded stack's address?",
            addresses_in_words(&args.addr)
        ),
        other => format!("{file}: {other}"),
    })?;
    if capture.packets.is_empty() {
        return Err(format!("{file} holds no packets"));
    }
    Ok(capture)
}
