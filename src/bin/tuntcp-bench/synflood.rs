//! `tuntcp-bench synflood`: a SYN flood from spoofed sources, IPv4 or
//! IPv6, as fast as one core sends, for the live hostile tests and
//! scripts/floods.sh. hping3 --flood does IPv4 only; this sends the same
//! way (one sendto(2) a packet through a raw socket that takes the whole
//! IP header), so both families are flooded at the machine's rate.
//!
//! Every SYN has its own source port (and, with `--sources N`, one of N
//! source addresses counting up from `--from`), as hping3 -S --flood. The
//! packets are built once, checksums included, and sent round-robin.
//! Spoofed sources must stay in the documentation prefixes
//! (192.0.2.0/24, 2001:db8::/32): the flood is meant for a namespace of
//! a test's own.

use std::io;
use std::mem;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use etherparse::PacketBuilder;

/// Distinct packets built before the clock starts.
const PACKETS: usize = 8192;

#[derive(Args)]
pub struct SynFloodArgs {
    /// The server's address, IPv4 or IPv6.
    #[arg(long)]
    to: IpAddr,
    /// The server's port.
    #[arg(long, default_value_t = 7)]
    port: u16,
    /// The first spoofed source [default: 192.0.2.9 or 2001:db8::9].
    #[arg(long = "from")]
    from: Option<IpAddr>,
    /// How many source addresses, counting up from --from.
    #[arg(long, default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    sources: u32,
    /// How long the flood lasts, at most.
    #[arg(long, default_value_t = 8.0)]
    seconds: f64,
    /// Stop after this many SYNs.
    #[arg(long)]
    count: Option<u64>,
}

/// Floods, then prints "sent N SYNs in S s (R/s)".
pub fn run(args: &SynFloodArgs) -> io::Result<()> {
    if !(args.seconds > 0.0 && args.seconds <= 60.0) {
        return Err(invalid("--seconds is more than 0 and at most 60"));
    }
    let from = args.from.unwrap_or(match args.to {
        IpAddr::V4(_) => "192.0.2.9".parse().unwrap(),
        IpAddr::V6(_) => "2001:db8::9".parse().unwrap(),
    });
    if !in_documentation_prefix(from) || !in_documentation_prefix(args.to) {
        return Err(invalid(
            "addresses must be in 192.0.2.0/24 or 2001:db8::/32",
        ));
    }
    let packets = build(args, from)?;
    let socket = RawSocket::open(args.to)?;
    println!("flooding {}", args.to);
    let started = Instant::now();
    let sent = flood(
        &socket,
        &packets,
        args,
        started + Duration::from_secs_f64(args.seconds),
    );
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "sent {sent} SYNs in {elapsed:.1} s ({:.0}/s)",
        sent as f64 / elapsed
    );
    Ok(())
}

/// Set by SIGTERM or SIGINT: the flood stops and still says what it sent.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

fn flood(socket: &RawSocket, packets: &[Vec<u8>], args: &SynFloodArgs, until: Instant) -> u64 {
    let handler = on_stop_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic, which is
    // async-signal-safe.
    unsafe {
        libc::signal(libc::SIGTERM, handler);
        libc::signal(libc::SIGINT, handler);
    }
    let mut sent = 0u64;
    loop {
        for packet in packets {
            // ENOBUFS (a full queue) loses that one packet, as hping3's.
            if socket.send(packet).is_ok() {
                sent += 1;
            }
            if Some(sent) == args.count {
                return sent;
            }
        }
        if Instant::now() >= until || STOP.load(Ordering::Relaxed) {
            return sent;
        }
    }
}

/// The SYNs: source port, source address and ISN vary, the options are
/// the MSS every real client sends.
fn build(args: &SynFloodArgs, from: IpAddr) -> io::Result<Vec<Vec<u8>>> {
    let mut packets = Vec::with_capacity(PACKETS);
    for n in 0..PACKETS as u32 {
        let src = nth_address(from, n % args.sources)?;
        let sport = 1024 + (n.wrapping_mul(7919) % 64_000) as u16;
        let isn = n.wrapping_mul(2_654_435_761);
        let builder = match (src, args.to) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                PacketBuilder::ipv4(src.octets(), dst.octets(), 64)
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                PacketBuilder::ipv6(src.octets(), dst.octets(), 64)
            }
            _ => return Err(invalid("--to and --from must be of one family")),
        };
        let builder = builder
            .tcp(sport, args.port, isn, 64_240)
            .syn()
            .options(&[etherparse::TcpOptionElement::MaximumSegmentSize(1460)])
            .map_err(|err| invalid(&err.to_string()))?;
        let mut packet = Vec::with_capacity(builder.size(0));
        builder
            .write(&mut packet, &[])
            .map_err(|err| invalid(&err.to_string()))?;
        packets.push(packet);
    }
    Ok(packets)
}

