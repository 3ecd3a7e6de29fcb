//! The command line. Its names and defaults are a contract other tools rely
//! on (scripts, tests, the README): change them only with care.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tuntcp::device::Impairment;

pub use super::addresses::{parse_stack_addr, Addresses, Cidr};

#[derive(Parser, Debug)]
#[command(
    name = "tuntcp",
    version,
    about = "A userspace TCP/IP stack on a TUN device"
)]
pub struct Cli {
    /// More log output: -v info, -vv debug (every state change), -vvv trace
    /// (every segment). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve echo (RFC 862): every byte a client sends comes back.
    Echo(EchoArgs),
    /// Open a connection from the stack (active open) and copy stdin to it
    /// and it to stdout, like `nc -N`.
    Connect(ConnectArgs),
    /// Play a recorded session (a pcap from --pcap) into a fresh engine on
    /// virtual time and print what happens, segment by segment. Needs no
    /// root and no TUN device.
    Replay(ReplayArgs),
    /// Run packetdrill scripts (files, or directories searched for *.pkt)
    /// against a fresh engine each, on virtual time: PASS, FAIL or SKIP per
    /// script, then the counts. Needs no root and no TUN device.
    Packetdrill(PacketdrillArgs),
    /// Show a running stack's connections (state, queues, windows, cwnd,
    /// RTT, timers), listeners and counters, like `ss -tnoi`. Root only.
    Ss(SsArgs),
}

#[derive(Args, Debug)]
pub struct PacketdrillArgs {
    /// Scripts, or directories searched (recursively) for *.pkt.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Which TCP engine runs the scripts.
    #[arg(long, value_enum, default_value_t = StackKind::Tuntcp)]
    pub stack: StackKind,
    /// Compare everything the scripts show, the stack's own choices too
    /// (window sizes, option order, window scale shift, PSH, buffer sizes).
    #[arg(long)]
    pub strict: bool,
    /// Also write one tab-separated line per script (outcome, path, detail)
    /// to FILE, sorted, for comparing runs.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SsArgs {
    /// The TUN device of the stack to look at (in this network namespace).
    #[arg(long, default_value = "tun0")]
    pub iface: String,
    /// Refresh every SECONDS (default 1) until interrupted.
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "1")]
    pub watch: Option<f64>,
}

#[derive(Args, Debug)]
pub struct EchoArgs {
    #[command(flatten)]
    pub net: NetArgs,
    /// The TCP port to listen on.
    #[arg(long, default_value_t = 7)]
    pub port: u16,
    /// threaded: a thread per client; iterative: one client at a time, the
    /// next waits in the backlog; event: one thread serves every client,
    /// woken by readiness events.
    #[arg(long, value_enum, default_value_t = Mode::Event)]
    pub mode: Mode,
    /// Length of the accept queue (listen(2)'s backlog).
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..=65_535))]
    pub backlog: u32,
}

#[derive(Args, Debug)]
pub struct ConnectArgs {
    /// Server to connect to: IP:PORT, [IPv6]:PORT or HOST:PORT, e.g.
    /// 192.0.2.1:9000 or [2001:db8::1]:9000 (the host side).
    #[arg(value_name = "ADDRESS:PORT")]
    pub remote: String,
    #[command(flatten)]
    pub net: NetArgs,
}

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// The capture: link type RAW or IPV4, one TCP connection, as
    /// `--pcap` writes it (see captures/).
    pub file: PathBuf,
    /// Which TCP engine replays the stack's side.
    #[arg(long, value_enum, default_value_t = StackKind::Tuntcp)]
    pub stack: StackKind,
    /// The recorded stack's address, IPv4 or IPv6; repeat for both:
    /// packets to it are the peer's, packets from it the stack's.
    #[arg(long, value_name = "IP", value_parser = parse_stack_addr,
          default_values = ["192.0.2.2", "2001:db8::2"])]
    pub addr: Vec<IpAddr>,
    /// The application on the engine side. Default: what the capture
    /// shows, echo if the peer sent the first SYN, connect if the stack did.
    #[arg(long, value_enum)]
    pub app: Option<ReplayApp>,
    /// Draw the replay as a ladder (sequence) diagram: the kernel's side
    /// on the left, the stack's on the right, an arrow per segment.
    #[arg(long)]
    pub ladder: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReplayApp {
    /// The echo server (`tuntcp echo`).
    Echo,
    /// The client (`tuntcp connect`), sending what the recorded stack sent.
    Connect,
}

