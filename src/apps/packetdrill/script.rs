//! A packetdrill script as data: header flags and one event a line, each
//! with its time column and its script line number (for FAIL messages).

use std::collections::BTreeMap;

use crate::wire::Ecn;

/// A whole script, as parsed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Script {
    /// `--name=value` header lines (`--ip_version=ipv4`, `--tolerance_usecs=75000`);
    /// a bare `--name` has the value "".
    pub flags: BTreeMap<String, String>,
    pub events: Vec<Event>,
}

/// One line of the script body.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// 1-based line number in the file where the event starts.
    pub line: usize,
    pub time: TimeSpec,
    pub kind: EventKind,
}

/// The time column (packetdrill's lexer: `N`, `+N`, `*`, `N~M`, and for a
/// system call that blocks, `N...M`). Times are in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeSpec {
    /// Seconds from the start of the script.
    Absolute(i64),
    /// Seconds after the previous event.
    Relative(i64),
    /// Any time at all.
    Any,
    /// Between `low` and `high` (outbound packets).
    Range { low: TimePoint, high: TimePoint },
    /// A blocking system call: starts at `start`, must return at `end`.
    Blocking { start: TimePoint, end: TimePoint },
}

/// One end of a range: absolute or relative, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimePoint {
    Absolute(i64),
    Relative(i64),
}

#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    Packet(PacketSpec),
    Syscall(SyscallSpec),
    /// `< icmp ...`: an ICMP error quoting one of the stack's segments.
    Icmp(super::icmp::IcmpSpec),
    /// A backtick line: a shell command, never executed (see `settings.rs`).
    Shell(String),
    /// `%{ assert tcpi_state == TCPI_NAME }%`: the socket last used is in
    /// this RFC 9293 state (`SYN_RECEIVED`, ...). Other python is unsupported.
    StateAssert(String),
    /// A line the runner cannot run (ICMP packets, python blocks...), with
    /// what it is; the script is SKIPPED when it reaches it.
    Unsupported(String),
}

/// Which way a packet goes, seen from the stack under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `<`: the script injects it into the stack.
    Inbound,
    /// `>`: the stack must send it.
    Outbound,
}

/// The TCP flags of a packet line: `S F P R . U E W`, or `-` for none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlagSet {
    pub syn: bool,
    pub fin: bool,
    pub psh: bool,
    pub rst: bool,
    pub ack: bool,
    pub urg: bool,
    pub ece: bool,
    pub cwr: bool,
}

impl FlagSet {
    /// The TCP header's flags byte (RFC 9293 §3.1, RFC 3168 §6.1 for ECE/CWR).
    pub fn to_byte(self) -> u8 {
        u8::from(self.fin)
            | u8::from(self.syn) << 1
            | u8::from(self.rst) << 2
            | u8::from(self.psh) << 3
            | u8::from(self.ack) << 4
            | u8::from(self.urg) << 5
            | u8::from(self.ece) << 6
            | u8::from(self.cwr) << 7
    }

    pub fn from_byte(byte: u8) -> FlagSet {
        FlagSet {
            fin: byte & 1 != 0,
            syn: byte & 2 != 0,
            rst: byte & 4 != 0,
            psh: byte & 8 != 0,
            ack: byte & 16 != 0,
            urg: byte & 32 != 0,
            ece: byte & 64 != 0,
            cwr: byte & 128 != 0,
        }
    }
}

impl std::fmt::Display for FlagSet {
    /// As a script writes them: `S.`, `F.`, `R`, `-`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let letters = [
            (self.syn, 'S'),
            (self.fin, 'F'),
            (self.psh, 'P'),
            (self.rst, 'R'),
            (self.urg, 'U'),
            (self.ece, 'E'),
            (self.cwr, 'W'),
            (self.ack, '.'),
        ];
        let text: String = letters.iter().filter(|l| l.0).map(|l| l.1).collect();
        f.write_str(if text.is_empty() { "-" } else { &text })
    }
}

/// `dir FLAGS start:end(len) [ack N] [win N] [urg N] [<options>]`.
#[derive(Clone, Debug, PartialEq)]
pub struct PacketSpec {
    pub direction: Direction,
    pub flags: FlagSet,
    /// Relative to the sender's ISN.
    pub start: u32,
    pub len: u32,
    /// Relative to the receiver's ISN.
    pub ack: Option<u32>,
    pub window: Option<u16>,
    pub urgent: Option<u16>,
    /// `None` for `<...>` (do not check); `Some(vec![])` when the line has none.
    pub options: Option<Vec<TcpOptionSpec>>,
    /// The IP header's ECN field (RFC 3168 §5), `[noecn]`, `[ect0]`,
    /// `[ect1]` or `[ce]` before the flags: set on an inbound packet
    /// (Not-ECT when absent), checked on an outbound one (when present).
    pub ip_ecn: Option<Ecn>,
}

/// One TCP option as the script writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TcpOptionSpec {
    Nop,
    Eol,
    Mss(u16),
    WindowScale(u8),
    SackPermitted,
    /// Blocks relative to the ISN of the side whose data they cover.
    Sack(Vec<(u32, u32)>),
    Timestamp {
        val: u32,
        ecr: u32,
    },
    /// Fast Open, MD5, experimental...: named, so the script is skipped.
    Other(String),
}

impl TcpOptionSpec {
    /// The option with each SACK block edge passed through `map` (between
    /// relative and absolute sequence numbers); other options unchanged.
    pub fn map_sack(self, map: impl Fn(u32) -> u32) -> TcpOptionSpec {
        match self {
            TcpOptionSpec::Sack(blocks) => {
                TcpOptionSpec::Sack(blocks.into_iter().map(|(l, r)| (map(l), map(r))).collect())
            }
            other => other,
        }
    }
}

/// `name(args) = result [ERRNO (text)]`.
#[derive(Clone, Debug, PartialEq)]
pub struct SyscallSpec {
    pub name: String,
    pub args: Vec<Expr>,
    pub result: Expr,
    /// `EINPROGRESS`, `EAGAIN`...: expected when `result` is -1.
    pub errno: Option<String>,
}

/// An argument or result expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// `...`: filled in by the runner (a sockaddr, a buffer).
    Ellipsis,
    Int(i64),
    /// `SOL_SOCKET`, `O_NONBLOCK`, `ECONNRESET`...
    Symbol(String),
    /// `A | B`.
    Or(Vec<Expr>),
    /// `[1]`: a pointer to a value (or a list).
    List(Vec<Expr>),
    /// `{l_onoff=1, l_linger=0}` / `{fd=4, events=POLLIN}`.
    Struct(Vec<(Option<String>, Expr)>),
    Str(String),
}

impl Expr {
    /// The integer this expression stands for, when it is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Expr::Int(n) => Some(*n),
            Expr::List(items) if items.len() == 1 => items[0].as_int(),
            _ => None,
        }
    }

    /// The symbol names of `A | B | C` (or the one symbol).
    pub fn symbols(&self) -> Vec<&str> {
        match self {
            Expr::Symbol(name) => vec![name.as_str()],
            Expr::Or(items) => items.iter().flat_map(Expr::symbols).collect(),
            Expr::List(items) => items.iter().flat_map(Expr::symbols).collect(),
            _ => Vec::new(),
        }
    }
}