/// `from` plus `n`, in its family.
fn nth_address(from: IpAddr, n: u32) -> io::Result<IpAddr> {
    match from {
        IpAddr::V4(v4) => u32::from(v4)
            .checked_add(n)
            .map(|a| IpAddr::V4(a.into()))
            .ok_or_else(|| invalid("--sources runs past the last address")),
        IpAddr::V6(v6) => u128::from(v6)
            .checked_add(u128::from(n))
            .map(|a| IpAddr::V6(a.into()))
            .ok_or_else(|| invalid("--sources runs past the last address")),
    }
}

fn in_documentation_prefix(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => v4.octets()[..3] == [192, 0, 2],
        IpAddr::V6(v6) => v6.segments()[..2] == [0x2001, 0xdb8],
    }
}

fn invalid(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, why.to_string())
}

/// A raw socket that takes whole IP packets: IPPROTO_RAW implies
/// IP_HDRINCL for IPv4 (raw(7)) and the whole header for IPv6.
struct RawSocket {
    fd: std::os::fd::OwnedFd,
    to: IpAddr,
}

impl RawSocket {
    fn open(to: IpAddr) -> io::Result<RawSocket> {
        use std::os::fd::FromRawFd;
        let domain = match to {
            IpAddr::V4(_) => libc::AF_INET,
            IpAddr::V6(_) => libc::AF_INET6,
        };
        // SAFETY: plain socket(2); the result is checked.
        let fd = unsafe {
            libc::socket(
                domain,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::IPPROTO_RAW,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor nothing else owns.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        Ok(RawSocket { fd, to })
    }

    fn send(&self, packet: &[u8]) -> io::Result<()> {
        match self.to {
            IpAddr::V4(v4) => {
                // SAFETY: all-zero is a valid sockaddr_in.
                let mut addr: libc::sockaddr_in = unsafe { mem::zeroed() };
                addr.sin_family = libc::AF_INET as libc::sa_family_t;
                addr.sin_addr.s_addr = u32::from(v4).to_be();
                self.send_to(packet, &addr)
            }
            IpAddr::V6(v6) => {
                // SAFETY: all-zero is a valid sockaddr_in6.
                let mut addr: libc::sockaddr_in6 = unsafe { mem::zeroed() };
                addr.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                addr.sin6_addr.s6_addr = v6.octets();
                self.send_to(packet, &addr)
            }
        }
    }

    /// sendto(2) with `addr`, a sockaddr_in or sockaddr_in6.
    fn send_to<A>(&self, packet: &[u8], addr: &A) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        // SAFETY: `addr` is a whole sockaddr of its size, and `packet` a
        // valid buffer of its length.
        let rc = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                packet.as_ptr().cast(),
                packet.len(),
                0,
                (addr as *const A).cast(),
                mem::size_of::<A>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(to: &str, sources: u32) -> SynFloodArgs {
        SynFloodArgs {
            to: to.parse().unwrap(),
            port: 7,
            from: None,
            sources,
            seconds: 1.0,
            count: None,
        }
    }

    #[test]
    fn the_syns_parse_and_vary_their_source_port_and_address() {
        for (to, from) in [("192.0.2.2", "192.0.2.9"), ("2001:db8::2", "2001:db8::9")] {
            let packets = build(&args(to, 100), from.parse().unwrap()).unwrap();
            assert_eq!(packets.len(), PACKETS);
            let first = etherparse::SlicedPacket::from_ip(&packets[0]).unwrap();
            let second = etherparse::SlicedPacket::from_ip(&packets[1]).unwrap();
            let (
                Some(etherparse::TransportSlice::Tcp(a)),
                Some(etherparse::TransportSlice::Tcp(b)),
            ) = (first.transport, second.transport)
            else {
                panic!("not TCP")
            };
            assert!(a.syn() && !a.ack() && a.destination_port() == 7);
            assert_ne!(a.source_port(), b.source_port());
            let (ip_a, ip_b) = (first.net.unwrap(), second.net.unwrap());
            assert_ne!(
                format!("{ip_a:?}"),
                format!("{ip_b:?}"),
                "one of 100 sources each"
            );
        }
    }

    #[test]
    fn addresses_outside_the_documentation_prefixes_are_refused() {
        let mut outside = args("10.0.0.2", 1);
        assert!(run(&outside).is_err());
        outside.to = "2001:db8::2".parse().unwrap();
        outside.from = Some("2001:4860::1".parse().unwrap());
        assert!(run(&outside).is_err());
    }

    #[test]
    fn mixed_families_are_refused() {
        let err = build(&args("192.0.2.2", 1), "2001:db8::9".parse().unwrap()).unwrap_err();
        assert!(err.to_string().contains("one family"), "{err}");
    }
}