/// Options shared by every command: the interface and the stack.
#[derive(Args, Debug)]
pub struct NetArgs {
    /// The TUN device, created if absent.
    #[arg(long, default_value = "tun0")]
    pub iface: String,
    /// Address and prefix given to the kernel's side of the TUN device,
    /// IPv4 or IPv6 (IPv6 without duplicate address detection, usable at
    /// once); repeat for both families. [default: 192.0.2.1/24 and
    /// 2001:db8::1/64, or those of the families --addr names]
    #[arg(long, value_name = "CIDR")]
    pub host_addr: Vec<Cidr>,
    /// Use the interface exactly as it is (no address, no link up).
    #[arg(long)]
    pub no_configure: bool,
    /// The stack's own address, IPv4 or IPv6; repeat for both, one of each
    /// family at most. Only the families given are served: --addr
    /// 192.0.2.2 alone is IPv4 only. [default: 192.0.2.2 and 2001:db8::2,
    /// or those of the families --host-addr names]
    #[arg(long, value_name = "IP", value_parser = parse_stack_addr)]
    pub addr: Vec<IpAddr>,
    /// Which TCP engine serves: ours, or smoltcp (the reference).
    #[arg(long, value_enum, default_value_t = StackKind::Tuntcp)]
    pub stack: StackKind,
    /// Write every packet, both directions, to this pcap file (Wireshark).
    #[arg(long)]
    pub pcap: Option<PathBuf>,
    /// Write a machine-readable trace to this file, one JSON object a line:
    /// every segment in and out, and (our engine only) every state change
    /// with its 4-tuple and the segment that caused it.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Make the link bad on purpose, to watch retransmission, reordering and
    /// duplicate delivery happen (e.g. in Wireshark with --pcap): e.g.
    /// loss=5%,dup=1%,reorder=5%,corrupt=0.1%,seed=42. Rates are percentages
    /// (the % sign is required), applied to each direction separately; the
    /// same seed repeats the same fates. With --pcap the capture is taken on
    /// the kernel's side of the impairment, as `tcpdump -i tun0` would see
    /// it: every packet the kernel sent (including those then lost on the
    /// way to the stack) and only the stack's packets that got through.
    #[arg(long, value_name = "SPEC")]
    pub impair: Option<Impairment>,
    /// Let the kernel segment and checksum for us (TUN offloads: TSO and
    /// checksum offload): TCP segments of up to 64 KB cross the device in
    /// one read or write instead of MTU-sized packets, several times
    /// faster in bulk. The default with our engine, unless --impair is
    /// given (an impaired link drops or reorders wire-sized packets, not
    /// 64 KB ones); this flag asks for it anyway. Our engine only. A
    /// --pcap capture still shows MTU-sized packets.
    #[arg(long, conflicts_with = "no_offload")]
    pub offload: bool,
    /// Every packet crosses the TUN device at the MTU, as on a wire.
    #[arg(long)]
    pub no_offload: bool,
    /// Neither offer nor accept TCP Timestamps (RFC 7323): no RTT samples
    /// from retransmitted data, no PAWS, 12 more bytes of data per
    /// segment. Our engine only (smoltcp is left as it is).
    #[arg(long)]
    pub no_timestamps: bool,
    /// Explicit Congestion Notification (RFC 3168): ask for it in our SYNs
    /// and answer peers that ask (a Linux client with net.ipv4.tcp_ecn=1),
    /// then send data ECN-capable, echo CE marks with ECE, and reduce the
    /// congestion window on ECE without a retransmission. Our engine only.
    #[arg(long)]
    pub ecn: bool,
    /// Drop SYNs past a full SYN queue instead of answering them with SYN
    /// cookies (RFC 4987 §3.6), as Linux's tcp_syncookies=0: a SYN flood
    /// then keeps real clients out. Our engine only.
    #[arg(long)]
    pub no_syn_cookies: bool,
    /// Maximum Segment Lifetime in seconds: TIME-WAIT lasts twice this
    /// (RFC 9293 §3.4). Make it small to watch TIME-WAIT end. Our engine
    /// only: smoltcp's TIME-WAIT is fixed.
    #[arg(long, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub msl: u64,
    /// Congestion control of our engine: cubic (RFC 9438, as Linux),
    /// newreno (RFC 5681, RFC 6582) or bbr (BBR v1, a model of the path
    /// that random loss does not shrink; needs SACK). Our engine only.
    /// [default: cubic]
    #[arg(long, value_enum)]
    pub cc: Option<CcKind>,
    /// The TUN device's MTU, set before the link comes up; our engine's
    /// MSS follows it (MTU - 40 for IPv4 and TCP headers). From 576 (the
    /// datagram every IPv4 host takes, RFC 791) to 65535 (the IPv4 total
    /// length). Default: leave the device's own (1500 for a new one).
    /// Our engine only: smoltcp's MTU is fixed at 1500.
    #[arg(long, value_name = "BYTES",
          value_parser = clap::value_parser!(u16).range(576..=65_535))]
    pub mtu: Option<u16>,
    /// How many packets the kernel holds for the stack to read (the TUN
    /// device's txqueuelen, as `ip link set tun0 txqueuelen N`); past it,
    /// the kernel drops them (the stop line counts those). The kernel's
    /// default for a new device, 500, is a few milliseconds of a SYN
    /// flood; a real client's SYN dropped there waits 1 s to be sent
    /// again. Not set with --no-configure.
    #[arg(long, value_name = "PACKETS", default_value_t = tuntcp::device::tun_queue::DEFAULT_TXQUEUELEN,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub txqueuelen: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CcKind {
    Cubic,
    Newreno,
    Bbr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    Threaded,
    Iterative,
    Event,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StackKind {
    Tuntcp,
    Smoltcp,
}

impl NetArgs {
    /// The stack's and the kernel side's addresses these options ask for.
    pub fn addresses(&self) -> Result<Addresses, String> {
        Addresses::resolve(&self.addr, &self.host_addr, !self.no_configure, &self.iface)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_contract() {
        let cli = Cli::try_parse_from(["tuntcp", "echo"]).unwrap();
        let Command::Echo(echo) = cli.command else {
            panic!("not echo")
        };
        assert_eq!(echo.net.iface, "tun0");
        let addresses = echo.net.addresses().unwrap();
        let host: Vec<String> = addresses.host().iter().map(Cidr::to_string).collect();
        assert_eq!(host, ["192.0.2.1/24", "2001:db8::1/64"]);
        assert_eq!(
            addresses.stack(),
            [
                "192.0.2.2".parse::<IpAddr>().unwrap(),
                "2001:db8::2".parse::<IpAddr>().unwrap()
            ]
        );
        assert_eq!(echo.port, 7);
        assert_eq!(echo.backlog, 128);
        assert_eq!(
            echo.mode,
            Mode::Event,
            "one thread serves all: fastest at 64 clients, no thread per client"
        );
        assert!(!echo.net.no_configure);
        assert_eq!(
            echo.net.stack,
            StackKind::Tuntcp,
            "our engine serves by default"
        );
        assert_eq!(echo.net.impair, None);
        assert!(
            !echo.net.offload && !echo.net.no_offload,
            "offloads: the default decides"
        );
        assert_eq!(echo.net.msl, 30, "TIME-WAIT lasts 60 s, as on Linux");
        assert_eq!(
            echo.net.cc, None,
            "CUBIC, as Linux (refused by smoltcp if given)"
        );
        assert_eq!(echo.net.mtu, None, "the device's own MTU");
    }

    #[test]
    fn cc_chooses_newreno_on_echo_and_connect() {
        let cli = Cli::try_parse_from(["tuntcp", "echo", "--cc", "newreno"]).unwrap();
        let Command::Echo(echo) = cli.command else {
            panic!("not echo")
        };
        assert_eq!(echo.net.cc, Some(CcKind::Newreno));
        let cli = Cli::try_parse_from(["tuntcp", "connect", "192.0.2.1:9", "--cc", "cubic"]);
        let Command::Connect(connect) = cli.unwrap().command else {
            panic!("not connect")
        };
        assert_eq!(connect.net.cc, Some(CcKind::Cubic));
        let cli = Cli::try_parse_from(["tuntcp", "echo", "--cc", "bbr"]).unwrap();
        let Command::Echo(echo) = cli.command else {
            panic!("not echo")
        };
        assert_eq!(echo.net.cc, Some(CcKind::Bbr));
        assert!(Cli::try_parse_from(["tuntcp", "echo", "--cc", "vegas"]).is_err());
    }

    #[test]
    fn mtu_is_taken_by_every_tun_command_and_bad_values_are_refused() {
        let cli = Cli::try_parse_from(["tuntcp", "echo", "--mtu", "65535"]).unwrap();
        let Command::Echo(echo) = cli.command else {
            panic!("not echo")
        };
        assert_eq!(echo.net.mtu, Some(65_535));
        let cli =
            Cli::try_parse_from(["tuntcp", "connect", "192.0.2.1:9", "--mtu", "576"]).unwrap();
        let Command::Connect(connect) = cli.command else {
            panic!("not connect")
        };
        assert_eq!(connect.net.mtu, Some(576));
        for bad in ["575", "65536", "0", "big"] {
            let err = Cli::try_parse_from(["tuntcp", "echo", "--mtu", bad]).unwrap_err();
            assert!(err.to_string().contains("--mtu"), "{bad}: {err}");
        }
        let err = Cli::try_parse_from(["tuntcp", "echo", "--mtu", "100"]).unwrap_err();
        assert!(err.to_string().contains("576..=65535"), "{err}");
    }

    #[test]
    fn msl_sets_time_wait_and_refuses_zero() {
        let cli = Cli::try_parse_from(["tuntcp", "echo", "--msl", "2"]).unwrap();
        let Command::Echo(echo) = cli.command else {
            panic!("not echo")
        };
        assert_eq!(echo.net.msl, 2);
        assert!(Cli::try_parse_from(["tuntcp", "echo", "--msl", "0"]).is_err());
    }

    #[test]
    fn impair_takes_a_spec_and_refuses_a_bad_one_with_the_reason() {
        let cli = Cli::try_parse_from(["tuntcp", "echo", "--impair", "loss=5%,seed=9"]).unwrap();
        let Command::Echo(echo) = cli.command else {
            panic!("not echo")
        };
        assert_eq!(echo.net.impair.unwrap().to_string(), "loss=5%,seed=9");
        let err = Cli::try_parse_from(["tuntcp", "echo", "--impair", "loss=5"]).unwrap_err();
        assert!(
            err.to_string().contains("with its % sign, e.g. loss=5%"),
            "{err}"
        );
    }
}
